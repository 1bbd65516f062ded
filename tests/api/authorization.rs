//! The authorisation matrix: every root field of the schema has a role, and
//! a caller below it is refused without anything being written.

use serde_json::{Value, json};
use stockroute::{
    auth::{self, KeyRole},
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code},
    invariants::footprint,
    live::Live,
    on_both_backends,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    Public,
    Checkout,
    Admin,
}

/// Every root field with the role it needs and a call that is valid, so
/// that a refusal can only be the role's doing.
/// `inbound[0]` is announced by the table's own call and then received;
/// `inbound[1]` must be announced beforehand, for the table to cancel.
fn matrix(holds: &[Uuid; 3], inbound: &[Uuid; 2]) -> Vec<(&'static str, Needs, String, Value)> {
    let here = json!({ "latitude": 52.52, "longitude": 13.405 });
    let change = json!({ "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 });
    let order = json!([{ "sku": HOT_SKU, "quantity": 1 }]);
    let count = json!({ "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 50 });
    let q = |s: &str| s.to_owned();
    vec![
        (
            "product",
            Needs::Public,
            q("{ product(sku: \"DROP-SNEAKER-LTD\") { sku } }"),
            json!({}),
        ),
        (
            "products",
            Needs::Public,
            q("{ products(first: 1) { edges { cursor } } }"),
            json!({}),
        ),
        (
            "warehouse",
            Needs::Public,
            q("{ warehouse(code: \"BER1\") { code } }"),
            json!({}),
        ),
        (
            "warehouses",
            Needs::Public,
            q("{ warehouses { code } }"),
            json!({}),
        ),
        (
            "availability",
            Needs::Public,
            q("{ availability(skus: [\"DROP-SNEAKER-LTD\"]) { available } }"),
            json!({}),
        ),
        (
            "planFulfilment",
            Needs::Public,
            q(
                "query($o: [OrderLineInput!]!, $to: LocationInput!) { planFulfilment(input: { lines: $o, shipTo: $to }) { feasible } }",
            ),
            json!({ "o": order, "to": here }),
        ),
        (
            "compareStrategies",
            Needs::Public,
            q(
                "query($o: [OrderLineInput!]!, $to: LocationInput!) { compareStrategies(lines: $o, shipTo: $to) { feasible } }",
            ),
            json!({ "o": order, "to": here }),
        ),
        ("viewer", Needs::Public, q("{ viewer { role } }"), json!({})),
        (
            "reservation",
            Needs::Checkout,
            q("query($id: UUID!) { reservation(id: $id) { id } }"),
            json!({ "id": holds[0] }),
        ),
        (
            "movements",
            Needs::Admin,
            q("{ movements(first: 1) { edges { cursor } } }"),
            json!({}),
        ),
        (
            "reconcile",
            Needs::Admin,
            q("{ reconcile { ok } }"),
            json!({}),
        ),
        (
            "reserveOrder",
            Needs::Checkout,
            q("mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }"),
            json!({ "i": { "reservationId": Uuid::new_v4(), "lines": order, "shipTo": here } }),
        ),
        (
            "confirmReservation",
            Needs::Checkout,
            q("mutation($id: UUID!) { confirmReservation(id: $id) { status } }"),
            json!({ "id": holds[0] }),
        ),
        (
            "releaseReservation",
            Needs::Checkout,
            q("mutation($id: UUID!) { releaseReservation(id: $id) { status } }"),
            json!({ "id": holds[1] }),
        ),
        (
            "extendReservation",
            Needs::Checkout,
            q("mutation($id: UUID!) { extendReservation(id: $id, ttlSeconds: 60) { status } }"),
            json!({ "id": holds[2] }),
        ),
        (
            "createProduct",
            Needs::Admin,
            q(
                "mutation { createProduct(input: { sku: \"NEW-1\", name: \"New\", weightGrams: 10 }) { sku } }",
            ),
            json!({}),
        ),
        (
            "createWarehouse",
            Needs::Admin,
            q(
                "mutation { createWarehouse(input: { code: \"NEW1\", name: \"New\", location: { latitude: 1, longitude: 1 }, shippingRate: { baseCents: 1, centsPer100Km: 1, centsPerKg: 1 } }) { code } }",
            ),
            json!({}),
        ),
        (
            "setWarehouseActive",
            Needs::Admin,
            q("mutation { setWarehouseActive(code: \"BER1\", active: false) { active } }"),
            json!({}),
        ),
        (
            "receiveStock",
            Needs::Admin,
            q("mutation($c: StockChangeInput!) { receiveStock(input: $c) { quantity } }"),
            json!({ "c": change }),
        ),
        (
            "returnStock",
            Needs::Admin,
            q("mutation($c: StockChangeInput!) { returnStock(input: $c) { quantity } }"),
            json!({ "c": change }),
        ),
        (
            "writeOffStock",
            Needs::Admin,
            q("mutation($c: StockChangeInput!) { writeOffStock(input: $c) { quantity } }"),
            json!({ "c": change }),
        ),
        (
            "setStock",
            Needs::Admin,
            q("mutation($c: SetStockInput!) { setStock(input: $c) { quantity } }"),
            json!({ "c": count }),
        ),
        (
            "setSafetyStock",
            Needs::Admin,
            q(
                "mutation { setSafetyStock(sku: \"DROP-SNEAKER-LTD\", warehouseCode: \"BER1\", units: 3) { safetyStock } }",
            ),
            json!({}),
        ),
        (
            "transferStock",
            Needs::Admin,
            q(
                "mutation { transferStock(input: { sku: \"DROP-SNEAKER-LTD\", fromWarehouseCode: \"BER1\", toWarehouseCode: \"PAR1\", quantity: 1 }) { to { quantity } } }",
            ),
            json!({}),
        ),
        (
            "expectInbound",
            Needs::Admin,
            q("mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { status } }"),
            json!({ "i": announcement(inbound[0]) }),
        ),
        (
            "receiveInbound",
            Needs::Admin,
            q("mutation($id: UUID!) { receiveInbound(id: $id) { status } }"),
            json!({ "id": inbound[0] }),
        ),
        (
            "cancelInbound",
            Needs::Admin,
            q("mutation($id: UUID!) { cancelInbound(id: $id) { status } }"),
            json!({ "id": inbound[1] }),
        ),
        (
            "setWarehouseCapacity",
            Needs::Admin,
            q(
                "mutation { setWarehouseCapacity(code: \"MAD1\", dailyShipments: 500) { dailyShipmentCapacity } }",
            ),
            json!({}),
        ),
        (
            "repairStock",
            Needs::Admin,
            q("mutation { repairStock { ok } }"),
            json!({}),
        ),
        (
            "stockLevelChanged",
            Needs::Admin,
            q("subscription { stockLevelChanged(after: \"0\") { movement { id } } }"),
            json!({}),
        ),
        (
            "availabilityChanged",
            Needs::Public,
            q("subscription { availabilityChanged(skus: [\"DROP-SNEAKER-LTD\"]) { available } }"),
            json!({}),
        ),
    ]
}

/// 5 units of the hot SKU on their way to its warehouse, in a week.
fn announcement(id: Uuid) -> Value {
    let arrival = chrono::Utc::now() + chrono::Duration::days(7);
    json!({ "id": id, "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 5,
            "expectedAt": arrival.to_rfc3339() })
}

/// Runs `query` as `key` (none: public): over HTTP, or for a subscription
/// over the websocket, returning its first result.
async fn call(app: &TestApp, key: Option<&str>, query: &str, variables: &Value) -> Value {
    if query.starts_with("subscription") {
        let mut live = Live::connect(app, key).await;
        live.subscribe(query, variables.clone()).await;
        return live.next_result().await;
    }
    match key {
        Some(key) => app.graphql_as(key, query, variables.clone()).await,
        None => app.graphql(query, variables.clone()).await,
    }
}

async fn root_fields(app: &TestApp) -> Vec<String> {
    let response = app
        .graphql(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
        )
        .await;
    let schema = &data(&response)["__schema"];
    let mut names = Vec::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        if let Some(fields) = schema[root]["fields"].as_array() {
            names.extend(
                fields
                    .iter()
                    .map(|f| f["name"].as_str().unwrap().to_owned()),
            );
        }
    }
    names
}

on_both_backends! {
    async fn every_root_field_refuses_callers_below_its_role_and_writes_nothing(app) {
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let holds = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        for id in holds {
            let hold = app.graphql_as(
                &checkout,
                "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }",
                json!({ "i": { "reservationId": id, "lines": [{ "sku": HOT_SKU, "quantity": 1 }],
                               "shipTo": { "latitude": 52.52, "longitude": 13.405 } } }),
            ).await;
            assert_eq!(data(&hold)["reserveOrder"]["__typename"], "Reservation");
        }
        let inbound = [Uuid::new_v4(), Uuid::new_v4()];
        let expected = app.graphql_as(
            &admin,
            "mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { status } }",
            json!({ "i": announcement(inbound[1]) }),
        ).await;
        assert_eq!(data(&expected)["expectInbound"]["status"], "EXPECTED");
        let matrix = matrix(&holds, &inbound);

        // The table covers the whole schema: a new field must be placed in it.
        let mut listed: Vec<&str> = matrix.iter().map(|(name, ..)| *name).collect();
        let mut fields = root_fields(&app).await;
        listed.sort_unstable();
        fields.sort_unstable();
        assert_eq!(listed, fields, "every root field has a role in this table");

        let before = footprint(&app).await;
        for (name, needs, query, variables) in &matrix {
            let anonymous = call(&app, None, query, variables).await;
            match needs {
                Needs::Public => assert_eq!(error_code(&anonymous), None, "{name}: {anonymous:#}"),
                Needs::Checkout => assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"), "{name}"),
                Needs::Admin => {
                    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"), "{name}");
                    let weaker = call(&app, Some(&checkout), query, variables).await;
                    assert_eq!(error_code(&weaker), Some("FORBIDDEN"), "{name}: {weaker:#}");
                    assert!(weaker["data"].is_null(), "{name}: nothing ran");
                }
            }
            if *needs != Needs::Public {
                assert!(anonymous["data"].is_null(), "{name}: nothing ran");
            }
        }
        assert_eq!(footprint(&app).await, before, "no refused call wrote anything");

        // With the right key each call is valid: the refusals were the roles'.
        for (name, needs, query, variables) in &matrix {
            let key = if *needs == Needs::Admin { &admin } else { &checkout };
            let allowed = call(&app, Some(key), query, variables).await;
            assert_eq!(error_code(&allowed), None, "{name}: {allowed:#}");
        }
    }

    async fn a_revoked_admin_key_stops_writing_within_the_key_cache_ttl(app) {
        let admin = app.create_key(KeyRole::Admin, "temp-admin").await;
        let receive = "mutation { receiveStock(input: { sku: \"DROP-SNEAKER-LTD\", warehouseCode: \"BER1\", quantity: 1 }) { quantity } }";
        assert_eq!(error_code(&app.graphql_as(&admin, receive, json!({})).await), None);
        auth::revoke_key(&app.db, "temp-admin").await.unwrap();
        tokio::time::sleep(auth::DEFAULT_KEY_CACHE_TTL).await;
        let before = footprint(&app).await;
        let refused = app.graphql_as(&admin, receive, json!({})).await;
        assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused:#}");
        assert_eq!(footprint(&app).await, before);
    }
}
