//! Channels: their ids and names, the requests about them and what the server answers.
//!
//! Every message belongs to one channel. `#general` ([`ChannelId::GENERAL`]) is everyone's
//! and is the tutorial's stream: a client that knows nothing of channels (the tutorial's
//! page) sends and receives `#general` only. Signed-in users create more channels, public
//! (anyone signed in may join) or private (members invite members).
//!
//! A message's place is two numbers: its `serverOffset`, its position in the one global
//! order every socket receives its channels' messages in (what a client resumes from), and
//! its `seq`, its position in its channel, consecutive from 1 (what unread counts, read
//! markers and a client's gap check per channel use).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a request about a channel was refused. The text is sent to the client verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The name had fewer than [`ChannelName::MIN_CHARS`] characters.
    #[error("channel name too short: {0} characters, at least {min}", min = ChannelName::MIN_CHARS)]
    NameTooShort(usize),
    /// The name had more than [`ChannelName::MAX_CHARS`] characters.
    #[error("channel name too long: {0} characters, at most {max}", max = ChannelName::MAX_CHARS)]
    NameTooLong(usize),
    /// The name held a character outside `a-z 0-9 - _`.
    #[error("channel names may contain only letters a-z, digits 0-9, - and _ (found {0:?})")]
    NameCharacter(char),
    /// The name started with `-` or `_`.
    #[error("a channel name must start with a letter or a digit")]
    NameStart,
    /// The topic was longer than [`ChannelTopic::MAX_CHARS`].
    #[error("topic too long: {0} characters, at most {max}", max = ChannelTopic::MAX_CHARS)]
    TopicTooLong(usize),
    /// The topic held a control character.
    #[error("a topic may not contain control characters")]
    TopicControlCharacter,
    /// The request's arguments had the wrong shape.
    #[error("{0}")]
    Arguments(String),
}

/// A channel's id. `#general` is [`Self::GENERAL`]; the store numbers the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub i64);

impl Default for ChannelId {
    /// `#general`: where a message that names no channel belongs.
    fn default() -> Self {
        Self::GENERAL
    }
}

impl ChannelId {
    /// `#general`: everyone's channel, the tutorial's stream.
    pub const GENERAL: Self = Self(1);

    /// The Socket.IO room of the sockets that receive this channel's messages.
    pub fn room(self) -> String {
        format!("channel:{}", self.0)
    }

    /// The channel whose room `room` is, if it is a channel's room.
    pub fn of_room(room: &str) -> Option<Self> {
        room.strip_prefix("channel:")?.parse().ok().map(Self)
    }

    /// Reads a channel id argument: a positive integer.
    pub fn from_value(value: &Value) -> Result<Self, ChannelError> {
        match value.as_i64() {
            Some(id) if id > 0 => Ok(Self(id)),
            _ => Err(ChannelError::Arguments(format!(
                "channel must be a channel id (a positive integer), got {value}"
            ))),
        }
    }
}

impl From<i64> for ChannelId {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A channel's name, without the `#`: [`Self::MIN_CHARS`] to [`Self::MAX_CHARS`]
/// characters, each a lowercase ASCII letter, a digit, `-` or `_`, the first a letter or a
/// digit. Uppercase letters are accepted and folded (`#Dev` is `#dev`), so two channels can
/// never differ by case alone; anything else is refused, not changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChannelName(String);

impl ChannelName {
    /// Shortest accepted name, in characters.
    pub const MIN_CHARS: usize = 2;
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Accepts `name` (a leading `#` is ignored) if it follows the rules above.
    pub fn parse(name: &str) -> Result<Self, ChannelError> {
        let name = name.strip_prefix('#').unwrap_or(name);
        let chars = name.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(ChannelError::NameTooShort(chars));
        }
        if chars > Self::MAX_CHARS {
            return Err(ChannelError::NameTooLong(chars));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        {
            return Err(ChannelError::NameCharacter(bad));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ChannelError::NameStart);
        }
        Ok(Self(name.to_ascii_lowercase()))
    }

    /// The name, lowercase, without `#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChannelName {
    type Error = ChannelError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name)
    }
}

impl From<ChannelName> for String {
    fn from(name: ChannelName) -> Self {
        name.0
    }
}

/// A channel's topic: at most [`Self::MAX_CHARS`] characters, no control characters,
/// surrounding whitespace trimmed (it may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChannelTopic(String);

impl ChannelTopic {
    /// Longest accepted topic, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Accepts `topic`, trimmed, if it follows the rules above.
    pub fn parse(topic: &str) -> Result<Self, ChannelError> {
        let topic = topic.trim();
        let chars = topic.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(ChannelError::TopicTooLong(chars));
        }
        if topic.chars().any(char::is_control) {
            return Err(ChannelError::TopicControlCharacter);
        }
        Ok(Self(topic.to_owned()))
    }

    /// The topic.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChannelTopic {
    type Error = ChannelError;

    fn try_from(topic: String) -> Result<Self, Self::Error> {
        Self::parse(&topic)
    }
}

impl From<ChannelTopic> for String {
    fn from(topic: ChannelTopic) -> Self {
        topic.0
    }
}

/// A channel as one of its members sees it: in `channels`, `channel joined` and the acks
/// of `channel create` and `channel join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    /// Its id.
    pub id: ChannelId,
    /// Its name, without `#`.
    pub name: String,
    /// Whether only invited members may join.
    pub private: bool,
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

/// The ack of `channel create` and `channel join`: the channel, as its new member sees it.
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

/// The usernames a message mentions: each `@name` whose name follows the username rules,
/// case-folded, each once, in order of appearance. `@` must start the text or follow a
/// character that is not part of a name (so an e-mail address mentions nobody).
pub fn mentioned_names(text: &str) -> Vec<String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut names = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        if c == '@' && !previous.is_some_and(is_name_char) {
            let rest = &text[at + 1..];
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            if let Ok(name) = crate::accounts::Username::parse(name) {
                let key = name.key().as_str().to_owned();
                if !names.contains(&key) {
                    names.push(key);
                }
            }
        }
        previous = Some(c);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_fold_case_and_refuse_what_they_cannot_hold() {
        assert_eq!(
            ChannelName::parse("#Dev-Ops_2").unwrap().as_str(),
            "dev-ops_2"
        );
        assert_eq!(ChannelName::parse("a"), Err(ChannelError::NameTooShort(1)));
        assert_eq!(
            ChannelName::parse(&"x".repeat(33)),
            Err(ChannelError::NameTooLong(33))
        );
        assert_eq!(
            ChannelName::parse("dev ops"),
            Err(ChannelError::NameCharacter(' '))
        );
        assert_eq!(
            ChannelName::parse("café"),
            Err(ChannelError::NameCharacter('é'))
        );
        assert_eq!(ChannelName::parse("-dev"), Err(ChannelError::NameStart));
    }

    #[test]
    fn a_topic_is_trimmed_and_bounded() {
        assert_eq!(ChannelTopic::parse("  hi  ").unwrap().as_str(), "hi");
        assert_eq!(
            ChannelTopic::parse(&"t".repeat(201)),
            Err(ChannelError::TopicTooLong(201))
        );
        assert_eq!(
            ChannelTopic::parse("a\u{7}b"),
            Err(ChannelError::TopicControlCharacter)
        );
    }

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

    #[test]
    fn rooms_name_channels_and_back() {
        assert_eq!(ChannelId(7).room(), "channel:7");
        assert_eq!(ChannelId::of_room("channel:7"), Some(ChannelId(7)));
        assert_eq!(ChannelId::of_room("user:7"), None);
    }

    #[test]
    fn mentions_are_names_after_an_at_sign_once_each() {
        assert_eq!(
            mentioned_names("@Vic and @carl, hi @vic. mail me at ana@example.org"),
            vec!["vic", "carl"]
        );
        assert_eq!(
            mentioned_names("@ab is too short, @guest-1 is a guest"),
            Vec::<String>::new()
        );
        assert_eq!(mentioned_names("(@bob)"), vec!["bob"]);
    }
}
