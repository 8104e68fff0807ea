//! The payloads of the channel requests and their answers, both directions: the server
//! serializes these types and a client deserializes the same ones.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ChannelError, ChannelId, ChannelName, ChannelTopic};

/// A channel as one of its members sees it: in `channels`, `channel joined` and the acks
/// of `channel create` and `channel join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    /// Its id.
    pub id: ChannelId,
    /// Its name, without `#` (for a direct channel, a key of the server's that is not a
    /// channel name: show [`Self::direct_with`] instead).
    pub name: String,
    /// Whether only invited members may join (direct channels are).
    pub private: bool,
    /// For a direct channel (a private conversation of two), the other account's username
    /// (one's own in a conversation with oneself); `None` for every other channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_with: Option<String>,
    /// Its topic (may be empty).
    pub topic: String,
    /// The `seq` of its latest message (0: none yet).
    pub last_seq: i64,
    /// The `seq` of the latest message this account has read.
    pub last_read: i64,
    /// Messages after `last_read` by others than this account.
    pub unread: u64,
    /// Of those, the ones that mention this account (`@name`).
    pub mentions: u64,
}

/// A public channel one may join (in `channels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinableChannel {
    /// Its id.
    pub id: ChannelId,
    /// Its name, without `#`.
    pub name: String,
    /// Its topic.
    pub topic: String,
    /// How many accounts are in it.
    pub members: u64,
}

/// The ack of `channels`: the channels one is in (`#general` first), and the public ones
/// one could join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelList {
    /// The channels one is in.
    pub channels: Vec<ChannelInfo>,
    /// The public channels one is not in.
    pub joinable: Vec<JoinableChannel>,
}

/// `channel create` ({ name, private?, topic? }): a new channel, with its creator as its
/// first member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateChannel {
    /// Its name.
    pub name: ChannelName,
    /// Whether only invited members may join (default: public).
    #[serde(default)]
    pub private: bool,
    /// Its topic (default: none).
    #[serde(default)]
    pub topic: ChannelTopic,
}

/// `channel invite` ({ channel, username }): adds an account to a channel one is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteToChannel {
    /// The channel.
    pub channel: ChannelId,
    /// Who is invited.
    pub username: String,
}

/// `channel direct` ({ username }): the direct channel of this account and `username`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenDirect {
    /// Who to write to.
    pub username: String,
}

/// `channel topic` ({ channel, topic }): sets a channel's topic (any member may).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetTopic {
    /// The channel.
    pub channel: ChannelId,
    /// The new topic.
    pub topic: ChannelTopic,
}

/// `channel read` ({ channel, seq }), both ways: this account has read the channel up to
/// `seq`. Sent by a page as its reader reaches the bottom; told by the server to every tab
/// of the account, so unread counts agree across tabs and devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadUpTo {
    /// The channel.
    pub channel: ChannelId,
    /// The `seq` read up to.
    pub seq: i64,
}

/// `{ channel }`: the argument of `channel join`, `channel leave` and `channel members`, and
/// what `channel left` tells the account's other tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelRef {
    /// The channel.
    pub channel: ChannelId,
}

/// The ack of `channel members`: the usernames in a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMembers {
    /// Its members' usernames, sorted.
    pub members: Vec<String>,
}

/// `channel updated` to a channel's members: its topic changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelUpdated {
    /// The channel.
    pub channel: ChannelId,
    /// Its topic now.
    pub topic: String,
}

/// The ack of `channel create`, `channel join` and `channel direct`: the channel, as its
/// new member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelJoined {
    /// The channel.
    pub channel: ChannelInfo,
}

/// The ack of a request that has nothing to report but that it was done (`channel leave`,
/// `channel invite`, `channel topic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// Always `true`.
    pub ok: bool,
}

impl Done {
    /// `{ ok: true }`.
    pub const OK: Self = Self { ok: true };
}

/// Reads the one object argument of a channel request as `T`.
pub fn object_arg<T: serde::de::DeserializeOwned>(
    event: &str,
    args: Vec<Value>,
) -> Result<T, ChannelError> {
    let [arg] = <[Value; 1]>::try_from(args).map_err(|args| {
        ChannelError::Arguments(format!(
            "{event} takes one object argument, got {}",
            args.len()
        ))
    })?;
    serde_json::from_value(arg).map_err(|error| ChannelError::Arguments(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_one_object_with_known_fields() {
        let create: CreateChannel = object_arg(
            "channel create",
            vec![json!({"name": "Dev", "private": true})],
        )
        .unwrap();
        assert_eq!(create.name.as_str(), "dev");
        assert!(create.private);
        assert!(object_arg::<CreateChannel>("channel create", vec![]).is_err());
        assert!(
            object_arg::<CreateChannel>("channel create", vec![json!({"name": "a b"})]).is_err()
        );
        assert!(
            object_arg::<ChannelRef>("channel join", vec![json!({"channel": 1, "x": 2})]).is_err()
        );
        let error = object_arg::<ChannelRef>("channel join", vec![json!(1), json!(2)]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "channel join takes one object argument, got 2"
        );
    }
}
