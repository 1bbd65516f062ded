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

use async_graphql::{SDLExportOptions, Schema, ValidationMode};

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

/// The schema twice over, sharing data, budgets and resolvers: `strict`
/// runs every validation rule on every request; `fast` runs only those of
/// async-graphql's fast mode, for documents that have passed the rest
/// before (see [`pipeline`]).
#[derive(Clone)]
pub struct Schemas {
    pub strict: AppSchema,
    pub fast: AppSchema,
}

/// The schemas with their limits, serving data from `store`, live events
/// from `events`, and holds through `reservations`, charging queries to
/// `budgets`.
pub fn build_schemas(
    store: Store,
    events: EventBus,
    reservations: ReservationQueue,
    budgets: cost::Budgets,
    plan_budget: SearchBudget,
    metrics: Metrics,
) -> Schemas {
    let db = store.connection().clone();
    let charges = (budgets != cost::Budgets::OFF).then(|| cost::CostBudgets::new(budgets));
    let build = |mode: ValidationMode| {
        let mut builder = schema_builder().validation_mode(mode);
        // Any extension puts every field's resolution through the extension
        // chain; without budgets there is nothing to charge, so none.
        if let Some(charges) = &charges {
            builder = builder.extension(charges.clone());
        }
        builder
            .data(reservations.clone())
            .data(plan_budget)
            .data(metrics.clone())
            .data(loaders::Loaders::shared(&db))
            .data(store.availability().clone())
            .data(db.clone())
            .data(store.clone())
            .data(events.clone())
            .finish()
    };
    Schemas {
        strict: build(ValidationMode::Strict),
        fast: build(ValidationMode::Fast),
    }
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
