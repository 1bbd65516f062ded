//! Inbound stock: units on their way to a warehouse are promised by their
//! arrival, never sold as on hand, and every step of their life (announced,
//! received, cancelled) is in the ledger.

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::auth::KeyRole;
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

const SKU: &str = "LAUNCH-SNEAKER";

const INBOUND: &str = "id sku warehouse { code } quantity reserved available expectedAt status receivedAt referenceId";

fn expect_mutation() -> String {
    format!("mutation($i: ExpectInboundInput!) {{ expectInbound(input: $i) {{ {INBOUND} }} }}")
}

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

fn announcement(id: Uuid, code: &str, quantity: i64, expected_at: &str) -> Value {
    json!({ "id": id, "sku": SKU, "warehouseCode": code, "quantity": quantity,
            "expectedAt": expected_at, "referenceId": "PO-4711" })
}

/// A product with nothing on hand anywhere.
async fn launch_product(app: &TestApp, admin: &str) {
    let created = app
        .graphql_as(
            admin,
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { sku } }",
            json!({ "i": { "sku": SKU, "name": "Launch sneaker", "weightGrams": 900 } }),
        )
        .await;
    data(&created);
}

async fn expect(app: &TestApp, admin: &str, input: Value) -> Value {
    app.graphql_as(admin, &expect_mutation(), json!({ "i": input }))
        .await
}

async fn end(app: &TestApp, admin: &str, field: &str, id: Uuid) -> Value {
    app.graphql_as(
        admin,
        &format!("mutation($id: UUID!) {{ {field}(id: $id) {{ {INBOUND} }} }}"),
        json!({ "id": id }),
    )
    .await
}

async fn availability(app: &TestApp, ship_to: Option<Value>) -> Value {
    let response = app
        .graphql(
            "query($skus: [String!]!, $to: LocationInput, $soon: DateTime!, $later: DateTime!) {
                availability(skus: $skus, shipTo: $to) {
                    onHand available inStock
                    incoming { warehouse { code } quantity expectedAt distanceKm }
                    soon: availableToPromise(by: $soon) later: availableToPromise(by: $later)
                }
            }",
            json!({ "skus": [SKU], "to": ship_to, "soon": in_days(2), "later": in_days(4) }),
        )
        .await;
    data(&response)["availability"][0].clone()
}

/// The SKU's movements in warehouse `code`, oldest first.
async fn ledger_of(app: &TestApp, admin: &str, code: &str) -> Vec<Value> {
    let response = app
        .graphql_as(
            admin,
            "query($sku: String!, $code: String!) { movements(sku: $sku, warehouseCode: $code, order: OLDEST_FIRST) {
                edges { node { type quantityDelta reservedDelta quantityAfter inboundId referenceId createdBy } } } }",
            json!({ "sku": SKU, "code": code }),
        )
        .await;
    data(&response)["movements"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

async fn ledger(app: &TestApp, admin: &str) -> Vec<Value> {
    ledger_of(app, admin, "BER1").await
}

async fn inbound_list(app: &TestApp, key: &str, code: &str, status: &str) -> Value {
    app.graphql_as(
        key,
        &format!(
            "{{ warehouse(code: \"{code}\") {{ inbound(status: {status}) {{ id quantity status }} }} }}"
        ),
        json!({}),
    )
    .await
}

on_both_backends! {
    async fn inbound_stock_is_promised_by_its_arrival_and_comes_on_hand_when_received(app) {
        let admin = app.create_key(KeyRole::Admin, "buyer").await;
        launch_product(&app, &admin).await;
        let id = Uuid::new_v4();
        let arrival = in_days(3);

        let announced = expect(&app, &admin, announcement(id, "BER1", 30, &arrival)).await;
        let inbound = &data(&announced)["expectInbound"];
        assert_eq!(inbound["id"], json!(id));
        assert_eq!(inbound["sku"], SKU);
        assert_eq!(inbound["warehouse"]["code"], "BER1");
        assert_eq!((inbound["quantity"].clone(), inbound["reserved"].clone(), inbound["available"].clone()), (json!(30), json!(0), json!(30)));
        assert_eq!(inbound["status"], "EXPECTED");
        assert!(inbound["receivedAt"].is_null());
        assert_eq!(inbound["referenceId"], "PO-4711");

        // Not on hand, not sellable now; promised by its arrival.
        let now = availability(&app, None).await;
        assert_eq!((now["onHand"].clone(), now["available"].clone(), now["inStock"].clone()), (json!(0), json!(0), json!(false)));
        assert_eq!(now["soon"], 0, "nothing by +2 days: it arrives in 3");
        assert_eq!(now["later"], 30, "all 30 by +4 days");
        assert_eq!(now["incoming"].as_array().unwrap().len(), 1);
        assert_eq!(now["incoming"][0]["warehouse"]["code"], "BER1");
        assert_eq!(now["incoming"][0]["quantity"], 30);
        assert!(now["incoming"][0]["distanceKm"].is_null(), "no destination, no distance");
        let listed = inbound_list(&app, &admin, "BER1", "EXPECTED").await;
        assert_eq!(data(&listed)["warehouse"]["inbound"], json!([{ "id": id, "quantity": 30, "status": "EXPECTED" }]));

        let received = end(&app, &admin, "receiveInbound", id).await;
        let inbound = &data(&received)["receiveInbound"];
        assert_eq!(inbound["status"], "RECEIVED");
        assert!(inbound["receivedAt"].is_string());
        let after = availability(&app, None).await;
        assert_eq!((after["onHand"].clone(), after["available"].clone()), (json!(30), json!(30)));
        assert_eq!(after["incoming"], json!([]), "received: no longer incoming");
        assert_eq!(after["soon"], 30, "on hand now, so promised at any date");
        assert_eq!(data(&inbound_list(&app, &admin, "BER1", "EXPECTED").await)["warehouse"]["inbound"], json!([]));
        assert_eq!(data(&inbound_list(&app, &admin, "BER1", "RECEIVED").await)["warehouse"]["inbound"][0]["id"], json!(id));

        // The ledger tells the story, each step naming the inbound.
        let expected_ledger = json!([
            { "type": "INBOUND_EXPECTED", "quantityDelta": 0, "reservedDelta": 0, "quantityAfter": 0,
              "inboundId": id, "referenceId": "PO-4711", "createdBy": "buyer" },
            { "type": "RESTOCK", "quantityDelta": 30, "reservedDelta": 0, "quantityAfter": 30,
              "inboundId": id, "referenceId": "PO-4711", "createdBy": "buyer" },
        ]);
        assert_eq!(json!(ledger(&app, &admin).await), expected_ledger);

        // Receiving again, or replaying the announcement, changes nothing.
        let before = footprint(&app).await;
        let again = end(&app, &admin, "receiveInbound", id).await;
        assert_eq!(data(&again)["receiveInbound"]["status"], "RECEIVED");
        assert_eq!(data(&again)["receiveInbound"]["receivedAt"], inbound["receivedAt"]);
        let replay = expect(&app, &admin, announcement(id, "BER1", 30, &arrival)).await;
        assert_eq!(data(&replay)["expectInbound"]["status"], "RECEIVED", "the same inbound, as it now is");
        let late = end(&app, &admin, "cancelInbound", id).await;
        assert_eq!(error_code(&late), Some("CONFLICT"), "{late:#}");
        assert!(error_message(&late).contains("already received"), "{late:#}");
        assert_eq!(footprint(&app).await, before);
        assert_eq!(json!(ledger(&app, &admin).await), expected_ledger);
        assert_books_balance(&app).await;
    }

    async fn incoming_shows_active_warehouses_soonest_first_or_nearest_first_with_a_destination(app) {
        let admin = app.create_key(KeyRole::Admin, "buyer").await;
        launch_product(&app, &admin).await;
        let (paris, berlin, madrid) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        data(&expect(&app, &admin, announcement(paris, "PAR1", 12, &in_days(3))).await);
        data(&expect(&app, &admin, announcement(berlin, "BER1", 7, &in_days(1))).await);
        data(&expect(&app, &admin, announcement(madrid, "MAD1", 5, &in_days(1))).await);
        let closed = app
            .graphql_as(&admin, "mutation { setWarehouseActive(code: \"MAD1\", active: false) { active } }", json!({}))
            .await;
        assert_eq!(data(&closed)["setWarehouseActive"]["active"], false);

        let anywhere = availability(&app, None).await;
        let codes = |a: &Value| -> Vec<String> {
            a["incoming"].as_array().unwrap().iter().map(|i| i["warehouse"]["code"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(codes(&anywhere), ["BER1", "PAR1"], "soonest first; the closed warehouse promises nothing");
        assert_eq!((anywhere["soon"].clone(), anywhere["later"].clone()), (json!(7), json!(19)));

        let near_paris = availability(&app, Some(json!({ "latitude": 48.86, "longitude": 2.35 }))).await;
        assert_eq!(codes(&near_paris), ["PAR1", "BER1"], "nearest first with a destination");
        let km = |i: usize| near_paris["incoming"][i]["distanceKm"].as_f64().expect("distanceKm");
        assert!(km(0) < 5.0 && km(1) > 800.0, "{near_paris:#}");

        // Cancelled: no longer promised, and the ledger says so.
        let cancelled = end(&app, &admin, "cancelInbound", paris).await;
        assert_eq!(data(&cancelled)["cancelInbound"]["status"], "CANCELLED");
        assert_eq!(codes(&availability(&app, None).await), ["BER1"]);
        let before = footprint(&app).await;
        let again = end(&app, &admin, "cancelInbound", paris).await;
        assert_eq!(data(&again)["cancelInbound"]["status"], "CANCELLED", "a repeat changes nothing");
        let refused = end(&app, &admin, "receiveInbound", paris).await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused:#}");
        assert_eq!(footprint(&app).await, before);
        let types: Vec<Value> = ledger_of(&app, &admin, "PAR1").await.iter().map(|m| json!([m["type"], m["inboundId"]])).collect();
        assert_eq!(types, [json!(["INBOUND_EXPECTED", paris]), json!(["INBOUND_CANCELLED", paris])]);
        assert_books_balance(&app).await;
    }

    async fn announcements_are_idempotent_by_id_and_bad_ones_change_nothing(app) {
        let admin = app.create_key(KeyRole::Admin, "buyer").await;
        launch_product(&app, &admin).await;
        let id = Uuid::new_v4();
        let arrival = in_days(3);
        let first = expect(&app, &admin, announcement(id, "BER1", 30, &arrival)).await;
        data(&first);
        let before = footprint(&app).await;
        let inbounds = "SELECT COUNT(*) FROM inbound_shipments";
        assert_eq!(app.scalar(inbounds).await, 1);

        let retry = expect(&app, &admin, announcement(id, "BER1", 30, &arrival)).await;
        assert_eq!(data(&retry)["expectInbound"], data(&first)["expectInbound"], "a retry answers the same inbound");
        let changed = expect(&app, &admin, announcement(id, "BER1", 31, &arrival)).await;
        assert_eq!(error_code(&changed), Some("CONFLICT"), "{changed:#}");
        assert!(error_message(&changed).contains(&id.to_string()), "{changed:#}");

        let other = Uuid::new_v4();
        let too_long = "x".repeat(201);
        for (input, field) in [
            (announcement(other, "BER1", 0, &arrival), "quantity"),
            (announcement(other, "BER1", 1_000_001, &arrival), "quantity"),
            (announcement(other, "BER1", 5, &in_days(-1)), "expectedAt"),
            (announcement(other, "NOPE1", 5, &arrival), "warehouseCode"),
            (json!({ "id": other, "sku": "NO-SUCH-SKU", "warehouseCode": "BER1", "quantity": 5, "expectedAt": arrival }), "sku"),
            (json!({ "id": other, "sku": SKU, "warehouseCode": "BER1", "quantity": 5, "expectedAt": arrival, "referenceId": too_long }), "referenceId"),
        ] {
            let refused = expect(&app, &admin, input.clone()).await;
            assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{input}: {refused:#}");
            assert!(error_message(&refused).starts_with(&format!("{field}:")), "{input}: {refused:#}");
        }
        for field in ["receiveInbound", "cancelInbound"] {
            let unknown = end(&app, &admin, field, other).await;
            assert_eq!(error_code(&unknown), Some("NOT_FOUND"), "{field}: {unknown:#}");
        }
        assert_eq!(footprint(&app).await, before, "nothing refused was written");
        assert_eq!(app.scalar(inbounds).await, 1);
    }

    async fn racing_receipts_and_cancellations_settle_on_exactly_one_outcome(app) {
        let admin = app.create_key(KeyRole::Admin, "dock").await;
        launch_product(&app, &admin).await;
        let id = Uuid::new_v4();
        data(&expect(&app, &admin, announcement(id, "BER1", 30, &in_days(3))).await);

        let calls = (0..40).map(|i| {
            let field = if i % 2 == 0 { "receiveInbound" } else { "cancelInbound" };
            let (app, admin) = (&app, &admin);
            async move { (field, end(app, admin, field, id).await) }
        });
        let answers = join_all(calls).await;
        let received = data(&inbound_list(&app, &admin, "BER1", "RECEIVED").await)["warehouse"]["inbound"].clone();
        let status = if received == json!([]) { "CANCELLED" } else { "RECEIVED" }.to_owned();
        let listed = data(&inbound_list(&app, &admin, "BER1", &status).await)["warehouse"]["inbound"].clone();
        assert_eq!(listed, json!([{ "id": id, "quantity": 30, "status": status }]));
        let (won, lost) = if status == "RECEIVED" { ("receiveInbound", "cancelInbound") } else { ("cancelInbound", "receiveInbound") };
        for (field, answer) in &answers {
            if *field == won {
                assert_eq!(data(answer)[*field]["status"], status.as_str(), "{answer:#}");
            } else {
                assert_eq!(*field, lost);
                assert_eq!(error_code(answer), Some("CONFLICT"), "{answer:#}");
            }
        }
        let on_hand = app.scalar(&format!("SELECT COALESCE(SUM(quantity), 0) FROM inventory i JOIN products p ON p.id = i.product_id WHERE p.sku = '{SKU}'")).await;
        assert_eq!(on_hand, if status == "RECEIVED" { 30 } else { 0 }, "received at most once");
        let steps: Vec<Value> = ledger(&app, &admin).await.iter().map(|m| m["type"].clone()).collect();
        let ended = if status == "RECEIVED" { "RESTOCK" } else { "INBOUND_CANCELLED" };
        assert_eq!(steps, [json!("INBOUND_EXPECTED"), json!(ended)], "announced, then one end");
        assert_books_balance(&app).await;
    }

    async fn a_warehouses_inbound_list_is_for_admins_only(app) {
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let anonymous = app.graphql("{ warehouse(code: \"BER1\") { inbound { id } } }", json!({})).await;
        assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"), "{anonymous:#}");
        let shop = inbound_list(&app, &checkout, "BER1", "EXPECTED").await;
        assert_eq!(error_code(&shop), Some("FORBIDDEN"), "{shop:#}");
    }
}
