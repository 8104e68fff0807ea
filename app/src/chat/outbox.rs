//! Own messages until the server acks them: shown at once as sending, then removed when
//! stored or shown as failed with Retry.
//!
//! - client offsets are `<random tab id>-<counter>`, unique across tabs, reloads and
//!   offline periods; the client library resends unacked messages (every ack timeout, up
//!   to the retry count from the server's `<meta>` tags, see [`crate::ClientSettings`]) and
//!   the server stores each key once;
//! - one queue per tab ([`SendQueue`]): a message is sent once the one before it is
//!   settled, so messages are stored in the order they were typed; a refusal that says when
//!   to retry (`retryAfterMs`: the rate limit, a storage fault) pauses the whole queue for
//!   that delay and resends the same message with the same client offset, up to
//!   [`REFUSAL_RETRIES`] times (before, each refused message waited alone and the burst
//!   behind it overtook it);
//! - a failure is permanent (the server refused the message itself: no Retry, only
//!   Dismiss) or transient (not delivered: Retry);
//! - the messages still sending are mirrored into localStorage under
//!   `chat.outbox.<tab id>`, and the next page (after a reload, or another tab) sends them
//!   again with their own client offsets.
//!
//! The state transitions are pure (tested natively); the browser part sends and persists.

pub use super::ack_outcome::{AfterAck, Failure, REFUSAL_RETRIES, after_ack};
pub use super::send_queue::{SavedMessage, SendQueue};
use super::{Outgoing, OutgoingStatus};

/// Where a tab keeps its unacknowledged messages: `chat.outbox.<tab id>`.
pub const OUTBOX_KEY_PREFIX: &str = "chat.outbox.";

/// The localStorage key of this tab's outbox.
pub fn outbox_key(tab_id: &str) -> String {
    format!("{OUTBOX_KEY_PREFIX}{tab_id}")
}

/// The client offset of this tab's `n`th message.
pub fn client_offset(tab_id: &str, n: u64) -> String {
    format!("{tab_id}-{n}")
}

/// Adds `message` to the outbox, shown as sending, after the public message `after` (see
/// [`Outgoing::after`]).
pub fn queue(outbox: &mut Vec<Outgoing>, message: &SavedMessage, after: Option<i64>) {
    outbox.push(Outgoing {
        client_offset: message.client_offset.clone(),
        text: message.text.clone(),
        to: message.to.clone(),
        channel: message.channel,
        status: OutgoingStatus::Sending,
        after,
    });
}

/// Marks a failed message as sending again; returns it to emit (none if it is gone).
pub fn retry(outbox: &mut [Outgoing], client_offset: &str) -> Option<SavedMessage> {
    let o = outbox
        .iter_mut()
        .find(|o| o.client_offset == client_offset)?;
    o.status = OutgoingStatus::Sending;
    Some(SavedMessage {
        client_offset: o.client_offset.clone(),
        text: o.text.clone(),
        to: o.to.clone(),
        channel: o.channel,
    })
}

/// Settles a message: stored (`None`) leaves the outbox, a failure stays with its reason.
pub fn settle(outbox: &mut Vec<Outgoing>, client_offset: &str, failure: Option<Failure>) {
    match failure {
        None => outbox.retain(|o| o.client_offset != client_offset),
        Some(Failure { reason, retryable }) => {
            if let Some(o) = outbox.iter_mut().find(|o| o.client_offset == client_offset) {
                o.status = OutgoingStatus::Failed { reason, retryable };
            }
        }
    }
}

/// What the messages still sending are, for localStorage.
pub fn pending(outbox: &[Outgoing]) -> Vec<SavedMessage> {
    outbox
        .iter()
        .filter(|o| o.status == OutgoingStatus::Sending)
        .map(|o| SavedMessage {
            client_offset: o.client_offset.clone(),
            text: o.text.clone(),
            to: o.to.clone(),
            channel: o.channel,
        })
        .collect()
}

#[cfg(feature = "hydrate")]
pub use browser::{keep_saved, resend_saved, retry_failed, send};

#[cfg(feature = "hydrate")]
mod browser {
    use std::rc::Rc;

    use chat_protocol::acks::WriteAck;
    use chat_protocol::channels::ChannelId;
    use chat_protocol::events::{CHANNEL_MESSAGE, CHAT_MESSAGE, PRIVATE_MESSAGE};
    use leptos::prelude::*;
    use leptos::task::spawn_local;

    use super::*;
    use crate::chat::dom::{local_storage, sleep_ms};
    use crate::chat::presence::stop_typing;
    use crate::chat::session::Session;
    use crate::chat::{Chat, newest_public_offset};

    /// Queues `text` in the outbox and emits it to the channel shown (a private
    /// conversation is a channel too).
    pub fn send(chat: Chat, session: Rc<Session>, text: String) {
        let n = session.sent.get() + 1;
        session.sent.set(n);
        let client_offset = client_offset(&session.tab_id, n);
        stop_typing(&session.socket, &session.typist);
        let after = chat.rows.with_untracked(|rows| newest_public_offset(rows));
        queue_and_emit(
            chat,
            session,
            SavedMessage {
                client_offset,
                text,
                to: None,
                channel: chat.current.get_untracked(),
            },
            Some(after),
        );
    }

    /// Emits a failed outbox message again with its original client offset.
    pub fn retry_failed(chat: Chat, session: Rc<Session>, client_offset: String) {
        let mut found = None;
        chat.outbox
            .update(|outbox| found = retry(outbox, &client_offset));
        if let Some(message) = found {
            emit(chat, session, message);
        }
    }

    /// Takes over the messages an earlier page (this tab before a reload, or a tab since
    /// closed) left unacknowledged, and sends them again with their own client offsets: the
    /// server stores each offset once, so a message that did arrive is not stored twice.
    pub fn resend_saved(chat: Chat, session: &Rc<Session>) {
        let Some(storage) = local_storage() else {
            return;
        };
        let keys: Vec<String> = (0..storage.length().unwrap_or(0))
            .filter_map(|i| storage.key(i).ok().flatten())
            .filter(|key| key.starts_with(OUTBOX_KEY_PREFIX))
            .collect();
        let mut saved = Vec::new();
        for key in keys {
            if let Ok(Some(json)) = storage.get_item(&key) {
                saved.extend(serde_json::from_str::<Vec<SavedMessage>>(&json).unwrap_or_default());
            }
            let _ = storage.remove_item(&key);
        }
        // Shown at the end: sent now, after whatever this page has.
        for message in saved {
            queue_and_emit(chat, session.clone(), message, None);
        }
    }

    /// Mirrors this tab's unacknowledged messages into localStorage, so a reload resends
    /// them.
    pub fn keep_saved(chat: Chat, tab_id: &str) {
        let key = outbox_key(tab_id);
        Effect::new(move |_| {
            let pending = chat.outbox.with(|outbox| pending(outbox));
            let Some(storage) = local_storage() else {
                return;
            };
            if pending.is_empty() {
                let _ = storage.remove_item(&key);
            } else if let Ok(json) = serde_json::to_string(&pending) {
                let _ = storage.set_item(&key, &json);
            }
        });
    }

    /// Adds a message to the outbox (shown as sending) and to the end of the tab's send
    /// queue; starts sending if nothing was being sent.
    fn queue_and_emit(chat: Chat, session: Rc<Session>, message: SavedMessage, after: Option<i64>) {
        chat.outbox.update(|outbox| queue(outbox, &message, after));
        emit(chat, session, message);
    }

    /// Puts `message` at the end of the send queue, and sends the queue in order unless it
    /// is being sent already.
    fn emit(chat: Chat, session: Rc<Session>, message: SavedMessage) {
        if session.queue.borrow_mut().push(message) {
            spawn_local(drain(chat, session));
        }
    }

    /// Sends the queue's messages one after the other, each once the one before it is
    /// settled, so they are stored in the order they were typed.
    async fn drain(chat: Chat, session: Rc<Session>) {
        let mut next = session.queue.borrow().head();
        while let Some(message) = next {
            let failure = send_until_settled(&session, &message).await;
            let client_offset = message.client_offset;
            chat.outbox
                .update(|outbox| settle(outbox, &client_offset, failure));
            next = session.queue.borrow_mut().settled();
        }
    }

    /// Emits one message until its ack settles it, waiting (and holding the queue) as long
    /// as refusals say to (see [`after_ack`]). `None`: stored.
    async fn send_until_settled(session: &Session, message: &SavedMessage) -> Option<Failure> {
        let SavedMessage {
            client_offset,
            text,
            to,
            channel,
        } = message;
        let mut refusals = 0;
        loop {
            let ack = match to {
                // The tutorial's own event for #general, so that its protocol stays the one
                // every message of #general is sent with.
                None if *channel != ChannelId::GENERAL => {
                    session
                        .socket
                        .emit_with_ack::<_, Option<WriteAck>>(
                            CHANNEL_MESSAGE,
                            &(channel, text, client_offset),
                        )
                        .await
                }
                None => {
                    session
                        .socket
                        .emit_with_ack::<_, Option<WriteAck>>(CHAT_MESSAGE, &(text, client_offset))
                        .await
                }
                Some(to) => {
                    session
                        .socket
                        .emit_with_ack::<_, Option<WriteAck>>(
                            PRIVATE_MESSAGE,
                            &(to, text, client_offset),
                        )
                        .await
                }
            };
            match after_ack(ack, refusals) {
                AfterAck::ResendAfter(wait) => {
                    refusals += 1;
                    sleep_ms(wait).await;
                }
                AfterAck::Stored => return None,
                AfterAck::Failed(failure) => return Some(failure),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u64) -> SavedMessage {
        SavedMessage {
            client_offset: client_offset("tab", n),
            text: format!("hello {n}"),
            to: None,
            channel: chat_protocol::channels::ChannelId::GENERAL,
        }
    }

    #[test]
    fn a_queued_message_is_sending_until_its_ack_settles_it() {
        let mut outbox = Vec::new();
        queue(&mut outbox, &message(1), Some(0));
        queue(&mut outbox, &message(2), Some(0));
        assert_eq!(outbox[0].client_offset, "tab-1");
        assert!(outbox.iter().all(|o| o.status == OutgoingStatus::Sending));
        assert_eq!(pending(&outbox), [message(1), message(2)]);

        settle(&mut outbox, "tab-1", None);
        assert_eq!(pending(&outbox), [message(2)], "stored: gone");
        let lost = Failure {
            reason: "not delivered".into(),
            retryable: true,
        };
        settle(&mut outbox, "tab-2", Some(lost));
        assert_eq!(
            outbox[0].status,
            OutgoingStatus::Failed {
                reason: "not delivered".into(),
                retryable: true
            }
        );
        assert!(
            pending(&outbox).is_empty(),
            "a failed message is not resent on reload"
        );

        assert_eq!(retry(&mut outbox, "tab-2"), Some(message(2)));
        assert_eq!(outbox[0].status, OutgoingStatus::Sending);
        assert_eq!(retry(&mut outbox, "tab-9"), None);
    }

    #[test]
    fn the_saved_outbox_keeps_the_documented_shape() {
        let private = SavedMessage {
            client_offset: "t-1".into(),
            text: "hi".into(),
            to: Some("bo".into()),
            channel: chat_protocol::channels::ChannelId::GENERAL,
        };
        let in_dev = SavedMessage {
            channel: chat_protocol::channels::ChannelId(4),
            ..message(2)
        };
        assert_eq!(
            serde_json::to_string(&in_dev).unwrap(),
            r#"{"clientOffset":"tab-2","text":"hello 2","channel":4}"#
        );
        let json = serde_json::to_string(&[message(1), private.clone()]).unwrap();
        assert_eq!(
            json,
            r#"[{"clientOffset":"tab-1","text":"hello 1"},{"clientOffset":"t-1","text":"hi","to":"bo"}]"#
        );
        let back: Vec<SavedMessage> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [message(1), private]);
        assert_eq!(outbox_key("abc"), "chat.outbox.abc");
    }
}
