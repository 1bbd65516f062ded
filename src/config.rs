//! Configuration from flags and environment variables.
//!
//! Every setting has a default that works on a bare machine, and every value
//! is validated here, so that a bad one stops the start with one clear line.

use std::{net::SocketAddr, time::Duration};

/// Where the data lives when `DATABASE_URL` is not set: a SQLite file in the
/// working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://stockroute.db?mode=rwc";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

pub use crate::db::{Backend, DatabaseUrl};

/// Parses a positive duration written in milliseconds (`250`) or with a unit
/// (`250ms`, `2s`, `1m`).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit_ms) = if let Some(n) = raw.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = raw.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = raw.strip_suffix('m') {
        (n, 60_000)
    } else {
        (raw, 1)
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration: write e.g. 500ms, 2s or 1m"))?;
    if n == 0 {
        return Err("a duration must be greater than zero".to_owned());
    }
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{raw}` is too long"))
}

/// Parses a duration as [`parse_duration`] does, or `off` (also `0`) for
/// none.
pub fn parse_optional_duration(raw: &str) -> Result<Option<Duration>, String> {
    match raw.trim() {
        "off" | "0" => Ok(None),
        other => parse_duration(other)
            .map(Some)
            .map_err(|e| format!("{e}; or `off` for none")),
    }
}

/// What `stockroute serve` needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub addr: SocketAddr,
    /// Load the demo data when the database has no products or warehouses.
    pub demo: bool,
    /// The largest request body accepted on `/graphql`.
    pub max_body_bytes: usize,
    /// Header, body and idle timeouts, the connection cap, the backlog.
    pub connections: crate::http::serve::ConnectionLimits,
    /// The pool's size and how long it waits on the database.
    pub pool: crate::db::PoolSettings,
    /// How long a query or mutation may take before it is answered
    /// UNAVAILABLE and its database work is cancelled.
    pub request_timeout: Duration,
    /// Queries and mutations one API key (or public address) may run at
    /// once; past it one is answered UNAVAILABLE (503) at once.
    pub max_in_flight_per_client: usize,
    /// What each API key, and the public role per client address, may
    /// spend on query cost.
    pub cost_budgets: crate::graphql::cost::Budgets,
    /// How often expired holds are looked for and returned to stock.
    pub sweep_interval: Duration,
    /// Events the live channel keeps for a subscriber that has not read
    /// them yet; past it, the subscriber catches up from the ledger.
    pub event_buffer: usize,
    /// How often the event log is read even without a sign of a change.
    pub event_poll_interval: Duration,
    /// How long `availability` may answer a SKU from memory without a sign
    /// of change; `None` reads every time.
    pub availability_cache_ttl: Option<Duration>,
    /// How long a valid API key is taken as valid without asking the
    /// database again (a revoked key stops working within it); `None`
    /// asks for every request.
    pub key_cache_ttl: Option<Duration>,
    /// How much searching one CHEAPEST or SPLIT plan may do.
    pub plan_budget: crate::planner::SearchBudget,
}

impl Config {
    /// A configuration for the given database that binds a free port on
    /// loopback and loads no demo data: what tests and tools start from.
    pub fn for_database(database_url: DatabaseUrl) -> Self {
        Config {
            database_url,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            connections: crate::http::serve::ConnectionLimits::default(),
            pool: crate::db::PoolSettings::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_in_flight_per_client: crate::graphql::in_flight::DEFAULT_PER_CLIENT,
            cost_budgets: crate::graphql::cost::Budgets::default(),
            sweep_interval: crate::inventory::reservations::sweeper::DEFAULT_INTERVAL,
            event_buffer: crate::events::DEFAULT_BUFFER,
            event_poll_interval: crate::events::pump::DEFAULT_POLL,
            availability_cache_ttl: Some(crate::inventory::availability::DEFAULT_MAX_AGE),
            key_cache_ttl: Some(crate::auth::DEFAULT_KEY_CACHE_TTL),
            plan_budget: crate::planner::SearchBudget::default(),
        }
    }
}

/// Longer than the statement timeout, so that a slow statement is reported
/// as such; far shorter than a client's patience.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// 1 MiB holds a 100-line order many times over; anything larger is abuse.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_accepted() {
        let sqlite: DatabaseUrl = DEFAULT_DATABASE_URL.parse().unwrap();
        assert_eq!(sqlite.backend(), Backend::Sqlite);
        let pg: DatabaseUrl = "postgres://postgres@127.0.0.1:5432/shop".parse().unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
    }

    #[test]
    fn other_schemes_and_postgres_without_a_database_are_refused_with_a_reason() {
        let mysql = "mysql://root@localhost/db"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(mysql.contains("not supported"), "{mysql}");
        let no_db = "postgres://postgres@127.0.0.1:5432"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(no_db.contains("names no database"), "{no_db}");
    }

    #[test]
    fn passwords_never_reach_the_log() {
        let url: DatabaseUrl = "postgres://app:s3cret@db:5432/shop".parse().unwrap();
        assert!(!url.redacted().contains("s3cret"));
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn durations_take_units_and_refuse_zero_and_garbage() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("100").unwrap(), Duration::from_millis(100));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn optional_durations_may_be_off() {
        assert_eq!(parse_optional_duration("off").unwrap(), None);
        assert_eq!(parse_optional_duration("0").unwrap(), None);
        assert_eq!(
            parse_optional_duration("2s").unwrap(),
            Some(Duration::from_secs(2))
        );
        let never = parse_optional_duration("never").unwrap_err();
        assert!(never.contains("off"), "{never}");
    }
}
