//! `chat-server`: parse the command line, set up logging, then run as the primary (starting
//! one worker per core), as one of its workers, or alone (`--workers 0`), until SIGINT or
//! SIGTERM.

use clap::Parser;

use chat_server::config::{Config, Role};
use chat_server::startup::{Application, Topology};
use chat_server::{primary, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.log);
    match config.role() {
        Role::Primary { workers } => {
            anyhow::ensure!(
                config.port != 0,
                "--port 0 needs --workers 0: workers listen on base port + index"
            );
            primary::run(&config, workers, shutdown::signal()).await?;
        }
        Role::Worker { index, ipc_path } => {
            let app = Application::build(&config, Topology::Worker { index, ipc_path }).await?;
            app.run_until(shutdown::signal()).await?;
        }
        Role::Solo => {
            let app = Application::build(&config, Topology::Solo).await?;
            app.run_until(shutdown::signal()).await?;
        }
    }
    Ok(())
}
