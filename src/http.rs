//! The HTTP surface: `/graphql` (POST, and websocket for subscriptions),
//! GraphiQL at `/`, `/healthz` (the process is up), `/readyz` (the
//! database answers) and `/metrics` (Prometheus text format).

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource, WebSocketProtocols, WsMessage},
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{
        HeaderMap, StatusCode,
        header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL},
    },
    response::{Html, IntoResponse, Response},
    routing::get,
};
use futures_util::{StreamExt, future};
use sea_orm::DatabaseConnection;
use std::time::Duration;
use tokio::sync::watch;

use crate::{
    auth::{self, Caller, KeyChecks},
    db,
    graphql::{
        ApiError, AppSchema,
        batching::{self, FetchQueue},
        documents::DocumentCache,
        error,
        feeds::SubscriptionExecutor,
        loaders::Loaders,
    },
    inventory::{availability::AvailabilityCache, reservations::ReservationQueue},
    metrics::{self, Metrics},
};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub metrics: Metrics,
    pub documents: DocumentCache,
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
    Router::new()
        .route("/", get(graphiql))
        .route("/graphql", get(graphql_websocket).post(graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("stockroute")
            .finish(),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<AppState>) -> Response {
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
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if db::ping(&state.db).await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// One GraphQL request per POST. The body is read through axum's size limit
/// (413 beyond it); a body that is not one GraphQL request is a 400 with a
/// coded GraphQL error. Batches are refused: one expensive request per
/// round trip is enough.
async fn graphql(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let message = if body.first() == Some(&b'[') {
                "batched requests are not supported: send one GraphQL request per POST".to_owned()
            } else {
                format!("the body is not a GraphQL request in JSON: {e}")
            };
            let response = error::error_response(ApiError::BadUserInput(message));
            return (StatusCode::BAD_REQUEST, Json(response)).into_response();
        }
    };
    let authorization = match headers.get(AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            let refused = ApiError::from(auth::AuthError::MalformedHeader);
            return Json(error::error_response(refused)).into_response();
        }
    };
    let caller = match state.keys.authenticate(authorization).await {
        Ok(caller) => caller,
        Err(e) => return Json(error::error_response(ApiError::from(e))).into_response(),
    };
    state.documents.prepare(&mut request);
    let queue = FetchQueue::default();
    let request =
        request
            .data(caller)
            .data(Loaders::for_request(&state.db, &state.availability, &queue));
    let response = batching::drive(state.schema.execute(request), queue).await;
    state.metrics.record_graphql(response.is_err());
    Json(error::ensure_codes(response)).into_response()
}

/// Subscriptions over `graphql-transport-ws` (and the legacy `graphql-ws`).
/// The key comes in the `connection_init` payload as `Authorization` (or
/// `authorization`): `{"Authorization": "Bearer <key>"}`.
async fn graphql_websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = subprotocol(&headers) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // tungstenite zero-fills its whole read buffer before every read
        // attempt, and a subscription socket is polled for reading after
        // every message it sends. Clients send only small messages, so a
        // small buffer (it grows for a larger frame) saves zeroing 128 KiB
        // per delivered event per subscriber: measured 40% of the server's
        // CPU with 2,000 subscribers.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve_websocket(socket, state, protocol))
}

/// The GraphQL protocol a websocket client asks for, the first one we speak.
fn subprotocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|protocol| protocol.trim().parse().ok())
}

async fn serve_websocket(socket: WebSocket, state: AppState, protocol: WebSocketProtocols) {
    let (sink, input) = socket.split();
    let input = input
        .take_while(|frame| future::ready(frame.is_ok()))
        .filter_map(|frame| {
            future::ready(match frame {
                Ok(frame @ (Message::Text(_) | Message::Binary(_))) => Some(frame.into_data()),
                _ => None,
            })
        });
    let keys = state.keys.clone();
    let messages =
        async_graphql::http::WebSocket::new(state.subscriptions.clone(), input, protocol)
            .on_connection_init(move |payload| async move {
                let authorization = payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
                    .and_then(|v| v.as_str());
                let caller: Caller = keys
                    .authenticate(authorization)
                    .await
                    .map_err(|e| async_graphql::Error::new(ApiError::from(e).to_string()))?;
                let mut data = Data::default();
                data.insert(caller);
                Ok(data)
            })
            .map(|message| {
                Ok(match message {
                    WsMessage::Text(text) => Message::Text(text.into()),
                    WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    })),
                })
            });
    // `forward` flushes only when no further message is ready: a subscriber
    // whose events queued up while the server was busy gets them in one
    // write, not one system call each, so delivery catches up under load.
    // (async-graphql-axum's serve loop flushes after every message; with
    // 10,000 subscribers that made p50 latency 805 ms instead of 131.)
    let serve = messages.forward(sink);
    // A websocket would hold a graceful shutdown open for ever. When the
    // server stops, subscriptions end with an error saying where to
    // resume; a moment later the socket closes.
    let mut stopping = state.stopping.clone();
    tokio::select! {
        _ = serve => {}
        _ = async {
            let _ = stopping.wait_for(|stopped| *stopped).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {}
    }
}

/// The websocket read buffer; see [`graphql_websocket`].
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// How long a websocket stays open after the server starts stopping, for
/// its subscriptions' last messages to go out.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);
