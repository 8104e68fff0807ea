//! Fan-out: every client receives every message; a few of them send at a fixed rate.
//! Reports deliveries, latency percentiles and the server's CPU per delivery.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{DRAIN, Report, connect_many, last_offset, server_usage};
use crate::Cli;
use crate::client::{self, Frame, Ws};
use crate::histogram::Histogram;
use crate::procfs;

/// Nanoseconds since `base`, as carried in bench messages (`t=<ns> ...`).
fn parse_stamp(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("t=")?;
    let end = digits.find(' ').unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// What one fan-out client saw.
#[derive(Default)]
pub(crate) struct ClientStats {
    pub deliveries: u64,
    pub latency: Histogram,
    pub ack_latency: Histogram,
    pub sent: u64,
    pub acked: u64,
    pub out_of_order: u64,
}

impl ClientStats {
    /// Adds what another client saw.
    pub(crate) fn absorb(&mut self, other: &Self) {
        self.deliveries += other.deliveries;
        self.latency.merge(&other.latency);
        self.ack_latency.merge(&other.ack_latency);
        self.sent += other.sent;
        self.acked += other.acked;
        self.out_of_order += other.out_of_order;
    }

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

/// A fan-out run's shape.
#[derive(Debug, Clone, Copy)]
pub struct FanoutLoad {
    /// Connected clients.
    pub clients: usize,
    /// How many of them send.
    pub senders: usize,
    /// Messages per second per sender.
    pub rate: f64,
    /// Seconds of sending.
    pub duration: f64,
    /// Live messages in lists.
    pub batched: bool,
    /// Sign-ins per second beside it (0: none).
    pub sign_ins_per_s: f64,
}

/// Fan-out: every client receives every message; the first `senders` send `rate` msg/s.
pub async fn fanout(cli: &Cli, load: FanoutLoad) -> anyhow::Result<Report> {
    let FanoutLoad {
        clients,
        senders,
        rate,
        duration,
        batched,
        sign_ins_per_s,
    } = load;
    let offset = last_offset(cli).await?;
    let (sockets, connect_time) = connect_many(cli, clients, offset, batched).await?;
    let base = Instant::now();
    let stop_sending = base + Duration::from_secs_f64(duration);
    let stop_reading = stop_sending + DRAIN;
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let sign_ins = (sign_ins_per_s > 0.0).then(|| {
        tokio::spawn(crate::sign_ins::run(
            cli.host.clone(),
            cli.ports.clone(),
            sign_ins_per_s,
            stop_sending,
        ))
    });
    let mut tasks = JoinSet::new();
    for (index, ws) in sockets.into_iter().enumerate() {
        let plan = ClientPlan {
            index,
            sends_to: (index < senders).then_some(client::PostTo::General),
            rate,
            base,
            stop_sending,
            stop_reading,
        };
        tasks.spawn(run_fanout_client(ws, plan));
    }
    let mut total = ClientStats::default();
    while let Some(stats) = tasks.join_next().await {
        total.absorb(&stats??);
    }
    let sign_ins = match sign_ins {
        Some(task) => Some(task.await??),
        None => None,
    };
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
    if let Some(sign_ins) = sign_ins {
        report.add("sign_ins_per_s", sign_ins_per_s, "/s");
        report.add("sign_ins_ok", sign_ins.ok as f64, "");
        report.add("sign_ins_failed", sign_ins.failed as f64, "");
        report.add("sign_in_p50_ms", sign_ins.latency.quantile_ms(0.5), "ms");
        report.add("sign_in_p99_ms", sign_ins.latency.quantile_ms(0.99), "ms");
    }
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

/// What one fan-out client does, besides reading everything.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientPlan {
    /// Its number (in its texts and client offsets).
    pub index: usize,
    /// Where it posts, if it sends.
    pub sends_to: Option<client::PostTo>,
    /// Messages per second when it sends.
    pub rate: f64,
    /// When the run started (stamps are nanoseconds since).
    pub base: Instant,
    /// When sending stops.
    pub stop_sending: Instant,
    /// When reading stops.
    pub stop_reading: Instant,
}

/// One fan-out client: reads everything; a sender also sends on a timer.
pub(crate) async fn run_fanout_client(mut ws: Ws, plan: ClientPlan) -> anyhow::Result<ClientStats> {
    let ClientPlan {
        index,
        sends_to,
        rate,
        base,
        stop_sending,
        stop_reading,
    } = plan;
    let sending = sends_to.is_some();
    let post = sends_to.unwrap_or(client::PostTo::General);
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
                ws.send_text(&post.packet(n, &text, &format!("bench-{}-{index}-{n}", std::process::id()))).await?;
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
