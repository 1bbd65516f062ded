//! The HTTP surface: `/graphql` (GraphQL over HTTP by POST and GET, and
//! subscriptions over a websocket on the same path), GraphiQL at `/` with
//! its assets under `/graphiql/`, the live dashboard at `/dashboard`, `/healthz` (the process is up), `/readyz`
//! (the database answers) and `/metrics` (Prometheus text format).

mod dashboard;
mod embedded;
mod graphiql;
mod graphql_over_http;
mod probes;
mod request_id;
pub mod serve;
mod websocket;

use std::{ops::Deref, sync::Arc};

use axum::{Router, extract::DefaultBodyLimit, routing::get};
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tower::ServiceBuilder;

use crate::{
    auth::KeyChecks,
    graphql::{feeds::SubscriptionExecutor, pipeline::Pipeline},
    inventory::{availability::AvailabilityCache, reservations::ReservationQueue},
    metrics::Metrics,
};

/// What every handler shares, behind one reference count: axum hands each
/// request its own clone of the state, and cloning the parts one by one
/// (each an `Arc` or a few) showed in the flash-sale profile.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub db: DatabaseConnection,
    /// Runs every GraphQL operation, whatever carried it.
    pub pipeline: Pipeline,
    pub metrics: Metrics,
    /// Runs what comes over websockets; shares renderings of subscriptions.
    pub subscriptions: SubscriptionExecutor,
    /// Counted at `/metrics`.
    pub availability: AvailabilityCache,
    pub reservations: ReservationQueue,
    /// Resolves each request's API key.
    pub keys: KeyChecks,
    /// Turns true when the server stops: websockets close then.
    pub stopping: watch::Receiver<bool>,
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let routes = Router::new()
        .route("/", get(graphiql::page))
        .merge(graphiql::assets())
        .merge(dashboard::routes())
        .route(
            "/graphql",
            get(graphql_over_http::get)
                .post(graphql_over_http::post)
                .fallback(graphql_over_http::other_method),
        )
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .with_state(state);
    // The layers wrap the router once, not each route: `Router::layer`
    // boxes every route anew for each layer, and a request then clones
    // every box of its route, one inside the other (~20 allocations a
    // request in the flash-sale profile).
    let layered = ServiceBuilder::new()
        .layer(request_id::RequestIdLayer)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .service(routes);
    Router::new().fallback_service(layered)
}
