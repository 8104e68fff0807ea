//! How to connect: the subset of socket.io-client's `ManagerOptions & SocketOptions` this
//! binding exposes, plus where to load the client module from.

use serde::Serialize;

/// Where the Node Socket.IO server (and the chat server of this workspace) serves the
/// client's ES module build.
pub const DEFAULT_MODULE_URL: &str = "/socket.io/socket.io.esm.min.js";

/// Connection options. `Options::default()` connects to the page's origin with the client's
/// own defaults, loading the module from [`DEFAULT_MODULE_URL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    /// The server to connect to; empty: the page's origin.
    #[serde(skip)]
    pub url: String,
    /// The URL of socket.io-client's ES module (it must export `io`), loaded once per URL
    /// with a dynamic `import()`.
    #[serde(skip)]
    pub module_url: String,
    /// How long to wait for each ack before it counts as lost, in milliseconds (client
    /// default: wait forever).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_timeout: Option<u32>,
    /// How many times an emit with ack is resent after a lost ack before its future fails
    /// (client default: not resent). Such emits also wait in the client's queue while
    /// disconnected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// The transports to try, in order (`"polling"`, `"websocket"`, `"webtransport"`;
    /// client default: polling, then upgrade to websocket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transports: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            url: String::new(),
            module_url: DEFAULT_MODULE_URL.to_owned(),
            ack_timeout: None,
            retries: None,
            transports: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_client_options_that_are_set_reach_the_client() {
        let options = Options {
            url: "http://example.test".into(),
            module_url: "/io.js".into(),
            ack_timeout: Some(500),
            retries: Some(2),
            transports: Some(vec!["websocket".into()]),
        };
        assert_eq!(
            serde_json::to_value(&options).unwrap(),
            serde_json::json!({"ackTimeout": 500, "retries": 2, "transports": ["websocket"]})
        );
        assert_eq!(
            serde_json::to_value(Options::default()).unwrap(),
            serde_json::json!({})
        );
        assert_eq!(Options::default().module_url, DEFAULT_MODULE_URL);
    }
}
