//! Subscriptions (and any other operation) over `graphql-transport-ws` and
//! the legacy `graphql-ws`, on the `/graphql` path.
//!
//! The key comes in the `connection_init` payload, as `Authorization` at its
//! top level or inside `headers` (what many clients send), in any case:
//! `{"Authorization": "Bearer <key>"}` or `{"headers": {"authorization":
//! "Bearer <key>"}}`. A refused key closes the socket with 4403 Forbidden,
//! as graphql-transport-ws says; a server that stops closes it with 1001
//! Going Away after its subscriptions sent their coded error.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header::SEC_WEBSOCKET_PROTOCOL},
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt, future, stream};

use super::AppState;
use crate::graphql::{ApiError, feeds::ClientAddress};

/// The websocket read buffer. tungstenite zero-fills its whole read buffer
/// before every read attempt, and a subscription socket is polled for
/// reading after every message it sends. Clients send only small messages,
/// so a small buffer (it grows for a larger frame) saves zeroing 128 KiB per
/// delivered event per subscriber: measured 40% of the server's CPU with
/// 2,000 subscribers.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// How long a websocket stays open after the server starts stopping, for
/// its subscriptions' last messages to go out.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// graphql-transport-ws: the server refuses the connection.
const FORBIDDEN: u16 = 4403;
/// RFC 6455: the server is going away.
const GOING_AWAY: u16 = 1001;

pub fn upgrade(
    state: AppState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = subprotocol(headers) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(socket, state, protocol, peer))
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

/// The `Authorization` value of a `connection_init` payload.
fn authorization(payload: &serde_json::Value) -> Option<&str> {
    fn find(object: &serde_json::Value) -> Option<&str> {
        object
            .as_object()?
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))?
            .1
            .as_str()
    }
    find(payload).or_else(|| find(payload.get("headers")?))
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: WebSocketProtocols,
    peer: Option<IpAddr>,
) {
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
    // async-graphql closes with 1002 both for a refused init and for a
    // protocol error; the flag tells them apart.
    let refused = Arc::new(AtomicBool::new(false));
    let refusing = refused.clone();
    let messages =
        async_graphql::http::WebSocket::new(state.subscriptions.clone(), input, protocol)
            .on_connection_init(move |payload| async move {
                match keys.authenticate(authorization(&payload)).await {
                    Ok(caller) => {
                        let mut data = Data::default();
                        data.insert(caller);
                        if let Some(peer) = peer {
                            data.insert(ClientAddress(peer));
                        }
                        Ok(data)
                    }
                    Err(e) => {
                        refusing.store(true, Ordering::Release);
                        Err(async_graphql::Error::new(ApiError::from(e).to_string()))
                    }
                }
            })
            .map(move |message| match message {
                WsMessage::Text(text) => Message::Text(text.into()),
                WsMessage::Close(code, reason) => {
                    let code = if refused.load(Ordering::Acquire) {
                        FORBIDDEN
                    } else {
                        code
                    };
                    close(code, reason)
                }
            });
    // A websocket would hold a graceful shutdown open for ever. When the
    // server stops, subscriptions end with an error saying where to
    // resume; a moment later the socket closes with a close frame.
    let mut stopping = state.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let stopping = state.stopping.clone();
    let going_away = stream::once(async move { *stopping.borrow() }).filter_map(|stopped| {
        future::ready(stopped.then(|| {
            close(
                GOING_AWAY,
                "the server is stopping; reconnect and resume with `after`".into(),
            )
        }))
    });
    let outgoing = messages.take_until(stopped).chain(going_away).map(Ok);
    // `forward` flushes only when no further message is ready: a subscriber
    // whose events queued up while the server was busy gets them in one
    // write, not one system call each, so delivery catches up under load.
    // (async-graphql-axum's serve loop flushes after every message; with
    // 10,000 subscribers that made p50 latency 805 ms instead of 131.)
    let _ = outgoing.forward(sink).await;
}

fn close(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::authorization;
    use serde_json::json;

    #[test]
    fn the_key_is_found_at_the_top_or_in_headers_in_any_case() {
        assert_eq!(
            authorization(&json!({ "Authorization": "Bearer a" })),
            Some("Bearer a")
        );
        assert_eq!(
            authorization(&json!({ "authorization": "Bearer b" })),
            Some("Bearer b")
        );
        assert_eq!(
            authorization(&json!({ "headers": { "AUTHORIZATION": "Bearer c" } })),
            Some("Bearer c")
        );
        assert_eq!(authorization(&json!({ "headers": {} })), None);
        assert_eq!(authorization(&json!(null)), None);
    }
}
