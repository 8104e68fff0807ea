//! `history`: pages of older messages for a page that starts with only the latest ones.

use std::sync::Arc;

use chat_protocol::acks::{HistoryMessage, HistoryPage, Refused};
use chat_protocol::requests::HistoryRequest;
use socketioxide::extract::{Extension, SocketRef, State, TryData};

use crate::adapter::ChatAdapter;

use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::session::{STORAGE_RETRY_MS, SocketSession};
use crate::chat::{ChatState, rooms};

/// `history` (beforeOffset, limit[, channel]) + ack: the latest `limit` (at most 200)
/// messages of the channel (`#general` by default) before `beforeOffset`, oldest first, and
/// whether there are more: `{ messages: [{ text, serverOffset, author, createdAt, channel,
/// seq }], more }`; `{ error }` for bad arguments or a channel the socket is not in.
pub async fn on_history(
    socket: SocketRef<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let parse = |args: Vec<_>| HistoryRequest::from_args(&args);
    let Some((
        HistoryRequest {
            before,
            limit,
            channel,
        },
        ack,
    )) = session.budgeted(&chat, args, ack, parse).await
    else {
        return;
    };
    if !rooms::is_in(&socket, channel) {
        let error = format!("you are not in channel {channel}");
        ack.send(&Refused::permanent(error)).await;
        return;
    }
    match chat
        .store
        .messages_before(Some(channel), before, limit)
        .await
    {
        Ok(page) => {
            let more = page.len() == limit as usize && page.first().is_some_and(|m| m.seq > 1);
            let messages = page
                .into_iter()
                .map(|m| HistoryMessage {
                    text: m.text,
                    server_offset: m.id,
                    author: m.author,
                    created_at: m.created_at,
                    channel: m.channel,
                    seq: m.seq,
                })
                .collect();
            ack.send(&HistoryPage { messages, more }).await;
        }
        Err(error) => {
            tracing::warn!(%error, "reading a history page failed");
            ack.send(&Refused::retry_after(
                "history unavailable, retry",
                STORAGE_RETRY_MS,
            ))
            .await;
        }
    }
}
