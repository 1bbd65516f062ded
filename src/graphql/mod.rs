//! The GraphQL schema. Resolvers are thin: they turn arguments into domain
//! values, make one call into [`crate::inventory`], and convert the result
//! into the output types of [`types`]. Errors are mapped to
//! `extensions.code` in [`error`], and roles are checked by [`guard`].

pub mod batching;
pub mod connection;
pub mod cost;
pub mod documents;
pub mod error;
pub mod feeds;
pub mod field_order;
pub mod guard;
pub mod in_flight;
pub mod loaders;
pub mod messages;
pub mod mutation;
pub mod pipeline;
pub mod query;
pub mod subscription;
pub mod types;

use async_graphql::{SDLExportOptions, Schema};

use crate::{
    events::EventBus,
    inventory::{Store, reservations::ReservationQueue},
    metrics::Metrics,
    planner::SearchBudget,
};

pub use error::{ApiError, Coded};
pub use guard::RoleGuard;
use mutation::Mutation;
use query::Query;
use subscription::Subscription;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// The deepest selection a query may nest. GraphiQL's introspection query
/// needs 13 levels; real client queries need far fewer.
pub const MAX_DEPTH: usize = 16;
/// The most fields (each counts 1, lists counted once) one query may select.
pub const MAX_COMPLEXITY: usize = 1_000;

/// The schema with its limits, serving data from `store`, live events
/// from `events`, and holds through `reservations`, charging queries to
/// `budgets`.
pub fn build_schema(
    store: Store,
    events: EventBus,
    reservations: ReservationQueue,
    budgets: cost::Budgets,
    plan_budget: SearchBudget,
    metrics: Metrics,
) -> AppSchema {
    let db = store.connection().clone();
    let mut builder = schema_builder();
    // Any extension puts every field's resolution through the extension
    // chain; without budgets there is nothing to charge, so none.
    if budgets != cost::Budgets::OFF {
        builder = builder.extension(cost::CostBudgets::new(budgets));
    }
    builder
        .data(reservations)
        .data(plan_budget)
        .data(metrics)
        .data(loaders::Loaders::shared(&db))
        .data(store.availability().clone())
        .data(db)
        .data(store)
        .data(events)
        .finish()
}

fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema in SDL: what `stockroute export-schema` prints and what
/// `schema.graphql` at the top of the repository must equal.
pub fn sdl() -> String {
    schema_builder().finish().sdl_with_options(
        SDLExportOptions::new()
            .prefer_single_line_descriptions()
            .use_space_ident()
            .indent_width(2),
    )
}
