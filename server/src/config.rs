//! Every setting of the server, as one clap struct: each flag has an environment variable
//! fallback and a default, and `--help` documents them all.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use clap::builder::TypedValueParser;

use crate::domain::MessageText;

/// A realtime chat server: the Socket.IO tutorial's chat, in Rust.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-server", version, about)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CHAT_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Base port: worker i listens on port + i (0 picks a free port; only with --workers 0).
    #[arg(long, env = "CHAT_PORT", default_value_t = 3000)]
    pub port: u16,

    /// Worker processes, one per core by default. 0 serves from this one process (no
    /// primary: handy for debugging and single-port tests).
    #[arg(long, env = "CHAT_WORKERS")]
    pub workers: Option<u16>,

    /// Runtime threads per worker process. 1 (the default; there is one worker per core): a
    /// single-threaded runtime, cheaper per delivery and per write (BENCHMARKS.md); 0: one
    /// thread per core.
    #[arg(long, env = "CHAT_WORKER_THREADS", default_value_t = 1)]
    pub worker_threads: usize,

    /// Frames the primary queues for one worker before cutting it off as too slow (it then
    /// restarts and its clients replay).
    #[arg(long, env = "CHAT_WORKER_QUEUE", default_value_t = 65_536,
          value_parser = clap::value_parser!(u32).range(16..=16_777_216).map(|n| n as usize))]
    pub worker_queue: usize,

    /// Internal: run as worker number N of a primary.
    #[arg(long, hide = true, requires = "ipc_path")]
    pub worker_index: Option<u16>,

    /// Internal: the primary's IPC socket.
    #[arg(long, hide = true, requires = "worker_index")]
    pub ipc_path: Option<PathBuf>,

    /// SQLite database file, created (with its directory) on first run.
    #[arg(long, env = "CHAT_DB", default_value = "data/chat.db")]
    pub db: PathBuf,

    /// A PostgreSQL database (`postgres://user:password@host:port/name`) instead of the SQLite
    /// file: several hosts can share it. Its migrations are applied on start.
    #[arg(long, env = "CHAT_DATABASE")]
    pub database: Option<String>,

    /// A Redis server (`redis://host:port`) that joins every worker of every host into one
    /// Socket.IO adapter, and carries committed messages between hosts. Without it the
    /// workers of this host are joined through the primary.
    #[arg(long, env = "CHAT_ADAPTER")]
    pub adapter: Option<String>,

    /// Largest accepted message, in UTF-8 bytes; longer ones get an error ack.
    #[arg(long, env = "CHAT_MAX_MESSAGE_BYTES", default_value_t = MessageText::DEFAULT_MAX_BYTES,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576).map(|n| n as usize))]
    pub max_message_bytes: usize,

    /// Most messages committed in one transaction (group commit). A transaction takes half
    /// of the waiting messages, but at least 32 (or this, if smaller).
    #[arg(long, env = "CHAT_MAX_BATCH", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536).map(|n| n as usize))]
    pub max_batch: usize,

    /// Packets queued per socket before it counts as too slow.
    #[arg(long, env = "CHAT_SOCKET_BUFFER", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(16..=1_048_576).map(|n| n as usize))]
    pub socket_buffer: usize,

    /// Shortest time between two writes of live messages to one socket, in ms (0: write
    /// each commit at once). A message arriving after a quiet spell goes out at once; under
    /// sustained traffic the messages of one window share one websocket write, which cuts
    /// the per-delivery cost (one syscall and one wake-up per socket per window, not per
    /// message) for at most this much added latency.
    #[arg(long, env = "CHAT_DELIVERY_WINDOW_MS", default_value_t = 25,
          value_parser = clap::value_parser!(u64).range(0..=1_000))]
    pub delivery_window_ms: u64,

    /// Messages per second one socket may send on average (0: unlimited); excess messages
    /// get an error ack saying when to retry.
    #[arg(long, env = "CHAT_MESSAGE_RATE", default_value_t = 30)]
    pub message_rate: u32,

    /// Messages one socket may send in a burst above --message-rate.
    #[arg(long, env = "CHAT_MESSAGE_BURST", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,

    /// Sockets one process (a worker, or a single server) accepts in total (0: unlimited);
    /// the next gets a `connect_error`.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Sockets one process accepts from one client IP address (0: unlimited).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 500)]
    pub max_connections_per_ip: usize,

    /// How long a new Engine.IO connection may take to send its Socket.IO CONNECT before it
    /// is closed, in ms.
    #[arg(long, env = "CHAT_CONNECT_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub connect_timeout_ms: u64,

    /// Engine.IO ping interval, in ms. A client that stops reading is closed at the next ping
    /// once its queue is full.
    #[arg(long, env = "CHAT_PING_INTERVAL_MS", default_value_t = 25_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub ping_interval_ms: u64,

    /// How long a client may take to answer a ping, in ms.
    #[arg(long, env = "CHAT_PING_TIMEOUT_MS", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub ping_timeout_ms: u64,

    /// How long a user stays listed as online after their last socket closed, in ms: a
    /// reload or a reconnect within it is not announced as leaving and joining.
    #[arg(long, env = "CHAT_PRESENCE_GRACE_MS", default_value_t = 3_000,
          value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub presence_grace_ms: u64,

    /// Up to how many people online each one's arrival and departure is announced to
    /// everyone (`user joined` / `user left` / `user renamed`) and listed by name in
    /// `users`. Beyond it the crowd is counted instead (a `users count` every few seconds):
    /// telling every socket of every arrival would make each connect cost as much as a
    /// message to all.
    #[arg(long, env = "CHAT_PRESENCE_ANNOUNCE_MAX", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub presence_announce_max: u64,

    /// Another origin whose pages may connect (repeat, or comma-separate; `*` for any). A
    /// page of the site's own origin always may; clients that send no Origin (not browsers)
    /// are not checked.
    #[arg(long, env = "CHAT_ALLOW_ORIGIN", value_delimiter = ',')]
    pub allow_origin: Vec<String>,

    /// Port of the primary's `/healthz` and `/metrics` (default: the port after the last
    /// worker's). Workers serve both on their own port.
    #[arg(long, env = "CHAT_ADMIN_PORT")]
    pub admin_port: Option<u16>,

    /// How long the page's client waits for an ack before resending a message, in ms.
    #[arg(long, env = "CHAT_CLIENT_ACK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(100..=600_000))]
    pub client_ack_timeout_ms: u32,

    /// How many times the page's client resends an unacked message before showing it failed.
    #[arg(long, env = "CHAT_CLIENT_RETRIES", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub client_retries: u32,

    /// What people who are not signed in may do: `allow` (chat publicly as `guest-…`; the
    /// tutorial's page keeps working), `read-only` (read, not post) or `deny` (not connect).
    #[arg(long, env = "CHAT_GUESTS", value_enum, default_value_t = crate::chat::identity::GuestPolicy::Allow)]
    pub guests: crate::chat::identity::GuestPolicy,

    /// How long a sign-in lasts at most, in seconds (the cookie's Max-Age too).
    #[arg(long, env = "CHAT_SESSION_MAX_AGE_S", default_value_t = 30 * 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 24 * 3600))]
    pub session_max_age_s: u64,

    /// A sign-in unused this long ends, in seconds.
    #[arg(long, env = "CHAT_SESSION_IDLE_S", default_value_t = 7 * 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 24 * 3600))]
    pub session_idle_s: u64,

    /// Mark the session cookie `Secure`: set it when the site is reached over HTTPS
    /// (directly, or through a proxy that terminates TLS).
    #[arg(long, env = "CHAT_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Sign-in and sign-up attempts allowed per minute, per client address and per
    /// username, in each server process.
    #[arg(long, env = "CHAT_SIGN_IN_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sign_in_attempts: u32,

    /// Directory of the built site (the WASM bundle, CSS, assets), as written by cargo-leptos.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Log filter, in `RUST_LOG` syntax (e.g. `info`, `chat_server=debug`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

/// What this process is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A single server: sequencer, feed and sockets in one process.
    Solo,
    /// The primary of `workers` worker processes.
    Primary {
        /// How many.
        workers: u16,
    },
    /// Worker `index` of the primary listening at `ipc_path`.
    Worker {
        /// Its number (it listens on base port + index).
        index: u16,
        /// The primary's socket.
        ipc_path: PathBuf,
    },
}

impl Config {
    /// The role these flags ask for.
    pub fn role(&self) -> Role {
        if let (Some(index), Some(ipc_path)) = (self.worker_index, &self.ipc_path) {
            return Role::Worker {
                index,
                ipc_path: ipc_path.clone(),
            };
        }
        let workers = self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get().min(u16::MAX as usize) as u16)
        });
        if workers == 0 {
            Role::Solo
        } else {
            Role::Primary { workers }
        }
    }

    /// Where messages are kept: `--database` if given, else the SQLite file `--db`.
    pub fn store_location(&self) -> crate::store::StoreLocation {
        match &self.database {
            Some(url) => crate::store::StoreLocation::Postgres(url.clone()),
            None => crate::store::StoreLocation::Sqlite(self.db.clone()),
        }
    }

    /// What the page's socket.io client is told to do.
    pub fn client_settings(&self) -> app::ClientSettings {
        app::ClientSettings {
            ack_timeout_ms: self.client_ack_timeout_ms,
            retries: self.client_retries,
            max_message_bytes: u32::try_from(self.max_message_bytes).unwrap_or(u32::MAX),
            client_version: crate::http::client_bundle::version(),
        }
    }

    /// How sessions and sign-in attempts are limited.
    pub fn accounts(&self) -> crate::accounts::AccountsConfig {
        use std::time::Duration;
        crate::accounts::AccountsConfig {
            cookie: crate::accounts::cookie::CookiePolicy {
                secure: self.secure_cookies,
                max_age: Duration::from_secs(self.session_max_age_s),
            },
            idle_timeout: Duration::from_secs(self.session_idle_s),
            attempts_per_minute: self.sign_in_attempts,
        }
    }

    /// [`Self::delivery_window_ms`] as a duration.
    pub fn delivery_window(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.delivery_window_ms)
    }

    /// [`Self::presence_grace_ms`] as a duration.
    pub fn presence_grace(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.presence_grace_ms)
    }

    /// The Engine.IO payload limit: room for one maximal message, JSON-escaped, and framing.
    pub fn max_payload(&self) -> u64 {
        (self.max_message_bytes as u64 * 6 + 1024).max(64 * 1024)
    }
}
