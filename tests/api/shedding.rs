//! Load shedding per client: a key that floods past its in-flight limit is
//! answered 503 at once for the excess, and another key is served as if
//! nothing happened. PostgreSQL only: the flood is held in flight by a row
//! lock from another connection.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};
use tokio::time::timeout;

use crate::{
    deadlines::stall,
    helpers::{Backend, TestApp},
    invariants::assert_books_balance,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_key_is_shed_at_once_while_another_key_is_served() {
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        config.max_in_flight_per_client = 5;
        config.request_timeout = Duration::from_secs(5);
    })
    .await;
    let flooding = app.create_key(KeyRole::Admin, "flooding").await;
    let other = app.create_key(KeyRole::Admin, "other").await;
    let blocker = stall(&app).await;

    let receipt = json!({ "query": "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }",
                          "variables": { "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 } } });
    let flood = join_all((0..20).map(|_| {
        let (app, flooding, receipt) = (&app, &flooding, &receipt);
        async move {
            app.client
                .post(app.url("/graphql"))
                .bearer_auth(flooding)
                .header("accept", "application/graphql-response+json")
                .json(receipt)
                .send()
                .await
                .unwrap()
        }
    }));
    let others = async {
        // While the flood holds its 5 places, the other key is served.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let answer = timeout(
            Duration::from_secs(3),
            app.graphql_as(&other, "{ viewer { role } warehouses { code } }", json!({})),
        )
        .await
        .expect("served, not queued behind the flood");
        blocker.rollback().await.unwrap();
        answer
    };
    let (flooded, served) = tokio::join!(flood, others);
    assert_eq!(served["data"]["viewer"]["role"], "ADMIN", "{served:#}");

    let mut shed = 0;
    for response in flooded {
        match response.status().as_u16() {
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
                    "{body}"
                );
                assert!(
                    body["errors"][0]["message"]
                        .as_str()
                        .unwrap()
                        .contains("5 requests running")
                );
                shed += 1;
            }
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(shed, 15, "all but the 5 that fit were shed");
    assert_books_balance(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_a_new_one_is_refused_at_once() {
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        config.connections.max_connections = Some(3);
        config.request_timeout = Duration::from_secs(5);
    })
    .await;
    let admin = app.create_key(KeyRole::Admin, "ops").await;
    let blocker = stall(&app).await;
    let receipt = json!({ "query": "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }",
                          "variables": { "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 } } });
    // Three connections, each in a request held by the locked row.
    let busy = join_all((0..3).map(|_| {
        let (app, admin, receipt) = (&app, &admin, &receipt);
        async move {
            reqwest::Client::new()
                .post(app.url("/graphql"))
                .bearer_auth(admin)
                .json(receipt)
                .send()
                .await
                .unwrap()
                .status()
        }
    }));
    let newcomer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = timeout(
            Duration::from_secs(3),
            reqwest::Client::new().get(app.url("/healthz")).send(),
        )
        .await
        .expect("an answer, not a hang")
        .unwrap();
        let status = refused.status();
        let retry = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .to_owned();
        blocker.rollback().await.unwrap();
        (status, retry)
    };
    let (held, (status, retry)) = tokio::join!(busy, newcomer);
    assert_eq!(status, 503, "no idle connection to make room: refused");
    assert_eq!(retry, "1");
    assert!(
        held.iter().all(|s| s.is_success()),
        "the busy ones finished: {held:?}"
    );
}
