//! `/metrics`: each figure an on-call engineer watches moves when its
//! event happens, in the OpenMetrics text the Prometheus client writes.

use std::time::Duration;

use serde_json::json;
use stockroute::{auth::KeyRole, config::Config, demo::HOT_SKU};
use uuid::Uuid;

use crate::{helpers::TestApp, on_both_backends, reservations::eventually};

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "OpenMetrics"
    );
    response.text().await.unwrap()
}

/// The value of one series, 0 while it has not appeared.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

async fn reserve(app: &TestApp, key: &str, id: Uuid, units: i32, ttl: i32) -> serde_json::Value {
    app.graphql_as(
        key,
        "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }",
        json!({ "i": { "reservationId": id, "lines": [{ "sku": HOT_SKU, "quantity": units }],
                       "shipTo": { "latitude": 52.52, "longitude": 13.405 }, "ttlSeconds": ttl } }),
    )
    .await
}

on_both_backends! {
    configure: |config: &mut Config| {
        config.sweep_interval = Duration::from_millis(100);
        // A valid key is remembered for the whole test.
        config.key_cache_ttl = Some(Duration::from_secs(3600));
    };

    async fn every_figure_moves_when_its_event_happens(app) {
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let before = scrape(&app).await;
        let availability = "stockroute_graphql_operation_duration_seconds_count{operation_type=\"query\",operation=\"availability\"}";
        let reserves = "stockroute_graphql_operation_duration_seconds_count{operation_type=\"mutation\",operation=\"reserveOrder\"}";
        let outcome = |o: &str| format!("stockroute_reservations_total{{outcome=\"{o}\"}}");

        app.graphql("{ availability(skus: [\"DROP-SNEAKER-LTD\"]) { available } }", json!({})).await;
        app.graphql("{ availability(skus: [\"NO-SUCH-SKU\"]) { available } }", json!({})).await;
        let held = Uuid::new_v4();
        reserve(&app, &checkout, held, 1, 900).await;
        reserve(&app, &checkout, held, 1, 900).await;
        reserve(&app, &checkout, held, 2, 900).await;
        reserve(&app, &checkout, Uuid::new_v4(), 1_000_000, 900).await;
        reserve(&app, &checkout, Uuid::new_v4(), 1, 1).await;

        let after = scrape(&app).await;
        assert_eq!(value(&after, availability) - value(&before, availability), 2.0, "{after}");
        assert_eq!(value(&after, reserves) - value(&before, reserves), 5.0);
        let bad_input = "stockroute_graphql_errors_total{code=\"BAD_USER_INPUT\"}";
        assert_eq!(value(&after, bad_input) - value(&before, bad_input), 1.0);
        let conflicts = "stockroute_graphql_errors_total{code=\"CONFLICT\"}";
        assert_eq!(value(&after, conflicts) - value(&before, conflicts), 1.0);
        for (name, moved) in [("held", 2.0), ("replayed", 1.0), ("conflict", 1.0), ("insufficient", 1.0)] {
            assert_eq!(value(&after, &outcome(name)) - value(&before, &outcome(name)), moved, "{name}");
        }
        // Five requests with one key, one after another: one lookup, of
        // one key, which is then remembered.
        for lookups in ["stockroute_key_lookups_total", "stockroute_key_lookup_keys_total"] {
            assert_eq!(value(&after, lookups) - value(&before, lookups), 1.0, "{lookups}");
        }
        assert!(value(&after, "stockroute_db_statement_duration_seconds_count") > value(&before, "stockroute_db_statement_duration_seconds_count"));
        assert!(value(&after, "stockroute_db_pool_max_connections") >= 1.0);
        assert!(value(&after, "stockroute_db_pool_connections") >= 1.0);
        assert_eq!(value(&after, "stockroute_event_lag_seconds"), 0.0, "caught up");

        // The one-second hold expires: counted, and the sweeper's lag is
        // how late it was.
        eventually("the sweeper counts the expiry", async || {
            value(&scrape(&app).await, "stockroute_holds_expired_total") >= 1.0
        })
        .await;
        let swept = scrape(&app).await;
        assert!(swept.contains("# TYPE stockroute_sweeper_lag_seconds gauge"));
        assert!(value(&swept, "stockroute_sweeper_lag_seconds") < 5.0);
        assert!(swept.ends_with("# EOF\n"));

        // Two holds and an expiry: three movements the event pump
        // published, from the holds' commits or from the ledger.
        let published = |text: &str| {
            value(text, "stockroute_events_published_total{source=\"commit\"}")
                + value(text, "stockroute_events_published_total{source=\"table\"}")
        };
        eventually("the pump counts what it published", async || {
            published(&scrape(&app).await) - published(&before) >= 3.0
        })
        .await;
    }
}
