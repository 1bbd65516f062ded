//! Slow, idle and too many clients: each connection must send its headers
//! and body in time and may sit idle only so long; at the connection cap an
//! idle one makes room for a newcomer (only when all are busy is it refused
//! at once), so neither slowloris-style clients nor a low descriptor limit
//! can take the service down.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use stockroute::config::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout},
};

use crate::{helpers::TestApp, on_both_backends};

/// Opens a connection and sends `prefix` of a request, then nothing more.
async fn stalled(app: &TestApp, prefix: &'static str) -> TcpStream {
    let mut stream = TcpStream::connect(app.addr).await.expect("connects");
    if !prefix.is_empty() {
        stream.write_all(prefix.as_bytes()).await.expect("sends");
    }
    stream
}

/// Reads until the server closes the connection; what it said, and
/// whether it closed within `within`.
async fn closed_within(mut stream: TcpStream, within: Duration) -> (bool, String) {
    let mut said = Vec::new();
    let read = timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => said.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (read.is_ok(), String::from_utf8_lossy(&said).into_owned())
}

async fn typename(app: &TestApp) -> bool {
    let response = app.graphql("{ __typename }", json!({})).await;
    response["data"]["__typename"] == "Query"
}

const HALF_HEADERS: &str =
    "POST /graphql HTTP/1.1\r\nhost: stockroute\r\ncontent-type: application/json\r\n";
const HALF_BODY: &str = "POST /graphql HTTP/1.1\r\nhost: stockroute\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"query\":";

on_both_backends! {
    configure: |config: &mut Config| {
        config.connections.header_timeout = Duration::from_secs(1);
        config.connections.body_timeout = Duration::from_secs(1);
        config.connections.max_connections = Some(4_000);
    };

    async fn idle_and_half_sent_connections_are_closed_by_their_timeouts(app) {
        // 2,000 clients that never finish: silent, half a header, half a body.
        let mut stalls = Vec::new();
        for (count, prefix) in [(800, ""), (600, HALF_HEADERS), (600, HALF_BODY)] {
            for _ in 0..count {
                stalls.push((prefix, stalled(&app, prefix).await));
            }
        }
        // Meanwhile everyone else is served.
        let served = join_all((0..20).map(|_| typename(&app))).await;
        assert!(served.iter().all(|ok| *ok), "normal requests are served during the flood");

        let started = Instant::now();
        let closed = join_all(stalls.into_iter().map(|(prefix, stream)| async move {
            (prefix, closed_within(stream, Duration::from_secs(10)).await)
        }))
        .await;
        for (prefix, (closed, said)) in &closed {
            assert!(closed, "a connection that sent {prefix:?} was left open");
            if *prefix == HALF_BODY {
                assert!(said.is_empty() || said.starts_with("HTTP/1.1 4"), "{said}");
            }
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        // A kept-alive connection that goes quiet is closed too.
        let mut idle = TcpStream::connect(app.addr).await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: stockroute\r\n\r\n").await.unwrap();
        let (closed, said) = closed_within(idle, Duration::from_secs(5)).await;
        assert!(said.starts_with("HTTP/1.1 200"), "{said}");
        assert!(closed, "an idle keep-alive connection is closed after the header timeout");
        assert!(typename(&app).await);
    }
}

mod capped {
    use super::*;

    on_both_backends! {
        configure: |config: &mut Config| {
            config.connections.header_timeout = Duration::from_secs(1);
            config.connections.max_connections = Some(50);
        };

        async fn at_the_connection_cap_an_idle_connection_makes_room_for_a_new_one(app) {
            let held: Vec<TcpStream> = join_all((0..50).map(|_| stalled(&app, ""))).await;
            // Give the server a moment to take them all.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let served = timeout(Duration::from_secs(5), app.client.get(app.url("/readyz")).send())
                .await
                .expect("an answer, not a hang")
                .expect("an HTTP answer");
            assert_eq!(served.status(), 200, "served: the oldest idle connection made room");
            let closed = join_all(held.into_iter().map(|s| closed_within(s, Duration::from_millis(300)))).await;
            let made_room = closed.iter().filter(|(closed, _)| *closed).count();
            assert!(made_room >= 1, "an idle connection was closed to make room");
            assert!(typename(&app).await);
        }
    }
}

mod descriptors {
    use super::*;

    on_both_backends! {
        async fn under_a_low_descriptor_limit_the_binary_serves_while_idle_clients_pile_up(app) {
            // The real binary under `ulimit -n 1024`: its own cap (the limit
            // less 128) keeps descriptors for the database, and idle
            // connections make room for new ones.
            let server = app
                .replica_process_with(&["--header-timeout", "2s"], Some(1024))
                .await;
            let mut held = Vec::new();
            for _ in 0..1_100 {
                held.push(TcpStream::connect(server.addr).await.expect("connects"));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let answer = timeout(Duration::from_secs(5), server.client.get(server.url("/readyz")).send())
                .await
                .expect("an answer, not a hang")
                .expect("an HTTP answer");
            assert_eq!(answer.status(), 200, "served while 1,100 idle clients press on the cap");
            assert!(typename(&server).await, "and queries are answered");
            let closed = join_all(held.into_iter().map(|s| closed_within(s, Duration::from_secs(10)))).await;
            assert!(closed.iter().all(|(closed, _)| *closed), "every connection was closed");
            let ready = server.client.get(server.url("/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), 200, "ready again once the idle clients are gone");
            assert!(typename(&server).await);
        }
    }
}
