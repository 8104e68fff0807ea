//! `history`: pages of older messages for a page that starts with only the latest ones.

use std::sync::Arc;

use chat_protocol::acks::{HistoryMessage, HistoryPage, Refused};
use chat_protocol::requests::HistoryRequest;
use socketioxide::extract::{Extension, State, TryData};

use crate::chat::ChatState;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::session::{STORAGE_RETRY_MS, SocketSession};

/// `history` (beforeOffset, limit) + ack: the latest `limit` (at most 200) messages before
/// `beforeOffset`, oldest first, and whether there are more: `{ messages: [{ text,
/// serverOffset, author, createdAt }], more }`; `{ error }` for bad arguments.
pub async fn on_history(
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let parse = |args: Vec<_>| HistoryRequest::from_args(&args);
    let Some((HistoryRequest { before, limit }, ack)) =
        session.budgeted(&chat, args, ack, parse).await
    else {
        return;
    };
    match chat.store.messages_before(before, limit).await {
        Ok(page) => {
            let more = page.len() == limit as usize && page.first().is_some_and(|m| m.id.0 > 1);
            let messages = page
                .into_iter()
                .map(|m| HistoryMessage {
                    text: m.text,
                    server_offset: m.id,
                    author: m.author,
                    created_at: m.created_at,
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
