//! Probes for whoever runs the service: liveness, readiness and metrics.

use axum::{
    extract::State,
    http::{StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};

use super::AppState;
use crate::{db, metrics};

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let live = state.subscriptions.census();
    let cache = state.availability.census();
    let queue = state.reservations.census();
    let (pool_size, pool_idle, pool_max) = pool_census(&state.db);
    let keys = state.keys.census();
    let text = state.metrics.render(&metrics::Scrape {
        live_feeds: live.feeds,
        live_feed_subscribers: live.subscribers,
        cache_hits: cache.hits,
        cache_misses: cache.misses,
        cache_entries: cache.entries,
        reservations_waiting: queue.waiting,
        reservation_batches: queue.batches,
        reservation_batch_requests: queue.requests,
        reservation_batches_written: queue.written,
        reservation_rows_held: queue.rows_held,
        pool_size,
        pool_idle,
        pool_max,
        hold_ending_batches: queue.ending_batches,
        hold_ending_batch_requests: queue.ending_requests,
        key_lookups: keys.lookups,
        key_lookup_keys: keys.keys,
    });
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

/// Connections open, idle and at most, as the pool counts them.
fn pool_census(db: &sea_orm::DatabaseConnection) -> (u32, usize, u32) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => (0, 0, 0),
    }
}

/// How long `/readyz` waits for the database: a load balancer polling it
/// must learn quickly that this replica cannot serve, not after the pool's
/// own wait.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(READY_WITHIN, db::ping(&state.db)).await {
        Ok(true) => "ready".into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database did not answer within 1 s",
        )
            .into_response(),
    }
}
