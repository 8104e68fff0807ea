//! Worker supervision: start worker `i` on port base+i, restart it when it dies (with
//! backoff, so a crash loop is slowed and logged, never spun), and stop it on shutdown
//! (SIGTERM, then SIGKILL after a grace period).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// First restart delay; doubled after each quick death, up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest restart delay.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A worker that lived this long is healthy: its next restart is immediate-ish again.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// How long a stopping worker gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(12);

/// How to start one worker.
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// This binary.
    pub exe: PathBuf,
    /// The primary's own arguments (the worker parses the same configuration).
    pub args: Vec<OsString>,
    /// The primary's IPC socket.
    pub ipc_path: PathBuf,
}

/// Keeps worker `index` running until `stopping` turns true; then stops it.
pub async fn supervise(
    index: u16,
    command: WorkerCommand,
    mut stopping: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut restarts = 0_u64;
    loop {
        let started = Instant::now();
        let spawned = Command::new(&command.exe)
            .args(&command.args)
            .arg("--worker-index")
            .arg(index.to_string())
            .arg("--ipc-path")
            .arg(&command.ipc_path)
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(worker = index, %error, "cannot start worker");
                if wait_or_stop(&mut stopping, MAX_BACKOFF).await {
                    return;
                }
                continue;
            }
        };
        let pid = child.id();
        tracing::info!(worker = index, pid, "worker started");
        let status = tokio::select! {
            status = child.wait() => Some(status),
            _ = stopping.wait_for(|stop| *stop) => None,
        };
        let Some(status) = status else {
            stop(index, pid, &mut child).await;
            return;
        };
        if *stopping.borrow() {
            return;
        }
        restarts += 1;
        metrics.worker_restarts.inc();
        backoff = if started.elapsed() > HEALTHY_AFTER {
            MIN_BACKOFF
        } else {
            (backoff * 2).min(MAX_BACKOFF)
        };
        match status {
            Ok(status) => {
                tracing::warn!(worker = index, %status, restarts, ?backoff, "worker exited; restarting")
            }
            Err(error) => {
                tracing::warn!(worker = index, %error, restarts, ?backoff, "worker lost; restarting")
            }
        }
        if wait_or_stop(&mut stopping, backoff).await {
            return;
        }
    }
}

/// Asks a worker to stop (SIGTERM: it closes its sockets so clients reconnect elsewhere),
/// and kills it if it takes too long.
async fn stop(index: u16, pid: Option<u32>, child: &mut tokio::process::Child) {
    if let Some(pid) = pid {
        // SAFETY: kill(2) on a child we spawned and have not reaped yet.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(_) => tracing::info!(worker = index, "worker stopped"),
        Err(_) => {
            tracing::warn!(worker = index, "worker did not stop in time; killing it");
            let _ = child.kill().await;
        }
    }
}

/// Sleeps `delay`; returns true (early) if shutdown began.
async fn wait_or_stop(stopping: &mut watch::Receiver<bool>, delay: Duration) -> bool {
    let slept = tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = stopping.wait_for(|stop| *stop) => false,
    };
    !slept || *stopping.borrow()
}
