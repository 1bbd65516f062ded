//! The stock of recently asked SKUs, kept in memory until a movement of the
//! SKU commits.
//!
//! Storefronts ask about the same SKUs on every page view, far more often
//! than their stock changes, and each answer cost a round trip and
//! PostgreSQL's time as well as ours. So `availability` answers from here
//! when it can, and only the SKUs it cannot are read.
//!
//! An entry must never outlive a commit it does not show. Every change is
//! told to the cache *after* it commits: by the writing transaction of this
//! process as it commits, and by the event pump for other processes'
//! writes. Each telling advances an epoch and marks the products it names;
//! an entry remembers the epoch at which its read began and counts only
//! while none of its products were marked since. A commit the read did not
//! see committed after the read began, so it is told after that, and marks
//! the entry stale whether it is told before the entry is kept or after.
//! What no movement announces (a warehouse closed by hand in SQL, a
//! notification lost while the pump reconnects) is bounded by `max_age`.
//!
//! Reservations never read from here: they decide on locked rows.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::broadcast::error::RecvError;

use super::Holding;
use crate::{entities::warehouse, events::EventBus};

/// How long an entry may serve without a sign of change, unless told
/// otherwise: the most another replica's change can take to show here when
/// its notification is lost.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(1);

/// The most SKUs kept; past it the cache starts over. A catalogue's hot
/// SKUs fit many times over.
const CAPACITY: usize = 100_000;

/// Which products' stock a committed transaction changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StockChanged {
    #[default]
    Nothing,
    Products(Vec<i32>),
    /// A repair that touched levels it did not list.
    Everything,
}

impl StockChanged {
    pub fn products(&mut self, ids: impl IntoIterator<Item = i32>) {
        match self {
            StockChanged::Everything => {}
            StockChanged::Products(known) => known.extend(ids),
            StockChanged::Nothing => {
                let ids: Vec<i32> = ids.into_iter().collect();
                if !ids.is_empty() {
                    *self = StockChanged::Products(ids);
                }
            }
        }
    }
}

/// A clone shares the same entries. A disabled cache keeps nothing.
#[derive(Clone)]
pub struct AvailabilityCache {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    max_age: Duration,
    state: Mutex<State>,
    /// Requested SKUs answered from memory, and read from the database.
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What `/metrics` shows of the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCensus {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
}

#[derive(Default)]
struct State {
    /// Advanced by every change told.
    epoch: u64,
    /// The epoch at which each product's stock last changed.
    changed: HashMap<i32, u64>,
    /// The epoch at which every product's stock may have changed.
    all_changed: u64,
    entries: HashMap<String, Entry>,
    /// One copy of each warehouse for all entries: each read brings its
    /// own, and a full cache would otherwise hold one per SKU.
    warehouses: HashMap<i32, Arc<warehouse::Model>>,
}

struct Entry {
    product_id: i32,
    holdings: Arc<[Holding]>,
    read: ReadStart,
}

/// When a read of stock began: what an entry made from it is checked
/// against.
#[derive(Clone, Copy, Debug)]
pub struct ReadStart {
    epoch: u64,
    at: Instant,
}

/// What the cache had of the SKUs asked.
pub struct Lookup {
    pub read: ReadStart,
    /// By SKU.
    pub found: HashMap<String, Arc<[Holding]>>,
}

impl AvailabilityCache {
    /// Keeps entries for at most `max_age`; `None` keeps nothing.
    pub fn new(max_age: Option<Duration>) -> Self {
        AvailabilityCache {
            shared: max_age.map(|max_age| {
                Arc::new(Shared {
                    max_age,
                    state: Mutex::new(State::default()),
                    hits: AtomicU64::new(0),
                    misses: AtomicU64::new(0),
                })
            }),
        }
    }

    pub fn disabled() -> Self {
        Self::new(None)
    }

    /// The current entries of `skus`, and the start to stamp a read of the
    /// rest with.
    pub fn lookup(&self, skus: &[String]) -> Lookup {
        self.find(skus, true)
    }

    /// As [`Self::lookup`], for a writer that only wants to know whether a
    /// SKU is sold out: not counted as a storefront read's hit or miss.
    pub fn peek(&self, skus: &[String]) -> Lookup {
        self.find(skus, false)
    }

    fn find(&self, skus: &[String], counted: bool) -> Lookup {
        let now = Instant::now();
        let Some(shared) = &self.shared else {
            return Lookup {
                read: ReadStart { epoch: 0, at: now },
                found: HashMap::new(),
            };
        };
        let state = shared.lock();
        let read = ReadStart {
            epoch: state.epoch,
            at: now,
        };
        let mut found = HashMap::new();
        let mut hits = 0;
        for sku in skus {
            let Some(entry) = state.entries.get(sku) else {
                continue;
            };
            if state.current(entry, now, shared.max_age) {
                hits += 1;
                found.insert(sku.clone(), entry.holdings.clone());
            }
        }
        if counted {
            shared.hits.fetch_add(hits, Ordering::Relaxed);
            shared
                .misses
                .fetch_add(skus.len() as u64 - hits, Ordering::Relaxed);
        }
        Lookup { read, found }
    }

    /// Counts so far, and the entries kept now (zeros when disabled).
    pub fn census(&self) -> CacheCensus {
        let Some(shared) = &self.shared else {
            return CacheCensus::default();
        };
        CacheCensus {
            hits: shared.hits.load(Ordering::Relaxed),
            misses: shared.misses.load(Ordering::Relaxed),
            entries: shared.lock().entries.len(),
        }
    }

    /// Keeps what a read that began at `read` found, for products whose
    /// stock has not changed since.
    pub fn keep(
        &self,
        read: ReadStart,
        found: impl IntoIterator<Item = (String, i32, Arc<[Holding]>)>,
    ) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut state = shared.lock();
        for (sku, product_id, holdings) in found {
            let mut entry = Entry {
                product_id,
                holdings,
                read,
            };
            if !state.current(&entry, read.at, shared.max_age) {
                continue;
            }
            entry.holdings = entry
                .holdings
                .iter()
                .map(|holding| Holding {
                    warehouse: state.intern(&holding.warehouse),
                    ..holding.clone()
                })
                .collect();
            if state.entries.len() >= CAPACITY && !state.entries.contains_key(&sku) {
                state.entries.clear();
            }
            state.entries.insert(sku, entry);
        }
    }

    /// Tells the cache that a transaction changing `what` committed.
    pub fn stock_changed(&self, what: &StockChanged) {
        let Some(shared) = &self.shared else {
            return;
        };
        let mut state = shared.lock();
        match what {
            StockChanged::Nothing => {}
            StockChanged::Products(ids) => {
                state.epoch += 1;
                let epoch = state.epoch;
                if state.changed.len() >= CAPACITY {
                    // Forgetting which products changed is safe only by
                    // saying that all did.
                    state.changed.clear();
                    state.all_changed = epoch;
                }
                for &id in ids {
                    state.changed.insert(id, epoch);
                }
            }
            StockChanged::Everything => {
                state.epoch += 1;
                state.all_changed = state.epoch;
                state.changed.clear();
                state.entries.clear();
            }
        }
    }
}

impl AvailabilityCache {
    /// Marks stale whatever the event log says changed, until live events
    /// end: how changes committed by other processes reach this cache.
    /// Subscribes at once, so that nothing published after this call is
    /// missed.
    pub fn follow(self, bus: &EventBus) -> impl Future<Output = ()> + Send + 'static {
        let mut live = bus.subscribe();
        let mut closing = bus.closing();
        async move {
            if self.shared.is_none() {
                return;
            }
            loop {
                tokio::select! {
                    received = live.recv() => match received {
                        Ok(event) => self.stock_changed(&StockChanged::Products(vec![
                            event.movement.product_id,
                        ])),
                        // What it missed may have changed anything.
                        Err(RecvError::Lagged(_)) => self.stock_changed(&StockChanged::Everything),
                        Err(RecvError::Closed) => break,
                    },
                    _ = closing.wait_for(|closed| *closed) => break,
                }
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement that changes it, so
        // a panic elsewhere while it was held leaves nothing half-done.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// The kept copy of `warehouse`, which becomes the kept copy if it is
    /// new or differs.
    fn intern(&mut self, warehouse: &Arc<warehouse::Model>) -> Arc<warehouse::Model> {
        match self.warehouses.get(&warehouse.id) {
            Some(kept) if kept == warehouse => kept.clone(),
            _ => {
                self.warehouses.insert(warehouse.id, warehouse.clone());
                warehouse.clone()
            }
        }
    }

    /// Whether `entry` may still serve at `now`.
    fn current(&self, entry: &Entry, now: Instant, max_age: Duration) -> bool {
        let since = entry.read.epoch;
        now.saturating_duration_since(entry.read.at) < max_age
            && self.all_changed <= since
            && self
                .changed
                .get(&entry.product_id)
                .is_none_or(|&at| at <= since)
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn holdings(quantity: i32) -> Arc<[Holding]> {
        let warehouse = Arc::new(warehouse::Model {
            id: 1,
            code: "BER1".into(),
            name: "Berlin".into(),
            city: None,
            latitude: 52.52,
            longitude: 13.405,
            active: true,
            base_cents: 0,
            cents_per_100km: 0,
            cents_per_kg: 0,
            daily_shipment_capacity: None,
            created_at: DateTime::UNIX_EPOCH,
        });
        Arc::from([Holding {
            warehouse,
            quantity,
            reserved: 0,
            safety_stock: 0,
        }])
    }

    fn sku(s: &str) -> Vec<String> {
        vec![s.to_owned()]
    }

    fn quantity_of(cache: &AvailabilityCache, s: &str) -> Option<i32> {
        cache
            .lookup(&sku(s))
            .found
            .get(s)
            .map(|holdings| holdings[0].quantity)
    }

    /// A read of `s` (product `id`) that found `quantity`, with nothing
    /// in between.
    fn read_and_keep(cache: &AvailabilityCache, s: &str, id: i32, quantity: i32) {
        let read = cache.lookup(&sku(s)).read;
        cache.keep(read, [(s.to_owned(), id, holdings(quantity))]);
    }

    #[test]
    fn an_entry_serves_until_its_product_changes() {
        let cache = AvailabilityCache::new(Some(Duration::from_secs(60)));
        read_and_keep(&cache, "A", 7, 5);
        read_and_keep(&cache, "B", 8, 9);
        assert_eq!(quantity_of(&cache, "A"), Some(5));

        cache.stock_changed(&StockChanged::Products(vec![7]));
        assert_eq!(quantity_of(&cache, "A"), None, "A changed");
        assert_eq!(quantity_of(&cache, "B"), Some(9), "B did not");

        cache.stock_changed(&StockChanged::Everything);
        assert_eq!(quantity_of(&cache, "B"), None);
    }

    #[test]
    fn a_read_that_a_change_overtook_is_not_kept() {
        let cache = AvailabilityCache::new(Some(Duration::from_secs(60)));
        // The read begins, a writer commits and tells, the read ends with
        // what it saw before the commit.
        let read = cache.lookup(&sku("A")).read;
        cache.stock_changed(&StockChanged::Products(vec![7]));
        cache.keep(read, [("A".to_owned(), 7, holdings(5))]);
        assert_eq!(quantity_of(&cache, "A"), None);

        // A change to another product does not stop it.
        let read = cache.lookup(&sku("A")).read;
        cache.stock_changed(&StockChanged::Products(vec![8]));
        cache.keep(read, [("A".to_owned(), 7, holdings(6))]);
        assert_eq!(quantity_of(&cache, "A"), Some(6));
    }

    #[test]
    fn entries_expire_and_a_disabled_cache_keeps_nothing() {
        let cache = AvailabilityCache::new(Some(Duration::from_millis(20)));
        read_and_keep(&cache, "A", 7, 5);
        assert_eq!(quantity_of(&cache, "A"), Some(5));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(quantity_of(&cache, "A"), None);

        let off = AvailabilityCache::disabled();
        read_and_keep(&off, "A", 7, 5);
        assert_eq!(quantity_of(&off, "A"), None);
    }

    #[test]
    fn entries_share_one_copy_of_each_warehouse() {
        let cache = AvailabilityCache::new(Some(Duration::from_secs(60)));
        read_and_keep(&cache, "A", 7, 5);
        read_and_keep(&cache, "B", 8, 9);
        let found = cache.lookup(&["A".to_owned(), "B".to_owned()]).found;
        let (a, b) = (&found["A"][0].warehouse, &found["B"][0].warehouse);
        assert!(
            Arc::ptr_eq(a, b),
            "two reads of one warehouse are kept once"
        );
    }

    #[test]
    fn changes_gather_products_until_everything() {
        let mut changed = StockChanged::default();
        changed.products([]);
        assert_eq!(changed, StockChanged::Nothing);
        changed.products([1, 2]);
        changed.products([3]);
        assert_eq!(changed, StockChanged::Products(vec![1, 2, 3]));
        changed = StockChanged::Everything;
        changed.products([4]);
        assert_eq!(changed, StockChanged::Everything);
    }
}
