//! History replay: how fast a fresh client receives a long history.

use std::time::Instant;

use super::{Report, last_offset, server_usage};
use crate::Cli;
use crate::client::{self, Frame};
use crate::procfs;

/// History replay to a fresh client.
pub async fn replay(cli: &Cli, history: usize) -> anyhow::Result<Report> {
    let mut last = last_offset(cli).await?;
    if (last as usize) < history {
        // Seed with acked writes, 256 in flight.
        let mut ws = client::connect(&cli.host, cli.ports[0], &client::auth(last, false)).await?;
        let run = std::process::id();
        let missing = history - last as usize;
        let mut in_flight = 0;
        let mut sent = 0;
        let mut acked = 0;
        while acked < missing {
            while in_flight < 256 && sent < missing {
                ws.send_text(&client::chat_message(
                    sent as u64,
                    &format!("seed {sent}"),
                    &format!("seed-{run}-{sent}"),
                ))
                .await?;
                sent += 1;
                in_flight += 1;
            }
            if let Frame::Ack { .. } = client::classify(client::next_text(&mut ws).await?) {
                acked += 1;
                in_flight -= 1;
            }
        }
        ws.close().await;
        last = last_offset(cli).await?;
    }
    let from = last - history as i64;
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let started = Instant::now();
    let mut ws = client::connect(&cli.host, cli.ports[0], &client::auth(from, false)).await?;
    let connected = started.elapsed();
    let mut first = None;
    let mut count = 0_u64;
    loop {
        let text = client::next_text(&mut ws).await?;
        if let Frame::Chat { .. } = client::classify(text) {
            first.get_or_insert_with(|| started.elapsed());
            count += 1;
        } else if text.starts_with(r#"42["replay done""#) {
            break;
        }
    }
    let elapsed = started.elapsed();
    let after = server_usage(cli);
    let own_after = procfs::own_usage();
    ws.close().await;
    let mut report = Report::new("replay");
    report.add("history", count as f64, "msg");
    report.add("connect_ms", connected.as_secs_f64() * 1e3, "ms");
    report.add(
        "first_message_ms",
        first.unwrap_or_default().as_secs_f64() * 1e3,
        "ms",
    );
    report.add("replay_s", elapsed.as_secs_f64(), "s");
    report.add(
        "replayed_per_s",
        count as f64 / elapsed.as_secs_f64(),
        "msg/s",
    );
    report.add_cpu_per(
        "server_cpu_us_per_msg",
        before.as_ref(),
        after.as_ref(),
        count,
    );
    report.add_cpu_per(
        "bench_cpu_us_per_msg",
        Some(&own_before),
        Some(&own_after),
        count,
    );
    Ok(report)
}
