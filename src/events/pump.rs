//! Reads new movements from the table and publishes them: one task per
//! process, whoever wrote them.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use super::{CHANNEL, EventBus, EventFilter, events_after};
use crate::{
    db::{self, Backend, DatabaseUrl},
    metrics::Metrics,
};

/// How many movements one read publishes before reading again.
const PAGE: u64 = 1_000;
/// How often the table is read even if nothing said it changed, unless
/// told otherwise: covers a notification lost while the listening
/// connection was being re-made, and writers in other processes on SQLite,
/// which has no NOTIFY.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// Fixes where live events begin: after the newest movement committed now.
/// Called before the server takes requests, so that a subscription "from
/// now" and the pump agree on what "now" is: nothing committed after it is
/// missed, nothing before it is replayed.
pub async fn start_at_newest(db: &DatabaseConnection, bus: &EventBus) -> Result<(), DbErr> {
    bus.published.send_replace(newest_id(db).await?);
    Ok(())
}

/// Publishes every movement committed after the bus's starting point (see
/// [`start_at_newest`]), in id order, until `shutdown` turns true; then
/// closes the bus. Publishes what this process's commits hand over (see
/// [`super::Commits`]) and reads the table for the rest: when a commit of
/// this process did not hand its events over, when another replica's
/// NOTIFY says so, and at least every `poll`.
pub async fn run(
    db: DatabaseConnection,
    url: DatabaseUrl,
    bus: EventBus,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
    metrics: Metrics,
) {
    let mut last = bus.last_published();
    let mut listener = listen(&url).await;
    let commits = bus.committed();
    loop {
        // Whether the table must be read: not when all that happened is
        // commits of this process that handed their events over.
        let read = tokio::select! {
            _ = commits.notified() => false,
            woken = notified(&mut listener, commits.writer()) => match woken {
                Woken::ByThisProcess => false,
                Woken::ByAnother => true,
                Woken::Failed => {
                    // The listener reconnects on its next receive; meanwhile
                    // the poll keeps events flowing.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    true
                }
            },
            _ = tokio::time::sleep(poll) => true,
            _ = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => break,
        };
        let handed = commits.take();
        let mut read = read || handed.unknown;
        let mut known = handed.known;
        known.sort_by_key(|events| events.first().map(|e| e.movement.id));
        for events in known {
            let Some(newest) = events.last().map(|e| e.movement.id) else {
                continue;
            };
            if newest <= last {
                // Read from the table already.
                continue;
            }
            let in_turn = events[0].movement.id == last + 1
                && events
                    .windows(2)
                    .all(|pair| pair[1].movement.id == pair[0].movement.id + 1);
            if !in_turn {
                // Movements committed before these that this process did
                // not hand over (another replica's, or ids a rolled-back
                // transaction used): the table has them all in order.
                read_new(&db, &bus, &mut last, &metrics).await;
                read = false;
                continue;
            }
            metrics.record_events_published("commit", events.len());
            for event in events {
                last = event.movement.id;
                bus.publish(event);
            }
        }
        if read {
            read_new(&db, &bus, &mut last, &metrics).await;
        }
    }
    bus.close();
}

/// Publishes the movements committed after `last`, from the table.
async fn read_new(db: &DatabaseConnection, bus: &EventBus, last: &mut i64, metrics: &Metrics) {
    loop {
        match events_after(db, *last, &EventFilter::default(), PAGE).await {
            Ok(events) => {
                let full = events.len() as u64 == PAGE;
                let newest = events.last().map(|e| e.movement.created_at);
                metrics.record_events_published("table", events.len());
                for event in events {
                    *last = event.movement.id;
                    bus.publish(event);
                }
                // Behind by as much as the newest movement published is
                // old, while a full page says there is more.
                let lag = match newest {
                    Some(at) if full => (chrono::Utc::now() - at).to_std().unwrap_or_default(),
                    _ => Duration::ZERO,
                };
                metrics.set_event_lag(lag);
                if !full {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading new movements failed; retrying");
                return;
            }
        }
    }
}

async fn newest_id(db: &DatabaseConnection) -> Result<i64, DbErr> {
    db::scalar_i64(
        db,
        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM inventory_movements",
    )
    .await
}

type Listener = Option<sea_orm::sqlx::postgres::PgListener>;

/// On PostgreSQL, a connection that LISTENs for other replicas' writes.
async fn listen(url: &DatabaseUrl) -> Listener {
    if url.backend() != Backend::Postgres {
        return None;
    }
    let connected = async {
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url.as_str()).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "cannot LISTEN for other replicas' writes; polling instead");
            None
        }
    }
}

/// What a notification said.
enum Woken {
    /// A commit of this process, which tells the pump directly.
    ByThisProcess,
    ByAnother,
    /// The connection failed.
    Failed,
}

/// Waits for a notification; `writer` is what this process's say.
async fn notified(listener: &mut Listener, writer: &str) -> Woken {
    match listener {
        Some(listener) => match listener.recv().await {
            Ok(notification) if notification.payload() == writer => Woken::ByThisProcess,
            Ok(_) => Woken::ByAnother,
            Err(e) => {
                tracing::warn!(error = %e, "the LISTEN connection failed");
                Woken::Failed
            }
        },
        None => std::future::pending().await,
    }
}
