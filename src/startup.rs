//! Building and running the service: [`Application::build`] connects,
//! migrates, loads the demo data when asked, and binds; then
//! [`Application::run_until`] serves until a shutdown future fires.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    auth::KeyChecks,
    config::{Backend, Config, DatabaseUrl},
    db::{self, statistics},
    demo,
    events::{EventBus, pump},
    graphql::{build_schemas, feeds::SubscriptionExecutor, pipeline::Pipeline},
    http::{AppState, Shared, router, serve},
    inventory::Store,
    inventory::{
        availability::AvailabilityCache,
        reservations::{ReservationQueue, sweeper},
    },
    metrics::Metrics,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database {url}: {source}")]
    Connect { url: String, source: DbErr },
    #[error("cannot migrate the database: {0}")]
    Migrate(DbErr),
    #[error("cannot serve while waiting for the database: {0}")]
    Serve(io::Error),
    #[error("cannot load the demo data: {0}")]
    Seed(DbErr),
    #[error("cannot read the newest stock movement: {0}")]
    EventLog(DbErr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// Tells background tasks that the server is stopping. Tasks hold a
/// receiver from [`Shutdown::subscribe`] and finish when it changes.
#[derive(Clone)]
pub struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    fn new() -> Self {
        Shutdown(watch::channel(false).0)
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    fn trigger(&self) {
        self.0.send_replace(true);
    }
}

pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    backend: Backend,
    max_body_bytes: usize,
    connections: serve::ConnectionLimits,
    sweep_interval: Duration,
    store: Store,
    events: EventBus,
    event_poll_interval: Duration,
    database_url: DatabaseUrl,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        // The address first: a port that is taken is found before anything
        // is created, migrated or seeded.
        let listener =
            serve::bind(config.addr, config.connections.listen_backlog).map_err(|source| {
                StartupError::Bind {
                    addr: config.addr,
                    source,
                }
            })?;
        let url = &config.database_url;
        let mut db =
            connect_when_reachable(&listener, url, config.pool, config.connections).await?;
        // Every statement is counted, whatever code path runs it: /metrics
        // shows it, and the tests use it to prove reads batch.
        let metrics = Metrics::default();
        let statements = metrics.clone();
        db.set_metric_callback(move |info| statements.record_statement(info.elapsed, info.failed));
        db::migrate(url, config.pool)
            .await
            .map_err(StartupError::Migrate)?;
        if config.demo {
            match demo::seed(&db).await.map_err(StartupError::Seed)? {
                demo::SeedOutcome::Loaded {
                    warehouses,
                    products,
                    stock_levels,
                } => tracing::info!(
                    warehouses,
                    products,
                    stock_levels,
                    "loaded the demo data into the empty database"
                ),
                demo::SeedOutcome::SkippedNotEmpty => {}
            }
        }
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        let events = EventBus::new(config.event_buffer);
        pump::start_at_newest(&db, &events)
            .await
            .map_err(StartupError::EventLog)?;
        let store = Store::new(db.clone())
            .notifying(events.committed())
            .caching(AvailabilityCache::new(config.availability_cache_ttl));
        let reservations =
            ReservationQueue::start(store.clone(), config.plan_budget, config.request_timeout);
        let schemas = build_schemas(
            store.clone(),
            events.clone(),
            reservations.clone(),
            config.cost_budgets,
            config.plan_budget,
            metrics.clone(),
        );
        let shutdown = Shutdown::new();
        let pipeline = Pipeline::new(
            schemas,
            db.clone(),
            store.availability().clone(),
            metrics.clone(),
            config.request_timeout,
            crate::graphql::in_flight::InFlight::new(config.max_in_flight_per_client),
        );
        let subscriptions =
            SubscriptionExecutor::new(pipeline.clone(), events.clone(), config.event_buffer);
        Ok(Application {
            listener,
            addr,
            state: AppState::new(Shared {
                keys: KeyChecks::new(db.clone(), config.request_timeout)
                    .remembering_for(config.key_cache_ttl),
                db,
                pipeline,
                metrics,
                subscriptions,
                availability: store.availability().clone(),
                reservations,
                stopping: shutdown.subscribe(),
            }),
            backend: url.backend(),
            max_body_bytes: config.max_body_bytes,
            connections: config.connections,
            sweep_interval: config.sweep_interval,
            store,
            events,
            event_poll_interval: config.event_poll_interval,
            database_url: config.database_url.clone(),
            shutdown,
        })
    }

    /// The address actually bound: with port 0, the one the OS chose.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn database(&self) -> &DatabaseConnection {
        &self.state.db
    }

    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// The signal background tasks listen to.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Serves until `signal` completes, then stops accepting connections,
    /// lets in-flight requests finish, and stops the background tasks (the
    /// expiry sweeper finishes the hold it is expiring; subscriptions end
    /// with an error that says where to resume, then their sockets close).
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        tracing::info!(
            addr = %self.addr,
            database = %self.backend,
            "stockroute listening on http://{} (GraphiQL at /, GraphQL at /graphql) using {}",
            self.addr,
            self.backend
        );
        let availability = tokio::spawn(self.store.availability().clone().follow(&self.events));
        let pump = tokio::spawn(pump::run(
            self.state.db.clone(),
            self.database_url,
            self.events,
            self.event_poll_interval,
            self.shutdown.subscribe(),
            self.state.metrics.clone(),
        ));
        let sweeper = tokio::spawn(sweeper::run(
            self.store,
            self.sweep_interval,
            self.shutdown.subscribe(),
            self.state.metrics.clone(),
        ));
        let statistics = tokio::spawn(statistics::run(
            self.state.db.clone(),
            statistics::DEFAULT_INTERVAL,
            self.shutdown.subscribe(),
            self.state.metrics.clone(),
        ));
        let shutdown = self.shutdown.clone();
        let app = router(self.state, self.max_body_bytes);
        let result = serve::serve(&self.listener, app, self.connections, async move {
            signal.await;
            tracing::info!("shutting down: finishing in-flight requests");
            shutdown.trigger();
        })
        .await;
        self.shutdown.trigger();
        if let Err(e) = sweeper.await {
            tracing::error!(error = %e, "the expiry sweeper panicked");
        }
        if let Err(e) = statistics.await {
            tracing::error!(error = %e, "the planner statistics' upkeep panicked");
        }
        if let Err(e) = pump.await {
            tracing::error!(error = %e, "the event pump panicked");
        }
        if let Err(e) = availability.await {
            tracing::error!(error = %e, "the availability cache's follower panicked");
        }
        result
    }

    /// Serves until ctrl-c or SIGTERM.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.run_until(stop_signal()).await
    }
}

/// Connects to the database, waiting for it while it cannot be reached
/// (refused, unreachable, starting up), with a pause that doubles from
/// 250 ms to 5 s; any other failure (a bad password, a database that
/// cannot be created) stops the start at once. Meanwhile the bound port
/// answers: `/healthz` 200, `/readyz` and everything else 503, so an
/// orchestrator sees a live process that is not ready yet.
async fn connect_when_reachable(
    listener: &TcpListener,
    url: &DatabaseUrl,
    pool: db::PoolSettings,
    limits: serve::ConnectionLimits,
) -> Result<DatabaseConnection, StartupError> {
    let connected = tokio_util::sync::CancellationToken::new();
    let waiting = serve::serve(
        listener,
        waiting_room(),
        limits,
        connected.clone().cancelled_owned(),
    );
    let connecting = async {
        let mut pause = Duration::from_millis(250);
        let result = loop {
            match db::connect(url, pool).await {
                Ok(db) => break Ok(db),
                // Before the first connection, a pool timing out means no
                // connection could be made: the database is not there yet.
                Err(source) => match db::unavailability(&source) {
                    Some(_) => {
                        tracing::warn!(
                            url = %url.redacted(),
                            error = %source,
                            retry_in = ?pause,
                            "waiting for the database: it cannot be reached yet"
                        );
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    None => {
                        break Err(StartupError::Connect {
                            url: url.redacted(),
                            source,
                        });
                    }
                },
            }
        };
        connected.cancel();
        result
    };
    let (served, connected) = tokio::join!(waiting, connecting);
    served.map_err(StartupError::Serve)?;
    connected
}

/// What the port answers while the database is awaited.
fn waiting_room() -> axum::Router {
    use axum::{http::StatusCode, routing::get};
    let not_yet = || async {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            "starting: waiting for the database\n",
        )
    };
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_yet)
}

/// Completes on ctrl-c, or on SIGTERM where there is one.
pub async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
