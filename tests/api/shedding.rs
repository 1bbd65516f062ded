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
