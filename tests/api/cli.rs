use std::process::{Command, Output};

use serde_json::json;

use crate::{
    helpers::{data, error_code},
    on_both_backends,
};

/// Runs the real binary against a database and waits for it.
async fn stockroute(database_url: &str, args: &[&str]) -> Output {
    let (url, args) = (
        database_url.to_owned(),
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    );
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_stockroute"))
            .args(&args)
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "error")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

on_both_backends! {
    async fn a_key_from_the_command_line_works_until_it_is_revoked(app) {
        let url = app.database.url.as_str();
        let created = stdout(&stockroute(url, &["api-key", "create", "--role", "admin", "--name", "ops"]).await);
        let key = created.lines().last().unwrap().trim().to_owned();
        assert!(key.starts_with("sr_") && key.len() > 40, "{created}");

        let viewer = app.graphql_as(&key, "{ viewer { role keyName } }", json!({})).await;
        assert_eq!(data(&viewer)["viewer"], json!({ "role": "ADMIN", "keyName": "ops" }));

        let listed = stdout(&stockroute(url, &["api-key", "list"]).await);
        assert!(listed.contains("ops") && listed.contains("admin"), "{listed}");
        assert!(!listed.contains(&key), "the secret is never shown again");

        let revoked = stdout(&stockroute(url, &["api-key", "revoke", "ops"]).await);
        assert!(revoked.contains("within"), "{revoked}");
        tokio::time::sleep(stockroute::auth::DEFAULT_KEY_CACHE_TTL).await;
        let refused = app.graphql_as(&key, "{ viewer { role } }", json!({})).await;
        assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    }

    async fn seeding_from_the_command_line_twice_changes_nothing(app) {
        let before = app.scalar("SELECT COUNT(*) FROM inventory_movements").await;
        let said = stdout(&stockroute(app.database.url.as_str(), &["seed"]).await);
        assert!(said.contains("nothing changed"), "{said}");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements").await, before);
    }

    async fn migrate_status_lists_every_migration_as_applied(app) {
        let status = stdout(&stockroute(app.database.url.as_str(), &["migrate", "status"]).await);
        assert!(status.lines().count() >= 6, "{status}");
        assert!(status.lines().all(|line| line.starts_with("applied")), "{status}");
    }
}

#[test]
fn an_invalid_setting_stops_the_start_with_one_clear_line() {
    for (args, env, needle) in [
        (vec!["--addr", "not-an-address"], None, "--addr"),
        (
            vec![],
            Some(("DATABASE_URL", "mysql://root@localhost/shop")),
            "not supported",
        ),
        (vec![], Some(("STOCKROUTE_DEMO", "perhaps")), "perhaps"),
        (vec!["api-key", "create", "--role", "owner"], None, "owner"),
        (vec![], Some(("STOCKROUTE_POOL_SIZE", "0")), "pool-size"),
        (
            vec!["--plan-budget", "12"],
            None,
            "between 1000 and 100000000",
        ),
        (
            vec![],
            Some(("STOCKROUTE_PLAN_BUDGET", "lots")),
            "search nodes",
        ),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stockroute"));
        command.args(&args);
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} {env:?} should fail");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_found_before_the_database_is_touched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("never.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let output = stockroute(&url, &["serve", "--addr", &addr]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(
        !file.exists(),
        "no database was created, migrated or seeded"
    );
}
