//! Private messages to or from this user: each shown once, and the highest offset seen goes
//! in the next connect's `auth.privateOffset`, so a reconnect replays only what is missing.
//! Private offsets have a sequence of their own, with no gap detection (the server replays
//! them on every connect). The dedupe is pure (tested natively); [`watch`] wires it.

use chat_protocol::message::PrivateMessage;

use super::Row;

/// The private messages received so far.
#[derive(Debug, Default)]
pub struct PrivateInbox {
    last_offset: i64,
}

impl PrivateInbox {
    /// The highest private offset shown: the next connect's `auth.privateOffset`.
    pub fn last_offset(&self) -> i64 {
        self.last_offset
    }

    /// The row for `message`, or none if it was shown already.
    pub fn accept(&mut self, message: PrivateMessage) -> Option<Row> {
        let offset = message.private_offset.0;
        if offset <= self.last_offset {
            return None;
        }
        self.last_offset = offset;
        Some(Row::Private {
            offset,
            text: message.text,
            from: message.from,
            to: message.to,
            created_at: message.created_at,
        })
    }
}

#[cfg(feature = "hydrate")]
pub use browser::watch;

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::rc::Rc;

    use chat_protocol::events::PRIVATE_MESSAGE;
    use chat_protocol::message::PrivateMessage;
    use leptos::prelude::*;
    use leptos_socketio::Socket;

    use super::PrivateInbox;
    use crate::chat::Chat;
    use crate::chat::dom::page_hidden;

    /// Adds private messages (to or from this user) to the list, each once; one that
    /// arrives while the tab is hidden counts as unread.
    pub fn watch(chat: Chat, socket: &Socket, inbox: Rc<RefCell<PrivateInbox>>) {
        socket
            .on::<Vec<serde_json::Value>>(PRIVATE_MESSAGE, move |args| {
                let Some(message) = PrivateMessage::from_args(args) else {
                    return;
                };
                let Some(row) = inbox.borrow_mut().accept(message) else {
                    return;
                };
                if page_hidden() {
                    chat.unread.update(|n| *n += 1);
                }
                // Announced once live (the replay on arrival is not read out).
                if chat.settled.get_untracked()
                    && let Some(words) = chat.nickname.with_untracked(|me| row.announcement(me))
                {
                    chat.announcement.set(words);
                }
                chat.rows.update(|rows| rows.push(row));
            })
            .keep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::values::ServerOffset;

    fn private(offset: i64) -> PrivateMessage {
        PrivateMessage {
            text: "psst".into(),
            private_offset: ServerOffset(offset),
            from: "ana".into(),
            to: "bo".into(),
            created_at: 5,
        }
    }

    #[test]
    fn a_private_message_is_shown_once() {
        let mut inbox = PrivateInbox::default();
        assert_eq!(inbox.accept(private(2)).map(|r| r.key()), Some("p2".into()));
        assert_eq!(inbox.accept(private(2)), None, "replayed again");
        assert_eq!(inbox.accept(private(1)), None, "older");
        assert!(inbox.accept(private(4)).is_some(), "no gap detection here");
        assert_eq!(inbox.last_offset(), 4);
    }
}
