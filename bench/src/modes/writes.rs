//! Durable writes: one client keeps a window of messages in flight; reports acked writes
//! per second, ack latency and CPU per write.

use std::time::{Duration, Instant};

use super::{Report, last_offset, server_usage};
use crate::Cli;
use crate::client::{self, Frame, Ws};
use crate::histogram::Histogram;
use crate::procfs;

/// Durable writes: one client, `window` messages in flight, for `duration` seconds.
pub async fn writes(cli: &Cli, window: usize, duration: f64) -> anyhow::Result<Report> {
    let offset = last_offset(cli).await?;
    let mut ws = client::connect(&cli.host, cli.ports[0], &client::auth(offset, false)).await?;
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let started = Instant::now();
    let stop = started + Duration::from_secs_f64(duration);
    let run = std::process::id();
    let mut sent_at = std::collections::HashMap::new();
    let mut latency = Histogram::default();
    let mut next = 0_u64;
    let mut acked = 0_u64;
    let queue = |ws: &mut Ws, n: u64| {
        ws.queue_text(&client::chat_message(
            n,
            &format!("w n={n}"),
            &format!("write-{run}-{n}"),
        ))
    };
    while (next as usize) < window {
        queue(&mut ws, next);
        sent_at.insert(next, Instant::now());
        next += 1;
    }
    ws.flush().await?;
    // Each ack frees a slot for the next message; the replacements for every ack that
    // arrived in one read go out in one write.
    while !sent_at.is_empty() {
        while let Some(text) = client::try_next_text(&mut ws)? {
            if let Frame::Ack { id } = client::classify(text)
                && let Some(at) = sent_at.remove(&id)
            {
                acked += 1;
                latency.record(at.elapsed().as_micros() as u64);
                if Instant::now() < stop {
                    queue(&mut ws, next);
                    sent_at.insert(next, Instant::now());
                    next += 1;
                }
            }
        }
        ws.flush().await?;
        if !sent_at.is_empty() && !ws.fill().await? {
            anyhow::bail!(
                "the server closed the connection with {} writes unacked",
                sent_at.len()
            );
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = server_usage(cli);
    let own_after = procfs::own_usage();
    let mut report = Report::new("writes");
    report.add("window", window as f64, "");
    report.add("acked", acked as f64, "msg");
    report.add("acked_per_s", acked as f64 / elapsed, "/s");
    report.add("ack_p50_ms", latency.quantile_ms(0.5), "ms");
    report.add("ack_p99_ms", latency.quantile_ms(0.99), "ms");
    report.add_cpu_per(
        "server_cpu_us_per_write",
        before.as_ref(),
        after.as_ref(),
        acked,
    );
    report.add_cpu_per(
        "bench_cpu_us_per_write",
        Some(&own_before),
        Some(&own_after),
        acked,
    );
    ws.close().await;
    Ok(report)
}
