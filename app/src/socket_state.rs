//! The connection state shown to the user; shared by the server render and the browser.

/// Where the socket stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the first connection (also the server-rendered state).
    Connecting,
    /// Connected: live messages arrive.
    Connected,
    /// Lost the connection; the client is retrying.
    Reconnecting,
    /// Disconnected and not retrying (the user pressed Disconnect, or the server refused).
    Offline {
        /// Why, in the client's words.
        reason: String,
    },
}

impl ConnectionState {
    /// A short label for the indicator.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting…",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting…",
            Self::Offline { .. } => "offline",
        }
    }

    /// A stable name for styling and tests (`data-state`).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Offline { .. } => "offline",
        }
    }

    /// Whether the client is connected or trying to be (the toggle then offers Disconnect).
    pub fn is_active(&self) -> bool {
        !matches!(self, Self::Offline { .. })
    }
}
