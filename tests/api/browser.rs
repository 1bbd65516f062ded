//! GraphiQL in a real browser: Debian's Chromium driven by playwright-core
//! (`tests/clients/graphiql.mjs`), with every request to anything but
//! 127.0.0.1 blocked, as on a machine without internet.

use serde_json::Value;

use crate::{node, on_both_backends};

on_both_backends! {
    async fn graphiql_works_offline_and_runs_a_typed_query(app) {
        // The SQLite run keeps its screenshot for README.
        let screenshot = if app.database.url.backend() == stockroute::config::Backend::Sqlite {
            node::clients_dir().join("../../docs/graphiql.png")
        } else {
            std::env::temp_dir().join(format!("graphiql-{}.png", std::process::id()))
        };
        let origin = app.url("").trim_end_matches('/').to_owned();
        let results = node::run_script(
            "graphiql.mjs",
            vec![origin, screenshot.display().to_string()],
        )
        .await;
        let [result] = results.as_slice() else { panic!("{results:?}") };
        assert_eq!(result["blocked"], Value::Array(vec![]), "the page asked for nothing outside: {result:#}");
        assert_eq!(result["consoleErrors"], Value::Array(vec![]), "{result:#}");
        let shown: Value = serde_json::from_str(result["result"].as_str().unwrap()).unwrap();
        assert_eq!(shown["data"]["product"]["sku"], "TENT-2P-GRN", "{shown}");
        assert!(shown["data"]["product"]["availability"]["available"].as_i64().unwrap() > 0);
        assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "a screenshot was saved");
    }
}
