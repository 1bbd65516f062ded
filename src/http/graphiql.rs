//! GraphiQL, served from the binary: the page and every asset it loads
//! (production builds of graphiql, react and react-dom, with their licences
//! in `assets/graphiql/`), so it works on a machine without internet. The
//! assets live under a path that names their version and are cached for a
//! year; a new version is a new path. `assets/graphiql/update.sh` rebuilds
//! them from the npm registry.

use std::sync::LazyLock;

use axum::{
    Router,
    extract::Path,
    response::{Html, Response},
    routing::get,
};
use tower_http::compression::CompressionLayer;

use super::{
    AppState,
    embedded::{self, Asset, asset},
};

/// The graphiql release the assets are; part of their path.
const VERSION: &str = "3.8.3";

/// The page, pointing at this version's assets.
static PAGE: LazyLock<String> =
    LazyLock::new(|| include_str!("../../assets/graphiql/index.html").replace("VERSION", VERSION));

/// Every file the page may load, and the licences.
const ASSETS: &[Asset] = &[
    asset!("graphiql", "graphiql.min.js"),
    asset!("graphiql", "graphiql.min.css"),
    asset!("graphiql", "react.production.min.js"),
    asset!("graphiql", "react-dom.production.min.js"),
    asset!("graphiql", "start.js"),
    asset!("graphiql", "LICENSE.graphiql"),
    asset!("graphiql", "LICENSE.react"),
    asset!("graphiql", "LICENSE.react-dom"),
];

pub async fn page() -> Html<&'static str> {
    Html(PAGE.as_str())
}

/// The routes of the assets, compressed for clients that accept it (the
/// graphiql bundle is 1.5 MB, 0.4 MB gzipped).
pub fn assets() -> Router<AppState> {
    Router::new()
        .route(&format!("/graphiql/{VERSION}/{{file}}"), get(asset))
        .layer(CompressionLayer::new())
}

async fn asset(Path(file): Path<String>) -> Response {
    embedded::serve(ASSETS, &file, "public, max-age=31536000, immutable")
}
