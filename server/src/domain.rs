//! Validated values of the chat protocol.
//!
//! Everything that arrives from the network is parsed here, once, into newtypes; the rest of
//! the server can then only hold a valid text, client offset or server offset. Each rejection
//! is a [`ValidationError`] whose `Display` is the message the client reads in its ack.

use serde::Serialize;
use serde_json::Value;

/// Why a `chat message` event was refused. The text is sent to the client verbatim.
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

    /// The nickname a client sent in its connect `auth` (`{ nickname }`); none means
    /// [`Self::ANONYMOUS`].
    pub fn from_auth(auth: Option<&Value>) -> Result<Self, ValidationError> {
        match auth.and_then(|a| a.get("nickname")) {
            None | Some(Value::Null) => Ok(Self::anonymous()),
            Some(Value::String(name)) => Self::parse(name),
            Some(other) => Err(ValidationError::NicknameNotString(json_type_name(other))),
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
/// they have seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct ServerOffset(pub i64);

impl From<i64> for ServerOffset {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl ServerOffset {
    /// Reads the offset a client sent in its connect `auth` payload (`{ serverOffset: N }`).
    /// A missing, negative or malformed value means "from the beginning", as in the tutorial.
    /// Numeric strings are accepted since some clients store the offset as text.
    pub fn from_auth(auth: &Value) -> Self {
        Self::from_auth_field(auth, "serverOffset")
    }

    /// The same rules for another field of the auth payload (`privateOffset`).
    pub fn from_auth_field(auth: &Value, field: &str) -> Self {
        let offset = match auth.get(field) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        Self(offset.filter(|n| *n >= 0).unwrap_or(0))
    }
}

/// How much history a fresh page wants replayed (`auth.historyLimit`): the latest N
/// messages instead of all of them; it pages back with `history` for more. Only applies to
/// a client without a `serverOffset` (a reconnect always gets everything it missed).
pub fn history_limit_from_auth(auth: &Value) -> Option<u32> {
    auth.get("historyLimit")
        .and_then(Value::as_u64)
        .filter(|n| (1..=10_000).contains(n))
        .map(|n| n as u32)
}

/// A validated `chat message` event: what the client asked the server to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The message text.
    pub text: MessageText,
    /// The client's idempotency key.
    pub client_offset: ClientOffset,
    /// Who sent it (the sending socket's nickname; [`Nickname::anonymous`] until set).
    pub author: Nickname,
    /// For a private message, the only other user who may read it.
    pub recipient: Option<Nickname>,
}

impl NewMessage {
    /// Validates the raw arguments of a `chat message` event: exactly `(text, clientOffset)`.
    pub fn from_event_args(args: Vec<Value>, max_bytes: usize) -> Result<Self, ValidationError> {
        let [text, client_offset]: [Value; 2] = args
            .try_into()
            .map_err(|args: Vec<Value>| ValidationError::ArgumentCount(args.len()))?;
        let text = match text {
            Value::String(text) => MessageText::parse(text, max_bytes)?,
            other => return Err(ValidationError::TextNotString(json_type_name(&other))),
        };
        let client_offset = match client_offset {
            Value::String(key) => ClientOffset::parse(key)?,
            other => {
                return Err(ValidationError::ClientOffsetNotString(json_type_name(
                    &other,
                )));
            }
        };
        Ok(Self {
            text,
            client_offset,
            author: Nickname::anonymous(),
            recipient: None,
        })
    }

    /// Validates the raw arguments of a `private message` event: exactly `(to, text,
    /// clientOffset)`.
    pub fn private_from_event_args(
        mut args: Vec<Value>,
        max_bytes: usize,
    ) -> Result<Self, ValidationError> {
        if args.len() != 3 {
            return Err(ValidationError::PrivateArgumentCount(args.len()));
        }
        let recipient = match args.remove(0) {
            Value::String(name) => Nickname::parse(&name)?,
            other => return Err(ValidationError::NicknameNotString(json_type_name(&other))),
        };
        let message = Self::from_event_args(args, max_bytes)?;
        Ok(Self {
            recipient: Some(recipient),
            ..message
        })
    }

    /// The same message, written by `author`.
    pub fn by(self, author: Nickname) -> Self {
        Self { author, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(values: Value) -> Vec<Value> {
        values.as_array().expect("test args are an array").clone()
    }

    #[test]
    fn accepts_text_and_client_offset() {
        let msg = NewMessage::from_event_args(args(json!(["hi", "abc-1"])), 4096).unwrap();
        assert_eq!(msg.text.as_str(), "hi");
        assert_eq!(msg.client_offset.as_str(), "abc-1");
    }

    #[test]
    fn rejects_wrong_argument_count() {
        for (values, n) in [
            (json!([]), 0),
            (json!(["hi"]), 1),
            (json!(["a", "b", "c"]), 3),
        ] {
            let err = NewMessage::from_event_args(args(values), 4096).unwrap_err();
            assert_eq!(err, ValidationError::ArgumentCount(n));
        }
    }

    #[test]
    fn rejects_blank_and_non_string_text() {
        let err = NewMessage::from_event_args(args(json!([" \n\t", "k"])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::EmptyText);
        let err = NewMessage::from_event_args(args(json!([42, "k"])), 4096).unwrap_err();
        assert_eq!(err.to_string(), "text must be a string, got number");
    }

    #[test]
    fn rejects_text_over_the_limit_with_its_size() {
        let err =
            NewMessage::from_event_args(args(json!(["x".repeat(5000), "k"])), 4096).unwrap_err();
        assert_eq!(err.to_string(), "message too long: 5000 bytes, max 4096");
    }

    #[test]
    fn limit_counts_bytes_not_characters() {
        // 3 characters, 9 bytes.
        assert!(MessageText::parse("€€€".into(), 8).is_err());
        assert!(MessageText::parse("€€€".into(), 9).is_ok());
    }

    #[test]
    fn rejects_missing_empty_and_long_client_offsets() {
        let err = NewMessage::from_event_args(args(json!(["hi", null])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::ClientOffsetNotString("null"));
        let err = NewMessage::from_event_args(args(json!(["hi", ""])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::EmptyClientOffset);
        let err =
            NewMessage::from_event_args(args(json!(["hi", "k".repeat(129)])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::ClientOffsetTooLong(129));
        assert!(ClientOffset::parse("k".repeat(128)).is_ok());
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
        assert_eq!(Nickname::from_auth(None).unwrap(), Nickname::anonymous());
        assert_eq!(
            Nickname::from_auth(Some(&json!({"nickname": 3}))),
            Err(ValidationError::NicknameNotString("number"))
        );
        assert_eq!(
            Nickname::from_auth(Some(&json!({"nickname": "bo"})))
                .unwrap()
                .as_str(),
            "bo"
        );
    }

    #[test]
    fn server_offset_from_auth_defaults_to_zero() {
        assert_eq!(ServerOffset::from_auth(&json!({})), ServerOffset(0));
        assert_eq!(ServerOffset::from_auth(&json!(null)), ServerOffset(0));
        assert_eq!(
            ServerOffset::from_auth(&json!({"serverOffset": -3})),
            ServerOffset(0)
        );
        assert_eq!(
            ServerOffset::from_auth(&json!({"serverOffset": "x"})),
            ServerOffset(0)
        );
        assert_eq!(
            ServerOffset::from_auth(&json!({"serverOffset": 1.5})),
            ServerOffset(0)
        );
        assert_eq!(
            ServerOffset::from_auth(&json!({"serverOffset": 12})),
            ServerOffset(12)
        );
        assert_eq!(
            ServerOffset::from_auth(&json!({"serverOffset": "7"})),
            ServerOffset(7)
        );
    }
}
