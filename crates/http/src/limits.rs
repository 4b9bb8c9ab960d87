//! What every request passes before a surface sees it: its client address is settled, it is
//! counted against the per-address and per-credential limits when those are on, and it gets
//! a deadline (503 `unavailable` with `Retry-After` past it).
//!
//! The limits are a generic cell rate (GCRA) per key, in this process's memory: a steady
//! rate with a burst of one second's worth. They are off unless configured; failed sign-ins
//! have their own, shared throttle in the services.

use crate::error::ApiError;
use crate::server::{ClientAddr, ServeOptions, client_addr};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use cohort_core::Error;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Requests per second allowed per credential and per client address (`None`: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    pub per_key: Option<u32>,
    pub per_address: Option<u32>,
}

/// One limit over many keys. A hand-written GCRA: per key it is one number (the earliest
/// time the next request conforms), which a mutex-guarded map holds in a few lines.
struct Limiter {
    interval: f64,
    burst: f64,
    next: Mutex<HashMap<String, f64>>,
    clock: Instant,
}

const KEYS_KEPT: usize = 100_000;

impl Limiter {
    fn new(per_second: u32) -> Self {
        let interval = 1000.0 / f64::from(per_second.max(1));
        Limiter { interval, burst: 1000.0, next: Mutex::new(HashMap::new()), clock: Instant::now() }
    }

    /// `Ok`, or the whole seconds to wait.
    fn check(&self, key: &str) -> Result<(), u64> {
        let now = self.clock.elapsed().as_secs_f64() * 1000.0;
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if next.len() >= KEYS_KEPT {
            next.retain(|_, t| *t > now);
        }
        let tat = next.get(key).copied().unwrap_or(now).max(now);
        if tat - now > self.burst {
            return Err(((tat - now - self.burst) / 1000.0).ceil().max(1.0) as u64);
        }
        next.insert(key.to_string(), tat + self.interval);
        Ok(())
    }
}

/// The state of the request guard.
pub struct Guard {
    opts: ServeOptions,
    per_key: Option<Limiter>,
    per_address: Option<Limiter>,
}

impl Guard {
    pub fn new(opts: ServeOptions) -> Arc<Guard> {
        Arc::new(Guard { per_key: opts.limits.per_key.map(Limiter::new), per_address: opts.limits.per_address.map(Limiter::new), opts })
    }
}

fn limited(retry_after: u64) -> Response {
    ApiError(Error::RateLimited { retry_after, message: format!("too many requests; try again in {retry_after} s") }).into_response()
}

impl Guard {
    /// Settles the client address (from the connection's `peer`, when the server knows it)
    /// and applies the limits: `Some` is the answer to send instead.
    pub fn refuse(&self, req: &mut Request, peer: Option<SocketAddr>) -> Option<Response> {
        if let Some(peer) = peer {
            let addr = client_addr(peer.ip(), req.headers(), &self.opts.trusted_proxies);
            req.extensions_mut().insert(ClientAddr(addr));
            if let Some(l) = &self.per_address
                && let Err(wait) = l.check(&addr.to_string())
            {
                return Some(limited(wait));
            }
        }
        if let Some(l) = &self.per_key
            && let Some(secret) = crate::extract::credential(req.headers())
            && let Err(wait) = l.check(secret)
        {
            return Some(limited(wait));
        }
        None
    }

    /// How long a request may take.
    pub fn deadline(&self) -> std::time::Duration {
        self.opts.request_timeout
    }

    /// The answer to a request past its [`Guard::deadline`]: 503 `unavailable` with
    /// `Retry-After`.
    pub fn too_late(&self) -> Response {
        let message = format!("the request took longer than {} s; try again shortly", self.opts.request_timeout.as_secs_f64());
        ApiError(Error::Unavailable { retry_after: 1, message }).into_response()
    }
}

/// When the request's answer is due: past it the client gets 503 whatever the handler does.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub std::time::Instant);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Deadline {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        // A router called without the front (in tests) has no deadline but the default's.
        let default = || Deadline(std::time::Instant::now() + crate::ServeOptions::default().request_timeout);
        Ok(parts.extensions.get::<Deadline>().copied().unwrap_or_else(default))
    }
}

/// The client address of a request, when the server knows it.
pub struct Client(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(parts.extensions.get::<ClientAddr>().map(|c| c.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::Limiter;

    #[test]
    fn a_burst_of_one_seconds_worth_then_the_rate() {
        let l = Limiter::new(5);
        for _ in 0..6 {
            assert!(l.check("k").is_ok());
        }
        assert_eq!(l.check("k"), Err(1));
        assert!(l.check("other").is_ok(), "keys are counted apart");
    }

    #[test]
    fn waits_are_whole_seconds() {
        let l = Limiter::new(1);
        assert!(l.check("k").is_ok() && l.check("k").is_ok());
        assert!(matches!(l.check("k"), Err(w) if w >= 1));
    }
}
