//! Cohort's HTTP surfaces. Each surface parses its callers' shapes into service calls and
//! renders the results in its own shapes; none decides who may do what.
//!
//! - [`error`]: the native error body, rendered from the core error in one place.
//! - [`idempotency`]: `Idempotency-Key` on the native API's POSTs.
//! - [`extract`]: request pieces every surface shares (credentials, JSON bodies, queries,
//!   `If-Match`).
//! - [`native`]: the native API under `/api/v1`.
//! - [`dialects`]: the seed dialects, one module per seed (`seed000_pocketbase`,
//!   `seed001_organizations`, `seed002_compat`, `seed004_scoped_admin`).
//! - [`routes`]: every route of every surface and the operation (and so the rule) it performs.
//! - [`scim`]: SCIM 2.0 directory sync under `/scim/v2`, for identity providers.
//! - [`ops`]: health, readiness, the OpenAPI document and the interactive docs.
//! - [`console`]: the admin console's page, built into the binary, at `/console/`.
//! - [`document`]: the OpenAPI document as served: every surface, and what each operation is owed.
//! - [`shape`]: holds JSON bodies to their documented objects where serde would not.
//! - [`server`]: connections with deadlines on headers, silence and whole requests.
//! - [`limits`]: what every request passes first: its client address, rate limits, a deadline.
//! - [`conditional`]: `If-None-Match` on every read (304), and tags for JSON answers.
//! - [`metrics`]: `/metrics` for Prometheus, and the request counts the front keeps.
//! - [`trace`]: request ids and the access log.
//! - [`cors`]: cross-origin requests from browser apps, when origins are configured.

pub mod conditional;
pub mod console;
pub mod cors;
pub mod dialects;
pub mod document;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod native;
pub mod ops;
pub mod routes;
pub mod scim;
pub mod server;
pub mod shape;
pub mod trace;

use axum::Router;
use cohort_app::App;
use std::future::Future;
use tokio::net::TcpListener;

pub use server::ServeOptions;

/// The largest request body accepted (413 past it).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route of every surface, without the [`Front`].
fn routes(app: App) -> Router {
    let (api, openapi) = native::router().split_for_parts();
    api.merge(ops::router(document::finish(openapi)))
        .merge(dialects::seed000_pocketbase::router())
        .merge(scim::router())
        .merge(console::router())
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::no_method)
        .with_state(app)
}

/// What every request passes before its route: the revision stamp on the answer, the
/// index-built gate, the limits and deadline, then idempotency. A server calls it once per
/// request ahead of the router (not as a router layer, which costs a boxed future and a
/// service clone per request).
#[derive(Clone)]
pub struct Front {
    app: App,
    guard: std::sync::Arc<limits::Guard>,
    /// CORS, for the answers the front makes itself and (a clone) the router's.
    cors: Option<tower_http::cors::CorsLayer>,
    /// This server's request counts, for `/metrics`.
    requests: std::sync::Arc<metrics::Requests>,
    /// One log line per request.
    access_log: bool,
}

impl Front {
    pub fn new(app: App, opts: &ServeOptions) -> Front {
        Front {
            app,
            guard: limits::Guard::new(opts.clone()),
            cors: cors::layer(&opts.cors_origins),
            requests: Default::default(),
            access_log: opts.access_log,
        }
    }

    /// Answers `req`, passing it to `route` unless something on the way refuses it first.
    /// `peer` is the connection's other end, when the server knows it.
    pub async fn answer<F>(
        &self,
        mut req: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
        route: impl FnOnce(axum::extract::Request) -> F,
    ) -> axum::response::Response
    where
        F: Future<Output = axum::response::Response>,
    {
        let in_flight = self.requests.begin(req.method(), req.uri().path());
        let request_id = trace::request_id(req.headers());
        // Every line logged while the request is answered carries its id.
        // `principal` is filled in once the request's credential is known ([`extract::Auth`]).
        let span = tracing::info_span!("request", id = request_id.to_str().unwrap_or_default(), principal = "anonymous");
        if req.uri().path() == "/metrics" {
            req.extensions_mut().insert(self.requests.clone());
        }
        let wanted = conditional::wanted(req.method(), req.headers());
        // Kept only when CORS is on: the front's own answers need the caller's origin.
        let origin =
            self.cors.as_ref().and_then(|_| req.headers().get(axum::http::header::ORIGIN).cloned().map(|o| (req.method().clone(), o)));
        let res = match ops::refuse_until_built(&self.app, &req) {
            Some(refused) => self.cross_origin(origin, refused).await,
            None => match self.guard.refuse(&mut req, peer) {
                Some(refused) => self.cross_origin(origin, refused).await,
                // The deadline wraps the answer where it is made: a request's future is large,
                // and each function it passes through by value copies it once more.
                None => match tokio::time::timeout(self.guard.deadline(), {
                    // Long requests (a SCIM bulk) stop starting work before it.
                    req.extensions_mut().insert(limits::Deadline(std::time::Instant::now() + self.guard.deadline()));
                    tracing::Instrument::instrument(idempotency::idempotent(&self.app, req, route), span.clone())
                })
                .await
                {
                    Ok(res) => res,
                    Err(_) => self.cross_origin(origin, self.guard.too_late()).await,
                },
            },
        };
        let mut res = conditional::answer(wanted, res).await;
        ops::stamp_revision(&self.app, &mut res);
        let status = res.status();
        let (method, route, seconds) = in_flight.finish(status);
        if self.access_log {
            tracing::info!(target: "cohort::request", parent: &span, method, route, status = status.as_u16(), ms = (seconds * 1e6).round() / 1e3, "answered");
        }
        res.headers_mut().insert(trace::REQUEST_ID, request_id);
        res
    }

    /// An answer the front made itself, with CORS headers when the caller's origin is allowed.
    async fn cross_origin(
        &self,
        origin: Option<(axum::http::Method, axum::http::HeaderValue)>,
        res: axum::response::Response,
    ) -> axum::response::Response {
        match (&self.cors, origin) {
            (Some(layer), Some((method, origin))) => cors::decorate(layer, method, Some(origin), res).await,
            _ => res,
        }
    }
}

/// The OpenAPI document of every surface, as served.
pub fn openapi() -> serde_json::Value {
    document::finish(native::router().split_for_parts().1)
}

/// Serves on `listener` with the default [`ServeOptions`] until `shutdown` completes.
pub async fn serve(listener: TcpListener, app: App, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    serve_with(listener, app, ServeOptions::default(), shutdown).await
}

/// Serves on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve_with(
    listener: TcpListener,
    app: App,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let front = Front::new(app.clone(), &opts);
    // One CORS layer, from one reading of the options: the router's answers and the front's
    // own get the same headers.
    let router = match &front.cors {
        Some(layer) => routes(app).layer(layer.clone()),
        None => routes(app),
    };
    server::serve_with(listener, router, front, opts, shutdown).await
}
