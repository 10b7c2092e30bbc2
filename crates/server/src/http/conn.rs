//! The HTTP connection layer: accepts TCP connections, serves each with hyper (HTTP/1.1) under the limits of
//! [`HttpLimits`], and counts them (`httpConnectionsTotal` / `httpConnectionsCurrent` / …).
//!
//! * A connection whose next request's headers are not complete within the idle timeout is closed (hyper's
//!   header-read timer runs from the end of the previous response, so it covers idle keep-alive connections
//!   and slow-loris headers alike).
//! * At the connection cap, the connection idle the longest (no request in progress) is closed to make room;
//!   only when every connection is busy is the newcomer refused with a 503 and a JSON reason.
//! * On shutdown every connection finishes its request in progress and closes; after [`DRAIN_TIME`] the rest
//!   are dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::state::{AppState, RuntimeStats, Shared};

/// How long a stopping server waits for connections to finish their requests.
const DRAIN_TIME: Duration = Duration::from_secs(5);
/// Refusals being written at once; beyond this a refused connection is closed without a response.
const MAX_PENDING_REFUSALS: usize = 256;
/// How long a refusal may take to write and to let the client's request drain before the socket closes.
const REFUSAL_TIME: Duration = Duration::from_secs(1);
/// Descriptors kept free for the sFlow socket, forwarding sockets, capture files and scripts.
const RESERVED_DESCRIPTORS: u64 = 256;
/// The smallest connection cap, whatever the open-file limit.
const MIN_CONNECTIONS: usize = 16;

/// Accepts connections until shutdown begins, then lets them drain.
pub(super) async fn serve(listener: TcpListener, router: Router, state: AppState) {
    let max_connections = effective_connection_cap(state.http.limits.max_connections);
    let registry = Arc::new(Registry::default());
    let refusals = Arc::new(AtomicUsize::new(0));
    let mut connections = JoinSet::new();
    let stopped = state.stopped();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    RuntimeStats::add(&state.stats.http_connections_total, 1);
                    if registry.len() >= max_connections && !registry.evict_oldest_idle() {
                        RuntimeStats::add(&state.stats.http_connections_refused, 1);
                        refuse(stream, peer, max_connections, &refusals);
                        continue;
                    }
                    let registered = registry.insert(&state);
                    let connection =
                        serve_connection(stream, router.clone(), state.clone(), registered);
                    connections.spawn(connection);
                }
                Err(err) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!("HTTP accept error: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIME, drain).await.is_err() {
        tracing::info!(
            "closing {} HTTP connections still busy after {DRAIN_TIME:?}",
            connections.len()
        );
        connections.abort_all();
    }
}

/// Serves one connection until the client closes it, a timeout or error ends it, it is evicted, or shutdown.
async fn serve_connection(
    stream: TcpStream,
    router: Router,
    state: AppState,
    registered: Registered,
) {
    let track = registered.track.clone();
    let service_track = track.clone();
    let service_shared = state.clone();
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let in_flight = InFlight::start(&service_track, &service_shared);
            let mut router = router.clone();
            async move {
                let response = match router.call(request.map(Body::new)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(TrackedBody {
                        inner: body,
                        _in_flight: in_flight,
                    })
                }))
            }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(state.http.limits.idle_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let stopped = state.stopped();
    tokio::pin!(stopped);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    if err.is_timeout() {
                        RuntimeStats::add(&state.stats.http_timeouts, 1);
                    }
                    tracing::debug!("HTTP connection: {err}");
                }
                break;
            }
            () = &mut stopped, if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = track.evict.notified(), if !closing => {
                // Chosen because it was idle; a request that arrived since then is left to finish.
                if track.is_idle() {
                    RuntimeStats::add(&state.stats.http_connections_evicted, 1);
                    break;
                }
                track.evicting.store(false, Ordering::Relaxed);
            }
        }
    }
    drop(registered);
}

/// Tells a connection refused at the cap why, then closes it. The client's request is read and discarded
/// for a moment so that closing does not reset the connection before the response is read.
fn refuse(stream: TcpStream, peer: SocketAddr, cap: usize, pending: &Arc<AtomicUsize>) {
    if pending.fetch_add(1, Ordering::Relaxed) >= MAX_PENDING_REFUSALS {
        pending.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    tracing::debug!("HTTP connection from {peer} refused: all {cap} connections busy");
    let pending = pending.clone();
    tokio::spawn(async move {
        let _ = tokio::time::timeout(REFUSAL_TIME, write_refusal(stream, cap)).await;
        pending.fetch_sub(1, Ordering::Relaxed);
    });
}

async fn write_refusal(mut stream: TcpStream, cap: usize) {
    let body = serde_json::json!({
        "error": format!("too many HTTP connections: all {cap} are busy, try again later")
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < 64 * 1024 {
        match tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// The open connections, oldest first, for the eviction at the cap.
#[derive(Debug, Default)]
struct Registry {
    connections: Mutex<BTreeMap<u64, Arc<ConnTrack>>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Registry {
    fn len(&self) -> usize {
        self.connections.lock().len()
    }

    fn insert(self: &Arc<Self>, shared: &Arc<Shared>) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let track = Arc::new(ConnTrack {
            id,
            in_flight: AtomicUsize::new(0),
            evicting: AtomicBool::new(false),
            evict: Notify::new(),
        });
        self.connections.lock().insert(id, track.clone());
        RuntimeStats::add(&shared.stats.http_connections_current, 1);
        Registered {
            track,
            registry: self.clone(),
            shared: shared.clone(),
        }
    }

    /// Asks the connection idle the longest to close; false when every connection has a request in progress.
    fn evict_oldest_idle(&self) -> bool {
        let connections = self.connections.lock();
        let oldest_idle = connections
            .values()
            .find(|track| track.is_idle() && !track.evicting.load(Ordering::Relaxed));
        match oldest_idle {
            Some(track) => {
                track.evicting.store(true, Ordering::Relaxed);
                track.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// One open connection: how many of its requests are in progress, and the signal that evicts it.
#[derive(Debug)]
struct ConnTrack {
    id: u64,
    in_flight: AtomicUsize,
    /// Chosen for eviction (not chosen twice while it closes).
    evicting: AtomicBool,
    evict: Notify,
}

impl ConnTrack {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
    }
}

/// A connection's place in the registry; dropping it (when the connection's task ends) removes it.
struct Registered {
    track: Arc<ConnTrack>,
    registry: Arc<Registry>,
    shared: Arc<Shared>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.connections.lock().remove(&self.track.id);
        self.shared
            .stats
            .http_connections_current
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request in progress: from the call of the router until its response body is sent or dropped.
struct InFlight {
    track: Arc<ConnTrack>,
    shared: Arc<Shared>,
}

impl InFlight {
    fn start(track: &Arc<ConnTrack>, shared: &Arc<Shared>) -> Self {
        track.in_flight.fetch_add(1, Ordering::Relaxed);
        RuntimeStats::add(&shared.stats.http_requests_current, 1);
        Self {
            track: track.clone(),
            shared: shared.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.track.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.shared
            .stats
            .http_requests_current
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that keeps its request counted as in progress (long-polls and event streams included).
struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection cap under the open-file limit (raised at start by [`raise_open_file_limit`]).
fn effective_connection_cap(configured: usize) -> usize {
    let Some(limit) = open_file_limit() else {
        return configured.max(MIN_CONNECTIONS);
    };
    let room = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    let cap = configured.min(room).max(MIN_CONNECTIONS);
    if cap < configured {
        tracing::warn!(
            "HTTP: at most {cap} connections, not {configured}: the open-file limit is {limit}"
        );
    } else {
        tracing::info!("HTTP: at most {cap} connections (open-file limit {limit})");
    }
    cap
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, so that thousands of HTTP connections fit; returns the
/// soft limit in force afterwards.
pub(crate) fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the current limits into `limit`, a live rlimit.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let before = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            // SAFETY: setrlimit only reads `limit`.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) } == 0 {
                tracing::info!("open-file limit raised from {before} to {}", limit.rlim_max);
            } else {
                limit.rlim_cur = before;
            }
        }
        Some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the current limits into `limit`, a live rlimit.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
        (rc == 0).then_some(limit.rlim_cur)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
