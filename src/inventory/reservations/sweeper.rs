//! Expiring holds whose time has passed, in the background.
//!
//! Each hold expires in its own transaction, so a crash leaves every hold
//! either untouched or fully expired. Any number of server replicas may
//! sweep one database: on PostgreSQL a sweeper claims a hold with
//! `FOR UPDATE SKIP LOCKED`, so replicas pass over each other's claims
//! instead of queueing on them, and the guarded status change makes each
//! hold expire exactly once whatever the timing.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{LockBehavior, LockType},
};
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    now,
    transitions::{Ending, end},
};
use crate::{
    db,
    entities::reservation::{self, ReservationStatus},
    inventory::InventoryError,
    inventory::Store,
    metrics::Metrics,
};

/// How often the sweeper looks for expired holds unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// The most holds one sweep expires before it yields to the next tick.
const BATCH: usize = 500;
/// What the ledger names as the author of EXPIRE movements.
pub const SWEEPER: &str = "expiry-sweeper";

/// Sweeps every `interval` until `shutdown` turns true (or its sender is
/// gone). A sweep in progress finishes its current hold first.
pub async fn run(
    store: Store,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    metrics: Metrics,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        }
        match sweep(&store, BATCH).await {
            Ok(swept) => {
                metrics.record_sweep(swept.expired as u64, swept.lag);
                if swept.expired > 0 {
                    tracing::info!(expired = swept.expired, "expired holds past their time");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the expiry sweep failed; it will run again"),
        }
    }
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Holds it expired.
    pub expired: usize,
    /// How far past its expiry the first (the oldest) of them was.
    pub lag: Duration,
}

/// Expires up to `limit` holds that are past their time, one transaction
/// each, oldest first.
pub async fn sweep(store: &Store, limit: usize) -> Result<Swept, InventoryError> {
    let mut swept = Swept::default();
    while swept.expired < limit {
        match expire_next(store).await {
            Ok(Some(overdue)) => {
                if swept.expired == 0 {
                    swept.lag = overdue;
                }
                swept.expired += 1;
            }
            Ok(None) => break,
            // Another writer had the row; the next sweep tries again.
            Err(e) if db::is_transient(&e) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(swept)
}

/// Claims one hold past its time and expires it, answering how long past
/// its time it was; `None` when there is none left that no one else is
/// expiring.
async fn expire_next(store: &Store) -> Result<Option<Duration>, sea_orm::DbErr> {
    use reservation::Column;
    let now = now();
    let txn = store.begin_write().await?;
    // SQLite has no row locks and ignores the clause; its writers take
    // turns, so there is nothing to skip.
    let due: Option<(Uuid, chrono::DateTime<chrono::Utc>)> = reservation::Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::ExpiresAt)
        .filter(Column::Status.eq(ReservationStatus::Active))
        .filter(Column::ExpiresAt.lte(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .one(&*txn)
        .await?;
    let Some((id, expires_at)) = due else {
        txn.rollback().await?;
        return Ok(None);
    };
    if end(&txn, id, Ending::Expire, now, Some(SWEEPER)).await? {
        txn.commit().await?;
        Ok(Some((now - expires_at).to_std().unwrap_or_default()))
    } else {
        txn.rollback().await?;
        Ok(None)
    }
}
