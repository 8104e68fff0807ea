//! The Socket.IO handlers of the "/" namespace, each a small async fn with extractors.

use serde::Serialize;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};

use super::args::EventArgs;
use super::replay::{ReplayError, replay_then_go_live};
use super::sequencer::WriteError;
use super::{CHAT_MESSAGE, ChatState, ONLINE};
use crate::cluster::driver::ChatAdapter;
use crate::domain::{NewMessage, ServerOffset};
use crate::store::WriteOutcome;

/// The ack of a stored message: its offset, and whether it had been stored before.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    server_offset: ServerOffset,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

/// The ack of a refused message.
#[derive(Debug, Serialize)]
struct Refused {
    error: String,
}

/// Registers a socket's event handlers. Runs as a connect middleware, i.e. before the
/// server sends CONNECT: the client may emit the moment it is connected, and an event that
/// arrives before its handler exists is dropped (the async connect handler below runs in
/// its own task, after CONNECT is sent).
pub async fn register_handlers(
    socket: SocketRef<ChatAdapter>,
) -> Result<(), std::convert::Infallible> {
    socket.on(CHAT_MESSAGE, on_chat_message);
    socket.on(ONLINE, on_online);
    socket.on_fallback(on_unknown_event);
    Ok(())
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
    // from backup): the client's view is stale, so it gets the whole history. (The store,
    // not this process's feed, is the reference: a feed may trail the commit by a moment.)
    let committed = chat.store.last_offset().await.unwrap_or(requested);
    let from = if requested > committed {
        ServerOffset(0)
    } else {
        requested
    };
    tracing::debug!(sid = %socket.id, from = from.0, "connected");

    match replay_then_go_live(&socket, &chat.store, &chat.feed, from).await {
        Ok(count) => tracing::debug!(sid = %socket.id, count, "replayed, now live"),
        Err(ReplayError::Closed) => tracing::debug!(sid = %socket.id, "closed during replay"),
        Err(error) => {
            tracing::warn!(sid = %socket.id, %error, "replay failed; disconnecting so the client retries");
            let _ = socket.disconnect();
        }
    }
}

/// `chat message` (text, clientOffset) + ack: validate, store, broadcast, then ack.
///
/// Bad input is acked with `{ error }`. A storage failure is not acked at all, so the
/// client's retry delivers the message later; the client offset makes the retry safe.
pub async fn on_chat_message(
    socket: SocketRef<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: AckSender<ChatAdapter>,
    State(chat): State<ChatState>,
) {
    let args = args.0.map(|EventArgs(args)| args).unwrap_or_default();
    let message = match NewMessage::from_event_args(args, chat.max_message_bytes) {
        Ok(message) => message,
        Err(error) => {
            tracing::debug!(sid = %socket.id, %error, "refused a chat message");
            let _ = ack.send(&Refused {
                error: error.to_string(),
            });
            return;
        }
    };
    match chat.writer.write(message).await {
        Ok(outcome) => {
            let reply = Stored {
                server_offset: outcome.id(),
                duplicate: matches!(outcome, WriteOutcome::Duplicate(_)),
            };
            let _ = ack.send(&reply);
        }
        Err(error @ WriteError::Storage(_)) => {
            tracing::warn!(sid = %socket.id, %error, "message not stored; leaving it unacked");
        }
        Err(WriteError::ShuttingDown) => {}
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
            });
        }
    }
}

/// Any other event: ignored.
pub async fn on_unknown_event(socket: SocketRef<ChatAdapter>, Event(event): Event) {
    tracing::debug!(sid = %socket.id, %event, "ignored an unknown event");
}
