//! Validated values of the chat protocol.
//!
//! Everything that arrives from the network is parsed here, once, into newtypes; whoever
//! holds one holds a valid text, client offset, nickname or server offset. Each rejection is
//! a [`ValidationError`] whose `Display` is the message the client reads in its ack.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why an event's arguments were refused. The text is sent to the client verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The event carried a number of arguments other than `(text, clientOffset)`.
    #[error("expected 2 arguments (text, clientOffset), got {0}")]
    ArgumentCount(usize),
    /// The text argument was not a JSON string.
    #[error("text must be a string, got {0}")]
    TextNotString(&'static str),
    /// The text was empty or only whitespace.
    #[error("message is empty")]
    EmptyText,
    /// The text was longer than the configured limit, in UTF-8 bytes.
    #[error("message too long: {len} bytes, max {max}")]
    TextTooLong {
        /// Length of the refused text in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The client offset was missing or not a string.
    #[error("clientOffset must be a string, got {0}")]
    ClientOffsetNotString(&'static str),
    /// The client offset was empty.
    #[error("clientOffset is empty")]
    EmptyClientOffset,
    /// The client offset was longer than [`ClientOffset::MAX_CHARS`].
    #[error("clientOffset too long: {0} characters, max {max}", max = ClientOffset::MAX_CHARS)]
    ClientOffsetTooLong(usize),
    /// A `private message` carried a number of arguments other than `(to, text,
    /// clientOffset)`.
    #[error("expected 3 arguments (to, text, clientOffset), got {0}")]
    PrivateArgumentCount(usize),
    /// The nickname was not a string.
    #[error("nickname must be a string, got {0}")]
    NicknameNotString(&'static str),
    /// The nickname was empty or only whitespace.
    #[error("nickname is empty")]
    EmptyNickname,
    /// The nickname was longer than [`Nickname::MAX_CHARS`].
    #[error("nickname too long: {0} characters, max {max}", max = Nickname::MAX_CHARS)]
    NicknameTooLong(usize),
    /// The nickname contained a control character.
    #[error("nickname contains a control character")]
    NicknameControlCharacter,
    /// A `history` request carried something other than `(beforeOffset > 0, limit)`.
    #[error("{0}")]
    History(&'static str),
}

/// Names a JSON value's type for error messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The text of a chat message: a non-blank string within the size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Default limit on a message's size in UTF-8 bytes.
    pub const DEFAULT_MAX_BYTES: usize = 4096;

    /// Accepts `text` if it is not blank and at most `max_bytes` long. The text is kept as
    /// sent (not trimmed): what the author typed is what everyone reads.
    pub fn parse(text: String, max_bytes: usize) -> Result<Self, ValidationError> {
        if text.len() > max_bytes {
            return Err(ValidationError::TextTooLong {
                len: text.len(),
                max: max_bytes,
            });
        }
        if text.trim().is_empty() {
            return Err(ValidationError::EmptyText);
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The client's idempotency key for one message: the same key sent twice is stored once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientOffset(String);

impl ClientOffset {
    /// Longest accepted key, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Accepts a non-empty key of at most [`Self::MAX_CHARS`] characters.
    pub fn parse(key: String) -> Result<Self, ValidationError> {
        let chars = key.chars().count();
        if chars == 0 {
            return Err(ValidationError::EmptyClientOffset);
        }
        if chars > Self::MAX_CHARS {
            return Err(ValidationError::ClientOffsetTooLong(chars));
        }
        Ok(Self(key))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Who wrote a message: a trimmed name of 1 to [`Nickname::MAX_CHARS`] characters without
/// control characters. Not an account: two people may pick the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Nickname(String);

impl Nickname {
    /// Longest accepted nickname, in characters.
    pub const MAX_CHARS: usize = 32;

    /// The author of messages from clients that send no nickname (the tutorial's client).
    pub const ANONYMOUS: &str = "anonymous";

    /// Accepts `name`, trimmed, if it is 1 to [`Self::MAX_CHARS`] characters without
    /// control characters.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(ValidationError::EmptyNickname);
        }
        if chars > Self::MAX_CHARS {
            return Err(ValidationError::NicknameTooLong(chars));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::NicknameControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// A nickname sent as a JSON value: a string that [`Self::parse`] accepts.
    pub fn from_json(value: &Value) -> Result<Self, ValidationError> {
        match value {
            Value::String(name) => Self::parse(name),
            other => Err(ValidationError::NicknameNotString(json_type_name(other))),
        }
    }

    /// [`Self::ANONYMOUS`].
    pub fn anonymous() -> Self {
        Self(Self::ANONYMOUS.to_owned())
    }

    /// Whether this is [`Self::ANONYMOUS`], the name every client without a nickname shares
    /// (so it has no private messages: they would reach all of those clients).
    pub fn is_anonymous(&self) -> bool {
        self.0 == Self::ANONYMOUS
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A message's position in the global order: its row id. Clients resume from the highest one
/// they have seen, whatever channels they are in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ServerOffset(pub i64);

impl From<i64> for ServerOffset {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl ServerOffset {
    /// Reads an offset a client sent: a missing, negative or malformed value means "from the
    /// beginning", as in the tutorial. Numeric strings are accepted since some clients store
    /// the offset as text.
    pub fn lenient(value: Option<&Value>) -> Self {
        let offset = match value {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        Self(offset.filter(|n| *n >= 0).unwrap_or(0))
    }
}

/// How many of the latest messages a fresh page wants replayed (`auth.historyLimit`),
/// 1 to [`HistoryLimit::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimit(u32);

impl HistoryLimit {
    /// The most a page may ask for.
    pub const MAX: u32 = 10_000;

    /// A limit from a JSON value: an integer from 1 to [`Self::MAX`], else none (replay
    /// everything, as the tutorial does).
    pub fn lenient(value: Option<&Value>) -> Option<Self> {
        value
            .and_then(Value::as_u64)
            .filter(|n| (1..=u64::from(Self::MAX)).contains(n))
            .map(|n| Self(n as u32))
    }

    /// The number of messages.
    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limit_counts_bytes_not_characters() {
        // 3 characters, 9 bytes.
        assert!(MessageText::parse("€€€".into(), 8).is_err());
        assert!(MessageText::parse("€€€".into(), 9).is_ok());
    }

    #[test]
    fn nicknames_are_trimmed_and_bounded() {
        assert_eq!(Nickname::parse("  ana ").unwrap().as_str(), "ana");
        assert_eq!(Nickname::parse(" "), Err(ValidationError::EmptyNickname));
        assert_eq!(
            Nickname::parse(&"é".repeat(33)),
            Err(ValidationError::NicknameTooLong(33))
        );
        assert!(Nickname::parse(&"é".repeat(32)).is_ok());
        assert_eq!(
            Nickname::parse("a\u{7}b"),
            Err(ValidationError::NicknameControlCharacter)
        );
        assert_eq!(
            Nickname::from_json(&json!(3)),
            Err(ValidationError::NicknameNotString("number"))
        );
    }

    #[test]
    fn history_limits_outside_their_range_mean_none() {
        assert_eq!(
            HistoryLimit::lenient(Some(&json!(50))).map(HistoryLimit::get),
            Some(50)
        );
        for bad in [json!(0), json!(10_001), json!(-1), json!("50"), json!(1.5)] {
            assert_eq!(HistoryLimit::lenient(Some(&bad)), None, "{bad}");
        }
        assert_eq!(HistoryLimit::lenient(None), None);
    }
}
