//! Acks and small payloads, both directions: the server serializes these types and a
//! client deserializes the same ones, so each shape is written once.

use serde::{Deserialize, Serialize};

use crate::channels::ChannelId;
use crate::values::ServerOffset;

fn is_false(value: &bool) -> bool {
    !*value
}

/// The ack of a stored `chat message`: its offset, and whether that client offset had
/// been stored before (no second row, no second broadcast).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    /// Where it is stored.
    pub server_offset: ServerOffset,
    /// Whether it had been stored before.
    #[serde(default, skip_serializing_if = "is_false")]
    pub duplicate: bool,
}

/// The ack of a stored `private message`: as [`Stored`], with the direct channel of the
/// two accounts it was posted in (made by this message when it is their first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectStored {
    /// Where it is stored.
    pub server_offset: ServerOffset,
    /// The direct channel it is in.
    pub channel: ChannelId,
    /// Whether it had been stored before.
    #[serde(default, skip_serializing_if = "is_false")]
    pub duplicate: bool,
}

/// A refusal: `{ error }`, with `retryAfterMs` when the same request may be sent again
/// after that long (rate limit, storage fault); without it, resending cannot help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    /// Why, in words for the user.
    pub error: String,
    /// When the same request may succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl Refused {
    /// A refusal that resending will not fix.
    pub fn permanent(error: impl ToString) -> Self {
        Self {
            error: error.to_string(),
            retry_after_ms: None,
        }
    }

    /// A refusal that the same request may overcome after `ms` milliseconds.
    pub fn retry_after(error: impl ToString, ms: u64) -> Self {
        Self {
            error: error.to_string(),
            retry_after_ms: Some(ms),
        }
    }
}

/// A write's ack (`chat message`, `channel message`, `private message`) as a client reads
/// it: [`Stored`], [`DirectStored`] or [`Refused`]. The tutorial's server acks with nothing, which also
/// means stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteAck {
    /// Set when the message was stored.
    pub server_offset: Option<ServerOffset>,
    /// Set when a private message was stored: its direct channel.
    pub channel: Option<ChannelId>,
    /// Whether it had been stored before.
    #[serde(default)]
    pub duplicate: bool,
    /// Set when refused.
    pub error: Option<String>,
    /// Set when refused for now: when to resend.
    pub retry_after_ms: Option<u64>,
}

/// An ack that is either the answer asked for or a [`Refused`], as a client reads it
/// (`nickname` acks [`NicknameSet`] or `{ error }`). Untagged: the answer's shape is tried
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Answer<T> {
    /// The answer.
    Done(T),
    /// The refusal.
    Refused(Refused),
}

/// Sent once the replay after connect is complete and live messages follow: the highest
/// offset sent and how many messages the replay sent. The tutorial's client ignores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayDone {
    /// The highest offset sent so far.
    pub server_offset: ServerOffset,
    /// Messages this replay sent.
    pub count: u64,
}

/// One message of a `history` page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryMessage {
    /// Its text.
    pub text: String,
    /// Its position in the global order.
    pub server_offset: ServerOffset,
    /// Its author.
    pub author: String,
    /// When the server accepted it, in unix milliseconds.
    pub created_at: i64,
    /// Its channel.
    #[serde(default)]
    pub channel: crate::channels::ChannelId,
    /// Its position in its channel.
    #[serde(default)]
    pub seq: i64,
}

/// The `history` ack: the latest messages before the requested offset, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The messages.
    pub messages: Vec<HistoryMessage>,
    /// Whether older messages remain.
    pub more: bool,
}

/// The `users` ack: who is online, sorted, the same list on every worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersOnline {
    /// Their names: all of them, or the first ones of a crowd.
    pub users: Vec<String>,
    /// How many in all (more than `users.len()` for a crowd).
    pub count: usize,
}

/// `users count`, server → client: how many are online, every few seconds while they are
/// a crowd (too many to announce one by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersCount {
    /// How many.
    pub count: usize,
}

/// The `online` ack: sockets connected across all workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineCount {
    /// How many.
    pub count: usize,
}

/// The `nickname` ack: the name now in use (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NicknameSet {
    /// The name.
    pub nickname: String,
}

/// `identity`, server → client, once per connection before any message: who the server
/// took this socket to be. An account's name comes from the session cookie the socket's
/// handshake carried; anything else is a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The name the socket's messages are signed with.
    pub name: String,
    /// `true` for a guest, `false` for a signed-in account.
    pub guest: bool,
    /// Whether this guest may post (`--guests allow`); accounts always may.
    #[serde(rename = "canPost")]
    pub can_post: bool,
}

/// `user joined` / `user left`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEvent {
    /// Who.
    pub nickname: String,
}

/// `user renamed`: a user took another name (one change, not a join and a leave).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRenamed {
    /// The old name.
    pub from: String,
    /// The new name.
    pub to: String,
}

/// `typing`, server → client: someone started or stopped typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingEvent {
    /// Who.
    pub nickname: String,
    /// Started (true) or stopped (false).
    pub typing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_acks_read_back_whichever_the_server_sent() {
        let stored = serde_json::to_value(Stored {
            server_offset: ServerOffset(5),
            duplicate: false,
        })
        .unwrap();
        assert_eq!(
            stored,
            json!({"serverOffset": 5}),
            "no duplicate flag when new"
        );
        let ack: WriteAck = serde_json::from_value(stored).unwrap();
        assert_eq!(ack.server_offset, Some(ServerOffset(5)));
        assert!(ack.error.is_none());

        let private = serde_json::to_value(DirectStored {
            server_offset: ServerOffset(2),
            channel: ChannelId(4),
            duplicate: true,
        })
        .unwrap();
        assert_eq!(
            private,
            json!({"serverOffset": 2, "channel": 4, "duplicate": true})
        );
        let ack: WriteAck = serde_json::from_value(private).unwrap();
        assert_eq!(
            (ack.server_offset, ack.channel, ack.duplicate),
            (Some(ServerOffset(2)), Some(ChannelId(4)), true)
        );

        let refused = serde_json::to_value(Refused::retry_after("slow down", 250)).unwrap();
        assert_eq!(refused, json!({"error": "slow down", "retryAfterMs": 250}));
        let ack: WriteAck = serde_json::from_value(refused).unwrap();
        assert_eq!(
            (ack.error.as_deref(), ack.retry_after_ms),
            (Some("slow down"), Some(250))
        );
        assert_eq!(
            serde_json::to_value(Refused::permanent("no")).unwrap(),
            json!({"error": "no"})
        );
    }

    #[test]
    fn an_answer_reads_either_the_answer_or_the_refusal() {
        let done: Answer<NicknameSet> = serde_json::from_value(json!({"nickname": "ana"})).unwrap();
        assert_eq!(
            done,
            Answer::Done(NicknameSet {
                nickname: "ana".into()
            })
        );
        let refused: Answer<NicknameSet> =
            serde_json::from_value(json!({"error": "nickname is empty"})).unwrap();
        assert_eq!(
            refused,
            Answer::Refused(Refused::permanent("nickname is empty"))
        );
    }

    #[test]
    fn payloads_use_the_documented_field_names() {
        assert_eq!(
            serde_json::to_value(ReplayDone {
                server_offset: ServerOffset(9),
                count: 3
            })
            .unwrap(),
            json!({"serverOffset": 9, "count": 3})
        );
        let page = HistoryPage {
            messages: vec![HistoryMessage {
                text: "hi".into(),
                server_offset: ServerOffset(1),
                author: "ana".into(),
                created_at: 7,
                channel: crate::channels::ChannelId(2),
                seq: 1,
            }],
            more: false,
        };
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(
            json,
            json!({"messages": [{"text": "hi", "serverOffset": 1, "author": "ana", "createdAt": 7, "channel": 2, "seq": 1}], "more": false})
        );
        assert_eq!(serde_json::from_value::<HistoryPage>(json).unwrap(), page);
        assert_eq!(
            serde_json::to_value(TypingEvent {
                nickname: "bo".into(),
                typing: true
            })
            .unwrap(),
            json!({"nickname": "bo", "typing": true})
        );
    }
}
