//! Channels: their ids and names, the requests about them and what the server answers.
//!
//! Every message belongs to one channel. `#general` ([`ChannelId::GENERAL`]) is everyone's
//! and is the tutorial's stream: a client that knows nothing of channels (the tutorial's
//! page) sends and receives `#general` only. Signed-in users create more channels, public
//! (anyone signed in may join) or private (members invite members). A private conversation
//! is a channel too: the *direct* channel of two accounts ([`ChannelInfo::direct_with`]),
//! made by their first `private message` or `channel direct`, which nobody else can join
//! and neither can leave, so one mechanism carries every message.
//!
//! A message's place is two numbers: its `serverOffset`, its position in the one global
//! order every socket receives its channels' messages in (what a client resumes from), and
//! its `seq`, its position in its channel, consecutive from 1 (what unread counts, read
//! markers and a client's gap check per channel use).
//!
//! The values are here; the payloads of the requests and answers in `channels/payloads.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod payloads;

pub use payloads::{
    ChannelInfo, ChannelJoined, ChannelList, ChannelMembers, ChannelRef, ChannelUpdated,
    CreateChannel, Done, InviteToChannel, JoinableChannel, OpenDirect, ReadUpTo, SetTopic,
    object_arg,
};

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
