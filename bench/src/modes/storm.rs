//! A reconnect storm: C clients on one worker's port (in client processes of their own,
//! [`super::hold_part`] with `--reconnect`: socket.io-client's default backoff), observers
//! and senders on the other ports; after a steady start the worker is killed with
//! SIGKILL. Reports how long until every client was back and had replayed what it missed
//! (its `replay done` after the reconnect), what was lost or doubled (every client's stream
//! of offsets is checked for gaps and repeats, and must end at the last acked offset), the
//! observers' latency before and during the storm, and the server's peak RSS.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::hold::{Part, collect, connect_parts};
use super::hold_part::unix_nanos;
use super::{Report, last_offset, server_usage};
use crate::Cli;
use crate::client::{self, Frame, Ws};
use crate::histogram::Histogram;
use crate::procfs;

/// A storm's shape.
#[derive(Debug, Clone, Copy)]
pub struct StormLoad {
    /// Clients on the worker that dies.
    pub clients: usize,
    /// At most this many per client process.
    pub per_process: usize,
    /// Readers on the other workers, whose latency is watched.
    pub observers: usize,
    /// Senders on the other workers.
    pub senders: usize,
    /// Messages per second per sender.
    pub rate: f64,
    /// Seconds of steady load before the kill.
    pub before: f64,
    /// Longest wait for the clients to be back, in seconds.
    pub timeout: f64,
}

/// What an observer saw: latencies by when they arrived (ns since the kill; negative
/// before it), and its stream's gaps and repeats.
#[derive(Default)]
struct Observed {
    arrivals: Vec<(i64, u64)>,
    missing: u64,
    duplicates: u64,
    last: i64,
}

impl Observed {
    /// Follows the stream to `offset`: a repeat, or the next one after any it skipped.
    fn follow(&mut self, offset: i64) {
        if offset <= self.last {
            self.duplicates += 1;
        } else {
            self.missing += (offset - self.last - 1) as u64;
            self.last = offset;
        }
    }
}

/// What the senders did.
#[derive(Default)]
struct Sent {
    acked: u64,
    highest: i64,
}

impl Sent {
    /// Counts `frame` if it is an ack (and its offset); whether it was.
    fn count_ack(&mut self, frame: &str) -> bool {
        if !matches!(client::classify(frame), Frame::Ack { .. }) {
            return false;
        }
        self.acked += 1;
        if let Some(offset) = client::ack_offset(frame) {
            self.highest = self.highest.max(offset);
        }
        true
    }
}

/// The storm: kill the worker behind `cli.ports[0]`, watch everyone come back.
pub async fn storm(cli: &Cli, load: StormLoad) -> anyhow::Result<Report> {
    let Some(server_pid) = cli.server_pid else {
        anyhow::bail!("storm needs --server-pid (the primary: its worker is killed)");
    };
    anyhow::ensure!(cli.ports.len() >= 2, "storm needs two worker ports or more");
    let storm_port = cli.ports[0];
    let base = *cli.ports.iter().min().expect("ports");
    let index = usize::from(storm_port - base);
    let others: Vec<u16> = cli.ports[1..].to_vec();
    let offset = last_offset(cli).await?;
    let processes = load.clients.div_ceil(load.per_process.max(1));
    let mut parts = (0..processes)
        .map(|index| Part::spawn(&cli.host, &[storm_port], offset, true, index))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let connected = connect_parts(&mut parts, load.clients, load.per_process.max(1))?;
    let (stop_tx, stop) = watch::channel(false);
    let kill_at = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let mut observers = JoinSet::new();
    for i in 0..load.observers {
        let port = others[i % others.len()];
        let ws = client::connect(&cli.host, port, &client::auth(offset, false)).await?;
        observers.spawn(observe(ws, offset, stop.clone(), kill_at.clone()));
    }
    let mut senders = JoinSet::new();
    for i in 0..load.senders {
        let port = others[i % others.len()];
        let ws = client::connect(&cli.host, port, &client::auth(offset, false)).await?;
        senders.spawn(send(ws, i, load.rate, stop.clone()));
    }
    tokio::time::sleep(Duration::from_secs_f64(load.before)).await;
    let worker = procfs::worker_pid(server_pid, index).ok_or_else(|| {
        anyhow::anyhow!("no worker with --worker-index {index} under {server_pid}")
    })?;
    let rss_before = server_usage(cli).map_or(0, |u| u.rss_bytes);
    let killed = unix_nanos();
    kill_at.store(killed, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: kill(2) with a PID we found under the server's tree and SIGKILL.
    unsafe { libc::kill(worker as i32, libc::SIGKILL) };
    let killed_instant = Instant::now();
    let mut peak_rss = rss_before;
    let deadline = killed_instant + Duration::from_secs_f64(load.timeout);
    // How many are back (reconnected and replayed) at these seconds after the kill, and
    // when half and nine in ten were.
    let marks = [5.0, 10.0, 20.0, 30.0];
    let mut back_at = Vec::new();
    let (mut half_at, mut most_at) = (None, None);
    let recovered = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(server_usage(cli).map_or(0, |u| u.rss_bytes));
        let streams = collect(&mut parts)?.streams;
        let since = killed_instant.elapsed().as_secs_f64();
        let live = if streams.reconnects > 0 {
            streams.live
        } else {
            0
        };
        while back_at.len() < marks.len() && since >= marks[back_at.len()] {
            back_at.push(live);
        }
        if half_at.is_none() && live * 2 >= connected.held {
            half_at = Some(since);
        }
        if most_at.is_none() && live * 10 >= connected.held * 9 {
            most_at = Some(since);
        }
        let back = streams.live >= connected.held && streams.reconnects >= connected.held;
        if back || Instant::now() >= deadline {
            break back.then_some(streams);
        }
    };
    // A little more steady load, then stop sending and let the last messages arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop_tx.send(true);
    let mut sent = Sent::default();
    while let Some(one) = senders.join_next().await {
        let one = one??;
        sent.acked += one.acked;
        sent.highest = sent.highest.max(one.highest);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let streams = collect(&mut parts)?.streams;
    let mut before = Histogram::default();
    let mut during = Histogram::default();
    let (mut observer_missing, mut observer_duplicates) = (0, 0);
    let storm_ns = recovered
        .as_ref()
        .map_or(i64::MAX, |s| s.last_caught_up.saturating_sub(killed) as i64);
    while let Some(seen) = observers.join_next().await {
        let seen = seen?;
        observer_missing += seen.missing + (sent.highest - seen.last).max(0) as u64;
        observer_duplicates += seen.duplicates;
        for (at, micros) in seen.arrivals {
            if at < 0 {
                before.record(micros);
            } else if at <= storm_ns {
                during.record(micros);
            }
        }
    }
    for part in parts {
        part.finish();
    }
    let mut report = Report::new("storm");
    report.add("clients", load.clients as f64, "");
    report.add("connected_before", connected.held as f64, "");
    report.add("client_processes", processes as f64, "");
    report.add("killed_worker_index", index as f64, "");
    report.add("recovered", f64::from(u8::from(recovered.is_some())), "");
    if let Some(streams) = &recovered {
        report.add("recovery_s", storm_ns as f64 / 1e9, "s");
        report.add("reconnects_until_back", streams.reconnects as f64, "");
    }
    report.add("reconnects", streams.reconnects as f64, "");
    for (mark, live) in marks.iter().zip(&back_at) {
        report.add(format!("back_at_{mark}s"), *live as f64, "");
    }
    report.add("half_back_s", half_at.unwrap_or(f64::NAN), "s");
    report.add("nine_in_ten_back_s", most_at.unwrap_or(f64::NAN), "s");
    report.add("acked", sent.acked as f64, "msg");
    report.add("storm_missing", streams.missing as f64, "");
    report.add("storm_duplicates", streams.duplicates as f64, "");
    let behind = streams
        .lowest_last
        .map_or(0, |low| (sent.highest - low).max(0));
    report.add("storm_clients_behind_last_acked", behind as f64, "offsets");
    report.add("observer_missing", observer_missing as f64, "");
    report.add("observer_duplicates", observer_duplicates as f64, "");
    report.add("observer_p50_before_ms", before.quantile_ms(0.5), "ms");
    report.add("observer_p99_before_ms", before.quantile_ms(0.99), "ms");
    report.add("observer_p50_storm_ms", during.quantile_ms(0.5), "ms");
    report.add("observer_p99_storm_ms", during.quantile_ms(0.99), "ms");
    report.add("observer_max_storm_ms", during.max_ms(), "ms");
    report.add("server_rss_before_mb", rss_before as f64 / 1e6, "MB");
    report.add("server_rss_peak_mb", peak_rss as f64 / 1e6, "MB");
    Ok(report)
}

/// An observer: reads until told to stop, timing each stamped message.
async fn observe(
    mut ws: Ws,
    offset: i64,
    mut stop: watch::Receiver<bool>,
    kill_at: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Observed {
    let mut seen = Observed {
        last: offset,
        ..Observed::default()
    };
    loop {
        let now = unix_nanos();
        let killed = kill_at.load(std::sync::atomic::Ordering::Relaxed);
        while let Ok(Some(text)) = client::try_next_text(&mut ws) {
            if let Frame::Chat { text, offset } = client::classify(text) {
                seen.follow(offset);
                if let Some(stamp) = text
                    .strip_prefix("s=")
                    .and_then(|t| t.split(' ').next())
                    .and_then(|t| t.parse::<u64>().ok())
                {
                    let at = now as i64 - killed.min(i64::MAX as u64) as i64;
                    seen.arrivals.push((at, now.saturating_sub(stamp) / 1000));
                }
            }
        }
        if ws.flush().await.is_err() {
            return seen;
        }
        tokio::select! {
            more = ws.fill() => if !matches!(more, Ok(true)) { return seen },
            _ = stop.changed() => {
                // The last messages may still be on their way.
                let _ = tokio::time::timeout(Duration::from_secs(3), async {
                    while matches!(ws.fill().await, Ok(true)) {
                        while let Ok(Some(text)) = client::try_next_text(&mut ws) {
                            if let Frame::Chat { offset, .. } = client::classify(text) {
                                seen.follow(offset);
                            }
                        }
                    }
                }).await;
                ws.close().await;
                return seen;
            }
        }
    }
}

/// A sender: `rate` stamped messages a second until told to stop; counts acks.
async fn send(
    mut ws: Ws,
    index: usize,
    rate: f64,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Sent> {
    let mut sent = Sent::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    let mut n = 0_u64;
    let mut waiting = 0_u64;
    loop {
        while let Some(text) = client::try_next_text(&mut ws)? {
            if sent.count_ack(text) {
                waiting = waiting.saturating_sub(1);
            }
        }
        ws.flush().await?;
        tokio::select! {
            _ = ticker.tick() => {
                let text = format!("s={} c={index} n={n}", unix_nanos());
                ws.send_text(&client::chat_message(n, &text, &format!("storm-{}-{index}-{n}", std::process::id()))).await?;
                n += 1;
                waiting += 1;
            }
            more = ws.fill() => if !more? { anyhow::bail!("a sender's connection closed") },
            _ = stop.changed() => break,
        }
    }
    // The acks still owed.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while waiting > 0 && matches!(ws.fill().await, Ok(true)) {
            while let Ok(Some(text)) = client::try_next_text(&mut ws) {
                if sent.count_ack(text) {
                    waiting = waiting.saturating_sub(1);
                }
            }
        }
    })
    .await;
    ws.close().await;
    Ok(sent)
}
