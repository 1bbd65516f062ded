//! Query-cost budgets: a client over its budget is refused THROTTLED with
//! the time to wait, runs nothing, recovers once its bucket refilled, and
//! does not hold back anyone else. Every response says what it cost.

use reqwest::header;
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    graphql::cost::{Budget, Budgets},
};

use crate::{
    helpers::{TestApp, error_code},
    on_both_backends,
};

const QUERY: &str = "{ viewer { role } }";

async fn post(app: &TestApp, key: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": QUERY }));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

on_both_backends! {
    configure: |config| {
        config.cost_budgets = Budgets {
            public: Some(Budget { capacity: 40.0, per_second: 10.0 }),
            checkout: Some(Budget { capacity: 1_000.0, per_second: 1_000.0 }),
            admin: None,
        };
    };

    async fn a_client_over_its_budget_is_throttled_with_the_wait_and_recovers(app) {
        let checkout = app.create_key(KeyRole::Checkout, "till").await;
        let first: Value = post(&app, None).await.json().await.unwrap();
        let cost = &first["extensions"]["cost"];
        let requested = cost["requestedQueryCost"].as_u64().unwrap();
        assert!(requested >= 1, "{first}");
        assert_eq!(cost["throttleStatus"]["maximumAvailable"], 40);
        assert_eq!(cost["throttleStatus"]["restoreRate"], 10);
        let mut left = cost["throttleStatus"]["currentlyAvailable"].as_u64().unwrap();
        assert_eq!(left, 40 - requested);

        // Spend the rest; the request that cannot be paid is refused.
        let refused = loop {
            let response = post(&app, None).await;
            if response.status() == 429 {
                break response;
            }
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            let now = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"].as_u64().unwrap();
            assert!(now < left + requested, "the budget shrinks: {now} after {left}");
            left = now;
        };
        let retry_after: u64 = refused.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        let body: Value = refused.json().await.unwrap();
        assert_eq!(error_code(&body), Some("THROTTLED"), "{body}");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
        let wait = body["errors"][0]["extensions"]["retryAfterSeconds"].as_f64().unwrap();
        assert!(wait > 0.0 && wait <= 4.0, "{body}");
        assert!(retry_after >= 1 && retry_after as f64 >= wait.floor(), "{retry_after} vs {wait}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("retry in"), "{body}");

        // Someone else is not held back meanwhile.
        for _ in 0..20 {
            let other = post(&app, Some(&checkout)).await;
            assert_eq!(other.status(), 200);
        }

        // Once the wait is over, the public client is served again.
        tokio::time::sleep(std::time::Duration::from_secs_f64(wait + 0.05)).await;
        let again = post(&app, None).await;
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["data"]["viewer"]["role"], "PUBLIC", "{again}");
    }

    async fn an_unlimited_role_carries_no_cost_figures(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let body: Value = post(&app, Some(&admin)).await.json().await.unwrap();
        assert!(body.get("extensions").is_none(), "{body}");
    }
}
