//! What dashboards are promised, checked with the client they use: the npm
//! `graphql-ws` package in Node.js (`tests/clients/dashboard.mjs`),
//! subscribing with an admin key, seeing each change live, and resuming
//! with `after` after a disconnect.
//!
//! Needs Node.js 20 or later and npm (see [`crate::node`]).

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_UNITS, HOT_SKU_WAREHOUSE},
};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::{
    helpers::{TestApp, receive},
    node, on_both_backends,
};

const PATIENCE: Duration = Duration::from_secs(30);

/// A running dashboard process and the events it has printed.
struct Dashboard {
    child: Child,
    events: Lines<BufReader<ChildStdout>>,
}

impl Dashboard {
    /// Starts a dashboard watching the hot SKU after movement `after`, that
    /// stops by itself after `count` events.
    fn start(app: &TestApp, key: &str, after: &str, count: usize) -> Self {
        node::npm_packages();
        let mut child = Command::new("node")
            .arg("dashboard.mjs")
            .args([
                &format!("ws://{}/graphql", app.addr),
                key,
                HOT_SKU,
                after,
                &count.to_string(),
            ])
            .current_dir(node::clients_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let events = BufReader::new(child.stdout.take().expect("piped")).lines();
        Dashboard { child, events }
    }

    async fn next_event(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.events.next_line())
            .await
            .expect("the dashboard prints an event in time")
            .expect("its output is readable")
            .expect("the dashboard printed an event before it stopped");
        serde_json::from_str(&line).expect("one JSON event per line")
    }

    /// Waits for the process to stop; its exit success and error output.
    async fn finish(self) -> (bool, String) {
        let output = tokio::time::timeout(PATIENCE, self.child.wait_with_output())
            .await
            .expect("the dashboard stops in time")
            .expect("its status is readable");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// The newest movement id, as a subscription's `after`.
async fn newest(app: &TestApp) -> String {
    app.scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM inventory_movements")
        .await
        .to_string()
}

/// (movement id, quantity delta, quantity after) of an event.
fn summary(event: &Value) -> (i64, i64, i64) {
    assert_eq!(event["movement"]["sku"], HOT_SKU);
    assert_eq!(event["movement"]["warehouseCode"], HOT_SKU_WAREHOUSE);
    (
        event["movement"]["id"].as_str().unwrap().parse().unwrap(),
        event["movement"]["quantityDelta"].as_i64().unwrap(),
        event["stockLevel"]["quantity"].as_i64().unwrap(),
    )
}

on_both_backends! {
    async fn a_graphql_ws_dashboard_sees_changes_live_and_resumes_after_a_disconnect(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let units = i64::from(HOT_SKU_UNITS);

        // Live: each change is made after the dashboard has shown the one
        // before it, so it can only reach the dashboard live.
        let mut dashboard = Dashboard::start(&app, &admin, &newest(&app).await, 3);
        let mut seen = Vec::new();
        let mut expected = units;
        for quantity in 1..=3 {
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, quantity).await;
            expected += i64::from(quantity);
            let (id, delta, after) = summary(&dashboard.next_event().await);
            assert_eq!((delta, after), (i64::from(quantity), expected));
            seen.push(id);
        }
        let (stopped_cleanly, errors) = dashboard.finish().await;
        assert!(stopped_cleanly, "the dashboard failed: {errors}");

        // Disconnected meanwhile: two changes it did not see.
        for quantity in [4, 5] {
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, quantity).await;
        }
        // Resumed from the last event it saw: the two missed, then live.
        let last_seen = seen.last().unwrap().to_string();
        let mut dashboard = Dashboard::start(&app, &admin, &last_seen, 3);
        for quantity in [4, 5] {
            let (id, delta, after) = summary(&dashboard.next_event().await);
            expected += quantity;
            assert_eq!((delta, after), (quantity, expected), "replayed");
            seen.push(id);
        }
        receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 6).await;
        let (id, delta, after) = summary(&dashboard.next_event().await);
        assert_eq!((delta, after), (6, expected + 6), "live after the replay");
        seen.push(id);
        let (stopped_cleanly, errors) = dashboard.finish().await;
        assert!(stopped_cleanly, "the dashboard failed: {errors}");

        // Every movement of the hot SKU from the first change to the last,
        // once, in order.
        assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "{seen:?}");
        let between = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM inventory_movements m JOIN products p ON p.id = m.product_id
                 WHERE p.sku = '{HOT_SKU}' AND m.id BETWEEN {} AND {}",
                seen[0], seen[5]
            ))
            .await;
        assert_eq!(between, 6);
    }

    async fn a_graphql_ws_dashboard_without_an_admin_key_is_refused(app) {
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        // An unknown key is refused at connection_init: the socket closes.
        // A valid key of a weaker role connects, and the subscription is
        // refused with a coded error.
        for (key, refusal) in [
            ("not-a-key", "closed 4403: the API key is not known"),
            (checkout.as_str(), "FORBIDDEN: this needs an admin API key"),
        ] {
            let dashboard = Dashboard::start(&app, key, "", 1);
            let (stopped_cleanly, errors) = dashboard.finish().await;
            assert!(!stopped_cleanly, "a dashboard with {key:?} got an event");
            assert!(errors.contains(refusal), "{key:?}: {errors}");
        }
    }
}
