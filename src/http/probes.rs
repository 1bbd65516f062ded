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
    let mut text = state.metrics.render();
    let live = state.subscriptions.census();
    metrics::write_gauge(
        &mut text,
        "stockroute_live_feeds",
        "Subscription renderings shared by identical subscriptions.",
        live.feeds,
    );
    metrics::write_gauge(
        &mut text,
        "stockroute_live_feed_subscribers",
        "Subscriptions served by a shared rendering.",
        live.subscribers,
    );
    let cache = state.availability.census();
    metrics::write_counter(
        &mut text,
        "stockroute_availability_cache_hits_total",
        "Requested SKUs whose availability was answered from memory.",
        cache.hits,
    );
    metrics::write_counter(
        &mut text,
        "stockroute_availability_cache_misses_total",
        "Requested SKUs whose stock was read from the database.",
        cache.misses,
    );
    metrics::write_gauge(
        &mut text,
        "stockroute_availability_cache_entries",
        "SKUs whose stock is kept in memory.",
        cache.entries,
    );
    let queue = state.reservations.census();
    metrics::write_gauge(
        &mut text,
        "stockroute_reservations_waiting",
        "Reservations queued for the next batch.",
        queue.waiting,
    );
    metrics::write_counter(
        &mut text,
        "stockroute_reservation_batches_total",
        "Batches of reservations taken, each in one transaction.",
        queue.batches,
    );
    metrics::write_counter(
        &mut text,
        "stockroute_reservation_batch_requests_total",
        "Reservation requests taken in those batches.",
        queue.requests,
    );
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
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
