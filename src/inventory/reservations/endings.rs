//! Group commit for ending holds: concurrent confirms and releases are
//! taken in batches, one transaction per batch.
//!
//! After a flash sale its payments come in as fast as its checkouts did,
//! and each confirm in a transaction of its own queued on the hot level's
//! row lock, its append lock and its commit: ~800 confirms a second with
//! p99 over a second where the checkouts had made 15,000 holds a second.
//! So endings queue here, and a batch:
//!
//! 1. claims its holds with one guarded UPDATE per kind of ending (ACTIVE
//!    and, for a checkout, not yet past its time): of any number of
//!    concurrent endings of one hold, in this batch or elsewhere, exactly
//!    one claims it. The first request for a hold in the batch is the one
//!    tried; later ones for the same hold are answered as the hold then
//!    stands, as they would be one after the other;
//! 2. lets go of the claimed holds' units with ONE guarded UPDATE per
//!    stock level and kind of ending for their sum, and one movement per
//!    hold and level (what a hold still holds of an inbound shipment goes
//!    hold by hold, as alone);
//! 3. gives released shipments' capacity back, one UPDATE per warehouse
//!    and day; writes the movements with one statement; commits;
//! 4. reads every hold of the batch back in one go and answers each
//!    caller exactly as [`super::confirm`] or [`super::release`] would.
//!
//! A batch that fails is tried again one request at a time, so one
//! caller's failure never fails the others.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement, UpdateMany,
    sea_query::{Expr, LockBehavior, LockType},
};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{
    Hold,
    deadline::{BatchDeadline, give_up, too_late},
    now,
    plan::{self, StoredLine},
    queue::Counts,
    stored::find_many,
    sweeper::SWEEPER,
    transitions::{Ending, end_by_checkout, outcome, settle_on_inbound},
};
use crate::{
    db::bulk,
    entities::reservation::{self, ReservationStatus},
    inventory::{
        InventoryError, Store, WriteTransaction, capacity,
        ledger::{Postings, Share},
    },
};

/// The most requests one batch takes.
const MAX_BATCH: usize = 250;
/// How many batches are under way at once: while one commits, the next
/// claims and the one after reads its holds back. Batches of disjoint
/// holds share nothing but the levels' rows, which each takes in the same
/// order; two that claim one hold are told apart by its row lock (or, if
/// they took their holds' rows in opposite orders, by PostgreSQL's
/// deadlock check, after which the batch it fails is tried request by
/// request).
const BATCHES_IN_FLIGHT: usize = 3;

/// A checkout's request to end a hold, waiting for its batch.
pub(super) struct PendingEnding {
    pub id: Uuid,
    pub ending: Ending,
    pub by: Option<String>,
    pub answer: oneshot::Sender<Result<Hold, InventoryError>>,
    /// When the caller asked: past this and the request deadline, the
    /// caller has been answered UNAVAILABLE.
    pub asked_at: Instant,
}

/// Takes batches from `receiver` one after another until every sender is
/// gone.
pub(super) async fn take_batches(
    store: Store,
    mut receiver: mpsc::Receiver<PendingEnding>,
    census: Arc<Counts>,
    deadline: Duration,
) {
    let in_flight = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    loop {
        // A free slot first: the batch gathers whatever queued meanwhile.
        let Ok(slot) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let Some(first) = receiver.recv().await else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            let Ok(next) = receiver.try_recv() else { break };
            batch.push(next);
        }
        census.ending_batches.fetch_add(1, Ordering::Relaxed);
        census
            .ending_requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let store = store.clone();
        tokio::spawn(async move {
            // Its own task, so that a panic answers its callers (their
            // answer channels drop) and leaves the queue running.
            let settled = tokio::spawn(settle(store, batch, deadline));
            if let Err(e) = settled.await {
                tracing::error!(error = %e, "a batch of hold endings panicked");
            }
            drop(slot);
        });
    }
}

async fn settle(store: Store, batch: Vec<PendingEnding>, deadline: Duration) {
    let give_up_at = BatchDeadline::of(batch.iter().map(|pending| pending.asked_at), deadline);
    let now = now();
    // The first request for each hold is the one tried.
    let mut seen = HashSet::new();
    let tried: Vec<(Uuid, Ending, Option<&str>)> = batch
        .iter()
        .filter(|pending| seen.insert(pending.id))
        .map(|pending| (pending.id, pending.ending, pending.by.as_deref()))
        .collect();
    let ended = give_up_at
        .bound(async {
            match end_all(&store, &tried, now).await {
                Ok(()) => {
                    let ids = tried.iter().map(|(id, _, _)| *id).collect();
                    find_many(store.connection(), ids).await
                }
                Err(e) => Err(e.into()),
            }
        })
        .await;
    let Some(ended) = ended else {
        give_up(
            "hold endings",
            batch.into_iter().map(|pending| pending.answer),
        );
        return;
    };
    let Ok(mut holds) = ended else {
        // Each on its own: every caller gets its own answer or error.
        for pending in batch {
            let alone = end_by_checkout(&store, pending.id, pending.ending, pending.by.as_deref());
            let answer = give_up_at.bound(alone).await.unwrap_or_else(too_late);
            let _ = pending.answer.send(answer);
        }
        return;
    };
    // Each hold goes to its last caller; the ones before get a copy.
    let mut callers_left: HashMap<Uuid, usize> = HashMap::new();
    for pending in &batch {
        *callers_left.entry(pending.id).or_default() += 1;
    }
    for pending in batch {
        let left = callers_left.get_mut(&pending.id).expect("counted");
        *left -= 1;
        let hold = if *left == 0 {
            holds.remove(&pending.id)
        } else {
            holds.get(&pending.id).cloned()
        };
        let _ = pending
            .answer
            .send(outcome(pending.id, hold, pending.ending, now));
    }
}

/// Ends what of `tried` is in a state to end that way, in one transaction.
async fn end_all(
    store: &Store,
    tried: &[(Uuid, Ending, Option<&str>)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let txn = store.begin_write().await?;
    let mut claimed: Vec<(reservation::Model, Ending, Option<&str>)> = Vec::new();
    for ending in [Ending::Confirm, Ending::Release] {
        let of_kind: HashMap<Uuid, Option<&str>> = tried
            .iter()
            .filter(|(_, e, _)| *e == ending)
            .map(|(id, _, by)| (*id, *by))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let ids = of_kind.keys().copied().collect();
        for row in claim(&txn, ids, ending, now).await? {
            let by = of_kind.get(&row.id).copied().flatten();
            claimed.push((row, ending, by));
        }
    }
    if claimed.is_empty() {
        return txn.rollback().await;
    }
    settle_claimed(&txn, &claimed, now).await?;
    txn.commit().await
}

/// Expires up to `limit` holds past their time, oldest first, in one
/// transaction; returns how many, and how far past its time the oldest
/// was. On PostgreSQL the holds are claimed `FOR UPDATE SKIP LOCKED`, so
/// sweepers of several replicas pass over each other's holds.
pub(super) async fn expire_due(
    store: &Store,
    limit: u64,
) -> Result<(usize, Option<DateTime<Utc>>), DbErr> {
    use reservation::Column;
    let now = now();
    let txn = store.begin_write().await?;
    // SQLite has no row locks and ignores the clause; its writers take
    // turns, so there is nothing to skip.
    let due: Vec<Uuid> = reservation::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(ReservationStatus::Active))
        // Unended by their stamps too, which is what the sweeper's index
        // is kept on (migration 15 says why not on the status).
        .filter(Column::ConfirmedAt.is_null())
        .filter(Column::ReleasedAt.is_null())
        .filter(Column::ExpiresAt.lte(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .all(&*txn)
        .await?;
    if due.is_empty() {
        txn.rollback().await?;
        return Ok((0, None));
    }
    let claimed: Vec<_> = claim(&txn, due, Ending::Expire, now)
        .await?
        .into_iter()
        .map(|row| (row, Ending::Expire, Some(SWEEPER)))
        .collect();
    let oldest = claimed.iter().map(|(r, _, _)| r.expires_at).min();
    if claimed.is_empty() {
        txn.rollback().await?;
        return Ok((0, None));
    }
    settle_claimed(&txn, &claimed, now).await?;
    txn.commit().await?;
    Ok((claimed.len(), oldest))
}

/// Lets go of what the `claimed` holds hold, each as its ending says.
pub(super) async fn settle_claimed(
    txn: &WriteTransaction,
    claimed: &[(reservation::Model, Ending, Option<&str>)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // Units on stock levels first, in (product, warehouse) order as every
    // writer takes them, one UPDATE per level and kind of ending; then
    // what is still on inbound shipments, hold by hold.
    let mut shares: BTreeMap<(i32, i32, Ending), Vec<Share>> = BTreeMap::new();
    type OnInbound<'a> = (Ending, Option<&'a str>, Vec<(i32, StoredLine)>);
    let mut on_inbound: BTreeMap<Uuid, OnInbound> = BTreeMap::new();
    for (reservation, ending, by) in claimed {
        let plan = plan::decode(reservation.id, &reservation.plan).map_err(to_db)?;
        for (warehouse_id, line) in plan::lines_of(&plan) {
            if line.inbound_id.is_some() {
                on_inbound
                    .entry(reservation.id)
                    .or_insert_with(|| (*ending, *by, Vec::new()))
                    .2
                    .push((warehouse_id, line.clone()));
                continue;
            }
            shares
                .entry((line.product_id, warehouse_id, *ending))
                .or_default()
                .push(Share {
                    units: line.quantity,
                    reference_id: Some(reservation.id.to_string()),
                    created_by: by.map(str::to_owned),
                });
        }
    }
    let mut postings = Postings::new(None, None, now);
    for ((product_id, warehouse_id, ending), shares) in shares {
        let movement = ending.movement();
        if postings
            .post_shares(&**txn, product_id, warehouse_id, movement, shares)
            .await?
            .is_none()
        {
            // The holds' units are counted in `reserved` by construction;
            // if they are not, the books are broken and nothing must move.
            return Err(DbErr::Custom(format!(
                "the stock level of product {product_id} in warehouse {warehouse_id} does \
                 not show as reserved the units of the holds being {}",
                ending.verb()
            )));
        }
    }
    for (id, (ending, by, lines)) in on_inbound {
        let mut own = Postings::new(Some(id.to_string()), by.map(str::to_owned), now);
        settle_on_inbound(txn, &mut own, id, lines, ending).await?;
        postings.extend(own);
    }
    give_capacity_back(txn, claimed).await?;
    postings.write(txn).await
}

/// Moves the holds among `ids` that are ACTIVE (and, for a checkout's
/// ending, not yet past their time) to `ending`'s status; returns them.
pub(super) async fn claim(
    txn: &WriteTransaction,
    ids: Vec<Uuid>,
    ending: Ending,
    now: DateTime<Utc>,
) -> Result<Vec<reservation::Model>, DbErr> {
    claiming(txn.get_database_backend(), ids, ending, now)
        .exec_with_returning(&**txn)
        .await
}

/// The statement a batch of confirms claims its holds with, as the
/// database gets it: public so that a test can ask the database how it
/// plans it (by the primary key, whatever its statistics say).
pub fn confirms_claim(backend: DbBackend, ids: Vec<Uuid>, now: DateTime<Utc>) -> Statement {
    claiming(backend, ids, Ending::Confirm, now).build(backend)
}

fn claiming(
    backend: DbBackend,
    ids: Vec<Uuid>,
    ending: Ending,
    now: DateTime<Utc>,
) -> UpdateMany<reservation::Entity> {
    use reservation::Column;
    let stamp = match ending {
        Ending::Confirm => Column::ConfirmedAt,
        Ending::Release | Ending::Expire => Column::ReleasedAt,
    };
    let within_time = match ending {
        Ending::Expire => Column::ExpiresAt.lte(now),
        Ending::Confirm | Ending::Release => Column::ExpiresAt.gt(now),
    };
    reservation::Entity::update_many()
        .col_expr(Column::Status, Expr::val(ending.status()))
        .col_expr(stamp, Expr::val(now))
        .filter(bulk::is_one_of(backend, Column::Id, ids))
        .filter(Column::Status.eq(ReservationStatus::Active))
        .filter(within_time)
}

/// Gives the shipments of the released holds among `claimed` back to
/// their warehouses' days: one UPDATE per warehouse and day.
async fn give_capacity_back(
    txn: &WriteTransaction,
    claimed: &[(reservation::Model, Ending, Option<&str>)],
) -> Result<(), DbErr> {
    let released = claimed
        .iter()
        .filter(|(_, ending, _)| *ending != Ending::Confirm)
        .map(|(r, _, _)| r);
    let mut days: BTreeMap<(i32, String), i32> = BTreeMap::new();
    for reservation in released {
        for shipment in plan::decode(reservation.id, &reservation.plan).map_err(to_db)? {
            let day = capacity::day_of(shipment.ready_at.unwrap_or(reservation.created_at));
            *days.entry((shipment.warehouse_id, day)).or_default() += 1;
        }
    }
    for ((warehouse_id, day), n) in days {
        if !capacity::give_back_many(&**txn, warehouse_id, &day, n).await? {
            return Err(DbErr::Custom(format!(
                "warehouse {warehouse_id} counts fewer than the {n} shipments on {day} that \
                 released holds give back"
            )));
        }
    }
    Ok(())
}

/// A plan that cannot be read, as the error of the transaction reading it.
fn to_db(error: InventoryError) -> DbErr {
    DbErr::Custom(error.to_string())
}
