use crate::on_both_backends;

on_both_backends! {
    async fn health_and_readiness_answer_ok_when_the_database_is_up(app) {
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        assert_eq!(ready.text().await.unwrap(), "ready");
    }

    async fn graphiql_is_served_at_the_root(app) {
        let page = app.client.get(app.url("/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.to_lowercase().contains("graphiql"));
        assert!(!html.contains("://"), "the page loads nothing from elsewhere: {html}");
        // Every script and stylesheet the page names is served, from here.
        let assets: Vec<&str> = html
            .split(['"', '\''])
            .filter(|part| part.starts_with("/graphiql/"))
            .collect();
        assert_eq!(assets.len(), 5, "{html}");
        for asset in assets {
            let response = app.client.get(app.url(asset)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{asset}");
            assert!(response.headers()["cache-control"].to_str().unwrap().contains("immutable"));
            assert!(!response.bytes().await.unwrap().is_empty(), "{asset}");
        }
    }

    async fn readiness_fails_once_the_database_is_gone(app) {
        app.db.clone().close().await.unwrap();
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stops_on_its_shutdown_signal_and_tells_background_tasks() {
    use std::time::Duration;

    use stockroute::{config::Config, startup::Application};

    use crate::helpers::{Backend, TestDatabase};

    let database = TestDatabase::new(Backend::Sqlite);
    let app = Application::build(Config::for_database(database.url.clone()))
        .await
        .unwrap();
    let addr = app.local_addr();
    let mut background = app.shutdown().subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops promptly")
        .unwrap()
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(1),
        background.wait_for(|stopping| *stopping),
    )
    .await
    .expect("background tasks are told")
    .unwrap();
    assert!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err()
    );
}

/// The real binary on a SQLite file in `dir`, with `env`, logging requests
/// to a pipe: the process and its log lines.
fn logging_server(
    dir: &tempfile::TempDir,
    env: &[(&str, &str)],
) -> (
    tokio::process::Child,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) {
    use tokio::io::AsyncBufReadExt;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("logs.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockroute"))
        .args(["serve", "--addr", "127.0.0.1:0", "--demo", "false"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "info,stockroute::http=debug")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let log = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    (child, log)
}

/// The real binary, for what it logs: a request id from `x-request-id` (or a
/// new one) comes back in the response and is named by the request's log
/// lines, which are plain text when not written to a terminal; at
/// `stockroute::http=debug` a request's start and end are lines of their
/// own, the end with its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_has_an_id_in_its_response_and_its_log_lines() {
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let (_child, mut log) = logging_server(&dir, &[]);
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(20), log.next_line())
            .await
            .expect("a log line in time")
            .unwrap()
            .expect("the server is still logging")
    };
    let addr = loop {
        let line = next_line().await;
        assert!(
            !line.contains('\u{1b}'),
            "no colour codes in a pipe: {line:?}"
        );
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/graphql");
    let body = serde_json::json!({ "query": "{ viewer { role } }" });
    let given = client
        .post(&url)
        .header("x-request-id", "checkout-7f3a")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "checkout-7f3a");
    let mut started = false;
    loop {
        let line = next_line().await;
        if !line.contains(r#"request{id="checkout-7f3a" method=POST path="/graphql"}"#) {
            continue;
        }
        if line.contains("started processing request") {
            started = true;
        } else if line.contains("finished processing request") {
            assert!(started, "the start is logged before the end");
            assert!(line.contains("status=200"), "{line}");
            assert!(line.contains("latency_ms="), "{line}");
            break;
        }
    }
    let made = client.post(&url).json(&body).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a new UUID: {id}");
}

/// `STOCKROUTE_LOG_FORMAT=json`: one JSON object per line, each line of a
/// request carrying the request's id, for log shippers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_the_request_id() {
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let (_child, mut log) = logging_server(&dir, &[("STOCKROUTE_LOG_FORMAT", "json")]);
    let mut next = async || -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(20), log.next_line())
            .await
            .expect("a log line in time")
            .unwrap()
            .expect("the server is still logging");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };
    let addr = loop {
        let line = next().await;
        assert!(
            line["level"].is_string() && line["timestamp"].is_string(),
            "{line}"
        );
        if let Some(rest) = line["fields"]["message"]
            .as_str()
            .and_then(|m| m.split("listening on http://").nth(1))
        {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .header("x-request-id", "json-42")
        .json(&serde_json::json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    loop {
        let line = next().await;
        if line["span"]["id"] == "json-42" {
            assert_eq!(line["span"]["name"], "request", "{line}");
            break;
        }
    }
}
