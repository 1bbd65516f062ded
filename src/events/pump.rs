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
/// closes the bus. Reads when a commit of this process or a NOTIFY says so,
/// and at least every `poll`.
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
    let committed = bus.committed();
    loop {
        tokio::select! {
            _ = committed.notified() => {}
            woken = notified(&mut listener) => {
                if !woken {
                    // The listener reconnects on its next receive; meanwhile
                    // the poll keeps events flowing.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            _ = tokio::time::sleep(poll) => {}
            _ = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => break,
        }
        loop {
            match events_after(&db, last, &EventFilter::default(), PAGE).await {
                Ok(events) => {
                    let full = events.len() as u64 == PAGE;
                    let newest = events.last().map(|e| e.movement.created_at);
                    for event in events {
                        last = event.movement.id;
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
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading new movements failed; retrying");
                    break;
                }
            }
        }
    }
    bus.close();
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

/// Waits for a notification; false when the connection failed.
async fn notified(listener: &mut Listener) -> bool {
    match listener {
        Some(listener) => match listener.recv().await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the LISTEN connection failed");
                false
            }
        },
        None => std::future::pending().await,
    }
}
