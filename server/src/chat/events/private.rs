//! `private message`: stored like a public message (its own sequence), then sent to the
//! sockets of its sender and its recipient only, on every worker.

use std::sync::Arc;

use chat_protocol::acks::{PrivateStored, Refused};
use chat_protocol::events::PRIVATE_MESSAGE;
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, SocketRef, State, TryData};

use crate::adapter::ChatAdapter;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::encoded::private_args;
use crate::chat::session::{SocketSession, storage_unavailable};
use crate::chat::{ChatState, user_room};
use crate::domain::{NewMessage, Nickname};
use crate::store::{StoredPrivateMessage, WriteError, WriteOutcome, WriteReceipt};

/// `private message` (to, text, clientOffset) + ack: stores it, sends it to the sockets of
/// the sender and the recipient only (on every worker), then acks `{ privateOffset }`. The
/// recipient must be online (`{ error }` otherwise); bad input and the rate limit are
/// answered as for `chat message`.
pub async fn on_private_message(
    socket: SocketRef<ChatAdapter>,
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let max_bytes = chat.max_message_bytes;
    let parse = |args| NewMessage::private_from_event_args(args, max_bytes);
    let Some((message, ack)) = session.budgeted(&chat, args, ack, parse).await else {
        return;
    };
    let message = message.by(session.nickname());
    let Some(recipient) = message.recipient.clone() else {
        return;
    };
    if message.author.is_anonymous() || recipient.is_anonymous() {
        let error = format!(
            "private messages need a nickname on both sides ({} is shared by every client without one)",
            Nickname::ANONYMOUS
        );
        ack.send(&Refused::permanent(error)).await;
        return;
    }
    if !chat.presence.is_online(recipient.as_str()) {
        let error = format!("no user named {} is online", recipient.as_str());
        ack.send(&Refused::permanent(error)).await;
        return;
    }
    let sender = message.author.clone();
    let text = message.text.as_str().to_owned();
    match chat.writer.write(message).await {
        Ok(WriteReceipt {
            outcome: WriteOutcome::Inserted(id),
            created_at,
        }) => {
            // Sent as stored (with the commit's time), exactly as a replay will send it.
            let stored = StoredPrivateMessage {
                id,
                text,
                from: sender.as_str().to_owned(),
                to: recipient.as_str().to_owned(),
                created_at,
            };
            let rooms = [user_room(&sender), user_room(&recipient)];
            if let Err(error) = io
                .to(rooms)
                .emit(PRIVATE_MESSAGE, &private_args(&stored))
                .await
            {
                tracing::debug!(sid = %socket.id, %error, "a private message missed a socket; it is replayed on reconnect");
            }
            ack.send(&PrivateStored {
                private_offset: id,
                duplicate: false,
            })
            .await;
        }
        Ok(WriteReceipt {
            outcome: WriteOutcome::Duplicate(id),
            ..
        }) => {
            ack.send(&PrivateStored {
                private_offset: id,
                duplicate: true,
            })
            .await;
        }
        Err(error @ WriteError::Storage(_)) => {
            tracing::warn!(sid = %socket.id, %error, "private message not stored; error ack");
            ack.send(&storage_unavailable()).await;
        }
        Err(WriteError::ShuttingDown) => {}
    }
}
