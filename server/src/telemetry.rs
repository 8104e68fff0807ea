//! Logging: `tracing` to stderr, filtered by the `--log` setting.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. An invalid filter falls back to `info`, with a warning.
pub fn init(filter: &str) {
    let (filter, invalid) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    if let Some(error) = invalid {
        tracing::warn!(%error, "invalid log filter; using `info`");
    }
}
