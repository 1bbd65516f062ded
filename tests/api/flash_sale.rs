//! The hot SKU: reservations taken in batches (group commit), the sold-out
//! answer from memory, and several replicas on one database.

use std::time::Duration;

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    config::{Backend, Config},
    demo::{HOT_SKU, HOT_SKU_UNITS},
    inventory::reservations::BATCHES_IN_FLIGHT,
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, data, error_code, error_message, receive},
    invariants::assert_books_balance,
    on_both_backends,
    reservations::{eventually, hold, movements_of, order, reserve, reserve_query, stock_of},
};

/// `n` checkouts at once, each for one unit of the hot SKU; returns how
/// many were held and how many were told it is short.
pub(crate) async fn race(apps: &[&TestApp], key: &str, n: usize) -> (i32, i32) {
    let query = reserve_query();
    // At most this many connections at once: beyond it the test's own
    // sockets (and the listen backlog) would be what is measured.
    let in_flight = tokio::sync::Semaphore::new(500);
    let responses = join_all((0..n).map(|i| {
        let app = apps[i % apps.len()];
        let input = order(Uuid::new_v4(), &[(HOT_SKU, 1)]);
        let (query, in_flight) = (&query, &in_flight);
        async move {
            let _turn = in_flight.acquire().await.expect("open");
            app.graphql_as(key, query, json!({ "input": input })).await
        }
    }))
    .await;
    let (mut held, mut short) = (0, 0);
    for response in &responses {
        let outcome = &data(response)["reserveOrder"];
        match outcome["__typename"].as_str() {
            Some("Reservation") => held += 1,
            Some("InsufficientStock") => {
                assert_eq!(outcome["shortages"][0]["sku"], HOT_SKU, "{outcome:#}");
                assert_eq!(outcome["shortages"][0]["available"], 0, "{outcome:#}");
                short += 1;
            }
            other => panic!("unexpected outcome {other:?}: {response:#}"),
        }
    }
    (held, short)
}

/// Holds every stock level of the hot SKU in a transaction of another
/// connection, so that the next batch that takes it waits; dropping the
/// returned transaction lets it go.
async fn block_hot_sku(app: &TestApp) -> sea_orm::DatabaseTransaction {
    let other = Database::connect(app.database.url.as_str())
        .await
        .expect("a second connection");
    let txn = other.begin().await.expect("a transaction");
    txn.execute_unprepared(&format!(
        "UPDATE inventory SET version = version WHERE product_id =
         (SELECT id FROM products WHERE sku = '{HOT_SKU}')"
    ))
    .await
    .expect("the hot SKU's levels are locked");
    txn
}

/// Polls `/metrics` until `metric` reaches `value`.
async fn metric_reaches(app: &TestApp, metric: &str, value: u64) {
    eventually(&format!("{metric} is {value}"), async || {
        app.metric(metric).await == value
    })
    .await;
}

/// Sends `inputs` while the first reservations of the hot SKU are stuck in
/// their batches (one per batch the queue runs at once, so that no batch is
/// free to start), so that all of them queue and are taken as ONE batch
/// once they are let go; returns their responses in the order given. Each
/// stuck reservation is held in the end.
async fn as_one_batch(app: &TestApp, key: &str, inputs: Vec<Value>) -> Vec<Value> {
    let batches = app.metric("stockroute_reservation_batches_total").await;
    let blocker = block_hot_sku(app).await;
    let stuck_inputs: Vec<Value> = (0..BATCHES_IN_FLIGHT)
        .map(|_| order(Uuid::new_v4(), &[(HOT_SKU, 1)]))
        .collect();
    let queued = inputs.len() as u64;
    let stuck = join_all(
        stuck_inputs
            .iter()
            .enumerate()
            .map(|(i, input)| async move {
                // One after the other: each its own batch.
                metric_reaches(
                    app,
                    "stockroute_reservation_batches_total",
                    batches + i as u64,
                )
                .await;
                reserve(app, key, input).await
            }),
    );
    let rest = async {
        let busy = batches + BATCHES_IN_FLIGHT as u64;
        metric_reaches(app, "stockroute_reservation_batches_total", busy).await;
        let responses = join_all(inputs.iter().map(|input| reserve(app, key, input)));
        let wait = async {
            metric_reaches(app, "stockroute_reservations_waiting", queued).await;
            blocker.rollback().await.expect("the lock is let go");
        };
        let (responses, ()) = futures_util::join!(responses, wait);
        responses
    };
    let (stuck, responses) = futures_util::join!(stuck, rest);
    for response in &stuck {
        assert_eq!(
            data(response)["reserveOrder"]["__typename"],
            "Reservation",
            "{response:#}"
        );
    }
    assert_eq!(
        app.metric("stockroute_reservation_batches_total").await,
        batches + BATCHES_IN_FLIGHT as u64 + 1,
        "the queued requests were taken as one batch"
    );
    responses
}

/// A SKU other than the hot one and those in `skip` with at least `units`
/// available in one warehouse, and what is available of it in all.
async fn other_sku(app: &TestApp, units: i32, skip: &[&str]) -> (String, i64) {
    let skip: String = skip.iter().map(|sku| format!(", '{sku}'")).collect();
    let sku = app
        .scalar_text(&format!(
            "SELECT p.sku FROM products p JOIN inventory i ON i.product_id = p.id
             JOIN warehouses w ON w.id = i.warehouse_id
             WHERE w.active AND i.quantity - i.reserved >= {units}
               AND p.sku NOT IN ('{HOT_SKU}'{skip})
             ORDER BY p.sku LIMIT 1"
        ))
        .await;
    let available = app
        .scalar(&format!(
            "SELECT COALESCE(SUM(i.quantity - i.reserved), 0) FROM inventory i
             JOIN products p ON p.id = i.product_id JOIN warehouses w ON w.id = i.warehouse_id
             WHERE w.active AND p.sku = '{sku}'"
        ))
        .await;
    (sku, available)
}

fn typename(response: &Value) -> &str {
    data(response)["reserveOrder"]["__typename"]
        .as_str()
        .unwrap_or("")
}

on_both_backends! {
    async fn five_thousand_checkouts_race_for_the_hundred_hot_units(app) {
        let key = app.create_key(KeyRole::Checkout, "flash-sale").await;
        let (held, short) = race(&[&app], &key, 5_000).await;
        assert_eq!((held, short), (HOT_SKU_UNITS, 5_000 - HOT_SKU_UNITS));
        let units = i64::from(HOT_SKU_UNITS);
        assert_eq!(stock_of(&app, HOT_SKU).await, (units, units));
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'RESERVE'").await,
            units
        );
        assert!(
            app.metric("stockroute_reservation_batches_total").await < 5_000,
            "the checkouts were batched"
        );
        assert_books_balance(&app).await;
    }

    async fn the_metrics_count_the_batches_that_wrote_and_how_long_they_held_the_stock(app) {
        const WRITTEN: &str = "stockroute_reservation_batches_written_total";
        const HELD: &str = "stockroute_reservation_rows_held_seconds_total";
        let key = app.create_key(KeyRole::Checkout, "till").await;
        let (written, held) = (app.metric(WRITTEN).await, app.metric_as::<f64>(HELD).await);
        let started = std::time::Instant::now();
        // One after the other: a batch each.
        for _ in 0..3 {
            let response = reserve(&app, &key, &order(Uuid::new_v4(), &[(HOT_SKU, 1)])).await;
            assert_eq!(data(&response)["reserveOrder"]["__typename"], "Reservation", "{response:#}");
        }
        let elapsed = started.elapsed().as_secs_f64();
        // More than there is: a batch that writes nothing.
        let too_many = order(Uuid::new_v4(), &[(HOT_SKU, HOT_SKU_UNITS + 1)]);
        let response = reserve(&app, &key, &too_many).await;
        assert_eq!(data(&response)["reserveOrder"]["__typename"], "InsufficientStock", "{response:#}");

        assert_eq!(app.metric(WRITTEN).await, written + 3, "the three holds' batches, not the refusal's");
        let held_now = app.metric_as::<f64>(HELD).await;
        assert!(held_now > held, "each batch held its level's row for a while: {held} -> {held_now}");
        assert!(held_now - held <= elapsed, "no longer than the three requests took: {} > {elapsed}", held_now - held);
    }

    async fn two_replicas_racing_for_one_sku_never_oversell(app) {
        let key = app.create_key(KeyRole::Checkout, "two-sites").await;
        let other = app.replica(|_| {}).await;
        let (held, short) = race(&[&app, &other], &key, 600).await;
        assert_eq!((held, short), (HOT_SKU_UNITS, 600 - HOT_SKU_UNITS));
        assert_books_balance(&app).await;
    }

    async fn a_sold_out_sku_comes_back_when_another_replica_restocks_it(app) {
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let admin = app.create_key(KeyRole::Admin, "warehouse").await;
        let other = app.replica(|_| {}).await;
        assert_eq!(race(&[&app], &checkout, 150).await, (HOT_SKU_UNITS, 50));
        assert_eq!(race(&[&app], &checkout, 1).await, (0, 1));
        receive(&other, &admin, HOT_SKU, "BER1", 1).await;
        eventually("the restock made elsewhere is sold here", async || {
            race(&[&app], &checkout, 1).await == (1, 0)
        })
        .await;
        assert_eq!(race(&[&app], &checkout, 1).await, (0, 1));
        assert_books_balance(&app).await;
    }
}

mod from_memory {
    use super::*;

    on_both_backends! {
        configure: |config: &mut Config| {
            // Nothing in the background runs statements meanwhile, and an
            // entry lives as long as the test.
            config.sweep_interval = Duration::from_secs(3600);
            config.event_poll_interval = Duration::from_secs(3600);
            config.availability_cache_ttl = Some(Duration::from_secs(3600));
            config.key_cache_ttl = Some(Duration::from_secs(3600));
        };

        async fn a_sold_out_sku_is_refused_with_one_id_lookup_and_sold_again_on_restock(app) {
            let checkout = app.create_key(KeyRole::Checkout, "shop").await;
            let admin = app.create_key(KeyRole::Admin, "warehouse").await;
            assert_eq!(race(&[&app], &checkout, 120).await, (HOT_SKU_UNITS, 20));
            // The first refusal after the last hold reads the stock (and
            // keeps it); the next ones need not.
            assert_eq!(race(&[&app], &checkout, 1).await, (0, 1));
            let before = app.settled_db_statements().await;
            for _ in 0..5 {
                assert_eq!(race(&[&app], &checkout, 1).await, (0, 1));
            }
            // Each request: the batch's lookup of its id (a retry of a
            // held order must still get its hold); its API key was looked
            // up once and is remembered.
            assert_eq!(app.db_statements().await - before, 5);

            // A retry of a held order is answered with its hold, sold out or not.
            let held_id = app.scalar_text(
                "SELECT reference_id FROM inventory_movements WHERE movement_type = 'RESERVE' LIMIT 1"
            ).await;
            let replay = app.graphql_as(&checkout, &reserve_query(), json!({
                "input": order(held_id.parse().unwrap(), &[(HOT_SKU, 1)])
            })).await;
            assert_eq!(typename(&replay), "Reservation", "{replay:#}");

            receive(&app, &admin, HOT_SKU, "BER1", 1).await;
            assert_eq!(race(&[&app], &checkout, 2).await, (1, 1), "sold at once after the restock");
            assert_books_balance(&app).await;
        }

        async fn a_storm_of_retries_gets_the_stored_holds_read_together(app) {
            // Clients whose answers were lost retry with the same ids, all
            // at once: those still in stock (the first try of their batch
            // finds the ids taken) and those sold out by then.
            let checkout = app.create_key(KeyRole::Checkout, "shop").await;
            let query = reserve_query();
            let reserve_all = async |ids: &[Uuid]| {
                join_all(ids.iter().map(|&id| {
                    let input = order(id, &[(HOT_SKU, 1)]);
                    app.graphql_as(&checkout, &query, json!({ "input": input }))
                }))
                .await
            };
            let ids: Vec<Uuid> = (0..80).map(|_| Uuid::new_v4()).collect();
            let first = reserve_all(&ids).await;
            let held: Vec<&Value> = first.iter().map(|r| &data(r)["reserveOrder"]).collect();
            assert!(held.iter().all(|h| h["__typename"] == "Reservation"), "{first:#?}");
            for sold_out in [false, true] {
                if sold_out {
                    let rest: Vec<Uuid> = (0..HOT_SKU_UNITS - 80).map(|_| Uuid::new_v4()).collect();
                    reserve_all(&rest).await;
                }
                let before = app.settled_db_statements().await;
                let again = reserve_all(&ids).await;
                let statements = app.db_statements().await - before;
                for (retry, hold) in again.iter().zip(&held) {
                    // The same hold, as it was answered the first time.
                    assert_eq!(&data(retry)["reserveOrder"], *hold, "sold out: {sold_out}");
                }
                // Reading each retry's hold alone takes five statements
                // (the hold, its shipments, lines, warehouses, products):
                // 400 at the least, where reading a batch's together takes
                // five a batch (42 - 92 statements, both backends, seen).
                assert!(
                    statements < 5 * ids.len() as u64,
                    "{} retries (sold out: {sold_out}) took {statements} statements",
                    ids.len()
                );
            }
            assert_eq!(
                app.scalar("SELECT COUNT(*) FROM reservations").await,
                i64::from(HOT_SKU_UNITS),
                "the retries held nothing new"
            );
            assert_books_balance(&app).await;
        }
    }
}

mod one_connection {
    use super::*;

    on_both_backends! {
        configure: |config: &mut Config| {
            // Every batch, key check and background read shares it.
            config.pool.size = 1;
        };

        async fn a_pool_of_one_connection_serves_a_race_without_stalling(app) {
            let key = app.create_key(KeyRole::Checkout, "small-pool").await;
            // A batch waiting for its turn must not hold the connection the
            // batch before it needs: the race would stall into pool
            // timeouts, which `race` reports as errors.
            let (held, short) = race(&[&app], &key, 400).await;
            assert_eq!((held, short), (HOT_SKU_UNITS, 400 - HOT_SKU_UNITS));
            assert_books_balance(&app).await;
        }
    }
}

/// Batches made on purpose: a first reservation is held up by a lock taken
/// from another connection while the rest queue behind it. PostgreSQL
/// only for now: on SQLite the other connection's write lock also holds
/// the queued requests up before they reach the queue, so they never
/// gather (not yet understood; the same answers are checked there by the
/// races above, whose batches form by themselves).
mod one_batch {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_answers_each_caller_as_it_would_alone() {
        let app = TestApp::spawn_with(crate::helpers::Backend::Postgres, |_| {}).await;
        let key = app.create_key(KeyRole::Checkout, "mixed").await;
        let earlier_id = Uuid::new_v4();
        let earlier_input = order(earlier_id, &[(HOT_SKU, 1)]);
        let earlier = hold(&app, &key, &earlier_input).await;
        let (other, _) = other_sku(&app, 2, &[]).await;
        let (third, third_available) = other_sku(&app, 1, &[&other]).await;
        // A retry of a hold that took all there was: planned again it
        // would be short, and nothing it writes tells the batch it is a
        // retry, so the answer must come from looking its id up.
        let (fourth, fourth_available) = other_sku(&app, 1, &[&other, &third]).await;
        let all_of_fourth = order(Uuid::new_v4(), &[(&fourth, fourth_available as i32)]);
        let took_all = hold(&app, &key, &all_of_fourth).await;
        let (fourth_reserved, _) = stock_of(&app, &fourth).await;
        let twice = Uuid::new_v4();
        let normal = Uuid::new_v4();
        let short_id = Uuid::new_v4();
        let (other_reserved, _) = stock_of(&app, &other).await;

        let responses = as_one_batch(
            &app,
            &key,
            vec![
                earlier_input.clone(),
                order(twice, &[(&other, 1)]),
                order(twice, &[(&other, 1)]),
                order(earlier_id, &[(HOT_SKU, 2)]),
                order(
                    short_id,
                    &[(&other, 1), (&third, third_available as i32 + 1)],
                ),
                order(Uuid::new_v4(), &[("NO-SUCH-SKU", 1)]),
                order(normal, &[(HOT_SKU, 1)]),
                all_of_fourth.clone(),
            ],
        )
        .await;

        // A retry gets the stored hold.
        assert_eq!(data(&responses[0])["reserveOrder"], earlier);
        // One new id twice: one hold, both answered with it.
        assert_eq!(typename(&responses[1]), "Reservation", "{:#}", responses[1]);
        assert_eq!(data(&responses[1]), data(&responses[2]));
        assert_eq!(movements_of(&app, &twice.to_string(), "RESERVE").await, 1);
        // A reused id with another order.
        assert_eq!(
            error_code(&responses[3]),
            Some("CONFLICT"),
            "{:#}",
            responses[3]
        );
        // All or nothing: the short second line holds nothing of the first.
        let short = &data(&responses[4])["reserveOrder"];
        assert_eq!(short["__typename"], "InsufficientStock", "{short:#}");
        assert_eq!(
            short["shortages"],
            json!([{ "sku": third, "requested": third_available + 1, "available": third_available }])
        );
        assert_eq!(
            movements_of(&app, &short_id.to_string(), "RESERVE").await,
            0
        );
        assert_eq!(stock_of(&app, &other).await.0, other_reserved + 1);
        // An unknown SKU is the caller's error, not the batch's.
        assert_eq!(error_code(&responses[5]), Some("BAD_USER_INPUT"));
        assert!(
            error_message(&responses[5]).contains("lines[0].sku"),
            "{:#}",
            responses[5]
        );
        // And the rest are held.
        assert_eq!(typename(&responses[6]), "Reservation", "{:#}", responses[6]);
        assert_eq!(movements_of(&app, &normal.to_string(), "RESERVE").await, 1);
        assert_eq!(
            stock_of(&app, HOT_SKU).await.0,
            2 + BATCHES_IN_FLIGHT as i64,
            "earlier, the stuck ones, and normal"
        );
        assert_eq!(data(&responses[7])["reserveOrder"], took_all);
        assert_eq!(
            stock_of(&app, &fourth).await.0,
            fourth_reserved,
            "the retry held nothing more"
        );
        assert_books_balance(&app).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_error_in_a_batch_fails_only_the_caller_it_belongs_to() {
        let app = TestApp::spawn_with(crate::helpers::Backend::Postgres, |_| {}).await;
        let key = app.create_key(KeyRole::Checkout, "faulty").await;
        let refuse = match app.database.url.backend() {
            Backend::Postgres => vec![
                "CREATE FUNCTION refuse_seven() RETURNS trigger AS $$ BEGIN
                   IF NEW.reserved_delta = 7 THEN RAISE EXCEPTION 'refused by the test'; END IF;
                   RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_seven BEFORE INSERT ON inventory_movements
                   FOR EACH ROW EXECUTE FUNCTION refuse_seven()",
            ],
            Backend::Sqlite => vec![
                "CREATE TRIGGER refuse_seven BEFORE INSERT ON inventory_movements
                   WHEN NEW.reserved_delta = 7 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            ],
        };
        for statement in refuse {
            app.db
                .execute_unprepared(statement)
                .await
                .expect("the trigger is installed");
        }
        let (other, _) = other_sku(&app, 7, &[]).await;
        let culprit = Uuid::new_v4();
        let mut inputs = vec![order(culprit, &[(&other, 7)])];
        let fine: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        inputs.extend(fine.iter().map(|id| order(*id, &[(HOT_SKU, 1)])));
        let responses = as_one_batch(&app, &key, inputs).await;

        assert_eq!(
            error_code(&responses[0]),
            Some("INTERNAL"),
            "{:#}",
            responses[0]
        );
        assert!(
            !error_message(&responses[0]).contains("refused"),
            "{:#}",
            responses[0]
        );
        assert_eq!(movements_of(&app, &culprit.to_string(), "RESERVE").await, 0);
        for (response, id) in responses[1..].iter().zip(&fine) {
            assert_eq!(typename(response), "Reservation", "{response:#}");
            assert_eq!(movements_of(&app, &id.to_string(), "RESERVE").await, 1);
        }
        assert_eq!(
            stock_of(&app, HOT_SKU).await.0,
            3 + BATCHES_IN_FLIGHT as i64,
            "the fine ones and the stuck ones"
        );
        assert_books_balance(&app).await;
    }
}
