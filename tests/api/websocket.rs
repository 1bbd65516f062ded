use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stockroute::auth::KeyRole;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::{helpers::TestApp, on_both_backends};

/// Opens a `graphql-transport-ws` connection, sends `connection_init` with
/// this payload, and returns the server's first answer: the ack's type, or
/// the close frame's reason.
async fn connection_init(app: &TestApp, payload: Value) -> Result<String, String> {
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
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
}
