//! Idempotent admin changes: a receiveStock, returnStock, writeOffStock,
//! setStock or transferStock sent again with its `idempotencyKey` (a retry
//! after a timeout) applies once and answers what the first one did; the
//! key with another input is a CONFLICT that changes nothing.

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};

use crate::{
    helpers::{TestApp, data, error_code},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

const LEVEL: &str = "quantity reserved available version updatedAt";

fn change(field: &str) -> String {
    format!("mutation($input: StockChangeInput!) {{ {field}(input: $input) {{ {LEVEL} }} }}")
}

fn hot(quantity: i64, key: &str) -> Value {
    json!({ "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": quantity, "idempotencyKey": key })
}

async fn movements(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM inventory_movements").await
}

on_both_backends! {
    async fn a_retried_change_applies_once_and_answers_as_the_first(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        for (field, key) in [("receiveStock", "delivery-1"), ("returnStock", "return-1"), ("writeOffStock", "damage-1")] {
            let before = movements(&app).await;
            let first = app.graphql_as(&admin, &change(field), json!({ "input": hot(3, key) })).await;
            let first = data(&first)[field].clone();
            // Something else changes the level in between: the retry still
            // answers what its first attempt did.
            crate::helpers::receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
            let retry = app.graphql_as(&admin, &change(field), json!({ "input": hot(3, key) })).await;
            assert_eq!(data(&retry)[field], first, "{field}");
            assert_eq!(movements(&app).await, before + 2, "{field}: one change and the receipt in between");
        }
        assert_books_balance(&app).await;
    }

    async fn a_key_with_another_input_or_operation_is_a_conflict_that_changes_nothing(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let first = app.graphql_as(&admin, &change("receiveStock"), json!({ "input": hot(5, "note-7") })).await;
        assert!(first.get("errors").is_none(), "{first}");
        let before = footprint(&app).await;
        for (field, input) in [
            ("receiveStock", hot(6, "note-7")),
            ("receiveStock", json!({ "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 5, "idempotencyKey": "note-7", "referenceId": "other" })),
            ("returnStock", hot(5, "note-7")),
        ] {
            let refused = app.graphql_as(&admin, &change(field), json!({ "input": input })).await;
            assert_eq!(error_code(&refused), Some("CONFLICT"), "{field}: {refused}");
            assert!(refused["errors"][0]["message"].as_str().unwrap().contains("note-7"), "{refused}");
        }
        assert_eq!(footprint(&app).await, before, "nothing written");
    }

    async fn a_retried_count_or_transfer_applies_once(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let count = "mutation($input: SetStockInput!) { setStock(input: $input) { quantity version } }";
        let input = json!({ "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 40, "idempotencyKey": "count-3" });
        let first = app.graphql_as(&admin, count, json!({ "input": input })).await;
        crate::helpers::receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 2).await;
        let retry = app.graphql_as(&admin, count, json!({ "input": input })).await;
        assert_eq!(data(&retry), data(&first));
        // The count was not applied again: on hand is 40 + the receipt.
        let now = app.graphql(&format!("{{ product(sku: \"{HOT_SKU}\") {{ stockLevels {{ warehouse {{ code }} quantity }} }} }}"), json!({})).await;
        let levels = data(&now)["product"]["stockLevels"].as_array().unwrap().clone();
        let level = levels.iter().find(|l| l["warehouse"]["code"] == HOT_SKU_WAREHOUSE).unwrap();
        assert_eq!(level["quantity"], 42);

        let transfer = "mutation($input: TransferStockInput!) { transferStock(input: $input) { from { quantity version } to { quantity version } } }";
        let input = json!({ "sku": HOT_SKU, "fromWarehouseCode": HOT_SKU_WAREHOUSE, "toWarehouseCode": "MIL1", "quantity": 4, "idempotencyKey": "move-9" });
        let before = movements(&app).await;
        let first = app.graphql_as(&admin, transfer, json!({ "input": input })).await;
        let retry = app.graphql_as(&admin, transfer, json!({ "input": input })).await;
        assert!(first.get("errors").is_none(), "{first}");
        assert_eq!(data(&retry), data(&first));
        assert_eq!(movements(&app).await, before + 2, "one transfer: out and in");
        assert_books_balance(&app).await;
    }

    async fn concurrent_retries_with_one_key_apply_once(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let before = movements(&app).await;
        let mutation = change("receiveStock");
        let answers = join_all((0..20).map(|_| {
            app.graphql_as(&admin, &mutation, json!({ "input": hot(9, "truck-12") }))
        }))
        .await;
        for answer in &answers {
            assert!(answer.get("errors").is_none(), "{answer}");
            assert_eq!(data(answer), data(&answers[0]), "every retry answers the one change");
        }
        assert_eq!(movements(&app).await, before + 1);
        assert_books_balance(&app).await;
    }

    async fn a_bad_key_is_bad_user_input_and_changes_nothing(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let before = footprint(&app).await;
        for key in [String::new(), "   ".into(), "x".repeat(201), "a\u{0}b".into()] {
            let refused = app.graphql_as(&admin, &change("receiveStock"), json!({ "input": hot(1, &key) })).await;
            assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{key:?}: {refused}");
            assert!(refused["errors"][0]["message"].as_str().unwrap().contains("idempotencyKey"), "{refused}");
        }
        assert_eq!(footprint(&app).await, before);
    }
}
