//! A message's event arguments, server → client, written once for both directions: the
//! server builds them with [`chat_message_args`], a client reads them with
//! [`ChatMessage::from_args`].
//!
//! `chat message` is `(text, serverOffset, { author, createdAt, guest, channel, seq })`: the
//! tutorial's two arguments, then ours (the tutorial's client ignores a third argument). A
//! `chat messages` list holds the same argument lists, one per message. Every message is in
//! a channel, private ones too (a direct channel of two), so this is the only shape.

use serde::Serialize;
use serde_json::Value;

use crate::channels::ChannelId;
use crate::values::ServerOffset;

/// What a `chat message` carries after `(text, serverOffset)`: who wrote it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageMeta<'a> {
    /// The author's name.
    pub author: &'a str,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
    /// Whether the author is a guest (not signed in, or the message predates accounts):
    /// [`crate::accounts::is_guest_name`] of the author. Otherwise the name is an
    /// account's, verified by the server.
    pub guest: bool,
    /// Its channel ([`ChannelId::GENERAL`] for everything the tutorial's client sends).
    pub channel: ChannelId,
    /// Its position in its channel, consecutive from 1.
    pub seq: i64,
}

/// The arguments of one `chat message` to clients (also one element of a `chat messages`
/// list).
pub type ChatMessageArgs<'a> = (&'a str, ServerOffset, MessageMeta<'a>);

/// Where a message is: its channel and its `seq` there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InChannel {
    /// Its channel.
    pub channel: ChannelId,
    /// Its position in the channel, from 1.
    pub seq: i64,
}

/// `(text, serverOffset, { author, createdAt, guest, channel, seq })`.
pub fn chat_message_args<'a>(
    text: &'a str,
    offset: ServerOffset,
    author: &'a str,
    created_at: i64,
    place: InChannel,
) -> ChatMessageArgs<'a> {
    let guest = crate::accounts::is_guest_name(author);
    (
        text,
        offset,
        MessageMeta {
            author,
            created_at,
            guest,
            channel: place.channel,
            seq: place.seq,
        },
    )
}

/// A `chat message` as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Its text.
    pub text: String,
    /// Its position in the global order.
    pub server_offset: ServerOffset,
    /// Its author (empty from a server that sends no third argument, as the tutorial's).
    pub author: String,
    /// When the server accepted it, in unix milliseconds (0 when not sent).
    pub created_at: i64,
    /// Whether the author is a guest (`true` when the server did not say).
    pub guest: bool,
    /// Its channel and place there (`#general`, with `seq` the server offset, from a server
    /// that does not say).
    pub place: InChannel,
}

impl ChatMessage {
    /// Reads `(text, serverOffset[, { author, createdAt }])`; `None` when the text or the
    /// offset is missing or of the wrong type.
    pub fn from_args(args: Vec<Value>) -> Option<Self> {
        let mut args = args.into_iter();
        let text = string(args.next()?)?;
        let server_offset = ServerOffset(args.next()?.as_i64()?);
        let meta = args.next().unwrap_or_default();
        Some(Self {
            text,
            server_offset,
            author: meta["author"].as_str().unwrap_or_default().to_owned(),
            created_at: meta["createdAt"].as_i64().unwrap_or_default(),
            guest: meta["guest"].as_bool().unwrap_or(true),
            place: InChannel {
                channel: meta["channel"]
                    .as_i64()
                    .map_or(ChannelId::GENERAL, ChannelId),
                seq: meta["seq"].as_i64().unwrap_or(server_offset.0),
            },
        })
    }
}

fn string(value: Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn as_args(value: impl Serialize) -> Vec<Value> {
        match serde_json::to_value(value).unwrap() {
            Value::Array(args) => args,
            other => panic!("arguments are a list, got {other}"),
        }
    }

    #[test]
    fn a_chat_message_reads_back_as_it_was_written() {
        let place = InChannel {
            channel: ChannelId(3),
            seq: 9,
        };
        let args = as_args(chat_message_args(
            "hé \"q\"",
            ServerOffset(42),
            "ana",
            1_700,
            place,
        ));
        assert_eq!(
            args,
            vec![
                json!("hé \"q\""),
                json!(42),
                json!({"author": "ana", "createdAt": 1_700, "guest": false, "channel": 3, "seq": 9})
            ]
        );
        assert_eq!(
            ChatMessage::from_args(args),
            Some(ChatMessage {
                text: "hé \"q\"".into(),
                server_offset: ServerOffset(42),
                author: "ana".into(),
                created_at: 1_700,
                guest: false,
                place,
            })
        );
        let by_guest = as_args(chat_message_args(
            "hi",
            ServerOffset(1),
            "guest-3f2a",
            1,
            place,
        ));
        assert_eq!(by_guest[2]["guest"], json!(true));
    }

    #[test]
    fn the_tutorials_two_arguments_are_enough() {
        let message = ChatMessage::from_args(vec![json!("hi"), json!(3)]).unwrap();
        assert_eq!((message.author.as_str(), message.created_at), ("", 0));
        assert_eq!(
            message.place,
            InChannel {
                channel: ChannelId::GENERAL,
                seq: 3
            }
        );
        assert_eq!(ChatMessage::from_args(vec![json!(1), json!(3)]), None);
        assert_eq!(ChatMessage::from_args(vec![json!("hi")]), None);
    }
}
