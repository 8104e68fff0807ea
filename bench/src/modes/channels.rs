//! Channels: a fan-out whose readers are signed-in accounts in channels, so that the same
//! deliveries per second can be spread over many small channels or one big one
//! (`--channels 100 --members 10` against `--channels 1 --members 1000`): the server's CPU
//! per delivery and the latency side by side. Each channel has one sender (its first
//! member) posting `rate` messages a second with `channel message`. With `--idle-channels
//! N`, N more channels are created first (spread over the members, each created by one
//! of them, who is then in it), and the server's memory is read before and after: what a
//! mostly idle channel costs.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::task::JoinSet;

use super::fanout::{ClientPlan, ClientStats, run_fanout_client};
use super::{CONNECT_CONCURRENCY, DRAIN, Report, server_usage};
use crate::Cli;
use crate::client::{self, PostTo, Ws};
use crate::procfs;

/// Sign-ups at once (each is an argon2id hash on the server's blocking pool).
const SIGN_UP_CONCURRENCY: usize = 8;

/// A channels run's shape.
#[derive(Debug, Clone, Copy)]
pub struct ChannelsLoad {
    /// Channels written to.
    pub channels: usize,
    /// Accounts in each (distinct accounts: channels × members in all).
    pub members: usize,
    /// Messages per second per channel.
    pub rate: f64,
    /// Seconds of sending.
    pub duration: f64,
    /// Live messages in lists.
    pub batched: bool,
    /// Channels created (and left quiet) before the run, to measure their memory.
    pub idle_channels: usize,
}

/// Signs up `count` accounts, round-robin over the ports; returns their cookies.
async fn sign_up_all(cli: &Cli, count: usize) -> anyhow::Result<Vec<String>> {
    let run = std::process::id();
    let mut cookies: Vec<Option<String>> = vec![None; count];
    let mut pending = JoinSet::new();
    let mut next = 0;
    while next < count || !pending.is_empty() {
        while next < count && pending.len() < SIGN_UP_CONCURRENCY {
            let (host, port, index) = (cli.host.clone(), cli.ports[next % cli.ports.len()], next);
            pending.spawn(async move {
                let name = format!("b{run}x{index}");
                (index, crate::sign_ins::sign_up(&host, port, &name).await)
            });
            next += 1;
        }
        if let Some(done) = pending.join_next().await {
            let (index, cookie) = done?;
            cookies[index] = Some(cookie?);
        }
    }
    Ok(cookies.into_iter().flatten().collect())
}

/// Connects one socket per cookie, round-robin over the ports.
async fn connect_all(cli: &Cli, cookies: &[String], batched: bool) -> anyhow::Result<Vec<Ws>> {
    // Resume after everything stored: the run's readers start with nothing to replay.
    let auth = client::auth(i64::MAX / 4, batched);
    let mut sockets: Vec<Option<Ws>> = (0..cookies.len()).map(|_| None).collect();
    let mut pending = JoinSet::new();
    let mut next = 0;
    while next < cookies.len() || !pending.is_empty() {
        while next < cookies.len() && pending.len() < CONNECT_CONCURRENCY {
            let (host, port) = (cli.host.clone(), cli.ports[next % cli.ports.len()]);
            let (auth, cookie, index) = (auth.clone(), cookies[next].clone(), next);
            pending.spawn(async move {
                (
                    index,
                    client::connect_as(&host, port, &auth, Some(&cookie)).await,
                )
            });
            next += 1;
        }
        if let Some(done) = pending.join_next().await {
            let (index, ws) = done?;
            sockets[index] = Some(ws.with_context(|| format!("account {index}"))?);
        }
    }
    Ok(sockets.into_iter().flatten().collect())
}

/// The channel id in a `channel create` or `channel join` ack, or the refusal.
fn joined_id(ack: &serde_json::Value) -> anyhow::Result<i64> {
    ack["channel"]["id"]
        .as_i64()
        .with_context(|| format!("no channel in the ack: {ack}"))
}

/// Sends one channel request on `ws`, waiting out rate-limit refusals; returns the ack.
async fn request(
    ws: &mut Ws,
    ack: &mut u64,
    event: &str,
    arg: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    loop {
        *ack += 1;
        let answer = client::request(ws, *ack, event, arg).await?;
        match answer["retryAfterMs"].as_u64() {
            Some(wait) => tokio::time::sleep(Duration::from_millis(wait)).await,
            None => return Ok(answer),
        }
    }
}

/// Creates the channel `name` on `ws`; returns its id.
async fn create_channel(ws: &mut Ws, ack: &mut u64, name: &str) -> anyhow::Result<i64> {
    joined_id(&request(ws, ack, "channel create", &json!({ "name": name })).await?)
}

/// Runs `work` on every socket at once (each gets its index), and gives the sockets back
/// in order.
async fn on_each<F, Fut>(sockets: Vec<Ws>, work: F) -> anyhow::Result<Vec<Ws>>
where
    F: Fn(usize, Ws) -> Fut,
    Fut: Future<Output = anyhow::Result<Ws>> + Send + 'static,
{
    let count = sockets.len();
    let mut tasks = JoinSet::new();
    for (index, ws) in sockets.into_iter().enumerate() {
        let job = work(index, ws);
        tasks.spawn(async move { (index, job.await) });
    }
    let mut back: Vec<Option<Ws>> = (0..count).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (index, ws) = done?;
        back[index] = Some(ws?);
    }
    Ok(back.into_iter().flatten().collect())
}

/// Lets `sockets` idle for `time`, answering the server's pings (a socket that does not
/// is closed as gone).
async fn idle_for(sockets: Vec<Ws>, time: Duration) -> anyhow::Result<Vec<Ws>> {
    let until = tokio::time::Instant::now() + time;
    on_each(sockets, move |_, mut ws| async move {
        loop {
            client::answer_pings(&mut ws).await?;
            tokio::select! {
                more = ws.fill() => anyhow::ensure!(more?, "connection closed by the server"),
                () = tokio::time::sleep_until(until) => return Ok(ws),
            }
        }
    })
    .await
}

/// Channels: signs up and connects `channels × members` accounts, puts each channel's
/// members in it (its first member creates it), optionally creates quiet ones, then runs
/// the fan-out.
pub async fn channels(cli: &Cli, load: ChannelsLoad) -> anyhow::Result<Report> {
    let ChannelsLoad {
        channels,
        members,
        rate,
        duration,
        batched,
        idle_channels,
    } = load;
    let accounts = channels * members;
    let run = std::process::id();
    let started = Instant::now();
    let cookies = sign_up_all(cli, accounts).await?;
    let sign_up_time = started.elapsed();
    let sockets = connect_all(cli, &cookies, batched).await?;

    // Quiet channels first, spread over every account, with the memory before and after.
    let before_idle = server_usage(cli);
    let idle_started = Instant::now();
    let per_account = idle_channels.div_ceil(accounts.max(1));
    let sockets = on_each(sockets, |index, mut ws| async move {
        let mut ack = 0;
        for k in 0..per_account {
            if index * per_account + k >= idle_channels {
                break;
            }
            let name = format!("q{run}-{index}-{k}");
            create_channel(&mut ws, &mut ack, &name).await?;
        }
        Ok(ws)
    })
    .await?;
    let idle_time = idle_started.elapsed();
    let sockets = idle_for(sockets, Duration::from_millis(500)).await?;
    let after_idle = server_usage(cli);

    // The channels written to: created by their first member, joined by the others.
    let created = std::sync::Arc::new(std::sync::Mutex::new(vec![0_i64; channels]));
    let ids_out = created.clone();
    let sockets = on_each(sockets, move |index, mut ws| {
        let created = ids_out.clone();
        async move {
            if index % members == 0 {
                let name = format!("c{run}-{}", index / members);
                let mut ack = 1_000_000;
                let id = create_channel(&mut ws, &mut ack, &name).await?;
                crate::sync_lock(&created)[index / members] = id;
            }
            Ok(ws)
        }
    })
    .await?;
    let ids: Vec<i64> = crate::sync_lock(&created).clone();
    let ids_for_join = ids.clone();
    let sockets = on_each(sockets, move |index, mut ws| {
        let channel = ids_for_join[index / members];
        async move {
            if index % members != 0 {
                let mut ack = 2_000_000;
                let answer = request(
                    &mut ws,
                    &mut ack,
                    "channel join",
                    &json!({ "channel": channel }),
                )
                .await?;
                joined_id(&answer)?;
            }
            Ok(ws)
        }
    })
    .await?;
    // The joins reach the other workers through the adapter: let them land.
    let sockets = idle_for(sockets, Duration::from_millis(500)).await?;

    let base = Instant::now();
    let stop_sending = base + Duration::from_secs_f64(duration);
    let stop_reading = stop_sending + DRAIN;
    let before = server_usage(cli);
    let own_before = procfs::own_usage();
    let mut tasks = JoinSet::new();
    for (index, ws) in sockets.into_iter().enumerate() {
        let plan = ClientPlan {
            index,
            sends_to: (index % members == 0).then(|| PostTo::Channel(ids[index / members])),
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
    let after = server_usage(cli);
    let own_after = procfs::own_usage();
    let elapsed = duration + DRAIN.as_secs_f64();
    let expected = total.acked * members as u64;

    let mut report = Report::new("channels");
    report.add("channels", channels as f64, "");
    report.add("members_per_channel", members as f64, "");
    report.add("rate_per_channel", rate, "msg/s");
    report.add("batched", f64::from(u8::from(batched)), "");
    report.add("sign_up_s", sign_up_time.as_secs_f64(), "s");
    report.add("sent", total.sent as f64, "msg");
    report.add("acked", total.acked as f64, "msg");
    report.add("deliveries", total.deliveries as f64, "");
    report.add("deliveries_per_s", total.deliveries as f64 / duration, "/s");
    report.add("lost", expected.saturating_sub(total.deliveries) as f64, "");
    report.add("out_of_order", total.out_of_order as f64, "");
    report.add("latency_p50_ms", total.latency.quantile_ms(0.5), "ms");
    report.add("latency_p99_ms", total.latency.quantile_ms(0.99), "ms");
    report.add("latency_max_ms", total.latency.max_ms(), "ms");
    report.add("ack_p99_ms", total.ack_latency.quantile_ms(0.99), "ms");
    if let (Some(before), Some(after)) = (before, after) {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        report.add("server_cpu_s", cpu, "s");
        report.add(
            "server_cpu_us_per_delivery",
            cpu * 1e6 / total.deliveries.max(1) as f64,
            "µs",
        );
        report.add("server_rss_mb", after.rss_bytes as f64 / 1e6, "MB");
    }
    if idle_channels > 0 {
        report.add("idle_channels", idle_channels as f64, "");
        report.add("idle_create_s", idle_time.as_secs_f64(), "s");
        if let (Some(before), Some(after)) = (before_idle, after_idle) {
            let grown = after.rss_bytes as f64 - before.rss_bytes as f64;
            report.add("idle_rss_growth_mb", grown / 1e6, "MB");
            report.add(
                "rss_bytes_per_idle_channel",
                grown / idle_channels as f64,
                "B",
            );
        }
    }
    report.add(
        "bench_cpu_share",
        (own_after.cpu_seconds - own_before.cpu_seconds) / elapsed,
        "cores",
    );
    Ok(report)
}
