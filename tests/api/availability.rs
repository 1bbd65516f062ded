use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use stockroute::demo::{HOT_SKU, HOT_SKU_UNITS};

use crate::{
    helpers::{data, error_code, error_message},
    on_both_backends,
};

const AVAILABILITY: &str = "query($skus: [String!]!, $shipTo: LocationInput) {
    availability(skus: $skus, shipTo: $shipTo) {
        sku onHand reserved available inStock
        warehouses { available distanceKm warehouse { code active } }
    }
}";

fn berlin() -> Value {
    json!({ "latitude": 52.52, "longitude": 13.405 })
}

on_both_backends! {
    async fn totals_equal_the_sum_of_the_active_warehouses(app) {
        let skus = app.all_skus().await;
        let response = app.graphql(AVAILABILITY, json!({ "skus": skus })).await;
        let entries = data(&response)["availability"].as_array().unwrap().clone();
        assert_eq!(entries.len(), skus.len());
        for entry in &entries {
            let listed: i64 = entry["warehouses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    assert_eq!(w["warehouse"]["active"], true);
                    assert!(w["available"].as_i64().unwrap() > 0);
                    w["available"].as_i64().unwrap()
                })
                .sum();
            assert_eq!(entry["available"].as_i64().unwrap(), listed, "{entry}");
            assert_eq!(
                entry["available"].as_i64().unwrap(),
                entry["onHand"].as_i64().unwrap() - entry["reserved"].as_i64().unwrap()
            );
            assert_eq!(entry["inStock"], listed > 0);
            let sku = entry["sku"].as_str().unwrap();
            let on_hand = app
                .scalar(&format!(
                    "SELECT COALESCE(SUM(i.quantity), 0) FROM inventory i
                     JOIN products p ON p.id = i.product_id
                     JOIN warehouses w ON w.id = i.warehouse_id
                     WHERE p.sku = '{sku}' AND w.active"
                ))
                .await;
            assert_eq!(entry["onHand"].as_i64().unwrap(), on_hand, "{sku}");
        }
        assert!(entries.iter().any(|e| e["inStock"] == false), "the demo has sold-out SKUs");
    }

    async fn entries_come_in_request_order_one_per_requested_sku(app) {
        let skus = ["PACK-22L-RED", HOT_SKU, "TENT-2P-GRN", HOT_SKU];
        let response = app.graphql(AVAILABILITY, json!({ "skus": skus })).await;
        let answered: Vec<&str> = data(&response)["availability"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sku"].as_str().unwrap())
            .collect();
        assert_eq!(answered, skus);
        let hot = &data(&response)["availability"][1];
        assert_eq!(hot["available"], HOT_SKU_UNITS);
        let empty = app.graphql(AVAILABILITY, json!({ "skus": [] })).await;
        assert_eq!(data(&empty)["availability"], json!([]));
    }

    async fn with_a_destination_warehouses_come_nearest_first_with_distances(app) {
        let response = app
            .graphql(AVAILABILITY, json!({ "skus": ["TENT-2P-GRN"], "shipTo": berlin() }))
            .await;
        let warehouses = data(&response)["availability"][0]["warehouses"].as_array().unwrap().clone();
        assert!(warehouses.len() >= 10, "this SKU is everywhere");
        let distances: Vec<f64> = warehouses.iter().map(|w| w["distanceKm"].as_f64().unwrap()).collect();
        assert!(distances.windows(2).all(|p| p[0] <= p[1]), "{distances:?}");
        assert_eq!(warehouses[0]["warehouse"]["code"], "BER1");

        let anywhere = app.graphql(AVAILABILITY, json!({ "skus": ["TENT-2P-GRN"] })).await;
        let listed = data(&anywhere)["availability"][0]["warehouses"].as_array().unwrap().clone();
        let codes: Vec<&str> = listed.iter().map(|w| w["warehouse"]["code"].as_str().unwrap()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(codes, sorted, "without a destination, by code");
        assert!(listed.iter().all(|w| w["distanceKm"].is_null()));
    }

    async fn stock_in_an_inactive_warehouse_is_never_offered(app) {
        let response = app
            .graphql(
                "{ product(sku: \"TENT-2P-GRN\") {
                    stockLevels { quantity warehouse { code active } }
                    availability { onHand warehouses { warehouse { code } } }
                } }",
                json!({}),
            )
            .await;
        let product = &data(&response)["product"];
        let levels = product["stockLevels"].as_array().unwrap();
        let closed: i64 = levels
            .iter()
            .filter(|l| l["warehouse"]["active"] == false)
            .map(|l| l["quantity"].as_i64().unwrap())
            .sum();
        let total: i64 = levels.iter().map(|l| l["quantity"].as_i64().unwrap()).sum();
        assert!(closed > 0, "the demo keeps stock in the closed Dublin warehouse");
        assert_eq!(product["availability"]["onHand"].as_i64().unwrap(), total - closed);
        assert!(product["availability"]["warehouses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["warehouse"]["code"] != "DUB1"));
    }

    async fn product_availability_agrees_with_the_top_level_query(app) {
        let nested = app
            .graphql(
                "query($to: LocationInput) { products(first: 100) { edges { node {
                    sku availability(shipTo: $to) { onHand reserved available warehouses { available distanceKm warehouse { code } } }
                } } } }",
                json!({ "to": berlin() }),
            )
            .await;
        let skus = app.all_skus().await;
        let top = app.graphql(AVAILABILITY, json!({ "skus": skus, "shipTo": berlin() })).await;
        for (edge, entry) in data(&nested)["products"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .zip(data(&top)["availability"].as_array().unwrap())
        {
            let mine = &edge["node"]["availability"];
            assert_eq!(edge["node"]["sku"], entry["sku"]);
            assert_eq!(mine["onHand"], entry["onHand"]);
            assert_eq!(mine["available"], entry["available"]);
            let codes = |v: &Value| -> Vec<String> {
                v["warehouses"].as_array().unwrap().iter().map(|w| w["warehouse"]["code"].to_string()).collect()
            };
            assert_eq!(codes(mine), codes(entry));
        }
    }

    async fn unknown_skus_too_many_skus_and_bad_destinations_are_bad_user_input(app) {
        let unknown = app.graphql(AVAILABILITY, json!({ "skus": [HOT_SKU, "NO-SUCH-SKU"] })).await;
        assert_eq!(error_code(&unknown), Some("BAD_USER_INPUT"));
        assert!(error_message(&unknown).contains("NO-SUCH-SKU"), "{unknown}");

        let many: Vec<String> = (0..101).map(|_| HOT_SKU.to_owned()).collect();
        let too_many = app.graphql(AVAILABILITY, json!({ "skus": many })).await;
        assert_eq!(error_code(&too_many), Some("BAD_USER_INPUT"));
        assert!(error_message(&too_many).contains("100"), "{too_many}");

        let bad_to = app
            .graphql(AVAILABILITY, json!({ "skus": [HOT_SKU], "shipTo": { "latitude": -91, "longitude": 0 } }))
            .await;
        assert_eq!(error_code(&bad_to), Some("BAD_USER_INPUT"));
        assert!(error_message(&bad_to).contains("shipTo.latitude"), "{bad_to}");
    }

    async fn walking_a_warehouses_stock_levels_yields_each_once_while_stock_changes(app) {
        let query = "query($after: String) { warehouse(code: \"BER1\") {
            stockLevels(first: 4, after: $after) {
                edges { cursor node { quantity reserved available version updatedAt product { sku } warehouse { code } } }
                pageInfo { hasNextPage endCursor }
            } } }";
        let mut skus: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let response = app.graphql(query, json!({ "after": after })).await;
            let page = &data(&response)["warehouse"]["stockLevels"];
            for edge in page["edges"].as_array().unwrap() {
                assert_eq!(edge["node"]["warehouse"]["code"], "BER1");
                skus.push(edge["node"]["product"]["sku"].as_str().unwrap().to_owned());
            }
            if page["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            // Stock moves between pages; the walk must not skip or repeat.
            app.db
                .execute_unprepared("UPDATE inventory SET quantity = quantity + 3, version = version + 1")
                .await
                .unwrap();
        }
        let expected = app
            .scalar("SELECT COUNT(*) FROM inventory i JOIN warehouses w ON w.id = i.warehouse_id WHERE w.code = 'BER1'")
            .await;
        assert_eq!(skus.len() as i64, expected);
        let mut unique = skus.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), skus.len());

        for (first, after) in [(0, None), (101, None), (5, Some("bogus"))] {
            let bad = app
                .graphql(
                    "query($first: Int!, $after: String) { warehouse(code: \"BER1\") { stockLevels(first: $first, after: $after) { edges { cursor } } } }",
                    json!({ "first": first, "after": after }),
                )
                .await;
            assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "first {first} after {after:?}");
        }
    }

    async fn metrics_are_served_for_prometheus(app) {
        app.graphql("{ viewer { role } }", json!({})).await;
        let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        // OpenMetrics: a counter's family is named without `_total`.
        assert!(text.contains("# TYPE stockroute_graphql_requests counter"), "{text}");
        assert!(text.contains("\nstockroute_graphql_requests_total "), "{text}");
        assert!(text.contains("stockroute_db_statements_total"));
    }
}

/// Counted through /metrics, which counts every statement the server runs;
/// the background tasks (the expiry sweeper, the event pump's safety poll)
/// are kept out of the count by running only hourly.
mod statement_count {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            config.sweep_interval = std::time::Duration::from_secs(3600);
            config.event_poll_interval = std::time::Duration::from_secs(3600);
            // What is counted is how the reads are made, not whether they
            // can be skipped.
            config.availability_cache_ttl = None;
        };

        async fn the_statements_a_request_runs_do_not_grow_with_its_size(app) {
            let nested = "query($skus: [String!]!, $to: LocationInput) {
                availability(skus: $skus, shipTo: $to) {
                    sku available
                    warehouses { available distanceKm warehouse { code
                        stockLevels(first: 5) { edges { node { quantity product { sku stockLevels { warehouse { code } } } } } }
                    } }
                }
            }";
            let products = "query($first: Int!, $to: LocationInput) { products(first: $first) { edges { node {
                sku availability(shipTo: $to) { available warehouses { warehouse { code } } }
                stockLevels { available product { sku } warehouse { code stockLevels(first: 3) { edges { node { quantity } } } } }
            } } } }";
            let all = app.all_skus().await;
            let mut hundred = all.clone();
            while hundred.len() < 100 {
                hundred.push(all[hundred.len() % all.len()].clone());
            }

            app.settled_db_statements().await;
            let mut counts = Vec::new();
            for (query, variables) in [
                (nested, json!({ "skus": ["TENT-2P-GRN"], "to": berlin() })),
                (nested, json!({ "skus": hundred, "to": berlin() })),
                (products, json!({ "first": 1, "to": berlin() })),
                (products, json!({ "first": 100, "to": berlin() })),
            ] {
                let before = app.db_statements().await;
                let response = app.graphql(query, variables).await;
                data(&response);
                counts.push(app.db_statements().await - before);
            }
            assert_eq!(counts[0], counts[1], "availability: 1 SKU vs 100 SKUs ran {counts:?}");
            assert_eq!(counts[2], counts[3], "products: 1 vs all ran {counts:?}");
            assert!(counts.iter().all(|&c| c <= 8), "{counts:?}");
        }
    }
}

/// `availability` answers from memory until a movement of the SKU commits.
mod served_from_memory {
    use std::time::Duration;

    use stockroute::{auth::KeyRole, demo::HOT_SKU_WAREHOUSE};
    use uuid::Uuid;

    use super::*;
    use crate::helpers::{TestApp, end_hold, receive, reserve};

    /// The hot SKU's (onHand, reserved), read through `app`.
    async fn hot(app: &TestApp) -> (i64, i64) {
        let response = app
            .graphql(AVAILABILITY, json!({ "skus": [HOT_SKU] }))
            .await;
        let entry = &data(&response)["availability"][0];
        (
            entry["onHand"].as_i64().unwrap(),
            entry["reserved"].as_i64().unwrap(),
        )
    }

    const UNITS: i64 = HOT_SKU_UNITS as i64;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            config.sweep_interval = Duration::from_secs(3600);
            config.event_poll_interval = Duration::from_secs(3600);
        };

        async fn a_repeated_read_runs_no_statement_and_every_write_shows_at_once(app) {
            let variables = json!({ "skus": [HOT_SKU, "TENT-2P-GRN"], "shipTo": berlin() });
            let first = app.graphql(AVAILABILITY, variables.clone()).await;
            data(&first);
            let before = app.settled_db_statements().await;
            let hits = app.metric("stockroute_availability_cache_hits_total").await;
            let again = app.graphql(AVAILABILITY, variables).await;
            assert_eq!(app.db_statements().await, before, "the second read ran statements");
            assert_eq!(again, first);
            assert_eq!(app.metric("stockroute_availability_cache_hits_total").await, hits + 2);
            assert_eq!(app.metric("stockroute_availability_cache_entries").await, 2);

            // Each kind of write is seen by the very next read.
            let admin = app.create_key(KeyRole::Admin, "ops").await;
            let checkout = app.create_key(KeyRole::Checkout, "shop").await;
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 5).await;
            assert_eq!(hot(&app).await, (UNITS + 5, 0), "after receiving");
            let dropped = Uuid::new_v4();
            reserve(&app, &checkout, dropped, 2).await;
            assert_eq!(hot(&app).await, (UNITS + 5, 2), "after reserving");
            end_hold(&app, &checkout, "releaseReservation", dropped).await;
            assert_eq!(hot(&app).await, (UNITS + 5, 0), "after releasing");
            let paid = Uuid::new_v4();
            reserve(&app, &checkout, paid, 3).await;
            end_hold(&app, &checkout, "confirmReservation", paid).await;
            assert_eq!(hot(&app).await, (UNITS + 2, 0), "after confirming");
            let written_off = app
                .graphql_as(
                    &admin,
                    "mutation($i: StockChangeInput!) { writeOffStock(input: $i) { quantity } }",
                    json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 2 } }),
                )
                .await;
            data(&written_off);
            assert_eq!(hot(&app).await, (UNITS, 0), "after a write-off");
        }

        async fn a_product_lists_availability_is_served_from_memory_too(app) {
            let page = "{ products(first: 100) { edges { node { sku availability { onHand } } } } }";
            let first = app.graphql(page, json!({})).await;
            let products = data(&first)["products"]["edges"].as_array().unwrap().len() as u64;
            let hits = app.metric("stockroute_availability_cache_hits_total").await;
            assert_eq!(app.graphql(page, json!({})).await, first);
            assert_eq!(
                app.metric("stockroute_availability_cache_hits_total").await,
                hits + products,
                "every product's availability came from memory"
            );

            let admin = app.create_key(KeyRole::Admin, "ops").await;
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 5).await;
            let again = app.graphql(page, json!({})).await;
            let hot = data(&again)["products"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|edge| edge["node"]["sku"] == HOT_SKU)
                .map(|edge| edge["node"]["availability"]["onHand"].clone());
            assert_eq!(hot, Some(json!(UNITS + 5)));
        }

        async fn another_replicas_writes_show_without_waiting_out_the_cache(app) {
            // An hour: only being told of the change can make it show.
            let other = app
                .replica(|config| config.availability_cache_ttl = Some(Duration::from_secs(3600)))
                .await;
            assert_eq!(hot(&other).await, (UNITS, 0));
            let admin = app.create_key(KeyRole::Admin, "ops").await;
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 4).await;
            let shown = tokio::time::timeout(Duration::from_secs(15), async {
                while hot(&other).await != (UNITS + 4, 0) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await;
            assert!(shown.is_ok(), "the other replica still answers {:?}", hot(&other).await);
        }
    }

    mod bounded_by_age {
        use super::*;

        on_both_backends! {
            configure: |config: &mut stockroute::config::Config| {
                config.availability_cache_ttl = Some(Duration::from_millis(300));
            };

            async fn a_change_no_movement_announces_shows_once_the_entry_is_old(app) {
                assert_eq!(hot(&app).await, (UNITS, 0));
                // Closing a warehouse by hand writes no movement.
                app.db
                    .execute_unprepared(&format!(
                        "UPDATE warehouses SET active = false WHERE code = '{HOT_SKU_WAREHOUSE}'"
                    ))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(400)).await;
                assert_eq!(hot(&app).await, (0, 0));
            }
        }
    }

    mod switched_off {
        use super::*;

        on_both_backends! {
            configure: |config: &mut stockroute::config::Config| {
                config.sweep_interval = Duration::from_secs(3600);
                config.event_poll_interval = Duration::from_secs(3600);
                config.availability_cache_ttl = None;
            };

            async fn every_read_reads_the_database(app) {
                hot(&app).await;
                let before = app.settled_db_statements().await;
                hot(&app).await;
                assert!(app.db_statements().await > before);
                assert_eq!(app.metric("stockroute_availability_cache_hits_total").await, 0);
                assert_eq!(app.metric("stockroute_availability_cache_entries").await, 0);
            }
        }
    }
}
