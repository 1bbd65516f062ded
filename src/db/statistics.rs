//! Planner statistics for the tables a flash sale grows (PostgreSQL).
//!
//! PostgreSQL plans each statement by what its statistics say of the
//! tables, and autovacuum refreshes them at most once a minute per
//! database, once a tenth of a table has changed. A flash sale grows the
//! holds' tables from nothing to hundreds of thousands of rows well inside
//! that minute. Planned blind (a table never analysed has no statistics of
//! its columns), a batch of confirms looking up its 250 holds' lines by
//! `reservation_id = ANY($1)` was planned as a full scan of every line
//! (when lines were rows of their own), and the same for the shipments:
//! 15 – 40 ms a batch where the index takes 0.3. Measured with 1,000 clients paying for their holds right after a
//! 10 s flash sale (the bench harness, so the code against itself):
//! PostgreSQL 50.9 µs of CPU per confirm without this upkeep, 33.1 with
//! it; p99 225 ms against 83.
//!
//! So every replica looks every few seconds and analyses any of these
//! tables that changed, since it was last analysed, by at least as many
//! rows as it then held (and by [`FLOOR`] at least): a table growing from
//! nothing to a million rows is analysed about seven times. Replicas that
//! find the same table due at once do not queue on each other:
//! `SKIP_LOCKED` passes over a table being analysed. SQLite needs none of
//! this: with no statistics its planner takes an index over a full scan.
//!
//! These analyses read a sample of [`SAMPLE_TARGET`] × 300 rows, a tenth
//! of what PostgreSQL's default reads. What they are for is the coarse
//! shape (how many rows, how few are active, which values are common),
//! and a small sample has it: a batch of confirms' claim was planned alike
//! at both, over 10,000 holds and over 100,000. Autovacuum's own analysis,
//! at the default, comes later and replaces them. The default's sample
//! made the upkeep the second largest part of PostgreSQL's CPU in a flash
//! sale (9 – 14 %, in a profile of its backends): with 146,000 holds,
//! `ANALYZE` of the two tables took 170 – 217 ms and 158 – 177 ms at the
//! default, 22 – 23 ms and 16 – 17 ms with this sample, on a 2-core
//! machine where every such millisecond is taken from the checkouts.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use tokio::sync::watch;

use super::quote_identifier;
use crate::{background, metrics::Metrics};

/// The tables every hold and every ending writes to.
pub const GROWING_TABLES: [&str; 2] = ["reservations", "inventory_movements"];

/// How often a replica looks unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The statistics target of the upkeep's analyses (PostgreSQL's
/// `default_statistics_target`, 100 unless configured): their sample is 300
/// times this many rows, their histograms and lists of common values this
/// long.
pub const SAMPLE_TARGET: u32 = 10;

/// Changes that make a table due even when it held fewer rows than this at
/// its last analysis: below it, any plan is fast.
pub const FLOOR: i64 = 10_000;

/// Looks every `interval` until `shutdown` turns true (or its sender is
/// gone). Does nothing on SQLite.
pub async fn run(
    db: DatabaseConnection,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
    metrics: Metrics,
) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    background::every(interval, shutdown, || async {
        match refresh(&db).await {
            Ok(analysed) => {
                metrics.record_tables_analysed(analysed.len() as u64);
                if !analysed.is_empty() {
                    tracing::info!(tables = ?analysed, "analysed tables grown since their statistics");
                }
            }
            Err(e) => tracing::warn!(error = %e, "refreshing planner statistics failed; it will be tried again"),
        }
    })
    .await;
}

/// Analyses the [`GROWING_TABLES`] that are due, and returns their names.
pub async fn refresh(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Vec::new());
    }
    // `reltuples` is -1 for a table never analysed nor vacuumed.
    let due = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT s.relname::text AS name
               FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
              WHERE s.schemaname = current_schema() AND s.relname = ANY($1)
                AND s.n_mod_since_analyze >= GREATEST($2, c.reltuples)
              ORDER BY s.relname",
            [
                GROWING_TABLES.map(str::to_owned).to_vec().into(),
                FLOOR.into(),
            ],
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "name"))
        .collect::<Result<Vec<_>, _>>()?;
    for table in &due {
        // The smaller sample is this analysis's alone: `SET LOCAL` ends
        // with the transaction, which `ANALYZE` (unlike `VACUUM`) may run in.
        let analysis = db.begin().await?;
        analysis
            .execute_unprepared(&format!(
                "SET LOCAL default_statistics_target = {SAMPLE_TARGET}"
            ))
            .await?;
        analysis
            .execute_unprepared(&format!(
                "ANALYZE (SKIP_LOCKED) {}",
                quote_identifier(table)
            ))
            .await?;
        analysis.commit().await?;
    }
    Ok(due)
}
