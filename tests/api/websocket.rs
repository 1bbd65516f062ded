use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stockroute::auth::KeyRole;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue};

use crate::{helpers::TestApp, on_both_backends};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a websocket at /graphql asking for this subprotocol.
async fn open(app: &TestApp, protocol: &'static str) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

/// The next text message, parsed.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        if let Message::Text(text) = socket.next().await.expect("a message").expect("a frame") {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Opens a `graphql-transport-ws` connection, sends `connection_init` with
/// this payload, and returns the server's first answer: the ack's type, or
/// the close frame's reason.
async fn connection_init(app: &TestApp, payload: Value) -> Result<String, String> {
    let mut socket = open(app, "graphql-transport-ws")
        .await
        .expect("the upgrade succeeds");
    let init = json!({ "type": "connection_init", "payload": payload }).to_string();
    socket.send(Message::text(init)).await.unwrap();
    loop {
        match socket.next().await.expect("an answer").expect("a frame") {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                return Ok(message["type"].as_str().unwrap().to_owned());
            }
            Message::Close(frame) => {
                return Err(frame.map(|f| f.reason.to_string()).unwrap_or_default());
            }
            _ => continue,
        }
    }
}

on_both_backends! {
    async fn a_websocket_with_a_valid_key_or_none_is_acknowledged(app) {
        let key = app.create_key(KeyRole::Admin, "live-dashboard").await;
        let with_key = connection_init(&app, json!({ "Authorization": format!("Bearer {key}") })).await;
        assert_eq!(with_key.as_deref(), Ok("connection_ack"));
        let lower_case = connection_init(&app, json!({ "authorization": format!("Bearer {key}") })).await;
        assert_eq!(lower_case.as_deref(), Ok("connection_ack"));
        let public = connection_init(&app, json!({})).await;
        assert_eq!(public.as_deref(), Ok("connection_ack"));
    }

    async fn a_websocket_with_an_unknown_or_revoked_key_is_closed(app) {
        let unknown = connection_init(&app, json!({ "Authorization": "Bearer sr_nope" })).await;
        assert!(unknown.as_ref().is_err_and(|reason| reason.contains("not known")), "{unknown:?}");

        let key = app.create_key(KeyRole::Checkout, "kiosk").await;
        stockroute::auth::revoke_key(&app.db, "kiosk").await.unwrap();
        let revoked = connection_init(&app, json!({ "Authorization": format!("Bearer {key}") })).await;
        assert!(revoked.as_ref().is_err_and(|reason| reason.contains("revoked")), "{revoked:?}");
    }

    async fn the_legacy_graphql_ws_protocol_is_spoken_too(app) {
        let mut socket = open(&app, "graphql-ws").await.expect("the upgrade succeeds");
        socket.send(Message::text(json!({ "type": "connection_init", "payload": {} }).to_string())).await.unwrap();
        assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
        let start = json!({ "id": "7", "type": "start", "payload": {
            "query": "subscription { availabilityChanged(skus: [\"DROP-SNEAKER-LTD\"]) { sku available } }"
        }});
        socket.send(Message::text(start.to_string())).await.unwrap();
        let first = next_json(&mut socket).await;
        assert_eq!(first["type"], "data", "{first}");
        assert_eq!(first["id"], "7");
        assert_eq!(first["payload"]["data"]["availabilityChanged"], json!({ "sku": "DROP-SNEAKER-LTD", "available": 100 }));
    }

    async fn a_websocket_without_a_graphql_subprotocol_is_refused(app) {
        let refused = open(&app, "chat").await;
        match refused {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
            other => panic!("expected a 400, got {:?}", other.map(|_| "an open socket")),
        }
    }
}
