//! Serving connections with a deadline on everything a client can stall: the request's
//! headers (which also bounds a kept-alive connection waiting for its next request), any
//! silence on the connection, and the whole request. Each connection knows its peer, so
//! throttling and limits can count by client address.

use crate::Front;
use crate::limits::RateLimits;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// What a serving process waits for, and from whom it takes client addresses.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A request's headers must arrive within this (a kept-alive connection waits this long
    /// for its next request).
    pub header_timeout: Duration,
    /// A connection on which no byte moves for this long is closed.
    pub idle_timeout: Duration,
    /// A request answered later than this gets 503 `unavailable` instead.
    pub request_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` names the client; from anyone else it is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    pub limits: RateLimits,
    /// Origins whose pages may call the API (none by default).
    pub cors_origins: crate::cors::CorsOrigins,
    /// One log line per request (`cohort::request`, info).
    pub access_log: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
            limits: RateLimits::default(),
            cors_origins: crate::cors::CorsOrigins::None,
            access_log: true,
        }
    }
}

/// The address of the client a request came from (after trusted proxies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address: the peer, or when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not one of them. Every line of the header counts, in order, as
/// one list (RFC 9110 §5.3): a proxy that adds a line of its own after the client's (HAProxy's
/// `option forwardfor`) is read last, so a client cannot name itself in a line of its own.
pub fn client_addr(peer: IpAddr, forwarded: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let lines: Vec<std::borrow::Cow<'_, str>> =
        forwarded.get_all("x-forwarded-for").iter().map(|v| String::from_utf8_lossy(v.as_bytes())).collect();
    lines
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// Accepts connections on `listener` until `shutdown` completes, then lets open requests
/// finish.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    front: Front,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, peer, router.clone(), front.clone(), opts.clone(), stop_rx.clone()));
    }
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    front: Front,
    opts: ServeOptions,
    mut stop: tokio::sync::watch::Receiver<()>,
) {
    let moved = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(Tracked { inner: stream, moved: moved.clone() });
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (router, front) = (router.clone(), front.clone());
        async move {
            let answer = front
                .answer(req.map(axum::body::Body::new), Some(peer), |req| async move {
                    match router.oneshot(req).await {
                        Ok(res) => res,
                        Err(never) => match never {},
                    }
                })
                .await;
            Ok::<_, std::convert::Infallible>(answer)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(opts.header_timeout).keep_alive(true);
    let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
    let period = Duration::from_secs(1).min(opts.idle_timeout);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    // How long no byte has moved, counted in ticks: the socket only raises a flag (reading
    // the clock on every read and write cost more than the rest of the bookkeeping).
    let mut quiet = Duration::ZERO;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                quiet = if moved.swap(false, Ordering::Relaxed) { Duration::ZERO } else { quiet + period };
                if quiet > opts.idle_timeout {
                    tracing::debug!(%peer, "closing a silent connection");
                    return;
                }
            }
        }
    }
}

/// The connection's socket, noting that a byte moved either way.
struct Tracked {
    inner: TcpStream,
    moved: Arc<AtomicBool>,
}

impl Tracked {
    fn touch(&self) {
        self.moved.store(true, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        res
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::client_addr;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn headers(lines: &[&[u8]]) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        for line in lines {
            if let Ok(v) = axum::http::HeaderValue::from_bytes(line) {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        assert_eq!(client_addr(ip("203.0.113.9"), &headers(&[b"1.2.3.4"]), &[proxy]), ip("203.0.113.9"));
        assert_eq!(client_addr(proxy, &headers(&[b"1.2.3.4"]), &[proxy]), ip("1.2.3.4"));
        // A client cannot hide behind an address it writes itself in front of the proxy's,
        // whether in the proxy's line or in a line of its own before it.
        assert_eq!(client_addr(proxy, &headers(&[b"6.6.6.6, 1.2.3.4"]), &[proxy]), ip("1.2.3.4"));
        assert_eq!(client_addr(proxy, &headers(&[b"6.6.6.6", b"1.2.3.4"]), &[proxy]), ip("1.2.3.4"));
        assert_eq!(client_addr(proxy, &headers(&[b"6.6.6.6, \xff", b"1.2.3.4"]), &[proxy]), ip("1.2.3.4"));
        assert_eq!(client_addr(proxy, &headers(&[]), &[proxy]), proxy);
    }
}
