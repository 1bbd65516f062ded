use futures_util::future::join_all;
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

    // The default: a key found valid is taken from memory for a second.
    async fn a_revoked_key_stops_working_within_the_key_cache_ttl(app) {
        let key = app.create_key(KeyRole::Checkout, "till-7").await;
        let before = app.graphql_as(&key, VIEWER, json!({})).await;
        assert_eq!(data(&before)["viewer"]["role"], "CHECKOUT");
        auth::revoke_key(&app.db, "till-7").await.unwrap();
        tokio::time::sleep(auth::DEFAULT_KEY_CACHE_TTL).await;
        let after = app.graphql_as(&key, VIEWER, json!({})).await;
        assert_eq!(error_code(&after), Some("UNAUTHENTICATED"));
        assert!(after["errors"][0]["message"].as_str().unwrap().contains("revoked"));
    }

    // Checkouts spread over many keys (a storefront each) share key
    // lookups as a flash sale's checkouts with one key do: a lookup reads
    // every key of the requests that came while the one before ran, not
    // one key each. Every request still gets its own key's caller.
    async fn requests_with_many_keys_share_lookups_and_each_is_its_own_keys_caller(app) {
        let mut keys = Vec::new();
        for n in 0..20 {
            keys.push((n, app.create_key(KeyRole::Checkout, &format!("shop-{n}")).await));
        }
        let lookups_before = app.metric("stockroute_key_lookups_total").await;
        let keys_before = app.metric("stockroute_key_lookup_keys_total").await;
        let app = &app;
        let requests = (0..5).flat_map(|_| keys.iter());
        let answers = join_all(requests.map(|(n, key)| async move {
            (n, app.graphql_as(key, VIEWER, json!({})).await)
        }))
        .await;
        for (n, answer) in answers {
            assert_eq!(
                data(&answer)["viewer"],
                json!({ "role": "CHECKOUT", "keyName": format!("shop-{n}") })
            );
        }
        let lookups = app.metric("stockroute_key_lookups_total").await - lookups_before;
        let read = app.metric("stockroute_key_lookup_keys_total").await - keys_before;
        assert!(lookups >= 1 && read >= 20, "{lookups} lookups read {read} keys");
        assert!(
            read > lookups,
            "100 requests at once over 20 keys: some lookup read several keys \
             ({lookups} lookups read {read} keys)"
        );
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

/// `--key-cache-ttl off`: every request's key is looked up.
mod without_the_key_cache {
    use super::*;

    on_both_backends! {
        configure: |config: &mut stockroute::config::Config| {
            config.key_cache_ttl = None;
        };

        async fn a_revoked_key_stops_working_at_once(app) {
            let key = app.create_key(KeyRole::Checkout, "till-7").await;
            let before = app.graphql_as(&key, VIEWER, json!({})).await;
            assert_eq!(data(&before)["viewer"]["role"], "CHECKOUT");
            auth::revoke_key(&app.db, "till-7").await.unwrap();
            let after = app.graphql_as(&key, VIEWER, json!({})).await;
            assert_eq!(error_code(&after), Some("UNAUTHENTICATED"));
            assert!(after["errors"][0]["message"].as_str().unwrap().contains("revoked"));
        }
    }
}
