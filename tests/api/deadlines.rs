//! Failing fast: a request that outlives its deadline, or a statement that
//! outlives PostgreSQL's statement timeout, is answered UNAVAILABLE with its
//! cause, and what it had begun never commits. PostgreSQL only: the stall
//! is a row lock held by another connection.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Database, DatabaseTransaction, TransactionTrait};
use serde_json::json;
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};

use crate::{
    helpers::{Backend, TestApp, error_code, error_message},
    invariants::{assert_books_balance, footprint},
};

const RECEIVE: &str = "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }";

/// Locks the hot SKU's stock levels from another connection until the
/// returned transaction is rolled back.
pub(crate) async fn stall(app: &TestApp) -> DatabaseTransaction {
    let other = Database::connect(app.database.url.as_str()).await.unwrap();
    let txn = other.begin().await.unwrap();
    txn.execute_unprepared(&format!(
        "UPDATE inventory SET version = version WHERE product_id =
         (SELECT id FROM products WHERE sku = '{HOT_SKU}')"
    ))
    .await
    .unwrap();
    txn
}

/// A receipt of the hot SKU while it is stalled: its answer and how long it
/// took; then the stall ends and nothing of the receipt may show.
async fn stalled_receipt(app: &TestApp) -> (serde_json::Value, Duration) {
    let admin = app.create_key(KeyRole::Admin, "ops").await;
    let before = footprint(app).await;
    let blocker = stall(app).await;
    let started = Instant::now();
    let response = app
        .graphql_as(
            &admin,
            RECEIVE,
            json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 5 } }),
        )
        .await;
    let took = started.elapsed();
    blocker.rollback().await.unwrap();
    // Long enough for a cancelled statement to have committed, were it going to.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        footprint(app).await,
        before,
        "nothing of the stalled receipt committed"
    );
    assert_books_balance(app).await;
    (response, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_deadline_is_unavailable_and_commits_nothing() {
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        config.request_timeout = Duration::from_millis(800);
        config.pool.statement_timeout = None;
    })
    .await;
    let (response, took) = stalled_receipt(&app).await;
    assert_eq!(error_code(&response), Some("UNAVAILABLE"), "{response}");
    assert!(
        error_message(&response).contains("did not finish within 800 ms"),
        "{response}"
    );
    assert!(
        took < Duration::from_secs(3),
        "answered at the deadline, took {took:?}"
    );
    // The service is fine afterwards.
    let admin = app.create_key(KeyRole::Admin, "after").await;
    let again = app
        .graphql_as(
            &admin,
            RECEIVE,
            json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 } }),
        )
        .await;
    assert!(again.get("errors").is_none(), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_the_statement_timeout_is_unavailable_and_says_so() {
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        config.pool.statement_timeout = Some(Duration::from_millis(300));
    })
    .await;
    let (response, took) = stalled_receipt(&app).await;
    assert_eq!(error_code(&response), Some("UNAVAILABLE"), "{response}");
    let message = error_message(&response);
    assert!(
        message.contains("a statement ran past its time limit"),
        "{message}"
    );
    assert!(
        !message.to_lowercase().contains("update"),
        "no SQL reaches the client: {message}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_says_no_within_a_second_when_no_connection_comes_free() {
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        config.pool.size = 1;
        config.pool.statement_timeout = None;
    })
    .await;
    let admin = app.create_key(KeyRole::Admin, "ops").await;
    let blocker = stall(&app).await;
    // The pool's only connection waits on the stalled row.
    let stuck = {
        let (client, url, admin) = (app.client.clone(), app.url("/graphql"), admin.clone());
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({ "query": RECEIVE, "variables": { "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 } } }))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(ready.status(), 503);
    assert!(
        took < Duration::from_millis(1_800),
        "answered within about a second: {took:?}"
    );
    blocker.rollback().await.unwrap();
    let _ = stuck.await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        200,
        "ready again once the connection is free"
    );
}

/// A key check the database does not answer (here the keys' table is
/// locked; in life, say, a connection into a network that drops
/// everything) is answered UNAVAILABLE at the request's deadline, and the
/// key works again once the database answers. A key's lookups run one
/// after another: one that never ended would hold every later request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_check_the_database_does_not_answer_is_unavailable_at_the_deadline() {
    let app = TestApp::spawn_with(Backend::Postgres, |config| {
        config.request_timeout = Duration::from_millis(800);
        config.pool.statement_timeout = None;
        // Every request's key looked up: that lookup is what is stalled.
        config.key_cache_ttl = None;
    })
    .await;
    let admin = app.create_key(KeyRole::Admin, "ops").await;
    const VIEWER: &str = "{ viewer { role } }";
    let role = |answer: &serde_json::Value| answer["data"]["viewer"]["role"].clone();
    assert_eq!(
        role(&app.graphql_as(&admin, VIEWER, json!({})).await),
        "ADMIN"
    );

    let other = Database::connect(app.database.url.as_str()).await.unwrap();
    let blocker = other.begin().await.unwrap();
    blocker
        .execute_unprepared("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let answers = join_all((0..3).map(|_| {
        tokio::time::timeout(
            Duration::from_secs(10),
            app.graphql_as(&admin, VIEWER, json!({})),
        )
    }))
    .await;
    let took = started.elapsed();
    for answer in answers {
        let answer = answer.expect("answered, not left hanging");
        assert_eq!(error_code(&answer), Some("UNAVAILABLE"), "{answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["cause"], "deadline",
            "{answer}"
        );
        assert!(
            error_message(&answer).contains("did not answer within the request's time limit"),
            "{answer}"
        );
    }
    // Each waits for the lookup in flight when it came, then its own.
    assert!(took < Duration::from_secs(3), "took {took:?}");

    blocker.rollback().await.unwrap();
    assert_eq!(
        role(&app.graphql_as(&admin, VIEWER, json!({})).await),
        "ADMIN"
    );
}
