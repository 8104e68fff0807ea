//! The Socket.IO handlers of the "/" namespace, each a small async fn with extractors.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ConnectInfo;
use serde::Serialize;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, Extension, SocketRef, State, TryData};

use super::ack::Ack;
use socketioxide::socket::DisconnectReason;

use super::args::EventArgs;
use super::feed::{Delivery, Joining};
use super::limits::{ConnectionRefused, TokenBucket};
use super::presence::USERS;
use super::replay::{self, ReplayError, replay_then_go_live};
use super::sequencer::WriteError;
use super::{
    CHAT_MESSAGE, ChatState, HISTORY, NICKNAME, ONLINE, PRIVATE_MESSAGE, TYPING, user_room,
};
use crate::cluster::adapter::ChatAdapter;
use crate::cluster::lock;
use crate::domain::{
    NewMessage, Nickname, ServerOffset, ValidationError, history_limit_from_auth, json_type_name,
};
use crate::store::{StoredPrivateMessage, WriteOutcome};

/// The ack of a stored message: its offset, and whether it had been stored before.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    server_offset: ServerOffset,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

/// The ack of a refused message. `retryAfterMs` says the same message may be sent again
/// after that long (rate limit, storage fault); without it, resending cannot help.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Refused {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

impl Refused {
    /// Nothing was stored (the store failed): the same message may be resent shortly.
    fn storage_unavailable() -> Self {
        Self {
            error: "the message could not be stored (storage unavailable); retry".into(),
            retry_after_ms: Some(STORAGE_RETRY_MS),
        }
    }

    /// A refusal that resending will not fix.
    fn permanent(error: impl ToString) -> Self {
        Self {
            error: error.to_string(),
            retry_after_ms: None,
        }
    }
}

/// Takes one token from the socket's budget (`--message-rate`, `--message-burst`), which
/// every event that costs the server more than a lookup spends: messages, private messages,
/// history pages, nickname changes, typing signals. When it is spent, the refusal is counted
/// and returned, saying when to retry.
fn spend_budget(session: &SocketSession, chat: &ChatState) -> Result<(), Refused> {
    let budget = lock(&session.bucket).take(Instant::now());
    budget.map_err(|wait| {
        chat.metrics.refuse("rate_limited");
        let retry_after_ms = wait.as_millis().max(1) as u64;
        Refused {
            error: format!("rate limited: too many messages, retry in {retry_after_ms} ms"),
            retry_after_ms: Some(retry_after_ms),
        }
    })
}

/// How long a client should wait before resending after a storage fault.
const STORAGE_RETRY_MS: u64 = 1000;

/// What the server keeps per socket: its client address, nickname and message budget.
#[derive(Debug)]
pub struct SocketSession {
    /// The client's address (none for a non-TCP transport), for the per-address limit.
    address: Option<IpAddr>,
    /// The name its messages are signed with.
    nickname: Mutex<Nickname>,
    /// The message rate limit.
    bucket: Mutex<TokenBucket>,
    /// Whether others were last told this socket's user is typing.
    typing: AtomicBool,
}

impl SocketSession {
    /// The socket's current nickname.
    pub fn nickname(&self) -> Nickname {
        lock(&self.nickname).clone()
    }
}

/// Spends one unit of the socket's budget for a costly event ([`spend_budget`]) and returns
/// the event's arguments with the ack to answer on; over the budget, acks the refusal and
/// returns `None`.
async fn budgeted_args(
    session: &SocketSession,
    chat: &ChatState,
    args: TryData<EventArgs>,
    ack: Ack,
) -> Option<(Vec<Value>, Ack)> {
    if let Err(refused) = spend_budget(session, chat) {
        ack.send(&refused).await;
        return None;
    }
    Some((args.0.map(|EventArgs(args)| args).unwrap_or_default(), ack))
}

/// Why a socket was not admitted; the text reaches the client as its `connect_error`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectRefused {
    /// A connection limit.
    #[error(transparent)]
    Limit(#[from] ConnectionRefused),
    /// The auth payload's nickname is invalid.
    #[error("invalid nickname: {0}")]
    Nickname(#[from] ValidationError),
}

/// Admits a socket (connection limits) and registers its event handlers. Runs as a connect
/// middleware, i.e. before the server sends CONNECT: a refusal reaches the client as a
/// `connect_error` with the reason, and the client may emit the moment it is connected,
/// while an event that arrives before its handler exists is dropped (the async connect
/// handler below runs in its own task, after CONNECT is sent).
pub async fn admit_and_register(
    socket: SocketRef<ChatAdapter>,
    auth: TryData<Value>,
    State(chat): State<ChatState>,
) -> Result<(), ConnectRefused> {
    let nickname = Nickname::from_auth(auth.0.as_ref().ok()).inspect_err(|_| {
        chat.metrics.refuse("invalid_nickname");
    })?;
    let address = socket
        .req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    if let Err(refused) = chat.connections.admit(address) {
        tracing::debug!(sid = %socket.id, %refused, "refused a connection");
        chat.metrics.refuse(refused.reason());
        return Err(refused.into());
    }
    let (rate, burst) = chat.message_rate;
    socket.extensions.insert(Arc::new(SocketSession {
        address,
        nickname: Mutex::new(nickname.clone()),
        bucket: Mutex::new(TokenBucket::new(rate, burst)),
        typing: AtomicBool::new(false),
    }));
    socket
        .extensions
        .insert(Delivery::from_auth(auth.0.as_ref().ok()));
    chat.metrics.sockets_connected.inc();
    socket.on(CHAT_MESSAGE, on_chat_message);
    socket.on(ONLINE, on_online);
    socket.on(NICKNAME, on_nickname);
    socket.on(USERS, on_users);
    socket.on(TYPING, on_typing);
    socket.on(HISTORY, on_history);
    socket.on(PRIVATE_MESSAGE, on_private_message);
    socket.join(user_room(&nickname));
    socket.on_fallback(on_unknown_event);
    socket.on_disconnect(on_disconnect);
    // Reported here, before CONNECT, so that the disconnect handler's report comes after it.
    chat.presence.joined(nickname.as_str()).await;
    Ok(())
}

/// A socket disconnected: stop delivering to it, release its connection slot, count why.
pub async fn on_disconnect(
    socket: SocketRef<ChatAdapter>,
    reason: DisconnectReason,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    chat.feed.forget(socket.id).await;
    if session.typing.swap(false, Ordering::Relaxed) {
        broadcast_typing(&socket, &session.nickname(), false).await;
    }
    chat.presence.left(session.nickname().as_str()).await;
    chat.connections.release(session.address);
    chat.metrics.sockets_connected.dec();
    chat.metrics.disconnected(format!("{reason:?}"));
    tracing::debug!(sid = %socket.id, ?reason, "disconnected");
}

/// Lets engineioxide's heartbeat queue its first ping before the replay starts. The heartbeat
/// sends that ping the moment its task first runs, into the same bounded queue the replay
/// fills, and a ping that finds the queue full closes the connection (`HeartbeatTimeout`).
/// Measured with 30 clients connecting at once to replay 400 messages through a 16-packet
/// queue: without this, a worker cut off 77–112 of 300 replays after a queue's worth or so,
/// a single server 3–14. Its task was spawned before this one, so one yield lets it run
/// first on a single-threaded runtime (0 of 1,200 cut); on a multi-threaded one it may wait
/// on another thread's queue, so a millisecond more is given there (0 of 900; 0–3 of 300
/// with the yield alone).
async fn let_the_first_ping_go_first() {
    tokio::task::yield_now().await;
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread
    {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// A socket connected (its handlers are registered): replay what it missed, then make it
/// live.
pub async fn on_connect(
    socket: SocketRef<ChatAdapter>,
    auth: TryData<Value>,
    State(chat): State<ChatState>,
) {
    let requested = auth
        .0
        .as_ref()
        .map(ServerOffset::from_auth)
        .unwrap_or_default();

    // An offset beyond anything committed comes from another database (reset, or restored
    // from backup): the client's view is stale, so it gets the whole history. Everything
    // the feed has published is committed, so only an offset past it asks the store (the
    // reference: a feed may trail the commit by a moment).
    let published = chat.feed.last_published();
    let committed = if requested > published {
        chat.store.last_offset().await.unwrap_or(requested)
    } else {
        published
    };
    let mut from = if requested > committed {
        ServerOffset(0)
    } else {
        requested
    };
    // A fresh page may ask for only the latest messages; it pages back with `history`.
    if from.0 == 0
        && let Some(limit) = auth.0.as_ref().ok().and_then(history_limit_from_auth)
    {
        from = ServerOffset((committed.0 - i64::from(limit)).max(0));
    }
    tracing::debug!(sid = %socket.id, from = from.0, "connected");

    let_the_first_ping_go_first().await;

    // Private messages first (few; their own sequence), then the public replay.
    let private_from = auth
        .0
        .as_ref()
        .ok()
        .map(|a| ServerOffset::from_auth_field(a, "privateOffset"))
        .unwrap_or_default();
    let nickname = socket
        .extensions
        .get::<Arc<SocketSession>>()
        .map(|s| s.nickname());
    // `anonymous` is shared by every client without a nickname: it has no private messages.
    if let Some(nickname) = nickname.filter(|n| !n.is_anonymous())
        && let Err(error) =
            replay::replay_private(&socket, &chat.feed, nickname.as_str(), private_from).await
    {
        tracing::debug!(sid = %socket.id, %error, "private replay ended early");
    }
    match replay_then_go_live(&socket, &chat.feed, from, Joining::Connect).await {
        Ok(count) => tracing::debug!(sid = %socket.id, count, "replayed, now live"),
        Err(ReplayError::Closed) => tracing::debug!(sid = %socket.id, "closed during replay"),
        Err(error) => {
            tracing::warn!(sid = %socket.id, %error, "replay failed; disconnecting so the client retries");
            replay::disconnect(socket).await;
        }
    }
}

/// `chat message` (text, clientOffset) + ack: validate, store, broadcast, then ack.
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
    let Some((args, ack)) = budgeted_args(&session, &chat, args, ack).await else {
        return;
    };
    let message = match NewMessage::from_event_args(args, chat.max_message_bytes) {
        Ok(message) => message.by(session.nickname()),
        Err(error) => {
            tracing::debug!(sid = %socket.id, %error, "refused a chat message");
            ack.send(&Refused::permanent(error)).await;
            return;
        }
    };
    match chat.writer.write(message).await {
        Ok(outcome) => {
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
            ack.send(&Refused::storage_unavailable()).await;
        }
        Err(WriteError::ShuttingDown) => {}
    }
}

/// The `nickname` ack: the name now in use (trimmed).
#[derive(Debug, Serialize)]
struct NicknameSet {
    nickname: Nickname,
}

/// `nickname` (name) + ack: signs this socket's next messages with `name`. Acked with
/// `{ nickname }`, or `{ error }` when the name is invalid (the old one stays).
pub async fn on_nickname(
    socket: SocketRef<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let Some((args, ack)) = budgeted_args(&session, &chat, args, ack).await else {
        return;
    };
    let parsed = match args.as_slice() {
        [Value::String(name)] => Nickname::parse(name),
        [other] => Err(ValidationError::NicknameNotString(json_type_name(other))),
        _ => Err(ValidationError::NicknameNotString("nothing")),
    };
    match parsed {
        Ok(nickname) => {
            tracing::debug!(sid = %socket.id, "nickname changed");
            let old = std::mem::replace(&mut *lock(&session.nickname), nickname.clone());
            if old != nickname {
                socket.leave(user_room(&old));
                socket.join(user_room(&nickname));
                chat.presence.joined(nickname.as_str()).await;
                chat.presence.left(old.as_str()).await;
            }
            ack.send(&NicknameSet { nickname }).await;
        }
        Err(error) => ack.send(&Refused::permanent(error)).await,
    }
}

/// The ack of a stored private message.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrivateStored {
    private_offset: ServerOffset,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

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
    let Some((args, ack)) = budgeted_args(&session, &chat, args, ack).await else {
        return;
    };
    let message = match NewMessage::private_from_event_args(args, chat.max_message_bytes) {
        Ok(message) => message.by(session.nickname()),
        Err(error) => {
            ack.send(&Refused::permanent(error)).await;
            return;
        }
    };
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
        Ok(WriteOutcome::Inserted(id)) => {
            // Sent as stored (with the commit's time), exactly as a replay will send it.
            let stored = match chat
                .store
                .private_messages_after(sender.as_str(), ServerOffset(id.0 - 1), 1)
                .await
            {
                Ok(mut rows) if rows.first().is_some_and(|m| m.id == id) => rows.remove(0),
                _ => StoredPrivateMessage {
                    id,
                    text,
                    from: sender.as_str().to_owned(),
                    to: recipient.as_str().to_owned(),
                    created_at: super::sequencer::now_millis(),
                },
            };
            let rooms = [user_room(&sender), user_room(&recipient)];
            if let Err(error) = io
                .to(rooms)
                .emit(PRIVATE_MESSAGE, &stored.event_args())
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
        Ok(WriteOutcome::Duplicate(id)) => {
            ack.send(&PrivateStored {
                private_offset: id,
                duplicate: true,
            })
            .await;
        }
        Err(error @ WriteError::Storage(_)) => {
            tracing::warn!(sid = %socket.id, %error, "private message not stored; error ack");
            ack.send(&Refused::storage_unavailable()).await;
        }
        Err(WriteError::ShuttingDown) => {}
    }
}

/// Most messages one `history` request returns.
const HISTORY_PAGE_MAX: u32 = 200;

/// One message of a `history` page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryMessage<'a> {
    text: &'a str,
    server_offset: ServerOffset,
    author: &'a str,
    created_at: i64,
}

/// The `history` ack.
#[derive(Debug, Serialize)]
struct HistoryPage<'a> {
    messages: Vec<HistoryMessage<'a>>,
    /// Whether older messages remain.
    more: bool,
}

/// `history` (beforeOffset, limit) + ack: the latest `limit` (at most 200) messages before
/// `beforeOffset`, oldest first, and whether there are more: `{ messages: [{ text,
/// serverOffset, author, createdAt }], more }`; `{ error }` for bad arguments.
pub async fn on_history(
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let Some((args, ack)) = budgeted_args(&session, &chat, args, ack).await else {
        return;
    };
    let (before, limit) = match args.as_slice() {
        [before, limit] => match (before.as_i64(), limit.as_u64()) {
            (Some(before), Some(limit))
                if before > 0 && (1..=u64::from(HISTORY_PAGE_MAX)).contains(&limit) =>
            {
                (ServerOffset(before), limit as u32)
            }
            _ => {
                let error =
                    format!("history needs (beforeOffset > 0, limit 1..={HISTORY_PAGE_MAX})");
                ack.send(&Refused::permanent(error)).await;
                return;
            }
        },
        _ => {
            ack.send(&Refused::permanent(
                "history needs 2 arguments (beforeOffset, limit)",
            ))
            .await;
            return;
        }
    };
    match chat.store.messages_before(before, limit).await {
        Ok(page) => {
            let more = page.len() == limit as usize && page.first().is_some_and(|m| m.id.0 > 1);
            let messages = page
                .iter()
                .map(|m| HistoryMessage {
                    text: &m.text,
                    server_offset: m.id,
                    author: &m.author,
                    created_at: m.created_at,
                })
                .collect();
            ack.send(&HistoryPage { messages, more }).await;
        }
        Err(error) => {
            tracing::warn!(%error, "reading a history page failed");
            ack.send(&Refused {
                error: "history unavailable, retry".into(),
                retry_after_ms: Some(STORAGE_RETRY_MS),
            })
            .await;
        }
    }
}

/// `users` + ack: who is online (`{ users, count }`), the same list on every worker.
pub async fn on_users(ack: Ack, State(chat): State<ChatState>) {
    ack.send(&chat.presence.online()).await;
}

/// The `typing` event sent to the others.
#[derive(Debug, Serialize)]
struct Typing<'a> {
    nickname: &'a Nickname,
    typing: bool,
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
    if spend_budget(&session, &chat).is_err() {
        return;
    }
    if session.typing.swap(typing, Ordering::Relaxed) != typing {
        broadcast_typing(&socket, &session.nickname(), typing).await;
    }
}

/// Sends `{ nickname, typing }` to every socket but `socket`.
async fn broadcast_typing(socket: &SocketRef<ChatAdapter>, nickname: &Nickname, typing: bool) {
    let event = Typing { nickname, typing };
    if let Err(error) = socket.broadcast().emit(TYPING, &event).await {
        tracing::debug!(sid = %socket.id, %error, "typing not delivered everywhere");
    }
}

/// The `online` reply: sockets connected to any worker.
#[derive(Debug, Serialize)]
struct Online {
    count: usize,
}

/// `online` + ack: how many sockets are connected across all workers (the adapter asks
/// every worker), so every client sees the same figure whichever worker it is on.
pub async fn on_online(
    socket: SocketRef<ChatAdapter>,
    io: SocketIo<ChatAdapter>,
    ack: AckSender<ChatAdapter>,
) {
    match io.fetch_sockets().await {
        Ok(sockets) => {
            let _ = ack.send(&Online {
                count: sockets.len(),
            });
        }
        Err(error) => {
            tracing::warn!(sid = %socket.id, %error, "counting sockets across workers failed");
            let _ = ack.send(&Refused {
                error: "the online count is unavailable, retry".into(),
                retry_after_ms: Some(STORAGE_RETRY_MS),
            });
        }
    }
}

/// Any other event: ignored.
pub async fn on_unknown_event(socket: SocketRef<ChatAdapter>, Event(event): Event) {
    tracing::debug!(sid = %socket.id, %event, "ignored an unknown event");
}
