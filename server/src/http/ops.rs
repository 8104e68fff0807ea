//! Operations endpoints: `/healthz` (is this process able to serve: store reachable, link to
//! the primary up) and `/metrics` (Prometheus text format).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use crate::metrics::Metrics;
use crate::store::Store;

/// How long the health check waits for the store.
const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What a process reports about itself beyond its store.
pub trait HealthSource: Send + Sync + 'static {
    /// Which process this is: `server`, `worker`, `primary`.
    fn role(&self) -> &'static str;
    /// The worker index, for a worker.
    fn worker(&self) -> Option<u16> {
        None
    }
    /// Named checks besides the store (e.g. `link` for a worker, `workers` for the primary),
    /// each `Ok(detail)` or `Err(problem)`.
    fn checks(&self) -> Vec<(&'static str, Result<String, String>)>;
    /// Brings sampled metrics (queue depths) up to date before a scrape.
    fn refresh_metrics(&self) {}
}

/// The state of the ops routes.
#[derive(Clone)]
pub struct Ops {
    /// The process's metrics.
    pub metrics: Arc<Metrics>,
    /// The store to probe.
    pub store: Store,
    /// Everything else to report.
    pub source: Arc<dyn HealthSource>,
}

/// One check's outcome in the `/healthz` body.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

/// The `/healthz` body.
#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    worker: Option<u16>,
    checks: Vec<Check>,
}

/// `/healthz` and `/metrics`.
pub fn routes(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

/// 200 with every check when all pass, 503 with the failing ones otherwise.
async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    let store = match tokio::time::timeout(STORE_CHECK_TIMEOUT, ops.store.last_offset()).await {
        Ok(Ok(offset)) => Ok(format!("last offset {}", offset.0)),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {STORE_CHECK_TIMEOUT:?}")),
    };
    let checks: Vec<Check> = std::iter::once(("store", store))
        .chain(ops.source.checks())
        .map(|(name, result)| {
            let ok = result.is_ok();
            Check {
                name,
                ok,
                detail: result.unwrap_or_else(|problem| problem),
            }
        })
        .collect();
    let healthy = checks.iter().all(|c| c.ok);
    let body = Health {
        status: if healthy { "ok" } else { "unhealthy" },
        role: ops.source.role(),
        worker: ops.source.worker(),
        checks,
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

/// The Prometheus text exposition.
async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    ops.source.refresh_metrics();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ops.metrics.encode(),
    )
}
