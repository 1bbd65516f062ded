//! Hostile input: hundreds of bad requests across every mutation and query.
//! Each gets a coded GraphQL error (or a 4xx for abuse of the transport),
//! never a 5xx, never SQL or internals in a message, and the database is
//! left exactly as it was.

use serde_json::{Value, json};
use stockroute::{
    auth::KeyRole,
    demo::{HOT_SKU, HOT_SKU_WAREHOUSE},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, error_code},
    invariants::{assert_books_balance, footprint},
    on_both_backends,
};

/// What a refusal must never show a client.
const LEAKS: [&str; 12] = [
    "SELECT",
    "INSERT",
    "UPDATE inventory",
    "sqlx",
    "SQLSTATE",
    "panicked",
    "violates",
    "constraint",
    "DbErr",
    "database error",
    "backtrace",
    "src/",
];

struct Case {
    name: String,
    query: String,
    variables: Value,
    code: &'static str,
}

fn case(name: impl Into<String>, query: &str, variables: Value, code: &'static str) -> Case {
    Case {
        name: name.into(),
        query: query.to_owned(),
        variables,
        code,
    }
}

const RECEIVE: &str = "mutation($i: StockChangeInput!) { receiveStock(input: $i) { quantity } }";
const RETURN: &str = "mutation($i: StockChangeInput!) { returnStock(input: $i) { quantity } }";
const WRITE_OFF: &str = "mutation($i: StockChangeInput!) { writeOffStock(input: $i) { quantity } }";
const SET: &str = "mutation($i: SetStockInput!) { setStock(input: $i) { quantity } }";
const TRANSFER: &str =
    "mutation($i: TransferStockInput!) { transferStock(input: $i) { to { quantity } } }";
const PRODUCT: &str = "mutation($i: CreateProductInput!) { createProduct(input: $i) { sku } }";
const WAREHOUSE: &str =
    "mutation($i: CreateWarehouseInput!) { createWarehouse(input: $i) { code } }";
const RESERVE: &str = "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }";
const PLAN: &str = "query($i: PlanInput!) { planFulfilment(input: $i) { feasible } }";
const AVAILABILITY: &str = "query($skus: [String!]!, $to: LocationInput) { availability(skus: $skus, shipTo: $to) { sku } }";
const NEAR: &str =
    "query($near: LocationInput, $r: Float) { warehouses(near: $near, radiusKm: $r) { code } }";
const MOVEMENTS: &str = "query($sku: String, $code: String, $first: Int, $after: String) { movements(sku: $sku, warehouseCode: $code, first: $first, after: $after) { edges { cursor } } }";
const PRODUCTS: &str = "query($first: Int, $after: String) { products(first: $first, after: $after) { edges { cursor } } }";
const LEVELS: &str = "query($first: Int, $after: String) { warehouse(code: \"BER1\") { stockLevels(first: $first, after: $after) { edges { cursor } } } }";

fn with(base: &Value, path: &[&str], value: Value) -> Value {
    let mut out = base.clone();
    let mut at = &mut out;
    for key in &path[..path.len() - 1] {
        at = &mut at[*key];
    }
    at[path[path.len() - 1]] = value;
    out
}

fn cases() -> Vec<Case> {
    let here = json!({ "latitude": 52.52, "longitude": 13.405 });
    let change =
        json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 1 } });
    let count =
        json!({ "i": { "sku": HOT_SKU, "warehouseCode": HOT_SKU_WAREHOUSE, "quantity": 100 } });
    let transfer = json!({ "i": { "sku": HOT_SKU, "fromWarehouseCode": HOT_SKU_WAREHOUSE, "toWarehouseCode": "PAR1", "quantity": 1 } });
    let product = json!({ "i": { "sku": "NEW-SKU", "name": "New", "weightGrams": 100 } });
    let warehouse = json!({ "i": { "code": "NEW1", "name": "New", "city": "Somewhere", "location": here,
        "shippingRate": { "baseCents": 100, "centsPer100Km": 10, "centsPerKg": 10 } } });
    let order = json!({ "i": { "reservationId": Uuid::new_v4(), "lines": [{ "sku": HOT_SKU, "quantity": 1 }], "shipTo": here } });
    let plan = json!({ "i": { "lines": [{ "sku": HOT_SKU, "quantity": 1 }], "shipTo": here } });
    let bad = "BAD_USER_INPUT";
    let mut all = Vec::new();

    // Identifiers that are malformed, hostile or unknown, wherever one is taken.
    let identifiers: Vec<Value> = vec![
        json!(""),
        json!(" "),
        json!("A".repeat(65)),
        json!("TENT 2P"),
        json!("ZELT-Ü"),
        json!("'; DROP TABLE products; --"),
        json!("x\u{0}y"),
        json!("../../etc/passwd"),
        json!("<script>alert(1)</script>"),
        json!("S".repeat(10_000)),
        json!("NO-SUCH-SKU"),
    ];
    for (i, value) in identifiers.iter().enumerate() {
        for (query, base, path) in [
            (RECEIVE, &change, vec!["i", "sku"]),
            (RETURN, &change, vec!["i", "warehouseCode"]),
            (WRITE_OFF, &change, vec!["i", "sku"]),
            (SET, &count, vec!["i", "warehouseCode"]),
            (TRANSFER, &transfer, vec!["i", "toWarehouseCode"]),
            (TRANSFER, &transfer, vec!["i", "sku"]),
            (RESERVE, &order, vec!["i", "lines", "0", "sku"]),
            (AVAILABILITY, &json!({ "skus": [] }), vec!["skus", "0"]),
            (MOVEMENTS, &json!({}), vec!["sku"]),
        ] {
            let variables = if path.contains(&"lines") {
                with(
                    base,
                    &["i", "lines"],
                    json!([{ "sku": value, "quantity": 1 }]),
                )
            } else if path == ["skus", "0"] {
                json!({ "skus": [value] })
            } else {
                with(base, &path, value.clone())
            };
            all.push(case(
                format!("identifier #{i} as {}", path.join(".")),
                query,
                variables,
                bad,
            ));
        }
        // A new product or warehouse may not be named NO-SUCH-SKU's way only
        // when the name is malformed; a well-formed new one would be created.
        if *value != "NO-SUCH-SKU" {
            all.push(case(
                format!("identifier #{i} as a new sku"),
                PRODUCT,
                with(&product, &["i", "sku"], value.clone()),
                bad,
            ));
            all.push(case(
                format!("identifier #{i} as a new code"),
                WAREHOUSE,
                with(&warehouse, &["i", "code"], value.clone()),
                bad,
            ));
        }
    }

    // Quantities: zero, negative, beyond the bounds, beyond an Int, not integers.
    let quantities = [
        json!(0),
        json!(-1),
        json!(i32::MIN),
        json!(1_000_000_001),
        json!(i32::MAX),
        json!(2_147_483_648_i64),
        json!(1.5),
        json!("ten"),
        json!(null),
    ];
    for (i, value) in quantities.iter().enumerate() {
        for (field, query, base) in [
            ("receive", RECEIVE, &change),
            ("return", RETURN, &change),
            ("writeOff", WRITE_OFF, &change),
            ("transfer", TRANSFER, &transfer),
        ] {
            all.push(case(
                format!("quantity #{i} in {field}"),
                query,
                with(base, &["i", "quantity"], value.clone()),
                bad,
            ));
        }
        if value != &json!(0) {
            all.push(case(
                format!("count #{i}"),
                SET,
                with(&count, &["i", "quantity"], value.clone()),
                bad,
            ));
        }
        all.push(case(
            format!("order quantity #{i}"),
            RESERVE,
            with(
                &order,
                &["i", "lines"],
                json!([{ "sku": HOT_SKU, "quantity": value }]),
            ),
            bad,
        ));
    }
    all.push(case(
        "a stale expectedVersion",
        SET,
        with(&count, &["i", "expectedVersion"], json!(99)),
        "CONFLICT",
    ));
    all.push(case(
        "a write-off beyond what is available",
        WRITE_OFF,
        with(&change, &["i", "quantity"], json!(101)),
        "CONFLICT",
    ));
    all.push(case(
        "a transfer beyond what is available",
        TRANSFER,
        with(&transfer, &["i", "quantity"], json!(101)),
        "CONFLICT",
    ));
    all.push(case(
        "a transfer to itself",
        TRANSFER,
        with(
            &transfer,
            &["i", "toWarehouseCode"],
            json!(HOT_SKU_WAREHOUSE),
        ),
        bad,
    ));
    all.push(case(
        "a duplicate SKU",
        PRODUCT,
        with(&product, &["i", "sku"], json!(HOT_SKU)),
        "CONFLICT",
    ));
    all.push(case(
        "a duplicate code",
        WAREHOUSE,
        with(&warehouse, &["i", "code"], json!("BER1")),
        "CONFLICT",
    ));

    // Free text: empty, blank, too long, control characters.
    let texts = [
        json!(""),
        json!("   "),
        json!("x".repeat(201)),
        json!("a\u{7}b"),
        json!("line\nbreak"),
    ];
    for (i, value) in texts.iter().enumerate() {
        all.push(case(
            format!("product name #{i}"),
            PRODUCT,
            with(&product, &["i", "name"], value.clone()),
            bad,
        ));
        all.push(case(
            format!("warehouse name #{i}"),
            WAREHOUSE,
            with(&warehouse, &["i", "name"], value.clone()),
            bad,
        ));
        all.push(case(
            format!("city #{i}"),
            WAREHOUSE,
            with(&warehouse, &["i", "city"], value.clone()),
            bad,
        ));
        for (field, query, base) in [
            ("receive", RECEIVE, &change),
            ("writeOff", WRITE_OFF, &change),
            ("set", SET, &count),
            ("transfer", TRANSFER, &transfer),
        ] {
            all.push(case(
                format!("referenceId #{i} in {field}"),
                query,
                with(base, &["i", "referenceId"], value.clone()),
                bad,
            ));
        }
    }

    // Weights and rates.
    for value in [
        json!(0),
        json!(-1),
        json!(1_000_001),
        json!(2_147_483_648_i64),
        json!(0.5),
    ] {
        all.push(case(
            format!("weight {value}"),
            PRODUCT,
            with(&product, &["i", "weightGrams"], value.clone()),
            bad,
        ));
    }
    for field in ["baseCents", "centsPer100Km", "centsPerKg"] {
        for value in [json!(-1), json!(10_000_001), json!(2_147_483_648_i64)] {
            all.push(case(
                format!("{field} {value}"),
                WAREHOUSE,
                with(&warehouse, &["i", "shippingRate", field], value.clone()),
                bad,
            ));
        }
    }

    // Coordinates out of range or not numbers, everywhere a location is taken.
    let places = [
        json!({ "latitude": 91.0, "longitude": 0.0 }),
        json!({ "latitude": -90.5, "longitude": 0.0 }),
        json!({ "latitude": 1e300, "longitude": 0.0 }),
        json!({ "latitude": 0.0, "longitude": 180.5 }),
        json!({ "latitude": 0.0, "longitude": -1e300 }),
        json!({ "latitude": "north", "longitude": 0.0 }),
        json!({ "latitude": 0.0 }),
    ];
    for (i, place) in places.iter().enumerate() {
        all.push(case(
            format!("warehouse location #{i}"),
            WAREHOUSE,
            with(&warehouse, &["i", "location"], place.clone()),
            bad,
        ));
        all.push(case(
            format!("reserve shipTo #{i}"),
            RESERVE,
            with(&order, &["i", "shipTo"], place.clone()),
            bad,
        ));
        all.push(case(
            format!("plan shipTo #{i}"),
            PLAN,
            with(&plan, &["i", "shipTo"], place.clone()),
            bad,
        ));
        all.push(case(
            format!("availability shipTo #{i}"),
            AVAILABILITY,
            json!({ "skus": [HOT_SKU], "to": place }),
            bad,
        ));
        all.push(case(
            format!("warehouses near #{i}"),
            NEAR,
            json!({ "near": place }),
            bad,
        ));
    }
    for radius in [json!(0.0), json!(-5.0), json!(-1e300)] {
        all.push(case(
            format!("radius {radius}"),
            NEAR,
            json!({ "near": here, "r": radius }),
            bad,
        ));
    }
    all.push(case("radius without near", NEAR, json!({ "r": 10.0 }), bad));
    // JSON cannot carry NaN or Infinity, but a GraphQL literal can overflow
    // to infinity.
    all.push(case(
        "an infinite latitude literal",
        "{ warehouses(near: { latitude: 1e400, longitude: 0 }) { code } }",
        json!({}),
        bad,
    ));
    all.push(case(
        "an infinite radius literal",
        "{ warehouses(near: { latitude: 0, longitude: 0 }, radiusKm: 1e400) { code } }",
        json!({}),
        bad,
    ));
    all.push(case(
        "a NaN literal",
        "{ warehouses(near: { latitude: NaN, longitude: 0 }) { code } }",
        json!({}),
        bad,
    ));
    all.push(case("an infinite warehouse location", "mutation { createWarehouse(input: { code: \"INF1\", name: \"x\", location: { latitude: -1e400, longitude: 0 }, shippingRate: { baseCents: 0, centsPer100Km: 0, centsPerKg: 0 } }) { code } }", json!({}), bad));

    // Orders: shape, size, time to live, shipment cap.
    let line = |sku: String| json!({ "sku": sku, "quantity": 1 });
    for (name, lines) in [
        ("no lines", json!([])),
        (
            "101 lines",
            json!((0..101).map(|i| line(format!("S{i}"))).collect::<Vec<_>>()),
        ),
        (
            "a line twice",
            json!([line(HOT_SKU.into()), line(HOT_SKU.into())]),
        ),
    ] {
        all.push(case(
            format!("reserve with {name}"),
            RESERVE,
            with(&order, &["i", "lines"], lines.clone()),
            bad,
        ));
        all.push(case(
            format!("plan with {name}"),
            PLAN,
            with(&plan, &["i", "lines"], lines),
            bad,
        ));
    }
    for ttl in [
        json!(0),
        json!(-1),
        json!(86_401),
        json!(2_147_483_648_i64),
        json!("forever"),
    ] {
        all.push(case(
            format!("ttl {ttl}"),
            RESERVE,
            with(&order, &["i", "ttlSeconds"], ttl.clone()),
            bad,
        ));
        all.push(case(
            format!("extend by {ttl}"),
            "mutation($id: UUID!, $t: Int!) { extendReservation(id: $id, ttlSeconds: $t) { id } }",
            json!({ "id": Uuid::new_v4(), "t": ttl }),
            bad,
        ));
    }
    for cap in [json!(0), json!(-3)] {
        all.push(case(
            format!("maxShipments {cap}"),
            RESERVE,
            with(&order, &["i", "maxShipments"], cap.clone()),
            bad,
        ));
        all.push(case(
            format!("plan maxShipments {cap}"),
            PLAN,
            with(&plan, &["i", "maxShipments"], cap),
            bad,
        ));
    }
    all.push(case(
        "101 SKUs",
        AVAILABILITY,
        json!({ "skus": (0..101).map(|_| HOT_SKU).collect::<Vec<_>>() }),
        bad,
    ));

    // Malformed UUIDs, wherever one is taken.
    let uuids = [
        json!(""),
        json!("not-a-uuid"),
        json!("123"),
        json!("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"),
        json!("5f0c6a1e-8d6b-4c55-9a0e-2f3c1d7e9b1"),
        json!(12345),
    ];
    for (i, id) in uuids.iter().enumerate() {
        for field in ["confirmReservation", "releaseReservation"] {
            all.push(case(
                format!("{field} id #{i}"),
                &format!("mutation($id: UUID!) {{ {field}(id: $id) {{ id }} }}"),
                json!({ "id": id }),
                bad,
            ));
        }
        all.push(case(
            format!("reservation id #{i}"),
            "query($id: UUID!) { reservation(id: $id) { id } }",
            json!({ "id": id }),
            bad,
        ));
        all.push(case(
            format!("reservationId #{i}"),
            RESERVE,
            with(&order, &["i", "reservationId"], id.clone()),
            bad,
        ));
    }

    // Page sizes and cursors, on every connection.
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let cursors = [
        json!(""),
        json!("!!"),
        json!("bm90IGEgY3Vyc29y"),
        json!(URL_SAFE_NO_PAD.encode("movement:abc")),
        json!(URL_SAFE_NO_PAD.encode("movement:99999999999999999999")),
        json!(URL_SAFE_NO_PAD.encode("warehouse:1")),
    ];
    for (connection, query) in [
        ("movements", MOVEMENTS),
        ("products", PRODUCTS),
        ("stockLevels", LEVELS),
    ] {
        for first in [json!(0), json!(-1), json!(101), json!(2_147_483_648_i64)] {
            all.push(case(
                format!("{connection} first {first}"),
                query,
                json!({ "first": first }),
                bad,
            ));
        }
        for (i, cursor) in cursors.iter().enumerate() {
            all.push(case(
                format!("{connection} cursor #{i}"),
                query,
                json!({ "after": cursor }),
                bad,
            ));
        }
    }

    // Queries built to hurt.
    let mut deep = String::from("name");
    for _ in 0..30 {
        deep = format!("ofType {{ {deep} }}");
    }
    all.push(case(
        "a query 30 levels deep",
        &format!("{{ __schema {{ types {{ {deep} }} }} }}"),
        json!({}),
        bad,
    ));
    let costly: Vec<String> = (0..600)
        .map(|i| format!("p{i}: product(sku: \"{HOT_SKU}\") {{ sku }}"))
        .collect();
    all.push(case(
        "a query of 600 fields",
        &format!("{{ {} }}", costly.join(" ")),
        json!({}),
        bad,
    ));
    all.push(case(
        "a query that does not parse",
        "mutation { receiveStock(input: {",
        json!({}),
        bad,
    ));
    all.push(case(
        "an unknown field",
        "mutation { dropAllStock }",
        json!({}),
        bad,
    ));
    all.push(case("a missing variable", RECEIVE, json!({}), bad));
    all
}

/// Bodies that are not one GraphQL request, and the status each must get.
fn transport_abuse() -> Vec<(&'static str, Vec<u8>, u16)> {
    vec![
        ("a batch", br#"[{"query": "{ viewer { role } }"}, {"query": "{ viewer { role } }"}]"#.to_vec(), 400),
        ("broken JSON", b"{\"query\": ".to_vec(), 400),
        ("a number JSON cannot hold", br#"{"query": "query($q: Int) { products(first: $q) { edges { cursor } } }", "variables": {"q": 1e400}}"#.to_vec(), 400),
        ("an empty body", Vec::new(), 400),
        ("not JSON at all", b"\xff\xfe\x00garbage".to_vec(), 400),
        ("a query that is not a string", br#"{"query": 42}"#.to_vec(), 400),
    ]
}

/// Posts a 10 MB body over a raw connection and returns the status the
/// server answers with. The server answers 413 as soon as it sees the
/// length and stops reading, so the upload may fail half way; an HTTP
/// client that insists on sending everything first would see a broken pipe
/// instead of the answer.
async fn status_for_a_huge_body(app: &TestApp) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = format!(
        "{{\"query\": \"{{ viewer {{ role }} }}\", \"pad\": \"{}\"}}",
        "x".repeat(10 << 20)
    );
    let stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let upload = tokio::spawn(async move {
        let head = format!(
            "POST /graphql HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            "localhost",
            body.len()
        );
        // Errors are expected once the server has answered and closed.
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(body.as_bytes()).await;
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = reader.read(&mut buffer).await.expect("an answer");
        assert!(n > 0, "the server closed without answering");
        answer.extend_from_slice(&buffer[..n]);
    }
    upload.abort();
    let head = String::from_utf8_lossy(&answer);
    head.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line")
}

async fn assert_refused(app: &TestApp, key: &str, case: &Case) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(key)
        .json(&json!({ "query": case.query, "variables": case.variables }))
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    assert!(
        status.is_success() || status.is_client_error(),
        "{}: HTTP {status}",
        case.name
    );
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(
        error_code(&body),
        Some(case.code),
        "{}: {body:#}",
        case.name
    );
    assert_no_leak(&case.name, &body);
}

fn assert_no_leak(name: &str, body: &Value) {
    for error in body["errors"].as_array().into_iter().flatten() {
        let message = error["message"].as_str().unwrap_or_default();
        for leak in LEAKS {
            assert!(
                !message.contains(leak),
                "{name}: the message shows `{leak}`: {message}"
            );
        }
    }
}

on_both_backends! {
    async fn two_hundred_bad_requests_are_refused_with_codes_and_change_nothing(app) {
        let key = app.create_key(KeyRole::Admin, "red-team").await;
        let cases = cases();
        assert!(cases.len() >= 200, "only {} cases", cases.len());
        eprintln!("{} bad GraphQL requests and {} transport abuses", cases.len(), transport_abuse().len() + 1);
        let before = footprint(&app).await;
        for case in &cases {
            assert_refused(&app, &key, case).await;
        }
        for (name, body, status) in transport_abuse() {
            let response = app
                .client
                .post(app.url("/graphql"))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("the server answers");
            assert_eq!(response.status().as_u16(), status, "{name}");
            if status == 400 {
                let body: Value = response.json().await.expect("a JSON body");
                assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{name}: {body:#}");
                assert_no_leak(name, &body);
            }
        }
        assert_eq!(status_for_a_huge_body(&app).await, 413, "a 10 MB body");
        assert_eq!(footprint(&app).await, before, "the database is unchanged");
        assert_books_balance(&app).await;
        // And the service still works.
        let fine = app.graphql("{ viewer { role } }", json!({})).await;
        assert_eq!(fine["data"]["viewer"]["role"], "PUBLIC");
    }
}
