//! Private conversations: the *direct* channel of two accounts. `channel direct` opens one
//! (what a page does when its user picks someone to write to), `private message` posts into
//! one; either makes the channel on the pair's first use, with both accounts as members,
//! and puts both accounts' sockets in its room on every worker and host before anything is
//! posted there. From then on it is a channel like any other: its messages reach its two
//! members' sockets only, live and replayed, with their own `seq`, unread counts and read
//! markers. Nobody else can join it, and neither member can leave it or add anyone.

use std::sync::Arc;

use chat_protocol::acks::{DirectStored, Refused};
use chat_protocol::channels::{ChannelInfo, ChannelJoined, OpenDirect};
use chat_protocol::events::{CHANNEL_DIRECT, PRIVATE_MESSAGE};
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, SocketRef, State, TryData};

use super::channel_access::{Refusal, account_named, answer, info_for, join_everywhere, refuse};
use super::messages::post_then;
use crate::adapter::ChatAdapter;
use crate::chat::ChatState;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::sequencer::now_millis;
use crate::chat::session::SocketSession;
use crate::domain::{ChannelId, NewMessage};
use crate::store::{Account, AccountId, WriteOutcome};

/// The direct channel of `account` (named `username`) and the account named `other`, made
/// if they have none; when made, every socket of both accounts joins it everywhere and is
/// told (`channel joined`), and the channel as `account` sees it comes back too.
async fn open(
    chat: &ChatState,
    io: &SocketIo<ChatAdapter>,
    (account, username): (AccountId, &str),
    other: &str,
) -> Result<(ChannelId, Option<ChannelInfo>), Refusal> {
    let Account {
        id: other_id,
        username: other_name,
        ..
    } = account_named(chat, other).await?;
    let direct = chat
        .store
        .direct_channel(account, other_id, now_millis())
        .await?;
    if !direct.created {
        return Ok((direct.id, None));
    }
    let info = info_for(chat, direct.id, account, username).await?;
    join_everywhere(io, username, &info).await;
    if other_id != account {
        let theirs = info_for(chat, direct.id, other_id, &other_name).await?;
        join_everywhere(io, &other_name, &theirs).await;
    }
    Ok((direct.id, Some(info)))
}

/// `channel direct` ({ username }) + ack `{ channel }`: the conversation of this account
/// and `username`, as this account sees it (made if it was not).
pub async fn on_channel_direct(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: OpenDirect, account, username: String| async move {
        let channel = match open(chat, io, (account, &username), &request.username).await? {
            (_, Some(made)) => made,
            (id, None) => info_for(chat, id, account, &username).await?,
        };
        Ok(ChannelJoined { channel })
    };
    answer(CHANNEL_DIRECT, args, ack, chat, &session, handle).await;
}

/// `private message` (to, text, clientOffset) + ack `{ serverOffset, channel }`: a message
/// into the conversation of the sender and the account `to` (made by the first one). Both
/// must be accounts: a guest, or a `to` that names no account, gets `{ error }` and nothing
/// is stored. The recipient need not be online: it is replayed when they connect, as any
/// message of their channels. Bad input and the rate limit are answered as for `chat
/// message`.
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
    let Some(((to, message), ack)) = session.budgeted(&chat, args, ack, parse).await else {
        return;
    };
    let Some((account, username)) = session.identity.account() else {
        let error = "private messages are between signed-in accounts: sign in to send one";
        ack.send(&Refused::permanent(error)).await;
        return;
    };
    let channel = match open(&chat, &io, (account, username), to.as_str()).await {
        Ok((channel, _)) => channel,
        Err(refusal) => return refuse(&chat, ack, PRIVATE_MESSAGE, refusal).await,
    };
    let message = NewMessage { channel, ..message };
    let stored = |outcome: WriteOutcome| DirectStored {
        server_offset: outcome.id(),
        channel,
        duplicate: matches!(outcome, WriteOutcome::Duplicate(_)),
    };
    post_then(&socket, &chat, &session, message, ack, stored).await;
}
