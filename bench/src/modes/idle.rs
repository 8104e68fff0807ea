//! Idle connections: memory per held connection and the connection rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

use super::{Report, connect_many, last_offset, server_usage};
use crate::Cli;
use crate::client;
use crate::procfs;

/// Idle connections: memory per held connection and connection rate.
pub async fn idle(cli: &Cli, clients: usize, hold: f64) -> anyhow::Result<Report> {
    let offset = last_offset(cli).await?;
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let (sockets, took) = connect_many(cli, clients, offset, false).await?;
    let connected = server_usage(cli);
    let own_connected = procfs::own_usage();
    let stop = Arc::new(AtomicBool::new(false));
    let mut holders = JoinSet::new();
    for mut ws in sockets {
        let stop = stop.clone();
        // Each holder answers pings until told to stop; it says whether its connection
        // was still open then.
        holders.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if client::answer_pings(&mut ws).await.is_err() {
                    return false;
                }
                // Only the read is cancelled by the timeout (a cancelled read consumes nothing).
                match tokio::time::timeout(Duration::from_millis(200), ws.fill()).await {
                    Ok(Ok(true)) | Err(_) => {}
                    Ok(Ok(false)) | Ok(Err(_)) => return false,
                }
            }
            ws.close().await;
            true
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(hold)).await;
    let after = server_usage(cli);
    stop.store(true, Ordering::Relaxed);
    let mut held = 0_u64;
    while let Some(open) = holders.join_next().await {
        held += u64::from(open.unwrap_or(false));
    }
    let mut report = Report::new("idle");
    report.add("clients", clients as f64, "");
    report.add("held_to_the_end", held as f64, "");
    report.add("connect_s", took.as_secs_f64(), "s");
    report.add("connects_per_s", clients as f64 / took.as_secs_f64(), "/s");
    let clients_done = clients as u64;
    report.add_cpu_per(
        "server_cpu_us_per_connect",
        before.as_ref(),
        connected.as_ref(),
        clients_done,
    );
    report.add_cpu_per(
        "bench_cpu_us_per_connect",
        Some(&own_before),
        Some(&own_connected),
        clients_done,
    );
    if let (Some(before), Some(after)) = (before, after) {
        report.add("server_rss_before_mb", before.rss_bytes as f64 / 1e6, "MB");
        report.add("server_rss_after_mb", after.rss_bytes as f64 / 1e6, "MB");
        report.add(
            "server_rss_per_conn_kb",
            (after.rss_bytes as f64 - before.rss_bytes as f64) / clients as f64 / 1024.0,
            "KB",
        );
    }
    Ok(report)
}
