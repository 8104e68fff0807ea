//! `chat message`: the tutorial's event. Validate, store, broadcast, then ack.

use std::sync::Arc;

use chat_protocol::acks::{Refused, Stored};
use socketioxide::extract::{Extension, SocketRef, State, TryData};

use crate::adapter::ChatAdapter;
use crate::chat::ChatState;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::identity::Identity;
use crate::chat::session::{SocketSession, storage_unavailable};
use crate::domain::NewMessage;
use crate::store::{WriteError, WriteOutcome, WriteReceipt};

/// `chat message` (text, clientOffset) + ack: validate, store, broadcast, then ack. Signed
/// with the socket's account, or as its guest name (refused under `--guests read-only`).
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
    let message = match &session.identity {
        Identity::Account { id, .. } => message.by_account(session.nickname(), id.0),
        Identity::Guest { may_post: true } => message.by_guest(session.nickname()),
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
            let reply = Stored {
                server_offset: outcome.id(),
                duplicate: matches!(outcome, WriteOutcome::Duplicate(_)),
            };
            ack.send(&reply).await;
        }
        Err(error @ WriteError::Storage(_)) => {
            tracing::warn!(sid = %socket.id, %error, "message not stored; error ack");
            ack.send(&storage_unavailable()).await;
        }
        Err(WriteError::ShuttingDown) => {}
    }
}
