//! The measurements, one module each ([`fanout`], [`idle`], [`hold`] with its client
//! processes' [`hold_part`], [`storm`], [`writes`], [`replay`]), and what they share: the report,
//! connecting many clients, the server's usage.

mod channels;
mod fanout;
mod hold;
mod hold_part;
mod idle;
mod replay;
mod storm;
mod writes;

pub use channels::{ChannelsLoad, channels};
pub use fanout::{FanoutLoad, fanout};
pub use hold::{HoldLoad, hold};
pub use hold_part::hold_part;
pub use idle::idle;
pub use replay::replay;
pub use storm::{StormLoad, storm};
pub use writes::writes;

use std::borrow::Cow;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::task::JoinSet;

use crate::Cli;
use crate::client::{self, Frame, Ws};
use crate::procfs::{self, TreeUsage};

/// Connections opened at once.
pub(crate) const CONNECT_CONCURRENCY: usize = 128;
/// How long deliveries may trail the last send before they count as lost.
pub(crate) const DRAIN: Duration = Duration::from_secs(3);

/// A measurement's figures, printed as a table and as one JSON line.
pub struct Report {
    mode: &'static str,
    rows: Vec<(Cow<'static, str>, f64, &'static str)>,
}

impl Report {
    pub(crate) fn new(mode: &'static str) -> Self {
        Self {
            mode,
            rows: Vec::new(),
        }
    }

    pub(crate) fn add(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: f64,
        unit: &'static str,
    ) {
        self.rows.push((name.into(), value, unit));
    }

    /// Adds the CPU microseconds spent per operation between two readings, if both exist.
    pub(crate) fn add_cpu_per(
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
            json.insert(name.to_string(), serde_json::json!(value));
        }
        println!("{}", serde_json::Value::Object(json));
    }
}

/// Server usage, if a PID was given.
pub(crate) fn server_usage(cli: &Cli) -> Option<TreeUsage> {
    cli.server_pid.map(procfs::tree_usage)
}

/// Connects `count` clients round-robin over the ports, resuming after `offset`. Returns
/// them (in order) and how long connecting took.
pub(crate) async fn connect_many(
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
pub(crate) async fn last_offset(cli: &Cli) -> anyhow::Result<i64> {
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
