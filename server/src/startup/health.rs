//! What a worker or a single server reports at `/healthz` besides its store.

use crate::http::ops::HealthSource;

/// What a worker or a single server reports at `/healthz` besides its store.
pub(super) struct ServerHealth {
    pub(super) worker_index: Option<u16>,
    /// Whether it uses the Redis adapter.
    pub(super) redis: bool,
}

impl HealthSource for ServerHealth {
    fn role(&self) -> &'static str {
        if self.worker_index.is_some() {
            "worker"
        } else {
            "server"
        }
    }

    fn worker(&self) -> Option<u16> {
        self.worker_index
    }

    fn checks(&self) -> Vec<(&'static str, Result<String, String>)> {
        let mut checks = Vec::new();
        // A worker stops serving the moment its link to the primary ends, and within three
        // seconds of losing the Redis adapter.
        if self.worker_index.is_some() {
            checks.push(("link", Ok("connected to the primary".into())));
        }
        if self.redis {
            checks.push(("adapter", Ok("redis connected".into())));
        }
        checks
    }
}
