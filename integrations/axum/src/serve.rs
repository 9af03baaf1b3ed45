//! A server loop with the limits `axum::serve` lacks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What a connection may cost the server.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Time to send a request's headers, the first or the next on a kept-alive connection.
    pub header_timeout: Duration,
    /// Connections served at once; more are closed as soon as they are accepted. (At most
    /// `tokio::sync::Semaphore::MAX_PERMITS`; larger values count as that.)
    pub max_connections: usize,
    /// After shutdown begins, how long requests in flight may still take.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `router` over HTTP/1.1 on `listener` until `shutdown` resolves, then lets requests in
/// flight finish (up to `limits.drain_timeout`). Every request carries the peer address as
/// `ConnectInfo<SocketAddr>`.
///
/// `axum::serve` runs hyper without a timer, so it has no header-read timeout and a client that
/// sends a byte a second holds a connection forever; this loop sets hyper's header-read timeout
/// (hyper also applies it while a kept-alive connection waits for its next request) and caps the
/// open connections.
///
/// ```no_run
/// # async fn f(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
/// axum_tokenward::serve(listener, app, Default::default(), shutdown).await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors or a connection reset before accept: try again
                // shortly instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let router = router.clone();
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A timed-out or reset connection is the client's business.
            let _ = connection.await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain_timeout) => {}
    }
    Ok(())
}
