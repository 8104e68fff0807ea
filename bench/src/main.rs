//! `chat-bench`: drives many Socket.IO clients (raw Engine.IO v4 websockets) against a
//! running chat server on any number of worker ports, and reports deliveries, latency, and
//! the server's CPU and memory (read from /proc for the whole process tree).
//!
//! Modes: `fanout` (C clients, S of them sending R msg/s for T s), `idle` (C held
//! connections: RSS per connection, connects/s), `writes` (one client, a window of messages
//! in flight: acked durable writes/s), `replay` (a fresh client replays the history:
//! messages/s). Each prints a readable table and one JSON line.

mod client;
mod histogram;
mod modes;
mod procfs;
mod sign_ins;
mod websocket;

use clap::{Parser, Subcommand};

/// Load harness for the chat server.
#[derive(Debug, Parser)]
#[command(name = "chat-bench", version, about)]
pub struct Cli {
    /// Server host.
    #[arg(long, global = true, default_value = "127.0.0.1")]
    pub host: String,
    /// Worker ports, comma-separated; clients are spread over them round-robin.
    #[arg(long, global = true, value_delimiter = ',', default_value = "3000")]
    pub ports: Vec<u16>,
    /// PID of the server (the primary): its whole process tree is measured.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// What to measure.
    #[command(subcommand)]
    pub mode: Mode,
}

/// The measurements.
#[derive(Debug, Subcommand)]
pub enum Mode {
    /// Fan-out: C clients, S of them sending R msg/s each for T seconds.
    Fanout {
        /// Connected clients.
        #[arg(long, default_value_t = 200)]
        clients: usize,
        /// How many of them send.
        #[arg(long, default_value_t = 10)]
        senders: usize,
        /// Messages per second per sender.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Ask for live messages in lists (`auth.batched`, as the Leptos page does) instead
        /// of one `chat message` each (the tutorial's client).
        #[arg(long)]
        batched: bool,
        /// Meanwhile, sign an account in this many times a second (each a real POST
        /// /auth/sign-in, an argon2id verification on the server); 0: none.
        #[arg(long, default_value_t = 0.0)]
        sign_ins_per_s: f64,
    },
    /// Idle connections: hold C clients and report RSS per connection and connects/s.
    Idle {
        /// Connections to open.
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Seconds to hold them before measuring memory.
        #[arg(long, default_value_t = 2.0)]
        hold: f64,
    },
    /// Durable writes: one client keeps a window of messages in flight for T seconds.
    Writes {
        /// Messages in flight.
        #[arg(long, default_value_t = 64)]
        window: usize,
        /// Seconds.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
    },
    /// History replay: seed the history up to N messages, then time a fresh client's replay.
    Replay {
        /// History size to replay (seeded with acked writes if shorter).
        #[arg(long, default_value_t = 10_000)]
        history: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = match &cli.mode {
        Mode::Fanout {
            clients,
            senders,
            rate,
            duration,
            batched,
            sign_ins_per_s,
        } => {
            let load = modes::FanoutLoad {
                clients: *clients,
                senders: *senders,
                rate: *rate,
                duration: *duration,
                batched: *batched,
                sign_ins_per_s: *sign_ins_per_s,
            };
            modes::fanout(&cli, load).await?
        }
        Mode::Idle { clients, hold } => modes::idle(&cli, *clients, *hold).await?,
        Mode::Writes { window, duration } => modes::writes(&cli, *window, *duration).await?,
        Mode::Replay { history } => modes::replay(&cli, *history).await?,
    };
    report.print();
    Ok(())
}
