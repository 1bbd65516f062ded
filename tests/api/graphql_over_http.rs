//! GraphQL over HTTP as graphql.github.io/graphql-over-http says: media
//! types and status codes, GET for queries and its caching, coded errors
//! from the HTTP layer, field order, and messages a person can act on.

use reqwest::{Response, header};
use serde_json::{Value, json};
use stockroute::auth::KeyRole;

use crate::{
    helpers::{TestApp, error_code},
    on_both_backends,
};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A POST of `body` as JSON, accepting `accept`.
async fn post(app: &TestApp, accept: &str, body: Value) -> Response {
    app.client
        .post(app.url("/graphql"))
        .header(header::ACCEPT, accept)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A GET of `/graphql` with these URL parameters.
async fn get(app: &TestApp, params: &[(&str, &str)]) -> Response {
    get_with(app, params, None).await
}

/// A GET of `/graphql` with these URL parameters and one more header.
async fn get_with(
    app: &TestApp,
    params: &[(&str, &str)],
    header: Option<(header::HeaderName, &str)>,
) -> Response {
    let mut request = app.client.get(app.url("/graphql")).query(params);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

fn content_type(response: &Response) -> String {
    response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The body parsed with its object keys in the order they were sent.
async fn ordered(response: Response) -> async_graphql::Value {
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn keys(value: &async_graphql::Value) -> Vec<&str> {
    match value {
        async_graphql::Value::Object(fields) => fields.keys().map(|k| k.as_str()).collect(),
        other => panic!("not an object: {other}"),
    }
}

fn field<'a>(value: &'a async_graphql::Value, name: &str) -> &'a async_graphql::Value {
    match value {
        async_graphql::Value::Object(fields) => &fields[name],
        other => panic!("not an object: {other}"),
    }
}

/// A query whose objects mix fields answered from memory, from loaders and
/// from the database, under aliases, fragments and inline fragments.
const MIXED: &str = r#"
query Mixed($sku: String!) {
  zeta: viewer { role }
  product(sku: $sku) {
    ...Stock
    availability { inStock available onHand }
    sku
  }
  alpha: warehouse(code: "BER1") {
    city
    ... on Warehouse { stockLevels(first: 3) { edges { node { reserved product { sku } quantity } } } code }
    name
  }
  availability(skus: [$sku, "TENT-4P-RED"]) { warehouses { distanceKm available warehouse { code } } sku }
}
fragment Stock on Product { weightGrams stockLevels { warehouse { city code } quantity } name }
"#;

on_both_backends! {
    async fn request_errors_are_400_without_data_in_graphql_response_json(app) {
        for (what, body) in [
            ("a document that does not parse", json!({ "query": "{ viewer { role " })),
            ("a document that does not validate", json!({ "query": "{ nonsense }" })),
            (
                "a variable that does not fit",
                json!({ "query": "query($n: Int) { products(first: $n) { edges { cursor } } }", "variables": { "n": "ten" } }),
            ),
        ] {
            let response = post(&app, GRAPHQL_RESPONSE, body).await;
            assert_eq!(response.status(), 400, "{what}");
            assert!(content_type(&response).starts_with(GRAPHQL_RESPONSE), "{what}");
            let body: Value = response.json().await.unwrap();
            assert!(body.get("data").is_none(), "{what}: {body}");
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{what}: {body}");
        }
        // A field error is not a request error: the rest ran.
        let partial = post(
            &app,
            GRAPHQL_RESPONSE,
            json!({ "query": "{ viewer { role } movements(first: 1) { edges { cursor } } }" }),
        )
        .await;
        assert_eq!(partial.status(), 200);
        let partial: Value = partial.json().await.unwrap();
        assert_eq!(partial["data"]["viewer"]["role"], "PUBLIC", "{partial}");
        assert_eq!(error_code(&partial), Some("UNAUTHENTICATED"), "{partial}");
    }

    async fn a_refused_key_is_401_in_graphql_response_json_and_200_in_json(app) {
        let refused = app
            .client
            .post(app.url("/graphql"))
            .header(header::ACCEPT, GRAPHQL_RESPONSE)
            .header(header::AUTHORIZATION, "Bearer sr_not_a_key")
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        assert!(body.get("data").is_none(), "{body}");

        let legacy = app
            .client
            .post(app.url("/graphql"))
            .header(header::AUTHORIZATION, "Bearer sr_not_a_key")
            .json(&json!({ "query": "{ viewer { role } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(legacy.status(), 200);
        assert!(content_type(&legacy).starts_with("application/json"));
        let body: Value = legacy.json().await.unwrap();
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
        assert_eq!(body["data"], Value::Null, "application/json keeps `data: null`");
    }

    async fn json_clients_get_json_with_200_even_for_request_errors(app) {
        for accept in ["application/json", "*/*", "text/html,application/xhtml+xml,*/*;q=0.8"] {
            let response = post(&app, accept, json!({ "query": "{ nonsense }" })).await;
            assert_eq!(response.status(), 200, "{accept}");
            assert!(content_type(&response).starts_with("application/json"), "{accept}");
        }
        let preferred = post(
            &app,
            "application/graphql-response+json, application/json;q=0.9",
            json!({ "query": "{ viewer { role } }" }),
        )
        .await;
        assert!(content_type(&preferred).starts_with(GRAPHQL_RESPONSE));
        let refused = post(&app, "text/html", json!({ "query": "{ viewer { role } }" })).await;
        assert_eq!(refused.status(), 406);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"));
    }

    async fn a_post_must_be_json_and_anything_else_is_a_coded_415(app) {
        for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
            let mut request = app
                .client
                .post(app.url("/graphql"))
                .body(r#"{"query":"mutation { receiveStock(input: {sku: \"TENT-2P-GRN\", warehouseCode: \"BER1\", quantity: 1}) { quantity } }"}"#);
            if let Some(content_type) = content_type {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 415, "{content_type:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{content_type:?}: {body}");
        }
        let with_charset = app
            .client
            .post(app.url("/graphql"))
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(r#"{"query":"{ viewer { role } }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(with_charset.status(), 200);
    }

    async fn the_http_layer_answers_its_own_errors_as_coded_graphql_json(app) {
        let put = app.client.put(app.url("/graphql")).send().await.unwrap();
        assert_eq!(put.status(), 405);
        assert_eq!(put.headers()[header::ALLOW], "GET, POST");
        let body: Value = put.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

        let huge = format!("{{\"query\": \"{{ viewer {{ role }} }}\", \"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
        // A client of its own: the server answers 413 without reading the
        // body and closes that connection, which a pooled client would
        // otherwise reuse.
        let too_large = reqwest::Client::new()
            .post(app.url("/graphql"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(too_large.status(), 413);
        let body: Value = too_large.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");

        let no_query = get(&app, &[("variables", "{}")]).await;
        assert_eq!(no_query.status(), 400);
        let body: Value = no_query.json().await.unwrap();
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("query"), "{body}");
    }

    async fn a_get_runs_a_query_and_refuses_a_mutation_without_writing(app) {
        let query = get(
            &app,
            &[
                ("query", "query($sku: String!) { product(sku: $sku) { sku } }"),
                ("variables", r#"{"sku":"TENT-2P-GRN"}"#),
            ],
        )
        .await;
        assert_eq!(query.status(), 200);
        let body: Value = query.json().await.unwrap();
        assert_eq!(body["data"]["product"]["sku"], "TENT-2P-GRN", "{body}");

        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let movements = app.scalar("SELECT COUNT(*) FROM inventory_movements").await;
        let mutation = app
            .client
            .get(app.url("/graphql"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .query(&[("query", r#"mutation { receiveStock(input: {sku: "TENT-2P-GRN", warehouseCode: "BER1", quantity: 5}) { quantity } }"#)])
            .send()
            .await
            .unwrap();
        assert_eq!(mutation.status(), 405);
        assert_eq!(mutation.headers()[header::ALLOW], "POST");
        let body: Value = mutation.json().await.unwrap();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements").await, movements, "nothing written");
    }

    async fn a_public_get_is_cacheable_and_revalidates_with_its_etag(app) {
        let params = [("query", "{ availability(skus: [\"TENT-2P-GRN\"]) { sku available } }")];
        let first = get(&app, &params).await;
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()[header::CACHE_CONTROL], "public, max-age=5");
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let revalidated = get_with(&app, &params, Some((header::IF_NONE_MATCH, &etag)))
            .await;
        assert_eq!(revalidated.status(), 304);
        assert!(revalidated.text().await.unwrap().is_empty());

        // Once the answer changes, the old tag no longer matches.
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        crate::helpers::receive(&app, &admin, "TENT-2P-GRN", "BER1", 3).await;
        let changed = get_with(&app, &params, Some((header::IF_NONE_MATCH, &etag)))
            .await;
        assert_eq!(changed.status(), 200);
        assert_ne!(changed.headers()[header::ETAG].to_str().unwrap(), etag);

        // What a key sees is the key's own.
        let with_key = get_with(&app, &params, Some((header::AUTHORIZATION, &format!("Bearer {admin}"))))
            .await;
        assert_eq!(with_key.headers()[header::CACHE_CONTROL], "private, no-store");
        assert!(with_key.headers().get(header::ETAG).is_none());
    }

    async fn response_fields_follow_the_query_every_time(app) {
        let admin = app.create_key(KeyRole::Admin, "ops").await;
        let body = json!({ "query": MIXED, "variables": { "sku": "TENT-2P-GRN" } });
        let mut texts = Vec::new();
        for _ in 0..100 {
            let response = app
                .client
                .post(app.url("/graphql"))
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            texts.push(response.text().await.unwrap());
        }
        assert!(texts.iter().all(|text| *text == texts[0]), "100 identical answers");
        let response: async_graphql::Value = serde_json::from_str(&texts[0]).unwrap();
        let data = field(&response, "data");
        assert_eq!(keys(data), ["zeta", "product", "alpha", "availability"], "{data}");
        let product = field(data, "product");
        assert_eq!(keys(product), ["weightGrams", "stockLevels", "name", "availability", "sku"]);
        let async_graphql::Value::List(levels) = field(product, "stockLevels") else { panic!() };
        assert_eq!(keys(&levels[0]), ["warehouse", "quantity"]);
        assert_eq!(keys(field(&levels[0], "warehouse")), ["city", "code"]);
        assert_eq!(keys(field(product, "availability")), ["inStock", "available", "onHand"]);
        let alpha = field(data, "alpha");
        assert_eq!(keys(alpha), ["city", "stockLevels", "code", "name"]);
        let async_graphql::Value::List(entries) = field(data, "availability") else { panic!() };
        assert_eq!(keys(&entries[0]), ["warehouses", "sku"]);
        let async_graphql::Value::List(offers) = field(&entries[0], "warehouses") else { panic!() };
        assert_eq!(keys(&offers[0]), ["distanceKm", "available", "warehouse"]);

        // The same over GET.
        let by_get = app
            .client
            .get(app.url("/graphql"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .query(&[("query", MIXED), ("variables", r#"{"sku":"TENT-2P-GRN"}"#)])
            .send()
            .await
            .unwrap();
        assert_eq!(keys(field(&ordered(by_get).await, "data")), ["zeta", "product", "alpha", "availability"]);
    }

    async fn syntax_errors_are_one_line_and_bad_variables_are_named(app) {
        let syntax: Value = post(&app, "application/json", json!({ "query": "{ products(first: 1) { edges { cursor }" }))
            .await
            .json()
            .await
            .unwrap();
        let message = syntax["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.starts_with("syntax error at line 1, column 40"), "{message}");
        assert_eq!(syntax["errors"][0]["locations"], json!([{ "line": 1, "column": 40 }]));

        let variable: Value = post(
            &app,
            "application/json",
            json!({ "query": "query($n: Int) { products(first: $n) { edges { cursor } } }", "variables": { "n": "x" } }),
        )
        .await
        .json()
        .await
        .unwrap();
        let message = variable["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("Variable \"$n\" got an invalid value"), "{message}");
    }

    async fn a_document_that_ran_before_still_refuses_a_bad_variable_before_anything_runs(app) {
        // The first request of a document is validated in full; later ones
        // only for their variables. A bad variable must be refused the same
        // way both times: a request error that names it, nothing written.
        let key = app.create_key(KeyRole::Checkout, "checkout").await;
        let reserve = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }";
        let order = |id: Value, quantity: Value| json!({ "i": {
            "reservationId": id, "lines": [{ "sku": "TENT-2P-GRN", "quantity": quantity }],
            "shipTo": { "latitude": 52.52, "longitude": 13.405 } } });
        let send = |variables: Value| {
            app.client
                .post(app.url("/graphql"))
                .bearer_auth(&key)
                .header(header::ACCEPT, GRAPHQL_RESPONSE)
                .json(&json!({ "query": reserve, "variables": variables }))
                .send()
        };
        // Validation refuses the first two; the other two fail the field
        // as it runs, before its resolver.
        let refusals = [
            ("a quantity that is no number", order(json!(uuid::Uuid::new_v4()), json!("one"))),
            ("a latitude that is no number", json!({ "i": { "reservationId": uuid::Uuid::new_v4(),
                "lines": [{ "sku": "TENT-2P-GRN", "quantity": 1 }],
                "shipTo": { "latitude": "north", "longitude": 13.405 } } })),
            ("a reservationId that is no UUID", order(json!("not-a-uuid"), json!(1))),
            ("no input at all", json!({})),
        ];
        let mut answers = Vec::new();
        for round in ["before the document ran", "after it ran"] {
            let mut these = Vec::new();
            for (what, variables) in &refusals {
                let response = send(variables.clone()).await.unwrap();
                let status = response.status();
                let mut body: Value = response.json().await.unwrap();
                assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{what}, {round}: {body}");
                // What is left of the caller's budget moves on.
                body.as_object_mut().unwrap().remove("extensions");
                these.push((status, body));
            }
            let held = send(order(json!(uuid::Uuid::new_v4()), json!(1))).await.unwrap();
            assert_eq!(held.status(), 200, "{round}");
            let held: Value = held.json().await.unwrap();
            assert_eq!(held["data"]["reserveOrder"]["__typename"], "Reservation", "{round}: {held}");
            answers.push(these);
        }
        assert_eq!(answers[0], answers[1], "the same answers before and after the document ran");
        for (status, body) in &answers[1][..2] {
            assert_eq!(*status, 400, "{body}");
            assert!(body.get("data").is_none(), "{body}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.starts_with("Variable \"$i\" got an invalid value"), "{message}");
        }
        assert_eq!(app.scalar("SELECT COUNT(*) FROM reservations").await, 2, "only the two good orders held");

        let first = "query($n: Int) { products(first: $n) { edges { cursor } } }";
        for round in ["before", "after"] {
            let good = post(&app, GRAPHQL_RESPONSE, json!({ "query": first, "variables": { "n": 1 } })).await;
            assert_eq!(good.status(), 200, "{round}");
            let bad = post(&app, GRAPHQL_RESPONSE, json!({ "query": first, "variables": { "n": "ten" } })).await;
            assert_eq!(bad.status(), 400, "{round}");
            let bad: Value = bad.json().await.unwrap();
            let message = bad["errors"][0]["message"].as_str().unwrap();
            assert!(message.starts_with("Variable \"$n\" got an invalid value"), "{round}: {message}");
        }
    }
}
