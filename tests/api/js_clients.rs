//! The HTTP surface measured by what we did not write: graphql-http's
//! server audits (the reference GraphQL-over-HTTP test suite), and
//! README's queries through @urql/core and Apollo Client with their
//! defaults, compared with what a plain POST answers.

use serde_json::{Value, json};

use crate::{node, on_both_backends};

/// README's storefront queries ("What to query").
const README_QUERIES: &[(&str, &str)] = &[
    (
        "products",
        "{ products(first: 5) { edges { cursor node { sku name weightGrams } } pageInfo { hasNextPage endCursor } } }",
    ),
    (
        "warehouses near Berlin",
        "{ warehouses(near: { latitude: 52.52, longitude: 13.405 }, radiusKm: 1000) { code city active location { latitude longitude wkt } shippingRate { baseCents centsPer100Km centsPerKg } distanceKm(from: { latitude: 52.52, longitude: 13.405 }) } }",
    ),
    (
        "availability near Munich",
        "{ availability(skus: [\"TENT-2P-GRN\", \"DROP-SNEAKER-LTD\", \"PACK-22L-RED\"], shipTo: { latitude: 48.1351, longitude: 11.582 }) { sku onHand reserved available inStock warehouses { available distanceKm warehouse { code city } } } }",
    ),
    (
        "a warehouse's stock levels",
        "{ warehouse(code: \"BER1\") { stockLevels(first: 10) { edges { node { product { sku name } quantity reserved available version } } pageInfo { hasNextPage endCursor } } } }",
    ),
    (
        "a plan",
        "{ planFulfilment(input: { lines: [{ sku: \"TENT-2P-GRN\", quantity: 3 }, { sku: \"TENT-4P-RED\", quantity: 2 }], shipTo: { latitude: 48.1351, longitude: 11.582 }, strategy: CHEAPEST }) { feasible shipmentCount totalCostCents totalDistanceKm optimal explanation shipments { warehouse { code city } distanceKm weightGrams costCents lines { sku quantity } } } }",
    ),
];

/// `value` without the `__typename` fields Apollo Client adds, and with
/// every number as a float (JavaScript writes 0.0 as 0).
fn comparable(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| *name != "__typename")
                .map(|(name, value)| (name.clone(), comparable(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        Value::Number(number) => json!(number.as_f64()),
        other => other.clone(),
    }
}

on_both_backends! {
    async fn every_graphql_http_server_audit_passes(app) {
        let results = node::run_script("audit.mjs", vec![app.url("/graphql")]).await;
        assert!(results.len() >= 60, "the suite ran: {results:?}");
        let failed: Vec<&Value> = results.iter().filter(|r| r["status"] != "ok").collect();
        assert!(failed.is_empty(), "audits not ok: {failed:#?}");
    }

    async fn urql_and_apollo_client_with_their_defaults_run_readmes_queries(app) {
        let file = tempfile::NamedTempFile::new().unwrap();
        let queries: Vec<Value> = README_QUERIES
            .iter()
            .map(|(name, query)| json!({ "name": name, "query": query }))
            .collect();
        std::fs::write(file.path(), serde_json::to_string(&queries).unwrap()).unwrap();
        let results = node::run_script(
            "clients.mjs",
            vec![app.url("/graphql"), file.path().display().to_string()],
        )
        .await;
        assert_eq!(results.len(), 2 * README_QUERIES.len(), "{results:#?}");
        for result in &results {
            let name = result["name"].as_str().unwrap();
            let query = README_QUERIES.iter().find(|(n, _)| *n == name).unwrap().1;
            let expected = app.graphql(query, json!({})).await;
            assert!(expected.get("errors").is_none(), "{name}: {expected}");
            assert_eq!(result["error"], Value::Null, "{result:#}");
            assert_eq!(comparable(&result["data"]), comparable(&expected["data"]), "{}: {name}", result["client"]);
            // urql sends short queries by GET (its default), Apollo by POST.
            let method = if result["client"] == "urql" { "GET" } else { "POST" };
            assert_eq!(result["method"], method, "{result:#}");
        }
    }
}
