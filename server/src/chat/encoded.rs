//! [`LiveMessage`]: a committed message with its `chat message` arguments encoded as JSON
//! once, however many sockets it is written to.

use serde_json::value::{RawValue, to_raw_value};

use crate::domain::ServerOffset;
use crate::store::StoredMessage;

/// A committed message, ready to emit to any number of sockets. Emitting it copies the
/// pre-encoded text and metadata instead of escaping the text again for every socket.
#[derive(Debug)]
pub struct LiveMessage {
    /// Its offset.
    pub id: ServerOffset,
    /// The text, as a JSON string.
    text: Box<RawValue>,
    /// `{ author, createdAt }`, as a JSON object.
    meta: Box<RawValue>,
}

impl LiveMessage {
    /// Encodes `message`'s event arguments.
    pub fn encode(message: &StoredMessage) -> Self {
        let (text, id, meta) = message.event_args();
        Self {
            id,
            text: to_raw_value(text).expect("a string encodes as JSON"),
            meta: to_raw_value(&meta).expect("message metadata encodes as JSON"),
        }
    }

    /// The `chat message` arguments: `(text, serverOffset, { author, createdAt })`, the same
    /// JSON as [`StoredMessage::event_args`].
    pub fn event_args(&self) -> (&RawValue, ServerOffset, &RawValue) {
        (&self.text, self.id, &self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_same_json_as_the_stored_message() {
        let stored = StoredMessage {
            id: ServerOffset(42),
            text: "quote \" backslash \\ newline \n emoji 🎉 <b>".to_owned(),
            author: "ünï \"cøde\"".to_owned(),
            created_at: 1_700_000_000_123,
        };
        let live = LiveMessage::encode(&stored);
        assert_eq!(live.id, stored.id);
        assert_eq!(
            serde_json::to_string(&live.event_args()).unwrap(),
            serde_json::to_string(&stored.event_args()).unwrap()
        );
    }
}
