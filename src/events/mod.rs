//! Stock events: every committed movement, delivered live to subscribers
//! in id order, with replay from the ledger.
//!
//! The movement table is the event log. Its ids become visible in id order:
//! every writer of movements holds one lock from allocating their ids until
//! its commit (see [`crate::inventory::ledger`]), so a reader that has seen
//! id `n` will never later find a committed id below `n`. That makes "ids
//! after the last one seen" a cursor that cannot skip, for the one
//! [`pump`] per process that reads the table and for every subscription
//! that replays from it.
//!
//! Writers never wait for readers: the pump is woken after a commit (and,
//! on PostgreSQL, by a NOTIFY from any replica), reads what is new and
//! broadcasts it on a bounded channel. A subscriber that falls behind the
//! channel catches up from the table ([`stream`]).
//!
//! A commit of this process that knows its events in full (a batch of
//! holds: it has the ids its movements got, and the products, warehouses
//! and levels they name) hands them to the pump ([`Commits`]), which
//! publishes them without reading them back when they carry on from the
//! last id published; anything else, a gap before them included, is read
//! from the table as before.

mod log;
pub mod pump;
pub mod stream;

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, broadcast, watch};

pub use log::{StockEvent, events_after};
pub use stream::{EventFilter, StreamEnd, stock_events};

use crate::entities::movement;

/// The PostgreSQL channel writers NOTIFY after appending movements.
pub const CHANNEL: &str = "stockroute_movements";

/// How many events the live channel holds for a subscriber that has not
/// read them yet, unless told otherwise; past it the subscriber reads the
/// table instead.
pub const DEFAULT_BUFFER: usize = 1024;

/// The process's side of the event log: where the pump publishes and
/// subscribers listen.
#[derive(Clone)]
pub struct EventBus {
    live: broadcast::Sender<Arc<StockEvent>>,
    /// The id of the last event published (0 before any).
    published: watch::Sender<i64>,
    /// Told of every committed write transaction of this process.
    committed: Arc<Commits>,
    /// Turns true when the pump stops: live delivery is over.
    closed: watch::Sender<bool>,
}

impl EventBus {
    pub fn new(buffer: usize) -> Self {
        EventBus {
            live: broadcast::channel(buffer.max(1)).0,
            published: watch::channel(0).0,
            committed: Arc::new(Commits::new()),
            closed: watch::channel(false).0,
        }
    }

    /// Where this process's commits tell the pump of themselves.
    pub fn committed(&self) -> Arc<Commits> {
        self.committed.clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<StockEvent>> {
        self.live.subscribe()
    }

    /// The id of the newest event published so far.
    pub fn last_published(&self) -> i64 {
        *self.published.borrow()
    }

    /// Moves "now" on without an event: for tests of what starts from now.
    #[cfg(test)]
    pub(crate) fn set_last_published(&self, id: i64) {
        self.published.send_replace(id);
    }

    fn publish(&self, event: StockEvent) {
        // The id first: a subscriber that starts "from now" reads it after
        // subscribing, so an event it finds in its channel is either after
        // its start or, at most, the very one it started at (and skips).
        self.published.send_replace(event.movement.id);
        // No receivers is fine: nobody is subscribed.
        let _ = self.live.send(Arc::new(event));
    }

    /// Ends live delivery: every subscription ends with an error that names
    /// the last id it delivered, so that its client can resume elsewhere.
    fn close(&self) {
        self.closed.send_replace(true);
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}

/// How many commits' events wait for the pump before later ones are left
/// for it to read from the table.
const MAX_HANDED: usize = 256;

/// What this process's commits hand its pump: a wake-up each, and the
/// events of those that know them in full.
pub struct Commits {
    wake: Notify,
    handed: Mutex<Handed>,
    /// What this process's NOTIFYs say: the pump skips its own, since the
    /// commit tells it directly.
    writer: String,
}

impl Default for Commits {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
struct Handed {
    /// Each commit's events, in id order.
    known: Vec<Vec<StockEvent>>,
    /// Whether a commit since the pump last looked did not hand its
    /// events over: the table has to be read.
    unknown: bool,
}

impl Commits {
    pub fn new() -> Self {
        Commits {
            wake: Notify::new(),
            handed: Mutex::new(Handed::default()),
            writer: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// The name this process's NOTIFYs carry.
    pub fn writer(&self) -> &str {
        &self.writer
    }

    /// A write transaction committed; `events` are its events in id order
    /// when it knows them in full, else empty.
    pub fn committed(&self, events: Vec<StockEvent>) {
        {
            let mut handed = self.handed();
            if events.is_empty() || handed.known.len() >= MAX_HANDED {
                handed.unknown = true;
            } else {
                handed.known.push(events);
            }
        }
        self.wake.notify_one();
    }

    async fn notified(&self) {
        self.wake.notified().await;
    }

    fn take(&self) -> Handed {
        std::mem::take(&mut *self.handed())
    }

    fn handed(&self) -> std::sync::MutexGuard<'_, Handed> {
        // Holds plain data that every step leaves whole.
        self.handed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether a movement may change what a shop can sell (safety stock
/// above what is unreserved can make a change show as none).
pub fn changes_available(movement: &movement::Model) -> bool {
    movement.quantity_delta - movement.reserved_delta - movement.safety_stock_delta != 0
}
