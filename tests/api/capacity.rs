//! Daily shipment capacity: a warehouse ships at most so many shipments a
//! UTC day. Racing checkouts never take more; a release gives one back;
//! every strategy plans around a full warehouse and says so.

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

const RESERVE: &str = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) {
    __typename
    ... on Reservation { id shipments { warehouse { code } } }
    ... on InsufficientStock { message shortages { sku available } }
} }";

fn order(sku: &str, strategy: &str) -> Value {
    json!({ "reservationId": Uuid::new_v4(), "lines": [{ "sku": sku, "quantity": 1 }],
            "shipTo": { "latitude": 52.52, "longitude": 13.405 }, "strategy": strategy })
}

async fn set_capacity(app: &TestApp, admin: &str, code: &str, daily: Value) -> Value {
    app.graphql_as(
        admin,
        "mutation($code: String!, $n: Int) { setWarehouseCapacity(code: $code, dailyShipments: $n) { code dailyShipmentCapacity } }",
        json!({ "code": code, "n": daily }),
    )
    .await
}

async fn capacity(app: &TestApp, code: &str) -> Value {
    let response = app
        .graphql(
            &format!(
                "{{ warehouse(code: \"{code}\") {{ capacity {{ day limit used remaining }} }} }}"
            ),
            json!({}),
        )
        .await;
    data(&response)["warehouse"]["capacity"].clone()
}

on_both_backends! {
    async fn racing_checkouts_never_ship_more_than_a_warehouses_daily_capacity(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        // The hot SKU lives in one warehouse, with 100 units: stock is not
        // what runs out.
        let set = set_capacity(&app, &admin, HOT_SKU_WAREHOUSE, json!(5)).await;
        assert_eq!(data(&set)["setWarehouseCapacity"]["dailyShipmentCapacity"], 5);

        let answers = join_all((0..50).map(|_| {
            let (app, checkout) = (&app, &checkout);
            async move { data(&app.graphql_as(checkout, RESERVE, json!({ "i": order(HOT_SKU, "NEAREST") })).await)["reserveOrder"].clone() }
        }))
        .await;
        let held: Vec<&Value> = answers.iter().filter(|a| a["__typename"] == "Reservation").collect();
        assert_eq!(held.len(), 5, "exactly the day's capacity");
        for refused in answers.iter().filter(|a| a["__typename"] != "Reservation") {
            assert_eq!(refused["__typename"], "InsufficientStock", "{refused:#}");
            let message = refused["message"].as_str().unwrap();
            assert!(message.contains("daily capacity of 5 shipments is used up"), "{message}");
        }
        let today = capacity(&app, HOT_SKU_WAREHOUSE).await;
        assert_eq!((today["limit"].clone(), today["used"].clone(), today["remaining"].clone()), (json!(5), json!(5), json!(0)));
        assert_books_balance(&app).await;

        // A release gives its shipment back; a confirmation keeps it.
        let id = held[0]["id"].as_str().unwrap();
        data(&app.graphql_as(&checkout, "mutation($id: UUID!) { releaseReservation(id: $id) { status } }", json!({ "id": id })).await);
        data(&app.graphql_as(&checkout, "mutation($id: UUID!) { confirmReservation(id: $id) { status } }", json!({ "id": held[1]["id"] })).await);
        assert_eq!(capacity(&app, HOT_SKU_WAREHOUSE).await["used"], 4);
        let again = data(&app.graphql_as(&checkout, RESERVE, json!({ "i": order(HOT_SKU, "NEAREST") })).await)["reserveOrder"].clone();
        assert_eq!(again["__typename"], "Reservation", "{again:#}");
        assert_eq!(capacity(&app, HOT_SKU_WAREHOUSE).await["remaining"], 0);

        // Lifting the limit opens the warehouse again.
        data(&set_capacity(&app, &admin, HOT_SKU_WAREHOUSE, Value::Null).await);
        let today = capacity(&app, HOT_SKU_WAREHOUSE).await;
        assert_eq!((today["limit"].clone(), today["used"].clone(), today["remaining"].clone()), (Value::Null, json!(5), Value::Null));
        let more = data(&app.graphql_as(&checkout, RESERVE, json!({ "i": order(HOT_SKU, "NEAREST") })).await)["reserveOrder"].clone();
        assert_eq!(more["__typename"], "Reservation", "{more:#}");
        assert_books_balance(&app).await;
    }

    async fn every_strategy_plans_around_a_full_warehouse_and_says_so(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        data(&app.graphql_as(&admin, "mutation { createProduct(input: { sku: \"TWO-SITES\", name: \"Two sites\", weightGrams: 500 }) { sku } }", json!({})).await);
        for code in ["BER1", "PAR1"] {
            data(&app.graphql_as(&admin, "mutation($c: String!) { receiveStock(input: { sku: \"TWO-SITES\", warehouseCode: $c, quantity: 10 }) { quantity } }", json!({ "c": code })).await);
        }
        data(&set_capacity(&app, &admin, "BER1", json!(1)).await);
        // Berlin is nearest and cheapest for Berlin: the first order takes its day.
        let first = data(&app.graphql_as(&checkout, RESERVE, json!({ "i": order("TWO-SITES", "NEAREST") })).await)["reserveOrder"].clone();
        assert_eq!(first["shipments"][0]["warehouse"]["code"], "BER1", "{first:#}");

        for strategy in ["NEAREST", "CHEAPEST", "BALANCED", "SPLIT"] {
            let plan = app.graphql(
                &format!("{{ planFulfilment(input: {{ lines: [{{ sku: \"TWO-SITES\", quantity: 1 }}],
                    shipTo: {{ latitude: 52.52, longitude: 13.405 }}, strategy: {strategy} }}) {{
                    feasible shipments {{ warehouse {{ code }} }} explanation }} }}"),
                json!({}),
            ).await;
            let plan = &data(&plan)["planFulfilment"];
            assert_eq!(plan["feasible"], true, "{strategy}: {plan:#}");
            assert_eq!(plan["shipments"], json!([{ "warehouse": { "code": "PAR1" } }]), "{strategy}: {plan:#}");
            let said = plan["explanation"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().starts_with("BER1 (Berlin) is skipped"));
            assert!(said, "{strategy}: {plan:#}");
            let held = data(&app.graphql_as(&checkout, RESERVE, json!({ "i": order("TWO-SITES", strategy) })).await)["reserveOrder"].clone();
            assert_eq!(held["shipments"][0]["warehouse"]["code"], "PAR1", "{strategy}: {held:#}");
        }
        assert_eq!(capacity(&app, "PAR1").await["used"], 4);
        assert_eq!(capacity(&app, "BER1").await["used"], 1);
        assert_books_balance(&app).await;
    }

    async fn capacity_settings_and_days_are_checked_and_bad_ones_change_nothing(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let before = footprint(&app).await;
        for (code, daily, want) in [
            ("BER1", json!(-1), "BAD_USER_INPUT"),
            ("BER1", json!(1_000_001), "BAD_USER_INPUT"),
            ("NOPE9", json!(5), "NOT_FOUND"),
        ] {
            let refused = set_capacity(&app, &admin, code, daily.clone()).await;
            assert_eq!(error_code(&refused), Some(want), "{code} {daily}: {refused:#}");
        }
        assert!(error_message(&set_capacity(&app, &admin, "BER1", json!(-1)).await).starts_with("dailyShipments:"));
        assert_eq!(footprint(&app).await, before);

        let bad_day = app.graphql("{ warehouse(code: \"BER1\") { capacity(day: \"2026-13-01\") { used } } }", json!({})).await;
        assert_eq!(error_code(&bad_day), Some("BAD_USER_INPUT"), "{bad_day:#}");
        assert!(error_message(&bad_day).starts_with("day:"), "{bad_day:#}");
        let past = app.graphql("{ warehouse(code: \"BER1\") { capacity(day: \"2020-02-29\") { day limit used remaining } } }", json!({})).await;
        assert_eq!(data(&past)["warehouse"]["capacity"], json!({ "day": "2020-02-29", "limit": null, "used": 0, "remaining": null }));

        // Zero closes a warehouse for shipping without touching its stock.
        data(&set_capacity(&app, &admin, "BER1", json!(0)).await);
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let closed = data(&app.graphql_as(&checkout, RESERVE, json!({ "i": order(HOT_SKU, "SPLIT") })).await)["reserveOrder"].clone();
        assert_eq!(closed["__typename"], "InsufficientStock", "{closed:#}");
        assert!(closed["message"].as_str().unwrap().contains("BER1 (Berlin) is skipped"), "{closed:#}");
        let availability = app.graphql("{ availability(skus: [\"DROP-SNEAKER-LTD\"]) { available } }", json!({})).await;
        assert_eq!(data(&availability)["availability"][0]["available"], 100, "stock is untouched");
    }
}
