//! `private message`: between two accounts only. Stored like a public message (its own
//! sequence), then sent to the sockets of its sender's and its recipient's accounts only,
//! on every worker and host.

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
use crate::domain::{NewMessage, Nickname, Username};
use crate::store::{StoredPrivateMessage, WriteError, WriteOutcome, WriteReceipt};

/// `private message` (to, text, clientOffset) + ack: stores it, sends it to the sockets of
/// the sender's and the recipient's accounts only (on every worker), then acks
/// `{ privateOffset }`. Both sides must be accounts: a guest, or a recipient with no
/// account, gets `{ error }`; the recipient need not be online (it is replayed when they
/// connect). Bad input and the rate limit are answered as for `chat message`.
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
    let Some((account, _)) = session.identity.account() else {
        let error = "private messages are between signed-in accounts: sign in to send one";
        ack.send(&Refused::permanent(error)).await;
        return;
    };
    let Some(asked_for) = message.recipient.as_ref() else {
        return;
    };
    let recipient = match Username::parse(asked_for.as_str()) {
        Ok(name) => chat.store.account_by_username(&name.key()).await,
        Err(_) => Ok(None),
    };
    let recipient = match recipient {
        Ok(Some(found)) => found.username,
        Ok(None) => {
            let error = format!("no account is named {}", asked_for.as_str());
            ack.send(&Refused::permanent(error)).await;
            return;
        }
        Err(error) => {
            tracing::warn!(sid = %socket.id, %error, "recipient lookup failed; error ack");
            ack.send(&storage_unavailable()).await;
            return;
        }
    };
    let recipient = Nickname::parse(&recipient).expect("a stored username is a valid nickname");
    let message = NewMessage {
        recipient: Some(recipient.clone()),
        ..message
    }
    .by_account(session.nickname(), account.0);
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
            let rooms = [user_room(sender.as_str()), user_room(recipient.as_str())];
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
