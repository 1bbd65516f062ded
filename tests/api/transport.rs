use serde_json::{Value, json};

use crate::{helpers::error_code, on_both_backends};

on_both_backends! {
    async fn a_body_that_is_not_a_graphql_request_is_a_coded_400(app) {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    }

    async fn batched_requests_are_refused(app) {
        let response = app
            .client
            .post(app.url("/graphql"))
            .json(&json!([{ "query": "{ viewer { role } }" }, { "query": "{ viewer { role } }" }]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("batched"));
    }

    async fn a_query_that_does_not_parse_gets_a_coded_error(app) {
        let response = app.graphql("{ products(first: 1) { edges { cursor }", json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
        let unknown_field = app.graphql("{ nonsense }", json!({})).await;
        assert_eq!(error_code(&unknown_field), Some("BAD_USER_INPUT"));
        let wrong_type = app.graphql("query($f: Int) { products(first: $f) { edges { cursor } } }", json!({ "f": "ten" })).await;
        assert_eq!(error_code(&wrong_type), Some("BAD_USER_INPUT"));
    }

    async fn a_query_nested_deeper_than_the_limit_is_refused_unexecuted(app) {
        let mut deep = String::from("name");
        for _ in 0..20 {
            deep = format!("ofType {{ {deep} }}");
        }
        let query = format!("{{ __schema {{ types {{ {deep} }} }} }}");
        let response = app.graphql(&query, json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
        assert!(response["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("deep"), "{response}");
        assert_eq!(response["data"], Value::Null);
    }

    async fn a_query_costlier_than_the_limit_is_refused_unexecuted(app) {
        let fields: Vec<String> = (0..600).map(|i| format!("p{i}: product(sku: \"TENT-2P-GRN\") {{ sku }}")).collect();
        let query = format!("{{ {} }}", fields.join(" "));
        let response = app.graphql(&query, json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
        assert!(response["errors"][0]["message"].as_str().unwrap().to_lowercase().contains("complex"), "{response}");
        assert_eq!(response["data"], Value::Null);
    }
}
