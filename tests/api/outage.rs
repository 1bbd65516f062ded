//! A database that goes away under load: requests fail fast with a coded
//! UNAVAILABLE naming the cause (never SQL), `/readyz` says 503 at once,
//! and when the database is back everything recovers by itself: requests
//! succeed, the event pump resumes and a live subscription goes on without
//! a gap. The outage is a TCP proxy the test owns between the server and
//! PostgreSQL, cut and restored, not the machine's database.

use std::{net::SocketAddr, time::Duration};

use futures_util::future::join_all;
use serde_json::json;
use stockroute::{auth::KeyRole, demo::HOT_SKU};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{Instant, sleep, timeout},
};
use uuid::Uuid;

use crate::{
    helpers::{Backend, TestApp, error_code, error_message, reserve},
    invariants::assert_books_balance,
    live::{EVENTS, Live, id_of, newest},
};

/// What the network between the server and PostgreSQL does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Open,
    /// Every forwarded connection is closed and new ones are refused, as a
    /// database restart does.
    Cut,
    /// Nothing more is relayed either way and nothing is closed, as a
    /// network blackhole does; when the link comes back, those connections
    /// are dead.
    Silent,
}

/// Forwards connections to PostgreSQL as its link says.
struct Proxy {
    port: u16,
    link: watch::Sender<Link>,
}

impl Proxy {
    async fn start(to: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (link, state) = watch::channel(Link::Open);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut state = state.clone();
                let now = *state.borrow();
                tokio::spawn(async move {
                    match now {
                        Link::Cut => return, // dropped: refused
                        Link::Silent => {
                            let _ = state.wait_for(|l| *l == Link::Open).await;
                            return;
                        }
                        Link::Open => {}
                    }
                    let Ok(mut server) = TcpStream::connect(to).await else {
                        return;
                    };
                    let broke = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                        changed = async { *state.wait_for(|l| *l != Link::Open).await.unwrap() } => changed,
                    };
                    if broke == Link::Silent {
                        // Hold both ends, relaying nothing, until the link is back.
                        let _ = state.wait_for(|l| *l == Link::Open).await;
                    }
                });
            }
        });
        Proxy { port, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

async fn readyz(app: &TestApp) -> Option<u16> {
    let answer = timeout(
        Duration::from_secs(3),
        app.client.get(app.url("/readyz")).send(),
    )
    .await;
    answer.ok()?.ok().map(|r| r.status().as_u16())
}

const RESERVE: &str = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_cut_off_under_load_fails_requests_fast_and_everything_recovers() {
    drill(Link::Cut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_gone_silent_under_load_fails_requests_at_their_deadline_and_everything_recovers()
 {
    drill(Link::Silent).await;
}

/// The database's link goes `outage` while 20 checkouts arrive, then
/// comes back.
/// PostgreSQL ends connections the pool holds idle (a restart, a proxy's
/// idle timeout, an operator): every connection is tested (a round trip)
/// on its way out of the pool, so nobody is answered with its error, even
/// a moment later. Testing only connections idle for a while saves the
/// round trip under load, but then hands out a connection into a silent
/// network unbounded by the pool's wait (the gone-silent drill hangs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_database_ended_while_idle_are_replaced_unseen() {
    let app = TestApp::spawn_with(Backend::Postgres, |_| {}).await;
    let checkout = app.create_key(KeyRole::Checkout, "shop").await;
    const PRODUCTS: &str = "{ products(first: 5) { edges { node { sku } } } }";
    // Several connections in the pool at once.
    for answer in join_all((0..8).map(|_| app.graphql(PRODUCTS, json!({})))).await {
        assert!(answer.get("errors").is_none(), "{answer:#}");
    }
    // Each waited for until it is gone (up to 5 s), so that none still
    // answers when the next requests come.
    let ended = app
        .scalar(
            "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
    assert!(ended >= 2, "ended {ended} connections");

    let answers = join_all((0..8).map(|_| app.graphql(PRODUCTS, json!({})))).await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer:#}");
        assert_eq!(
            answer["data"]["products"]["edges"].as_array().map(Vec::len),
            Some(5),
            "{answer:#}"
        );
    }
    reserve(&app, &checkout, Uuid::new_v4(), 1).await;
    assert_books_balance(&app).await;
}

async fn drill(outage: Link) {
    let server: url::Url = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL is set")
        .parse()
        .unwrap();
    let postgres: SocketAddr = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let proxy = Proxy::start(postgres).await;
    let port = proxy.port;
    let app = TestApp::spawn_with(Backend::Postgres, move |config| {
        let mut url: url::Url = config.database_url.as_str().parse().unwrap();
        url.set_port(Some(port)).unwrap();
        config.database_url = url.as_str().parse().unwrap();
        config.pool.acquire_timeout = Duration::from_secs(1);
        config.request_timeout = Duration::from_secs(3);
    })
    .await;
    let admin = app.create_key(KeyRole::Admin, "ops").await;
    let checkout = app.create_key(KeyRole::Checkout, "shop").await;
    let mut live = Live::connect(&app, Some(&admin)).await;
    live.subscribe(
        EVENTS,
        json!({ "skus": [HOT_SKU], "after": newest(&app).await }),
    )
    .await;
    reserve(&app, &checkout, Uuid::new_v4(), 1).await;
    let before = id_of(&live.next_event().await);

    // The database goes away: 20 checkouts at once, each answered quickly.
    proxy.set(outage);
    let started = Instant::now();
    let answers = join_all((0..20).map(|_| {
        let (app, checkout) = (&app, &checkout);
        async move {
            let input = json!({ "reservationId": Uuid::new_v4(), "lines": [{ "sku": HOT_SKU, "quantity": 1 }],
                                "shipTo": { "latitude": 52.52, "longitude": 13.405 } });
            timeout(Duration::from_secs(15), app.graphql_as(checkout, RESERVE, json!({ "i": input })))
                .await
                .expect("answered, not left hanging")
        }
    }))
    .await;
    for answer in &answers {
        assert_eq!(error_code(answer), Some("UNAVAILABLE"), "{answer:#}");
        let message = error_message(answer);
        assert!(
            message.contains("the database") || message.contains("did not finish within"),
            "{message}"
        );
        for sql in ["SELECT", "INSERT", "UPDATE", "sqlx"] {
            assert!(!message.contains(sql), "{message}");
        }
        let cause = answer["errors"][0]["extensions"]["cause"]
            .as_str()
            .unwrap_or_default();
        assert!(
            ["unreachable", "pool_timeout", "restarting", "deadline"].contains(&cause),
            "{answer:#}"
        );
    }
    // The metrics count them by cause (pool_timeout: waited for a
    // connection in vain).
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let unavailable: f64 = text
        .lines()
        .filter(|line| line.starts_with("stockroute_graphql_unavailable_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(unavailable >= 20.0, "{text}");
    eprintln!(
        "{outage:?}: 20 checkouts answered UNAVAILABLE within {:?}",
        started.elapsed()
    );
    assert_eq!(
        readyz(&app).await,
        Some(503),
        "not ready while the database is gone"
    );

    // It comes back: everything recovers by itself.
    proxy.set(Link::Open);
    let deadline = Instant::now() + Duration::from_secs(30);
    while readyz(&app).await != Some(200) {
        assert!(Instant::now() < deadline, "ready again within 30 s");
        sleep(Duration::from_millis(100)).await;
    }
    let mut held = Vec::new();
    for _ in 0..3 {
        let id = Uuid::new_v4();
        reserve(&app, &checkout, id, 1).await;
        held.push(id);
    }
    let mut delivered = Vec::new();
    for _ in 0..3 {
        delivered.push(id_of(&live.next_event().await));
    }
    let committed = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM inventory_movements WHERE id > {before}"
        ))
        .await;
    assert_eq!(
        committed, 3,
        "nothing of the failed checkouts was committed"
    );
    assert!(
        delivered.windows(2).all(|w| w[0] < w[1]) && delivered[0] > before,
        "{delivered:?}"
    );
    let newest_id: i64 = newest(&app).await.parse().unwrap();
    assert_eq!(
        *delivered.last().unwrap(),
        newest_id,
        "the subscription got every movement, without a gap"
    );
    assert_books_balance(&app).await;
}
