//! Confirms and releases taken in batches (group commit), as a flash
//! sale's payments come in.

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::{auth::KeyRole, demo::HOT_SKU};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message, receive},
    invariants::assert_books_balance,
    on_both_backends,
    reservations::{movements_of, order, reserve, stock_of},
};

async fn end(app: &TestApp, key: &str, field: &str, id: Uuid) -> Value {
    app.graphql_as(
        key,
        &format!("mutation($id: UUID!) {{ {field}(id: $id) {{ id status }} }}"),
        json!({ "id": id }),
    )
    .await
}

/// `n` holds of one unit of the hot SKU, made at once.
async fn holds(app: &TestApp, key: &str, n: usize) -> Vec<Uuid> {
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let responses = join_all(
        ids.iter()
            .map(|id| async move { reserve(app, key, &order(*id, &[(HOT_SKU, 1)])).await }),
    )
    .await;
    for response in &responses {
        assert_eq!(
            data(response)["reserveOrder"]["__typename"],
            "Reservation",
            "{response:#}"
        );
    }
    ids
}

on_both_backends! {
    async fn payments_racing_in_are_confirmed_in_batches_and_the_books_balance(app) {
        let admin = app.create_key(KeyRole::Admin, "stock").await;
        let key = app.create_key(KeyRole::Checkout, "shop").await;
        receive(&app, &admin, HOT_SKU, "BER1", 300).await;
        let ids = holds(&app, &key, 300).await;
        let (reserved_before, on_hand_before) = stock_of(&app, HOT_SKU).await;
        let batches = app.metric("stockroute_hold_ending_batches_total").await;
        let requests = app.metric("stockroute_hold_ending_batch_requests_total").await;

        // Two in three pay, the rest give up, all at once.
        let app = &app;
        let key = &key;
        let responses = join_all(ids.iter().enumerate().map(|(i, id)| async move {
            let field = if i % 3 == 2 { "releaseReservation" } else { "confirmReservation" };
            (i, *id, end(app, key, field, *id).await)
        }))
        .await;
        for (i, id, response) in &responses {
            let field = if i % 3 == 2 { "releaseReservation" } else { "confirmReservation" };
            let status = if i % 3 == 2 { "RELEASED" } else { "CONFIRMED" };
            assert_eq!(data(response)[field], json!({ "id": id, "status": status }));
        }

        let (reserved, on_hand) = stock_of(app, HOT_SKU).await;
        assert_eq!(reserved, reserved_before - 300, "every hold let go of its unit");
        assert_eq!(on_hand, on_hand_before - 200, "the paid units left the warehouse");
        for (i, id, _) in &responses {
            let kind = if i % 3 == 2 { "RELEASE" } else { "ORDER" };
            assert_eq!(movements_of(app, &id.to_string(), kind).await, 1, "{id}");
        }
        let batches = app.metric("stockroute_hold_ending_batches_total").await - batches;
        let requests = app.metric("stockroute_hold_ending_batch_requests_total").await - requests;
        assert_eq!(requests, 300);
        assert!(batches < 300, "300 endings at once took {batches} batches");
        assert_books_balance(app).await;
    }

    async fn endings_that_race_for_one_hold_are_answered_as_one_after_the_other(app) {
        let key = app.create_key(KeyRole::Checkout, "shop").await;
        let ids = holds(&app, &key, 2).await;
        let (paid, dropped) = (ids[0], ids[1]);
        // Each hold confirmed and released by many callers at once: one
        // ending wins; its repeats get the hold, the other ending a
        // CONFLICT; the stock moves once.
        let app = &app;
        let key = &key;
        let responses = join_all((0..40).map(|i| async move {
            let id = if i % 2 == 0 { paid } else { dropped };
            let field = if i % 4 < 2 { "confirmReservation" } else { "releaseReservation" };
            (id, field, end(app, key, field, id).await)
        }))
        .await;
        for hold in [paid, dropped] {
            let answers: Vec<_> = responses.iter().filter(|(id, _, _)| *id == hold).collect();
            let won: Vec<&str> = answers
                .iter()
                .filter(|(_, _, response)| response["errors"].is_null())
                .map(|(_, field, _)| *field)
                .collect();
            assert!(!won.is_empty(), "{hold}: no ending won");
            assert!(won.iter().all(|field| *field == won[0]), "{hold}: {won:?}");
            for (_, field, response) in &answers {
                if *field != won[0] {
                    assert_eq!(error_code(response), Some("CONFLICT"), "{response:#}");
                }
            }
            let kind = if won[0] == "confirmReservation" { "ORDER" } else { "RELEASE" };
            assert_eq!(movements_of(app, &hold.to_string(), kind).await, 1);
        }
        assert_books_balance(app).await;
    }

    async fn an_unknown_or_ended_hold_in_a_batch_is_refused_and_the_others_end(app) {
        let key = app.create_key(KeyRole::Checkout, "shop").await;
        let ids = holds(&app, &key, 12).await;
        let released = ids[0];
        assert!(end(&app, &key, "releaseReservation", released).await["errors"].is_null());
        let unknown = Uuid::new_v4();
        let app = &app;
        let key = &key;
        let mut asked: Vec<Uuid> = ids.clone();
        asked.push(unknown);
        let responses = join_all(asked.iter().map(|id| async move {
            (*id, end(app, key, "confirmReservation", *id).await)
        }))
        .await;
        for (id, response) in &responses {
            if *id == unknown {
                assert_eq!(error_code(response), Some("NOT_FOUND"), "{response:#}");
            } else if *id == released {
                assert_eq!(error_code(response), Some("CONFLICT"), "{response:#}");
                assert!(error_message(response).contains("was released"), "{response:#}");
            } else {
                assert_eq!(data(response)["confirmReservation"]["status"], "CONFIRMED");
            }
        }
        assert_books_balance(app).await;
    }
}

mod sweeps {
    use std::time::Duration;

    use stockroute::inventory::{Store, reservations::sweeper};

    use super::*;

    on_both_backends! {
        configure: |config| config.sweep_interval = Duration::from_secs(3_600);

        async fn a_sweep_expires_due_holds_in_batches_of_five_hundred(app) {
            let admin = app.create_key(KeyRole::Admin, "stock").await;
            let key = app.create_key(KeyRole::Checkout, "shop").await;
            receive(&app, &admin, HOT_SKU, "BER1", 600).await;
            let (reserved_before, on_hand_before) = stock_of(&app, HOT_SKU).await;
            let app = &app;
            let key = &key;
            let ids: Vec<Uuid> = (0..600).map(|_| Uuid::new_v4()).collect();
            join_all(ids.iter().map(|id| async move {
                let mut input = order(*id, &[(HOT_SKU, 1)]);
                input["ttlSeconds"] = json!(1);
                let response = reserve(app, key, &input).await;
                assert_eq!(data(&response)["reserveOrder"]["__typename"], "Reservation");
            }))
            .await;
            tokio::time::sleep(Duration::from_millis(1_100)).await;

            let swept = sweeper::sweep(&Store::new(app.db.clone()), 10_000).await.unwrap();
            assert_eq!(swept.expired, 600);
            assert_eq!(stock_of(app, HOT_SKU).await, (reserved_before, on_hand_before));
            // One transaction per 500: the movements of a batch are written
            // at one moment, so 600 holds' EXPIREs show two.
            let moments = app
                .scalar("SELECT COUNT(DISTINCT created_at) FROM inventory_movements WHERE movement_type = 'EXPIRE'")
                .await;
            assert_eq!(moments, 2);
            assert_eq!(
                app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'EXPIRE'").await,
                600
            );
            assert_eq!(sweeper::sweep(&Store::new(app.db.clone()), 10_000).await.unwrap().expired, 0);
            assert_books_balance(app).await;
        }
    }
}
