//! The arguments of client → server events, validated once.
//!
//! Each `from_args` takes the event's whole argument list (the ack callback is not one of
//! them) and returns a value that can only hold valid fields, or the [`ValidationError`]
//! the client reads in its ack.

use serde_json::Value;

use crate::values::{
    ClientOffset, MessageText, Nickname, ServerOffset, ValidationError, json_type_name,
};

/// A `chat message`: exactly `(text, clientOffset)`, the tutorial's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessageRequest {
    /// The text, not blank and within the size limit.
    pub text: MessageText,
    /// The client's idempotency key.
    pub client_offset: ClientOffset,
}

impl ChatMessageRequest {
    /// Validates `(text, clientOffset)` with texts of at most `max_bytes` UTF-8 bytes.
    pub fn from_args(args: Vec<Value>, max_bytes: usize) -> Result<Self, ValidationError> {
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
        })
    }
}

/// A `private message`: exactly `(to, text, clientOffset)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateMessageRequest {
    /// The recipient.
    pub to: Nickname,
    /// The text and idempotency key, as for `chat message`.
    pub message: ChatMessageRequest,
}

impl PrivateMessageRequest {
    /// Validates `(to, text, clientOffset)`.
    pub fn from_args(mut args: Vec<Value>, max_bytes: usize) -> Result<Self, ValidationError> {
        if args.len() != 3 {
            return Err(ValidationError::PrivateArgumentCount(args.len()));
        }
        let to = Nickname::from_json(&args.remove(0))?;
        let message = ChatMessageRequest::from_args(args, max_bytes)?;
        Ok(Self { to, message })
    }
}

/// A `nickname` change: exactly one argument, the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicknameRequest(pub Nickname);

impl NicknameRequest {
    /// Validates `(name)`.
    pub fn from_args(args: &[Value]) -> Result<Self, ValidationError> {
        match args {
            [name] => Nickname::from_json(name).map(Self),
            _ => Err(ValidationError::NicknameNotString("nothing")),
        }
    }
}

/// A `history` request: `(beforeOffset, limit)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRequest {
    /// The page ends just before this offset (> 0).
    pub before: ServerOffset,
    /// How many messages at most, 1 to [`HistoryRequest::MAX_LIMIT`].
    pub limit: u32,
    /// Whose messages: a channel one is in (`#general` when not given).
    pub channel: crate::channels::ChannelId,
}

impl HistoryRequest {
    /// Most messages one `history` request returns.
    pub const MAX_LIMIT: u32 = 200;

    /// Validates `(beforeOffset > 0, limit 1..=200[, channel > 0])`.
    pub fn from_args(args: &[Value]) -> Result<Self, ValidationError> {
        let (before, limit, channel) = match args {
            [before, limit] => (before, limit, None),
            [before, limit, channel] => (before, limit, Some(channel)),
            _ => {
                return Err(ValidationError::History(
                    "history needs 2 or 3 arguments (beforeOffset, limit[, channel])",
                ));
            }
        };
        let channel = match channel.map(|c| c.as_i64()) {
            None => Some(crate::channels::ChannelId::GENERAL),
            Some(Some(id)) if id > 0 => Some(crate::channels::ChannelId(id)),
            Some(_) => None,
        };
        match (before.as_i64(), limit.as_u64(), channel) {
            (Some(before), Some(limit), Some(channel))
                if before > 0 && (1..=u64::from(Self::MAX_LIMIT)).contains(&limit) =>
            {
                Ok(Self {
                    before: ServerOffset(before),
                    limit: limit as u32,
                    channel,
                })
            }
            _ => Err(ValidationError::History(
                "history needs (beforeOffset > 0, limit 1..=200[, channel id > 0])",
            )),
        }
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
        let msg = ChatMessageRequest::from_args(args(json!(["hi", "abc-1"])), 4096).unwrap();
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
            let err = ChatMessageRequest::from_args(args(values), 4096).unwrap_err();
            assert_eq!(err, ValidationError::ArgumentCount(n));
        }
    }

    #[test]
    fn rejects_blank_and_non_string_text() {
        let err = ChatMessageRequest::from_args(args(json!([" \n\t", "k"])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::EmptyText);
        let err = ChatMessageRequest::from_args(args(json!([42, "k"])), 4096).unwrap_err();
        assert_eq!(err.to_string(), "text must be a string, got number");
    }

    #[test]
    fn rejects_text_over_the_limit_with_its_size() {
        let err =
            ChatMessageRequest::from_args(args(json!(["x".repeat(5000), "k"])), 4096).unwrap_err();
        assert_eq!(err.to_string(), "message too long: 5000 bytes, max 4096");
    }

    #[test]
    fn rejects_missing_empty_and_long_client_offsets() {
        let err = ChatMessageRequest::from_args(args(json!(["hi", null])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::ClientOffsetNotString("null"));
        let err = ChatMessageRequest::from_args(args(json!(["hi", ""])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::EmptyClientOffset);
        let err =
            ChatMessageRequest::from_args(args(json!(["hi", "k".repeat(129)])), 4096).unwrap_err();
        assert_eq!(err, ValidationError::ClientOffsetTooLong(129));
        assert!(ClientOffset::parse("k".repeat(128)).is_ok());
    }

    #[test]
    fn a_private_message_names_its_recipient_first() {
        let request =
            PrivateMessageRequest::from_args(args(json!([" bo ", "psst", "k-1"])), 4096).unwrap();
        assert_eq!(request.to.as_str(), "bo");
        assert_eq!(request.message.text.as_str(), "psst");
        assert_eq!(
            PrivateMessageRequest::from_args(args(json!(["bo", "psst"])), 4096),
            Err(ValidationError::PrivateArgumentCount(2))
        );
        assert_eq!(
            PrivateMessageRequest::from_args(args(json!([7, "psst", "k"])), 4096),
            Err(ValidationError::NicknameNotString("number"))
        );
    }

    #[test]
    fn history_requests_are_bounded_and_explained() {
        assert_eq!(
            HistoryRequest::from_args(&args(json!([51, 50]))),
            Ok(HistoryRequest {
                before: ServerOffset(51),
                limit: 50,
                channel: crate::channels::ChannelId::GENERAL,
            })
        );
        assert_eq!(
            HistoryRequest::from_args(&args(json!([51, 50, 4]))).map(|r| r.channel),
            Ok(crate::channels::ChannelId(4))
        );
        for bad in [
            json!([0, 50]),
            json!([5, 0]),
            json!([5, 201]),
            json!(["5", 1]),
            json!([5, 1, 0]),
            json!([5, 1, "general"]),
        ] {
            assert_eq!(
                HistoryRequest::from_args(&args(bad))
                    .unwrap_err()
                    .to_string(),
                "history needs (beforeOffset > 0, limit 1..=200[, channel id > 0])"
            );
        }
        assert_eq!(
            HistoryRequest::from_args(&args(json!([5])))
                .unwrap_err()
                .to_string(),
            "history needs 2 or 3 arguments (beforeOffset, limit[, channel])"
        );
    }

    #[test]
    fn a_nickname_request_is_one_string() {
        assert_eq!(
            NicknameRequest::from_args(&args(json!(["ana"])))
                .unwrap()
                .0
                .as_str(),
            "ana"
        );
        assert_eq!(
            NicknameRequest::from_args(&args(json!([]))),
            Err(ValidationError::NicknameNotString("nothing"))
        );
    }
}
