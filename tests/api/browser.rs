//! GraphiQL in real browsers, Debian's Chromium and Debian's Firefox ESR,
//! driven by playwright-core (`tests/clients/graphiql.mjs`), with every
//! request to anything but 127.0.0.1 blocked, as on a machine without
//! internet.

use serde_json::Value;

use crate::{
    helpers::TestApp,
    node::{self, Browser},
    on_both_backends,
};

on_both_backends! {
    async fn graphiql_works_offline_in_chromium_and_runs_a_typed_query(app) {
        graphiql_session(app, Browser::Chromium).await;
    }

    async fn graphiql_works_offline_in_firefox_and_runs_a_typed_query(app) {
        graphiql_session(app, Browser::Firefox).await;
    }
}

async fn graphiql_session(app: TestApp, browser: Browser) {
    // One run keeps its screenshot for README.
    let screenshot = if browser == Browser::Chromium
        && app.database.url.backend() == stockroute::config::Backend::Sqlite
    {
        node::clients_dir().join("../../docs/graphiql.png")
    } else {
        std::env::temp_dir().join(format!(
            "graphiql-{}-{}-{:?}.png",
            browser.name(),
            std::process::id(),
            app.database.url.backend()
        ))
    };
    let origin = app.url("").trim_end_matches('/').to_owned();
    let results = node::run_browser_script(
        browser,
        "graphiql.mjs",
        vec![origin, screenshot.display().to_string()],
    )
    .await;
    let [result] = results.as_slice() else {
        panic!("{results:?}")
    };
    browser.assert_is(&result["userAgent"]);
    assert_eq!(
        result["blocked"],
        Value::Array(vec![]),
        "the page asked for nothing outside: {result:#}"
    );
    assert_eq!(result["consoleErrors"], Value::Array(vec![]), "{result:#}");
    let shown: Value = serde_json::from_str(result["result"].as_str().unwrap()).unwrap();
    assert_eq!(shown["data"]["product"]["sku"], "TENT-2P-GRN", "{shown}");
    assert!(
        shown["data"]["product"]["availability"]["available"]
            .as_i64()
            .unwrap()
            > 0
    );
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 10_000,
        "a screenshot was saved"
    );
}
