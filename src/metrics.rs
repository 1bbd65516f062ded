//! Counters served at `/metrics` in the Prometheus text format.
//!
//! Database statements are counted through SeaORM's metric callback, so the
//! count covers every statement the service runs, whichever code path ran it.

use std::{
    fmt::Write,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

#[derive(Clone, Default)]
pub struct Metrics(Arc<Counters>);

#[derive(Default)]
struct Counters {
    db_statements: AtomicU64,
    db_statement_failures: AtomicU64,
    db_statement_micros: AtomicU64,
    graphql_requests: AtomicU64,
    graphql_errors: AtomicU64,
}

impl Metrics {
    pub fn record_statement(&self, elapsed: Duration, failed: bool) {
        let c = &self.0;
        c.db_statements.fetch_add(1, Ordering::Relaxed);
        c.db_statement_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if failed {
            c.db_statement_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_graphql(&self, had_errors: bool) {
        self.0.graphql_requests.fetch_add(1, Ordering::Relaxed);
        if had_errors {
            self.0.graphql_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many database statements have run since start.
    pub fn db_statements(&self) -> u64 {
        self.0.db_statements.load(Ordering::Relaxed)
    }

    pub fn render(&self) -> String {
        let c = &self.0;
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed).to_string();
        let seconds = c.db_statement_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let mut out = String::new();
        for (name, help, value) in [
            (
                "stockroute_db_statements_total",
                "Database statements executed.",
                count(&c.db_statements),
            ),
            (
                "stockroute_db_statement_failures_total",
                "Database statements that returned an error.",
                count(&c.db_statement_failures),
            ),
            (
                "stockroute_db_statement_seconds_total",
                "Time spent in database statements.",
                seconds.to_string(),
            ),
            (
                "stockroute_graphql_requests_total",
                "GraphQL requests executed.",
                count(&c.graphql_requests),
            ),
            (
                "stockroute_graphql_requests_with_errors_total",
                "GraphQL requests whose response carried errors.",
                count(&c.graphql_errors),
            ),
        ] {
            write_counter(&mut out, name, help, value);
        }
        out
    }
}

/// Appends one counter in the Prometheus text format.
pub fn write_counter(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    write_metric(out, "counter", name, help, value);
}

/// Appends one gauge in the Prometheus text format.
pub fn write_gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    write_metric(out, "gauge", name, help, value);
}

fn write_metric(
    out: &mut String,
    kind: &str,
    name: &str,
    help: &str,
    value: impl std::fmt::Display,
) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.record_statement(Duration::from_millis(2), false);
        metrics.record_statement(Duration::from_millis(3), true);
        metrics.record_graphql(true);
        let text = metrics.render();
        assert!(
            text.contains("stockroute_db_statements_total 2\n"),
            "{text}"
        );
        assert!(text.contains("stockroute_db_statement_failures_total 1\n"));
        assert!(text.contains("stockroute_db_statement_seconds_total 0.005\n"));
        assert!(text.contains("stockroute_graphql_requests_with_errors_total 1\n"));
        assert_eq!(metrics.db_statements(), 2);
    }
}
