//! Live stock over the websocket (`graphql-transport-ws`): every committed
//! movement as an event, filtered, resumable with `after`, in order across
//! slow and fast writers, across replicas, and never silently cut off.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
    entities::movement::MovementType,
    events::{EventBus, EventFilter, pump, stock_events},
    inventory::Store,
    inventory::ledger::{Postings, Shift},
};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, end_hold, error_code, receive, reserve},
    invariants::assert_books_balance,
    on_both_backends,
};

/// How long a test waits for a message it expects before failing.
const PATIENCE: Duration = Duration::from_secs(15);

pub(crate) const EVENTS: &str = "subscription($skus: [String!], $codes: [String!], $after: ID) {
    stockLevelChanged(skus: $skus, warehouseCodes: $codes, after: $after) {
        movement { id sku warehouseCode type quantityDelta reservedDelta quantityAfter reservedAfter createdBy }
        stockLevel { quantity reserved available version }
    }
}";

/// A graphql-transport-ws client.
pub struct Live {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u32,
}

impl Live {
    pub async fn connect(app: &TestApp, key: Option<&str>) -> Live {
        let mut request = format!("ws://{}/graphql", app.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the upgrade succeeds");
        let mut live = Live { socket, next_id: 0 };
        let payload = key.map_or(
            json!({}),
            |key| json!({ "Authorization": format!("Bearer {key}") }),
        );
        live.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = live.receive().await.expect("an answer to connection_init");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        live
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("sent");
    }

    /// The next protocol message, answering pings; None when the socket closed.
    async fn receive(&mut self) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message in time")?
                .ok()?;
            match frame {
                Message::Text(text) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(message);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    pub async fn subscribe(&mut self, query: &str, variables: Value) {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })).await;
    }

    /// The next result: `data` or `errors`, whichever the server sent.
    pub async fn next_result(&mut self) -> Value {
        loop {
            let message = self.receive().await.expect("the socket is open");
            match message["type"].as_str() {
                Some("next") => return message["payload"].clone(),
                Some("error") => return json!({ "errors": message["payload"] }),
                _ => continue,
            }
        }
    }

    /// The close frame that ends the socket: its code and reason. Anything
    /// sent before it is skipped.
    pub async fn close_frame(&mut self) -> (u16, String) {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a close frame in time")
                .expect("a close frame before the socket ends")
                .expect("a frame");
            if let Message::Close(frame) = frame {
                let frame = frame.expect("the close frame has a code");
                return (frame.code.into(), frame.reason.to_string());
            }
        }
    }

    /// The next `stockLevelChanged` event.
    pub async fn next_event(&mut self) -> Value {
        let result = self.next_result().await;
        assert!(
            result.get("errors").is_none(),
            "unexpected errors: {result:#}"
        );
        result["data"]["stockLevelChanged"].clone()
    }
}

/// The newest movement id: a cursor that starts a subscription "from here".
pub(crate) async fn newest(app: &TestApp) -> String {
    app.scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM inventory_movements")
        .await
        .to_string()
}

pub(crate) fn id_of(event: &Value) -> i64 {
    event["movement"]["id"].as_str().unwrap().parse().unwrap()
}

on_both_backends! {
    async fn a_dashboard_sees_every_change_as_it_commits(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let mut live = Live::connect(&app, Some(&admin)).await;
        live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": newest(&app).await })).await;

        receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 5).await;
        let (paid, dropped) = (Uuid::new_v4(), Uuid::new_v4());
        reserve(&app, &checkout, paid, 2).await;
        end_hold(&app, &checkout, "confirmReservation", paid).await;
        reserve(&app, &checkout, dropped, 1).await;
        end_hold(&app, &checkout, "releaseReservation", dropped).await;

        let mut seen = Vec::new();
        for _ in 0..5 {
            let event = live.next_event().await;
            seen.push((
                event["movement"]["type"].as_str().unwrap().to_owned(),
                event["stockLevel"]["quantity"].as_i64().unwrap(),
                event["stockLevel"]["reserved"].as_i64().unwrap(),
                id_of(&event),
            ));
            assert_eq!(event["movement"]["sku"], HOT_SKU);
            assert_eq!(event["movement"]["warehouseCode"], HOT_SKU_WAREHOUSE);
        }
        let kinds: Vec<(&str, i64, i64)> = seen.iter().map(|(k, q, r, _)| (k.as_str(), *q, *r)).collect();
        assert_eq!(kinds, [("RESTOCK", 105, 0), ("RESERVE", 105, 2), ("ORDER", 103, 0), ("RESERVE", 103, 1), ("RELEASE", 103, 0)]);
        assert!(seen.windows(2).all(|w| w[0].3 < w[1].3), "in commit order");
    }

    async fn filters_pass_only_the_skus_and_warehouses_asked_for(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let other = app.scalar_text(&format!("SELECT code FROM warehouses WHERE code <> '{HOT_SKU_WAREHOUSE}' ORDER BY code LIMIT 1")).await;
        let other_sku = app.scalar_text(&format!("SELECT sku FROM products WHERE sku <> '{HOT_SKU}' ORDER BY sku LIMIT 1")).await;
        let mut live = Live::connect(&app, Some(&admin)).await;
        live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "codes": [HOT_SKU_WAREHOUSE], "after": newest(&app).await })).await;
        receive(&app, &admin, HOT_SKU, &other, 1).await;
        receive(&app, &admin, &other_sku, HOT_SKU_WAREHOUSE, 1).await;
        receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 7).await;
        let event = live.next_event().await;
        assert_eq!(event["movement"]["quantityDelta"], 7, "the first event through the filter: {event:#}");

        let mut wrong = Live::connect(&app, Some(&admin)).await;
        wrong.subscribe(EVENTS, json!({ "skus": ["NO-SUCH-SKU"] })).await;
        let refused = wrong.next_result().await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused:#}");
        for variables in [
            json!({ "codes": ["NOWHERE"] }),
            json!({ "skus": (0..101).map(|_| HOT_SKU).collect::<Vec<_>>() }),
            json!({ "after": "-1" }),
            json!({ "after": "ten" }),
        ] {
            let mut wrong = Live::connect(&app, Some(&admin)).await;
            wrong.subscribe(EVENTS, variables.clone()).await;
            let refused = wrong.next_result().await;
            assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{variables}: {refused:#}");
        }
    }

    async fn a_resumed_subscription_replays_then_goes_live_without_gap_or_duplicate(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let start = newest(&app).await;
        let writer = {
            let (admin, app) = (admin.clone(), &app);
            async move {
                for _ in 0..60 {
                    receive(app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
                }
            }
        };
        let reader = async {
            // Join while the writer is under way: part replay, part live.
            while app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM inventory_movements WHERE id > {start}")).await < 20 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut live = Live::connect(&app, Some(&admin)).await;
            live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": start })).await;
            let mut ids = Vec::new();
            for _ in 0..60 {
                ids.push(id_of(&live.next_event().await));
            }
            ids
        };
        let ((), ids) = tokio::join!(writer, reader);
        let mut expected = Vec::new();
        let rows = app.db.query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT CAST(id AS BIGINT) FROM inventory_movements WHERE id > {start} ORDER BY id"),
        )).await.unwrap();
        for row in rows {
            expected.push(row.try_get_by_index::<i64>(0).unwrap());
        }
        assert_eq!(ids, expected, "every movement once, in order");
    }

    async fn a_rolled_back_change_emits_nothing(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let mut live = Live::connect(&app, Some(&admin)).await;
        live.subscribe(EVENTS, json!({ "after": newest(&app).await })).await;
        // A movement written and rolled back.
        let store = Store::new(app.db.clone());
        let txn = store.begin_write().await.unwrap();
        let (product, warehouse) = hot_level(&app).await;
        let mut postings = Postings::new(None, Some("ghost".into()), chrono::Utc::now());
        postings.post(&*txn, Shift::on_hand(product, warehouse, 50, MovementType::Restock)).await.unwrap().unwrap();
        postings.write(&txn).await.unwrap();
        txn.rollback().await.unwrap();
        // A refused change.
        let refused = app.graphql_as(&admin, "mutation { writeOffStock(input: { sku: \"DROP-SNEAKER-LTD\", warehouseCode: \"BER1\", quantity: 1000 }) { quantity } }", json!({})).await;
        assert_eq!(error_code(&refused), Some("CONFLICT"));
        receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 3).await;
        let event = live.next_event().await;
        assert_eq!(event["movement"]["quantityDelta"], 3, "{event:#}");
        assert_eq!(event["movement"]["createdBy"], "dashboard");
        assert_eq!(event["stockLevel"]["quantity"], 103);
    }

    async fn a_slow_writer_committing_after_a_fast_one_is_not_skipped(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let mut live = Live::connect(&app, Some(&admin)).await;
        live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": newest(&app).await })).await;
        let (product, warehouse) = hot_level(&app).await;
        let other = app.scalar_text(&format!("SELECT code FROM warehouses WHERE active AND code <> '{HOT_SKU_WAREHOUSE}' ORDER BY code LIMIT 1")).await;
        let store = Store::new(app.db.clone());
        // The slow writer appends its movement first, then dawdles before
        // committing; the fast one starts meanwhile and commits at once.
        let slow = async {
            let txn = store.begin_write().await.unwrap();
            let mut postings = Postings::new(Some("slow".into()), Some("slow-writer".into()), chrono::Utc::now());
            postings.post(&*txn, Shift::on_hand(product, warehouse, 11, MovementType::Restock)).await.unwrap().unwrap();
            postings.write(&txn).await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            txn.commit().await.unwrap();
        };
        let fast = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            receive(&app, &admin, HOT_SKU, &other, 22).await;
        };
        tokio::join!(slow, fast);
        let first = live.next_event().await;
        let second = live.next_event().await;
        let mut deltas = [first["movement"]["quantityDelta"].as_i64().unwrap(), second["movement"]["quantityDelta"].as_i64().unwrap()];
        deltas.sort_unstable();
        assert_eq!(deltas, [11, 22], "both writers' events arrive");
        assert!(id_of(&first) < id_of(&second));
        assert_books_balance(&app).await;
    }

    async fn a_subscriber_that_falls_behind_catches_up_from_the_ledger(app) {
        // A bus of our own with room for 2 events, fed by its own pump from
        // the same database, so the test controls who reads when.
        let bus = EventBus::new(2);
        let (stop, stopping) = tokio::sync::watch::channel(false);
        pump::start_at_newest(&app.db, &bus).await.unwrap();
        let pump = tokio::spawn(pump::run(app.db.clone(), app.database.url.clone(), bus.clone(), pump::DEFAULT_POLL, stopping, stockroute::metrics::Metrics::default()));
        let events = stock_events(&bus, app.db.clone(), EventFilter::default(), None);
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let start: i64 = newest(&app).await.parse().unwrap();
        for _ in 0..30 {
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
        }
        let last: i64 = newest(&app).await.parse().unwrap();
        // Wait until the pump has published all 30: the stream has now
        // missed 28 of them in the channel.
        tokio::time::timeout(PATIENCE, async {
            while bus.last_published() < last {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }).await.expect("the pump publishes");
        let got: Vec<i64> = events.take(30).map(|e| e.expect("an event").movement.id).collect().await;
        assert_eq!(got, ((start + 1)..=last).collect::<Vec<_>>(), "all 30, in order, none twice");
        stop.send_replace(true);
        pump.await.unwrap();
    }

    async fn storefronts_see_availability_change_and_only_when_it_does(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let mut live = Live::connect(&app, None).await;
        live.subscribe("subscription { availabilityChanged(skus: [\"DROP-SNEAKER-LTD\"]) { sku available onHand } }", json!({})).await;
        let now = live.next_result().await;
        assert_eq!(now["data"]["availabilityChanged"], json!({ "sku": HOT_SKU, "available": 100, "onHand": 100 }));
        let id = Uuid::new_v4();
        reserve(&app, &checkout, id, 3).await;
        let held = live.next_result().await;
        assert_eq!(held["data"]["availabilityChanged"]["available"], 97);
        // Confirming moves held units out: available does not change, so
        // nothing is sent; the next message is the restock's.
        end_hold(&app, &checkout, "confirmReservation", id).await;
        receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 10).await;
        let restocked = live.next_result().await;
        assert_eq!(restocked["data"]["availabilityChanged"], json!({ "sku": HOT_SKU, "available": 107, "onHand": 107 }));
    }

    async fn stock_events_need_an_admin_key(app) {
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let mut anonymous = Live::connect(&app, None).await;
        anonymous.subscribe(EVENTS, json!({})).await;
        assert_eq!(error_code(&anonymous.next_result().await), Some("UNAUTHENTICATED"));
        let mut weaker = Live::connect(&app, Some(&checkout)).await;
        weaker.subscribe(EVENTS, json!({})).await;
        assert_eq!(error_code(&weaker.next_result().await), Some("FORBIDDEN"));
    }

    async fn a_change_made_through_one_serve_process_reaches_subscribers_of_another(app) {
        let (one, other) = (app.replica_process().await, app.replica_process().await);
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let storefront = "{ availability(skus: [\"DROP-SNEAKER-LTD\"]) { onHand } }";
        let on_hand = |response: Value| response["data"]["availability"][0]["onHand"].as_i64();
        assert_eq!(on_hand(other.graphql(storefront, json!({})).await), Some(100));

        let mut live = Live::connect(&other, Some(&admin)).await;
        live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": newest(&app).await })).await;
        receive(&one, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 4).await;
        assert_eq!(live.next_event().await["stockLevel"]["quantity"], 104);
        // The subscription is live now: this one cannot come from a replay.
        receive(&one, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 5).await;
        let event = live.next_event().await;
        assert_eq!(event["movement"]["quantityDelta"], 5);
        assert_eq!(event["stockLevel"]["quantity"], 109);

        // And the other process's storefront reads see it too.
        let shown = tokio::time::timeout(PATIENCE, async {
            while on_hand(other.graphql(storefront, json!({})).await) != Some(109) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(shown.is_ok(), "the other process still shows the old stock");
    }

    async fn holds_through_two_replicas_reach_subscribers_of_both_in_id_order(app) {
        // Each replica hands its own batches' events to its pump; the other
        // replica's movements fall between them, and must be read from the
        // ledger, not skipped, on both.
        let other = app.replica(|_| {}).await;
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let checkout = app.create_key(KeyRole::Checkout, "shop").await;
        let start = newest(&app).await;
        let mut watchers = Vec::new();
        for replica in [&app, &other] {
            let mut live = Live::connect(replica, Some(&admin)).await;
            live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": start })).await;
            watchers.push(live);
        }
        let writers = [&app, &other].map(|replica| {
            let checkout = &checkout;
            async move {
                for _ in 0..5 {
                    let holds = (0..4).map(|_| reserve(replica, checkout, Uuid::new_v4(), 1));
                    futures_util::future::join_all(holds).await;
                }
            }
        });
        futures_util::future::join_all(writers).await;
        let expected: Vec<i64> = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                format!("SELECT CAST(id AS BIGINT) FROM inventory_movements WHERE id > {start} ORDER BY id"),
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0).unwrap())
            .collect();
        assert_eq!(expected.len(), 40, "two replicas, 20 holds each");
        for live in &mut watchers {
            let mut ids = Vec::new();
            for _ in 0..expected.len() {
                ids.push(id_of(&live.next_event().await));
            }
            assert_eq!(ids, expected, "every hold once, in id order");
        }
        assert_books_balance(&app).await;
    }

    async fn a_change_made_through_one_replica_reaches_subscribers_of_another(app) {
        let other = app.replica(|_| {}).await;
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let mut live = Live::connect(&other, Some(&admin)).await;
        live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": newest(&app).await })).await;
        receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 4).await;
        let event = live.next_event().await;
        assert_eq!(event["movement"]["quantityDelta"], 4);
        assert_eq!(event["stockLevel"]["quantity"], 104);
    }
}

/// `count` dashboards watching the hot SKU from now on, sharing one feed.
async fn sharing_dashboards(app: &TestApp, key: &str, count: u64) -> Vec<Live> {
    let mut dashboards = Vec::new();
    for _ in 0..count {
        let mut live = Live::connect(app, Some(key)).await;
        live.subscribe(EVENTS, json!({ "skus": [HOT_SKU] })).await;
        dashboards.push(live);
    }
    wait_for_feeds(app, 1, count).await;
    dashboards
}

/// Waits until `/metrics` shows this many shared feeds and subscribers
/// served by them.
async fn wait_for_feeds(app: &TestApp, feeds: u64, subscribers: u64) {
    let counted = tokio::time::timeout(PATIENCE, async {
        loop {
            let now = (
                app.metric("stockroute_live_feeds").await,
                app.metric("stockroute_live_feed_subscribers").await,
            );
            if now == (feeds, subscribers) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        counted.is_ok(),
        "expected {feeds} feeds serving {subscribers} subscribers"
    );
}

/// The (movement id, quantity delta) of the next `n` events.
async fn next_events(live: &mut Live, n: usize) -> Vec<(i64, i64)> {
    let mut events = Vec::new();
    for _ in 0..n {
        let event = live.next_event().await;
        events.push((
            id_of(&event),
            event["movement"]["quantityDelta"].as_i64().unwrap(),
        ));
    }
    events
}

mod shared_feeds {
    use super::*;

    on_both_backends! {
        async fn dashboards_watching_the_same_thing_share_one_rendering_and_each_gets_every_event(app) {
            let admin = app.create_key(KeyRole::Admin, "dashboard").await;
            let hot = json!({ "skus": [HOT_SKU] });
            let mut first = Live::connect(&app, Some(&admin)).await;
            first.subscribe(EVENTS, hot.clone()).await;
            let mut second = Live::connect(&app, Some(&admin)).await;
            second.subscribe(EVENTS, hot.clone()).await;
            let mut everything = Live::connect(&app, Some(&admin)).await;
            everything.subscribe(EVENTS, json!({})).await;
            wait_for_feeds(&app, 2, 3).await;

            for units in 1..=3 {
                receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, units).await;
            }
            let seen = next_events(&mut first, 3).await;
            assert_eq!(seen.iter().map(|e| e.1).collect::<Vec<_>>(), [1, 2, 3]);
            assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "in commit order");
            assert_eq!(next_events(&mut second, 3).await, seen, "the same events");
            assert_eq!(next_events(&mut everything, 3).await, seen);

            // A dashboard that opens later gets what comes after, and nothing
            // is sent twice to those already there.
            let mut late = Live::connect(&app, Some(&admin)).await;
            late.subscribe(EVENTS, hot).await;
            wait_for_feeds(&app, 2, 4).await;
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 4).await;
            let fourth = next_events(&mut late, 1).await;
            assert_eq!(fourth[0].1, 4);
            assert_eq!(next_events(&mut first, 1).await, fourth);
            assert_eq!(next_events(&mut second, 1).await, fourth);

            drop((first, second, everything, late));
            wait_for_feeds(&app, 0, 0).await;
        }
    }
}

mod falling_behind_a_feed {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| config.event_buffer = 1;
        async fn shared_subscribers_get_every_event_of_concurrent_writers_in_order(app) {
            let admin = app.create_key(KeyRole::Admin, "dashboard").await;
            let mut dashboards = sharing_dashboards(&app, &admin, 3).await;
            // Four writers at once against a channel of one event: the feed
            // and its subscribers fall behind and read the ledger instead.
            let writers = (1..=4).map(|writer| {
                let (app, admin) = (&app, &admin);
                async move {
                    for _ in 0..10 {
                        receive(app, admin, HOT_SKU, HOT_SKU_WAREHOUSE, writer).await;
                    }
                }
            });
            futures_util::future::join_all(writers).await;
            let mut first: Option<Vec<(i64, i64)>> = None;
            for live in &mut dashboards {
                let seen = next_events(live, 40).await;
                assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "in order, none twice: {seen:?}");
                assert_eq!(seen.iter().map(|e| e.1).sum::<i64>(), 10 * (1 + 2 + 3 + 4), "every change");
                match &first {
                    Some(first) => assert_eq!(&seen, first),
                    None => first = Some(seen),
                }
            }
            assert_books_balance(&app).await;
        }
    }
}

mod handed_over {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            // Nothing but a commit of this server makes its pump look.
            config.event_poll_interval = Duration::from_secs(3600);
        };

        async fn holds_are_published_as_their_commit_hands_them_over_and_as_the_ledger_replays_them(app) {
            // A batch of holds knows its events in full and hands them to the
            // event pump on PostgreSQL (SQLite's are read back): what live
            // subscribers get must be exactly what a replay reads from the
            // ledger, rendered with the product and warehouse.
            //
            // The holds are made one after another: a commit hands its events
            // over before its answer goes out, so each reaches the pump in
            // turn. Made at once, a batch committing right after another may
            // hand its events over first, and the pump then rightly reads both
            // from the ledger, as it does when its poll comes due between a
            // commit and its hand-over (hence no poll here).
            const RENDERED: &str = "subscription($skus: [String!], $after: ID) {
                stockLevelChanged(skus: $skus, after: $after) {
                    movement { id sku warehouseCode type quantityDelta reservedDelta quantityAfter reservedAfter
                               safetyStockDelta safetyStockAfter inboundId referenceId createdBy createdAt }
                    stockLevel { quantity reserved safetyStock available version updatedAt
                                 product { id sku name weightGrams } warehouse { id code name city active } }
                }
            }";
            let admin = app.create_key(KeyRole::Admin, "dashboard").await;
            let checkout = app.create_key(KeyRole::Checkout, "shop").await;
            let start = newest(&app).await;
            let mut live = Live::connect(&app, Some(&admin)).await;
            live.subscribe(RENDERED, json!({ "skus": [HOT_SKU], "after": start })).await;
            let handed_before = app.metric("stockroute_events_published_total{source=\"commit\"}").await;
            let holds: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
            for id in &holds {
                reserve(&app, &checkout, *id, 1).await;
            }
            let mut delivered = Vec::new();
            for _ in 0..holds.len() {
                delivered.push(live.next_event().await);
            }
            let handed = app.metric("stockroute_events_published_total{source=\"commit\"}").await - handed_before;
            if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
                assert_eq!(handed, holds.len() as u64, "every hold's event came from its commit");
            } else {
                assert_eq!(handed, 0, "SQLite's are read from the ledger");
            }

            let mut replay = Live::connect(&app, Some(&admin)).await;
            replay.subscribe(RENDERED, json!({ "skus": [HOT_SKU], "after": start })).await;
            let mut replayed = Vec::new();
            for _ in 0..holds.len() {
                replayed.push(replay.next_event().await);
            }
            assert_eq!(delivered, replayed);
            let references: std::collections::HashSet<String> = delivered
                .iter()
                .map(|e| e["movement"]["referenceId"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(references, holds.iter().map(Uuid::to_string).collect(), "one event per hold");
        }
    }
}

mod unannounced_writers {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            // Nothing but a commit of this server makes its pump look.
            config.event_poll_interval = Duration::from_secs(3600);
        };

        async fn a_movement_no_one_announced_is_published_before_the_next_hold(app) {
            // A movement committed by a writer that neither tells this
            // server's pump nor sends a NOTIFY (a repair run by hand, say),
            // then a hold: the hold's events, handed over by its commit,
            // come after a gap, and the pump must read the gap from the
            // ledger rather than publish past it.
            let admin = app.create_key(KeyRole::Admin, "dashboard").await;
            let checkout = app.create_key(KeyRole::Checkout, "shop").await;
            let mut live = Live::connect(&app, Some(&admin)).await;
            live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": newest(&app).await })).await;
            let (product, warehouse) = hot_level(&app).await;
            let (quantity, reserved, version) = {
                let row = app.db.query_one_raw(sea_orm::Statement::from_string(
                    app.db.get_database_backend(),
                    format!("SELECT quantity, reserved, version FROM inventory WHERE product_id = {product} AND warehouse_id = {warehouse}"),
                )).await.unwrap().unwrap();
                (row.try_get_by_index::<i32>(0).unwrap(), row.try_get_by_index::<i32>(1).unwrap(), row.try_get_by_index::<i32>(2).unwrap())
            };
            // A count that changes nothing: the books still balance.
            app.db.execute_unprepared(&format!(
                "INSERT INTO inventory_movements (product_id, warehouse_id, movement_type, quantity_delta, reserved_delta, \
                 quantity_after, reserved_after, version_after, safety_stock_delta, safety_stock_after, created_by, created_at) \
                 VALUES ({product}, {warehouse}, 'ADJUSTMENT', 0, 0, {quantity}, {reserved}, {version}, 0, 0, 'by-hand', CURRENT_TIMESTAMP)"
            )).await.unwrap();
            reserve(&app, &checkout, Uuid::new_v4(), 1).await;
            let first = live.next_event().await;
            assert_eq!(first["movement"]["type"], "ADJUSTMENT", "{first:#}");
            assert_eq!(first["movement"]["createdBy"], "by-hand");
            let second = live.next_event().await;
            assert_eq!(second["movement"]["type"], "RESERVE", "{second:#}");
            assert_eq!(id_of(&second), id_of(&first) + 1);
            assert_books_balance(&app).await;
        }
    }
}

mod stopping {
    use super::*;

    on_both_backends! {
        async fn a_stream_cut_off_by_shutdown_ends_with_a_code_and_the_id_to_resume_from(app) {
            let mut app = app;
            let admin = app.create_key(KeyRole::Admin, "dashboard").await;
            let mut live = Live::connect(&app, Some(&admin)).await;
            live.subscribe(EVENTS, json!({ "skus": [HOT_SKU], "after": newest(&app).await })).await;
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
            let delivered = id_of(&live.next_event().await);
            app.stop();
            let last = live.next_result().await;
            assert_eq!(error_code(&last), Some("UNAVAILABLE"), "{last:#}");
            assert_eq!(last["errors"][0]["extensions"]["cause"], "interrupted", "{last:#}");
            assert_eq!(last["errors"][0]["extensions"]["lastDeliveredId"], delivered.to_string(), "{last:#}");
            // Then the socket closes with a frame that says why.
            let (code, reason) = live.close_frame().await;
            assert_eq!(code, 1001, "{reason}");
            assert!(reason.contains("after"), "{reason}");
        }

        async fn a_shared_stream_cut_off_by_shutdown_tells_each_subscriber_where_to_resume(app) {
            let mut app = app;
            let admin = app.create_key(KeyRole::Admin, "dashboard").await;
            let mut dashboards = sharing_dashboards(&app, &admin, 2).await;
            receive(&app, &admin, HOT_SKU, HOT_SKU_WAREHOUSE, 1).await;
            let mut delivered = Vec::new();
            for live in &mut dashboards {
                delivered.push(id_of(&live.next_event().await));
            }
            app.stop();
            for (live, delivered) in dashboards.iter_mut().zip(delivered) {
                let last = live.next_result().await;
                assert_eq!(error_code(&last), Some("UNAVAILABLE"), "{last:#}");
            assert_eq!(last["errors"][0]["extensions"]["cause"], "interrupted", "{last:#}");
                assert_eq!(last["errors"][0]["extensions"]["lastDeliveredId"], delivered.to_string(), "{last:#}");
            }
        }
    }
}

/// The hot SKU's (product id, warehouse id).
pub(crate) async fn hot_level(app: &TestApp) -> (i32, i32) {
    let product = app
        .scalar(&format!(
            "SELECT CAST(id AS BIGINT) FROM products WHERE sku = '{HOT_SKU}'"
        ))
        .await;
    let warehouse = app
        .scalar(&format!(
            "SELECT CAST(id AS BIGINT) FROM warehouses WHERE code = '{HOT_SKU_WAREHOUSE}'"
        ))
        .await;
    (product as i32, warehouse as i32)
}
