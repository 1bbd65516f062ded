use serde_json::{Value, json};
use stockroute::demo::{HOT_SKU, HOT_SKU_WAREHOUSE};

use crate::{
    helpers::{data, error_code, error_message},
    on_both_backends,
};

const PRODUCTS_PAGE: &str = "query($first: Int, $after: String) {
    products(first: $first, after: $after) {
        edges { cursor node { id sku name weightGrams } }
        pageInfo { hasNextPage endCursor }
    }
}";

const WAREHOUSES_NEAR: &str = "query($near: LocationInput, $radius: Float) {
    warehouses(near: $near, radiusKm: $radius) {
        code active
        distanceKm(from: {latitude: 52.52, longitude: 13.405})
    }
}";

fn codes(warehouses: &Value) -> Vec<&str> {
    warehouses
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect()
}

on_both_backends! {
    async fn walking_every_product_page_yields_each_product_once_in_sku_order(app) {
        let total = app.scalar("SELECT COUNT(*) FROM products").await;
        let mut seen: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let response = app.graphql(PRODUCTS_PAGE, json!({ "first": 7, "after": after })).await;
            let page = &data(&response)["products"];
            for edge in page["edges"].as_array().unwrap() {
                seen.push(edge["node"]["sku"].as_str().unwrap().to_owned());
            }
            if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = Some(page["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
        }
        assert_eq!(seen.len() as i64, total);
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "pages come in SKU order without repeats");
    }

    async fn a_page_size_outside_one_to_a_hundred_is_bad_user_input(app) {
        for first in [0, -1, 101] {
            let response = app.graphql(PRODUCTS_PAGE, json!({ "first": first })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "first = {first}");
            assert!(error_message(&response).contains("first"), "{response}");
        }
        let full = app.graphql(PRODUCTS_PAGE, json!({ "first": 100 })).await;
        assert_eq!(data(&full)["products"]["edges"].as_array().unwrap().len(), 61);
    }

    async fn an_absent_or_null_page_size_means_fifty(app) {
        for variables in [json!({}), json!({ "first": null })] {
            let response = app.graphql(PRODUCTS_PAGE, variables.clone()).await;
            let edges = data(&response)["products"]["edges"].as_array().unwrap().len();
            assert_eq!(edges, 50, "{variables}");
        }
        let levels = app
            .graphql("{ warehouse(code: \"BER1\") { stockLevels(first: null) { edges { cursor } } } }", json!({}))
            .await;
        assert!(!data(&levels)["warehouse"]["stockLevels"]["edges"].as_array().unwrap().is_empty());
    }

    async fn a_cursor_the_api_did_not_issue_is_bad_user_input(app) {
        for after in ["garbage", "", "bW92ZW1lbnQ6MQ"] {
            let response = app.graphql(PRODUCTS_PAGE, json!({ "first": 5, "after": after })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "after = {after:?}");
        }
    }

    async fn a_product_is_found_by_sku_and_an_unknown_sku_is_null(app) {
        let query = "query($sku: String!) { product(sku: $sku) { sku name weightGrams } }";
        let hot = app.graphql(query, json!({ "sku": HOT_SKU })).await;
        assert_eq!(data(&hot)["product"]["sku"], HOT_SKU);
        assert!(data(&hot)["product"]["weightGrams"].as_i64().unwrap() > 0);
        let unknown = app.graphql(query, json!({ "sku": "NO-SUCH-SKU" })).await;
        assert_eq!(data(&unknown)["product"], Value::Null);
    }

    async fn a_warehouse_shows_its_location_as_wkt_and_its_shipping_rate(app) {
        let response = app.graphql(
            "{ warehouse(code: \"TYO1\") {
                code name city active
                location { latitude longitude wkt }
                shippingRate { baseCents centsPer100Km centsPerKg }
            } }",
            json!({}),
        ).await;
        let tokyo = &data(&response)["warehouse"];
        assert_eq!(tokyo["city"], "Tokyo");
        assert_eq!(tokyo["location"]["wkt"], "POINT(139.6503 35.6762)");
        assert_eq!(tokyo["location"]["latitude"], 35.6762);
        assert!(tokyo["shippingRate"]["baseCents"].as_i64().unwrap() > 0);
        let none = app.graphql("{ warehouse(code: \"NOPE\") { code } }", json!({})).await;
        assert_eq!(data(&none)["warehouse"], Value::Null);
    }

    async fn warehouses_near_a_point_come_nearest_first(app) {
        let response = app.graphql(
            WAREHOUSES_NEAR,
            json!({ "near": { "latitude": 52.52, "longitude": 13.405 } }),
        ).await;
        let list = &data(&response)["warehouses"];
        let all = app.scalar("SELECT COUNT(*) FROM warehouses").await;
        assert_eq!(list.as_array().unwrap().len() as i64, all);
        let distances: Vec<f64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["distanceKm"].as_f64().unwrap())
            .collect();
        assert!(distances.windows(2).all(|pair| pair[0] <= pair[1]), "{distances:?}");
        assert_eq!(codes(list)[0], HOT_SKU_WAREHOUSE, "Berlin is nearest to Berlin");
        assert_eq!(*codes(list).last().unwrap(), "SYD1");

        let by_code = app.graphql(WAREHOUSES_NEAR, json!({})).await;
        let listed = codes(&data(&by_code)["warehouses"]).into_iter().map(str::to_owned).collect::<Vec<_>>();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(listed, sorted, "without `near` the list is in code order");
    }

    async fn a_radius_keeps_only_the_warehouses_within_it(app) {
        let response = app.graphql(
            WAREHOUSES_NEAR,
            json!({ "near": { "latitude": 52.52, "longitude": 13.405 }, "radius": 1000.0 }),
        ).await;
        let list = &data(&response)["warehouses"];
        let mut found = codes(list);
        for warehouse in list.as_array().unwrap() {
            assert!(warehouse["distanceKm"].as_f64().unwrap() <= 1000.0);
        }
        assert_eq!(found[0], "BER1");
        found.sort();
        assert_eq!(found, vec!["BER1", "LON1", "MIL1", "PAR1", "WAW1"]);
    }

    async fn a_bad_radius_or_a_radius_without_a_point_is_bad_user_input(app) {
        let near = json!({ "latitude": 52.52, "longitude": 13.405 });
        for (variables, needle) in [
            (json!({ "radius": 10.0 }), "radiusKm"),
            (json!({ "near": near, "radius": 0.0 }), "radiusKm"),
            (json!({ "near": near, "radius": -5.0 }), "radiusKm"),
            (json!({ "near": { "latitude": 91.0, "longitude": 0.0 } }), "near.latitude"),
            (json!({ "near": { "latitude": 0.0, "longitude": -180.5 } }), "near.longitude"),
        ] {
            let response = app.graphql(WAREHOUSES_NEAR, variables.clone()).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{variables}");
            assert!(error_message(&response).contains(needle), "{response}");
        }
    }

    async fn distance_from_a_point_is_geodesic_kilometres(app) {
        let response = app.graphql(
            "{ warehouse(code: \"PAR1\") { distanceKm(from: {latitude: 52.52, longitude: 13.405}) } }",
            json!({}),
        ).await;
        let km = data(&response)["warehouse"]["distanceKm"].as_f64().unwrap();
        assert!((km - 878.0).abs() < 3.0, "Paris-Berlin is about 878 km, got {km}");
        let bad = app.graphql(
            "{ warehouse(code: \"PAR1\") { distanceKm(from: {latitude: 0, longitude: 200}) } }",
            json!({}),
        ).await;
        assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));
        assert!(error_message(&bad).contains("from.longitude"));
    }
}
