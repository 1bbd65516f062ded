//! Serving connections: the accept loop, with the limits that keep slow,
//! idle or too many clients from taking the service down.
//!
//! `axum::serve` offers no timeouts, no connection cap and no listen
//! backlog, so connections are served here with hyper's HTTP/1 server
//! directly: a client must send each request's headers within the header
//! timeout, which also bounds how long a keep-alive connection may sit idle
//! between requests; a request body must arrive within the body timeout;
//! at the connection cap, the oldest connection between requests is closed
//! to make room, and only when every connection is in a request is a new
//! one answered 503 at once and closed, so the descriptors the database and
//! `/readyz` need are never all held by clients. Upgraded connections (websockets) leave these timeouts
//! behind: they keep themselves alive with their own protocol.

use std::{
    collections::BTreeMap,
    future::Future,
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::ConnectInfo, http::Request};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How connections are limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The longest a client may take to send a request's headers, and the
    /// longest a kept-alive connection may sit idle.
    pub header_timeout: Duration,
    /// The longest a client may take to send a request's body.
    pub body_timeout: Duration,
    /// The most connections served at once (at it, an idle one makes room;
    /// when none is idle, a newcomer is refused); `None`: as many as the
    /// process's descriptor limit leaves room for (see [`default_cap`]).
    pub max_connections: Option<usize>,
    /// Connections the kernel may queue before they are accepted.
    pub listen_backlog: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: None,
            listen_backlog: DEFAULT_LISTEN_BACKLOG,
        }
    }
}

pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_LISTEN_BACKLOG: u32 = 1024;
/// Descriptors kept back from clients: the database pool, the event pump's
/// listener, log files, and room to refuse a connection politely.
const RESERVED_DESCRIPTORS: u64 = 128;
/// How long a draining server waits for in-flight requests.
const DRAIN: Duration = Duration::from_secs(30);
/// How long an accept loop that ran out of descriptors pauses.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The connection cap when none is set: the soft descriptor limit less
/// what the process needs besides clients, at least 16.
pub fn default_cap() -> usize {
    let limit = descriptor_limit().unwrap_or(1024);
    usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(16)).unwrap_or(usize::MAX)
}

#[cfg(unix)]
fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0).then_some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<u64> {
    None
}

/// Binds `addr` with a listen queue of `backlog`.
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As std's bind does on Unix: a restart may take the port at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves `router` on `listener` until `stop` completes; then stops
/// accepting, lets in-flight requests finish (for at most 30 s) and
/// returns. The listener stays open for the caller: connections that
/// arrive meanwhile wait in its queue.
pub async fn serve(
    listener: &TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    // Around the router, not through `Router::layer`: see `super::router`.
    let app = ServiceBuilder::new()
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .service(router);
    let cap = limits.max_connections.unwrap_or_else(default_cap);
    let open = Open::default();
    let connections = TaskTracker::new();
    let draining = CancellationToken::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    if let Ok(addr) = listener.local_addr() {
        tracing::debug!(%addr, max_connections = cap, "accepting connections");
    }
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (or a connection reset before it
                    // was taken): pause rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        // At the cap, a connection that sits between requests (idle, or
        // still sending its head) makes room; only when every one is busy
        // is the newcomer refused.
        let Some((id, served)) = open.admit(cap, &draining) else {
            connections.spawn(refuse(stream, cap));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let busy = served.busy.clone();
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            })
            .map_future(move |response| {
                let running = Busy::enter(&busy);
                async move {
                    let response = response.await;
                    drop(running);
                    response
                }
            });
        let connection = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let open = open.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                // Made room for a newcomer, or the server drains.
                () = served.close.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            open.closed(id);
            if let Err(e) = ended {
                // A client that timed out, went away or spoke no HTTP.
                tracing::debug!(error = %e, %peer, "connection ended");
            }
        });
    }
    draining.cancel();
    connections.close();
    if tokio::time::timeout(DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// The connections being served: whether each is in a request, and how to
/// close it. A clone shares the same set.
#[derive(Clone, Default)]
struct Open(Arc<Mutex<OpenSet>>);

#[derive(Default)]
struct OpenSet {
    next_id: u64,
    /// In the order they were accepted.
    by_id: BTreeMap<u64, Served>,
}

#[derive(Clone)]
struct Served {
    /// Requests of it being answered now.
    busy: Arc<AtomicUsize>,
    close: CancellationToken,
}

impl Open {
    /// Room for one more connection, under `cap`: when full, the oldest
    /// connection between requests is told to close (and leaves the set at
    /// once); `None` when every one is busy. The new connection is told to
    /// close when `draining` is: one token for the connection to wait on,
    /// polled whenever the connection is.
    fn admit(&self, cap: usize, draining: &CancellationToken) -> Option<(u64, Served)> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if set.by_id.len() >= cap {
            let idle = set
                .by_id
                .iter()
                .find(|(_, s)| s.busy.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id)?;
            if let Some(evicted) = set.by_id.remove(&idle) {
                evicted.close.cancel();
            }
        }
        let id = set.next_id;
        set.next_id += 1;
        let served = Served {
            busy: Arc::default(),
            close: draining.child_token(),
        };
        set.by_id.insert(id, served.clone());
        Some((id, served))
    }

    fn closed(&self, id: u64) {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.by_id.remove(&id);
    }
}

/// One request being answered; dropping it ends it.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(busy: &Arc<AtomicUsize>) -> Self {
        busy.fetch_add(1, Ordering::AcqRel);
        Busy(busy.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Past the cap: a short answer, then the connection is closed. The
/// request's head is read first (for at most a second): an HTTP client
/// that gets its answer before it has sent its request takes it for a
/// broken server, not a refusal.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let body = format!("the server is at its limit of {cap} connections; retry shortly\n");
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
