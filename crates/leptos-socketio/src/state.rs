//! The connection state shown to the user. Plain data, so a server render can show the
//! initial state and the browser's socket events can be followed by pure transitions (tested
//! natively).

/// Where a socket stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening the first connection (also the server-rendered state).
    Connecting,
    /// Connected: events flow.
    Connected,
    /// Lost the connection; the client is retrying.
    Reconnecting,
    /// Disconnected and not retrying (closed on purpose, or refused by the server).
    Offline {
        /// Why, in the client's words.
        reason: String,
    },
}

impl ConnectionState {
    /// A short label for an indicator.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting…",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting…",
            Self::Offline { .. } => "offline",
        }
    }

    /// A stable name for styling and tests (e.g. a `data-state` attribute).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Offline { .. } => "offline",
        }
    }

    /// Whether the client is connected or trying to be (a toggle then offers Disconnect).
    pub fn is_active(&self) -> bool {
        !matches!(self, Self::Offline { .. })
    }

    /// After a `disconnect` event: the client retries by itself (`active`) unless the
    /// disconnect was on purpose or by the server.
    pub fn after_disconnect(reason: String, active: bool) -> Self {
        if active {
            Self::Reconnecting
        } else {
            Self::Offline { reason }
        }
    }

    /// After a `connect_error` event: a middleware refusal leaves the client inactive.
    pub fn after_connect_error(active: bool) -> Self {
        if active {
            Self::Reconnecting
        } else {
            Self::Offline {
                reason: "connection refused".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_the_client_retries_is_reconnecting_otherwise_offline() {
        assert_eq!(
            ConnectionState::after_disconnect("transport close".into(), true),
            ConnectionState::Reconnecting
        );
        let offline = ConnectionState::after_disconnect("io client disconnect".into(), false);
        assert_eq!(
            offline,
            ConnectionState::Offline {
                reason: "io client disconnect".into()
            }
        );
        assert!(!offline.is_active());
        assert_eq!((offline.key(), offline.label()), ("offline", "offline"));
    }

    #[test]
    fn a_refused_connection_is_offline() {
        assert_eq!(
            ConnectionState::after_connect_error(true),
            ConnectionState::Reconnecting
        );
        assert!(!ConnectionState::after_connect_error(false).is_active());
    }
}
