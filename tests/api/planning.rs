use serde_json::{Value, json};
use stockroute::{
    demo::{HOT_SKU, HOT_SKU_UNITS, HOT_SKU_WAREHOUSE},
    planner::SearchBudget,
};

use crate::{
    helpers::{TestApp, data, error_code, error_message},
    on_both_backends,
};

const PLAN: &str = "query($input: PlanInput!) { planFulfilment(input: $input) {
    strategy feasible shipmentCount totalCostCents totalDistanceKm explanation optimal lowerBoundCents gapPercent
    shortages { sku requested available }
    shipments { distanceKm weightGrams costCents warehouse { code } lines { sku quantity product { sku weightGrams } } }
} }";

const COMPARE: &str = "query($lines: [OrderLineInput!]!, $to: LocationInput!) {
    compareStrategies(lines: $lines, shipTo: $to) {
        strategy feasible shipmentCount totalCostCents explanation
        shipments { costCents warehouse { code } lines { sku quantity } }
    }
}";

fn berlin() -> Value {
    json!({ "latitude": 52.52, "longitude": 13.405 })
}

/// Two SKUs in stock that no single active warehouse holds together.
async fn skus_apart(app: &TestApp) -> (String, String) {
    let row = app
        .scalar_text(
            "SELECT a.sku || ' ' || b.sku FROM products a, products b
             WHERE a.sku < b.sku
               AND EXISTS (SELECT 1 FROM inventory i JOIN warehouses w ON w.id = i.warehouse_id
                           WHERE i.product_id = a.id AND w.active AND i.quantity > i.reserved)
               AND EXISTS (SELECT 1 FROM inventory i JOIN warehouses w ON w.id = i.warehouse_id
                           WHERE i.product_id = b.id AND w.active AND i.quantity > i.reserved)
               AND NOT EXISTS (SELECT 1 FROM inventory i JOIN inventory j ON j.warehouse_id = i.warehouse_id
                               JOIN warehouses w ON w.id = i.warehouse_id
                               WHERE i.product_id = a.id AND j.product_id = b.id AND w.active
                                 AND i.quantity > i.reserved AND j.quantity > j.reserved)
             ORDER BY a.sku, b.sku LIMIT 1",
        )
        .await;
    let (a, b) = row.split_once(' ').unwrap();
    (a.to_owned(), b.to_owned())
}

on_both_backends! {
    async fn a_plan_ships_the_order_from_real_warehouses_and_says_why(app) {
        let response = app
            .graphql(PLAN, json!({ "input": {
                "lines": [{ "sku": HOT_SKU, "quantity": 2 }], "shipTo": berlin()
            } }))
            .await;
        let plan = &data(&response)["planFulfilment"];
        assert_eq!(plan["strategy"], "NEAREST", "NEAREST is the default");
        assert_eq!(plan["feasible"], true);
        assert_eq!(plan["shipmentCount"], 1);
        assert_eq!(plan["shipments"][0]["warehouse"]["code"], HOT_SKU_WAREHOUSE);
        let line = &plan["shipments"][0]["lines"][0];
        assert_eq!(line["quantity"], 2);
        assert_eq!(line["product"]["sku"], HOT_SKU);
        assert_eq!(
            plan["shipments"][0]["weightGrams"].as_i64().unwrap(),
            2 * line["product"]["weightGrams"].as_i64().unwrap()
        );
        assert_eq!(plan["totalCostCents"], plan["shipments"][0]["costCents"]);
        assert!(plan["explanation"][0].as_str().unwrap().contains("Berlin"), "{plan}");
        assert_eq!(plan["optimal"], true);
    }

    async fn comparing_strategies_gives_one_plan_each_and_cheapest_costs_least(app) {
        let lines = json!([
            { "sku": "TENT-2P-GRN", "quantity": 3 },
            { "sku": "TENT-4P-RED", "quantity": 2 },
            { "sku": "TENT-2P-BLU", "quantity": 1 }
        ]);
        let response = app.graphql(COMPARE, json!({ "lines": lines, "to": berlin() })).await;
        let plans = data(&response)["compareStrategies"].as_array().unwrap().clone();
        let strategies: Vec<&str> = plans.iter().map(|p| p["strategy"].as_str().unwrap()).collect();
        assert_eq!(strategies, ["NEAREST", "CHEAPEST", "BALANCED", "SPLIT"]);
        let cost = |p: &Value| p["totalCostCents"].as_i64().unwrap();
        let count = |p: &Value| p["shipmentCount"].as_i64().unwrap();
        for plan in &plans {
            assert_eq!(plan["feasible"], true, "{plan}");
            assert!(cost(&plans[1]) <= cost(plan), "CHEAPEST beats {}", plan["strategy"]);
            assert!(count(&plans[3]) <= count(plan), "SPLIT has the fewest shipments");
            let shipped: i64 = plan["shipments"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["lines"].as_array().unwrap().iter())
                .map(|l| l["quantity"].as_i64().unwrap())
                .sum();
            assert_eq!(shipped, 6, "every plan ships exactly the order");
        }
    }

    async fn an_order_the_stock_cannot_cover_is_infeasible_not_an_error(app) {
        let response = app
            .graphql(PLAN, json!({ "input": {
                "lines": [{ "sku": HOT_SKU, "quantity": HOT_SKU_UNITS + 1 }],
                "shipTo": berlin(), "strategy": "CHEAPEST"
            } }))
            .await;
        let plan = &data(&response)["planFulfilment"];
        assert_eq!(plan["feasible"], false);
        assert_eq!(plan["shipments"], json!([]));
        assert_eq!(
            plan["shortages"],
            json!([{ "sku": HOT_SKU, "requested": HOT_SKU_UNITS + 1, "available": HOT_SKU_UNITS }])
        );
    }

    async fn a_shipment_cap_that_cannot_be_met_makes_the_plan_infeasible(app) {
        let (a, b) = skus_apart(&app).await;
        let lines = json!([{ "sku": a, "quantity": 1 }, { "sku": b, "quantity": 1 }]);
        for strategy in ["NEAREST", "CHEAPEST", "BALANCED", "SPLIT"] {
            let capped = app
                .graphql(PLAN, json!({ "input": {
                    "lines": lines, "shipTo": berlin(), "strategy": strategy, "maxShipments": 1
                } }))
                .await;
            let plan = &data(&capped)["planFulfilment"];
            assert_eq!(plan["feasible"], false, "{strategy}");
            assert_eq!(plan["shortages"], json!([]));
            assert!(plan["explanation"][0].as_str().unwrap().contains("at least 2 shipments"), "{plan}");
        }
        let uncapped = app
            .graphql(PLAN, json!({ "input": { "lines": lines, "shipTo": berlin(), "maxShipments": 2 } }))
            .await;
        assert_eq!(data(&uncapped)["planFulfilment"]["shipmentCount"], 2);
    }

    async fn a_smaller_plan_budget_stops_sooner_and_says_how_far_it_may_be(app) {
        // Two units each of eight SKUs in stock: an order spread over
        // several warehouses.
        let skus = app
            .scalar_text(
                "SELECT string_agg(sku, ' ') FROM (SELECT p.sku FROM products p
                 JOIN inventory i ON i.product_id = p.id JOIN warehouses w ON w.id = i.warehouse_id
                 WHERE w.active GROUP BY p.sku HAVING SUM(i.quantity - i.reserved) >= 2
                 ORDER BY p.sku LIMIT 8) s",
            )
            .await;
        let lines: Vec<Value> = skus.split(' ').map(|sku| json!({ "sku": sku, "quantity": 2 })).collect();
        let input = json!({ "input": { "lines": lines, "shipTo": berlin(), "strategy": "CHEAPEST" } });
        let starved = app.replica(|config| config.plan_budget = SearchBudget { nodes: 1 }).await;

        let full = app.graphql(PLAN, input.clone()).await;
        let full = &data(&full)["planFulfilment"];
        assert_eq!(full["optimal"], true, "{full}");
        assert_eq!(full["gapPercent"], 0.0);
        assert_eq!(full["lowerBoundCents"], full["totalCostCents"]);

        let cut = starved.graphql(PLAN, input).await;
        let cut = &data(&cut)["planFulfilment"];
        let cents = |plan: &Value, field: &str| plan[field].as_i64().unwrap();
        assert_eq!(cut["feasible"], true, "{cut}");
        assert_eq!(cut["optimal"], false, "{cut}");
        assert!(cents(cut, "lowerBoundCents") <= cents(full, "totalCostCents"), "{cut}");
        assert!(cents(full, "totalCostCents") <= cents(cut, "totalCostCents"), "{cut}");
        assert!(cut["gapPercent"].as_f64().unwrap() > 0.0, "{cut}");
        let said = cut["explanation"].to_string();
        assert!(said.contains("budget") && said.contains("above the cheapest possible"), "{said}");
    }

    async fn planning_reserves_nothing(app) {
        let movements = app.scalar("SELECT COUNT(*) FROM inventory_movements").await;
        let reserved = app.scalar("SELECT SUM(reserved) FROM inventory").await;
        let response = app
            .graphql(COMPARE, json!({ "lines": [{ "sku": HOT_SKU, "quantity": 50 }], "to": berlin() }))
            .await;
        data(&response);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements").await, movements);
        assert_eq!(app.scalar("SELECT SUM(reserved) FROM inventory").await, reserved);
    }

    async fn a_malformed_order_is_bad_user_input_naming_the_field(app) {
        let many: Vec<Value> = (0..101).map(|i| json!({ "sku": format!("S{i}"), "quantity": 1 })).collect();
        for (input, field) in [
            (json!({ "lines": [{ "sku": "NO-SUCH", "quantity": 1 }], "shipTo": berlin() }), "lines[0].sku"),
            (json!({ "lines": [{ "sku": HOT_SKU, "quantity": 1 }, { "sku": HOT_SKU, "quantity": 2 }], "shipTo": berlin() }), "lines[1].sku"),
            (json!({ "lines": [{ "sku": HOT_SKU, "quantity": 0 }], "shipTo": berlin() }), "lines[0].quantity"),
            (json!({ "lines": [{ "sku": HOT_SKU, "quantity": 1_000_001 }], "shipTo": berlin() }), "lines[0].quantity"),
            (json!({ "lines": [], "shipTo": berlin() }), "lines"),
            (json!({ "lines": many, "shipTo": berlin() }), "lines"),
            (json!({ "lines": [{ "sku": HOT_SKU, "quantity": 1 }], "shipTo": { "latitude": 91, "longitude": 0 } }), "shipTo.latitude"),
            (json!({ "lines": [{ "sku": HOT_SKU, "quantity": 1 }], "shipTo": berlin(), "maxShipments": 0 }), "maxShipments"),
        ] {
            let response = app.graphql(PLAN, json!({ "input": input })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{input}");
            assert!(error_message(&response).starts_with(field), "{field}: {response}");
        }
    }
}
