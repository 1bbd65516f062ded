//! One `stockLevelChanged` subscriber that measures how far the feed lags
//! behind the ledger (`benches/flash.sh` runs it beside the checkouts).
//!
//! It subscribes for one SKU with a selection that includes the stock
//! level's product and warehouse, reads until no event has come for
//! `--idle-seconds`, and prints one line: events received, events/s while
//! they came, lag (receipt minus the movement's timestamp) p50/p99/max,
//! whether the ids came strictly increasing, and the first and last id.
//!
//! cargo run --release --example feed_lag -- --addr 127.0.0.1:8080 --key <admin key> \
//!     --sku DROP-SNEAKER-LTD --idle-seconds 3

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

fn flag(name: &str, default: &str) -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == name {
            return args
                .next()
                .unwrap_or_else(|| panic!("{name} needs a value"));
        }
    }
    default.to_owned()
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let addr = flag("--addr", "127.0.0.1:8080");
    let key = flag("--key", "");
    let sku = flag("--sku", "DROP-SNEAKER-LTD");
    let idle = Duration::from_secs_f64(flag("--idle-seconds", "3").parse().expect("seconds"));
    let most = Duration::from_secs_f64(flag("--max-seconds", "600").parse().expect("seconds"));

    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the websocket opens");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {key}") } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    while let Some(Ok(frame)) = socket.next().await {
        if let Message::Text(text) = frame
            && text.contains("connection_ack")
        {
            break;
        }
    }
    let query = format!(
        "subscription {{ stockLevelChanged(skus: [\"{sku}\"]) {{
            movement {{ id createdAt }}
            stockLevel {{ quantity reserved product {{ sku }} warehouse {{ code }} }}
        }} }}"
    );
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    println!("subscribed");

    let started = Instant::now();
    let (mut first, mut last) = (None::<i64>, 0_i64);
    let mut in_order = true;
    let mut lags = Vec::new();
    let mut first_at = None::<Instant>;
    let mut last_at = Instant::now();
    loop {
        let wait = if first_at.is_some() { idle } else { most };
        let frame = match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(_) | Err(_) => break,
        };
        if started.elapsed() > most {
            break;
        }
        let Message::Text(text) = frame else { continue };
        let received = Utc::now();
        let message: Value = serde_json::from_str(&text).expect("JSON");
        if message["type"] != "next" {
            eprintln!("unexpected message: {text}");
            continue;
        }
        let event = &message["payload"]["data"]["stockLevelChanged"];
        if event.is_null() {
            // A server that stops ends the subscription with a coded error
            // saying where to resume: the feed ends there, and what came
            // before it is still reported.
            eprintln!("the feed ended: {}", message["payload"]["errors"]);
            break;
        }
        let id: i64 = event["movement"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("a movement id");
        assert_eq!(event["stockLevel"]["product"]["sku"], sku.as_str());
        let at: DateTime<Utc> = event["movement"]["createdAt"]
            .as_str()
            .and_then(|at| at.parse().ok())
            .expect("a timestamp");
        lags.push((received - at).num_microseconds().unwrap_or(0).max(0));
        in_order &= id > last;
        last = id;
        first.get_or_insert(id);
        first_at.get_or_insert_with(Instant::now);
        last_at = Instant::now();
    }
    let seconds = first_at.map_or(0.0, |at| (last_at - at).as_secs_f64());
    let count = lags.len();
    lags.sort_unstable();
    println!(
        "feed: {count} events, {:.0} events/s, lag p50 {:.1} ms p99 {:.1} ms max {:.1} ms, in id order: {in_order}, ids {}..{last}",
        count as f64 / seconds.max(1e-9),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        percentile(&lags, 1.0),
        first.unwrap_or(0),
    );
}
