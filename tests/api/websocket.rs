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
/// this payload, and returns the socket once acknowledged, or the close
/// frame's code and reason.
async fn initialised(app: &TestApp, payload: Value) -> Result<Socket, (u16, String)> {
    let mut socket = open(app, "graphql-transport-ws")
        .await
        .expect("the upgrade succeeds");
    let init = json!({ "type": "connection_init", "payload": payload }).to_string();
    socket.send(Message::text(init)).await.unwrap();
    loop {
        match socket.next().await.expect("an answer").expect("a frame") {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(message["type"], "connection_ack", "{message}");
                return Ok(socket);
            }
            Message::Close(frame) => {
                let frame = frame.expect("a close frame with a code");
                return Err((frame.code.into(), frame.reason.to_string()));
            }
            _ => continue,
        }
    }
}

/// The first answer to `connection_init`: the ack, or the close frame.
async fn connection_init(app: &TestApp, payload: Value) -> Result<&'static str, (u16, String)> {
    initialised(app, payload).await.map(|_| "connection_ack")
}

/// Runs one operation over an acknowledged socket: its `next` payload, or
/// its `error` payload as `{"errors": ...}`.
async fn run(socket: &mut Socket, query: &str) -> Value {
    serde_json::from_str(&run_as_text(socket, query).await).unwrap()
}

/// [`run`], as the text the server sent (whose key order serde_json's
/// `Value` would not keep).
async fn run_as_text(socket: &mut Socket, query: &str) -> String {
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    loop {
        let Message::Text(text) = socket.next().await.expect("a message").expect("a frame") else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        match message["type"].as_str() {
            Some("next") => {
                let start = text.find("\"payload\":").expect("a payload") + "\"payload\":".len();
                let end = text.rfind('}').expect("the message's end");
                return text[start..end].to_owned();
            }
            Some("error") => return json!({ "errors": message["payload"] }).to_string(),
            _ => continue,
        }
    }
}

on_both_backends! {
    async fn a_websocket_with_a_valid_key_or_none_is_acknowledged(app) {
        let key = app.create_key(KeyRole::Admin, "live-dashboard").await;
        let with_key = connection_init(&app, json!({ "Authorization": format!("Bearer {key}") })).await;
        assert_eq!(with_key, Ok("connection_ack"));
        let lower_case = connection_init(&app, json!({ "authorization": format!("Bearer {key}") })).await;
        assert_eq!(lower_case, Ok("connection_ack"));
        let public = connection_init(&app, json!({})).await;
        assert_eq!(public, Ok("connection_ack"));
    }

    async fn a_key_in_connection_params_headers_counts_in_any_case(app) {
        let key = app.create_key(KeyRole::Admin, "apollo").await;
        for name in ["Authorization", "authorization"] {
            let mut socket = initialised(&app, json!({ "headers": { name: format!("Bearer {key}") } }))
                .await
                .expect("acknowledged");
            let viewer = run(&mut socket, "{ viewer { role keyName } }").await;
            assert_eq!(viewer["data"]["viewer"], json!({ "role": "ADMIN", "keyName": "apollo" }), "{viewer}");
        }
        let refused = connection_init(&app, json!({ "headers": { "Authorization": "Bearer sr_nope" } })).await;
        assert!(matches!(&refused, Err((4403, _))), "{refused:?}");
    }

    async fn a_websocket_with_an_unknown_or_revoked_key_is_closed_forbidden(app) {
        let unknown = connection_init(&app, json!({ "Authorization": "Bearer sr_nope" })).await;
        assert!(
            unknown.as_ref().is_err_and(|(code, reason)| *code == 4403 && reason.contains("not known")),
            "{unknown:?}"
        );

        let key = app.create_key(KeyRole::Checkout, "kiosk").await;
        stockroute::auth::revoke_key(&app.db, "kiosk").await.unwrap();
        let revoked = connection_init(&app, json!({ "Authorization": format!("Bearer {key}") })).await;
        assert!(
            revoked.as_ref().is_err_and(|(code, reason)| *code == 4403 && reason.contains("revoked")),
            "{revoked:?}"
        );
    }

    async fn operations_over_the_websocket_get_coded_errors_and_query_order(app) {
        let key = app.create_key(KeyRole::Checkout, "till").await;
        let mut socket = initialised(&app, json!({ "Authorization": format!("Bearer {key}") }))
            .await
            .expect("acknowledged");
        let requests = app.metric("stockroute_graphql_requests_total").await;
        let with_errors = app.metric("stockroute_graphql_requests_with_errors_total").await;
        let syntax = run(&mut socket, "{ viewer { role ").await;
        assert_eq!(syntax["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{syntax}");
        assert!(!syntax["errors"][0]["message"].as_str().unwrap().contains('\n'), "{syntax}");
        let unknown = run(&mut socket, "{ nonsense }").await;
        assert_eq!(unknown["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{unknown}");
        let forbidden = run(&mut socket, "{ movements(first: 1) { edges { cursor } } }").await;
        assert_eq!(forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN", "{forbidden}");
        let ordered = run_as_text(&mut socket, "{ z: viewer { role } a: product(sku: \"TENT-2P-GRN\") { sku } }").await;
        assert!(ordered.starts_with(r#"{"data":{"z":{"role":"CHECKOUT"},"a":{"sku":"TENT-2P-GRN"}}"#), "{ordered}");
        // Counted like any POST: four operations, three of them with errors
        // (the two /metrics reads in between are not GraphQL).
        assert_eq!(app.metric("stockroute_graphql_requests_total").await, requests + 4);
        assert_eq!(app.metric("stockroute_graphql_requests_with_errors_total").await, with_errors + 3);
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
