//! Where the service layer writes: the pool, and write transactions that
//! take their turn and, once committed, tell the availability cache whose
//! stock they changed.

use std::{ops::Deref, sync::Arc};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, TransactionTrait,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::availability::{AvailabilityCache, StockChanged};
use crate::events::{Commits, StockEvent};

/// The database as the service layer writes to it: reads go straight to the
/// pool, write transactions take their turn first where the backend has
/// one writer.
#[derive(Clone)]
pub struct Store {
    connection: DatabaseConnection,
    /// SQLite only. Its writers exclude each other anyway; queueing them here
    /// serves them in arrival order, where SQLite's busy handler would have
    /// them poll with sleeps, let late arrivals overtake, and fail with
    /// "database is locked" once the timeout runs out.
    turn: Option<Arc<Mutex<()>>>,
    /// Told of every commit: what the event pump waits on.
    committed: Arc<Commits>,
    /// Told, after every commit, whose stock changed.
    availability: AvailabilityCache,
}

impl Store {
    pub fn new(connection: DatabaseConnection) -> Self {
        let turn = (connection.get_database_backend() == DbBackend::Sqlite)
            .then(|| Arc::new(Mutex::new(())));
        Store {
            connection,
            turn,
            committed: Arc::new(Commits::new()),
            availability: AvailabilityCache::disabled(),
        }
    }

    /// This store, telling `committed` of each write transaction's commit.
    pub fn notifying(mut self, committed: Arc<Commits>) -> Self {
        self.committed = committed;
        self
    }

    /// This store, keeping `cache` from serving stock its writers changed.
    pub fn caching(mut self, cache: AvailabilityCache) -> Self {
        self.availability = cache;
        self
    }

    /// The availability cache this store keeps current.
    pub fn availability(&self) -> &AvailabilityCache {
        &self.availability
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    pub fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }

    /// Whether a write transaction waits, from its beginning, for the one
    /// before it to end (SQLite).
    pub fn one_writer_at_a_time(&self) -> bool {
        self.turn.is_some()
    }

    /// Begins a transaction that will write, after the writers ahead of it.
    pub async fn begin_write(&self) -> Result<WriteTransaction, DbErr> {
        let turn = match &self.turn {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        };
        let transaction = self.connection.begin().await?;
        if self.turn.is_some() {
            // Take SQLite's write lock now (the busy timeout waits for a
            // writer of another process): a transaction that reads before
            // it writes would otherwise fail at its first write whenever
            // another process committed in between.
            transaction
                .execute_unprepared("UPDATE api_keys SET id = id WHERE 0")
                .await?;
        }
        Ok(WriteTransaction {
            transaction,
            committed: self.committed.clone(),
            availability: self.availability.clone(),
            stock_changed: std::sync::Mutex::new(StockChanged::Nothing),
            events: std::sync::Mutex::new(Vec::new()),
            _turn: turn,
        })
    }
}

/// A transaction from [`Store::begin_write`]; use it as a connection.
/// Dropping it uncommitted rolls back.
pub struct WriteTransaction {
    transaction: DatabaseTransaction,
    committed: Arc<Commits>,
    availability: AvailabilityCache,
    stock_changed: std::sync::Mutex<StockChanged>,
    /// This transaction's stock events, when it knows them in full.
    events: std::sync::Mutex<Vec<StockEvent>>,
    // Declared last: the next writer's turn starts after the transaction is
    // over.
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    /// Notes that this transaction changes the stock of `products`, so that
    /// no cached copy of it serves once the transaction commits.
    pub fn changes_stock_of(&self, products: impl IntoIterator<Item = i32>) {
        self.changes().products(products);
    }

    /// As [`Self::changes_stock_of`], for a change whose products are not
    /// listed.
    pub fn changes_all_stock(&self) {
        *self.changes() = StockChanged::Everything;
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, StockChanged> {
        lock(&self.stock_changed)
    }

    /// Every stock event of this transaction, in id order: the event pump
    /// publishes them once it commits, without reading them back.
    pub fn publishes(&self, events: Vec<StockEvent>) {
        *lock(&self.events) = events;
    }

    /// What this process's NOTIFYs say, so that its own pump, which hears
    /// of each commit directly, knows them.
    pub fn writer(&self) -> &str {
        self.committed.writer()
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        let changed = std::mem::take(&mut *self.changes());
        let events = std::mem::take(&mut *lock(&self.events));
        self.transaction.commit().await?;
        // Only now: a reader that starts before the commit and finds the
        // old stock must not keep it (see the cache's docs).
        self.availability.stock_changed(&changed);
        self.committed.committed(events);
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.transaction.rollback().await
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Holds plain data that every statement leaves whole.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.transaction
    }
}
