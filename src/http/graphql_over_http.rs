//! GraphQL over HTTP, as graphql.github.io/graphql-over-http says.
//!
//! - POST runs any operation; its body must be JSON (`Content-Type:
//!   application/json`, else 415) holding one request.
//! - GET runs queries from the URL (`query`, `variables`, `operationName`,
//!   `extensions`); a mutation is refused with 405 and `Allow: POST`, since
//!   GETs may be repeated and cached. A GET that asks for a websocket upgrade
//!   opens a subscription socket instead.
//! - The response is `application/graphql-response+json` when the client
//!   accepts it (preferred over `application/json` at equal quality): a
//!   request error (nothing ran: the document did not parse or validate, a
//!   variable did not fit, the key was refused) is then a 4xx without a
//!   `data` key. Clients that accept only `application/json`, any type, or
//!   say nothing get `application/json` and 200, as before that media type
//!   existed.
//! - Whatever this layer refuses (400, 405, 406, 413, 415) is GraphQL JSON
//!   with `extensions.code`, never plain text.
//! - A public GET that ran without errors may be cached for
//!   [`PUBLIC_MAX_AGE_SECONDS`] and carries an `ETag`; `If-None-Match` with
//!   it answers 304. Anything sent with a key is `private, no-store`.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
};

use async_graphql::{Extensions, ServerError, Value, Variables, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State, WebSocketUpgrade},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{
            ACCEPT, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
            RETRY_AFTER, UPGRADE, VARY,
        },
    },
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AppState, websocket};
use crate::{
    auth,
    graphql::{ApiError, error, pipeline},
};

/// How long a shared cache may keep a public query's answer. Short: stock
/// moves, and a storefront's "in stock" is advice; `reserveOrder` is what
/// decides.
pub const PUBLIC_MAX_AGE_SECONDS: u32 = 5;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type a response is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Media {
    GraphQLResponse,
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }

    /// What the `Accept` header asks for; `None` when it accepts neither.
    fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Media::Json);
        };
        let (mut graphql_response, mut json) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                GRAPHQL_RESPONSE_JSON => graphql_response = graphql_response.max(quality),
                JSON | "application/*" | "*/*" => json = json.max(quality),
                _ => {}
            }
        }
        if graphql_response > 0.0 && graphql_response >= json {
            Some(Media::GraphQLResponse)
        } else if json > 0.0 {
            Some(Media::Json)
        } else {
            None
        }
    }
}

/// A refusal made by this layer, as GraphQL JSON with a code.
fn refused(status: StatusCode, message: impl Into<String>, media: Media) -> Response {
    let response = error::error_response(ApiError::BadUserInput(message.into()));
    (
        status,
        [(CONTENT_TYPE, media.content_type())],
        body(&response, media),
    )
        .into_response()
}

/// One request's body or query string.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Variables>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

impl Params {
    fn into_request(self) -> Result<async_graphql::Request, String> {
        let query = self
            .query
            .filter(|q| !q.trim().is_empty())
            .ok_or("the request has no `query`")?;
        let mut request = async_graphql::Request::new(query);
        request.operation_name = self.operation_name.filter(|name| !name.is_empty());
        if let Some(variables) = self.variables {
            request.variables = variables;
        }
        if let Some(extensions) = self.extensions {
            request.extensions = extensions;
        }
        Ok(request)
    }
}

pub async fn post(State(state): State<AppState>, request: Request) -> Response {
    // The headers are taken out of the request, not extracted: axum's
    // `HeaderMap` extractor copies them, and the copy and its drop were
    // ~1.5 % of the server's CPU in the flash-sale profile.
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let peer = peer_address(&parts.extensions);
    // The body extractor reads only the body and the size limit (an
    // extension) from the request.
    let body = Bytes::from_request(Request::from_parts(parts, body), &state).await;
    let Some(media) = Media::negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(JSON) {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a POST to /graphql must have `Content-Type: application/json`, not `{content_type}`"
            ),
            media,
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return refused(rejection.status(), rejection.body_text(), media),
    };
    let params: Params = match serde_json::from_slice(&body) {
        Ok(params) => params,
        Err(e) => {
            let message = if body.trim_ascii_start().first() == Some(&b'[') {
                "batched requests are not supported: send one GraphQL request per POST".to_owned()
            } else {
                format!("the body is not a GraphQL request in JSON: {e}")
            };
            return refused(StatusCode::BAD_REQUEST, message, media);
        }
    };
    match params.into_request() {
        Ok(request) => {
            let Some(peer) = peer else {
                return unknown_peer(media);
            };
            let carried = Carried::Post(body);
            run(&state, request, carried, &headers, peer, media).await
        }
        Err(message) => refused(StatusCode::BAD_REQUEST, message, media),
    }
}

/// What carried a request: a POST's body, from which it can be made again,
/// or a GET's URL.
enum Carried {
    Post(Bytes),
    Get,
}

/// A GET: a websocket upgrade, or a query in the URL.
pub async fn get(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let upgrade = parts
        .headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let peer = peer_address(&parts.extensions);
    if upgrade {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => websocket::upgrade(state, &parts.headers, peer, upgrade),
            Err(rejection) => rejection.into_response(),
        };
    }
    let Some(media) = Media::negotiate(&parts.headers) else {
        return not_acceptable();
    };
    let query = parts.uri.query().unwrap_or("");
    let params = match params_from_url(query) {
        Ok(params) => params,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message, media),
    };
    let request = match params.into_request() {
        Ok(request) => request,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message, media),
    };
    let Some(peer) = peer else {
        return unknown_peer(media);
    };
    run(&state, request, Carried::Get, &parts.headers, peer, media).await
}

/// The client's address, which the server puts in every request.
fn peer_address(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

fn unknown_peer(media: Media) -> Response {
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the client address is unknown",
        media,
    )
}

/// `/graphql` answers GET and POST only.
pub async fn other_method(headers: HeaderMap) -> Response {
    let media = Media::negotiate(&headers).unwrap_or(Media::Json);
    let mut response = refused(
        StatusCode::METHOD_NOT_ALLOWED,
        "/graphql answers GET (queries) and POST",
        media,
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

fn not_acceptable() -> Response {
    refused(
        StatusCode::NOT_ACCEPTABLE,
        format!(
            "responses are {GRAPHQL_RESPONSE_JSON} or {JSON}; the Accept header allows neither"
        ),
        Media::Json,
    )
}

/// The parameters of a GET, whose `variables` and `extensions` are JSON
/// text.
fn params_from_url(query: &str) -> Result<Params, String> {
    let mut params = Params {
        query: None,
        operation_name: None,
        variables: None,
        extensions: None,
    };
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "query" => params.query = Some(value.into_owned()),
            "operationName" => params.operation_name = Some(value.into_owned()),
            "variables" if !value.is_empty() => {
                params.variables = Some(
                    serde_json::from_str(&value)
                        .map_err(|e| format!("`variables` is not a JSON object: {e}"))?,
                );
            }
            "extensions" if !value.is_empty() => {
                params.extensions = Some(
                    serde_json::from_str(&value)
                        .map_err(|e| format!("`extensions` is not a JSON object: {e}"))?,
                );
            }
            _ => {}
        }
    }
    Ok(params)
}

/// Authenticates, runs and writes one operation.
async fn run(
    state: &AppState,
    request: async_graphql::Request,
    carried: Carried,
    headers: &HeaderMap,
    peer: IpAddr,
    media: Media,
) -> Response {
    let mut operation = match state.pipeline.prepare(request) {
        Ok(operation) => operation,
        Err(refusal) => return respond(&refusal, media, CachePolicy::NoStore),
    };
    let by_get = matches!(carried, Carried::Get);
    if let Carried::Post(body) = carried {
        operation = operation.made_again_by(Box::new(move || {
            let params: Params = serde_json::from_slice(&body).ok()?;
            params.into_request().ok()
        }));
    }
    if by_get && operation.kind() != Some(OperationType::Query) {
        let what = match operation.kind() {
            Some(OperationType::Mutation) => "a mutation",
            Some(OperationType::Subscription) => "a subscription",
            _ => "an operation the document does not single out",
        };
        let mut response = refused(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{what} cannot run over GET: send it by POST (subscriptions by websocket)"),
            media,
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let authorization = match headers.get(AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            let refusal = state
                .pipeline
                .refuse(ApiError::from(auth::AuthError::MalformedHeader));
            return respond(&refusal, media, CachePolicy::NoStore);
        }
    };
    let caller = match state.keys.authenticate(authorization).await {
        Ok(caller) => caller,
        Err(e) => {
            return respond(
                &state.pipeline.refuse(ApiError::from(e)),
                media,
                CachePolicy::NoStore,
            );
        }
    };
    let response = state.pipeline.execute(operation, caller, Some(peer)).await;
    let policy = match (by_get, authorization) {
        (true, None) if response.errors.is_empty() => CachePolicy::Public {
            if_none_match: headers.get(IF_NONE_MATCH).cloned(),
        },
        _ => CachePolicy::NoStore,
    };
    respond(&response, media, policy)
}

/// Whether a response may be kept by caches.
enum CachePolicy {
    NoStore,
    Public { if_none_match: Option<HeaderValue> },
}

/// The HTTP response for a GraphQL response.
fn respond(response: &async_graphql::Response, media: Media, policy: CachePolicy) -> Response {
    let request_error = pipeline::is_request_error(response);
    let throttled = retry_after(response);
    let status = match media {
        Media::Json => StatusCode::OK,
        Media::GraphQLResponse if !request_error => StatusCode::OK,
        Media::GraphQLResponse if has_code(response, "UNAUTHENTICATED") => StatusCode::UNAUTHORIZED,
        Media::GraphQLResponse if has_code(response, "THROTTLED") => StatusCode::TOO_MANY_REQUESTS,
        Media::GraphQLResponse if has_code(response, "UNAVAILABLE") => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Media::GraphQLResponse => StatusCode::BAD_REQUEST,
    };
    let text = body(response, media);
    let mut headers = HeaderMap::new();
    if let Some(seconds) = throttled {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    headers.insert(CONTENT_TYPE, media.content_type());
    headers.insert(VARY, HeaderValue::from_static("Accept, Authorization"));
    match policy {
        CachePolicy::NoStore => {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        }
        CachePolicy::Public { if_none_match } => {
            let tag = format!(
                "\"{}\"",
                &crate::digest::lower_hex(&Sha256::digest(text.as_bytes()))[..32]
            );
            let tag = HeaderValue::from_str(&tag).expect("hex is a valid header value");
            headers.insert(
                CACHE_CONTROL,
                HeaderValue::from_str(&format!("public, max-age={PUBLIC_MAX_AGE_SECONDS}"))
                    .expect("a valid header value"),
            );
            let unchanged = if_none_match.is_some_and(|given| {
                given
                    .to_str()
                    .is_ok_and(|given| given.split(',').any(|t| t.trim() == tag))
            });
            headers.insert(ETAG, tag);
            if unchanged {
                return (StatusCode::NOT_MODIFIED, headers).into_response();
            }
        }
    }
    (status, headers, text).into_response()
}

/// Whether one of the response's errors has this code.
fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|given| *given == Value::from(code))
    })
}

/// For a THROTTLED response, or one shed as overloaded, the whole seconds
/// to wait (`Retry-After`).
fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    response.errors.iter().find_map(|e| {
        let extensions = e.extensions.as_ref()?;
        match extensions.get("retryAfterSeconds")? {
            Value::Number(n) => n.as_f64().map(|s| s.ceil().max(1.0) as u64),
            _ => None,
        }
    })
}

/// A response as sent: in the order of the spec's response format, without
/// `data` for a request error in `application/graphql-response+json`.
fn body(response: &async_graphql::Response, media: Media) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        errors: &'a [ServerError],
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a Value>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        extensions: &'a BTreeMap<String, Value>,
    }
    let omit_data = media == Media::GraphQLResponse && pipeline::is_request_error(response);
    serde_json::to_string(&Body {
        errors: &response.errors,
        data: (!omit_data).then_some(&response.data),
        extensions: &response.extensions,
    })
    .expect("a GraphQL response serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(accept: Option<&str>) -> Option<Media> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
        }
        Media::negotiate(&headers)
    }

    #[test]
    fn the_accept_header_picks_the_media_type() {
        assert_eq!(accepting(None), Some(Media::Json));
        assert_eq!(accepting(Some("*/*")), Some(Media::Json));
        assert_eq!(accepting(Some("application/json")), Some(Media::Json));
        assert_eq!(
            accepting(Some("application/graphql-response+json")),
            Some(Media::GraphQLResponse)
        );
        assert_eq!(
            accepting(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(Media::GraphQLResponse)
        );
        assert_eq!(
            accepting(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Media::Json)
        );
        assert_eq!(accepting(Some("text/html")), None);
        assert_eq!(
            accepting(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Some(Media::Json)
        );
    }

    #[test]
    fn url_parameters_carry_json_variables() {
        let params = params_from_url(
            "query=%7Bproducts(first%3A%24n)%7D&variables=%7B%22n%22%3A2%7D&operationName=",
        )
        .unwrap();
        let request = params.into_request().unwrap();
        assert_eq!(request.query, "{products(first:$n)}");
        assert_eq!(
            request.variables.get(&async_graphql::Name::new("n")),
            Some(&Value::from(2))
        );
        assert!(params_from_url("query=%7Ba%7D&variables=nope").is_err());
        assert!(params_from_url("").unwrap().into_request().is_err());
    }
}
