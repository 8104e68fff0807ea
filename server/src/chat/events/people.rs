//! Who is here: `nickname` (rename this socket), `users` (who is online), `typing`, and
//! `online` (how many sockets, across workers).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chat_protocol::acks::{NicknameSet, OnlineCount, Refused, TypingEvent};
use chat_protocol::events::TYPING;
use chat_protocol::requests::NicknameRequest;
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, SocketRef, State, TryData};

use crate::adapter::ChatAdapter;
use crate::chat::ChatState;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::session::{STORAGE_RETRY_MS, SocketSession};
use crate::domain::Nickname;
use chat_protocol::guest::GuestName;

/// `nickname` (name) + ack: a guest takes another guest name (`guest-…`). Acked with
/// `{ nickname }`, or `{ error }` saying why (an account is named by its username; a
/// guest only by a guest name; the old name stays).
pub async fn on_nickname(
    socket: SocketRef<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let parse = |args: Vec<_>| NicknameRequest::from_args(&args);
    let Some((NicknameRequest(nickname), ack)) = session.budgeted(&chat, args, ack, parse).await
    else {
        return;
    };
    if session.identity.account().is_some() {
        let error = "you are signed in: your name is your account's username";
        ack.send(&Refused::permanent(error)).await;
        return;
    }
    if GuestName::parse(nickname.as_str()).is_none() {
        let error = format!(
            "guests are named {}… (lowercase letters and digits): sign in to chat under a name of your own",
            GuestName::PREFIX
        );
        ack.send(&Refused::permanent(error)).await;
        return;
    }
    tracing::debug!(sid = %socket.id, "nickname changed");
    let old = session.rename(nickname.clone());
    if old != nickname {
        chat.presence.renamed(old.as_str(), nickname.as_str()).await;
    }
    ack.send(&NicknameSet {
        nickname: nickname.into_inner(),
    })
    .await;
}

/// `users` + ack: who is online (`{ users, count }`), the same list on every worker.
pub async fn on_users(ack: Ack, State(chat): State<ChatState>) {
    ack.send(&chat.presence.online()).await;
}

/// `typing` (true | false): tells every other socket, on every worker, that this socket's
/// user started or stopped typing. The client clears it on send; the server on disconnect.
pub async fn on_typing(
    socket: SocketRef<ChatAdapter>,
    TryData(typing): TryData<bool>,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let typing = typing.unwrap_or(false);
    // A typing signal has no ack: over the budget it is dropped (and counted).
    if session.spend_budget(&chat).is_err() {
        return;
    }
    if session.typing.swap(typing, Ordering::Relaxed) != typing {
        broadcast_typing(&socket, &session.nickname(), typing).await;
    }
}

/// Sends `{ nickname, typing }` to every socket but `socket`.
pub async fn broadcast_typing(socket: &SocketRef<ChatAdapter>, nickname: &Nickname, typing: bool) {
    let event = TypingEvent {
        nickname: nickname.as_str().to_owned(),
        typing,
    };
    if let Err(error) = socket.broadcast().emit(TYPING, &event).await {
        tracing::debug!(sid = %socket.id, %error, "typing not delivered everywhere");
    }
}

/// `online` + ack: how many sockets are connected across all workers (the adapter asks
/// every worker), so every client sees the same figure whichever worker it is on. Answered
/// with [`Ack`], which waits for room in a full queue instead of losing the answer.
pub async fn on_online(socket: SocketRef<ChatAdapter>, io: SocketIo<ChatAdapter>, ack: Ack) {
    match io.fetch_sockets().await {
        Ok(sockets) => {
            ack.send(&OnlineCount {
                count: sockets.len(),
            })
            .await;
        }
        Err(error) => {
            tracing::warn!(sid = %socket.id, %error, "counting sockets across workers failed");
            ack.send(&Refused::retry_after(
                "the online count is unavailable, retry",
                STORAGE_RETRY_MS,
            ))
            .await;
        }
    }
}
