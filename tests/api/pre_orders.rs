//! Pre-orders: a checkout that accepts a later ship date (`promiseBy`)
//! may hold inbound stock. The hold counts against the inbound, never past
//! its quantity; receiving the inbound turns pre-orders into ordinary holds
//! in one transaction; confirm, release and expiry do the right thing
//! before and after receipt.

use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};
use stockroute::{auth::KeyRole, inventory::inbound::pre_order_units};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message},
    invariants::assert_books_balance,
    on_both_backends,
    reservations::eventually,
};

const SKU: &str = "LAUNCH-SNEAKER";
const BERLIN: (f64, f64) = (52.52, 13.405);

fn in_days(days: f64) -> String {
    (Utc::now() + chrono::Duration::milliseconds((days * 86_400_000.0) as i64)).to_rfc3339()
}

struct Launch {
    admin: String,
    checkout: String,
    inbound: Uuid,
    arrival: String,
}

/// A product with nothing on hand and `units` arriving at BER1 in three days.
async fn launch(app: &TestApp, units: i32) -> Launch {
    let admin = app.create_key(KeyRole::Admin, "buyer").await;
    let checkout = app.create_key(KeyRole::Checkout, "shop").await;
    data(
        &app.graphql_as(
            &admin,
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { sku } }",
            json!({ "i": { "sku": SKU, "name": "Launch sneaker", "weightGrams": 900 } }),
        )
        .await,
    );
    let inbound = Uuid::new_v4();
    let announced = app
        .graphql_as(
            &admin,
            "mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { expectedAt } }",
            json!({ "i": { "id": inbound, "sku": SKU, "warehouseCode": "BER1", "quantity": units,
                           "expectedAt": in_days(3.0), "referenceId": "PO-LAUNCH" } }),
        )
        .await;
    let arrival = data(&announced)["expectInbound"]["expectedAt"]
        .as_str()
        .unwrap()
        .to_owned();
    Launch {
        admin,
        checkout,
        inbound,
        arrival,
    }
}

const RESERVE: &str = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) {
    __typename
    ... on Reservation { id status shipments { warehouse { code } readyAt lines { sku quantity } } }
    ... on InsufficientStock { message shortages { sku requested available } }
} }";

fn pre_order(id: Uuid, units: i32, promise_by: Option<&str>, ttl: i32) -> Value {
    json!({ "reservationId": id, "lines": [{ "sku": SKU, "quantity": units }],
            "shipTo": { "latitude": BERLIN.0, "longitude": BERLIN.1 },
            "promiseBy": promise_by, "ttlSeconds": ttl })
}

async fn reserve(app: &TestApp, key: &str, input: Value) -> Value {
    let response = app.graphql_as(key, RESERVE, json!({ "i": input })).await;
    data(&response)["reserveOrder"].clone()
}

/// Holds pre-ordering each of `units`, promised by `by`; their ids.
async fn pre_orders(
    app: &TestApp,
    launch: &Launch,
    by: &str,
    units: impl IntoIterator<Item = i32>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for units in units {
        let held = reserve(
            app,
            &launch.checkout,
            pre_order(Uuid::new_v4(), units, Some(by), 900),
        )
        .await;
        assert_eq!(held["__typename"], "Reservation", "{held:#}");
        ids.push(held["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn end(app: &TestApp, key: &str, field: &str, id: &str) -> Value {
    app.graphql_as(
        key,
        &format!("mutation($id: UUID!) {{ {field}(id: $id) {{ status }} }}"),
        json!({ "id": id }),
    )
    .await
}

/// quantity, reserved of the SKU's level in BER1.
async fn level(app: &TestApp) -> (i64, i64) {
    let of = |column: &str| {
        format!(
            "SELECT COALESCE(SUM(i.{column}), 0) FROM inventory i JOIN products p ON p.id = i.product_id
             JOIN warehouses w ON w.id = i.warehouse_id WHERE p.sku = '{SKU}' AND w.code = 'BER1'"
        )
    };
    (
        app.scalar(&of("quantity")).await,
        app.scalar(&of("reserved")).await,
    )
}

/// reserved, available of the inbound, as admins see it.
async fn inbound_held(app: &TestApp, launch: &Launch, status: &str) -> (i64, i64) {
    let response = app
        .graphql_as(
            &launch.admin,
            &format!("{{ warehouse(code: \"BER1\") {{ inbound(status: {status}) {{ id reserved available }} }} }}"),
            json!({}),
        )
        .await;
    let listed = &data(&response)["warehouse"]["inbound"][0];
    assert_eq!(listed["id"], json!(launch.inbound), "{response:#}");
    (
        listed["reserved"].as_i64().unwrap(),
        listed["available"].as_i64().unwrap(),
    )
}

async fn promise(app: &TestApp, by: &str) -> i64 {
    let response = app
        .graphql("query($by: DateTime!) { availability(skus: [\"LAUNCH-SNEAKER\"]) { availableToPromise(by: $by) } }", json!({ "by": by }))
        .await;
    data(&response)["availability"][0]["availableToPromise"]
        .as_i64()
        .unwrap()
}

on_both_backends! {
    async fn racing_pre_orders_take_exactly_the_inbound_and_become_ordinary_holds_on_receipt(app) {
        let launch = launch(&app, 30).await;
        let (later, sooner) = (in_days(4.0), in_days(2.0));

        // Without a promise date there is nothing to hold; with one that
        // comes before the truck, neither.
        let now = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 1, None, 900)).await;
        assert_eq!(now["__typename"], "InsufficientStock", "{now:#}");
        let early = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 1, Some(&sooner), 900)).await;
        assert_eq!(early["__typename"], "InsufficientStock", "{early:#}");

        // A dry run says the shipment waits, and why.
        let plan = app.graphql(
            "query($by: DateTime!) { planFulfilment(input: { lines: [{ sku: \"LAUNCH-SNEAKER\", quantity: 2 }],
                shipTo: { latitude: 52.52, longitude: 13.405 }, promiseBy: $by }) {
                feasible shipments { warehouse { code } readyAt } explanation } }",
            json!({ "by": later }),
        ).await;
        let plan = &data(&plan)["planFulfilment"];
        assert_eq!(plan["feasible"], true, "{plan:#}");
        assert_eq!(plan["shipments"][0]["readyAt"], json!(launch.arrival));
        let explained = plan["explanation"].as_array().unwrap().iter().any(|s| {
            let s = s.as_str().unwrap();
            s.contains("waits for inbound stock") && s.contains("PO-LAUNCH")
        });
        assert!(explained, "{plan:#}");

        // 100 racing pre-orders for the 30 on the truck.
        let answers = join_all((0..100).map(|_| reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 1, Some(&later), 900)))).await;
        let won: Vec<&Value> = answers.iter().filter(|a| a["__typename"] == "Reservation").collect();
        assert_eq!(won.len(), 30, "exactly the inbound's quantity is pre-ordered");
        for answer in &answers {
            match answer["__typename"].as_str() {
                Some("Reservation") => {
                    assert_eq!(answer["shipments"][0]["readyAt"], json!(launch.arrival), "{answer:#}");
                }
                Some("InsufficientStock") => assert_eq!(answer["shortages"][0]["available"], 0, "{answer:#}"),
                other => panic!("unexpected {other:?}: {answer:#}"),
            }
        }
        assert_eq!(inbound_held(&app, &launch, "EXPECTED").await, (30, 0));
        assert_eq!(level(&app).await, (0, 0), "nothing is on hand or held on the level yet");
        assert_eq!(promise(&app, &later).await, 0, "all of it is promised");
        assert_books_balance(&app).await;

        let cancel = app.graphql_as(&launch.admin, "mutation($id: UUID!) { cancelInbound(id: $id) { status } }", json!({ "id": launch.inbound })).await;
        assert_eq!(error_code(&cancel), Some("CONFLICT"), "{cancel:#}");
        assert!(error_message(&cancel).contains("30 units"), "{cancel:#}");

        // The truck arrives: the pre-orders are now holds on the level.
        let received = app.graphql_as(&launch.admin, "mutation($id: UUID!) { receiveInbound(id: $id) { status } }", json!({ "id": launch.inbound })).await;
        assert_eq!(data(&received)["receiveInbound"]["status"], "RECEIVED");
        assert_eq!(level(&app).await, (30, 30));
        let restock = app.graphql_as(
            &launch.admin,
            "{ movements(sku: \"LAUNCH-SNEAKER\", first: 1) { edges { node { type quantityDelta reservedDelta quantityAfter reservedAfter inboundId } } } }",
            json!({}),
        ).await;
        assert_eq!(
            data(&restock)["movements"]["edges"][0]["node"],
            json!({ "type": "RESTOCK", "quantityDelta": 30, "reservedDelta": 30, "quantityAfter": 30,
                    "reservedAfter": 30, "inboundId": launch.inbound }),
            "one movement: the units on hand and their holds with them"
        );
        assert_books_balance(&app).await;

        // Confirming afterwards ships them, as any hold.
        for answer in &won[..10] {
            let confirmed = end(&app, &launch.checkout, "confirmReservation", answer["id"].as_str().unwrap()).await;
            assert_eq!(data(&confirmed)["confirmReservation"]["status"], "CONFIRMED");
        }
        assert_eq!(level(&app).await, (20, 20));
        assert_books_balance(&app).await;
    }

    async fn pre_orders_confirmed_or_released_before_the_truck_settle_when_it_arrives(app) {
        let launch = launch(&app, 10).await;
        let later = in_days(4.0);
        let ids = pre_orders(&app, &launch, &later, [3, 2, 4]).await;
        assert_eq!(inbound_held(&app, &launch, "EXPECTED").await, (9, 1));

        // Paid before it came: still held on the inbound, nothing ships yet.
        let confirmed = end(&app, &launch.checkout, "confirmReservation", &ids[0]).await;
        assert_eq!(data(&confirmed)["confirmReservation"]["status"], "CONFIRMED");
        // Cancelled before it came: its units are free to promise again.
        let released = end(&app, &launch.checkout, "releaseReservation", &ids[1]).await;
        assert_eq!(data(&released)["releaseReservation"]["status"], "RELEASED");
        assert_eq!(inbound_held(&app, &launch, "EXPECTED").await, (7, 3));
        assert_eq!(promise(&app, &later).await, 3);
        assert_eq!(level(&app).await, (0, 0));
        assert_books_balance(&app).await;

        let received = app.graphql_as(&launch.admin, "mutation($id: UUID!) { receiveInbound(id: $id) { status } }", json!({ "id": launch.inbound })).await;
        assert_eq!(data(&received)["receiveInbound"]["status"], "RECEIVED");
        // 10 arrive; the 3 paid for ship at once; the 4 still held stay held.
        assert_eq!(level(&app).await, (7, 4));
        let types: Vec<Value> = data(&app.graphql_as(
            &launch.admin,
            "{ movements(sku: \"LAUNCH-SNEAKER\", order: OLDEST_FIRST) { edges { node { type quantityDelta reservedDelta } } } }",
            json!({}),
        ).await)["movements"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
        assert_eq!(types, [
            json!({ "type": "INBOUND_EXPECTED", "quantityDelta": 0, "reservedDelta": 0 }),
            json!({ "type": "RESTOCK", "quantityDelta": 10, "reservedDelta": 7 }),
            json!({ "type": "ORDER", "quantityDelta": -3, "reservedDelta": -3 }),
        ]);
        assert_books_balance(&app).await;

        // After receipt the last pre-order is an ordinary hold.
        let released = end(&app, &launch.checkout, "releaseReservation", &ids[2]).await;
        assert_eq!(data(&released)["releaseReservation"]["status"], "RELEASED");
        assert_eq!(level(&app).await, (7, 0));
        let confirmed_again = end(&app, &launch.checkout, "confirmReservation", &ids[0]).await;
        assert_eq!(data(&confirmed_again)["confirmReservation"]["status"], "CONFIRMED", "a repeat is a no-op");
        assert_eq!(level(&app).await, (7, 0));
        assert_books_balance(&app).await;
    }

    async fn receiving_counts_each_inbound_s_live_pre_orders_through_their_index(app) {
        let launch = launch(&app, 10).await;
        let later = in_days(4.0);
        let ids = pre_orders(&app, &launch, &later, [3, 2, 4]).await;
        let confirmed = end(&app, &launch.checkout, "confirmReservation", &ids[1]).await;
        assert_eq!(data(&confirmed)["confirmReservation"]["status"], "CONFIRMED");
        let released = end(&app, &launch.checkout, "releaseReservation", &ids[2]).await;
        assert_eq!(data(&released)["releaseReservation"]["status"], "RELEASED");
        // A second truck, a day later; one order takes the first truck's
        // last 5 units and 2 of the second's.
        let second = Uuid::new_v4();
        data(&app.graphql_as(
            &launch.admin,
            "mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { id } }",
            json!({ "i": { "id": second, "sku": SKU, "warehouseCode": "BER1", "quantity": 10,
                           "expectedAt": in_days(3.5) } }),
        ).await);
        let spanning = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 7, Some(&later), 900)).await;
        assert_eq!(spanning["__typename"], "Reservation", "{spanning:#}");
        // Ordinary holds, which the count must not read.
        data(&app.graphql_as(
            &launch.admin,
            "mutation { receiveStock(input: { sku: \"LAUNCH-SNEAKER\", warehouseCode: \"BER1\", quantity: 5 }) { quantity } }",
            json!({}),
        ).await);
        for _ in 0..5 {
            let held = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 1, None, 900)).await;
            assert_eq!(held["__typename"], "Reservation", "{held:#}");
        }

        // Units pre-ordered by live holds, by status, of each truck.
        let backend = app.db.get_database_backend();
        let units = async |inbound: Uuid| {
            let rows = app.db.query_all_raw(pre_order_units(backend, inbound)).await.unwrap();
            let mut units: Vec<(String, i64)> = rows
                .iter()
                .map(|row| (row.try_get("", "status").unwrap(), row.try_get("", "units").unwrap()))
                .collect();
            units.sort();
            units
        };
        assert_eq!(units(launch.inbound).await, [("ACTIVE".to_owned(), 8), ("CONFIRMED".to_owned(), 2)]);
        assert_eq!(units(second).await, [("ACTIVE".to_owned(), 2)]);
        assert_eq!(units(Uuid::new_v4()).await, []);

        // The count can read only the holds that pre-order, through
        // migration 17's partial index: its predicate is the query's, word
        // for word, or no backend would use it.
        let count = pre_order_units(backend, launch.inbound);
        let values = count.values.clone().map(|v| v.0).unwrap_or_default();
        let txn = app.db.begin().await.unwrap();
        let plan: Vec<String> = if backend == DbBackend::Postgres {
            // However few rows it has, a table is not read whole.
            txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
            let explain = Statement::from_sql_and_values(backend, format!("EXPLAIN {}", count.sql), values);
            txn.query_all_raw(explain).await.unwrap().iter().map(|r| r.try_get_by_index(0).unwrap()).collect()
        } else {
            let explain = Statement::from_sql_and_values(backend, format!("EXPLAIN QUERY PLAN {}", count.sql), values);
            txn.query_all_raw(explain).await.unwrap().iter().map(|r| r.try_get("", "detail").unwrap()).collect()
        };
        txn.rollback().await.unwrap();
        assert!(
            plan.iter().any(|line| line.contains("ix_reservations_pre_orders")),
            "the count does not read the pre-orders' index: {plan:#?}"
        );

        let received = app.graphql_as(&launch.admin, "mutation($id: UUID!) { receiveInbound(id: $id) { status } }", json!({ "id": launch.inbound })).await;
        assert_eq!(data(&received)["receiveInbound"]["status"], "RECEIVED");
        // 5 on hand and 10 arrived; the 2 paid for ship; 8 pre-ordered and
        // 5 ordinary units stay held.
        assert_eq!(level(&app).await, (13, 13));
        assert_eq!(units(second).await, [("ACTIVE".to_owned(), 2)]);
        assert_books_balance(&app).await;
    }

    async fn stock_on_hand_ships_first_and_only_the_rest_waits(app) {
        let launch = launch(&app, 10).await;
        let later = in_days(4.0);
        let received = app.graphql_as(
            &launch.admin,
            "mutation { receiveStock(input: { sku: \"LAUNCH-SNEAKER\", warehouseCode: \"BER1\", quantity: 3 }) { quantity } }",
            json!({}),
        ).await;
        assert_eq!(data(&received)["receiveStock"]["quantity"], 3);

        let from_stock = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 2, Some(&later), 900)).await;
        assert_eq!(from_stock["shipments"][0]["readyAt"], Value::Null, "on hand: ships now, {from_stock:#}");
        assert_eq!(level(&app).await, (3, 2));
        assert_eq!(inbound_held(&app, &launch, "EXPECTED").await, (0, 10));

        let mixed = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 4, Some(&later), 900)).await;
        assert_eq!(mixed["shipments"][0]["readyAt"], json!(launch.arrival), "{mixed:#}");
        assert_eq!(mixed["shipments"][0]["lines"], json!([{ "sku": SKU, "quantity": 4 }]), "one line, however it is held");
        assert_eq!(level(&app).await, (3, 3), "the last unit on hand");
        assert_eq!(inbound_held(&app, &launch, "EXPECTED").await, (3, 7), "and 3 of the truck");
        // Read back, the hold is as it was answered.
        let stored = app.graphql_as(&launch.checkout, "query($id: UUID!) { reservation(id: $id) { shipments { readyAt lines { sku quantity } } } }", json!({ "id": mixed["id"] })).await;
        assert_eq!(data(&stored)["reservation"]["shipments"][0]["readyAt"], json!(launch.arrival));
        assert_eq!(data(&stored)["reservation"]["shipments"][0]["lines"], json!([{ "sku": SKU, "quantity": 4 }]));
        assert_books_balance(&app).await;

        // A retry with the same id and promise is the same hold; another
        // promise date is another order.
        let mut retry = pre_order(Uuid::parse_str(mixed["id"].as_str().unwrap()).unwrap(), 4, Some(&later), 900);
        assert_eq!(reserve(&app, &launch.checkout, retry.clone()).await["id"], mixed["id"]);
        retry["promiseBy"] = json!(in_days(5.0));
        let reused = app.graphql_as(&launch.checkout, RESERVE, json!({ "i": retry })).await;
        assert_eq!(error_code(&reused), Some("CONFLICT"), "{reused:#}");
    }

    async fn releases_and_confirmations_racing_the_receipt_keep_the_books(app) {
        let launch = launch(&app, 30).await;
        let later = in_days(4.0);
        let mut ids = Vec::new();
        for _ in 0..30 {
            let held = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 1, Some(&later), 900)).await;
            ids.push(held["id"].as_str().expect("held").to_owned());
        }
        // 15 releases, 10 confirmations and the receipt, all at once: each
        // ending lands before the receipt (on the inbound) or after it (on
        // the stock level), never on neither or both.
        let receipt = async {
            app.graphql_as(&launch.admin, "mutation($id: UUID!) { receiveInbound(id: $id) { status } }", json!({ "id": launch.inbound })).await
        };
        let endings = join_all(ids.iter().enumerate().take(25).map(|(i, id)| {
            let field = if i < 15 { "releaseReservation" } else { "confirmReservation" };
            let (app, key) = (&app, &launch.checkout);
            async move { end(app, key, field, id).await }
        }));
        let (received, ended) = tokio::join!(receipt, endings);
        assert_eq!(data(&received)["receiveInbound"]["status"], "RECEIVED");
        for answer in &ended {
            assert_eq!(error_code(answer), None, "{answer:#}");
        }
        // 30 came, 10 shipped, 5 still held.
        assert_eq!(level(&app).await, (20, 5));
        assert_books_balance(&app).await;
    }
}

mod swept {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            config.sweep_interval = Duration::from_millis(100);
        };

        async fn an_expired_pre_order_gives_its_inbound_units_back(app) {
            let launch = launch(&app, 5).await;
            let later = in_days(4.0);
            let held = reserve(&app, &launch.checkout, pre_order(Uuid::new_v4(), 5, Some(&later), 1)).await;
            assert_eq!(held["__typename"], "Reservation", "{held:#}");
            assert_eq!(promise(&app, &later).await, 0);
            eventually("the sweeper expires the pre-order", async || {
                app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED'").await == 1
            }).await;
            assert_eq!(inbound_held(&app, &launch, "EXPECTED").await, (0, 5));
            assert_eq!(promise(&app, &later).await, 5);
            assert_eq!(level(&app).await, (0, 0));
            assert_books_balance(&app).await;
        }
    }
}
