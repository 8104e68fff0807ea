//! `chat-server`: parse the command line, set up logging, serve until SIGINT/SIGTERM.

use clap::Parser;

use chat_server::config::Config;
use chat_server::startup::Application;
use chat_server::{shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(&config.log);
    let app = Application::build(&config).await?;
    app.run_until(shutdown::signal()).await?;
    Ok(())
}
