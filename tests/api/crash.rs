//! `kill -9` under load: the server dies in the middle of checkouts, with
//! no shutdown at all. Restarted, it has every hold it acknowledged,
//! expires each hold past its time exactly once, and the books balance.

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockroute::{auth::KeyRole, demo::HOT_SKU};
use uuid::Uuid;

use crate::{
    helpers::{data, receive},
    invariants::assert_books_balance,
    on_both_backends,
    reservations::eventually,
};

const RESERVE: &str = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }";

on_both_backends! {
    async fn a_server_killed_under_load_keeps_every_acknowledged_hold_and_expires_each_once(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        receive(&app, &admin, HOT_SKU, "BER1", 100_000).await;
        let args = ["--sweep-interval", "200ms"];
        let mut server = app.replica_process_with(&args, None).await;

        // 400 checkouts, half of them holding for a second only; the server
        // is killed while they are in flight.
        let orders: Vec<(Uuid, i32)> = (0..400).map(|i| (Uuid::new_v4(), if i % 2 == 0 { 1 } else { 900 })).collect();
        let (endpoint, client) = (server.url("/graphql"), server.client.clone());
        let calls = join_all(orders.iter().map(|&(id, ttl)| {
            let (endpoint, client, checkout) = (&endpoint, &client, &checkout);
            async move {
                let input = json!({ "reservationId": id, "lines": [{ "sku": HOT_SKU, "quantity": 1 }],
                                    "shipTo": { "latitude": 52.52, "longitude": 13.405 }, "ttlSeconds": ttl });
                let answer = client
                    .post(endpoint)
                    .bearer_auth(checkout)
                    .json(&json!({ "query": RESERVE, "variables": { "i": input } }))
                    .send()
                    .await;
                let acknowledged = match answer {
                    Ok(response) => response.json::<Value>().await.ok().is_some_and(|body| body["data"]["reserveOrder"]["__typename"] == "Reservation"),
                    Err(_) => false,
                };
                (id, acknowledged)
            }
        }));
        let kill = async {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            server.kill().await;
        };
        let (answers, ()) = tokio::join!(calls, kill);
        let acknowledged: Vec<Uuid> = answers.iter().filter(|(_, ok)| *ok).map(|(id, _)| *id).collect();
        eprintln!("{} of {} checkouts acknowledged before the kill", acknowledged.len(), orders.len());

        // Restarted on the same database.
        let restarted = app.replica_process_with(&args, None).await;
        for id in &acknowledged {
            let found = restarted
                .graphql_as(&checkout, "query($id: UUID!) { reservation(id: $id) { id } }", json!({ "id": id }))
                .await;
            assert_eq!(data(&found)["reservation"]["id"], json!(id), "acknowledged hold {id} is there");
        }
        // Which holds exist, acknowledged or not (a commit whose answer the
        // kill cut off counts too), by how long they were to last.
        let mut existing = [0i64; 2];
        for &(id, ttl) in &orders {
            let found = restarted
                .graphql_as(&checkout, "query($id: UUID!) { reservation(id: $id) { id } }", json!({ "id": id }))
                .await;
            if !data(&found)["reservation"].is_null() {
                existing[usize::from(ttl == 900)] += 1;
            }
        }
        let [short, long] = existing;
        eventually("every hold past its time is expired", async || {
            app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'ACTIVE'").await == long
        })
        .await;
        let expired = app.scalar("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED'").await;
        assert_eq!(expired, short, "every short hold expired");
        let expire_movements = app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE movement_type = 'EXPIRE'").await;
        assert_eq!(expire_movements, expired, "each expired hold returned its stock exactly once");
        assert_books_balance(&app).await;
    }
}
