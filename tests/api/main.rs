//! Black-box tests: each starts the real service on a free port against a
//! fresh database and talks to it over HTTP (or runs the real binary).
//!
//! Tests written with `on_both_backends!` run once on SQLite (`…::sqlite::…`)
//! and once on PostgreSQL (`…::postgres::…`). The PostgreSQL ones need
//! `TEST_DATABASE_URL` (a server where they may create databases) and fail,
//! rather than skip, without it; run `cargo test -- --skip postgres::` for a
//! SQLite-only run.

mod helpers;
mod invariants;

mod audit;
mod auth;
mod authorization;
mod availability;
mod browser;
mod bulk_inserts;
mod capacity;
mod catalogue;
mod cli;
mod cost_budgets;
mod crash;
mod dashboard;
mod database_wait;
mod deadlines;
mod demo_data;
mod flash_sale;
mod graphql_over_http;
mod health;
mod hold_endings;
mod hostile;
mod idempotency;
mod inbound;
mod js_clients;
mod live;
mod metrics;
mod migrations;
mod node;
mod npm_client;
mod outage;
mod planner_statistics;
mod planning;
mod pre_orders;
mod reservations;
mod safety_stock;
mod schema;
mod shedding;
mod slow_clients;
mod stock_admin;
mod transport;
mod websocket;
