//! Holding a crowd: N connections spread over several client processes ([`super::hold_part`],
//! each at most `--per-process`, since a process may have only 20,000 file descriptors
//! here) and over the server's worker ports. Reports, at each stage of the ramp: the
//! connects/s of the ramp, the server's RSS per held connection, and a probe of
//! `--probe` connects made with that many already held (server and bench CPU per connect,
//! side by side); then the server's CPU while the crowd idles (heartbeats only); then a
//! broadcast to everyone, one message a second: the time until the last of the N had each
//! message (p50/p99/max over messages), every delivery's latency, and how many were lost.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::hold_part::{PartReport, broadcast_text};
use super::{CONNECT_CONCURRENCY, Report, last_offset, server_usage};
use crate::Cli;
use crate::client;
use crate::histogram::Histogram;
use crate::procfs;

/// A hold run's shape.
#[derive(Debug, Clone)]
pub struct HoldLoad {
    /// Connections to hold in the end.
    pub clients: usize,
    /// Counts held at which to measure (RSS, a connect probe); `clients` is always one.
    pub stages: Vec<usize>,
    /// At most this many connections per client process.
    pub per_process: usize,
    /// Connects in each probe (0: none).
    pub probe: usize,
    /// Seconds the full crowd idles before the broadcast (the server's idle CPU).
    pub idle: f64,
    /// Broadcast messages, one a second.
    pub broadcasts: u64,
}

/// One client process of the run, driven over its stdin and stdout.
pub(super) struct Part {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Part {
    /// Starts a part whose connections go to `ports` on `host`, resuming after `offset`
    /// (`reconnect`: they come back when they close).
    /// Part `index` connects from 127.0.1.`index + 1` when the server is on the loopback
    /// (ephemeral ports of its own).
    pub(super) fn spawn(
        host: &str,
        ports: &[u16],
        offset: i64,
        reconnect: bool,
        index: usize,
    ) -> anyhow::Result<Self> {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["--host", host, "--ports", &ports.join(",")]);
        if host.starts_with("127.") && index < 250 {
            command.args(["--source-ip", &format!("127.0.1.{}", index + 1)]);
        }
        command.args(["hold-part", "--offset", &offset.to_string()]);
        if reconnect {
            command.arg("--reconnect");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let input = child.stdin.take().expect("piped");
        let output = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Self {
            child,
            input,
            output,
        })
    }

    /// Closes its input (it closes its connections and exits) and waits for it.
    pub(super) fn finish(mut self) {
        drop(self.input);
        let _ = self.child.wait();
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.input, "{line}")?;
        Ok(self.input.flush()?)
    }

    fn answer(&mut self, prefix: &str) -> anyhow::Result<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.output.read_line(&mut line)? == 0 {
                anyhow::bail!("a hold part exited");
            }
            if let Some(rest) = line.trim_end().strip_prefix(prefix) {
                return Ok(rest.trim_start().to_owned());
            }
        }
    }
}

/// What parts answered to `connect`: summed.
#[derive(Default)]
pub(super) struct Connected {
    pub(super) held: u64,
    failed: u64,
    bench_cpu_s: f64,
}

/// Sends `connect <target>` to every part (their shares of `total`) and sums the answers.
pub(super) fn connect_parts(
    parts: &mut [Part],
    total: usize,
    per_process: usize,
) -> anyhow::Result<Connected> {
    let mut left = total;
    for part in parts.iter_mut() {
        let share = left.min(per_process);
        left -= share;
        part.send(&format!("connect {share}"))?;
    }
    let mut sum = Connected::default();
    for part in parts.iter_mut() {
        let answer = part.answer("connected")?;
        let fields: Vec<f64> = answer
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0.0))
            .collect();
        sum.held += fields.first().copied().unwrap_or(0.0) as u64;
        sum.failed += fields.get(1).copied().unwrap_or(0.0) as u64;
        sum.bench_cpu_s += fields.get(3).copied().unwrap_or(0.0);
    }
    Ok(sum)
}

/// `probe` connects from this process while the parts hold their crowd: how fast, and at
/// what CPU on each side. The probe's connections are closed again.
async fn probe_connects(cli: &Cli, probe: usize, offset: i64) -> anyhow::Result<(f64, f64, f64)> {
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let started = Instant::now();
    let auth = client::auth(offset, false);
    let mut sockets = Vec::with_capacity(probe);
    let mut pending = JoinSet::new();
    let mut next = 0;
    while next < probe || !pending.is_empty() {
        while next < probe && pending.len() < CONNECT_CONCURRENCY {
            let (host, port, auth) = (
                cli.host.clone(),
                cli.ports[next % cli.ports.len()],
                auth.clone(),
            );
            pending.spawn(async move { client::connect(&host, port, &auth).await });
            next += 1;
        }
        if let Some(done) = pending.join_next().await {
            sockets.push(done??);
        }
    }
    let took = started.elapsed().as_secs_f64();
    let after = server_usage(cli);
    let own = (procfs::own_usage().cpu_seconds - own_before.cpu_seconds) * 1e6 / probe as f64;
    let server = match (before, after) {
        (Some(b), Some(a)) => (a.cpu_seconds - b.cpu_seconds) * 1e6 / probe as f64,
        _ => f64::NAN,
    };
    for mut ws in sockets {
        ws.close().await;
    }
    Ok((probe as f64 / took, server, own))
}

/// Holds the crowd, measuring at each stage, then broadcasts to it.
pub async fn hold(cli: &Cli, load: HoldLoad) -> anyhow::Result<Report> {
    let HoldLoad {
        clients,
        mut stages,
        per_process,
        probe,
        idle,
        broadcasts,
    } = load;
    stages.retain(|&s| s > 0 && s < clients);
    stages.push(clients);
    stages.sort_unstable();
    stages.dedup();
    let per_process = per_process.max(1);
    let processes = clients.div_ceil(per_process);
    let mut report = Report::new("hold");
    report.add("clients", clients as f64, "");
    report.add("client_processes", processes as f64, "");
    report.add("server_ports", cli.ports.len() as f64, "");
    if clients > cli.ports.len() * 19_000 {
        eprintln!(
            "warning: {clients} connections over {} worker ports is more than 19,000 per worker process \
             (the descriptor limit here is 20,000): run the server with more workers",
            cli.ports.len()
        );
    }
    let offset = last_offset(cli).await?;
    let fresh = server_usage(cli);
    let mut parts = (0..processes)
        .map(|index| Part::spawn(&cli.host, &cli.ports, offset, false, index))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut held_before = 0_usize;
    for &stage in &stages {
        let usage_before = server_usage(cli);
        let started = Instant::now();
        let connected = connect_parts(&mut parts, stage, per_process)?;
        let took = started.elapsed().as_secs_f64();
        let usage = server_usage(cli);
        let opened = stage - held_before;
        held_before = stage;
        let name = |what: &str| format!("at_{stage}_{what}");
        report.add(name("held"), connected.held as f64, "");
        report.add(name("failed"), connected.failed as f64, "");
        report.add(name("ramp_connects_per_s"), opened as f64 / took, "/s");
        report.add(
            name("ramp_bench_cpu_us_per_connect"),
            connected.bench_cpu_s * 1e6 / opened.max(1) as f64,
            "µs",
        );
        if let (Some(before), Some(after)) = (&usage_before, &usage) {
            report.add(
                name("ramp_server_cpu_us_per_connect"),
                (after.cpu_seconds - before.cpu_seconds) * 1e6 / opened.max(1) as f64,
                "µs",
            );
        }
        if let (Some(fresh), Some(now)) = (&fresh, &usage) {
            report.add(name("server_rss_mb"), now.rss_bytes as f64 / 1e6, "MB");
            report.add(
                name("server_rss_per_conn_kb"),
                (now.rss_bytes as f64 - fresh.rss_bytes as f64) / stage as f64 / 1024.0,
                "KB",
            );
        }
        if probe > 0 {
            let (rate, server, own) = probe_connects(cli, probe, offset).await?;
            report.add(name("probe_connects_per_s"), rate, "/s");
            report.add(name("probe_server_cpu_us_per_connect"), server, "µs");
            report.add(name("probe_bench_cpu_us_per_connect"), own, "µs");
        }
    }
    // The broadcast's sender joins first (a change in the crowd is told to everyone, once:
    // `users count`), and the probes' departures see their grace period out.
    let sender_offset = last_offset(cli).await?;
    let mut sender =
        client::connect(&cli.host, cli.ports[0], &client::auth(sender_offset, false)).await?;
    keep_reading(&mut sender, Duration::from_secs(9)).await?;
    // The crowd idles: heartbeats only.
    let idle_before = server_usage(cli);
    keep_reading(&mut sender, Duration::from_secs_f64(idle)).await?;
    if let (Some(before), Some(after)) = (idle_before, server_usage(cli)) {
        report.add(
            "idle_server_cpu_cores",
            (after.cpu_seconds - before.cpu_seconds) / idle,
            "cores",
        );
    }
    // One message a second to everyone.
    let server_before = server_usage(cli);
    let bench_before = procfs::tree_usage(std::process::id());
    for k in 0..broadcasts {
        let tick = Instant::now();
        let text = broadcast_text(k);
        sender
            .send_text(&client::chat_message(
                k,
                &text,
                &format!("hold-{}-{k}", std::process::id()),
            ))
            .await?;
        // Until the next second, reading (acks, its own copies) and answering pings.
        keep_reading(
            &mut sender,
            Duration::from_secs(1).saturating_sub(tick.elapsed()),
        )
        .await?;
    }
    // Until every part has every message, or 30 s more.
    let deadline = Instant::now() + Duration::from_secs(30);
    let merged = loop {
        let merged = collect(&mut parts)?;
        let complete = (0..broadcasts).all(|k| {
            merged
                .reach
                .get(&k)
                .is_some_and(|r| r.sockets >= clients as u64)
        });
        if complete || Instant::now() >= deadline {
            break merged;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    sender.close().await;
    let server_after = server_usage(cli);
    let bench_after = procfs::tree_usage(std::process::id());
    let mut to_last = Histogram::default();
    let mut delivered = 0_u64;
    for k in 0..broadcasts {
        let reach = merged.reach.get(&k).copied().unwrap_or_default();
        delivered += reach.sockets;
        to_last.record(reach.last_us);
    }
    report.add("broadcasts", broadcasts as f64, "msg");
    report.add("broadcast_deliveries", delivered as f64, "");
    report.add(
        "broadcast_lost",
        (broadcasts * clients as u64).saturating_sub(delivered) as f64,
        "",
    );
    report.add("closed_during_run", merged.closed as f64, "");
    report.add("to_last_p50_ms", to_last.quantile_ms(0.5), "ms");
    report.add("to_last_p99_ms", to_last.quantile_ms(0.99), "ms");
    report.add("to_last_max_ms", to_last.max_ms(), "ms");
    report.add("delivery_p50_ms", merged.latency.quantile_ms(0.5), "ms");
    report.add("delivery_p99_ms", merged.latency.quantile_ms(0.99), "ms");
    // CPU from the first broadcast until every part had every message (heartbeats and
    // the parts' reports included).
    let per_delivery = |before: f64, after: f64| (after - before) * 1e6 / delivered.max(1) as f64;
    if let (Some(before), Some(after)) = (server_before, server_after) {
        report.add(
            "broadcast_server_cpu_us_per_delivery",
            per_delivery(before.cpu_seconds, after.cpu_seconds),
            "µs",
        );
    }
    report.add(
        "broadcast_bench_cpu_us_per_delivery",
        per_delivery(bench_before.cpu_seconds, bench_after.cpu_seconds),
        "µs",
    );
    for part in parts {
        part.finish();
    }
    Ok(report)
}

/// Reads `ws` (answering pings) for `how_long`.
async fn keep_reading(ws: &mut client::Ws, how_long: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        client::answer_pings(ws).await?;
        let wait = until.saturating_duration_since(Instant::now());
        if let Ok(more) = tokio::time::timeout(wait, ws.fill()).await {
            anyhow::ensure!(more?, "the broadcast's sender was disconnected");
        }
    }
    Ok(())
}

/// Every part's report, merged (streams summed; the lowest of their lowest offsets).
pub(super) fn collect(parts: &mut [Part]) -> anyhow::Result<PartReport> {
    let mut merged = PartReport::default();
    for part in parts.iter_mut() {
        part.send("report")?;
        let one: PartReport = serde_json::from_str(&part.answer("report")?)?;
        for (k, reach) in one.reach {
            let into = merged.reach.entry(k).or_default();
            into.sockets += reach.sockets;
            into.last_us = into.last_us.max(reach.last_us);
        }
        merged.latency.merge(&one.latency);
        merged.closed += one.closed;
        let streams = &mut merged.streams;
        streams.live += one.streams.live;
        streams.missing += one.streams.missing;
        streams.duplicates += one.streams.duplicates;
        streams.reconnects += one.streams.reconnects;
        streams.lowest_last = match (streams.lowest_last, one.streams.lowest_last) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        streams.last_caught_up = streams.last_caught_up.max(one.streams.last_caught_up);
    }
    Ok(merged)
}
