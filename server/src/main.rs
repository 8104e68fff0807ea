//! `chat-server`: parse the command line, set up logging, then run as the primary (starting
//! one worker per core), as one of its workers, or alone (`--workers 0`), until SIGINT or
//! SIGTERM.

use clap::Parser;

use chat_server::config::{Config, Role};
use chat_server::startup::{Application, Topology};
use chat_server::{primary, shutdown, telemetry};

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.log);
    let role = config.role();
    let runtime = runtime_for(&role, config.worker_threads)?;
    runtime.block_on(run(config, role))
}

/// The runtime for this role. The primary runs on one thread: it relays, sequences and
/// supervises, while SQLite works on the store's writer thread, and a single thread measured cheaper
/// per write and per delivery than one per core (BENCHMARKS.md). A worker uses
/// `--worker-threads` (1, the default: single-threaded, as there is one worker per core; 0:
/// one thread per core). A single server, which does everything, uses every core.
fn runtime_for(role: &Role, worker_threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match (role, worker_threads) {
        (Role::Primary { .. }, _) | (Role::Worker { .. }, 1) => {
            tokio::runtime::Builder::new_current_thread()
        }
        (Role::Worker { .. }, n) if n > 1 => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

/// Runs this process's role until shutdown.
async fn run(config: Config, role: Role) -> anyhow::Result<()> {
    let topology = match role {
        Role::Primary { workers } => {
            anyhow::ensure!(
                config.port != 0,
                "--port 0 needs --workers 0: workers listen on base port + index"
            );
            return Ok(primary::run(&config, workers, shutdown::signal()).await?);
        }
        Role::Worker { index, ipc_path } => Topology::Worker { index, ipc_path },
        Role::Solo => {
            anyhow::ensure!(
                config.adapter.is_none(),
                "--adapter needs --workers 1 or more: a single process does not join other hosts"
            );
            Topology::Solo
        }
    };
    let app = Application::build(&config, topology).await?;
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
