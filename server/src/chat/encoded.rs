//! Events encoded once as Socket.IO packets, however many sockets they are written to.
//!
//! `Socket::emit` serialises its arguments for every socket, into a buffer that starts empty
//! and grows; for a chat message sent to every socket that was most of a worker's work. Here
//! an event is encoded once, into a buffer sized up front, and the packet is handed to each
//! socket as it is ([`crate::adapter::PacketSender`]).

use serde::Serialize;
use socketioxide_core::packet::Packet;
use socketioxide_core::{Str, Value};

use chat_protocol::events::{CHAT_MESSAGE, CHAT_MESSAGES};
use chat_protocol::message::{ChatMessageArgs, chat_message_args};

use crate::domain::{ChannelId, ServerOffset};
use crate::store::StoredMessage;

/// A stored message's `chat message` arguments (the protocol's shape).
pub fn message_args(message: &StoredMessage) -> ChatMessageArgs<'_> {
    chat_message_args(
        &message.text,
        message.id,
        &message.author,
        message.created_at,
        message.place(),
    )
}

/// Bytes of JSON around a message's text and names: the event name, quotes, separators, the
/// offset, the metadata's keys and timestamp.
const JSON_AROUND: usize = 96;

/// Bytes of JSON for a message's channel and seq (`,"channel":…,"seq":…`).
const JSON_CHANNEL: usize = 40;

/// A committed message, ready to write to any number of sockets.
#[derive(Debug)]
pub struct LiveMessage {
    /// Its offset.
    pub id: ServerOffset,
    /// Its channel: who may be given it.
    pub channel: ChannelId,
    /// Its `chat message` event.
    pub packet: Packet,
    /// Its arguments as JSON without the brackets (`text, serverOffset, {…}`): a view into
    /// the packet's buffer, for [`chat_messages_packet`].
    args: Str,
}

impl LiveMessage {
    /// Encodes `message`'s `chat message` event.
    pub fn encode(message: &StoredMessage) -> Self {
        let json = event_json(
            CHAT_MESSAGE,
            message_args(message),
            message.text.len() + message.author.len() + JSON_CHANNEL,
        );
        // `["chat message",` before the arguments, `]` after them.
        let args = json.slice(CHAT_MESSAGE.len() + 4..json.len() - 1);
        Self {
            id: message.id,
            channel: message.channel,
            packet: event_packet(json),
            args,
        }
    }

    /// The bytes it adds to a `chat messages` list: its arguments, brackets and a comma.
    pub fn listed_bytes(&self) -> usize {
        self.args.len() + 3
    }
}

/// The `chat message` event of `message`: `(text, serverOffset, { author, createdAt })`.
pub fn chat_message_packet(message: &StoredMessage) -> Packet {
    LiveMessage::encode(message).packet
}

/// The `chat messages` event of a run of consecutive messages: one argument, the list of
/// their `chat message` arguments (see [`CHAT_MESSAGES`]). Built from the messages'
/// own encodings, so the text is not escaped again.
pub fn chat_messages_packet<'a>(messages: impl Iterator<Item = &'a LiveMessage> + Clone) -> Packet {
    let bytes: usize = messages.clone().map(LiveMessage::listed_bytes).sum();
    let mut json = String::with_capacity(bytes + CHAT_MESSAGES.len() + 8);
    json.push_str("[\"");
    json.push_str(CHAT_MESSAGES);
    json.push_str("\",[");
    for (index, message) in messages.enumerate() {
        if index > 0 {
            json.push(',');
        }
        json.push('[');
        json.push_str(&message.args);
        json.push(']');
    }
    json.push_str("]]");
    event_packet(json.into())
}

/// A `/` namespace event packet without ack id, from its JSON (`[event, args…]`, the
/// Socket.IO event encoding).
fn event_packet(json: Str) -> Packet {
    Packet::event("/", Value::Str(json, None))
}

/// `[event, a, b, c]` as JSON, in a buffer of about `variable_bytes` plus the fixed parts.
fn event_json<A: Serialize, B: Serialize, C: Serialize>(
    event: &str,
    (a, b, c): (A, B, C),
    variable_bytes: usize,
) -> Str {
    // Escapes can make the text longer than its bytes; the buffer then grows once.
    let mut json = Vec::with_capacity(variable_bytes + event.len() + JSON_AROUND);
    serde_json::to_writer(&mut json, &(event, a, b, c)).expect("event arguments encode as JSON");
    String::from_utf8(json)
        .expect("serde_json writes UTF-8")
        .into()
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
            channel: ChannelId(12),
            seq: 7,
        };
        assert_eq!(
            CommonParser.encode(chat_message_packet(&stored)),
            emitted(CHAT_MESSAGE, &message_args(&stored))
        );
        assert_eq!(LiveMessage::encode(&stored).id, stored.id);
    }

    #[test]
    fn a_run_of_messages_is_encoded_as_emit_would_encode_its_list() {
        let stored: Vec<StoredMessage> = [("first \"q\" 🎉", "ana"), ("second\n", "bö"), ("", "c")]
            .iter()
            .enumerate()
            .map(|(index, (text, author))| StoredMessage {
                id: ServerOffset(10 + index as i64),
                text: (*text).to_owned(),
                author: (*author).to_owned(),
                created_at: 1_700_000_000_000 + index as i64,
                channel: ChannelId::GENERAL,
                seq: 10 + index as i64,
            })
            .collect();
        let live: Vec<LiveMessage> = stored.iter().map(LiveMessage::encode).collect();
        let list: Vec<_> = stored.iter().map(message_args).collect();
        assert_eq!(
            CommonParser.encode(chat_messages_packet(live.iter())),
            emitted(CHAT_MESSAGES, &(list,))
        );
        assert_eq!(
            CommonParser.encode(chat_messages_packet(live[2..].iter())),
            emitted(CHAT_MESSAGES, &(vec![message_args(&stored[2])],))
        );
    }
}
