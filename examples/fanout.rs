//! Fan-out load tool for live stock events (`benches/fanout.sh` runs it).
//!
//! Opens `--subscribers` websocket subscriptions to `stockLevelChanged` for
//! one SKU on a running server, then drives stock changes of that SKU
//! through `receiveStock` from `--writers` concurrent writers, at `--rate`
//! changes per second in all (0: as fast as they go), for `--seconds`. It
//! reports the writers' throughput and latency, and the fan-out latency
//! from each movement's timestamp (taken in the writer's transaction) to
//! its receipt by each subscriber, and checks that every subscriber got
//! every event.
//!
//! cargo run --release --example fanout -- --addr 127.0.0.1:8080 --key <admin key> \
//!     --subscribers 1000 --writers 4 --rate 20 --seconds 20

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::{Mutex, Semaphore, watch};
use tokio_tungstenite::tungstenite::{
    Message, client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig,
};

const SKU: &str = "DROP-SNEAKER-LTD";
const WAREHOUSE: &str = "BER1";

struct Args {
    addr: String,
    key: String,
    subscribers: usize,
    writers: usize,
    rate: f64,
    seconds: u64,
    /// Gives each subscription an execution of its own instead of sharing
    /// one (for comparison): the server shares only directive-free
    /// documents, and this adds `@include(if: true)`.
    unshared: bool,
}

fn args() -> Args {
    let mut args = Args {
        addr: "127.0.0.1:8080".into(),
        key: String::new(),
        subscribers: 1000,
        writers: 4,
        rate: 20.0,
        seconds: 20,
        unshared: false,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        if flag == "--unshared" {
            args.unshared = true;
            continue;
        }
        let value = raw.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => args.addr = value,
            "--key" => args.key = value,
            "--subscribers" => args.subscribers = value.parse().expect("a count"),
            "--writers" => args.writers = value.parse().expect("a count"),
            "--rate" => args.rate = value.parse().expect("changes per second"),
            "--seconds" => args.seconds = value.parse().expect("seconds"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.key.is_empty(), "--key <admin key> is required");
    args
}

/// Receipt latencies in microseconds, from all subscribers.
#[derive(Default)]
struct Receipts {
    latencies: Mutex<Vec<u32>>,
    messages: AtomicU64,
}

async fn subscriber(
    args: Arc<Args>,
    receipts: Arc<Receipts>,
    ready: Arc<AtomicU64>,
    mut done: watch::Receiver<bool>,
    handshakes: Arc<Semaphore>,
) {
    let permit = handshakes.acquire().await.expect("open");
    let mut request = format!("ws://{}/graphql", args.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    // A small read buffer: tungstenite zero-fills all of it before every
    // read, which at the default 128 KiB would make this tool, not the
    // server, the bottleneck.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), false)
            .await
            .expect("the websocket opens");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", args.key) } });
    socket.send(Message::text(init.to_string())).await.unwrap();
    while let Some(Ok(frame)) = socket.next().await {
        if let Message::Text(text) = frame
            && text.contains("connection_ack")
        {
            break;
        }
    }
    let directive = if args.unshared {
        "@include(if: true)"
    } else {
        ""
    };
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": format!("subscription {{ stockLevelChanged(skus: [\"{SKU}\"]) {directive} {{ movement {{ id createdAt }} }} }}")
    }});
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    drop(permit);
    ready.fetch_add(1, Ordering::Relaxed);
    let mut mine = Vec::new();
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            // Waits without a timer: 10,000 polling sleeps would cost the
            // tool more CPU than reading the events.
            _ = done.wait_for(|done| *done) => break,
        };
        let Some(Ok(Message::Text(text))) = frame else {
            continue;
        };
        let received = Utc::now();
        // Only the timestamp is needed; a full JSON parse of every message
        // would take CPU from the server under test.
        if let Some(at) = text.split("\"createdAt\":\"").nth(1)
            && let Some(at) = at.split('"').next()
            && let Ok(at) = DateTime::parse_from_rfc3339(at)
        {
            let micros = (received - at.with_timezone(&Utc))
                .num_microseconds()
                .unwrap_or(0);
            mine.push(micros.clamp(0, u32::MAX as i64) as u32);
        }
    }
    receipts
        .messages
        .fetch_add(mine.len() as u64, Ordering::Relaxed);
    receipts.latencies.lock().await.extend(mine);
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() {
    let args = Arc::new(args());
    let receipts = Arc::new(Receipts::default());
    let ready = Arc::new(AtomicU64::new(0));
    let (finish, done) = watch::channel(false);
    let handshakes = Arc::new(Semaphore::new(256));
    let opening = Instant::now();
    let subscribers: Vec<_> = (0..args.subscribers)
        .map(|_| {
            tokio::spawn(subscriber(
                args.clone(),
                receipts.clone(),
                ready.clone(),
                done.clone(),
                handshakes.clone(),
            ))
        })
        .collect();
    while ready.load(Ordering::Relaxed) < args.subscribers as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the last subscriptions reach the server before the first write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "{} subscribers ready in {:.1?}",
        args.subscribers,
        opening.elapsed()
    );

    let client = reqwest::Client::new();
    let body = json!({
        "query": "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }",
        "variables": { "i": { "sku": SKU, "warehouseCode": WAREHOUSE, "quantity": 1 } }
    });
    let written = Arc::new(AtomicU64::new(0));
    let writer_latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let interval =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.writers as f64 / args.rate));
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let (client, body, written, latencies, args) = (
                client.clone(),
                body.clone(),
                written.clone(),
                writer_latencies.clone(),
                args.clone(),
            );
            tokio::spawn(async move {
                let mut next = Instant::now()
                    + interval.map_or(Duration::ZERO, |i| {
                        i.mul_f64(w as f64 / args.writers as f64)
                    });
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    if let Some(interval) = interval {
                        tokio::time::sleep_until(next.into()).await;
                        next += interval;
                    }
                    let sent = Instant::now();
                    let response = client
                        .post(format!("http://{}/graphql", args.addr))
                        .bearer_auth(&args.key)
                        .json(&body)
                        .send()
                        .await
                        .expect("the server answers");
                    let text = response.text().await.unwrap_or_default();
                    assert!(!text.contains("\"errors\""), "a write failed: {text}");
                    mine.push(sent.elapsed().as_micros() as u32);
                    written.fetch_add(1, Ordering::Relaxed);
                }
                latencies.lock().await.extend(mine);
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Give the last events time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    finish.send_replace(true);
    for subscriber in subscribers {
        subscriber.await.unwrap();
    }

    let written = written.load(Ordering::Relaxed);
    let mut writes = writer_latencies.lock().await.clone();
    writes.sort_unstable();
    let mut fanout = receipts.latencies.lock().await.clone();
    fanout.sort_unstable();
    let expected = written * args.subscribers as u64;
    let received = receipts.messages.load(Ordering::Relaxed);
    println!(
        "subscribers={} writers={} rate={} seconds={:.1}",
        args.subscribers, args.writers, args.rate, elapsed
    );
    println!(
        "writes: {written} ({:.1}/s), latency p50 {:.1} ms p99 {:.1} ms",
        written as f64 / elapsed,
        percentile(&writes, 0.5),
        percentile(&writes, 0.99)
    );
    if args.subscribers > 0 {
        println!(
            "fan-out: {received} of {expected} events received; latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
            percentile(&fanout, 0.5),
            percentile(&fanout, 0.99),
            percentile(&fanout, 1.0)
        );
    }
}
