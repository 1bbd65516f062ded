//! Every request's id and span, in one layer: the client's `x-request-id`
//! (or a new UUID) comes back in the response's, and names every log line
//! written while the request runs. At `debug` it also logs when a request
//! starts and ends; a server error is logged at `error` whatever the level.
//!
//! tower-http's `SetRequestId`, `Trace` and `PropagateRequestId` did this
//! as three layers, each with its own future around the next, the id put
//! into the request's headers and extensions for the next layer to find,
//! and the response body wrapped to enter the span once more. Under a
//! flash sale every one of ~1,000 waiting requests carried all of that;
//! one layer does the same job for less (README, "Flash sales").

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use axum::http::{HeaderValue, Request, Response, header::HeaderName};
use tower::{Layer, Service};
use tracing::Span;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a service so each request gets its id and span.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RequestIdService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = Identified<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let id = request
            .headers()
            .get(&X_REQUEST_ID)
            .cloned()
            .unwrap_or_else(new_id);
        let span = tracing::info_span!(
            "request",
            id = id.to_str().unwrap_or("-"),
            method = %request.method(),
            path = request.uri().path(),
        );
        let started = Instant::now();
        let inner = span.in_scope(|| {
            tracing::debug!("started processing request");
            self.inner.call(request)
        });
        Identified {
            inner,
            span,
            id: Some(id),
            started,
        }
    }
}

fn new_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

pin_project_lite::pin_project! {
    /// The inner service's future, run inside the request's span; its
    /// response gets the id.
    pub struct Identified<F> {
        #[pin]
        inner: F,
        span: Span,
        id: Option<HeaderValue>,
        started: Instant,
    }
}

impl<F, R, E> Future for Identified<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut output = ready!(this.inner.poll(cx));
        if let Ok(response) = &mut output {
            if let Some(id) = this.id.take() {
                response.headers_mut().insert(X_REQUEST_ID.clone(), id);
            }
            let status = response.status().as_u16();
            let latency_ms = this.started.elapsed().as_secs_f64() * 1e3;
            if response.status().is_server_error() {
                tracing::error!(status, latency_ms, "response failed");
            } else {
                tracing::debug!(status, latency_ms, "finished processing request");
            }
        }
        Poll::Ready(output)
    }
}
