//! The stack's ceiling for `benches/flash.sh`: async-graphql 7 behind axum,
//! answering a `reserveOrder` of the same shape as stockroute's with no
//! database and no work, so that the benchmark can say how close the real
//! service comes to what HTTP and GraphQL alone cost on this machine.
//!
//! cargo run --release --example ceiling -- 127.0.0.1:18200

use async_graphql::{EmptySubscription, InputObject, Object, Schema, SimpleObject, Union};
use axum::{Json, Router, extract::State, routing::post};
use uuid::Uuid;

#[derive(InputObject)]
struct LocationInput {
    latitude: f64,
    longitude: f64,
}

#[derive(InputObject)]
struct OrderLineInput {
    sku: String,
    quantity: i32,
}

#[derive(InputObject)]
struct ReserveOrderInput {
    reservation_id: Uuid,
    lines: Vec<OrderLineInput>,
    ship_to: LocationInput,
}

#[derive(SimpleObject)]
struct Reservation {
    id: Uuid,
    status: String,
}

#[derive(SimpleObject)]
struct InsufficientStock {
    message: String,
}

#[derive(Union)]
enum ReserveOrderResult {
    Reservation(Reservation),
    InsufficientStock(InsufficientStock),
}

struct Query;

#[Object]
impl Query {
    async fn ok(&self) -> bool {
        true
    }
}

struct Mutation;

#[Object]
impl Mutation {
    /// Answers every order as held, having held nothing.
    async fn reserve_order(&self, input: ReserveOrderInput) -> ReserveOrderResult {
        let _ = (
            &input.lines,
            input.ship_to.latitude,
            input.ship_to.longitude,
        );
        ReserveOrderResult::Reservation(Reservation {
            id: input.reservation_id,
            status: "ACTIVE".into(),
        })
    }
}

// The allocator stockroute's binary uses, so that the two differ only in
// the work they do.
#[global_allocator]
static GLOBAL: stockroute::allocator::MiMalloc = stockroute::allocator::MiMalloc;

type CeilingSchema = Schema<Query, Mutation, EmptySubscription>;

async fn graphql(
    State(schema): State<CeilingSchema>,
    Json(request): Json<async_graphql::Request>,
) -> Json<async_graphql::Response> {
    Json(schema.execute(request).await)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18200".into());
    let schema = Schema::new(Query, Mutation, EmptySubscription);
    let app = Router::new()
        .route("/graphql", post(graphql))
        .with_state(schema);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("the ceiling's address is free");
    eprintln!("ceiling listening on http://{addr}/graphql");
    // Stopping on a signal, not killed by it, lets a profile-guided build's
    // instrumented run (benches/pgo.sh) write its profile at exit.
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("serves");
}
