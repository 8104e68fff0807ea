//! The server's validated values: the protocol's own ([`chat_protocol::values`], and the
//! account credentials of [`chat_protocol::accounts`]), re-exported here so the rest of the
//! server names them in one place, and [`NewMessage`], what a handler hands to the
//! sequencer to store.

pub use chat_protocol::accounts::{CredentialError, Password, Username, UsernameKey};
pub use chat_protocol::channels::{ChannelError, ChannelId};
use chat_protocol::requests::{ChatMessageRequest, PrivateMessageRequest};
pub use chat_protocol::values::{
    ClientOffset, HistoryLimit, MessageText, Nickname, ServerOffset, ValidationError,
    json_type_name,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A validated message to store: what a client asked the server to keep, signed with its
/// socket's name.
///
/// Its `client_offset` is the store's idempotency key. A client's own offset is scoped
/// before it is stored ([`Self::by_account`], [`Self::by_guest`]), so one person's offsets
/// can never collide with another's: a signed-in author's retries deduplicate on (account,
/// clientOffset), a guest's on (clientOffset, text). The tutorial's client, whose offsets
/// are `undefined-N` while it is offline and repeat across tabs and reloads, then loses no
/// message that merely reused an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The message text.
    pub text: MessageText,
    /// The client's idempotency key.
    pub client_offset: ClientOffset,
    /// Who sent it (the sending socket's nickname; [`Nickname::anonymous`] until set).
    pub author: Nickname,
    /// The channel it is posted to (`#general` for the tutorial's `chat message`).
    pub channel: ChannelId,
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
            channel: ChannelId::GENERAL,
        })
    }

    /// Validates the raw arguments of a `channel message` event: exactly `(channel, text,
    /// clientOffset)`. Whether the socket may post there is the handler's to check.
    pub fn channel_from_event_args(
        mut args: Vec<Value>,
        max_bytes: usize,
    ) -> Result<Self, ChannelMessageError> {
        if args.len() != 3 {
            return Err(ChannelMessageError::Channel(ChannelError::Arguments(
                format!(
                    "expected 3 arguments (channel, text, clientOffset), got {}",
                    args.len()
                ),
            )));
        }
        let channel = ChannelId::from_value(&args.remove(0))?;
        Ok(Self {
            channel,
            ..Self::from_event_args(args, max_bytes)?
        })
    }

    /// Validates the raw arguments of a `private message` event: exactly `(to, text,
    /// clientOffset)` ([`PrivateMessageRequest`]): who it is to, and the message, whose
    /// channel (the direct channel of the two) the handler sets.
    pub fn private_from_event_args(
        args: Vec<Value>,
        max_bytes: usize,
    ) -> Result<(Nickname, Self), ValidationError> {
        let PrivateMessageRequest { to, message } =
            PrivateMessageRequest::from_args(args, max_bytes)?;
        let message = Self {
            text: message.text,
            client_offset: message.client_offset,
            author: Nickname::anonymous(),
            channel: ChannelId::GENERAL,
        };
        Ok((to, message))
    }

    /// The same message, written by the signed-in account `account`, named `author`: its
    /// key becomes `a<account>:<clientOffset>`.
    pub fn by_account(self, author: Nickname, account: i64) -> Self {
        let key = scoped_key(&format!("a{account}"), &self.client_offset);
        Self {
            author,
            client_offset: key,
            ..self
        }
    }

    /// The same message, written by the guest `author`: its key becomes
    /// `g<hash of the text>:<clientOffset>`.
    pub fn by_guest(self, author: Nickname) -> Self {
        let text_hash = Sha256::digest(self.text.as_str().as_bytes());
        let key = scoped_key(&format!("g{}", hex(&text_hash[..8])), &self.client_offset);
        Self {
            author,
            client_offset: key,
            ..self
        }
    }
}

/// Why a `channel message` was refused: its channel argument, or its text and offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelMessageError {
    /// The channel argument, or the argument count.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The text or the client offset.
    #[error(transparent)]
    Message(#[from] ValidationError),
}

/// `<scope>:<offset>`; when that is longer than a client offset may be, the offset part is
/// its SHA-256 instead (still one key per offset, and within the limit).
fn scoped_key(scope: &str, offset: &ClientOffset) -> ClientOffset {
    let key = format!("{scope}:{}", offset.as_str());
    let key = if key.chars().count() <= ClientOffset::MAX_CHARS {
        key
    } else {
        format!(
            "{scope}:#{}",
            hex(&Sha256::digest(offset.as_str().as_bytes()))
        )
    };
    ClientOffset::parse(key).expect("a scoped key is non-empty and within the limit")
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(values: Value) -> Vec<Value> {
        values.as_array().expect("test args are an array").clone()
    }

    #[test]
    fn a_message_is_anonymous_until_signed_by_its_author() {
        let message = NewMessage::from_event_args(args(json!(["hi", "abc-1"])), 4096).unwrap();
        assert_eq!(message.author, Nickname::anonymous());
        let ana = Nickname::parse("ana").unwrap();
        assert_eq!(message.by_account(ana.clone(), 7).author, ana);
    }

    #[test]
    fn keys_are_scoped_by_account_or_by_a_guests_text() {
        let message = |text: &str, offset: &str| {
            NewMessage::from_event_args(args(json!([text, offset])), 4096).unwrap()
        };
        let guest = Nickname::parse("guest-1").unwrap();
        let key = |m: NewMessage| m.client_offset.into_inner();
        assert_eq!(
            key(message("hi", "o-1").by_account(guest.clone(), 7)),
            "a7:o-1"
        );
        assert_ne!(
            key(message("hi", "o-1").by_account(guest.clone(), 7)),
            key(message("hi", "o-1").by_account(guest.clone(), 8)),
            "two accounts never share a key"
        );
        let tutorial = key(message("first", "undefined-0").by_guest(guest.clone()));
        assert!(tutorial.starts_with('g') && tutorial.ends_with(":undefined-0"));
        assert_ne!(
            tutorial,
            key(message("second", "undefined-0").by_guest(guest.clone())),
            "a reused offset with another text is another message"
        );
        assert_eq!(
            tutorial,
            key(message("first", "undefined-0").by_guest(guest.clone()))
        );
        let long = "x".repeat(ClientOffset::MAX_CHARS);
        let scoped = key(message("hi", &long).by_account(guest, 123));
        assert!(scoped.starts_with("a123:#") && scoped.chars().count() <= ClientOffset::MAX_CHARS);
    }

    #[test]
    fn a_channel_message_names_its_channel_first() {
        let message =
            NewMessage::channel_from_event_args(args(json!([4, "hi", "k"])), 4096).unwrap();
        assert_eq!(
            (message.channel, message.text.as_str()),
            (ChannelId(4), "hi")
        );
        for bad in [
            json!(["4", "hi", "k"]),
            json!([0, "hi", "k"]),
            json!([4, "hi"]),
        ] {
            assert!(NewMessage::channel_from_event_args(args(bad), 4096).is_err());
        }
        assert_eq!(
            NewMessage::channel_from_event_args(args(json!([4, " ", "k"])), 4096),
            Err(ChannelMessageError::Message(ValidationError::EmptyText))
        );
    }

    #[test]
    fn a_private_message_names_its_recipient() {
        let (to, message) =
            NewMessage::private_from_event_args(args(json!(["bo", "psst", "k"])), 4096).unwrap();
        assert_eq!((to.as_str(), message.text.as_str()), ("bo", "psst"));
        assert_eq!(
            NewMessage::private_from_event_args(args(json!(["psst", "k"])), 4096),
            Err(ValidationError::PrivateArgumentCount(2))
        );
    }
}
