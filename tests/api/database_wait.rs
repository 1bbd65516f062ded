//! Starting before the database: the server binds its port, answers probes
//! (live, not ready) while the database cannot be reached, and becomes
//! ready by itself once it can. In containers the app waits for its
//! database instead of relying on restarts.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::{TcpListener, TcpStream},
    process::Command,
    time::{Instant, sleep},
};

use crate::helpers::{Backend, TestDatabase};

/// A port nothing listens on now.
async fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    probe.local_addr().unwrap().port()
}

/// Forwards every connection to `port` on to the real database server.
async fn proxy(listener: TcpListener, to: SocketAddr) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            if let Ok(mut server) = TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}

async fn status(client: &reqwest::Client, url: &str) -> Option<u16> {
    let answer = tokio::time::timeout(Duration::from_secs(2), client.get(url).send()).await;
    answer.ok()?.ok().map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_before_its_database_becomes_ready_when_the_database_appears() {
    let database = TestDatabase::new(Backend::Postgres);
    let real: url::Url = database.url.as_str().parse().unwrap();
    let real_server: SocketAddr = format!(
        "{}:{}",
        real.host_str().unwrap(),
        real.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let db_port = free_port().await;
    let mut through_proxy = real.clone();
    through_proxy.set_port(Some(db_port)).unwrap();
    let http_port = free_port().await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_stockroute"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{http_port}"),
            "--demo",
            "true",
        ])
        .env("DATABASE_URL", through_proxy.as_str())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary runs");
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut waiting_tx = Some(waiting_tx);
        while let Ok(Some(line)) = log.next_line().await {
            if line.contains("waiting for the database")
                && let Some(tx) = waiting_tx.take()
            {
                let _ = tx.send(line);
            }
        }
    });
    let said = tokio::time::timeout(Duration::from_secs(30), waiting_rx)
        .await
        .expect("it says it waits")
        .unwrap();
    assert!(said.contains("cannot be reached"), "{said}");
    assert!(
        !said.contains(real.password().unwrap_or("\u{0}")),
        "no password in the log"
    );

    // Live, not ready, while the database cannot be reached.
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{http_port}");
    assert_eq!(status(&client, &format!("{base}/healthz")).await, Some(200));
    assert_eq!(status(&client, &format!("{base}/readyz")).await, Some(503));
    let graphql = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(graphql.status(), 503);
    assert_eq!(graphql.headers()["retry-after"], "1");

    // The database appears: the server gets ready by itself.
    let listener = TcpListener::bind(("127.0.0.1", db_port))
        .await
        .expect("the database port is free");
    tokio::spawn(proxy(listener, real_server));
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&client, &format!("{base}/readyz")).await != Some(200) {
        assert!(
            Instant::now() < deadline,
            "ready within 30 s of the database appearing"
        );
        sleep(Duration::from_millis(100)).await;
    }
    let answer: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({ "query": "{ availability(skus: [\"DROP-SNEAKER-LTD\"]) { available } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["data"]["availability"][0]["available"], 100,
        "migrated and seeded: {answer}"
    );
    child.kill().await.unwrap();
}
