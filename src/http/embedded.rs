//! Files compiled into the binary and served as they are: the pages'
//! scripts, styles and data, so that nothing is loaded from elsewhere.

use axum::{
    http::{
        HeaderValue, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
};

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub contents: &'static [u8],
}

/// The asset `name` of `assets`, or 404.
pub fn serve(assets: &[Asset], name: &str, cache_control: &'static str) -> Response {
    let Some(asset) = assets.iter().find(|asset| asset.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static(media_type(asset.name)),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(cache_control)),
        ],
        asset.contents,
    )
        .into_response()
}

fn media_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

/// The [`Asset`] of `assets/<folder>/<name>`.
macro_rules! asset {
    ($folder:literal, $name:literal) => {
        $crate::http::embedded::Asset {
            name: $name,
            contents: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/",
                $folder,
                "/",
                $name
            )),
        }
    };
}
pub(crate) use asset;
