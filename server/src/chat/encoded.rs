//! Events encoded once as Socket.IO packets, however many sockets they are written to.
//!
//! `Socket::emit` serialises its arguments for every socket, into a buffer that starts empty
//! and grows; for a chat message sent to every socket that was most of a worker's work. Here
//! an event is encoded once, into a buffer sized up front, and the packet is handed to each
//! socket as it is ([`crate::cluster::adapter::PacketSender`]).

use serde::Serialize;
use socketioxide_core::Value;
use socketioxide_core::packet::Packet;

use super::{CHAT_MESSAGE, PRIVATE_MESSAGE};
use crate::domain::ServerOffset;
use crate::store::{StoredMessage, StoredPrivateMessage};

/// Bytes of JSON around a message's text and names: the event name, quotes, separators, the
/// offset, the metadata's keys and timestamp.
const JSON_AROUND: usize = 96;

/// A committed message, ready to write to any number of sockets.
#[derive(Debug)]
pub struct LiveMessage {
    /// Its offset.
    pub id: ServerOffset,
    /// Its `chat message` event.
    pub packet: Packet,
}

impl LiveMessage {
    /// Encodes `message`'s `chat message` event.
    pub fn encode(message: &StoredMessage) -> Self {
        Self {
            id: message.id,
            packet: chat_message_packet(message),
        }
    }
}

/// The `chat message` event of `message`: `(text, serverOffset, { author, createdAt })`.
pub fn chat_message_packet(message: &StoredMessage) -> Packet {
    event_packet(
        CHAT_MESSAGE,
        message.event_args(),
        message.text.len() + message.author.len(),
    )
}

/// The `private message` event of `message`: `(text, privateOffset, { from, to, createdAt })`.
pub fn private_message_packet(message: &StoredPrivateMessage) -> Packet {
    event_packet(
        PRIVATE_MESSAGE,
        message.event_args(),
        message.text.len() + message.from.len() + message.to.len(),
    )
}

/// A `/` namespace event packet without ack id: `[event, a, b, c]` as JSON, the Socket.IO
/// event encoding, written into a buffer of about `variable_bytes` plus the fixed parts.
fn event_packet<A: Serialize, B: Serialize, C: Serialize>(
    event: &str,
    (a, b, c): (A, B, C),
    variable_bytes: usize,
) -> Packet {
    // Escapes can make the text longer than its bytes; the buffer then grows once.
    let mut json = Vec::with_capacity(variable_bytes + event.len() + JSON_AROUND);
    serde_json::to_writer(&mut json, &(event, a, b, c)).expect("event arguments encode as JSON");
    let json = String::from_utf8(json).expect("serde_json writes UTF-8");
    Packet::event("/", Value::Str(json.into(), None))
}

#[cfg(test)]
mod tests {
    use socketioxide_core::parser::Parse;
    use socketioxide_parser_common::CommonParser;

    use super::*;

    /// What socketioxide's `emit` would have written for the same event.
    fn emitted(event: &str, args: &impl Serialize) -> Value {
        let data = CommonParser.encode_value(args, Some(event)).unwrap();
        CommonParser.encode(Packet::event("/", data))
    }

    #[test]
    fn a_chat_message_is_encoded_as_emit_would() {
        let stored = StoredMessage {
            id: ServerOffset(42),
            text: "quote \" backslash \\ newline \n emoji 🎉 <b> \u{1} end".to_owned(),
            author: "ünï \"cøde\"".to_owned(),
            created_at: 1_700_000_000_123,
        };
        assert_eq!(
            CommonParser.encode(chat_message_packet(&stored)),
            emitted(CHAT_MESSAGE, &stored.event_args())
        );
        assert_eq!(LiveMessage::encode(&stored).id, stored.id);
    }

    #[test]
    fn a_private_message_is_encoded_as_emit_would() {
        let stored = StoredPrivateMessage {
            id: ServerOffset(7),
            text: "psst\t\"".to_owned(),
            from: "alice".to_owned(),
            to: "bob".to_owned(),
            created_at: 1_700_000_000_999,
        };
        assert_eq!(
            CommonParser.encode(private_message_packet(&stored)),
            emitted(PRIVATE_MESSAGE, &stored.event_args())
        );
    }
}
