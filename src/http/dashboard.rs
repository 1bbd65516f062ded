//! The live stock dashboard at `/dashboard`: a page built only on the
//! public GraphQL API, served from the binary with its coastline (Natural
//! Earth 1:110m land via world-atlas; `assets/dashboard/update.sh` rebuilds
//! it). The files change with the binary, so browsers revalidate them.

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

const ASSETS: &[Asset] = &[
    asset!("dashboard", "dashboard.js"),
    asset!("dashboard", "dashboard.css"),
    asset!("dashboard", "land.js"),
    asset!("dashboard", "LICENSE.world-atlas"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/{file}", get(asset))
        .layer(CompressionLayer::new())
}

async fn page() -> Html<&'static str> {
    Html(include_str!("../../assets/dashboard/index.html"))
}

async fn asset(Path(file): Path<String>) -> Response {
    embedded::serve(ASSETS, &file, "no-cache")
}
