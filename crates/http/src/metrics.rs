//! `GET /metrics`: what a running server has done and holds, in the OpenMetrics text format
//! Prometheus scrapes (the Prometheus project's `prometheus-client` crate): requests by route template, method and status, their
//! latency, requests in flight; and, read when scraped, the access index (revision, lag behind
//! the change log, memberships, bytes), checks by kind and outcome, sign-ins by outcome, and
//! the database's connections.
//!
//! Requests are counted by the [`crate::Front`], which sees every answer, those it makes
//! itself included; a path no route serves counts as `unmatched`, so a scanner cannot grow
//! the label set.

use crate::routes::ROUTES;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cohort_app::App;
use prometheus_client::encoding::{EncodeLabelSet, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

/// The request metrics, kept for the life of the process.
pub struct Requests {
    total: Family<RequestLabels, Counter>,
    seconds: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    routes: matchit::Router<&'static str>,
}

/// Routes served beside the table's (documents, the docs page, this one).
const OTHER_ROUTES: [&str; 11] = [
    "/metrics",
    "/api/openapi.json",
    "/docs",
    "/docs/",
    "/docs/{*asset}",
    "/",
    "/console",
    "/console/",
    "/console/{*asset}",
    "/_/",
    "/admin",
];

impl Requests {
    fn new() -> Requests {
        let mut routes = matchit::Router::new();
        for template in ROUTES.iter().map(|(_, p, _)| *p).chain(OTHER_ROUTES) {
            // Several methods share a template: the first insert holds it.
            let _ = routes.insert(template, template);
        }
        let seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        });
        Requests { total: Family::default(), seconds, in_flight: Gauge::default(), routes }
    }

    /// The route template `path` is served by, or `unmatched`.
    fn route(&self, path: &str) -> &'static str {
        self.routes.at(path).map(|m| *m.value).unwrap_or("unmatched")
    }

    /// A request begins: it is in flight until the returned guard is finished.
    pub fn begin(self: &Arc<Self>, method: &Method, path: &str) -> InFlight {
        self.in_flight.inc();
        InFlight { requests: self.clone(), method: method_label(method), route: self.route(path), started: std::time::Instant::now() }
    }
}

/// A request in flight; [`InFlight::finish`] counts it with its status.
pub struct InFlight {
    requests: Arc<Requests>,
    method: &'static str,
    route: &'static str,
    started: std::time::Instant,
}

impl InFlight {
    /// Counts the request as answered; answers its method, route template and seconds taken.
    pub fn finish(self, status: StatusCode) -> (&'static str, &'static str, f64) {
        let r = &self.requests;
        let seconds = self.started.elapsed().as_secs_f64();
        r.total.get_or_create(&RequestLabels { method: self.method, route: self.route, status: status.as_u16() }).inc();
        r.seconds.get_or_create(&RouteLabels { method: self.method, route: self.route }).observe(seconds);
        r.in_flight.dec();
        (self.method, self.route, seconds)
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Default for Requests {
    fn default() -> Self {
        Requests::new()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// `GET /metrics`; `requests` are the server's request counts (the front hands them to this
/// route alone).
pub async fn scrape(app: App, requests: Option<Arc<Requests>>) -> Response {
    let mut registry = Registry::with_prefix("cohort");
    if let Some(r) = requests {
        registry.register("http_requests", "HTTP requests answered, by method, route template and status", r.total.clone());
        registry.register("http_request_duration_seconds", "Time to answer a request, by method and route template", r.seconds.clone());
        registry.register("http_requests_in_flight", "Requests being answered now", r.in_flight.clone());
    }

    let index = app.index();
    let revision = index.revision();
    let (memberships, bytes) = index.read(|idx| (idx.membership_count(), idx.bytes()));
    let gauge = |v: i64| {
        let g = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        g.set(v);
        g
    };
    registry.register("index_revision", "The change-log position this instance's access index has applied", gauge(revision));
    registry.register("index_built", "1 once the access index is built and requests are served", gauge(i64::from(index.is_built())));
    registry.register("index_memberships", "Memberships the access index holds", gauge(memberships as i64));
    registry.register("index_bytes", "Heap bytes the access index holds (approximate)", gauge(bytes as i64));
    if let Ok(head) = app.change_log_head().await {
        registry.register("change_log_head", "The newest position in the change log", gauge(head));
        registry.register(
            "index_lag",
            "Changes committed (by any instance) this instance has not yet applied",
            gauge((head - revision).max(0)),
        );
    }

    let checks = Family::<CheckLabels, Counter<u64, AtomicU64>>::default();
    for (kind, outcome, n) in app.stats().checks() {
        checks.get_or_create(&CheckLabels { kind, outcome }).inc_by(n);
    }
    registry.register("checks", "Access checks answered, by kind and outcome (unknown: no such user or group)", checks);
    let logins = Family::<OutcomeLabels, Counter<u64, AtomicU64>>::default();
    for (outcome, n) in app.stats().logins() {
        logins.get_or_create(&OutcomeLabels { outcome }).inc_by(n);
    }
    registry.register("logins", "Password sign-ins, by outcome (throttled: refused while waiting after failures)", logins);

    let pool = app.db().pool();
    let conns = Family::<StateLabels, Gauge>::default();
    conns.get_or_create(&StateLabels { state: "open" }).set(pool.open as i64);
    conns.get_or_create(&StateLabels { state: "idle" }).set(pool.idle as i64);
    registry.register("db_connections", "Database connections (PostgreSQL's pool; SQLite's readers)", conns);
    registry.register("db_connections_max", "The most database connections this process opens", gauge(pool.max as i64));
    registry.register("db_waiting", "Requests waiting for a database connection now", gauge(pool.waiting as i64));
    let (acquired, waited) = app.db().stats().acquired();
    let taken = Counter::<u64>::default();
    taken.inc_by(acquired);
    registry.register("db_acquired", "Database connections taken (a read or a transaction)", taken);
    let wait = Counter::<f64, AtomicU64>::default();
    wait.inc_by(waited);
    registry.register("db_wait_seconds", "Seconds spent waiting for database connections in all (over db_acquired: the mean wait)", wait);
    let errors = Family::<KindLabels, Counter>::default();
    for (kind, n) in app.db().stats().errors() {
        errors.get_or_create(&KindLabels { kind }).inc_by(n);
    }
    registry.register(
        "db_errors",
        "Database statements that failed, by kind (unique: a conflict answered 409; unavailable: busy, gone or too slow, 503; invalid; other)",
        errors,
    );

    let mut body = String::new();
    if encode(&mut body, &registry).is_err() {
        return crate::error::ApiError(cohort_core::Error::internal("metrics could not be encoded")).into_response();
    }
    // OpenMetrics, the Prometheus exposition format's standard form (what Prometheus asks for
    // first); counters are named `…_total` in their samples.
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response()
}
