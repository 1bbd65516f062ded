//! The `stockroute` command line. With no subcommand it serves.

use std::{net::SocketAddr, process::ExitCode, time::Duration};

use clap::{ArgAction, Args, Parser, Subcommand, builder::BoolishValueParser};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;

use crate::{
    auth::{self, KeyRole},
    config::{
        Config, DEFAULT_ADDR, DEFAULT_DATABASE_URL, DEFAULT_MAX_BODY_BYTES, DatabaseUrl,
        parse_duration, parse_optional_duration,
    },
    db, demo, graphql, http,
    planner::SearchBudget,
    startup::Application,
    telemetry,
};

#[derive(Parser, Debug)]
#[command(
    name = "stockroute",
    version,
    about = "A GraphQL service for stock that lives in many warehouses",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// The database: sqlite://FILE?mode=rwc or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: DatabaseUrl,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once, at start: the size of the serve variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Apply, roll back or list the schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load the demo data into an empty database (a no-op otherwise).
    Seed,
    /// Print the GraphQL schema (SDL) to stdout.
    ExportSchema,
    /// Create, list and revoke API keys.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
}

#[derive(Args, Debug, Clone)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "STOCKROUTE_ADDR", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Load the demo data when the database is empty (true/false).
    #[arg(
        long,
        env = "STOCKROUTE_DEMO",
        default_value = "true",
        action = ArgAction::Set,
        value_parser = BoolishValueParser::new()
    )]
    demo: bool,
    /// The largest request body accepted on /graphql, in bytes.
    #[arg(long, env = "STOCKROUTE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Connections in the database pool (1 to 1000).
    #[arg(
        long,
        env = "STOCKROUTE_POOL_SIZE",
        default_value_t = db::DEFAULT_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pool_size: u32,
    /// How long a request waits for a free database connection before it is
    /// answered UNAVAILABLE, e.g. 2s.
    #[arg(long, env = "STOCKROUTE_POOL_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pool_timeout: Duration,
    /// The longest a PostgreSQL statement may run (its `statement_timeout`),
    /// e.g. 10s; `off` for no limit. SQLite has none.
    #[arg(
        long,
        env = "STOCKROUTE_STATEMENT_TIMEOUT",
        default_value = "10s",
        value_parser = parse_optional_duration
    )]
    statement_timeout: ::std::option::Option<Duration>,
    /// The longest a client may take to send a request's headers, and the
    /// longest a kept-alive connection may sit idle, e.g. 10s.
    #[arg(long, env = "STOCKROUTE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// The longest a client may take to send a request's body, e.g. 10s.
    #[arg(long, env = "STOCKROUTE_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    body_timeout: Duration,
    /// The most client connections served at once; at it the oldest idle
    /// one is closed to make room, and when all are in a request a new one
    /// is answered 503 and closed. Default: the descriptor limit (`ulimit
    /// -n`) less 128.
    #[arg(long, env = "STOCKROUTE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// Connections the kernel queues before they are accepted.
    #[arg(
        long,
        env = "STOCKROUTE_LISTEN_BACKLOG",
        default_value_t = http::serve::DEFAULT_LISTEN_BACKLOG,
        value_parser = clap::value_parser!(u32).range(1..=65535)
    )]
    listen_backlog: u32,
    /// Queries and mutations one API key (or public client address) may run
    /// at once; past it one is answered UNAVAILABLE (503, Retry-After) at
    /// once.
    #[arg(
        long,
        env = "STOCKROUTE_MAX_IN_FLIGHT_PER_CLIENT",
        default_value_t = graphql::in_flight::DEFAULT_PER_CLIENT as u32,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    max_in_flight_per_client: u32,
    /// How long a query or mutation may take before it is answered
    /// UNAVAILABLE and its database work is cancelled, e.g. 15s.
    #[arg(long, env = "STOCKROUTE_REQUEST_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Query-cost budgets: `off`, or `role=capacity/per_second` for public
    /// (per client address), checkout and admin (per key), comma separated,
    /// e.g. `public=20000/20000,admin=off`; roles not named keep their
    /// default.
    #[arg(long, env = "STOCKROUTE_COST_BUDGETS", default_value = "")]
    cost_budgets: graphql::cost::Budgets,
    /// How often expired holds are returned to stock, e.g. 500ms, 1s, 1m.
    #[arg(
        long,
        env = "STOCKROUTE_SWEEP_INTERVAL",
        default_value = "1s",
        value_parser = parse_duration
    )]
    sweep_interval: Duration,
    /// Events kept per subscriber that has not read them yet (1 to
    /// 1000000); a subscriber further behind catches up from the ledger.
    #[arg(
        long,
        env = "STOCKROUTE_EVENT_BUFFER",
        default_value_t = crate::events::DEFAULT_BUFFER,
        value_parser = parse_buffer
    )]
    event_buffer: usize,
    /// How often the event log is read even when no commit or NOTIFY said
    /// it changed (lost notifications; SQLite writers in other processes).
    #[arg(
        long,
        env = "STOCKROUTE_EVENT_POLL_INTERVAL",
        default_value = "1s",
        value_parser = parse_duration
    )]
    event_poll_interval: Duration,
    /// How long `availability` may answer a SKU from memory when nothing
    /// says its stock changed, e.g. 500ms, 1s; `off` reads every time.
    #[arg(
        long,
        env = "STOCKROUTE_AVAILABILITY_CACHE_TTL",
        default_value = "1s",
        value_parser = parse_optional_duration
    )]
    // Spelled out so that clap takes the parser's `None` as a value, not as "absent".
    availability_cache_ttl: ::std::option::Option<Duration>,
    /// How long a valid API key is taken as valid without asking the
    /// database again, e.g. 500ms, 1s: a revoked key stops working within
    /// it; `off` asks for every request.
    #[arg(
        long,
        env = "STOCKROUTE_KEY_CACHE_TTL",
        default_value = "1s",
        value_parser = parse_optional_duration
    )]
    key_cache_ttl: ::std::option::Option<Duration>,
    /// How much searching CHEAPEST and SPLIT may do per plan, in search
    /// nodes (1000 to 100000000). Past it a plan is the best found, with
    /// its proven bound; the same order and stock always give the same plan.
    #[arg(
        long,
        env = "STOCKROUTE_PLAN_BUDGET",
        default_value_t = SearchBudget::default().nodes,
        value_parser = parse_plan_budget
    )]
    plan_budget: u64,
}

fn parse_plan_budget(raw: &str) -> Result<u64, String> {
    match raw.trim().replace('_', "").parse::<u64>() {
        Ok(n) if (1_000..=100_000_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{raw}` is not a number of search nodes between 1000 and 100000000"
        )),
    }
}

fn parse_buffer(raw: &str) -> Result<usize, String> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!("`{raw}` is not a number between 1 and 1000000")),
    }
}

#[derive(Subcommand, Debug)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last `steps` migrations (all with --all).
    Down {
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        steps: u32,
        #[arg(long)]
        all: bool,
    },
    /// List the migrations and whether each is applied.
    Status,
}

#[derive(Subcommand, Debug)]
enum ApiKeyAction {
    /// Create a key; it is printed once, on the last line, and stored hashed.
    Create {
        #[arg(long, value_enum)]
        role: KeyRole,
        /// A name to tell keys apart; recorded as `createdBy` on changes.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never the secrets).
    List,
    /// Revoke a key by name; servers refuse it within their key cache's
    /// time (`--key-cache-ttl`, 1s by default).
    Revoke { name: String },
}

/// Runs the command line and maps failures to one line on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let url = cli.database_url;
    match cli.command {
        None => serve(url, cli.serve).await,
        Some(Command::Serve(args)) => serve(url, args).await,
        Some(Command::ExportSchema) => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Some(Command::Migrate { action }) => {
            let db = db::connect_for_migrations(&url, db::PoolSettings::default())
                .await
                .map_err(|e| cannot_open(&url, e))?;
            migrate(&db, action).await.map_err(|e| e.to_string())
        }
        Some(Command::Seed) => {
            let db = open(&url).await?;
            db::migrate(&url, db::PoolSettings::default())
                .await
                .map_err(|e| e.to_string())?;
            match demo::seed(&db).await.map_err(|e| e.to_string())? {
                demo::SeedOutcome::Loaded {
                    warehouses,
                    products,
                    stock_levels,
                } => println!(
                    "loaded {warehouses} warehouses, {products} products, {stock_levels} stock levels"
                ),
                demo::SeedOutcome::SkippedNotEmpty => {
                    println!("the database already has a catalogue; nothing changed")
                }
            }
            Ok(())
        }
        Some(Command::ApiKey { action }) => {
            let db = open(&url).await?;
            db::migrate(&url, db::PoolSettings::default())
                .await
                .map_err(|e| e.to_string())?;
            api_key(&db, action).await.map_err(|e| e.to_string())
        }
    }
}

async fn serve(url: DatabaseUrl, args: ServeArgs) -> Result<(), String> {
    let config = Config {
        database_url: url,
        addr: args.addr,
        demo: args.demo,
        max_body_bytes: args.max_body_bytes,
        connections: http::serve::ConnectionLimits {
            header_timeout: args.header_timeout,
            body_timeout: args.body_timeout,
            max_connections: args.max_connections.map(|n| n as usize),
            listen_backlog: args.listen_backlog,
        },
        pool: db::PoolSettings {
            size: args.pool_size,
            acquire_timeout: args.pool_timeout,
            statement_timeout: args.statement_timeout,
        },
        request_timeout: args.request_timeout,
        max_in_flight_per_client: args.max_in_flight_per_client as usize,
        cost_budgets: args.cost_budgets,
        sweep_interval: args.sweep_interval,
        event_buffer: args.event_buffer,
        event_poll_interval: args.event_poll_interval,
        availability_cache_ttl: args.availability_cache_ttl,
        key_cache_ttl: args.key_cache_ttl,
        plan_budget: SearchBudget {
            nodes: args.plan_budget,
        },
    };
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn open(url: &DatabaseUrl) -> Result<DatabaseConnection, String> {
    db::connect(url, db::PoolSettings::default())
        .await
        .map_err(|e| cannot_open(url, e))
}

fn cannot_open(url: &DatabaseUrl, error: sea_orm::DbErr) -> String {
    format!("cannot open the database {}: {error}", url.redacted())
}

async fn migrate(db: &DatabaseConnection, action: MigrateAction) -> Result<(), sea_orm::DbErr> {
    match action {
        MigrateAction::Up => Migrator::up(db, None).await?,
        MigrateAction::Down { all: true, .. } => Migrator::down(db, None).await?,
        MigrateAction::Down { steps, .. } => Migrator::down(db, Some(steps)).await?,
        MigrateAction::Status => {}
    }
    for migration in Migrator::get_migration_with_status(db).await? {
        println!(
            "{:<10} {}",
            format!("{:?}", migration.status()).to_lowercase(),
            migration.name()
        );
    }
    Ok(())
}

async fn api_key(db: &DatabaseConnection, action: ApiKeyAction) -> Result<(), auth::AuthError> {
    match action {
        ApiKeyAction::Create { role, name } => {
            let created = auth::create_key(db, role, name).await?;
            eprintln!(
                "created {} key `{}`; store it now, it is not shown again:",
                created.record.role, created.record.name
            );
            println!("{}", created.secret);
        }
        ApiKeyAction::List => {
            println!(
                "{:<30} {:<9} {:<12} {:<26} revoked",
                "name", "role", "prefix", "created"
            );
            for key in auth::list_keys(db).await? {
                println!(
                    "{:<30} {:<9} {:<12} {:<26} {}",
                    key.name,
                    key.role,
                    key.prefix,
                    key.created_at.to_rfc3339(),
                    key.revoked_at.map_or("-".to_owned(), |t| t.to_rfc3339())
                );
            }
        }
        ApiKeyAction::Revoke { name } => {
            let key = auth::revoke_key(db, &name).await?;
            println!(
                "revoked `{}`; servers refuse it within their key cache's time (1s unless configured)",
                key.name
            );
        }
    }
    Ok(())
}
