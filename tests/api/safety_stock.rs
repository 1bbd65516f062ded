//! Safety stock: units a stock level keeps on hand that are never offered,
//! planned nor reserved, under any concurrency; admins still count and
//! write them off; every change of it is in the ledger and the live feed.

use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
    inventory::Store,
    inventory::ledger::{Postings, Share},
};

use crate::{
    flash_sale::race,
    helpers::{TestApp, data, error_code, error_message},
    invariants::{assert_books_balance, footprint},
    live::{Live, hot_level},
    on_both_backends,
};

const SET: &str = "mutation($sku: String!, $code: String!, $units: Int!) {
    setSafetyStock(sku: $sku, warehouseCode: $code, units: $units) {
        quantity reserved safetyStock available version
    }
}";

const AVAILABILITY: &str = "query($skus: [String!]!) {
    availability(skus: $skus) { onHand reserved available inStock warehouses { warehouse { code } available } }
}";

const PLAN: &str = "query($units: Int!) {
    planFulfilment(input: {
        lines: [{ sku: \"DROP-SNEAKER-LTD\", quantity: $units }],
        shipTo: { latitude: 52.52, longitude: 13.405 }, strategy: BALANCED
    }) { feasible shortages { available } }
}";

async fn set(app: &TestApp, admin: &str, units: i32) -> Value {
    let response = app
        .graphql_as(
            admin,
            SET,
            json!({ "sku": HOT_SKU, "code": HOT_SKU_WAREHOUSE, "units": units }),
        )
        .await;
    data(&response)["setSafetyStock"].clone()
}

async fn write_off(app: &TestApp, admin: &str, units: i32) -> Value {
    app.graphql_as(
        admin,
        "mutation($i: StockChangeInput!) { writeOffStock(input: $i) { quantity safetyStock available } }",
        json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": units } }),
    )
    .await
}

async fn availability(app: &TestApp) -> Value {
    let response = app
        .graphql(AVAILABILITY, json!({ "skus": [HOT_SKU] }))
        .await;
    data(&response)["availability"][0].clone()
}

async fn plan(app: &TestApp, units: i32) -> Value {
    let response = app.graphql(PLAN, json!({ "units": units })).await;
    data(&response)["planFulfilment"].clone()
}

on_both_backends! {
    async fn racing_checkouts_never_take_safety_stock(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "flash-sale").await;
        // The hot SKU lives in one warehouse: 100 on hand, 50 after this.
        assert_eq!(data(&write_off(&app, &admin, 50).await)["writeOffStock"]["quantity"], 50);
        let level = set(&app, &admin, 10).await;
        assert_eq!(level["safetyStock"], 10);
        assert_eq!(level["available"], 40);

        let mut live = Live::connect(&app, None).await;
        live.subscribe(
            "subscription { availabilityChanged(skus: [\"DROP-SNEAKER-LTD\"]) { available onHand } }",
            json!({}),
        )
        .await;
        assert_eq!(live.next_result().await["data"]["availabilityChanged"], json!({ "available": 40, "onHand": 50 }));

        let (held, short) = race(&[&app], &checkout, 200).await;
        assert_eq!((held, short), (40, 160), "exactly the 40 units above safety stock are sold");

        let now = availability(&app).await;
        assert_eq!(now["onHand"], 50);
        assert_eq!(now["reserved"], 40);
        assert_eq!(now["available"], 0);
        assert_eq!(now["inStock"], false);
        assert_eq!(now["warehouses"], json!([]));
        // Changes come coalesced; the last one says nothing is left.
        let mut last = Value::Null;
        while last["available"] != 0 {
            last = live.next_result().await["data"]["availabilityChanged"].clone();
            assert!(last["available"].as_i64().unwrap() >= 0, "{last}");
        }
        assert_eq!(last, json!({ "available": 0, "onHand": 50 }));
        assert_eq!(
            app.scalar("SELECT CAST(safety_stock AS BIGINT) FROM inventory i JOIN products p ON p.id = i.product_id
                        WHERE p.sku = 'DROP-SNEAKER-LTD'").await,
            10
        );
        assert_books_balance(&app).await;
    }

    async fn the_guarded_update_itself_refuses_a_hold_on_safety_stock(app) {
        // Past the planner, which never offers it: the database is the
        // arbiter, whatever a writer believes is available.
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        set(&app, &admin, 95).await;
        let (product, warehouse) = hot_level(&app).await;
        let store = Store::new(app.db.clone());
        let share = |units| Share { units, reference_id: None, created_by: None };
        for (units, held) in [(6, false), (5, true)] {
            let txn = store.begin_write().await.unwrap();
            let mut postings = Postings::new(None, None, chrono::Utc::now());
            let level = postings.reserve_shares(&*txn, product, warehouse, vec![share(units)]).await.unwrap();
            assert_eq!(level.is_some(), held, "{units} of the 5 above safety stock");
            txn.rollback().await.unwrap();
        }
    }

    async fn safety_stock_is_never_offered_nor_planned_but_is_still_on_hand(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let level = set(&app, &admin, 100).await;
        assert_eq!(level, json!({ "quantity": 100, "reserved": 0, "safetyStock": 100, "available": 0, "version": level["version"] }));
        assert_eq!(availability(&app).await["available"], 0);
        let refused = plan(&app, 1).await;
        assert_eq!(refused["feasible"], false);
        assert_eq!(refused["shortages"], json!([{ "available": 0 }]));

        // Physically there: a write-off may take it (never reserved units).
        let written = write_off(&app, &admin, 30).await;
        assert_eq!(data(&written)["writeOffStock"], json!({ "quantity": 70, "safetyStock": 100, "available": 0 }));

        assert_eq!(set(&app, &admin, 60).await["available"], 10);
        let summary = availability(&app).await;
        assert_eq!(summary["available"], 10);
        assert_eq!(summary["warehouses"], json!([{ "warehouse": { "code": HOT_SKU_WAREHOUSE }, "available": 10 }]));
        assert_eq!(plan(&app, 10).await["feasible"], true);
        assert_eq!(plan(&app, 11).await["feasible"], false);
        assert_books_balance(&app).await;
    }

    async fn setting_safety_stock_is_in_the_ledger_and_the_live_feed(app) {
        let admin = app.create_key(KeyRole::Admin, "buyer").await;
        let mut live = Live::connect(&app, Some(&admin)).await;
        live.subscribe(
            "subscription { stockLevelChanged(skus: [\"DROP-SNEAKER-LTD\"]) {
                movement { type quantityDelta reservedDelta safetyStockDelta safetyStockAfter createdBy }
                stockLevel { quantity safetyStock available }
            } }",
            json!({}),
        )
        .await;
        set(&app, &admin, 5).await;
        assert_eq!(
            live.next_event().await,
            json!({
                "movement": { "type": "SAFETY_STOCK", "quantityDelta": 0, "reservedDelta": 0,
                              "safetyStockDelta": 5, "safetyStockAfter": 5, "createdBy": "buyer" },
                "stockLevel": { "quantity": 100, "safetyStock": 5, "available": 95 }
            })
        );
        let movements = app.scalar("SELECT COUNT(*) FROM inventory_movements").await;
        let version = set(&app, &admin, 5).await["version"].clone();
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements").await, movements, "the same value again changes nothing");
        let back = set(&app, &admin, 0).await;
        assert_eq!(back["available"], 100);
        assert_eq!(back["version"].as_i64().unwrap(), version.as_i64().unwrap() + 1);
        assert_eq!(live.next_event().await["movement"]["safetyStockDelta"], -5);

        let trail = app
            .graphql_as(
                &admin,
                "{ movements(sku: \"DROP-SNEAKER-LTD\", first: 2) { edges { node { type safetyStockDelta safetyStockAfter } } } }",
                json!({}),
            )
            .await;
        let types: Vec<Value> = data(&trail)["movements"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        assert_eq!(types, [
            json!({ "type": "SAFETY_STOCK", "safetyStockDelta": -5, "safetyStockAfter": 0 }),
            json!({ "type": "SAFETY_STOCK", "safetyStockDelta": 5, "safetyStockAfter": 5 }),
        ]);
        assert_books_balance(&app).await;
    }

    async fn a_bad_safety_stock_is_refused_and_changes_nothing(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let before = footprint(&app).await;
        for (sku, code, units, field) in [
            (HOT_SKU, HOT_SKU_WAREHOUSE, -1, "units"),
            (HOT_SKU, HOT_SKU_WAREHOUSE, 1_000_000_001, "units"),
            ("NO-SUCH-SKU", HOT_SKU_WAREHOUSE, 1, "sku"),
            (HOT_SKU, "NOWHERE", 1, "warehouseCode"),
            ("bad sku", HOT_SKU_WAREHOUSE, 1, "sku"),
        ] {
            let response = app
                .graphql_as(&admin, SET, json!({ "sku": sku, "code": code, "units": units }))
                .await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
            assert!(error_message(&response).starts_with(field), "{field}: {response}");
        }
        let response = app
            .graphql_as(&checkout, SET, json!({ "sku": HOT_SKU, "code": HOT_SKU_WAREHOUSE, "units": 1 }))
            .await;
        assert_eq!(error_code(&response), Some("FORBIDDEN"), "{response}");
        assert_eq!(footprint(&app).await, before, "nothing was written");
    }
}
