//! [`Ack`]: an acknowledgement that is not lost when the socket's queue is full.
//!
//! socketioxide's `AckSender` is consumed by `send` even when the queue had no room, so a
//! client that is behind on reading would never get its ack (and would resend). This
//! extractor keeps what an ack needs and makes a fresh sender per attempt, waiting for room.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use socketioxide::extract::AckSender;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use socketioxide::{SendError, SocketError};

use super::queue_wait::QueueBackoff;
use crate::adapter::ChatAdapter;

/// The ack of the event being handled (a no-op when the client asked for none).
pub struct Ack {
    socket: Arc<Socket<ChatAdapter>>,
    ack_id: Option<i64>,
}

impl FromMessageParts<ChatAdapter> for Ack {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<ChatAdapter>>,
        _: &mut Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Self {
            socket: socket.clone(),
            ack_id: *ack_id,
        })
    }
}

impl Ack {
    /// Sends `data` as the ack, waiting while the socket's queue is full. Gives up only when
    /// the socket closes or stays full past the stall limit (then the client resends, and
    /// the client offset makes that safe).
    pub async fn send<T: Serialize + ?Sized>(self, data: &T) {
        let mut backoff: Option<QueueBackoff> = None;
        loop {
            let Ok(sender) = AckSender::<ChatAdapter>::from_message_parts(
                &self.socket,
                &mut Value::Bytes(Bytes::new()),
                &self.ack_id,
            );
            match sender.send(data) {
                Err(SendError::Socket(SocketError::InternalChannelFull))
                    if self.socket.connected() =>
                {
                    if backoff.get_or_insert_default().wait().await {
                        tracing::debug!(sid = %self.socket.id, "ack dropped: the client read nothing for too long");
                        return;
                    }
                }
                _ => return,
            }
        }
    }
}
