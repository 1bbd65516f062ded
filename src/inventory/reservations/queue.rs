//! Group commit: concurrent reservations are taken in batches, one
//! transaction per batch.
//!
//! A checkout's own transaction would cost a commit, a turn at the
//! ledger's append lock and a NOTIFY each, and on a hot SKU every one of
//! them queues on the same row lock. So requests queue here instead, in
//! arrival order, and a task takes whatever has gathered as the next
//! batch; three batches are under way at once, so that on PostgreSQL one
//! reads and plans while the one before takes its stock and the one before
//! that writes and commits. A batch:
//!
//! 1. answers, without any statement, the orders the availability cache
//!    knows cannot be covered (a sold-out SKU; only ever used to say no,
//!    and only while no committed movement of the SKU says otherwise);
//! 2. reads the stock levels of the rest's SKUs as committed and plans
//!    each order in arrival order on what the orders before it left;
//! 3. in its turn (once the batch before has taken its stock) inserts the
//!    reservations, which tells a retry or a reused id by the id being
//!    taken, and their shipments and lines; takes each touched level with
//!    ONE guarded UPDATE for the batch's sum (whose row lock the next batch
//!    waits for until this one commits, so as little as possible comes
//!    after it); likewise one guarded UPDATE per inbound shipment
//!    pre-ordered and per warehouse day whose capacity it takes; then
//!    writes the movements with one statement, one append lock and one
//!    NOTIFY;
//! 4. looks up, in one statement, the ids of whoever it answered without
//!    writing a hold: a retry of a hold stored earlier gets that hold.
//!
//! When an UPDATE finds less than the batch planned on (another batch or
//! replica took it meanwhile) or an id was taken, nothing is written and
//! the batch is tried again the careful way: every id looked up first,
//! the levels locked (`FOR UPDATE`) as they are read, so that exactly the
//! earliest callers that fit win, as if they had come one by one. The
//! guarded UPDATE stays the only arbiter, also between replicas, each of
//! which batches its own traffic. A batch that fails for any other reason
//! is tried again one request at a time, so one caller's failure never
//! fails the others.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{EntityTrait, IntoActiveModel, QueryFilter, QuerySelect};
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::{
    Hold, HoldRequest, ReserveOutcome,
    deadline::{BatchDeadline, give_up},
    endings::{self, PendingEnding},
    fingerprint::fingerprint,
    insufficient, now, plan,
    reserve::short_of,
    ship_day,
    stored::find_many,
    strategy_name,
    transitions::Ending,
};
use crate::{
    db::{self, bulk},
    entities::{
        movement, product,
        reservation::{self, ReservationStatus},
        warehouse,
    },
    events::StockEvent,
    inventory::{
        InventoryError,
        availability::{self, Holding, ReadStart},
        capacity, inbound,
        ledger::{Postings, Share},
        planning::{Order, PricedShipment, read_snapshot, unknown_sku},
    },
    inventory::{Store, WriteTransaction},
    planner::{SearchBudget, Shortage, Wording},
};

/// The most requests one batch takes. Bounded so that its multi-row
/// statements stay within SQLite's limit on bound parameters, and small
/// enough that answers go out while the next batches work: in the
/// flash-sale benchmark 250 gave ~5 % more holds/s than 1,000 (and 100
/// ~20 % fewer).
const MAX_BATCH: usize = 250;
/// The most order lines one batch takes (one request may go past it).
const MAX_BATCH_LINES: usize = 2_000;
/// How many requests may wait for a batch before callers wait to queue.
const QUEUE_DEPTH: usize = 16_384;
/// How many times a batch that met a deadlock, a busy database or a row
/// that moved under its lock is tried again.
const MAX_ATTEMPTS: usize = 5;
/// How many batches are under way at once: while one writes and commits,
/// the next takes its stock and the one after reads and plans, so that
/// neither the database nor the service waits for the other. Stock is
/// still taken one batch at a time, in arrival order (see [`Turn`]). In
/// the flash-sale benchmark three gave ~4 % more holds/s than two, and four
/// no more than three.
pub const BATCHES_IN_FLIGHT: usize = 3;

/// Where reservations wait for their batch. A clone queues in the same
/// place. The task that takes batches stops once every clone is dropped.
#[derive(Clone)]
pub struct ReservationQueue {
    sender: mpsc::Sender<Pending>,
    /// Confirms and releases, batched apart (see [`super::endings`]).
    endings: mpsc::Sender<PendingEnding>,
    census: Arc<Counts>,
}

#[derive(Default)]
pub(super) struct Counts {
    batches: AtomicU64,
    requests: AtomicU64,
    /// Batches that wrote holds, and how long, in all, they held the rows
    /// of the stock levels they took (microseconds).
    written: AtomicU64,
    rows_held_micros: AtomicU64,
    /// Batches of confirms and releases, and the requests they took.
    pub(super) ending_batches: AtomicU64,
    pub(super) ending_requests: AtomicU64,
}

impl Counts {
    fn note_written(&self, rows_held: Duration) {
        self.written.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(rows_held.as_micros()).unwrap_or(u64::MAX);
        self.rows_held_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// What `/metrics` shows of the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCensus {
    /// Requests queued and not yet taken into a batch.
    pub waiting: usize,
    /// Batches taken so far, and the requests they took.
    pub batches: u64,
    pub requests: u64,
    /// Batches that wrote holds, and how long, in all, they held the rows
    /// of the stock levels they took: from their guarded UPDATEs' answer
    /// to their commit's, as this process saw it. Every other writer of
    /// those levels waits that long, so this is the part of a batch that
    /// batches cannot share on a hot SKU.
    pub written: u64,
    pub rows_held: Duration,
    /// Batches of confirms and releases taken so far, and the requests
    /// they took.
    pub ending_batches: u64,
    pub ending_requests: u64,
}

type Answer = Result<ReserveOutcome, InventoryError>;

struct Pending {
    request: HoldRequest,
    fingerprint: String,
    created_by: Option<String>,
    answer: oneshot::Sender<Answer>,
    /// When the caller asked: past this and the request deadline, the
    /// caller has been answered UNAVAILABLE.
    asked_at: Instant,
}

impl ReservationQueue {
    /// Starts the task that takes batches for `store`, planning each
    /// reservation within `budget`. A batch still unfinished `deadline`
    /// after its first caller asked (the request deadline, when that
    /// caller has been answered UNAVAILABLE) is dropped before it commits.
    pub fn start(store: Store, budget: SearchBudget, deadline: Duration) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let (endings, ending_receiver) = mpsc::channel(QUEUE_DEPTH);
        let census = Arc::new(Counts::default());
        tokio::spawn(endings::take_batches(
            store.clone(),
            ending_receiver,
            census.clone(),
            deadline,
        ));
        tokio::spawn(take_batches(
            store,
            budget,
            receiver,
            census.clone(),
            deadline,
        ));
        ReservationQueue {
            sender,
            endings,
            census,
        }
    }

    pub fn census(&self) -> QueueCensus {
        QueueCensus {
            waiting: self.sender.max_capacity() - self.sender.capacity(),
            batches: self.census.batches.load(Ordering::Relaxed),
            requests: self.census.requests.load(Ordering::Relaxed),
            written: self.census.written.load(Ordering::Relaxed),
            rows_held: Duration::from_micros(self.census.rows_held_micros.load(Ordering::Relaxed)),
            ending_batches: self.census.ending_batches.load(Ordering::Relaxed),
            ending_requests: self.census.ending_requests.load(Ordering::Relaxed),
        }
    }

    /// Holds stock for `request`, or says why it cannot. `created_by` names
    /// the API key, for the ledger.
    pub async fn reserve(&self, request: HoldRequest, created_by: Option<&str>) -> Answer {
        let fingerprint = fingerprint(&request);
        let created_by = created_by.map(str::to_owned);
        ask(&self.sender, |answer| Pending {
            fingerprint,
            request,
            created_by,
            answer,
            asked_at: Instant::now(),
        })
        .await
    }

    /// ACTIVE -> CONFIRMED, as [`super::confirm`] does, batched with the
    /// confirms and releases that come meanwhile.
    pub async fn confirm(&self, id: Uuid, by: Option<&str>) -> Result<Hold, InventoryError> {
        self.end(id, Ending::Confirm, by).await
    }

    /// ACTIVE -> RELEASED, as [`super::release`] does, batched likewise.
    pub async fn release(&self, id: Uuid, by: Option<&str>) -> Result<Hold, InventoryError> {
        self.end(id, Ending::Release, by).await
    }

    async fn end(
        &self,
        id: Uuid,
        ending: Ending,
        by: Option<&str>,
    ) -> Result<Hold, InventoryError> {
        let by = by.map(str::to_owned);
        ask(&self.endings, |answer| PendingEnding {
            id,
            ending,
            by,
            answer,
            asked_at: Instant::now(),
        })
        .await
    }
}

/// Queues the request `pending` makes around its answer channel, and waits
/// for the answer its batch sends.
async fn ask<P, T>(
    queue: &mpsc::Sender<P>,
    pending: impl FnOnce(oneshot::Sender<Result<T, InventoryError>>) -> P,
) -> Result<T, InventoryError> {
    let (answer, answered) = oneshot::channel();
    queue
        .send(pending(answer))
        .await
        .map_err(|_| InventoryError::Internal("the reservation queue has stopped".into()))?;
    answered
        .await
        .map_err(|_| InventoryError::Internal("the batch ended without an answer".into()))?
}

async fn take_batches(
    store: Store,
    budget: SearchBudget,
    mut receiver: mpsc::Receiver<Pending>,
    census: Arc<Counts>,
    deadline: Duration,
) {
    let in_flight = Arc::new(Semaphore::new(BATCHES_IN_FLIGHT));
    // Told when the batch before the next one has taken its stock.
    let mut previous: Option<oneshot::Receiver<()>> = None;
    loop {
        // A free slot first: the batch gathers whatever queued meanwhile.
        let Ok(slot) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let Some(first) = receiver.recv().await else {
            break;
        };
        let mut lines = first.request.order.lines.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && lines < MAX_BATCH_LINES {
            let Ok(next) = receiver.try_recv() else { break };
            lines += next.request.order.lines.len();
            batch.push(next);
        }
        census.batches.fetch_add(1, Ordering::Relaxed);
        census
            .requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let (taken, told) = oneshot::channel();
        let turn = Turn {
            after: previous.replace(told),
            taken: Some(taken),
        };
        let store = store.clone();
        let census = census.clone();
        tokio::spawn(async move {
            // Its own task, so that a panic in one batch answers its
            // callers (their answer channels drop), passes the turn on and
            // leaves the queue running.
            let settled = tokio::spawn(settle(store, budget, census, batch, turn, deadline));
            if let Err(e) = settled.await {
                tracing::error!(error = %e, "a reservation batch panicked");
            }
            drop(slot);
        });
    }
}

/// A batch's place in line for taking stock. Batches may read and plan at
/// the same time, but each takes its stock (and inserts its reservation
/// ids) only once the batch before it has taken its own, so that when
/// stock runs out the earlier callers win, as they would one by one, and
/// no two batches wait for each other's locks.
struct Turn {
    /// Resolves (or is dropped) once the batch before has taken its stock.
    after: Option<oneshot::Receiver<()>>,
    /// Tells the batch after; dropping it tells it too.
    taken: Option<oneshot::Sender<()>>,
}

impl Turn {
    /// A turn that waits for nobody and tells nobody.
    fn free() -> Self {
        Turn {
            after: None,
            taken: None,
        }
    }

    /// Waits until the batch before has taken its stock (at once after
    /// the first call).
    async fn wait(&mut self) {
        if let Some(after) = self.after.take() {
            // An error means the batch before has ended: the turn is ours.
            let _ = after.await;
        }
    }

    /// This batch has taken its stock: the next may take its own.
    fn pass(&mut self) {
        if let Some(taken) = self.taken.take() {
            let _ = taken.send(());
        }
    }
}

/// Takes `batch`, answering every caller in it.
async fn settle(
    store: Store,
    budget: SearchBudget,
    census: Arc<Counts>,
    batch: Vec<Pending>,
    mut turn: Turn,
    deadline: Duration,
) {
    let give_up_at = BatchDeadline::of(batch.iter().map(|pending| pending.asked_at), deadline);
    let mut attempts = 0;
    let failure = loop {
        attempts += 1;
        // A retry may be about an id that was taken meanwhile: it looks
        // every id up first.
        let lookup = if attempts == 1 {
            Lookup::Unwritten
        } else {
            Lookup::Every
        };
        let tried = give_up_at
            .bound(attempt(&store, budget, &census, &batch, lookup, &mut turn))
            .await;
        let Some(tried) = tried else {
            give_up(
                "reservations",
                batch.into_iter().map(|pending| pending.answer),
            );
            // The turn goes with it: the batch after need not wait on one
            // that will never take its stock.
            return;
        };
        match tried {
            Ok(answers) => {
                for (pending, answer) in batch.into_iter().zip(answers) {
                    // A caller that has gone away needs no answer; a retry
                    // of it finds its hold.
                    let _ = pending.answer.send(answer);
                }
                // A batch that took nothing never waited for its turn; it
                // passes it on only after the batch before took its stock,
                // so that the batch after never overtakes that one.
                turn.wait().await;
                return;
            }
            Err(Failure::Retry(why)) if attempts < MAX_ATTEMPTS => {
                tracing::debug!(why, "reservation batch will be retried");
            }
            Err(Failure::Retry(why)) => break InventoryError::Internal(why),
            Err(Failure::Error(e)) if is_transient(&e) && attempts < MAX_ATTEMPTS => {
                tracing::debug!(error = %e, "reservation batch will be retried");
            }
            Err(Failure::Error(e)) => break e,
        }
    };
    if batch.len() > 1 {
        // Whatever failed may be one request's doing: each goes alone.
        tracing::warn!(error = %failure, size = batch.len(), "a reservation batch failed; taking its requests one by one");
        // One by one, in order, holding this batch's turn until the last.
        turn.wait().await;
        for pending in batch {
            let alone = settle(
                store.clone(),
                budget,
                census.clone(),
                vec![pending],
                Turn::free(),
                deadline,
            );
            Box::pin(alone).await;
        }
    } else if let Some(pending) = batch.into_iter().next() {
        let _ = pending.answer.send(Err(failure));
        turn.wait().await;
    }
}

fn is_transient(error: &InventoryError) -> bool {
    matches!(error, InventoryError::Database(e) if db::is_transient(e))
}

enum Failure {
    /// Something moved that the batch had counted on; nothing was written.
    Retry(String),
    Error(InventoryError),
}

impl<E: Into<InventoryError>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Error(error.into())
    }
}

/// Which reservation ids a try looks up before it plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    /// Only those it would answer without writing. A new id is the rule,
    /// and a hold's own insert tells a taken one (then the batch is tried
    /// again with [`Lookup::Every`]), so a batch of new orders reads no id.
    Unwritten,
    /// Every id, first: a try after one met a taken id.
    Every,
}

/// One try at the whole batch: every caller's answer, in batch order.
async fn attempt(
    store: &Store,
    budget: SearchBudget,
    census: &Counts,
    batch: &[Pending],
    lookup: Lookup,
    turn: &mut Turn,
) -> Result<Vec<Answer>, Failure> {
    let mut answers: Vec<Option<Answer>> = batch.iter().map(|_| None).collect();
    let mut replays = Vec::new();

    // 1. Retries and reused ids, when this try looks first.
    if lookup == Lookup::Every {
        let everyone: Vec<usize> = (0..batch.len()).collect();
        sort_out_stored(store, batch, &everyone, &mut answers, &mut replays).await?;
    }

    // 2. What the cache knows cannot be covered.
    let skus = skus_of(
        batch
            .iter()
            .zip(&answers)
            .filter(|(_, a)| a.is_none())
            .map(|(p, _)| p),
    );
    let availability::Lookup { read, found } = store.availability().peek(&skus);
    for (i, pending) in batch.iter().enumerate() {
        // The cache knows stock on hand, not what a promise date may add.
        if answers[i].is_none()
            && !replays.contains(&i)
            && pending.request.order.promise_by.is_none()
            && let Some(short) = known_short(&pending.request.order, &found)
        {
            answers[i] = Some(Ok(short));
        }
    }

    // 3. The rest, in one transaction.
    let contenders: Vec<usize> = (0..batch.len())
        .filter(|&i| answers[i].is_none() && !replays.contains(&i))
        .collect();
    if !contenders.is_empty() {
        // A first try plans on the stock as committed, unlocked, while the
        // batch before may still be taking its own; the guarded UPDATE
        // then decides. A retry (one whose UPDATE found too little, say)
        // locks the levels before it reads them, in its turn.
        let reading = Reading {
            read,
            locked: lookup == Lookup::Every,
        };
        let rows_held = hold_together(
            store,
            budget,
            batch,
            &contenders,
            reading,
            turn,
            &mut answers,
        )
        .await?;
        if let Some(rows_held) = rows_held {
            census.note_written(rows_held);
        }
    }

    // 4. Whoever was answered without a hold of theirs written may be a
    //    retry of one stored earlier: that answer is the stored hold.
    let unwritten: Vec<usize> = match lookup {
        Lookup::Every => Vec::new(),
        Lookup::Unwritten => (0..batch.len())
            .filter(|&i| !matches!(answers[i], Some(Ok(ReserveOutcome::Reserved(_)))))
            .collect(),
    };
    if !unwritten.is_empty() {
        sort_out_stored(store, batch, &unwritten, &mut answers, &mut replays).await?;
    }

    // 5. Retries read their holds as they stand now, all in one go: a
    //    client retrying after a timeout is likeliest when the sale is
    //    busiest, and one read per retry made a batch of retries ten times
    //    slower than a batch of new holds.
    if !replays.is_empty() {
        let ids = replays.iter().map(|&i| batch[i].request.id).collect();
        let holds = find_many(store.connection(), ids).await?;
        for i in replays {
            let id = batch[i].request.id;
            // The same id may be in the batch twice.
            let hold = holds.get(&id).cloned().ok_or_else(|| {
                InventoryError::Internal(format!("reservation {id} both exists and does not"))
            })?;
            answers[i] = Some(Ok(ReserveOutcome::Reserved(hold)));
        }
    }
    answers
        .into_iter()
        .map(|answer| {
            answer.ok_or_else(|| {
                Failure::Error(InventoryError::Internal(
                    "a request was left unanswered".into(),
                ))
            })
        })
        .collect()
}

/// Looks up the stored reservations of `which` (indices into `batch`) in
/// one statement: a stored id with the same input is a retry (noted in
/// `replays`, answered later with its hold), with another input a
/// conflict. Other answers stay as they are.
async fn sort_out_stored(
    store: &Store,
    batch: &[Pending],
    which: &[usize],
    answers: &mut [Option<Answer>],
    replays: &mut Vec<usize>,
) -> Result<(), Failure> {
    let ids: Vec<Uuid> = which.iter().map(|&i| batch[i].request.id).collect();
    let backend = store.connection().get_database_backend();
    let stored: HashMap<Uuid, String> = reservation::Entity::find()
        .select_only()
        .column(reservation::Column::Id)
        .column(reservation::Column::Fingerprint)
        .filter(bulk::is_one_of(backend, reservation::Column::Id, ids))
        .into_tuple::<(Uuid, String)>()
        .all(store.connection())
        .await?
        .into_iter()
        .collect();
    for &i in which {
        let pending = &batch[i];
        match stored.get(&pending.request.id) {
            Some(fingerprint) if *fingerprint == pending.fingerprint => {
                answers[i] = None;
                replays.push(i);
            }
            Some(_) => answers[i] = Some(Err(reused(pending.request.id))),
            None => {}
        }
    }
    Ok(())
}

fn reused(id: Uuid) -> InventoryError {
    InventoryError::Conflict(format!(
        "reservation {id} already exists for a different order; a retry must send the same \
         input, a new order needs a new reservationId"
    ))
}

fn skus_of<'a>(pending: impl Iterator<Item = &'a Pending>) -> Vec<String> {
    let mut skus: Vec<String> = pending
        .flat_map(|p| p.request.order.lines.iter().map(|l| l.sku.clone()))
        .collect();
    skus.sort_unstable();
    skus.dedup();
    skus
}

/// InsufficientStock for `order` when the cache holds every SKU of it and
/// some line asks for more than the active warehouses have: the answer the
/// planner would give on the same stock.
fn known_short(
    order: &Order,
    found: &HashMap<String, std::sync::Arc<[Holding]>>,
) -> Option<ReserveOutcome> {
    let mut shortages = Vec::new();
    for line in &order.lines {
        let holdings = found.get(&line.sku)?;
        let available: u64 = holdings
            .iter()
            .filter(|h| h.warehouse.active)
            .map(|h| u64::try_from(h.available()).unwrap_or(0))
            .sum();
        let requested = line.quantity.unsigned_abs();
        if available < u64::from(requested) {
            shortages.push(Shortage {
                sku: line.sku.clone(),
                requested,
                available,
            });
        }
    }
    (!shortages.is_empty()).then(|| short_of(shortages))
}

/// A hold planned in this batch, to be written.
struct Planned {
    index: usize,
    hold: Hold,
}

/// How a try reads the stock it plans on.
struct Reading {
    /// When the batch looked into the availability cache.
    read: ReadStart,
    /// Whether the levels are locked as they are read (in the batch's
    /// turn), or read as committed and left to the guarded UPDATE.
    locked: bool,
}

/// Plans and holds `contenders` (indices into `batch`, in arrival order)
/// in one transaction, filling in their answers, and says how long it held
/// the rows of the stock levels it took, if it wrote holds. `read` is when
/// the batch looked into the cache, before it read the stock: what it read
/// of a product it did not change may be kept.
async fn hold_together(
    store: &Store,
    budget: SearchBudget,
    batch: &[Pending],
    contenders: &[usize],
    reading: Reading,
    turn: &mut Turn,
    answers: &mut [Option<Answer>],
) -> Result<Option<Duration>, Failure> {
    let Reading { read, locked } = reading;
    let promising = contenders
        .iter()
        .any(|&i| batch[i].request.order.promise_by.is_some());
    // Pre-orders read (and lock) their inbound shipments with the levels.
    let locked = locked || promising;
    let now = now();
    let skus = skus_of(contenders.iter().map(|&i| &batch[i]));
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    // A locked read happens in the batch's turn and transaction; so does
    // every read where the store lets one writer in at a time (SQLite),
    // since beginning is taking that lock. Otherwise the stock is read as
    // committed, on a connection of the pool, and the transaction begins
    // only in the batch's turn: a batch waiting for its turn holds no
    // connection, however small the pool.
    let (mut txn, mut snapshot) = if locked || store.one_writer_at_a_time() {
        turn.wait().await;
        let txn = store.begin_write().await?;
        let snapshot = read_snapshot(&*txn, &sku_refs, locked, promising).await?;
        (Some(txn), snapshot)
    } else {
        let snapshot = read_snapshot(store.connection(), &sku_refs, false, false).await?;
        (None, snapshot)
    };

    let mut planned: Vec<Planned> = Vec::new();
    // The ids this batch holds, and which of `planned` holds each.
    let mut holder: HashMap<Uuid, usize> = HashMap::new();
    let mut same_as: Vec<(usize, usize)> = Vec::new();
    for &i in contenders {
        let pending = &batch[i];
        let request = &pending.request;
        if let Some(&p) = holder.get(&request.id) {
            if batch[planned[p].index].fingerprint == pending.fingerprint {
                same_as.push((i, p));
            } else {
                answers[i] = Some(Err(reused(request.id)));
            }
            continue;
        }
        if let Some(line) = snapshot.unknown_line(&request.order) {
            answers[i] = Some(Err(unknown_sku(line, &request.order.lines[line].sku)));
            continue;
        }
        // The hold's answer shows no explanation: a feasible plan needs none.
        let plan = snapshot.plan(&request.order, request.strategy, budget, Wording::Terse);
        if !plan.feasible {
            let notes = snapshot.capacity_notes(&request.order);
            answers[i] = Some(Ok(insufficient(plan, &notes)));
            continue;
        }
        let by = request.order.promise_by;
        let shipments = snapshot.priced_shipments(&plan, by)?;
        snapshot.take(&plan, by);
        holder.insert(request.id, planned.len());
        planned.push(Planned {
            index: i,
            hold: Hold {
                reservation: reservation_row(pending, plan.total_cost_cents, &shipments, now),
                shipments,
            },
        });
    }

    let rows_held = if !planned.is_empty() {
        let txn = match txn.take() {
            Some(txn) => txn,
            None => {
                turn.wait().await;
                store.begin_write().await?
            }
        };
        let taken = write_holds(&txn, batch, &planned, now, turn).await?;
        txn.commit().await?;
        Some(taken.elapsed())
    } else {
        if let Some(txn) = txn {
            txn.rollback().await?;
        }
        None
    };
    let changed: HashSet<i32> = planned
        .iter()
        .flat_map(|p| &p.hold.shipments)
        .flat_map(|s| s.lines.iter().map(|l| l.product.id))
        .collect();
    // What the batch read and did not change is the stock as it was when
    // the batch looked into the cache, unless a change told since says
    // otherwise (the cache checks that).
    let unchanged = snapshot
        .products
        .values()
        .filter(|p| !changed.contains(&p.id))
        .map(|p| {
            let holdings = snapshot.holdings.remove(&p.id).unwrap_or_default();
            (p.sku.clone(), p.id, holdings.into())
        })
        .collect::<Vec<_>>();
    store.availability().keep(read, unchanged);

    for (i, p) in same_as {
        answers[i] = Some(Ok(ReserveOutcome::Reserved(planned[p].hold.clone())));
    }
    for p in planned {
        answers[p.index] = Some(Ok(ReserveOutcome::Reserved(p.hold)));
    }
    Ok(rows_held)
}

fn reservation_row(
    pending: &Pending,
    total_cost_cents: i64,
    shipments: &[PricedShipment],
    now: chrono::DateTime<chrono::Utc>,
) -> reservation::Model {
    let request = &pending.request;
    reservation::Model {
        id: request.id,
        status: ReservationStatus::Active,
        strategy: strategy_name(request.strategy).to_owned(),
        ship_to_latitude: request.order.ship_to.latitude(),
        ship_to_longitude: request.order.ship_to.longitude(),
        max_shipments: request.order.max_shipments.map(|n| n as i32),
        fingerprint: pending.fingerprint.clone(),
        total_cost_cents,
        created_by: pending.created_by.clone(),
        created_at: now,
        expires_at: request.ttl.after(now),
        confirmed_at: None,
        released_at: None,
        plan: plan::encode(shipments),
    }
}

/// Writes the planned holds, and says when their stock was taken (its rows
/// are locked from then until the commit): the reservations with their
/// plans (in id order, so that two replicas inserting the same ids wait for
/// each other in one order), one guarded UPDATE per touched stock level in
/// (product, warehouse) order, then the movements.
async fn write_holds(
    txn: &WriteTransaction,
    batch: &[Pending],
    planned: &[Planned],
    now: chrono::DateTime<chrono::Utc>,
    turn: &mut Turn,
) -> Result<Instant, Failure> {
    turn.wait().await;
    let mut rows: Vec<&reservation::Model> = planned.iter().map(|p| &p.hold.reservation).collect();
    rows.sort_unstable_by_key(|r| r.id);
    let rows = rows.into_iter().map(|r| r.clone().into_active_model());
    match bulk::insert_rows(&**txn, rows.collect()).await {
        Ok(_) => {}
        // A retry, a reused id, or another replica committed one of these
        // ids after step 1 looked: nothing is written, and the next try
        // looks every id up first and answers each as what it is.
        Err(e) if bulk::is_taken(&e) => {
            return Err(Failure::Retry("a reservation id was taken".into()));
        }
        Err(e) => return Err(e.into()),
    }

    // The ship days' rows before the stock: they need no level, and the
    // level's row lock, taken by the guarded UPDATE below, is held until
    // commit. A day's row the batch before has updated (its capacity, taken
    // below) is not committed yet, so this insert waits here for that
    // commit, as the guarded UPDATE would have: PostgreSQL's statement log
    // of a flash sale shows the wait here and none at the UPDATE.
    let mut shipping: BTreeMap<(i32, String), i32> = BTreeMap::new();
    for p in planned {
        for shipment in &p.hold.shipments {
            let day = ship_day(&p.hold.reservation, shipment);
            *shipping.entry((shipment.warehouse.id, day)).or_default() += 1;
        }
    }
    capacity::open_days(&**txn, shipping.keys()).await?;

    // Each level's shares, in arrival order, and each inbound's total.
    let mut shares: BTreeMap<(i32, i32), Vec<Share>> = BTreeMap::new();
    let mut pre_ordered: BTreeMap<Uuid, i32> = BTreeMap::new();
    for p in planned {
        let pending = &batch[p.index];
        for shipment in &p.hold.shipments {
            for line in &shipment.lines {
                for part in &line.from_inbound {
                    *pre_ordered.entry(part.inbound_id).or_default() += part.units;
                }
                if line.from_stock() == 0 {
                    continue;
                }
                shares
                    .entry((line.product.id, shipment.warehouse.id))
                    .or_default()
                    .push(Share {
                        units: line.from_stock(),
                        reference_id: Some(pending.request.id.to_string()),
                        created_by: pending.created_by.clone(),
                    });
            }
        }
    }
    let mut postings = Postings::new(None, None, now);
    let mut levels: HashMap<(i32, i32), i32> = HashMap::new();
    // When the first level's row was taken (and locked until commit).
    let mut first_taken = None;
    for ((product_id, warehouse_id), shares) in shares {
        let Some(taken) = postings
            .reserve_shares(&**txn, product_id, warehouse_id, shares)
            .await?
        else {
            return Err(Failure::Retry(format!(
                "stock level ({product_id}, {warehouse_id}) moved under its lock"
            )));
        };
        levels.insert((product_id, warehouse_id), taken.id);
        first_taken.get_or_insert_with(Instant::now);
    }
    // Capacity: one guarded UPDATE per warehouse and ship day.
    if !capacity::take(&**txn, &shipping).await? {
        return Err(Failure::Retry(
            "a warehouse's capacity was taken meanwhile".into(),
        ));
    }
    // Pre-orders: one guarded UPDATE per inbound for the batch's total.
    for (inbound_id, units) in pre_ordered {
        if !inbound::shift_held(&**txn, inbound_id, units).await? {
            return Err(Failure::Retry(format!(
                "inbound shipment {inbound_id} moved under its lock"
            )));
        }
    }
    // Everything this batch takes is taken (and locked until it commits).
    let taken = first_taken.unwrap_or_else(Instant::now);
    turn.pass();

    if let Some(movements) = postings.write_numbered(txn).await? {
        txn.publishes(stock_events(planned, &levels, movements));
    }
    Ok(taken)
}

/// The stock events of the batch's `movements`, which changed `levels`
/// (by product and warehouse id), rendered with the products and
/// warehouses the batch planned with. Empty when one is missing.
fn stock_events(
    planned: &[Planned],
    levels: &HashMap<(i32, i32), i32>,
    movements: Vec<movement::Model>,
) -> Vec<StockEvent> {
    let mut products: HashMap<i32, Arc<product::Model>> = HashMap::new();
    let mut warehouses: HashMap<i32, Arc<warehouse::Model>> = HashMap::new();
    for shipment in planned.iter().flat_map(|p| &p.hold.shipments) {
        warehouses
            .entry(shipment.warehouse.id)
            .or_insert_with(|| shipment.warehouse.clone());
        for line in &shipment.lines {
            products
                .entry(line.product.id)
                .or_insert_with(|| line.product.clone());
        }
    }
    movements
        .into_iter()
        .map(|movement| {
            let level = *levels.get(&(movement.product_id, movement.warehouse_id))?;
            let product = products.get(&movement.product_id)?.clone();
            let warehouse = warehouses.get(&movement.warehouse_id)?.clone();
            Some(StockEvent::new(movement, level, product, warehouse))
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}
