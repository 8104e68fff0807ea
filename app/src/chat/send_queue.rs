//! A tab's own messages on their way: what each is ([`SavedMessage`], also what
//! localStorage keeps) and the order they are sent in ([`SendQueue`]): one at a time, as
//! typed. Pure; the outbox (`super::outbox`) drives it, the tab's session holds it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A message kept in localStorage until acked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedMessage {
    /// Its idempotency key.
    pub client_offset: String,
    /// Its text.
    pub text: String,
    /// The recipient of a private message saved by a page from before private messages
    /// were channels: resent as `private message` (which the server posts into the
    /// conversation), never to `channel`. This page saves none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The channel it is posted to (`#general` when absent, as an outbox saved before
    /// channels).
    #[serde(default, skip_serializing_if = "is_general")]
    pub channel: chat_protocol::channels::ChannelId,
}

/// Whether `channel` is `#general` (left out of the saved form).
fn is_general(channel: &chat_protocol::channels::ChannelId) -> bool {
    *channel == chat_protocol::channels::ChannelId::GENERAL
}

/// One tab's messages waiting to be sent, in the order they were typed. The head is sent;
/// the rest wait until it is settled.
#[derive(Debug, Default)]
pub struct SendQueue {
    waiting: VecDeque<SavedMessage>,
    sending: bool,
}

impl SendQueue {
    /// Adds `message` at the end. Returns whether the caller must start sending (nothing
    /// was being sent).
    pub fn push(&mut self, message: SavedMessage) -> bool {
        self.waiting.push_back(message);
        !std::mem::replace(&mut self.sending, true)
    }

    /// The message to send now.
    pub fn head(&self) -> Option<SavedMessage> {
        self.waiting.front().cloned()
    }

    /// The head is settled: drops it. Returns the next to send, or `None` (and sending
    /// stops until the next [`Self::push`]).
    pub fn settled(&mut self) -> Option<SavedMessage> {
        self.waiting.pop_front();
        let next = self.head();
        self.sending = next.is_some();
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u64) -> SavedMessage {
        SavedMessage {
            client_offset: format!("tab-{n}"),
            text: format!("hello {n}"),
            to: None,
            channel: chat_protocol::channels::ChannelId::GENERAL,
        }
    }

    #[test]
    fn the_queue_sends_one_message_at_a_time_in_typed_order() {
        let mut queue = SendQueue::default();
        assert!(queue.push(message(1)), "the first push starts sending");
        assert!(!queue.push(message(2)), "later ones wait");
        assert!(!queue.push(message(3)));
        // A refusal with a wait keeps the head where it is: nothing else is sent meanwhile.
        assert_eq!(queue.head(), Some(message(1)));
        assert_eq!(queue.settled(), Some(message(2)));
        assert_eq!(queue.settled(), Some(message(3)));
        assert_eq!(queue.settled(), None, "empty: sending stops");
        assert!(queue.push(message(4)), "and the next push starts it again");
    }
}
