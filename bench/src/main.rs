//! `chat-bench`: drives many Socket.IO clients (raw Engine.IO v4 websockets) against a
//! running chat server on any number of worker ports, and reports deliveries, latency, and
//! the server's CPU and memory (read from /proc for the whole process tree).
//!
//! Modes: `fanout` (C clients, S of them sending R msg/s for T s), `idle` (C held
//! connections: RSS per connection, connects/s), `hold` (a crowd over several client
//! processes: the ramp, RSS and connect cost at each stage, idle CPU, a broadcast to all),
//! `storm` (a worker's clients reconnect after it is killed: recovery time, losses,
//! the others' latency), `writes` (one client, a window of messages in flight: acked
//! durable writes/s), `replay` (a fresh client replays the history: messages/s). Each
//! prints a readable table and one JSON line.

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
    /// Connect from this local address (e.g. 127.0.0.2: each loopback address has its own
    /// ephemeral ports).
    #[arg(long, global = true)]
    pub source_ip: Option<std::net::Ipv4Addr>,
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
    /// Channels: C channels of M signed-in accounts each, each channel's first member
    /// sending R msg/s to it (compare `--channels 100 --members 10` with `--channels 1
    /// --members 1000`: the same deliveries/s); optionally N quiet channels created first
    /// to measure their memory. Start the server with a high --sign-in-attempts.
    Channels {
        /// Channels written to.
        #[arg(long, default_value_t = 10)]
        channels: usize,
        /// Accounts per channel.
        #[arg(long, default_value_t = 10)]
        members: usize,
        /// Messages per second per channel.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Live messages in lists (as the Leptos page asks).
        #[arg(long)]
        batched: bool,
        /// Quiet channels created before the run (their memory is reported).
        #[arg(long, default_value_t = 0)]
        idle_channels: usize,
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
    /// A crowd: hold C connections over several client processes, measuring at each stage
    /// of the ramp, then broadcast one message a second to all of them.
    Hold {
        /// Connections to hold in the end.
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// Counts held at which to measure RSS and probe the connect cost, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, 50_000])]
        stages: Vec<usize>,
        /// At most this many connections per client process (a process may have 20,000
        /// file descriptors here).
        #[arg(long, default_value_t = 15_000)]
        per_process: usize,
        /// Connects in each stage's probe (0: none).
        #[arg(long, default_value_t = 1_000)]
        probe: usize,
        /// Seconds the full crowd idles before the broadcast.
        #[arg(long, default_value_t = 5.0)]
        idle: f64,
        /// Broadcast messages, one a second.
        #[arg(long, default_value_t = 10)]
        broadcasts: u64,
    },
    /// A reconnect storm: C clients on the first port's worker, observers and senders on
    /// the others; the worker is killed (SIGKILL) and everyone's recovery measured.
    Storm {
        /// Clients on the worker that dies.
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// At most this many per client process.
        #[arg(long, default_value_t = 15_000)]
        per_process: usize,
        /// Readers on the other workers, whose latency is watched.
        #[arg(long, default_value_t = 100)]
        observers: usize,
        /// Senders on the other workers.
        #[arg(long, default_value_t = 4)]
        senders: usize,
        /// Messages per second per sender.
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        /// Seconds of steady load before the kill.
        #[arg(long, default_value_t = 3.0)]
        before: f64,
        /// Longest wait for the clients to be back, in seconds.
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
    },
    /// One client process of `hold` (driven by it over stdin and stdout).
    #[command(hide = true)]
    HoldPart {
        /// The offset its connections resume after.
        #[arg(long, default_value_t = 0)]
        offset: i64,
        /// Bring closed connections back, as socket.io-client does.
        #[arg(long)]
        reconnect: bool,
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

/// Locks `mutex`, whether or not a holder panicked (the counts stay usable).
pub fn sync_lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(source) = cli.source_ip {
        websocket::connect_from(source);
    }
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
        Mode::Channels {
            channels,
            members,
            rate,
            duration,
            batched,
            idle_channels,
        } => {
            let load = modes::ChannelsLoad {
                channels: *channels,
                members: *members,
                rate: *rate,
                duration: *duration,
                batched: *batched,
                idle_channels: *idle_channels,
            };
            modes::channels(&cli, load).await?
        }
        Mode::Idle { clients, hold } => modes::idle(&cli, *clients, *hold).await?,
        Mode::Hold {
            clients,
            stages,
            per_process,
            probe,
            idle,
            broadcasts,
        } => {
            let load = modes::HoldLoad {
                clients: *clients,
                stages: stages.clone(),
                per_process: *per_process,
                probe: *probe,
                idle: *idle,
                broadcasts: *broadcasts,
            };
            modes::hold(&cli, load).await?
        }
        Mode::Storm {
            clients,
            per_process,
            observers,
            senders,
            rate,
            before,
            timeout,
        } => {
            let load = modes::StormLoad {
                clients: *clients,
                per_process: *per_process,
                observers: *observers,
                senders: *senders,
                rate: *rate,
                before: *before,
                timeout: *timeout,
            };
            modes::storm(&cli, load).await?
        }
        Mode::HoldPart { offset, reconnect } => {
            modes::hold_part(&cli, *offset, *reconnect).await?;
            return Ok(());
        }
        Mode::Writes { window, duration } => modes::writes(&cli, *window, *duration).await?,
        Mode::Replay { history } => modes::replay(&cli, *history).await?,
    };
    report.print();
    Ok(())
}
