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
    http::{
        HeaderValue, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::compression::CompressionLayer;

use super::AppState;

/// The graphiql release the assets are; part of their path.
const VERSION: &str = "3.8.3";

/// The page, pointing at this version's assets.
static PAGE: LazyLock<String> =
    LazyLock::new(|| include_str!("../../assets/graphiql/index.html").replace("VERSION", VERSION));

/// Every file the page may load: name, media type, contents.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "start.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/start.js"),
    ),
    (
        "LICENSE.graphiql",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.graphiql"),
    ),
    (
        "LICENSE.react",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.react"),
    ),
    (
        "LICENSE.react-dom",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.react-dom"),
    ),
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
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, media_type, contents)) => (
            [
                (CONTENT_TYPE, HeaderValue::from_static(media_type)),
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            *contents,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
