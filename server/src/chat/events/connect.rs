//! A socket's life: admitted (its identity from the handshake's session cookie, the guest
//! policy, connection limits, its connect `auth` parsed once into a [`ConnectAuth`]) before
//! CONNECT is sent, told who it is and replayed what it missed once connected, and let go
//! on disconnect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ConnectInfo;
use chat_protocol::acks::Identity as IdentityPayload;
use chat_protocol::auth::ConnectAuth;
use chat_protocol::events::IDENTITY;
use serde_json::Value;
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use super::people::broadcast_typing;
use crate::accounts::cookie::SessionCookie;
use crate::adapter::ChatAdapter;
use crate::chat::feed::Joining;
use crate::chat::identity::{GuestPolicy, Identity, starting_name};
use crate::chat::limits::ConnectionRefused;
use crate::chat::replay::{self, ReplayError};
use crate::chat::sequencer::now_millis;
use crate::chat::session::SocketSession;
use crate::chat::{ChatState, session_room, user_room};
use crate::domain::{ChannelId, ServerOffset};
use crate::store::{AccountId, StoreError};

/// Why a socket was not admitted; the text reaches the client as its `connect_error`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectRefused {
    /// A connection limit.
    #[error(transparent)]
    Limit(#[from] ConnectionRefused),
    /// Guests may not connect (`--guests deny`) and the handshake carried no live session.
    #[error("this chat is for signed-in users only: sign in first (guests are not allowed)")]
    GuestsDenied,
    /// The session could not be checked.
    #[error("your sign-in could not be checked (storage unavailable); retry")]
    Accounts(#[source] StoreError),
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
    let auth = ConnectAuth::parse(auth.0.as_ref().ok());
    let identity = identify(&socket, &chat).await?;
    let channels = match &identity {
        Identity::Account { id, .. } => channel_rooms(&chat, *id).await?,
        Identity::Guest { .. } => Vec::new(),
    };
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
    let nickname = starting_name(&identity, auth.guest_name.as_ref(), &socket.id.to_string());
    if let Identity::Account {
        username, session, ..
    } = &identity
    {
        socket.join([user_room(username), session_room(session)]);
        socket.join(channels);
    }
    socket.extensions.insert(Arc::new(SocketSession::new(
        identity,
        nickname.clone(),
        &auth,
        address,
        chat.message_rate,
    )));
    socket.extensions.insert(auth.delivery);
    chat.metrics.sockets_connected.inc();
    super::register(&socket);
    // Reported here, before CONNECT, so that the disconnect handler's report comes after it.
    chat.presence.joined(nickname.as_str()).await;
    Ok(())
}

/// The rooms of the channels `account` is in (other than `#general`, which every socket
/// receives), making it a member of `#general` on its first connection.
async fn channel_rooms(
    chat: &ChatState,
    account: AccountId,
) -> Result<Vec<String>, ConnectRefused> {
    let channels = chat
        .store
        .channel_ids_of(account)
        .await
        .map_err(ConnectRefused::Accounts)?;
    if !channels.contains(&ChannelId::GENERAL) {
        chat.store
            .ensure_general_member(account, now_millis())
            .await
            .map_err(ConnectRefused::Accounts)?;
    }
    Ok(channels
        .into_iter()
        .filter(|channel| *channel != ChannelId::GENERAL)
        .map(ChannelId::room)
        .collect())
}

/// Who the socket is: the account its handshake's session cookie signs in, else a guest
/// (if guests are allowed). A forged, expired or signed-out cookie is no session: the
/// socket is a guest, never the account.
async fn identify(
    socket: &SocketRef<ChatAdapter>,
    chat: &ChatState,
) -> Result<Identity, ConnectRefused> {
    let cookie = SessionCookie::from_headers(&socket.req_parts().headers);
    let signed_in = chat.accounts.signed_in(&cookie).await.map_err(|error| {
        tracing::warn!(sid = %socket.id, %error, "a session could not be checked");
        chat.metrics.refuse("accounts_unavailable");
        ConnectRefused::Accounts(error)
    })?;
    match (signed_in, cookie.id()) {
        (Some(account), Some(id)) => Ok(Identity::Account {
            id: account.account_id,
            username: account.username,
            session: id.hash(),
        }),
        _ => match chat.guests {
            GuestPolicy::Allow => Ok(Identity::Guest { may_post: true }),
            GuestPolicy::ReadOnly => Ok(Identity::Guest { may_post: false }),
            GuestPolicy::Deny => {
                chat.metrics.refuse("guests_denied");
                Err(ConnectRefused::GuestsDenied)
            }
        },
    }
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
pub async fn on_connect(socket: SocketRef<ChatAdapter>, State(chat): State<ChatState>) {
    // Inserted by `admit_and_register`, which runs first.
    let Some(session) = socket.extensions.get::<Arc<SocketSession>>() else {
        return;
    };
    let requested = session.replay.server_offset;
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
        && let Some(limit) = session.replay.history_limit
    {
        from = ServerOffset((committed.0 - i64::from(limit.get())).max(0));
    }
    tracing::debug!(sid = %socket.id, from = from.0, "connected");

    let_the_first_ping_go_first().await;
    let identity = IdentityPayload {
        name: session.nickname().into_inner(),
        guest: session.identity.account().is_none(),
        can_post: session.identity.may_post(),
    };
    if let Err(error) = socket.emit(IDENTITY, &identity) {
        tracing::debug!(sid = %socket.id, %error, "identity not sent");
    }

    // One replay for all the socket's channels, its direct ones (private messages) too.
    match chat
        .replayer
        .replay_then_go_live(&socket, from, Joining::Connect)
        .await
    {
        Ok(count) => tracing::debug!(sid = %socket.id, count, "replayed, now live"),
        Err(ReplayError::Closed) => tracing::debug!(sid = %socket.id, "closed during replay"),
        Err(error) => {
            tracing::warn!(sid = %socket.id, %error, "replay failed; disconnecting so the client retries");
            replay::disconnect(socket).await;
        }
    }
}
