//! The server's validated values: the protocol's own ([`chat_protocol::values`], and the
//! account credentials of [`chat_protocol::accounts`]), re-exported here so the rest of the
//! server names them in one place, and [`NewMessage`], what a handler hands to the
//! sequencer to store.

pub use chat_protocol::accounts::{CredentialError, Password, Username, UsernameKey};
use chat_protocol::requests::{ChatMessageRequest, PrivateMessageRequest};
pub use chat_protocol::values::{
    ClientOffset, HistoryLimit, MessageText, Nickname, ServerOffset, ValidationError,
    json_type_name,
};
use serde_json::Value;

/// A validated message to store: what a client asked the server to keep, signed with its
/// socket's name.
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
    /// Validates the raw arguments of a `chat message` event: exactly `(text, clientOffset)`
    /// ([`ChatMessageRequest`]). The author is [`Nickname::anonymous`] until [`Self::by`].
    pub fn from_event_args(args: Vec<Value>, max_bytes: usize) -> Result<Self, ValidationError> {
        let ChatMessageRequest {
            text,
            client_offset,
        } = ChatMessageRequest::from_args(args, max_bytes)?;
        Ok(Self {
            text,
            client_offset,
            author: Nickname::anonymous(),
            recipient: None,
        })
    }

    /// Validates the raw arguments of a `private message` event: exactly `(to, text,
    /// clientOffset)` ([`PrivateMessageRequest`]).
    pub fn private_from_event_args(
        args: Vec<Value>,
        max_bytes: usize,
    ) -> Result<Self, ValidationError> {
        let PrivateMessageRequest { to, message } =
            PrivateMessageRequest::from_args(args, max_bytes)?;
        Ok(Self {
            text: message.text,
            client_offset: message.client_offset,
            author: Nickname::anonymous(),
            recipient: Some(to),
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
    fn a_public_message_has_no_recipient_until_signed_by_its_author() {
        let message = NewMessage::from_event_args(args(json!(["hi", "abc-1"])), 4096).unwrap();
        assert_eq!(message.author, Nickname::anonymous());
        assert_eq!(message.recipient, None);
        let ana = Nickname::parse("ana").unwrap();
        assert_eq!(message.by(ana.clone()).author, ana);
    }

    #[test]
    fn a_private_message_keeps_its_recipient() {
        let message =
            NewMessage::private_from_event_args(args(json!(["bo", "psst", "k"])), 4096).unwrap();
        assert_eq!(
            message.recipient.map(Nickname::into_inner).as_deref(),
            Some("bo")
        );
        assert_eq!(message.text.as_str(), "psst");
        assert_eq!(
            NewMessage::private_from_event_args(args(json!(["psst", "k"])), 4096),
            Err(ValidationError::PrivateArgumentCount(2))
        );
    }
}
