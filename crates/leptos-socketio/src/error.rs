//! Why an emit failed: one error type for every emit, so a caller can tell a lost ack (worth
//! resending) from a reply it cannot read or arguments it could not send.

/// Why an emit failed: `Socket::emit_with_ack` (all four), or a plain emit (`BadArgs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// No ack came: socket.io-client waited `ackTimeout` on every one of its `retries` and
    /// gave up (its message is kept).
    #[error("no ack: {0}")]
    Timeout(String),
    /// The socket.io-client module could not be loaded, so nothing was sent.
    #[error("socket unavailable: {0}")]
    Unavailable(String),
    /// The ack came but could not be read as the expected type.
    #[error("unexpected ack: {0}")]
    BadAck(String),
    /// The arguments could not be serialized.
    #[error("arguments not serializable: {0}")]
    BadArgs(String),
}
