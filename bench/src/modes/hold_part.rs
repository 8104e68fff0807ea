//! One process's share of `hold`: it holds connections (a process may have only 20,000
//! file descriptors here, so a large crowd takes several), and records the broadcasts they
//! receive. It is driven by the `hold` coordinator over its stdin and stdout, one line each
//! way per step:
//!
//! - `connect N` → opens connections until it holds N (round-robin over the ports), then
//!   answers `connected <held> <failed> <seconds> <cpu seconds>`;
//! - `report` → answers `report <json>` ([`PartReport`]): for each broadcast message the
//!   number of sockets that got it and the latest arrival, and every delivery's latency;
//!   and, per connection, where its stream of offsets stands ([`Streams`]);
//! - end of input → closes every connection and exits.
//!
//! With `--reconnect` (the storm), a connection that closes comes back as socket.io-client
//! does by default: after 1 s, doubling up to 5 s, each delay randomised by ±50 %, resuming
//! after the last offset it saw (the server replays what it missed).
//!
//! A broadcast's text is `b=<unix ns> n=<k>`: the coordinator stamps it with the wall clock
//! when it sends, each part reads the same clock when it arrives (one machine).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::CONNECT_CONCURRENCY;
use crate::Cli;
use crate::client::{self, Frame, Ws};
use crate::histogram::Histogram;
use crate::procfs;

/// Nanoseconds since the Unix epoch, by the wall clock every process shares.
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A broadcast's text.
pub fn broadcast_text(k: u64) -> String {
    format!("b={} n={k}", unix_nanos())
}

/// The stamp and number of a broadcast's text.
fn parse_broadcast(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix("b=")?;
    let (stamp, n) = rest.split_once(" n=")?;
    Some((stamp.parse().ok()?, n.parse().ok()?))
}

/// What one broadcast message did in this part: how many sockets got it, and the latest
/// arrival (µs after its stamp).
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct Reach {
    /// Sockets that got it.
    pub sockets: u64,
    /// The latest arrival, µs after it was sent.
    pub last_us: u64,
}

/// Where the part's connections stand in the stream of offsets, summed over them.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Streams {
    /// Connections open now (with `--reconnect`: back, and replayed to the end).
    pub live: u64,
    /// Offsets skipped (a gap in a connection's stream), summed.
    pub missing: u64,
    /// Offsets received again, summed.
    pub duplicates: u64,
    /// Reconnects made.
    pub reconnects: u64,
    /// The lowest last offset of any connection.
    pub lowest_last: Option<i64>,
    /// The latest time a connection finished its replay after a reconnect (unix ns).
    pub last_caught_up: u64,
}

/// What a part answers to `report`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PartReport {
    /// Per broadcast message (by its number).
    pub reach: BTreeMap<u64, Reach>,
    /// Every delivery's latency, µs.
    pub latency: Histogram,
    /// Connections that closed before the end (without `--reconnect`).
    pub closed: u64,
    /// The connections' streams (filled in at each report).
    pub streams: Streams,
}

/// One connection's stream, kept for the reports.
#[derive(Debug, Default)]
struct Stream {
    live: bool,
    last: i64,
    missing: u64,
    duplicates: u64,
    reconnects: u64,
    caught_up: u64,
}

/// What the part's connections share: the broadcasts seen, and each one's stream.
#[derive(Default)]
struct Seen {
    report: PartReport,
    streams: Vec<Stream>,
}

/// How a part's connections connect (and, with `reconnect`, come back).
#[derive(Clone)]
struct Dial {
    host: String,
    reconnect: bool,
}

/// Runs one part until its input ends.
pub async fn hold_part(cli: &Cli, offset: i64, reconnect: bool) -> anyhow::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let dial = Dial {
        host: cli.host.clone(),
        reconnect,
    };
    let mut holders = JoinSet::new();
    let mut held = 0_usize;
    let mut next_port = 0_usize;
    let auth = client::auth(offset, false);
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("connect"), Some(target)) => {
                let target: usize = target.parse()?;
                let started = Instant::now();
                let cpu_before = procfs::own_usage().cpu_seconds;
                let mut failed = 0_u64;
                let mut pending = JoinSet::new();
                let mut opened = held;
                while opened < target || !pending.is_empty() {
                    while opened < target && pending.len() < CONNECT_CONCURRENCY {
                        let host = cli.host.clone();
                        let port = cli.ports[next_port % cli.ports.len()];
                        next_port += 1;
                        let auth = auth.clone();
                        pending.spawn(
                            async move { (port, client::connect(&host, port, &auth).await) },
                        );
                        opened += 1;
                    }
                    match pending.join_next().await {
                        Some(Ok((port, Ok(ws)))) => {
                            let slot = {
                                let mut seen = crate::sync_lock(&seen);
                                seen.streams.push(Stream {
                                    live: true,
                                    last: offset,
                                    ..Stream::default()
                                });
                                seen.streams.len() - 1
                            };
                            held += 1;
                            let connection = Connection {
                                dial: dial.clone(),
                                port,
                                slot,
                                seen: seen.clone(),
                            };
                            holders.spawn(connection.hold(ws, stop.clone()));
                        }
                        Some(_) => failed += 1,
                        None => {}
                    }
                }
                let cpu = procfs::own_usage().cpu_seconds - cpu_before;
                println!(
                    "connected {held} {failed} {} {cpu}",
                    started.elapsed().as_secs_f64()
                );
            }
            (Some("report"), _) => {
                let mut seen = crate::sync_lock(&seen);
                seen.report.streams = summed(&seen.streams);
                println!("report {}", serde_json::to_string(&seen.report)?);
            }
            _ => anyhow::bail!("unknown command {line:?}"),
        }
    }
    let _ = stop_tx.send(true);
    while holders.join_next().await.is_some() {}
    Ok(())
}

/// The streams, summed.
fn summed(streams: &[Stream]) -> Streams {
    let mut sum = Streams::default();
    for stream in streams {
        sum.live += u64::from(stream.live);
        sum.missing += stream.missing;
        sum.duplicates += stream.duplicates;
        sum.reconnects += stream.reconnects;
        sum.lowest_last = Some(sum.lowest_last.map_or(stream.last, |l| l.min(stream.last)));
        sum.last_caught_up = sum.last_caught_up.max(stream.caught_up);
    }
    sum
}

/// One held connection.
struct Connection {
    dial: Dial,
    port: u16,
    slot: usize,
    seen: Arc<Mutex<Seen>>,
}

/// What a connection's read loop ended with.
enum Ended {
    Stopped,
    Closed,
}

impl Connection {
    /// Holds the connection until told to stop; with `reconnect`, brings it back each time
    /// it closes.
    async fn hold(self, mut ws: Ws, mut stop: watch::Receiver<bool>) {
        loop {
            match self.read(&mut ws, &mut stop).await {
                Ended::Stopped => {
                    ws.close().await;
                    return;
                }
                Ended::Closed if !self.dial.reconnect => {
                    crate::sync_lock(&self.seen).report.closed += 1;
                    return;
                }
                Ended::Closed => {
                    crate::sync_lock(&self.seen).streams[self.slot].live = false;
                    match self.come_back(&mut stop).await {
                        Some(back) => ws = back,
                        None => return,
                    }
                }
            }
        }
    }

    /// Reads until the connection closes or the part stops: answers pings, follows the
    /// offsets, records broadcasts.
    async fn read(&self, ws: &mut Ws, stop: &mut watch::Receiver<bool>) -> Ended {
        loop {
            let mut arrived = Vec::new();
            let mut offsets = Vec::new();
            let mut replayed = false;
            loop {
                match client::try_next_text(ws) {
                    Ok(Some(text)) => match client::classify(text) {
                        Frame::Chat { text, offset } => {
                            offsets.push(offset);
                            if let Some(broadcast) = parse_broadcast(text) {
                                arrived.push(broadcast);
                            }
                        }
                        _ if text.starts_with(r#"42["replay done""#) => replayed = true,
                        _ => {}
                    },
                    Ok(None) => break,
                    Err(_) => return Ended::Closed,
                }
            }
            if !arrived.is_empty() || !offsets.is_empty() || replayed {
                self.record(&arrived, &offsets, replayed);
            }
            if ws.flush().await.is_err() {
                return Ended::Closed;
            }
            tokio::select! {
                more = ws.fill() => match more {
                    Ok(true) => {}
                    Ok(false) | Err(_) => return Ended::Closed,
                },
                _ = stop.changed() => return Ended::Stopped,
            }
        }
    }

    /// Records what one read brought.
    fn record(&self, arrived: &[(u64, u64)], offsets: &[i64], replayed: bool) {
        let now = unix_nanos();
        let mut seen = crate::sync_lock(&self.seen);
        for &(stamp, k) in arrived {
            let micros = now.saturating_sub(stamp) / 1000;
            let reach = seen.report.reach.entry(k).or_default();
            reach.sockets += 1;
            reach.last_us = reach.last_us.max(micros);
            seen.report.latency.record(micros);
        }
        let stream = &mut seen.streams[self.slot];
        for &offset in offsets {
            if offset <= stream.last {
                stream.duplicates += 1;
            } else {
                stream.missing += (offset - stream.last - 1) as u64;
                stream.last = offset;
            }
        }
        if replayed && stream.reconnects > 0 {
            stream.live = true;
            stream.caught_up = now;
        }
    }

    /// Reconnects with socket.io-client's default backoff, resuming after the last offset
    /// seen; `None` if the part stops first.
    async fn come_back(&self, stop: &mut watch::Receiver<bool>) -> Option<Ws> {
        let mut attempt = 0_u32;
        loop {
            let delay = backoff(attempt, rand_unit());
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stop.changed() => return None,
            }
            attempt += 1;
            let last = crate::sync_lock(&self.seen).streams[self.slot].last;
            let auth = client::auth(last, false);
            let connecting = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                client::connect(&self.dial.host, self.port, &auth),
            );
            if let Ok(Ok(ws)) = connecting.await {
                crate::sync_lock(&self.seen).streams[self.slot].reconnects += 1;
                return Some(ws);
            }
        }
    }
}

/// socket.io-client's default reconnection delay before attempt `attempt` (0-based):
/// 1 s × 2^attempt, at most 5 s, moved by up to ±50 % (`unit` in 0..1 picks how much and
/// which way, as its `Backoff` does).
pub fn backoff(attempt: u32, unit: f64) -> std::time::Duration {
    let ms = 1000.0 * 2f64.powi(attempt.min(16) as i32);
    let deviation = (unit * 0.5 * ms).floor();
    let ms = if ((unit * 10.0).floor() as u64) & 1 == 0 {
        ms - deviation
    } else {
        ms + deviation
    };
    std::time::Duration::from_millis(ms.clamp(0.0, 5000.0) as u64)
}

/// A number in 0..1, different for each call (no crate for it: the clock's low bits,
/// mixed).
fn rand_unit() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ unix_nanos();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_carries_its_stamp_and_number() {
        let text = broadcast_text(7);
        let (stamp, n) = parse_broadcast(&text).unwrap();
        assert_eq!(n, 7);
        assert!(stamp > 1_700_000_000_000_000_000);
        assert_eq!(parse_broadcast("t=1 c=2 n=3"), None);
    }

    #[test]
    fn reconnects_back_off_as_socket_io_client_does() {
        // 1 s, 2 s, 4 s, then at most 5 s, each within ±50 %.
        assert_eq!(backoff(0, 0.0), std::time::Duration::from_millis(1000));
        assert_eq!(backoff(0, 0.15), std::time::Duration::from_millis(1075));
        assert_eq!(backoff(1, 0.2), std::time::Duration::from_millis(1800));
        assert_eq!(backoff(5, 0.0), std::time::Duration::from_millis(5000));
        for attempt in 0..8 {
            let delay = backoff(attempt, rand_unit()).as_millis();
            assert!((500..=5000).contains(&delay), "{attempt}: {delay}");
        }
    }
}
