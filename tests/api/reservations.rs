//! Holding stock for checkouts: reserveOrder, confirm, release, extend,
//! expiry, idempotency, races, and what bad input leaves behind (nothing).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_UNITS},
    inventory::Store,
    inventory::reservations::sweeper,
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

const HOLD: &str = "fragment Hold on Reservation {
    id status strategy createdAt expiresAt confirmedAt releasedAt totalCostCents
    shipments { warehouse { code } distanceKm weightGrams costCents lines { sku quantity } }
}";

pub(crate) fn reserve_query() -> String {
    format!(
        "mutation($input: ReserveOrderInput!) {{ reserveOrder(input: $input) {{
            __typename
            ... on Reservation {{ ...Hold }}
            ... on InsufficientStock {{ message shortages {{ sku requested available }} }}
        }} }} {HOLD}"
    )
}

fn transition_query(field: &str) -> String {
    format!("mutation($id: UUID!) {{ {field}(id: $id) {{ ...Hold }} }} {HOLD}")
}

pub(crate) fn berlin() -> Value {
    json!({ "latitude": 52.52, "longitude": 13.405 })
}

pub(crate) fn order(id: Uuid, lines: &[(&str, i32)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
        .collect();
    json!({ "reservationId": id, "lines": lines, "shipTo": berlin() })
}

pub(crate) async fn reserve(app: &TestApp, key: &str, input: &Value) -> Value {
    app.graphql_as(key, &reserve_query(), json!({ "input": input }))
        .await
}

/// Reserves `input`, which must be held, and returns the reservation.
pub(crate) async fn hold(app: &TestApp, key: &str, input: &Value) -> Value {
    let response = reserve(app, key, input).await;
    let outcome = data(&response)["reserveOrder"].clone();
    assert_eq!(outcome["__typename"], "Reservation", "{response:#}");
    outcome
}

async fn transition(app: &TestApp, key: &str, field: &str, id: &str) -> Value {
    app.graphql_as(key, &transition_query(field), json!({ "id": id }))
        .await
}

/// A SKU with at least `units` available in one active warehouse.
async fn sku_with(app: &TestApp, units: i32) -> String {
    app.scalar_text(&format!(
        "SELECT p.sku FROM products p JOIN inventory i ON i.product_id = p.id
         JOIN warehouses w ON w.id = i.warehouse_id
         WHERE w.active AND i.quantity - i.reserved >= {units}
         ORDER BY p.sku LIMIT 1"
    ))
    .await
}

/// (reserved, on hand) of a SKU over all warehouses.
pub(crate) async fn stock_of(app: &TestApp, sku: &str) -> (i64, i64) {
    let sum = |column: &str| {
        format!(
            "SELECT COALESCE(SUM(i.{column}), 0) FROM inventory i
             JOIN products p ON p.id = i.product_id WHERE p.sku = '{sku}'"
        )
    };
    (
        app.scalar(&sum("reserved")).await,
        app.scalar(&sum("quantity")).await,
    )
}

pub(crate) async fn movements_of(app: &TestApp, id: &str, kind: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM inventory_movements
         WHERE reference_id = '{id}' AND movement_type = '{kind}'"
    ))
    .await
}

on_both_backends! {
    async fn five_hundred_checkouts_race_for_the_hundred_hot_units(app) {
        let key = app.create_key(KeyRole::Checkout, "flash-sale").await;
        let query = reserve_query();
        let started = Instant::now();
        let responses = join_all((0..500).map(|_| {
            let input = order(Uuid::new_v4(), &[(HOT_SKU, 1)]);
            let (key, query) = (key.clone(), query.clone());
            let app = &app;
            async move { app.graphql_as(&key, &query, json!({ "input": input })).await }
        }))
        .await;
        let elapsed = started.elapsed();
        eprintln!(
            "500 concurrent reserveOrder calls for {HOT_SKU} on {}: {elapsed:.2?}",
            app.database.url.backend()
        );

        let mut held = 0;
        let mut short = 0;
        for response in &responses {
            let outcome = &data(response)["reserveOrder"];
            match outcome["__typename"].as_str() {
                Some("Reservation") => held += 1,
                Some("InsufficientStock") => {
                    short += 1;
                    assert_eq!(outcome["shortages"][0]["sku"], HOT_SKU, "{outcome:#}");
                    assert_eq!(outcome["shortages"][0]["available"], 0, "{outcome:#}");
                }
                other => panic!("unexpected outcome {other:?}: {response:#}"),
            }
        }
        assert_eq!((held, short), (HOT_SKU_UNITS, 500 - HOT_SKU_UNITS));
        assert_eq!(stock_of(&app, HOT_SKU).await, (i64::from(HOT_SKU_UNITS), i64::from(HOT_SKU_UNITS)));
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'ACTIVE'").await,
            i64::from(HOT_SKU_UNITS)
        );
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'RESERVE'").await,
            i64::from(HOT_SKU_UNITS)
        );
        assert_books_balance(&app).await;
    }

    async fn orders_racing_over_two_skus_in_opposite_line_orders_never_deadlock(app) {
        let key = app.create_key(KeyRole::Checkout, "racers").await;
        // Two SKUs stocked in every active warehouse, ordered in bulk so that
        // the orders outrun the stock and spread over warehouses.
        let everywhere = app
            .scalar_text(
                "SELECT MIN(p.sku) || ' ' || MAX(p.sku) FROM products p WHERE p.id IN (
                    SELECT p2.id FROM products p2 WHERE (SELECT COUNT(*) FROM inventory i
                        JOIN warehouses w ON w.id = i.warehouse_id
                        WHERE i.product_id = p2.id AND w.active AND i.quantity > 0)
                    = (SELECT COUNT(*) FROM warehouses WHERE active))",
            )
            .await;
        let (a, b) = everywhere.split_once(' ').expect("two SKUs");
        assert_ne!(a, b);
        let (a_before, _) = stock_of(&app, a).await;
        let query = reserve_query();
        let responses = join_all((0..120).map(|i| {
            let lines = if i % 2 == 0 { [(a, 40), (b, 40)] } else { [(b, 40), (a, 40)] };
            let mut input = order(Uuid::new_v4(), &lines);
            input["strategy"] = json!(["NEAREST", "CHEAPEST", "BALANCED", "SPLIT"][i % 4]);
            let (key, query) = (key.clone(), query.clone());
            let app = &app;
            async move { app.graphql_as(&key, &query, json!({ "input": input })).await }
        }))
        .await;
        let mut held = 0;
        for response in &responses {
            // Any error (a deadlock, a serialization failure) fails here.
            match data(response)["reserveOrder"]["__typename"].as_str() {
                Some("Reservation") => held += 1,
                Some("InsufficientStock") => {}
                other => panic!("unexpected outcome {other:?}: {response:#}"),
            }
        }
        assert!(held > 0, "some orders are held");
        assert!(held < 120, "the stock runs out before the orders do");
        assert_eq!(stock_of(&app, a).await.0 - a_before, 40 * held);
        assert_books_balance(&app).await;
    }

    async fn a_retry_returns_the_stored_hold_and_a_changed_order_is_a_conflict(app) {
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let sku = sku_with(&app, 3).await;
        let other = app.scalar_text(&format!(
            "SELECT sku FROM products p WHERE sku <> '{sku}' AND EXISTS (SELECT 1 FROM inventory i
             WHERE i.product_id = p.id AND i.quantity - i.reserved >= 2) ORDER BY sku LIMIT 1"
        )).await;
        let id = Uuid::new_v4();
        let input = order(id, &[(&sku, 3), (&other, 2)]);
        let first = hold(&app, &key, &input).await;
        let written = footprint(&app).await;

        // The same request again, and with its lines in another order.
        assert_eq!(hold(&app, &key, &input).await, first);
        assert_eq!(hold(&app, &key, &order(id, &[(&other, 2), (&sku, 3)])).await, first);
        assert_eq!(footprint(&app).await, written);

        // The same id for another order.
        for changed in [
            order(id, &[(&sku, 4), (&other, 2)]),
            order(id, &[(&sku, 3)]),
            {
                let mut far = input.clone();
                far["shipTo"] = json!({ "latitude": -33.9, "longitude": 151.2 });
                far
            },
            {
                let mut cheaper = input.clone();
                cheaper["strategy"] = json!("CHEAPEST");
                cheaper
            },
        ] {
            let response = reserve(&app, &key, &changed).await;
            assert_eq!(error_code(&response), Some("CONFLICT"), "{response:#}");
            assert!(error_message(&response).contains(&id.to_string()), "{response:#}");
        }
        assert_eq!(footprint(&app).await, written);

        // A retry after the hold moved on gets it as it is now.
        let id_text = id.to_string();
        let confirmed = transition(&app, &key, "confirmReservation", &id_text).await;
        let confirmed = data(&confirmed)["confirmReservation"].clone();
        let replay = hold(&app, &key, &input).await;
        assert_eq!(replay["status"], "CONFIRMED");
        assert_eq!(replay["id"], confirmed["id"]);
        assert_eq!(replay["confirmedAt"], confirmed["confirmedAt"]);

        // ... also when asked of another server on the same database: the
        // answer comes from the table, not from memory.
        let restarted = app.replica(|_| {}).await;
        let replay_elsewhere = hold(&restarted, &key, &input).await;
        assert_eq!(replay_elsewhere, replay);
        assert_books_balance(&app).await;
    }

    async fn concurrent_first_calls_with_one_id_make_one_reservation(app) {
        let key = app.create_key(KeyRole::Checkout, "double-click").await;
        let sku = sku_with(&app, 2).await;
        let id = Uuid::new_v4();
        let input = order(id, &[(&sku, 2)]);
        let (reserved_before, _) = stock_of(&app, &sku).await;
        let holds_before = app.scalar("SELECT COUNT(*) FROM reservations").await;
        let query = reserve_query();
        let responses = join_all((0..20).map(|_| {
            let (key, query, input) = (key.clone(), query.clone(), input.clone());
            let app = &app;
            async move { app.graphql_as(&key, &query, json!({ "input": input })).await }
        }))
        .await;
        let first = &data(&responses[0])["reserveOrder"];
        assert_eq!(first["__typename"], "Reservation", "{first:#}");
        for response in &responses {
            assert_eq!(&data(response)["reserveOrder"], first);
        }
        // (Counted, not looked up by id: SQLite stores UUIDs as blobs.)
        assert_eq!(app.scalar("SELECT COUNT(*) FROM reservations").await, holds_before + 1);
        assert_eq!(movements_of(&app, &id.to_string(), "RESERVE").await, 1);
        assert_eq!(stock_of(&app, &sku).await.0, reserved_before + 2);
        assert_books_balance(&app).await;
    }

    async fn a_hold_is_confirmed_once_and_then_cannot_be_released(app) {
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let sku = sku_with(&app, 2).await;
        let (reserved_before, on_hand_before) = stock_of(&app, &sku).await;
        let created = hold(&app, &key, &order(Uuid::new_v4(), &[(&sku, 2)])).await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["status"], "ACTIVE");
        assert_eq!(created["confirmedAt"], Value::Null);
        assert_eq!(stock_of(&app, &sku).await, (reserved_before + 2, on_hand_before));

        let confirmed = transition(&app, &key, "confirmReservation", &id).await;
        let confirmed = data(&confirmed)["confirmReservation"].clone();
        assert_eq!(confirmed["status"], "CONFIRMED");
        assert!(confirmed["confirmedAt"].is_string());
        assert_eq!(confirmed["shipments"], created["shipments"]);
        assert_eq!(stock_of(&app, &sku).await, (reserved_before, on_hand_before - 2));
        assert_eq!(movements_of(&app, &id, "ORDER").await, 1);

        // A repeat is a no-op with the same answer.
        let written = footprint(&app).await;
        let again = transition(&app, &key, "confirmReservation", &id).await;
        assert_eq!(data(&again)["confirmReservation"], confirmed);
        assert_eq!(footprint(&app).await, written);

        for field in ["releaseReservation"] {
            let refused = transition(&app, &key, field, &id).await;
            assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused:#}");
            assert!(error_message(&refused).contains("confirmed"), "{refused:#}");
        }
        let extend = app.graphql_as(
            &key,
            "mutation($id: UUID!) { extendReservation(id: $id, ttlSeconds: 60) { id } }",
            json!({ "id": id }),
        ).await;
        assert_eq!(error_code(&extend), Some("CONFLICT"), "{extend:#}");
        assert!(error_message(&extend).contains("CONFIRMED"), "{extend:#}");
        assert_eq!(footprint(&app).await, written);
        assert_books_balance(&app).await;
    }

    async fn a_released_hold_returns_its_stock_once_and_cannot_be_confirmed(app) {
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let sku = sku_with(&app, 5).await;
        let before = stock_of(&app, &sku).await;
        let created = hold(&app, &key, &order(Uuid::new_v4(), &[(&sku, 5)])).await;
        let id = created["id"].as_str().unwrap().to_owned();

        let released = transition(&app, &key, "releaseReservation", &id).await;
        let released = data(&released)["releaseReservation"].clone();
        assert_eq!(released["status"], "RELEASED");
        assert!(released["releasedAt"].is_string());
        assert_eq!(stock_of(&app, &sku).await, before);
        assert_eq!(movements_of(&app, &id, "RELEASE").await, 1);

        let written = footprint(&app).await;
        let again = transition(&app, &key, "releaseReservation", &id).await;
        assert_eq!(data(&again)["releaseReservation"], released);
        let refused = transition(&app, &key, "confirmReservation", &id).await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused:#}");
        assert!(error_message(&refused).contains("released"), "{refused:#}");
        assert_eq!(footprint(&app).await, written);

        let stored = app.graphql_as(
            &key,
            &format!("query($id: UUID!) {{ reservation(id: $id) {{ ...Hold }} }} {HOLD}"),
            json!({ "id": id }),
        ).await;
        assert_eq!(data(&stored)["reservation"], released);
        assert_books_balance(&app).await;
    }

    async fn an_active_hold_is_extended_and_unknown_holds_are_not_found(app) {
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let sku = sku_with(&app, 1).await;
        let mut input = order(Uuid::new_v4(), &[(&sku, 1)]);
        input["ttlSeconds"] = json!(60);
        let created = hold(&app, &key, &input).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let extended = app.graphql_as(
            &key,
            "mutation($id: UUID!) { extendReservation(id: $id, ttlSeconds: 3600) { status expiresAt } }",
            json!({ "id": id }),
        ).await;
        let extended = &data(&extended)["extendReservation"];
        assert_eq!(extended["status"], "ACTIVE");
        let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
        let gained = at(&extended["expiresAt"]) - at(&created["expiresAt"]);
        assert!(gained.num_seconds() >= 3600 - 60 - 5, "extended by {gained}");

        let unknown = Uuid::new_v4().to_string();
        for field in ["confirmReservation", "releaseReservation"] {
            let missing = transition(&app, &key, field, &unknown).await;
            assert_eq!(error_code(&missing), Some("NOT_FOUND"), "{missing:#}");
        }
        let none = app.graphql_as(&key, "query($id: UUID!) { reservation(id: $id) { id } }", json!({ "id": unknown })).await;
        assert_eq!(data(&none)["reservation"], Value::Null);
    }

    async fn every_invalid_reservation_is_refused_with_a_code_and_writes_nothing(app) {
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let sku = sku_with(&app, 1).await;
        let valid = order(Uuid::new_v4(), &[(&sku, 1)]);
        let with = |field: &str, value: Value| {
            let mut input = valid.clone();
            input[field] = value;
            input
        };
        let line = |sku: &str, quantity: i64| json!({ "sku": sku, "quantity": quantity });
        let cases: Vec<(&str, Value, &str)> = vec![
            ("no lines", with("lines", json!([])), "lines"),
            ("101 lines", with("lines", json!((0..101).map(|i| line(&format!("S{i}"), 1)).collect::<Vec<_>>())), "lines"),
            ("a SKU twice", with("lines", json!([line(&sku, 1), line(&sku, 2)])), "lines[1].sku"),
            ("zero units", with("lines", json!([line(&sku, 0)])), "lines[0].quantity"),
            ("negative units", with("lines", json!([line(&sku, -5)])), "lines[0].quantity"),
            ("too many units", with("lines", json!([line(&sku, 1_000_001)])), "lines[0].quantity"),
            ("more units than an Int", with("lines", json!([line(&sku, 4_294_967_296)])), "Int"),
            ("an unknown SKU", with("lines", json!([line("NO-SUCH-SKU", 1)])), "NO-SUCH-SKU"),
            ("latitude past the pole", with("shipTo", json!({ "latitude": 91.0, "longitude": 0.0 })), "latitude"),
            ("longitude off the map", with("shipTo", json!({ "latitude": 0.0, "longitude": -181.0 })), "longitude"),
            ("a zero ttl", with("ttlSeconds", json!(0)), "ttlSeconds"),
            ("a ttl over a day", with("ttlSeconds", json!(86_401)), "ttlSeconds"),
            ("a negative ttl", with("ttlSeconds", json!(-1)), "ttlSeconds"),
            ("zero shipments", with("maxShipments", json!(0)), "maxShipments"),
            ("an id that is not a UUID", with("reservationId", json!("order-17")), "UUID"),
            ("an unknown strategy", with("strategy", json!("FASTEST")), "strategy"),
        ];
        let before = footprint(&app).await;
        for (case, input, names) in cases {
            let response = reserve(&app, &key, &input).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{case}: {response:#}");
            assert!(error_message(&response).contains(names), "{case}: the message names {names}: {response:#}");
        }
        for ttl in [0, 86_401] {
            let response = app.graphql_as(
                &key,
                "mutation($id: UUID!, $ttl: Int!) { extendReservation(id: $id, ttlSeconds: $ttl) { id } }",
                json!({ "id": Uuid::new_v4(), "ttl": ttl }),
            ).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "ttl {ttl}: {response:#}");
        }
        assert_eq!(footprint(&app).await, before, "nothing was written");
    }

    async fn holds_need_a_checkout_key(app) {
        let before = footprint(&app).await;
        let input = order(Uuid::new_v4(), &[(HOT_SKU, 1)]);
        let anonymous = app.graphql(&reserve_query(), json!({ "input": input })).await;
        assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"), "{anonymous:#}");
        let id = Uuid::new_v4().to_string();
        for field in ["confirmReservation", "releaseReservation"] {
            let response = app.graphql(&transition_query(field), json!({ "id": id })).await;
            assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{field}: {response:#}");
        }
        let query = app.graphql("query($id: UUID!) { reservation(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_code(&query), Some("UNAUTHENTICATED"), "{query:#}");
        // An admin may do what a checkout may.
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        hold(&app, &admin, &input).await;
        assert_eq!(footprint(&app).await[3], before[3] + 1, "one reservation more");
    }

    async fn an_order_the_stock_cannot_cover_is_answered_and_holds_nothing(app) {
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let before = footprint(&app).await;
        let response = reserve(&app, &key, &order(Uuid::new_v4(), &[(HOT_SKU, HOT_SKU_UNITS + 1)])).await;
        let outcome = &data(&response)["reserveOrder"];
        assert_eq!(outcome["__typename"], "InsufficientStock");
        assert_eq!(outcome["shortages"], json!([{ "sku": HOT_SKU, "requested": HOT_SKU_UNITS + 1, "available": HOT_SKU_UNITS }]));
        assert!(outcome["message"].as_str().unwrap().contains(HOT_SKU));
        assert_eq!(footprint(&app).await, before);
    }
}

/// Polls until `check` holds, for at most ten seconds.
pub(crate) async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

mod swept {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            config.sweep_interval = Duration::from_millis(100);
        };

        async fn a_hold_past_its_time_expires_once_and_its_stock_comes_back(app) {
            let key = app.create_key(KeyRole::Checkout, "checkout").await;
            let sku = sku_with(&app, 3).await;
            let before = stock_of(&app, &sku).await;
            let mut input = order(Uuid::new_v4(), &[(&sku, 3)]);
            input["ttlSeconds"] = json!(1);
            let created = hold(&app, &key, &input).await;
            let id = created["id"].as_str().unwrap().to_owned();
            assert_eq!(stock_of(&app, &sku).await.0, before.0 + 3);

            let swept = "SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED'";
            eventually("the sweeper expires the hold", async || app.scalar(swept).await == 1).await;
            assert_eq!(stock_of(&app, &sku).await, before);
            assert_eq!(movements_of(&app, &id, "EXPIRE").await, 1);
            // More sweeps change nothing.
            tokio::time::sleep(Duration::from_millis(400)).await;
            assert_eq!(movements_of(&app, &id, "EXPIRE").await, 1);
            assert_eq!(stock_of(&app, &sku).await, before);

            let refused = transition(&app, &key, "confirmReservation", &id).await;
            assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused:#}");
            assert!(error_message(&refused).contains("expired"), "{refused:#}");
            let stored = app.graphql_as(&key, "query($id: UUID!) { reservation(id: $id) { status releasedAt } }", json!({ "id": id })).await;
            assert_eq!(data(&stored)["reservation"]["status"], "EXPIRED");
            assert!(data(&stored)["reservation"]["releasedAt"].is_string());
            assert_books_balance(&app).await;
        }

        async fn two_replicas_sweeping_one_database_expire_each_hold_exactly_once(app) {
            let other = app.replica(|config| config.sweep_interval = Duration::from_millis(100)).await;
            let key = app.create_key(KeyRole::Checkout, "checkout").await;
            let sku = sku_with(&app, 30).await;
            let before = stock_of(&app, &sku).await;
            for i in 0..30 {
                let mut input = order(Uuid::new_v4(), &[(&sku, 1)]);
                input["ttlSeconds"] = json!(1);
                // Half through each replica.
                hold(if i % 2 == 0 { &app } else { &other }, &key, &input).await;
            }
            // The test sweeps too, beside the two servers' sweepers.
            let store = Store::new(app.db.clone());
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            let (mine, theirs) = tokio::join!(sweeper::sweep(&store, 100), sweeper::sweep(&store, 100));
            let swept_here = mine.unwrap().expired + theirs.unwrap().expired;
            eventually(
                "every hold has expired",
                async || app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED'").await == 30,
            ).await;
            assert!(swept_here <= 30);
            assert_eq!(
                app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'EXPIRE'").await,
                30,
                "one EXPIRE movement per hold"
            );
            assert_eq!(stock_of(&app, &sku).await, before);
            assert_books_balance(&app).await;
        }
    }
}

mod stopping {
    use super::*;

    on_both_backends! {
        async fn the_sweeper_stops_when_told_to(app) {
            let (stop, stopping) = tokio::sync::watch::channel(false);
            let store = Store::new(app.db.clone());
            let sweeping = tokio::spawn(sweeper::run(store, Duration::from_millis(10), stopping, stockroute::metrics::Metrics::default()));
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(!sweeping.is_finished(), "it sweeps until told to stop");
            stop.send_replace(true);
            // A generous bound: the loop checks the signal between sweeps.
            tokio::time::timeout(Duration::from_secs(10), sweeping)
                .await
                .expect("the sweeper stops")
                .expect("without panicking");
        }
    }
}

mod unswept {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            config.sweep_interval = Duration::from_secs(3600);
        };

        async fn a_hold_past_its_time_is_expired_before_the_sweeper_gets_to_it(app) {
            let key = app.create_key(KeyRole::Checkout, "checkout").await;
            let sku = sku_with(&app, 1).await;
            let before = stock_of(&app, &sku).await;
            let mut input = order(Uuid::new_v4(), &[(&sku, 1)]);
            input["ttlSeconds"] = json!(1);
            let created = hold(&app, &key, &input).await;
            let id = created["id"].as_str().unwrap().to_owned();
            tokio::time::sleep(Duration::from_millis(1_200)).await;

            let written = footprint(&app).await;
            for field in ["confirmReservation", "releaseReservation"] {
                let refused = transition(&app, &key, field, &id).await;
                assert_eq!(error_code(&refused), Some("CONFLICT"), "{field}: {refused:#}");
                assert!(error_message(&refused).contains("expired"), "{field}: {refused:#}");
            }
            let stored = app.graphql_as(&key, "query($id: UUID!) { reservation(id: $id) { status } }", json!({ "id": id })).await;
            assert_eq!(data(&stored)["reservation"]["status"], "EXPIRED");
            assert_eq!(footprint(&app).await, written, "refusals write nothing");
            assert_eq!(stock_of(&app, &sku).await.0, before.0 + 1, "still held until swept");

            let store = Store::new(app.db.clone());
            assert_eq!(sweeper::sweep(&store, 100).await.unwrap().expired, 1);
            assert_eq!(sweeper::sweep(&store, 100).await.unwrap().expired, 0);
            assert_eq!(stock_of(&app, &sku).await, before);
            assert_eq!(movements_of(&app, &id, "EXPIRE").await, 1);
            assert_books_balance(&app).await;
        }
    }
}
