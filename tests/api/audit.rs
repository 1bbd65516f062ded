//! The ledger as admins read it, and reconciliation.

use std::collections::HashSet;

use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

const MOVEMENTS: &str = "query($sku: String, $code: String, $first: Int, $after: String, $order: MovementOrder! = NEWEST_FIRST) {
    movements(sku: $sku, warehouseCode: $code, first: $first, after: $after, order: $order) {
        edges { cursor node { id sku warehouseCode type quantityDelta } }
        pageInfo { hasNextPage endCursor }
    }
}";

const REPORT: &str =
    "checkedAt stockLevelsChecked ok discrepancies { sku warehouseCode field recorded derived }";

/// Every movement id, walking pages of `first` with `variables`.
async fn walk(app: &TestApp, key: &str, variables: Value, first: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut vars = variables.clone();
        vars["first"] = json!(first);
        vars["after"] = after;
        let response = app.graphql_as(key, MOVEMENTS, vars).await;
        let page = &data(&response)["movements"];
        for edge in page["edges"].as_array().unwrap() {
            ids.push(edge["node"]["id"].as_str().unwrap().parse().unwrap());
        }
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return ids;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

on_both_backends! {
    async fn the_ledger_pages_newest_first_or_oldest_first_and_filters(app) {
        let key = app.create_key(KeyRole::Admin, "auditor").await;
        let total = app.scalar("SELECT COUNT(*) FROM inventory_movements").await;
        let newest = walk(&app, &key, json!({}), 37).await;
        assert_eq!(newest.len() as i64, total);
        assert!(newest.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(newest.iter().collect::<HashSet<_>>().len(), newest.len(), "each once");
        let oldest = walk(&app, &key, json!({ "order": "OLDEST_FIRST" }), 100).await;
        assert_eq!(oldest, newest.iter().rev().copied().collect::<Vec<_>>());

        let of_hot = walk(&app, &key, json!({ "sku": HOT_SKU }), 1).await;
        assert_eq!(of_hot.len(), 1, "the demo received the hot SKU once");
        let in_ber1 = app.graphql_as(&key, MOVEMENTS, json!({ "code": HOT_SKU_WAREHOUSE, "first": 100 })).await;
        let edges = data(&in_ber1)["movements"]["edges"].as_array().unwrap().clone();
        assert!(!edges.is_empty());
        assert!(edges.iter().all(|e| e["node"]["warehouseCode"] == HOT_SKU_WAREHOUSE));
        let both = app.graphql_as(&key, MOVEMENTS, json!({ "sku": HOT_SKU, "code": HOT_SKU_WAREHOUSE })).await;
        assert_eq!(data(&both)["movements"]["edges"][0]["node"]["type"], "RESTOCK");

        for (variables, code) in [
            (json!({ "sku": "NO-SUCH-SKU" }), "BAD_USER_INPUT"),
            (json!({ "code": "NOWHERE" }), "BAD_USER_INPUT"),
            (json!({ "first": 0 }), "BAD_USER_INPUT"),
            (json!({ "first": 101 }), "BAD_USER_INPUT"),
            (json!({ "after": "bm90IGEgY3Vyc29y" }), "BAD_USER_INPUT"),
            (json!({ "after": "!!" }), "BAD_USER_INPUT"),
        ] {
            let response = app.graphql_as(&key, MOVEMENTS, variables.clone()).await;
            assert_eq!(error_code(&response), Some(code), "{variables}: {response:#}");
        }
    }

    async fn reconcile_finds_planted_drift_and_repair_removes_it(app) {
        let admin = app.create_key(KeyRole::Admin, "auditor").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let reconcile = format!("{{ reconcile {{ {REPORT} }} }}");
        let clean = app.graphql_as(&admin, &reconcile, json!({})).await;
        let clean = &data(&clean)["reconcile"];
        assert_eq!(clean["ok"], true, "{clean:#}");
        assert_eq!(clean["stockLevelsChecked"].as_i64(), Some(app.scalar("SELECT COUNT(*) FROM inventory").await));

        // A hold on the hot SKU, then two edits behind the service's back:
        // units appear on a shelf without a movement, and the hold's count
        // on the level is lost.
        let hold = app.graphql_as(
            &checkout,
            "mutation($input: ReserveOrderInput!) { reserveOrder(input: $input) { __typename } }",
            json!({ "input": { "reservationId": Uuid::new_v4(), "lines": [{ "sku": HOT_SKU, "quantity": 4 }],
                               "shipTo": { "latitude": 52.52, "longitude": 13.405 } } }),
        ).await;
        assert_eq!(data(&hold)["reserveOrder"]["__typename"], "Reservation");
        let level = format!(
            "product_id = (SELECT id FROM products WHERE sku = '{HOT_SKU}')
             AND warehouse_id = (SELECT id FROM warehouses WHERE code = '{HOT_SKU_WAREHOUSE}')"
        );
        use sea_orm::ConnectionTrait;
        app.db.execute_unprepared(&format!("UPDATE inventory SET quantity = quantity + 5, reserved = 1 WHERE {level}")).await.unwrap();

        let found = app.graphql_as(&admin, &reconcile, json!({})).await;
        let found = data(&found)["reconcile"].clone();
        assert_eq!(found["ok"], false);
        assert_eq!(found["discrepancies"], json!([
            { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "field": "quantity", "recorded": 105, "derived": 100 },
            { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "field": "reserved", "recorded": 1, "derived": 4 },
        ]));
        let reconciling_writes_nothing = footprint(&app).await;
        app.graphql_as(&admin, &reconcile, json!({})).await;
        assert_eq!(footprint(&app).await, reconciling_writes_nothing);

        let repaired = app.graphql_as(&admin, &format!("mutation {{ repairStock {{ {REPORT} }} }}"), json!({})).await;
        let repaired = &data(&repaired)["repairStock"];
        assert_eq!(repaired["discrepancies"], found["discrepancies"], "it reports what it repaired");
        let after = app.graphql_as(&admin, &reconcile, json!({})).await;
        assert_eq!(data(&after)["reconcile"]["ok"], true, "{after:#}");
        let stock = app.scalar(&format!("SELECT CAST(quantity * 1000 + reserved AS BIGINT) FROM inventory WHERE {level}")).await;
        assert_eq!(stock, 105 * 1000 + 4, "on-hand kept as counted, reserved back to the holds");
        let adjustment = app.graphql_as(&admin, MOVEMENTS, json!({ "sku": HOT_SKU, "code": HOT_SKU_WAREHOUSE, "first": 1 })).await;
        let adjustment = &data(&adjustment)["movements"]["edges"][0]["node"];
        assert_eq!((adjustment["type"].as_str(), adjustment["quantityDelta"].as_i64()), (Some("ADJUSTMENT"), Some(5)));
        assert_books_balance(&app).await;

        // Safety stock the ledger does not explain: kept as recorded, and
        // the ADJUSTMENT says how it moved.
        app.graphql_as(&admin, "mutation { setSafetyStock(sku: \"DROP-SNEAKER-LTD\", warehouseCode: \"BER1\", units: 7) { safetyStock } }", json!({})).await;
        app.db.execute_unprepared(&format!("UPDATE inventory SET safety_stock = 3 WHERE {level}")).await.unwrap();
        let found = app.graphql_as(&admin, &reconcile, json!({})).await;
        assert_eq!(data(&found)["reconcile"]["discrepancies"], json!([
            { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "field": "safetyStock", "recorded": 3, "derived": 7 },
        ]));
        app.graphql_as(&admin, "mutation { repairStock { ok } }", json!({})).await;
        let adjustment = app
            .graphql_as(&admin, "{ movements(sku: \"DROP-SNEAKER-LTD\", first: 1) { edges { node { type safetyStockDelta safetyStockAfter } } } }", json!({}))
            .await;
        assert_eq!(
            data(&adjustment)["movements"]["edges"][0]["node"],
            json!({ "type": "ADJUSTMENT", "safetyStockDelta": -4, "safetyStockAfter": 3 })
        );
        assert_books_balance(&app).await;

        // A second repair finds nothing and writes nothing.
        let quiet = footprint(&app).await;
        let again = app.graphql_as(&admin, "mutation { repairStock { ok } }", json!({})).await;
        assert_eq!(data(&again)["repairStock"]["ok"], true);
        assert_eq!(footprint(&app).await, quiet);
    }

    async fn reconcile_finds_drift_in_inbound_holds_and_capacity_and_repair_removes_it(app) {
        use sea_orm::ConnectionTrait;
        let admin = app.create_key(KeyRole::Admin, "auditor").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        data(&app.graphql_as(&admin, "mutation { createProduct(input: { sku: \"LAUNCH\", name: \"Launch\", weightGrams: 100 }) { sku } }", json!({})).await);
        let arrival = chrono::Utc::now() + chrono::Duration::days(3);
        let inbound = Uuid::new_v4();
        data(&app.graphql_as(
            &admin,
            "mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { status } }",
            json!({ "i": { "id": inbound, "sku": "LAUNCH", "warehouseCode": "BER1", "quantity": 10, "expectedAt": arrival.to_rfc3339() } }),
        ).await);
        let held = app.graphql_as(
            &checkout,
            "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { ... on Reservation { shipments { readyAt } } } }",
            json!({ "i": { "reservationId": Uuid::new_v4(), "lines": [{ "sku": "LAUNCH", "quantity": 3 }],
                           "shipTo": { "latitude": 52.52, "longitude": 13.405 },
                           "promiseBy": (arrival + chrono::Duration::days(1)).to_rfc3339() } }),
        ).await;
        assert!(data(&held)["reserveOrder"]["shipments"][0]["readyAt"].is_string(), "{held:#}");
        let day = arrival.format("%Y-%m-%d").to_string();

        // Behind the service's back: the inbound forgets what is held of it,
        // and the ship day counts shipments that do not exist.
        app.db.execute_unprepared("UPDATE inbound_shipments SET reserved = 5").await.unwrap();
        app.db.execute_unprepared("UPDATE shipment_days SET used = 7").await.unwrap();
        let report = "ok discrepancies { sku warehouseCode field recorded derived inboundId }
                      capacityDiscrepancies { warehouseCode day recorded derived }";
        let found = app.graphql_as(&admin, &format!("{{ reconcile {{ {report} }} }}"), json!({})).await;
        let found = data(&found)["reconcile"].clone();
        assert_eq!(found["ok"], false);
        assert_eq!(found["discrepancies"], json!([
            { "sku": "LAUNCH", "warehouseCode": "BER1", "field": "inboundReserved", "recorded": 5, "derived": 3, "inboundId": inbound },
        ]));
        assert_eq!(found["capacityDiscrepancies"], json!([
            { "warehouseCode": "BER1", "day": day, "recorded": 7, "derived": 1 },
        ]));

        let repaired = app.graphql_as(&admin, &format!("mutation {{ repairStock {{ {report} }} }}"), json!({})).await;
        assert_eq!(data(&repaired)["repairStock"]["capacityDiscrepancies"], found["capacityDiscrepancies"], "it reports what it repaired");
        let after = app.graphql_as(&admin, "{ reconcile { ok } }", json!({})).await;
        assert_eq!(data(&after)["reconcile"]["ok"], true, "{after:#}");
        assert_eq!(app.scalar("SELECT CAST(reserved AS BIGINT) FROM inbound_shipments").await, 3);
        assert_eq!(app.scalar("SELECT CAST(used AS BIGINT) FROM shipment_days").await, 1);
        assert_books_balance(&app).await;
    }
}
