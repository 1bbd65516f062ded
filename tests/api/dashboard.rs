//! The live dashboard at `/dashboard` in real browsers, Debian's Chromium
//! and Debian's Firefox ESR, each driven by playwright-core
//! (`tests/clients/dashboard_page.mjs`) with every request to anything but
//! 127.0.0.1 blocked. The page loads without a
//! console error and shows the demo's 15 warehouses; with an admin key a
//! `receiveStock` made through the API shows within a second; after a
//! server restart the page resumes and shows what changed meanwhile; a click
//! on Munich draws the four strategies' plans at the costs
//! `compareStrategies` returns there; a hold shows in the checkout pulse.

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::Command,
};

use crate::{
    helpers::TestApp,
    node::{self, Browser},
    on_both_backends,
};

const PATIENCE: Duration = Duration::from_secs(60);

const COMPARE: &str = "query($lines: [OrderLineInput!]!, $shipTo: LocationInput!) {
  compareStrategies(lines: $lines, shipTo: $shipTo) { strategy totalCostCents shipmentCount }
}";

/// The lines the page plans, as the page writes them: `SKU:quantity, …`.
fn order_lines(text: &str) -> Value {
    text.split(',')
        .map(|part| {
            let (sku, quantity) = part.trim().split_once(':').expect("SKU:quantity");
            json!({ "sku": sku.trim(), "quantity": quantity.trim().parse::<i64>().unwrap() })
        })
        .collect()
}

on_both_backends! {
    async fn the_dashboard_in_chromium_shows_the_demo_live_resumes_after_a_restart_and_draws_plans(app) {
        dashboard_session(app, Browser::Chromium).await;
    }

    async fn the_dashboard_in_firefox_shows_the_demo_live_resumes_after_a_restart_and_draws_plans(app) {
        dashboard_session(app, Browser::Firefox).await;
    }
}

async fn dashboard_session(mut app: TestApp, browser: Browser) {
    let admin = app.create_key(KeyRole::Admin, "operator").await;
    // One run keeps its screenshots for README.
    let screenshots = if browser == Browser::Chromium
        && app.database.url.backend() == stockroute::config::Backend::Sqlite
    {
        node::clients_dir().join("../../docs")
    } else {
        std::env::temp_dir()
    };
    node::npm_packages();
    let mut page = Command::new("node")
        .arg("dashboard_page.mjs")
        .args([
            app.url(""),
            admin.clone(),
            screenshots.display().to_string(),
        ])
        .env("BROWSER", browser.name())
        .current_dir(node::clients_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut steps = BufReader::new(page.stdout.take().unwrap()).lines();
    let mut input = page.stdin.take().unwrap();
    let mut step = async |name: &str| -> Value {
        let line = tokio::time::timeout(PATIENCE, steps.next_line())
            .await
            .unwrap_or_else(|_| panic!("the page reaches `{name}` in time"))
            .unwrap()
            .unwrap_or_else(|| panic!("the page script stopped before `{name}`"));
        let step: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(step["step"], name, "{step}");
        step
    };

    let public = step("public").await;
    browser.assert_is(&public["userAgent"]);
    assert_eq!(public["markers"], 15, "{public}");
    assert_eq!(
        public["inactive"], 1,
        "the demo has one inactive warehouse: {public}"
    );
    assert!(
        public["rows"].as_u64().unwrap() > 50,
        "a row per SKU: {public}"
    );

    let admin_view = step("admin").await;
    assert_eq!(admin_view["consoleErrors"], json!([]), "{admin_view}");
    assert_eq!(admin_view["keyInSessionStorage"], true);
    assert_eq!(admin_view["keyInLocalStorage"], false);

    let live = step("live").await;
    assert!(
        live["millis"].as_u64().unwrap() < 1000,
        "shown within a second: {live}"
    );
    assert_eq!(live["flashed"], true);

    let pulse = step("pulse").await;
    assert_eq!(
        pulse["held"], "held 1/min",
        "one hold of two lines counts once: {pulse}"
    );

    // A restart: the server stops, two changes are made through another
    // replica while it is down, and it starts again on its address.
    step("restart-now").await;
    let other = app.replica(|_| {}).await;
    let addr = app.addr;
    app.stop();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (n, reference) in [(2, "dash-missed-1"), (3, "dash-missed-2")] {
        let response = other
            .graphql_as(
                &admin,
                "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }",
                json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": n, "referenceId": reference } }),
            )
            .await;
        assert!(response.get("errors").is_none(), "{response}");
    }
    let quantity = other
        .scalar(&format!(
            "SELECT CAST(i.quantity AS BIGINT) FROM inventory i JOIN products p ON p.id = i.product_id
             JOIN warehouses w ON w.id = i.warehouse_id WHERE p.sku = '{HOT_SKU}' AND w.code = '{HOT_SKU_WAREHOUSE}'"
        ))
        .await;
    let restarted = other.replica_at(addr).await;
    input
        .write_all(format!("{}\n", json!({ "quantity": quantity })).as_bytes())
        .await
        .unwrap();
    let resumed = step("resumed").await;
    assert!(
        resumed["status"].as_str().unwrap().contains("resumed"),
        "{resumed}"
    );
    // Every movement since the page's first, newest first, none missing.
    let ids: Vec<i64> = resumed["ledgerIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] == pair[1] + 1),
        "no gap, no repeat: {ids:?}"
    );

    let plans = step("plans").await;
    let expected = restarted
        .graphql(
            COMPARE,
            json!({
                "lines": order_lines(plans["lines"].as_str().unwrap()),
                "shipTo": { "latitude": plans["latitude"], "longitude": plans["longitude"] },
            }),
        )
        .await;
    assert!(
        (plans["latitude"].as_f64().unwrap() - 48.1351).abs() < 0.5,
        "{plans}"
    );
    assert!(
        (plans["longitude"].as_f64().unwrap() - 11.582).abs() < 0.5,
        "{plans}"
    );
    let expected = expected["data"]["compareStrategies"]
        .as_array()
        .unwrap()
        .clone();
    let shown = plans["plans"].as_array().unwrap();
    assert_eq!(shown.len(), 4, "{plans}");
    for (shown, expected) in shown.iter().zip(&expected) {
        assert_eq!(shown["strategy"], expected["strategy"]);
        assert_eq!(shown["costCents"], expected["totalCostCents"], "{shown}");
        assert_eq!(shown["shipments"], expected["shipmentCount"], "{shown}");
        assert_eq!(
            shown["routes"], expected["shipmentCount"],
            "a route per shipment: {shown}"
        );
    }

    let keyboard = step("keyboard").await;
    assert!(
        (keyboard["latitude"].as_f64().unwrap() - 48.8566).abs() < 0.01,
        "Paris: {keyboard}"
    );

    let phone = step("phone").await;
    assert!(phone["scrollWidth"].as_u64().unwrap() <= 390, "{phone}");
    assert!(phone["mapWidth"].as_f64().unwrap() > 300.0, "{phone}");

    let done = step("done").await;
    assert_eq!(
        done["blocked"],
        json!([]),
        "nothing asked of elsewhere: {done}"
    );
    let output = tokio::time::timeout(PATIENCE, page.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
