//! `chat message`, the tutorial's event (to `#general`), and `channel message`, the same to
//! any channel one is in. Validate, check, store, broadcast, then ack.

use std::sync::Arc;

use chat_protocol::acks::{Refused, Stored};
use serde::Serialize;
use socketioxide::extract::{Extension, SocketRef, State, TryData};

use crate::adapter::ChatAdapter;
use crate::chat::ChatState;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::identity::Identity;
use crate::chat::rooms;
use crate::chat::session::{SocketSession, storage_unavailable};
use crate::domain::{ChannelId, NewMessage};
use crate::store::{WriteError, WriteOutcome, WriteReceipt};

/// `chat message` (text, clientOffset) + ack: validate, store, broadcast, then ack. Signed
/// with the socket's account, or as its guest name (refused under `--guests read-only`).
/// Always to `#general`: the tutorial's client knows no other channel.
///
/// Bad input is acked with `{ error }`; a message over the rate limit with `{ error,
/// retryAfterMs }`; a storage failure too (nothing was stored: the same message may be sent
/// again, and the client offset makes that safe). Only a committed message is acked with
/// its `serverOffset`.
pub async fn on_chat_message(
    socket: SocketRef<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let max_bytes = chat.max_message_bytes;
    let parse = |args| NewMessage::from_event_args(args, max_bytes);
    let Some((message, ack)) = session.budgeted(&chat, args, ack, parse).await else {
        return;
    };
    post(&socket, &chat, &session, message, ack).await;
}

/// `channel message` (channel, text, clientOffset) + ack: as `chat message`, to a channel
/// the socket is in. Posting to a channel one is not in, or to one that does not exist, is
/// an `{ error }` ack: nothing is stored or sent. Guests post to `#general` only.
pub async fn on_channel_message(
    socket: SocketRef<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let max_bytes = chat.max_message_bytes;
    let parse = |args| NewMessage::channel_from_event_args(args, max_bytes);
    let Some((message, ack)) = session.budgeted(&chat, args, ack, parse).await else {
        return;
    };
    if !rooms::is_in(&socket, message.channel) {
        chat.metrics.refuse("not_in_channel");
        let error = match chat.store.channel(message.channel).await {
            Ok(Some(channel)) if channel.direct => format!("you are not in {}", channel.label()),
            Ok(Some(channel)) => format!("you are not in {}: join it first", channel.label()),
            Ok(None) => format!("there is no channel {}", message.channel),
            Err(_) => {
                ack.send(&storage_unavailable()).await;
                return;
            }
        };
        ack.send(&Refused::permanent(error)).await;
        return;
    }
    post(&socket, &chat, &session, message, ack).await;
}

/// Signs `message` with the socket's identity, stores it, gives the sender its own message,
/// then acks its offset ([`Stored`]).
async fn post(
    socket: &SocketRef<ChatAdapter>,
    chat: &ChatState,
    session: &SocketSession,
    message: NewMessage,
    ack: Ack,
) {
    let stored = |outcome: WriteOutcome| Stored {
        server_offset: outcome.id(),
        duplicate: matches!(outcome, WriteOutcome::Duplicate(_)),
    };
    post_then(socket, chat, session, message, ack, stored).await;
}

/// [`post`], acking a committed message with `reply` of its outcome.
pub(super) async fn post_then<R: Serialize>(
    socket: &SocketRef<ChatAdapter>,
    chat: &ChatState,
    session: &SocketSession,
    message: NewMessage,
    ack: Ack,
    reply: impl FnOnce(WriteOutcome) -> R,
) {
    let message = match &session.identity {
        Identity::Account { id, .. } => message.by_account(session.nickname(), id.0),
        Identity::Guest { may_post: true } if message.channel == ChannelId::GENERAL => {
            message.by_guest(session.nickname())
        }
        Identity::Guest { may_post: true } => {
            let error = "guests post in #general only: sign in to post in other channels";
            ack.send(&Refused::permanent(error)).await;
            return;
        }
        Identity::Guest { may_post: false } => {
            chat.metrics.refuse("guest_read_only");
            let error = "guests may read but not post here: sign in to post";
            ack.send(&Refused::permanent(error)).await;
            return;
        }
    };
    match chat.writer.write(message).await {
        Ok(WriteReceipt { outcome, .. }) => {
            // The sender sees its message before the ack, even inside a delivery window.
            chat.feed.deliver_now(socket.id).await;
            ack.send(&reply(outcome)).await;
        }
        Err(error @ WriteError::Storage(_)) => {
            tracing::warn!(sid = %socket.id, %error, "message not stored; error ack");
            ack.send(&storage_unavailable()).await;
        }
        Err(WriteError::ShuttingDown) => {}
    }
}
