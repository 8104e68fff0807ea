//! The connect `auth` payload: built by a client ([`AuthRequest`]), parsed once by the
//! server into [`ConnectAuth`], the one validated view every part of the server reads.
//!
//! Every field is optional, so the tutorial's client (which sends only `serverOffset`) and
//! clients that send nothing at all keep working; anything malformed falls back to the
//! tutorial's behaviour. Nothing here says who a client is: an account is known only from
//! the session cookie of the handshake, never from what the page's script sends, and
//! `nickname` can only propose a guest name ([`crate::guest`]).

use serde::Serialize;
use serde_json::Value;

use crate::guest::GuestName;
use crate::values::{HistoryLimit, ServerOffset};

/// What a client sends as its connect `auth`. Fields left `None` are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    /// The highest offset this client has seen: the server replays what follows, in every
    /// channel the socket is in (private conversations included: they are channels too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_offset: Option<i64>,
    /// A fresh page (no `serverOffset`) wants only the latest N messages replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_limit: Option<u32>,
    /// The guest name this client would like (`guest-…`), when it is not signed in;
    /// ignored otherwise, and when it is not a guest name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Live messages as `chat messages` lists, one per write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batched: Option<bool>,
}

/// How a socket takes live messages, as its client asked at connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Delivery {
    /// One `chat message` event per message: the tutorial's protocol, and the default.
    #[default]
    PerMessage,
    /// `chat messages` lists (`auth.batched: true`).
    Batched,
}

/// A connect `auth`, validated: what the server knows of a client from its handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAuth {
    /// Replay the messages of the socket's channels after this offset (0: all, or see
    /// `history_limit`).
    pub server_offset: ServerOffset,
    /// With no `server_offset`: replay only the latest N.
    pub history_limit: Option<HistoryLimit>,
    /// The guest name the client proposed, if it proposed a valid one.
    pub guest_name: Option<GuestName>,
    /// How the socket takes live messages.
    pub delivery: Delivery,
}

impl ConnectAuth {
    /// Parses a client's `auth` (`None` when it sent none, or something that is not JSON).
    /// Offsets that are missing, negative or malformed mean 0; a `historyLimit` outside
    /// 1–10000 means none; `batched` is on only for `true`; a `nickname` that is not a guest
    /// name is ignored. A `privateOffset` (sent by pages from before private messages were
    /// channels) is ignored too: the one `serverOffset` covers them now.
    pub fn parse(auth: Option<&Value>) -> Self {
        let field = |name: &str| auth.and_then(|auth| auth.get(name));
        let guest_name = field("nickname")
            .and_then(Value::as_str)
            .and_then(GuestName::parse);
        Self {
            server_offset: ServerOffset::lenient(field("serverOffset")),
            history_limit: HistoryLimit::lenient(field("historyLimit")),
            guest_name,
            delivery: match field("batched") {
                Some(Value::Bool(true)) => Delivery::Batched,
                _ => Delivery::PerMessage,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_auth_is_the_tutorials_fresh_client() {
        for auth in [None, Some(json!(null)), Some(json!({})), Some(json!("x"))] {
            let parsed = ConnectAuth::parse(auth.as_ref());
            assert_eq!(
                parsed,
                ConnectAuth {
                    server_offset: ServerOffset(0),
                    history_limit: None,
                    guest_name: None,
                    delivery: Delivery::PerMessage,
                }
            );
        }
    }

    #[test]
    fn offsets_are_read_leniently() {
        let offset = |auth: Value| ConnectAuth::parse(Some(&auth)).server_offset;
        assert_eq!(offset(json!({"serverOffset": -3})), ServerOffset(0));
        assert_eq!(offset(json!({"serverOffset": "x"})), ServerOffset(0));
        assert_eq!(offset(json!({"serverOffset": 1.5})), ServerOffset(0));
        assert_eq!(offset(json!({"serverOffset": 12})), ServerOffset(12));
        assert_eq!(offset(json!({"serverOffset": " 7"})), ServerOffset(7));
    }

    #[test]
    fn a_nickname_only_proposes_a_guest_name() {
        let guest = |auth: Value| ConnectAuth::parse(Some(&auth)).guest_name;
        for not_a_guest in [json!(3), json!(" "), json!("vic"), json!("Guest-1")] {
            assert_eq!(guest(json!({ "nickname": not_a_guest })), None);
        }
        assert_eq!(
            guest(json!({"nickname": "guest-3f2a"})).map(GuestName::into_inner),
            Some("guest-3f2a".into())
        );
    }

    #[test]
    fn what_a_client_builds_the_server_reads() {
        let request = AuthRequest {
            server_offset: Some(41),
            history_limit: Some(50),
            nickname: Some("guest-ana".into()),
            batched: Some(true),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            json!({"serverOffset": 41, "historyLimit": 50, "nickname": "guest-ana", "batched": true})
        );
        let parsed = ConnectAuth::parse(Some(&json));
        assert_eq!(parsed.server_offset, ServerOffset(41));
        assert_eq!(parsed.history_limit.map(HistoryLimit::get), Some(50));
        assert_eq!(parsed.guest_name.unwrap().as_str(), "guest-ana");
        assert_eq!(parsed.delivery, Delivery::Batched);
        assert_eq!(
            serde_json::to_value(AuthRequest::default()).unwrap(),
            json!({}),
            "unset fields are not sent"
        );
    }
}
