//! stockroute: a GraphQL service for stock that lives in many warehouses.
//!
//! # Layout
//! - [`config`]: everything the service reads from flags and the environment,
//!   validated once, with defaults that work on a bare machine.
//! - [`db`]: connecting to SQLite or PostgreSQL (creating the database when it
//!   is missing), backend tuning, and running the migrations.
//! - [`entities`]: the SeaORM entities, one per table.
//! - [`geography`]: validated locations and the one geodesic distance helper.
//! - [`inventory`]: the service layer: catalogue and availability reads,
//!   planning on stock snapshots, reservations and their expiry, admin stock
//!   changes, the movement ledger and reconciliation. Knows nothing of
//!   GraphQL.
//! - [`events`]: committed movements as live events: the per-process pump,
//!   and subscriber streams that replay from the ledger without gaps.
//! - [`planner`]: the pure fulfilment planner: which warehouses ship an
//!   order under NEAREST, CHEAPEST, BALANCED or SPLIT, and why.
//! - [`auth`]: API keys (hashed at rest) and the roles they grant.
//! - [`demo`]: the demo catalogue and stock a newcomer sees first.
//! - [`graphql`]: the schema: thin resolvers, guards, error mapping.
//! - [`http`]: the axum router: GraphQL, GraphiQL, health, readiness and
//!   metrics.
//! - [`metrics`]: counters served at `/metrics` for Prometheus.
//! - [`startup`]: [`startup::Application`], which binds, serves and stops.
//! - [`cli`]: the `stockroute` command line (serve, migrate, seed, keys).

// So that code shared with the benches (`stockroute::…` paths) builds in unit tests.
#[cfg(test)]
extern crate self as stockroute;

pub mod allocator;
pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod digest;
pub mod entities;
pub mod events;
pub mod geography;
pub mod graphql;
pub mod http;
pub mod inventory;
pub mod metrics;
pub mod planner;
pub mod startup;
pub mod telemetry;
