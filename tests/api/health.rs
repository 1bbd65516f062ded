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
