//! The four measurements and their report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::task::JoinSet;

use crate::Cli;
use crate::client::{self, Frame, Ws};
use crate::histogram::Histogram;
use crate::procfs::{self, TreeUsage};

/// Connections opened at once.
const CONNECT_CONCURRENCY: usize = 128;
/// How long deliveries may trail the last send before they count as lost.
const DRAIN: Duration = Duration::from_secs(3);

/// A measurement's figures, printed as a table and as one JSON line.
pub struct Report {
    mode: &'static str,
    rows: Vec<(&'static str, f64, &'static str)>,
}

impl Report {
    fn new(mode: &'static str) -> Self {
        Self {
            mode,
            rows: Vec::new(),
        }
    }

    fn add(&mut self, name: &'static str, value: f64, unit: &'static str) {
        self.rows.push((name, value, unit));
    }

    /// Adds the CPU microseconds spent per operation between two readings, if both exist.
    fn add_cpu_per(
        &mut self,
        name: &'static str,
        before: Option<&TreeUsage>,
        after: Option<&TreeUsage>,
        operations: u64,
    ) {
        if let (Some(before), Some(after)) = (before, after) {
            let micros = (after.cpu_seconds - before.cpu_seconds) * 1e6;
            self.add(name, micros / operations.max(1) as f64, "µs");
        }
    }

    /// Prints the table, then the JSON line.
    pub fn print(&self) {
        println!("{}", self.mode);
        for (name, value, unit) in &self.rows {
            println!("  {name:<28} {value:>14.3} {unit}");
        }
        let mut json = serde_json::Map::new();
        json.insert("mode".into(), self.mode.into());
        for (name, value, _) in &self.rows {
            json.insert((*name).into(), serde_json::json!(value));
        }
        println!("{}", serde_json::Value::Object(json));
    }
}

/// Server usage, if a PID was given.
fn server_usage(cli: &Cli) -> Option<TreeUsage> {
    cli.server_pid.map(procfs::tree_usage)
}

/// Connects `count` clients round-robin over the ports, resuming after `offset`. Returns
/// them (in order) and how long connecting took.
async fn connect_many(
    cli: &Cli,
    count: usize,
    offset: i64,
    batched: bool,
) -> anyhow::Result<(Vec<Ws>, Duration)> {
    let started = Instant::now();
    let auth = client::auth(offset, batched);
    let mut sockets: Vec<Option<Ws>> = (0..count).map(|_| None).collect();
    let mut pending = JoinSet::new();
    let mut next = 0;
    while next < count || !pending.is_empty() {
        while next < count && pending.len() < CONNECT_CONCURRENCY {
            let host = cli.host.clone();
            let port = cli.ports[next % cli.ports.len()];
            let auth = auth.clone();
            let index = next;
            pending.spawn(async move { (index, client::connect(&host, port, &auth).await) });
            next += 1;
        }
        if let Some(done) = pending.join_next().await {
            let (index, ws) = done?;
            sockets[index] = Some(ws.with_context(|| format!("client {index}"))?);
        }
    }
    Ok((
        sockets
            .into_iter()
            .map(|s| s.expect("every client connected"))
            .collect(),
        started.elapsed(),
    ))
}

/// The highest stored offset, from a probe client's `replay done`.
async fn last_offset(cli: &Cli) -> anyhow::Result<i64> {
    let mut ws = client::connect(&cli.host, cli.ports[0], &client::auth(0, false)).await?;
    let mut last = 0;
    loop {
        let text = client::next_text(&mut ws).await?;
        match client::classify(text) {
            Frame::Chat { offset, .. } => last = offset,
            _ if text.starts_with(r#"42["replay done""#) => break,
            _ => {}
        }
    }
    ws.close().await;
    Ok(last)
}

/// Nanoseconds since `base`, as carried in bench messages (`t=<ns> ...`).
fn parse_stamp(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("t=")?;
    let end = digits.find(' ').unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// What one fan-out client saw.
#[derive(Default)]
struct ClientStats {
    deliveries: u64,
    latency: Histogram,
    ack_latency: Histogram,
    sent: u64,
    acked: u64,
    out_of_order: u64,
}

impl ClientStats {
    /// Counts one delivered message (read at `now`, ns since the base) after `*last`.
    fn delivered(&mut self, text: &str, offset: i64, last: &mut i64, now: u64) {
        if offset <= *last {
            self.out_of_order += 1;
        }
        *last = offset;
        if let Some(stamp) = parse_stamp(text) {
            self.deliveries += 1;
            self.latency.record(now.saturating_sub(stamp) / 1000);
        }
    }
}

/// Fan-out: every client receives every message; the first `senders` send `rate` msg/s.
pub async fn fanout(
    cli: &Cli,
    clients: usize,
    senders: usize,
    rate: f64,
    duration: f64,
    batched: bool,
) -> anyhow::Result<Report> {
    let offset = last_offset(cli).await?;
    let (sockets, connect_time) = connect_many(cli, clients, offset, batched).await?;
    let base = Instant::now();
    let stop_sending = base + Duration::from_secs_f64(duration);
    let stop_reading = stop_sending + DRAIN;
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let mut tasks = JoinSet::new();
    for (index, ws) in sockets.into_iter().enumerate() {
        let sending = index < senders;
        tasks.spawn(run_fanout_client(
            ws,
            index,
            sending,
            rate,
            base,
            stop_sending,
            stop_reading,
        ));
    }
    let mut total = ClientStats::default();
    while let Some(stats) = tasks.join_next().await {
        let stats = stats??;
        total.deliveries += stats.deliveries;
        total.latency.merge(&stats.latency);
        total.ack_latency.merge(&stats.ack_latency);
        total.sent += stats.sent;
        total.acked += stats.acked;
        total.out_of_order += stats.out_of_order;
    }
    let after = server_usage(cli);
    let own_after = procfs::own_usage();
    let elapsed = duration + DRAIN.as_secs_f64();
    let expected = total.acked * clients as u64;
    let mut report = Report::new("fanout");
    report.add("clients", clients as f64, "");
    report.add("senders", senders as f64, "");
    report.add("rate_per_sender", rate, "msg/s");
    report.add("batched", f64::from(u8::from(batched)), "");
    report.add("sent", total.sent as f64, "msg");
    report.add("acked", total.acked as f64, "msg");
    report.add("deliveries", total.deliveries as f64, "");
    report.add("deliveries_per_s", total.deliveries as f64 / duration, "/s");
    report.add("lost", expected.saturating_sub(total.deliveries) as f64, "");
    report.add("out_of_order", total.out_of_order as f64, "");
    report.add("latency_samples", total.latency.count() as f64, "");
    report.add("latency_p50_ms", total.latency.quantile_ms(0.5), "ms");
    report.add("latency_p99_ms", total.latency.quantile_ms(0.99), "ms");
    report.add("latency_max_ms", total.latency.max_ms(), "ms");
    report.add("ack_p50_ms", total.ack_latency.quantile_ms(0.5), "ms");
    report.add("ack_p99_ms", total.ack_latency.quantile_ms(0.99), "ms");
    report.add("connect_s", connect_time.as_secs_f64(), "s");
    if let (Some(before), Some(after)) = (before, after) {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        report.add("server_cpu_s", cpu, "s");
        report.add(
            "server_cpu_us_per_delivery",
            cpu * 1e6 / total.deliveries.max(1) as f64,
            "µs",
        );
        report.add("server_rss_mb", after.rss_bytes as f64 / 1e6, "MB");
        report.add("server_processes", after.processes as f64, "");
    }
    report.add(
        "bench_cpu_s",
        own_after.cpu_seconds - own_before.cpu_seconds,
        "s",
    );
    report.add(
        "bench_cpu_share",
        (own_after.cpu_seconds - own_before.cpu_seconds) / elapsed,
        "cores",
    );
    Ok(report)
}

/// One fan-out client: reads everything; a sender also sends on a timer.
async fn run_fanout_client(
    mut ws: Ws,
    index: usize,
    sending: bool,
    rate: f64,
    base: Instant,
    stop_sending: Instant,
    stop_reading: Instant,
) -> anyhow::Result<ClientStats> {
    let mut stats = ClientStats::default();
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    // Spread senders' first ticks over one period so they do not fire in lockstep.
    let first = tokio::time::Instant::from_std(base) + period.mul_f64((index as f64 * 0.618) % 1.0);
    let mut ticker = tokio::time::interval_at(first, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent_at: std::collections::HashMap<u64, Instant> = std::collections::HashMap::new();
    let mut last_offset = 0_i64;
    let deadline = tokio::time::Instant::from_std(stop_reading);
    loop {
        // Everything already read first (one clock reading for all of it: it arrived
        // together); then wait for more, a send tick or the end.
        let mut now = None;
        while let Some(text) = client::try_next_text(&mut ws)? {
            match client::classify(text) {
                Frame::Chat { text, offset } => {
                    let now = *now.get_or_insert_with(|| base.elapsed().as_nanos() as u64);
                    stats.delivered(text, offset, &mut last_offset, now);
                }
                Frame::Batch { list } => {
                    let now = *now.get_or_insert_with(|| base.elapsed().as_nanos() as u64);
                    for (text, offset) in client::batch_messages(list) {
                        stats.delivered(text, offset, &mut last_offset, now);
                    }
                }
                Frame::Ack { id } => {
                    if let Some(at) = sent_at.remove(&id) {
                        stats.acked += 1;
                        stats.ack_latency.record(at.elapsed().as_micros() as u64);
                    }
                }
                Frame::Other => {}
            }
        }
        ws.flush().await?;
        tokio::select! {
            _ = ticker.tick(), if sending && Instant::now() < stop_sending => {
                let n = stats.sent;
                let stamp = base.elapsed().as_nanos();
                let text = format!("t={stamp} c={index} n={n}");
                ws.send_text(&client::chat_message(n, &text, &format!("bench-{}-{index}-{n}", std::process::id()))).await?;
                sent_at.insert(n, Instant::now());
                stats.sent += 1;
            }
            more = ws.fill() => if !more? { break },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    ws.close().await;
    Ok(stats)
}

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
