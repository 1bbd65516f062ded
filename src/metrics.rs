//! What `/metrics` serves, in the OpenMetrics text format, through the
//! Prometheus project's own client library (`prometheus-client`).
//!
//! Each application has its own registry, not a process-wide one, so that
//! several servers in one process (the test suite runs hundreds) each count
//! only their own. Database statements are counted through SeaORM's metric
//! callback, so the count covers every statement the service runs,
//! whichever code path ran it. What other parts own (the availability
//! cache's census, the reservation queue's, the pool) is read when
//! `/metrics` is asked, and no scrape runs a statement of its own.

use std::{
    fmt::Write,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// The media type of what [`Metrics::render`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    /// query, mutation or subscription.
    operation_type: &'static str,
    /// The operation's first root field (a schema field: a bounded set), or
    /// "invalid" for a request that did not validate.
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type Seconds = Histogram;
type SecondsFamily = Family<OperationLabels, Seconds, fn() -> Seconds>;

/// 0.5 ms to ~16 s, doubling.
fn latency() -> Seconds {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    statements: Counter,
    statement_failures: Counter,
    statement_seconds: Seconds,
    graphql_requests: Counter,
    graphql_requests_with_errors: Counter,
    operations: SecondsFamily,
    errors: Family<CodeLabels, Counter>,
    unavailable: Family<CauseLabels, Counter>,
    reservations: Family<OutcomeLabels, Counter>,
    holds_expired: Counter,
    tables_analysed: Counter,
    sweeper_lag: Gauge<f64, AtomicU64>,
    event_lag: Gauge<f64, AtomicU64>,
    events_published: Family<SourceLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let statements = Counter::default();
        let statement_failures = Counter::default();
        let statement_seconds = latency();
        let graphql_requests = Counter::default();
        let graphql_requests_with_errors = Counter::default();
        let operations = SecondsFamily::new_with_constructor(latency);
        let errors = Family::<CodeLabels, Counter>::default();
        let unavailable = Family::<CauseLabels, Counter>::default();
        let reservations = Family::<OutcomeLabels, Counter>::default();
        let holds_expired = Counter::default();
        let tables_analysed = Counter::default();
        let sweeper_lag = Gauge::<f64, AtomicU64>::default();
        let event_lag = Gauge::<f64, AtomicU64>::default();
        let events_published = Family::<SourceLabels, Counter>::default();
        // Both shown from the start, at 0.
        for source in ["commit", "table"] {
            drop(events_published.get_or_create(&SourceLabels { source }));
        }
        registry.register(
            "stockroute_db_statements",
            "Database statements executed",
            statements.clone(),
        );
        registry.register(
            "stockroute_db_statement_failures",
            "Database statements that returned an error",
            statement_failures.clone(),
        );
        registry.register(
            "stockroute_db_statement_duration_seconds",
            "How long database statements took",
            statement_seconds.clone(),
        );
        registry.register(
            "stockroute_graphql_requests",
            "GraphQL requests executed (a subscription counts once, when it starts)",
            graphql_requests.clone(),
        );
        registry.register(
            "stockroute_graphql_requests_with_errors",
            "GraphQL requests whose response carried errors",
            graphql_requests_with_errors.clone(),
        );
        registry.register(
            "stockroute_graphql_operation_duration_seconds",
            "How long queries and mutations took, by type and first root field",
            operations.clone(),
        );
        registry.register(
            "stockroute_graphql_errors",
            "Errors in GraphQL responses, by extensions.code",
            errors.clone(),
        );
        registry.register(
            "stockroute_graphql_unavailable",
            "UNAVAILABLE answers by extensions.cause: pool_timeout (waited for a database \
             connection in vain), unreachable, restarting, statement_timeout, deadline, overloaded",
            unavailable.clone(),
        );
        registry.register(
            "stockroute_reservations",
            "reserveOrder answers: held, insufficient (InsufficientStock), conflict, replayed, failed",
            reservations.clone(),
        );
        registry.register(
            "stockroute_holds_expired",
            "Holds the sweeper expired, returning their stock",
            holds_expired.clone(),
        );
        registry.register(
            "stockroute_tables_analysed",
            "Analyses of the holds' and the ledger's tables the service ran for PostgreSQL's \
             planner, each table having grown since its last by at least what it then held",
            tables_analysed.clone(),
        );
        registry.register(
            "stockroute_sweeper_lag_seconds",
            "How far past its expiry the oldest hold the last sweep found overdue was (0: none)",
            sweeper_lag.clone(),
        );
        registry.register(
            "stockroute_event_lag_seconds",
            "How old the newest movement the event pump published was, while it had more to read \
             (0: caught up)",
            event_lag.clone(),
        );
        registry.register(
            "stockroute_events_published",
            "Stock events the event pump published, by where it took them from: commit (handed \
             over by a commit of this process) or table (read from the ledger)",
            events_published.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            statements,
            statement_failures,
            statement_seconds,
            graphql_requests,
            graphql_requests_with_errors,
            operations,
            errors,
            unavailable,
            reservations,
            holds_expired,
            tables_analysed,
            sweeper_lag,
            event_lag,
            events_published,
        }))
    }
}

/// What other parts own, read when `/metrics` is asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scrape {
    pub live_feeds: usize,
    pub live_feed_subscribers: usize,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_entries: usize,
    pub reservations_waiting: usize,
    pub reservation_batches: u64,
    pub reservation_batch_requests: u64,
    pub reservation_batches_written: u64,
    pub reservation_rows_held: Duration,
    pub pool_size: u32,
    pub pool_idle: usize,
    pub pool_max: u32,
    pub key_lookups: u64,
    pub key_lookup_keys: u64,
    pub hold_ending_batches: u64,
    pub hold_ending_batch_requests: u64,
}

impl Metrics {
    pub fn record_statement(&self, elapsed: Duration, failed: bool) {
        let m = &self.0;
        m.statements.inc();
        m.statement_seconds.observe(elapsed.as_secs_f64());
        if failed {
            m.statement_failures.inc();
        }
    }

    pub fn record_graphql(&self, had_errors: bool) {
        self.0.graphql_requests.inc();
        if had_errors {
            self.0.graphql_requests_with_errors.inc();
        }
    }

    /// A query or mutation that ran for `elapsed`.
    pub fn record_operation(
        &self,
        operation_type: &'static str,
        operation: &str,
        elapsed: Duration,
    ) {
        let labels = OperationLabels {
            operation_type,
            operation: operation.to_owned(),
        };
        self.0
            .operations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The errors a response carried: each one's code and, for
    /// UNAVAILABLE, its cause.
    pub fn record_errors<'a>(&self, errors: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) {
        for (code, cause) in errors {
            self.0
                .errors
                .get_or_create(&CodeLabels {
                    code: code.to_owned(),
                })
                .inc();
            if let Some(cause) = cause {
                self.0
                    .unavailable
                    .get_or_create(&CauseLabels {
                        cause: cause.to_owned(),
                    })
                    .inc();
            }
        }
    }

    /// One reserveOrder answer.
    pub fn record_reservation(&self, outcome: &'static str) {
        self.0
            .reservations
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A sweep expired `count` holds; the oldest overdue one it found was
    /// `lag` past its expiry.
    pub fn record_sweep(&self, count: u64, lag: Duration) {
        self.0.holds_expired.inc_by(count);
        self.0.sweeper_lag.set(lag.as_secs_f64());
    }

    /// `count` tables were analysed for the planner.
    pub fn record_tables_analysed(&self, count: u64) {
        self.0.tables_analysed.inc_by(count);
    }

    /// The event pump's distance behind the ledger.
    pub fn set_event_lag(&self, lag: Duration) {
        self.0.event_lag.set(lag.as_secs_f64());
    }

    /// The event pump published `count` events taken from `source`:
    /// `commit` or `table`.
    pub fn record_events_published(&self, source: &'static str, count: usize) {
        self.0
            .events_published
            .get_or_create(&SourceLabels { source })
            .inc_by(count as u64);
    }

    /// How many database statements have run since start.
    pub fn db_statements(&self) -> u64 {
        self.0.statements.get()
    }

    /// Everything, with what other parts own as `scrape` says it.
    pub fn render(&self, scrape: &Scrape) -> String {
        let mut now = Registry::default();
        let gauge = |n: usize| ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
        now.register(
            "stockroute_live_feeds",
            "Subscription renderings shared by identical subscriptions",
            gauge(scrape.live_feeds),
        );
        now.register(
            "stockroute_live_feed_subscribers",
            "Subscriptions served by a shared rendering",
            gauge(scrape.live_feed_subscribers),
        );
        now.register(
            "stockroute_availability_cache_hits",
            "Requested SKUs whose availability was answered from memory",
            ConstCounter::new(scrape.cache_hits),
        );
        now.register(
            "stockroute_availability_cache_misses",
            "Requested SKUs whose stock was read from the database",
            ConstCounter::new(scrape.cache_misses),
        );
        now.register(
            "stockroute_availability_cache_entries",
            "SKUs whose stock is kept in memory",
            gauge(scrape.cache_entries),
        );
        now.register(
            "stockroute_reservations_waiting",
            "Reservations queued for the next batch",
            gauge(scrape.reservations_waiting),
        );
        now.register(
            "stockroute_reservation_batches",
            "Batches of reservations taken, each in one transaction",
            ConstCounter::new(scrape.reservation_batches),
        );
        now.register(
            "stockroute_reservation_batch_requests",
            "Reservation requests taken in those batches",
            ConstCounter::new(scrape.reservation_batch_requests),
        );
        now.register(
            "stockroute_reservation_batches_written",
            "Batches of reservations that wrote holds",
            ConstCounter::new(scrape.reservation_batches_written),
        );
        now.register(
            "stockroute_reservation_rows_held_seconds",
            "How long those batches held the rows of the stock levels they took, from their \
             first guarded UPDATE's answer to their commit's: every other writer of a level \
             waits for it",
            ConstCounter::new(scrape.reservation_rows_held.as_secs_f64()),
        );
        now.register(
            "stockroute_hold_ending_batches",
            "Batches of confirms and releases, each in one transaction",
            ConstCounter::new(scrape.hold_ending_batches),
        );
        now.register(
            "stockroute_hold_ending_batch_requests",
            "Confirms and releases taken in those batches",
            ConstCounter::new(scrape.hold_ending_batch_requests),
        );
        now.register(
            "stockroute_key_lookups",
            "Lookups of API keys, each one statement for every key its requests carried",
            ConstCounter::new(scrape.key_lookups),
        );
        now.register(
            "stockroute_key_lookup_keys",
            "Keys read by those lookups",
            ConstCounter::new(scrape.key_lookup_keys),
        );
        now.register(
            "stockroute_db_pool_connections",
            "Database connections open (in use or idle)",
            gauge(scrape.pool_size as usize),
        );
        now.register(
            "stockroute_db_pool_idle_connections",
            "Database connections open and idle",
            gauge(scrape.pool_idle),
        );
        now.register(
            "stockroute_db_pool_max_connections",
            "The most database connections the pool opens",
            gauge(scrape.pool_max as usize),
        );
        let mut out = String::new();
        let written = text::encode_registry(&mut out, &self.0.registry)
            .and_then(|()| text::encode_registry(&mut out, &now))
            .and_then(|()| text::encode_eof(&mut out));
        if written.is_err() {
            let _ = writeln!(out, "# the metrics could not be encoded");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(text: &'a str, series: &str) -> &'a str {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{series} in {text}"))
    }

    #[test]
    fn what_is_recorded_is_served_in_openmetrics_text() {
        let metrics = Metrics::default();
        metrics.record_statement(Duration::from_millis(2), false);
        metrics.record_statement(Duration::from_millis(3), true);
        metrics.record_graphql(true);
        metrics.record_operation("mutation", "reserveOrder", Duration::from_millis(7));
        metrics.record_errors([("CONFLICT", None), ("UNAVAILABLE", Some("pool_timeout"))]);
        metrics.record_reservation("held");
        metrics.record_sweep(3, Duration::from_millis(1500));
        metrics.record_tables_analysed(2);
        let text = metrics.render(&Scrape {
            cache_hits: 9,
            pool_idle: 2,
            key_lookups: 4,
            hold_ending_batches: 2,
            ..Scrape::default()
        });
        assert_eq!(value(&text, "stockroute_db_statements_total"), "2");
        assert_eq!(value(&text, "stockroute_db_statement_failures_total"), "1");
        assert_eq!(
            value(&text, "stockroute_db_statement_duration_seconds_count"),
            "2"
        );
        assert_eq!(
            value(&text, "stockroute_graphql_requests_with_errors_total"),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "stockroute_graphql_operation_duration_seconds_count{operation_type=\"mutation\",operation=\"reserveOrder\"}"
            ),
            "1"
        );
        assert_eq!(
            value(&text, "stockroute_graphql_errors_total{code=\"CONFLICT\"}"),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "stockroute_graphql_unavailable_total{cause=\"pool_timeout\"}"
            ),
            "1"
        );
        assert_eq!(
            value(&text, "stockroute_reservations_total{outcome=\"held\"}"),
            "1"
        );
        assert_eq!(value(&text, "stockroute_holds_expired_total"), "3");
        assert_eq!(value(&text, "stockroute_tables_analysed_total"), "2");
        assert_eq!(value(&text, "stockroute_sweeper_lag_seconds"), "1.5");
        assert_eq!(
            value(&text, "stockroute_availability_cache_hits_total"),
            "9"
        );
        assert_eq!(value(&text, "stockroute_db_pool_idle_connections"), "2");
        assert_eq!(value(&text, "stockroute_key_lookups_total"), "4");
        assert_eq!(value(&text, "stockroute_hold_ending_batches_total"), "2");
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(metrics.db_statements(), 2);
    }
}
