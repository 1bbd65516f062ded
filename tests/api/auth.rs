use serde_json::json;
use stockroute::auth::{self, KeyRole};

use crate::{
    helpers::{data, error_code},
    on_both_backends,
};

const VIEWER: &str = "{ viewer { role keyName } }";

on_both_backends! {
    async fn a_request_without_a_key_is_public(app) {
        let response = app.graphql(VIEWER, json!({})).await;
        assert_eq!(data(&response)["viewer"], json!({ "role": "PUBLIC", "keyName": null }));
    }

    async fn a_key_grants_its_role_and_is_named_on_the_request(app) {
        let admin = app.create_key(KeyRole::Admin, "dashboard").await;
        let checkout = app.create_key(KeyRole::Checkout, "web-shop").await;
        let as_admin = app.graphql_as(&admin, VIEWER, json!({})).await;
        assert_eq!(data(&as_admin)["viewer"], json!({ "role": "ADMIN", "keyName": "dashboard" }));
        let as_checkout = app.graphql_as(&checkout, VIEWER, json!({})).await;
        assert_eq!(data(&as_checkout)["viewer"]["role"], "CHECKOUT");
    }

    async fn an_unknown_key_is_unauthenticated_not_public(app) {
        let response = app.graphql_as("sr_0000", "{ products(first: 1) { edges { cursor } } }", json!({})).await;
        assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
        assert_eq!(response["data"], serde_json::Value::Null, "nothing runs");
    }

    async fn a_malformed_authorization_header_is_unauthenticated(app) {
        for header in ["Token abc", "Bearer", "Basic dXNlcjpwYXNz"] {
            let response: serde_json::Value = app
                .client
                .post(app.url("/graphql"))
                .header("authorization", header)
                .json(&json!({ "query": VIEWER }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{header}");
        }
    }

    async fn a_revoked_key_stops_working_at_once(app) {
        let key = app.create_key(KeyRole::Checkout, "till-7").await;
        let before = app.graphql_as(&key, VIEWER, json!({})).await;
        assert_eq!(data(&before)["viewer"]["role"], "CHECKOUT");
        auth::revoke_key(&app.db, "till-7").await.unwrap();
        let after = app.graphql_as(&key, VIEWER, json!({})).await;
        assert_eq!(error_code(&after), Some("UNAUTHENTICATED"));
        assert!(after["errors"][0]["message"].as_str().unwrap().contains("revoked"));
    }

    async fn keys_are_stored_only_as_hashes(app) {
        let key = app.create_key(KeyRole::Admin, "ops").await;
        let stored = app
            .scalar(&format!(
                "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{key}' OR prefix = '{key}'"
            ))
            .await;
        assert_eq!(stored, 0);
        let duplicate = auth::create_key(&app.db, KeyRole::Admin, Some("ops".into())).await;
        assert!(matches!(duplicate, Err(auth::AuthError::DuplicateName(_))));
    }
}
