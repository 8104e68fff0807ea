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
    // A worker is one of N processes sharing the cores: one thread avoids cross-thread
    // wake-ups on every delivery. The primary and a single server use every core.
    let runtime = match role {
        Role::Worker { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Role::Primary { .. } | Role::Solo => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    };
    runtime.block_on(run(config, role))
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
        Role::Solo => Topology::Solo,
    };
    let app = Application::build(&config, topology).await?;
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
