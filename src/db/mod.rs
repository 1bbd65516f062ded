//! Connecting to the database and keeping its schema current.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr, Statement,
    sqlx::{
        self,
        sqlite::{SqliteJournalMode, SqliteSynchronous},
    },
};

pub mod bulk;
mod database_url;
pub mod statistics;

pub use database_url::{Backend, DatabaseUrl};

/// How many connections the pool keeps to PostgreSQL unless told otherwise.
/// Small on purpose: on a few cores, more backends than cores mostly add
/// context switches (measured on 2 cores: 8 gave 2.1k availability reads/s
/// where 32 gave 1.8k, and half the p99).
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// How long a request waits for a free connection before it is told the
/// database is unavailable, unless told otherwise.
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a PostgreSQL statement may run, unless told otherwise.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the pool treats the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections to PostgreSQL (SQLite keeps 8: one writer at a time).
    pub size: u32,
    /// How long a request waits for a connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection; `None` for none.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            size: DEFAULT_POOL_SIZE,
            acquire_timeout: DEFAULT_POOL_TIMEOUT,
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
        }
    }
}

/// Opens a pool on `url`. On PostgreSQL the database is created first when
/// it does not exist, so `DATABASE_URL=postgres://.../new_db` just works.
pub async fn connect(url: &DatabaseUrl, pool: PoolSettings) -> Result<DatabaseConnection, DbErr> {
    open_pool(url, pool, None).await
}

/// Opens one connection on `url`, for changing the schema.
///
/// Each SQLite connection keeps its own copy of the schema, and notices
/// that its copy is stale only when a statement names something the copy
/// lacks. Run on a pool, one migration's steps go to whichever connection
/// is free, and a step that adds what an older copy still shows (a column
/// the step before dropped on another connection) fails with "duplicate
/// column name", though the column is gone. On one connection every step
/// sees the schema as the steps before left it.
pub async fn connect_for_migrations(
    url: &DatabaseUrl,
    pool: PoolSettings,
) -> Result<DatabaseConnection, DbErr> {
    open_pool(url, pool, Some(1)).await
}

/// A pool on `url`; `connections` overrides how many it keeps.
async fn open_pool(
    url: &DatabaseUrl,
    pool: PoolSettings,
    connections: Option<u32>,
) -> Result<DatabaseConnection, DbErr> {
    if url.backend() == Backend::Postgres {
        ensure_postgres_database(url, pool.acquire_timeout).await?;
    }
    let mut options = ConnectOptions::new(url.as_str());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(pool.acquire_timeout);
    match url.backend() {
        Backend::Sqlite => {
            // SQLite has one writer at a time. WAL lets readers run beside it,
            // and the busy timeout makes a second writer wait its turn instead
            // of failing with "database is locked".
            options
                .max_connections(connections.unwrap_or(8))
                .map_sqlx_sqlite_opts(|opts| {
                    opts.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(30))
                        .foreign_keys(true)
                });
        }
        Backend::Postgres => {
            options
                .max_connections(connections.unwrap_or(pool.size))
                .min_connections(1);
            if let Some(limit) = pool.statement_timeout {
                let limit = format!("{}ms", limit.as_millis());
                options.map_sqlx_postgres_opts(move |opts| {
                    opts.options([("statement_timeout", limit.as_str())])
                });
            }
        }
    }
    Database::connect(options).await
}

/// Applies every pending migration, on a connection of its own (see
/// [`connect_for_migrations`]).
pub async fn migrate(url: &DatabaseUrl, pool: PoolSettings) -> Result<(), DbErr> {
    let db = connect_for_migrations(url, pool).await?;
    let applied = Migrator::up(&db, None).await;
    let closed = db.close().await;
    applied.and(closed)
}

/// Whether the database answers a trivial query: what `/readyz` reports.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

async fn ensure_postgres_database(url: &DatabaseUrl, wait: Duration) -> Result<(), DbErr> {
    let mut parsed =
        url::Url::parse(url.as_str()).map_err(|e| DbErr::Custom(format!("bad URL: {e}")))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    // Every PostgreSQL server has the `postgres` maintenance database.
    parsed.set_path("/postgres");
    // As patient as the pool, not sqlx's 30 s: a server that is not there
    // is found out quickly.
    let mut options = ConnectOptions::new(parsed.as_str());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(wait)
        .max_connections(1);
    let admin = Database::connect(options).await?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        let create = format!("CREATE DATABASE {}", quote_identifier(&name));
        match admin.execute_unprepared(&create).await {
            Ok(_) => tracing::info!(database = %name, "created PostgreSQL database"),
            // Two processes starting at once may both try; one wins.
            Err(e) if e.to_string().contains("already exists") => {}
            Err(e) => return Err(e),
        }
    }
    admin.close().await
}

/// The one 64-bit integer `sql` selects (a count, a maximum); write it
/// with `CAST(... AS BIGINT)` so both backends return 64 bits.
pub async fn scalar_i64(connection: &impl ConnectionTrait, sql: &str) -> Result<i64, DbErr> {
    let row = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            sql,
        ))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("no row from `{sql}`")))?;
    row.try_get_by_index(0)
}

/// Now, to the microsecond: what both backends store, so that a row read
/// back equals the row as it was written and answered.
pub fn now() -> DateTime<Utc> {
    to_stored_precision(Utc::now())
}

/// A time cut to the microsecond, as both backends store it.
pub fn to_stored_precision(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Whether `error` says "try the transaction again": a PostgreSQL deadlock
/// or serialization failure, or SQLite busy or locked (which a writer from
/// another process can still cause).
pub fn is_transient(error: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(error))
    | DbErr::Query(RuntimeErr::SqlxError(error))
    | DbErr::Conn(RuntimeErr::SqlxError(error))) = error
    else {
        return false;
    };
    let sqlx::Error::Database(error) = error.as_ref() else {
        return false;
    };
    matches!(
        error.code().as_deref(),
        // PostgreSQL: serialization_failure, deadlock_detected.
        Some("40001" | "40P01")
        // SQLite: BUSY, LOCKED, BUSY_RECOVERY, BUSY_SNAPSHOT.
        | Some("5" | "6" | "261" | "517")
    )
}

/// Why the database cannot serve now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// No pooled connection came free in time: the request waited for one.
    PoolTimeout,
    Unreachable,
    Restarting,
    StatementTimeout,
    /// It did not answer within the request's deadline.
    Deadline,
}

impl Outage {
    /// In words, for the client's message.
    pub fn message(self) -> &'static str {
        match self {
            Outage::PoolTimeout => "no database connection came free in time",
            Outage::Unreachable => "the database cannot be reached",
            Outage::Restarting => "the database is restarting",
            Outage::StatementTimeout => "a statement ran past its time limit",
            Outage::Deadline => "it did not answer within the request's time limit",
        }
    }

    /// As `extensions.cause` and the metrics label it.
    pub fn label(self) -> &'static str {
        match self {
            Outage::PoolTimeout => "pool_timeout",
            Outage::Unreachable => "unreachable",
            Outage::Restarting => "restarting",
            Outage::StatementTimeout => "statement_timeout",
            Outage::Deadline => "deadline",
        }
    }
}

/// Why the database cannot serve now, when that is what `error` says: no
/// connection came free in time, it cannot be reached, it is restarting, or
/// a statement ran past its time limit. The client may retry later.
pub fn unavailability(error: &DbErr) -> Option<Outage> {
    if matches!(error, DbErr::ConnectionAcquire(_)) {
        return Some(Outage::PoolTimeout);
    }
    let (DbErr::Exec(RuntimeErr::SqlxError(error))
    | DbErr::Query(RuntimeErr::SqlxError(error))
    | DbErr::Conn(RuntimeErr::SqlxError(error))) = error
    else {
        return None;
    };
    match error.as_ref() {
        sqlx::Error::PoolTimedOut => Some(Outage::PoolTimeout),
        sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Some(Outage::Unreachable)
        }
        sqlx::Error::Database(e) => match e.code().as_deref() {
            // PostgreSQL: query_canceled (statement_timeout).
            Some("57014") => Some(Outage::StatementTimeout),
            // admin_shutdown, crash_shutdown, cannot_connect_now.
            Some("57P01" | "57P02" | "57P03") => Some(Outage::Restarting),
            _ => None,
        },
        _ => None,
    }
}

/// Quotes a PostgreSQL identifier so that any database name is taken literally.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::quote_identifier;

    #[test]
    fn identifiers_are_quoted_and_embedded_quotes_doubled() {
        assert_eq!(quote_identifier("shop"), "\"shop\"");
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
    }
}
