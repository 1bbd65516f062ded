//! Admin operations: adding products and warehouses; receiving, returning,
//! writing off, counting and transferring stock; the ledger they write.

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_UNITS, HOT_SKU_WAREHOUSE},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

const LEVEL: &str =
    "sku: product { sku } code: warehouse { code } quantity reserved available version";

fn change(field: &str) -> String {
    format!("mutation($input: StockChangeInput!) {{ {field}(input: $input) {{ {LEVEL} }} }}")
}

fn set_stock() -> String {
    format!("mutation($input: SetStockInput!) {{ setStock(input: $input) {{ {LEVEL} }} }}")
}

fn transfer() -> String {
    format!(
        "mutation($input: TransferStockInput!) {{ transferStock(input: $input) {{
            from {{ {LEVEL} }} to {{ {LEVEL} }} }} }}"
    )
}

fn units(sku: &str, code: &str, quantity: i64) -> Value {
    json!({ "sku": sku, "warehouseCode": code, "quantity": quantity })
}

/// The newest movements of a SKU in a warehouse, newest first.
async fn latest_movements(app: &TestApp, key: &str, sku: &str, code: &str, n: i32) -> Vec<Value> {
    let response = app
        .graphql_as(
            key,
            "query($sku: String, $code: String, $n: Int) { movements(sku: $sku, warehouseCode: $code, first: $n) {
                edges { node { id sku warehouseCode type quantityDelta reservedDelta quantityAfter reservedAfter referenceId createdBy createdAt } }
            } }",
            json!({ "sku": sku, "code": code, "n": n }),
        )
        .await;
    data(&response)["movements"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// A SKU and two active warehouses holding it, the first with at least
/// `units` available.
async fn stocked_twice(app: &TestApp, units: i32) -> (String, String, String) {
    let row = app
        .scalar_text(&format!(
            "SELECT p.sku || ' ' || a.code || ' ' || b.code FROM products p
             JOIN inventory i ON i.product_id = p.id JOIN warehouses a ON a.id = i.warehouse_id
             JOIN inventory j ON j.product_id = p.id JOIN warehouses b ON b.id = j.warehouse_id
             WHERE a.active AND b.active AND a.id <> b.id AND i.quantity - i.reserved >= {units}
             ORDER BY p.sku, a.code, b.code LIMIT 1"
        ))
        .await;
    let mut parts = row.split(' ').map(str::to_owned);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

on_both_backends! {
    async fn an_admin_adds_a_product_and_a_warehouse_and_stocks_it(app) {
        let key = app.create_key(KeyRole::Admin, "dashboard").await;
        let product = app.graphql_as(
            &key,
            "mutation { createProduct(input: { sku: \"KAYAK-1P\", name: \"  Solo kayak \", weightGrams: 18000 }) { sku name weightGrams stockLevels { quantity } } }",
            json!({}),
        ).await;
        assert_eq!(
            data(&product)["createProduct"],
            json!({ "sku": "KAYAK-1P", "name": "Solo kayak", "weightGrams": 18000, "stockLevels": [] })
        );
        let warehouse = app.graphql_as(
            &key,
            "mutation { createWarehouse(input: { code: \"OSL1\", name: \"Oslo fjord\", city: \"Oslo\",
                location: { latitude: 59.91, longitude: 10.75 },
                shippingRate: { baseCents: 600, centsPer100Km: 40, centsPerKg: 90 } }) {
                code name city active location { latitude longitude } shippingRate { baseCents centsPer100Km centsPerKg } } }",
            json!({}),
        ).await;
        assert_eq!(
            data(&warehouse)["createWarehouse"],
            json!({ "code": "OSL1", "name": "Oslo fjord", "city": "Oslo", "active": true,
                    "location": { "latitude": 59.91, "longitude": 10.75 },
                    "shippingRate": { "baseCents": 600, "centsPer100Km": 40, "centsPerKg": 90 } })
        );

        // Taken names are conflicts, and write nothing.
        let before = footprint(&app).await;
        let again = app.graphql_as(&key, "mutation { createProduct(input: { sku: \"KAYAK-1P\", name: \"Other\", weightGrams: 1 }) { sku } }", json!({})).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again:#}");
        let again = app.graphql_as(&key, "mutation { createWarehouse(input: { code: \"BER1\", name: \"x\", location: { latitude: 0, longitude: 0 }, shippingRate: { baseCents: 0, centsPer100Km: 0, centsPerKg: 0 } }) { code } }", json!({})).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again:#}");
        assert_eq!(footprint(&app).await, before);

        // The first receipt creates the stock level.
        let mut input = units("KAYAK-1P", "OSL1", 12);
        input["referenceId"] = json!("PO-4711");
        let received = app.graphql_as(&key, &change("receiveStock"), json!({ "input": input })).await;
        assert_eq!(
            data(&received)["receiveStock"],
            json!({ "sku": { "sku": "KAYAK-1P" }, "code": { "code": "OSL1" }, "quantity": 12, "reserved": 0, "available": 12, "version": 1 })
        );
        let ledger = latest_movements(&app, &key, "KAYAK-1P", "OSL1", 10).await;
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0]["type"], "RESTOCK");
        assert_eq!(ledger[0]["quantityDelta"], 12);
        assert_eq!(ledger[0]["quantityAfter"], 12);
        assert_eq!(ledger[0]["referenceId"], "PO-4711");
        assert_eq!(ledger[0]["createdBy"], "dashboard");
        let available = app.graphql("{ availability(skus: [\"KAYAK-1P\"]) { available warehouses { warehouse { code } } } }", json!({})).await;
        assert_eq!(data(&available)["availability"][0]["available"], 12);
        assert_books_balance(&app).await;
    }

    async fn returns_write_offs_and_counts_move_stock_and_are_recorded(app) {
        let key = app.create_key(KeyRole::Admin, "warehouse-team").await;
        let (sku, code, _) = stocked_twice(&app, 10).await;
        let level = |response: &Value, field: &str| data(response)[field].clone();

        let returned = app.graphql_as(&key, &change("returnStock"), json!({ "input": units(&sku, &code, 3) })).await;
        let after_return = level(&returned, "returnStock");
        let written_off = app.graphql_as(&key, &change("writeOffStock"), json!({ "input": units(&sku, &code, 5) })).await;
        let after_write_off = level(&written_off, "writeOffStock");
        assert_eq!(after_write_off["quantity"].as_i64(), Some(after_return["quantity"].as_i64().unwrap() - 5));
        assert_eq!(after_write_off["version"].as_i64(), Some(after_return["version"].as_i64().unwrap() + 1));

        // A count with the version just read wins; one with an old version loses.
        let mut count = units(&sku, &code, 7);
        count["expectedVersion"] = after_write_off["version"].clone();
        let counted = app.graphql_as(&key, &set_stock(), json!({ "input": count })).await;
        assert_eq!(level(&counted, "setStock")["quantity"], 7);
        let before = footprint(&app).await;
        let stale = app.graphql_as(&key, &set_stock(), json!({ "input": count })).await;
        assert_eq!(error_code(&stale), Some("CONFLICT"), "{stale:#}");
        assert!(error_message(&stale).contains("version"), "{stale:#}");
        assert_eq!(footprint(&app).await, before);

        let ledger = latest_movements(&app, &key, &sku, &code, 3).await;
        let kinds: Vec<&str> = ledger.iter().map(|m| m["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["ADJUSTMENT", "DAMAGE", "RETURN"]);
        assert_eq!(ledger[0]["quantityAfter"], 7);
        assert_eq!(
            ledger[0]["quantityDelta"].as_i64(),
            Some(7 - after_write_off["quantity"].as_i64().unwrap())
        );
        assert_eq!(ledger[1]["quantityDelta"], -5);
        assert!(ledger.iter().all(|m| m["createdBy"] == "warehouse-team"));
        assert_books_balance(&app).await;
    }

    async fn reserved_units_can_be_neither_written_off_nor_counted_away(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        // Hold 60 of the hot SKU's 100 units.
        let hold = app.graphql_as(
            &checkout,
            "mutation($input: ReserveOrderInput!) { reserveOrder(input: $input) { __typename } }",
            json!({ "input": { "reservationId": Uuid::new_v4(), "lines": [{ "sku": HOT_SKU, "quantity": 60 }],
                               "shipTo": { "latitude": 52.52, "longitude": 13.405 } } }),
        ).await;
        assert_eq!(data(&hold)["reserveOrder"]["__typename"], "Reservation");
        let before = footprint(&app).await;
        let too_much = app.graphql_as(&admin, &change("writeOffStock"), json!({ "input": units(HOT_SKU, HOT_SKU_WAREHOUSE, 41) })).await;
        assert_eq!(error_code(&too_much), Some("CONFLICT"), "{too_much:#}");
        assert!(error_message(&too_much).contains("only 40 units"), "{too_much:#}");
        let below = app.graphql_as(&admin, &set_stock(), json!({ "input": units(HOT_SKU, HOT_SKU_WAREHOUSE, 59) })).await;
        assert_eq!(error_code(&below), Some("CONFLICT"), "{below:#}");
        assert!(error_message(&below).contains("60 units"), "{below:#}");
        assert_eq!(footprint(&app).await, before);
        let exactly = app.graphql_as(&admin, &change("writeOffStock"), json!({ "input": units(HOT_SKU, HOT_SKU_WAREHOUSE, 40) })).await;
        assert_eq!(data(&exactly)["writeOffStock"]["available"], 0);
        assert_books_balance(&app).await;
    }

    async fn two_admins_counting_the_same_version_at_once_one_wins(app) {
        let first = app.create_key(KeyRole::Admin, "counter-a").await;
        let second = app.create_key(KeyRole::Admin, "counter-b").await;
        let (sku, code, _) = stocked_twice(&app, 1).await;
        for round in 0..10 {
            let version = app.scalar(&format!(
                "SELECT CAST(i.version AS BIGINT) FROM inventory i JOIN products p ON p.id = i.product_id
                 JOIN warehouses w ON w.id = i.warehouse_id WHERE p.sku = '{sku}' AND w.code = '{code}'"
            )).await;
            let count = |n: i64| {
                let mut input = units(&sku, &code, n);
                input["expectedVersion"] = json!(version);
                json!({ "input": input })
            };
            let query = set_stock();
            let (a, b) = tokio::join!(
                app.graphql_as(&first, &query, count(100 + round)),
                app.graphql_as(&second, &query, count(200 + round)),
            );
            let outcomes = [error_code(&a), error_code(&b)];
            assert!(
                outcomes == [None, Some("CONFLICT")] || outcomes == [Some("CONFLICT"), None],
                "round {round}: {a:#} {b:#}"
            );
        }
        assert_books_balance(&app).await;
    }

    async fn a_transfer_moves_units_in_one_step_and_never_more_than_available(app) {
        let key = app.create_key(KeyRole::Admin, "ops").await;
        // BER1 -> a warehouse that has never held the hot SKU.
        let destination = app.scalar_text(&format!(
            "SELECT code FROM warehouses w WHERE active AND code <> '{HOT_SKU_WAREHOUSE}' ORDER BY code LIMIT 1"
        )).await;
        let input = |n: i64| json!({ "input": { "sku": HOT_SKU, "fromWarehouseCode": HOT_SKU_WAREHOUSE,
                                               "toWarehouseCode": destination, "quantity": n, "referenceId": "T-1" } });
        let moved = app.graphql_as(&key, &transfer(), input(30)).await;
        let moved = &data(&moved)["transferStock"];
        assert_eq!(moved["from"]["quantity"].as_i64(), Some(i64::from(HOT_SKU_UNITS) - 30));
        assert_eq!(moved["to"]["quantity"], 30);
        assert_eq!(moved["to"]["code"]["code"].as_str(), Some(destination.as_str()));
        let out = latest_movements(&app, &key, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
        let into = latest_movements(&app, &key, HOT_SKU, &destination, 1).await;
        assert_eq!((out[0]["type"].as_str(), out[0]["quantityDelta"].as_i64()), (Some("TRANSFER_OUT"), Some(-30)));
        assert_eq!((into[0]["type"].as_str(), into[0]["quantityDelta"].as_i64()), (Some("TRANSFER_IN"), Some(30)));
        assert_eq!(into[0]["referenceId"], "T-1");
        let id = |m: &Value| m["id"].as_str().unwrap().parse::<i64>().unwrap();
        assert_eq!(id(&into[0]), id(&out[0]) + 1, "out, then in, in the ledger");
        // Back the other way: the rows are locked in warehouse order, the
        // ledger still reads out, then in.
        let back = app.graphql_as(&key, &transfer(), json!({ "input": { "sku": HOT_SKU, "fromWarehouseCode": destination,
            "toWarehouseCode": HOT_SKU_WAREHOUSE, "quantity": 5 } })).await;
        assert_eq!(data(&back)["transferStock"]["to"]["quantity"].as_i64(), Some(i64::from(HOT_SKU_UNITS) - 25));
        let out = latest_movements(&app, &key, HOT_SKU, &destination, 1).await;
        let into = latest_movements(&app, &key, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
        assert_eq!((out[0]["type"].as_str(), into[0]["type"].as_str()), (Some("TRANSFER_OUT"), Some("TRANSFER_IN")));
        assert_eq!(id(&into[0]), id(&out[0]) + 1, "out, then in, in the ledger");

        let before = footprint(&app).await;
        let too_much = app.graphql_as(&key, &transfer(), input(76)).await;
        assert_eq!(error_code(&too_much), Some("CONFLICT"), "{too_much:#}");
        assert!(error_message(&too_much).contains("only 75 units"), "{too_much:#}");
        let same = app.graphql_as(&key, &transfer(), json!({ "input": { "sku": HOT_SKU, "fromWarehouseCode": HOT_SKU_WAREHOUSE,
            "toWarehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 } })).await;
        assert_eq!(error_code(&same), Some("BAD_USER_INPUT"), "{same:#}");
        assert_eq!(footprint(&app).await, before);
        assert_books_balance(&app).await;
    }

    async fn transfers_racing_reservations_never_make_available_negative(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let destination = app.scalar_text(&format!(
            "SELECT code FROM warehouses WHERE active AND code <> '{HOT_SKU_WAREHOUSE}' ORDER BY code DESC LIMIT 1"
        )).await;
        let reserve = "mutation($input: ReserveOrderInput!) { reserveOrder(input: $input) { __typename } }";
        let transfer = transfer();
        let racers = (0..120).map(|i| {
            let (admin, checkout, destination, transfer) = (&admin, &checkout, &destination, &transfer);
            let app = &app;
            async move {
                if i % 3 == 0 {
                    let response = app.graphql_as(admin, transfer, json!({ "input": { "sku": HOT_SKU,
                        "fromWarehouseCode": HOT_SKU_WAREHOUSE, "toWarehouseCode": destination, "quantity": 3 } })).await;
                    match error_code(&response) {
                        None => ("moved", 3),
                        Some("CONFLICT") => ("refused", 0),
                        other => panic!("transfer: {other:?} {response:#}"),
                    }
                } else {
                    // Shipping to BER1's doorstep keeps the hold in BER1 while it has stock.
                    let response = app.graphql_as(checkout, reserve, json!({ "input": {
                        "reservationId": Uuid::new_v4(), "lines": [{ "sku": HOT_SKU, "quantity": 1 }],
                        "shipTo": { "latitude": 52.52, "longitude": 13.405 } } })).await;
                    match data(&response)["reserveOrder"]["__typename"].as_str() {
                        Some("Reservation") => ("held", 1),
                        Some("InsufficientStock") => ("short", 0),
                        other => panic!("reserve: {other:?} {response:#}"),
                    }
                }
            }
        });
        let outcomes = join_all(racers).await;
        let total = |kind: &str| outcomes.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n).sum::<i64>();
        // Every unit is either still in BER1, moved, or held (in BER1 or,
        // once moved, at the destination).
        let in_ber1 = app.scalar(&format!(
            "SELECT CAST(i.quantity AS BIGINT) FROM inventory i JOIN products p ON p.id = i.product_id
             JOIN warehouses w ON w.id = i.warehouse_id WHERE p.sku = '{HOT_SKU}' AND w.code = '{HOT_SKU_WAREHOUSE}'"
        )).await;
        assert_eq!(in_ber1 + total("moved"), i64::from(HOT_SKU_UNITS));
        assert!(total("held") <= i64::from(HOT_SKU_UNITS));
        assert!(total("held") + total("moved") > 0);
        assert_books_balance(&app).await;
    }
}

mod switching_warehouses {
    use super::*;

    const SWITCH: &str = "mutation($code: String!, $active: Boolean!) { setWarehouseActive(code: $code, active: $active) { code active } }";
    const OFFERED: &str = "query($sku: String!) { availability(skus: [$sku]) { available inStock warehouses { warehouse { code } } } }";
    const RESERVE: &str =
        "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }";

    fn order(sku: &str) -> Value {
        json!({ "i": { "reservationId": Uuid::new_v4(), "lines": [{ "sku": sku, "quantity": 1 }],
                       "shipTo": { "latitude": 52.52, "longitude": 13.405 } } })
    }

    on_both_backends! {
        async fn an_inactive_warehouse_is_never_offered_planned_or_reserved_from_until_switched_on(app) {
            let admin = app.create_key(KeyRole::Admin, "ops").await;
            let checkout = app.create_key(KeyRole::Checkout, "till").await;
            // The hot SKU is stocked in one warehouse only; read it once so
            // that the availability cache holds it.
            let before = app.graphql(OFFERED, json!({ "sku": HOT_SKU })).await;
            assert_eq!(data(&before)["availability"][0]["available"], HOT_SKU_UNITS);

            let off = app.graphql_as(&admin, SWITCH, json!({ "code": HOT_SKU_WAREHOUSE, "active": false })).await;
            assert_eq!(data(&off)["setWarehouseActive"], json!({ "code": HOT_SKU_WAREHOUSE, "active": false }));
            let offered = app.graphql(OFFERED, json!({ "sku": HOT_SKU })).await;
            assert_eq!(data(&offered)["availability"][0], json!({ "available": 0, "inStock": false, "warehouses": [] }), "at once, cache or not");
            let reserved = app.graphql_as(&checkout, RESERVE, order(HOT_SKU)).await;
            assert_eq!(data(&reserved)["reserveOrder"]["__typename"], "InsufficientStock");
            // Switching off twice changes nothing more.
            let again = app.graphql_as(&admin, SWITCH, json!({ "code": HOT_SKU_WAREHOUSE, "active": false })).await;
            assert_eq!(data(&again)["setWarehouseActive"]["active"], false);

            let on = app.graphql_as(&admin, SWITCH, json!({ "code": HOT_SKU_WAREHOUSE, "active": true })).await;
            assert_eq!(data(&on)["setWarehouseActive"]["active"], true);
            let reserved = app.graphql_as(&checkout, RESERVE, order(HOT_SKU)).await;
            assert_eq!(data(&reserved)["reserveOrder"]["__typename"], "Reservation", "sellable again at once");
            assert_books_balance(&app).await;
        }

        async fn switching_needs_an_admin_and_a_known_code(app) {
            let checkout = app.create_key(KeyRole::Checkout, "till").await;
            let admin = app.create_key(KeyRole::Admin, "ops").await;
            let before = footprint(&app).await;
            let refused = app.graphql_as(&checkout, SWITCH, json!({ "code": "BER1", "active": false })).await;
            assert_eq!(error_code(&refused), Some("FORBIDDEN"));
            let unknown = app.graphql_as(&admin, SWITCH, json!({ "code": "NOPE1", "active": false })).await;
            assert_eq!(error_code(&unknown), Some("NOT_FOUND"), "{unknown}");
            assert!(error_message(&unknown).contains("NOPE1"));
            let bad = app.graphql_as(&admin, SWITCH, json!({ "code": "", "active": false })).await;
            assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
            assert_eq!(footprint(&app).await, before);
            let still = app.graphql("{ warehouse(code: \"BER1\") { active } }", json!({})).await;
            assert_eq!(data(&still)["warehouse"]["active"], true);
        }
    }
}
