//! Starting the app on a fresh database and talking GraphQL to it.

use std::{net::SocketAddr, process::Stdio, sync::Arc};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use stockroute::{
    auth::{self, KeyRole},
    config::{Config, DatabaseUrl},
    db,
    demo::HOT_SKU,
    startup::Application,
};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::oneshot,
};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares tests that run on both backends. Each body gets `app`, a running
/// [`TestApp`] with the demo data loaded; after `configure: <closure>;` the
/// closure adjusts each app's [`Config`] first.
#[macro_export]
macro_rules! on_both_backends {
    (configure: $configure:expr; $(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $app = $crate::helpers::TestApp::spawn_with(
                        $crate::helpers::Backend::Sqlite,
                        $configure,
                    )
                    .await;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $app = $crate::helpers::TestApp::spawn_with(
                        $crate::helpers::Backend::Postgres,
                        $configure,
                    )
                    .await;
                    $body
                }
            )*
        }
    };
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $crate::on_both_backends! {
            configure: |_: &mut stockroute::config::Config| {};
            $(async fn $name($app) $body)*
        }
    };
}

/// A database that exists for one test only.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}/stockroute.db?mode=rwc", dir.path().display());
                TestDatabase {
                    url: url.parse().expect("a valid SQLite URL"),
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let server = std::env::var("TEST_DATABASE_URL").expect(
                    "TEST_DATABASE_URL is not set: point it at a PostgreSQL server, e.g. \
                     postgres://postgres@127.0.0.1:5432/postgres, or skip these tests with \
                     `cargo test -- --skip postgres::`",
                );
                let mut url = url::Url::parse(&server).expect("TEST_DATABASE_URL is a URL");
                let name = format!("stockroute_test_{}", uuid::Uuid::new_v4().simple());
                url.set_path(&format!("/{name}"));
                TestDatabase {
                    // db::connect creates the database on first use.
                    url: url.as_str().parse().expect("a valid PostgreSQL URL"),
                    cleanup: Cleanup::Postgres {
                        admin_url: server,
                        name,
                    },
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, database) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime; the cleanup needs its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await?;
                admin
                    .execute_unprepared(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        db::quote_identifier(&database)
                    ))
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {name}: {dropped:?}");
        }
    }
}

/// The running service and a way to talk to it. Stops the server on drop.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: DatabaseConnection,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    /// For a server in a process of its own: killed on drop.
    _process: Option<Child>,
    // Declared last: dropped after the server and pool are told to stop;
    // shared with replicas, and dropped with the last of them.
    pub database: Arc<TestDatabase>,
}

impl TestApp {
    /// Starts the service with the demo data on a fresh database, with
    /// `configure` applied to its configuration.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        Self::start(Arc::new(TestDatabase::new(backend)), configure).await
    }

    /// A second server on this one's database, as another replica would run.
    pub async fn replica(&self, configure: impl FnOnce(&mut Config)) -> Self {
        Self::start(self.database.clone(), configure).await
    }

    /// A server on this one's database listening on `addr`, as a restarted
    /// server would: it waits for the address to be free.
    pub async fn replica_at(&self, addr: SocketAddr) -> Self {
        for _ in 0..100 {
            let mut config = Config::for_database(self.database.url.clone());
            config.addr = addr;
            match Application::build(config).await {
                Ok(app) => return Self::running(app, self.database.clone()),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        panic!("{addr} never came free");
    }

    async fn start(database: Arc<TestDatabase>, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_database(database.url.clone());
        config.demo = true;
        configure(&mut config);
        let app = Application::build(config)
            .await
            .expect("the application starts");
        Self::running(app, database)
    }

    fn running(app: Application, database: Arc<TestDatabase>) -> Self {
        let addr = app.local_addr();
        let db = app.database().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            db,
            client: reqwest::Client::new(),
            stop: Some(stop),
            _process: None,
            database,
        }
    }

    /// Another replica as production runs one: the real binary,
    /// `stockroute serve`, in a process of its own on this app's database.
    pub async fn replica_process(&self) -> Self {
        self.replica_process_with(&[], None).await
    }

    /// As [`Self::replica_process`], with more `args` to `serve` and, with
    /// `descriptors`, under that limit of open files (`ulimit -n`).
    pub async fn replica_process_with(&self, args: &[&str], descriptors: Option<u32>) -> Self {
        let binary = env!("CARGO_BIN_EXE_stockroute");
        let mut command = match descriptors {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell.args([
                    "-c",
                    &format!("ulimit -n {limit} && exec \"$0\" \"$@\""),
                    binary,
                ]);
                shell
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["serve", "--addr", "127.0.0.1:0", "--demo", "false"])
            .args(args)
            .env("DATABASE_URL", self.database.url.as_str())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary runs");
        let mut log = BufReader::new(child.stderr.take().expect("piped")).lines();
        let addr = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = log.next_line().await.expect("its log is readable") {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    return addr.parse::<SocketAddr>().expect("the address it logs");
                }
            }
            panic!("`stockroute serve` stopped before it listened");
        })
        .await
        .expect("`stockroute serve` listens in time");
        // Reading on, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
        TestApp {
            addr,
            db: self.db.clone(),
            client: reqwest::Client::new(),
            stop: None,
            _process: Some(child),
            database: self.database.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Runs a query without a key and returns the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.post_graphql(None, query, variables).await
    }

    /// Runs a query with `Authorization: Bearer <key>`.
    pub async fn graphql_as(&self, key: &str, query: &str, variables: Value) -> Value {
        self.post_graphql(Some(key), query, variables).await
    }

    async fn post_graphql(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("the server answers");
        assert!(
            response.status().is_success(),
            "HTTP {} for {query}",
            response.status()
        );
        response.json().await.expect("a JSON body")
    }

    /// Creates an API key directly in the database and returns its secret.
    pub async fn create_key(&self, role: KeyRole, name: &str) -> String {
        auth::create_key(&self.db, role, Some(name.to_owned()))
            .await
            .expect("the key is created")
            .secret
    }

    /// One text value from a SQL query.
    pub async fn scalar_text(&self, sql: &str) -> String {
        self.first_value(sql).await
    }

    /// A connection of its own to this app's database, for a test that
    /// migrates it down and up as an operator would: the server's pool
    /// keeps one copy of the schema per connection, which steps run on
    /// another connection leave stale (see `db::connect_for_migrations`).
    pub async fn migrations_connection(&self) -> DatabaseConnection {
        stockroute::db::connect_for_migrations(
            &self.database.url,
            stockroute::db::PoolSettings::default(),
        )
        .await
        .expect("a connection for migrations")
    }

    /// One integer from a SQL query, e.g. a count.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.first_value(sql).await
    }

    async fn first_value<T: sea_orm::TryGetable>(&self, sql: &str) -> T {
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("the query runs")
            .expect("one row");
        row.try_get_by_index::<T>(0)
            .expect("a value of the expected type")
    }
}

impl TestApp {
    /// Tells the server to stop, as ctrl-c would; the database stays.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// `kill -9` of a server in a process of its own: no shutdown at all.
    pub async fn kill(&mut self) {
        let child = self._process.as_mut().expect("a server in its own process");
        child.start_kill().expect("SIGKILL is sent");
        child.wait().await.expect("it is gone");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// The message of the first error, if any.
pub fn error_message(response: &Value) -> &str {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
}

/// Asserts that a response succeeded and returns its `data`.
pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    &response["data"]
}

impl TestApp {
    /// The server's count of database statements so far, from `/metrics`.
    pub async fn db_statements(&self) -> u64 {
        self.metric("stockroute_db_statements_total").await
    }

    /// The statement count once it has stopped moving: background tasks
    /// (the expiry sweeper's first sweep, the event pump's reads after a
    /// commit) run a few as they please, and a test that counts a
    /// request's statements must start after them. Make those tasks rare
    /// in the test's configuration.
    pub async fn settled_db_statements(&self) -> u64 {
        let mut settled = self.db_statements().await;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let now = self.db_statements().await;
            if now == settled {
                return now;
            }
            settled = now;
        }
    }

    /// One counter or gauge from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        self.metric_as(name).await
    }

    /// One counter or gauge from `/metrics`, as a `T` (seconds as `f64`).
    pub async fn metric_as<T: std::str::FromStr>(&self, name: &str) -> T {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("a text body");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} is exported"))
    }

    /// Every SKU in the catalogue, in SKU order.
    pub async fn all_skus(&self) -> Vec<String> {
        let response = self
            .graphql(
                "{ products(first: 100) { edges { node { sku } } } }",
                json!({}),
            )
            .await;
        data(&response)["products"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["sku"].as_str().expect("sku").to_owned())
            .collect()
    }
}

/// Receives `quantity` units of `sku` into warehouse `code`.
pub async fn receive(app: &TestApp, key: &str, sku: &str, code: &str, quantity: i32) {
    let response = app
        .graphql_as(
            key,
            "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }",
            json!({ "i": { "sku": sku, "warehouseCode": code, "quantity": quantity } }),
        )
        .await;
    data(&response);
}

/// Holds `units` of the hot SKU for reservation `id`, shipping to Berlin.
pub async fn reserve(app: &TestApp, key: &str, id: Uuid, units: i32) {
    let response = app
        .graphql_as(
            key,
            "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }",
            json!({ "i": { "reservationId": id, "lines": [{ "sku": HOT_SKU, "quantity": units }],
                       "shipTo": { "latitude": 52.52, "longitude": 13.405 } } }),
        )
        .await;
    assert_eq!(data(&response)["reserveOrder"]["__typename"], "Reservation");
}

/// Ends hold `id` with `field`: confirmReservation or releaseReservation.
pub async fn end_hold(app: &TestApp, key: &str, field: &str, id: Uuid) {
    let response = app
        .graphql_as(
            key,
            &format!("mutation($id: UUID!) {{ {field}(id: $id) {{ status }} }}"),
            json!({ "id": id }),
        )
        .await;
    data(&response);
}
