//! Sign-ins at a steady rate beside another load (`fanout --sign-ins-per-s`): each is a real
//! `POST /auth/sign-in` over its own HTTP/1.1 connection, so the server hashes a password
//! (argon2id) for every one. Reports how many succeeded and how long they took; the
//! question it answers is whether the fan-out's latency notices.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::histogram::Histogram;

/// What the sign-in load saw.
#[derive(Debug, Default)]
pub struct SignInStats {
    /// Sign-ins answered 200 with a session cookie.
    pub ok: u64,
    /// Any other answer, or a connection that failed.
    pub failed: u64,
    /// Time from connect to the whole answer, µs.
    pub latency: Histogram,
}

/// Posts one account form and returns the status code.
async fn post(host: &str, port: u16, path: &str, body: &str) -> anyhow::Result<u16> {
    Ok(post_for_cookie(host, port, path, body).await?.0)
}

/// Signs up `username` (password `bench password 1`) and returns its session cookie
/// (`name=value`).
pub async fn sign_up(host: &str, port: u16, username: &str) -> anyhow::Result<String> {
    let body = format!("username={username}&password=bench+password+1");
    let (status, cookie) = post_for_cookie(host, port, "/auth/sign-up", &body).await?;
    anyhow::ensure!(
        status == 200,
        "sign-up of {username} answered {status} (start the server with a high --sign-in-attempts)"
    );
    cookie.ok_or_else(|| anyhow::anyhow!("sign-up of {username} set no cookie"))
}

/// Posts one account form; returns the status code and the first cookie it sets.
async fn post_for_cookie(
    host: &str,
    port: u16,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, Option<String>)> {
    let mut stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n\
         Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let status = std::str::from_utf8(&answer[..answer.len().min(12)])
        .ok()
        .and_then(|line| line.get(9..12))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("not an HTTP answer"))?;
    let head = String::from_utf8_lossy(&answer);
    let cookie = head
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        });
    Ok((status, cookie))
}

/// Signs up one account for the run (on `ports[0]`), then signs it in `rate` times a
/// second, round-robin over `ports`, until `stop`.
pub async fn run(
    host: String,
    ports: Vec<u16>,
    rate: f64,
    stop: Instant,
) -> anyhow::Result<SignInStats> {
    let username = format!("bench{}", std::process::id());
    let credentials = format!("username={username}&password=bench+password+1");
    let created = post(&host, ports[0], "/auth/sign-up", &credentials).await?;
    anyhow::ensure!(
        created == 200 || created == 409,
        "sign-up answered {created} (start the server with a high --sign-in-attempts)"
    );
    let mut stats = SignInStats::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = tokio::task::JoinSet::new();
    let mut n = 0usize;
    while Instant::now() < stop {
        ticker.tick().await;
        let (host, port, body) = (host.clone(), ports[n % ports.len()], credentials.clone());
        n += 1;
        in_flight.spawn(async move {
            let started = Instant::now();
            let status = post(&host, port, "/auth/sign-in", &body).await;
            (status, started.elapsed())
        });
    }
    while let Some(done) = in_flight.join_next().await {
        let (status, took) = done?;
        match status {
            Ok(200) => {
                stats.ok += 1;
                stats.latency.record(took.as_micros() as u64);
            }
            _ => stats.failed += 1,
        }
    }
    Ok(stats)
}
