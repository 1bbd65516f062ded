//! Runs the migrations on their own: `cargo run -p migration -- up|down|status`
//! with `DATABASE_URL` set (default: the service's SQLite file).

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::Database;

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://stockroute.db?mode=rwc".to_owned());
    let command = std::env::args().nth(1).unwrap_or_else(|| "up".to_owned());
    if let Err(message) = run(&url, &command).await {
        eprintln!("migration: {message}");
        std::process::exit(1);
    }
}

async fn run(url: &str, command: &str) -> Result<(), String> {
    let db = Database::connect(url)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let outcome = match command {
        "up" => Migrator::up(&db, None).await,
        "down" => Migrator::down(&db, Some(1)).await,
        "reset" => Migrator::reset(&db).await,
        "status" => Migrator::status(&db).await,
        other => {
            return Err(format!(
                "unknown command `{other}`: use up, down, reset or status"
            ));
        }
    };
    outcome.map_err(|e| e.to_string())
}
