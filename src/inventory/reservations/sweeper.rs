//! Expiring holds whose time has passed, in the background.
//!
//! Holds expire in batches of up to [`BATCH`], one transaction each (see
//! [`super::endings`]): one guarded UPDATE per stock level for the batch's
//! units, so that a flash sale's unpaid holds come back to sale in seconds
//! where one transaction per hold made it ~500 a second, each queued on the
//! hot level's row. A crash leaves every hold either untouched or fully
//! expired. Any number of server replicas may sweep one database: on
//! PostgreSQL a sweeper claims holds with `FOR UPDATE SKIP LOCKED`, so
//! replicas pass over each other's claims instead of queueing on them, and
//! the guarded status change makes each hold expire exactly once whatever
//! the timing.

use std::time::Duration;

use tokio::sync::watch;

use super::{endings, now};
use crate::{background, db, inventory::InventoryError, inventory::Store, metrics::Metrics};

/// How often the sweeper looks for expired holds unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// The most holds one transaction of a sweep expires.
const BATCH: usize = 500;
/// The most holds one sweep expires before it yields to the next tick.
const SWEEP_LIMIT: usize = 20_000;
/// What the ledger names as the author of EXPIRE movements.
pub const SWEEPER: &str = "expiry-sweeper";

/// Sweeps every `interval` until `shutdown` turns true (or its sender is
/// gone). A sweep in progress finishes its current hold first.
pub async fn run(
    store: Store,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
    metrics: Metrics,
) {
    background::every(interval, shutdown, || async {
        match sweep(&store, SWEEP_LIMIT).await {
            Ok(swept) => {
                metrics.record_sweep(swept.expired as u64, swept.lag);
                if swept.expired > 0 {
                    tracing::info!(expired = swept.expired, "expired holds past their time");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the expiry sweep failed; it will run again"),
        }
    })
    .await;
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Holds it expired.
    pub expired: usize,
    /// How far past its expiry the first (the oldest) of them was.
    pub lag: Duration,
}

/// Expires up to `limit` holds that are past their time, oldest first,
/// in transactions of at most [`BATCH`] holds each.
pub async fn sweep(store: &Store, limit: usize) -> Result<Swept, InventoryError> {
    let mut swept = Swept::default();
    let now = now();
    while swept.expired < limit {
        let batch = (limit - swept.expired).min(BATCH) as u64;
        match endings::expire_due(store, batch).await {
            Ok((0, _)) => break,
            Ok((expired, oldest)) => {
                if swept.expired == 0
                    && let Some(oldest) = oldest
                {
                    swept.lag = (now - oldest).to_std().unwrap_or_default();
                }
                swept.expired += expired;
            }
            // Another writer had a row; the next sweep tries again.
            Err(e) if db::is_transient(&e) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(swept)
}
