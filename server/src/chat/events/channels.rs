//! The channel requests: `channels`, `channel create`, `channel join`, `channel leave`,
//! `channel invite`, `channel topic`, `channel members` and `channel read`.
//!
//! Membership is written to the store first, then applied to the account's sockets on every
//! worker and host at once through the adapter's remote join and leave (`io.to(the
//! account's room).join(the channel's room)`), then told to the account's tabs
//! (`channel joined`, `channel left`, `channel read`), so that every tab and device agrees.
//! Every refusal is an `{ error }` ack that says why; nothing is changed by a refused
//! request. Only signed-in accounts have channels besides `#general`.

use std::sync::Arc;

use chat_protocol::acks::Refused;
use chat_protocol::channels::{
    ChannelError, ChannelInfo, ChannelJoined, ChannelList, ChannelMembers, ChannelRef,
    ChannelUpdated, CreateChannel, Done, InviteToChannel, ReadUpTo, SetTopic, object_arg,
};
use chat_protocol::events::{
    CHANNEL_CREATE, CHANNEL_INVITE, CHANNEL_JOIN, CHANNEL_JOINED, CHANNEL_LEAVE, CHANNEL_LEFT,
    CHANNEL_MEMBERS, CHANNEL_READ, CHANNEL_TOPIC, CHANNEL_UPDATED,
};
use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, State, TryData};

use crate::adapter::ChatAdapter;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::sequencer::now_millis;
use crate::chat::session::{SocketSession, storage_unavailable};
use crate::chat::{ChatState, user_room};
use crate::domain::{ChannelId, Username};
use crate::store::{AccountId, Channel, NewChannel, StoreError};

/// Why a channel request was refused: sent as its `{ error }` ack. A channel is named by
/// its label ([`Channel::label`]: `#name`, or "that private conversation").
#[derive(Debug, thiserror::Error)]
pub(super) enum Refusal {
    #[error("sign in to use channels other than #general")]
    Guest,
    #[error(transparent)]
    Invalid(#[from] ChannelError),
    #[error("there is no channel {0}")]
    NoSuchChannel(ChannelId),
    #[error("#{0} is taken: pick another name")]
    NameTaken(String),
    #[error("#{0} is private: ask one of its members to invite you")]
    Private(String),
    #[error("that private conversation is between two others: nobody else can join it")]
    OthersConversation,
    #[error("you are not in {0}")]
    NotMember(String),
    #[error("everyone is in #general: it cannot be left")]
    LeaveGeneral,
    #[error("a private conversation cannot be left")]
    LeaveConversation,
    #[error("a private conversation is between two: make a private channel to talk with more")]
    InviteToConversation,
    #[error("a private conversation has no topic")]
    ConversationTopic,
    #[error("no account is named {0}")]
    NoSuchAccount(String),
    #[error("{0} is already in {1}")]
    AlreadyMember(String, String),
    #[error("storage unavailable, retry")]
    Store(#[from] StoreError),
}

/// Parses the request, runs `handle` for a signed-in account, and acks its answer or its
/// refusal.
pub(super) async fn answer<R, T, F>(
    event: &'static str,
    args: TryData<EventArgs>,
    ack: Ack,
    chat: &ChatState,
    session: &SocketSession,
    handle: impl FnOnce(R, AccountId, String) -> F,
) where
    R: serde::de::DeserializeOwned,
    T: Serialize,
    F: Future<Output = Result<T, Refusal>>,
{
    let parse = |args| object_arg::<R>(event, args);
    let Some((request, ack)) = session.budgeted(chat, args, ack, parse).await else {
        return;
    };
    let Some((account, username)) = session.identity.account() else {
        ack.send(&Refused::permanent(Refusal::Guest)).await;
        return;
    };
    match handle(request, account, username.to_owned()).await {
        Ok(reply) => ack.send(&reply).await,
        Err(Refusal::Store(error)) => {
            tracing::warn!(%error, event, "a channel request failed on the store");
            ack.send(&storage_unavailable()).await;
        }
        Err(refusal) => {
            chat.metrics.refuse("channel_request");
            ack.send(&Refused::permanent(refusal)).await;
        }
    }
}

/// The channel `id`, or why not.
async fn existing(chat: &ChatState, id: ChannelId) -> Result<Channel, Refusal> {
    chat.store
        .channel(id)
        .await?
        .ok_or(Refusal::NoSuchChannel(id))
}

/// The channel `id` if `account` is in it, or why not.
async fn member_of(
    chat: &ChatState,
    id: ChannelId,
    account: AccountId,
) -> Result<Channel, Refusal> {
    let channel = existing(chat, id).await?;
    if chat.store.is_member(id, account).await? {
        Ok(channel)
    } else {
        Err(Refusal::NotMember(channel.label()))
    }
}

/// `channel` as `account` sees it now.
pub(super) async fn info_for(
    chat: &ChatState,
    channel: ChannelId,
    account: AccountId,
    username: &str,
) -> Result<ChannelInfo, Refusal> {
    chat.store
        .channels_of(account, username)
        .await?
        .into_iter()
        .find(|info| info.id == channel)
        .ok_or(Refusal::NoSuchChannel(channel))
}

/// Puts every socket of `username`, on every worker and host, in `channel`'s room, and
/// tells them (`channel joined`) how they see it.
pub(super) async fn join_everywhere(
    io: &SocketIo<ChatAdapter>,
    username: &str,
    info: &ChannelInfo,
) {
    let account_room = user_room(username);
    if let Err(error) = io.to(account_room.clone()).join(info.id.room()).await {
        tracing::warn!(%error, "a remote join failed; the account's other sockets join on reconnect");
    }
    let _ = io.to(account_room).emit(CHANNEL_JOINED, info).await;
}

/// `channels` + ack: the channels one is in (`#general` first, with unread and mention
/// counts) and the public ones one could join. A guest is in `#general` only.
pub async fn on_channels(
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    // Two queries each: spent from the socket's budget like every costly request.
    if let Err(refused) = session.spend_budget(&chat) {
        ack.send(&refused).await;
        return;
    }
    let Some((account, username)) = session.identity.account() else {
        let general = ChannelInfo {
            id: ChannelId::GENERAL,
            name: "general".to_owned(),
            private: false,
            direct_with: None,
            topic: String::new(),
            last_seq: 0,
            last_read: 0,
            unread: 0,
            mentions: 0,
        };
        let list = ChannelList {
            channels: vec![general],
            joinable: Vec::new(),
        };
        ack.send(&list).await;
        return;
    };
    let list = async {
        Ok::<_, StoreError>(ChannelList {
            channels: chat.store.channels_of(account, username).await?,
            joinable: chat.store.joinable_channels(account).await?,
        })
    };
    match list.await {
        Ok(list) => ack.send(&list).await,
        Err(error) => {
            tracing::warn!(%error, "listing channels failed");
            ack.send(&storage_unavailable()).await;
        }
    }
}

/// `channel create` ({ name, private?, topic? }) + ack `{ channel }`: a new channel with
/// its creator in it.
pub async fn on_channel_create(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: CreateChannel, account, username: String| async move {
        let new = NewChannel {
            name: &request.name,
            private: request.private,
            topic: &request.topic,
            creator: account,
        };
        let Some(id) = chat.store.create_channel(&new, now_millis()).await? else {
            return Err(Refusal::NameTaken(request.name.as_str().to_owned()));
        };
        let info = info_for(chat, id, account, &username).await?;
        join_everywhere(io, &username, &info).await;
        Ok(ChannelJoined { channel: info })
    };
    answer(CHANNEL_CREATE, args, ack, chat, &session, handle).await;
}

/// `channel join` ({ channel }) + ack `{ channel }`: join a public channel.
pub async fn on_channel_join(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: ChannelRef, account, username: String| async move {
        let channel = existing(chat, request.channel).await?;
        if channel.private && !chat.store.is_member(channel.id, account).await? {
            return Err(if channel.direct {
                Refusal::OthersConversation
            } else {
                Refusal::Private(channel.name)
            });
        }
        chat.store
            .add_member(channel.id, account, now_millis())
            .await?;
        let info = info_for(chat, channel.id, account, &username).await?;
        join_everywhere(io, &username, &info).await;
        Ok(ChannelJoined { channel: info })
    };
    answer(CHANNEL_JOIN, args, ack, chat, &session, handle).await;
}

/// `channel leave` ({ channel }) + ack `{ ok }`: leave a channel (not `#general`); every
/// socket of the account stops receiving it at once.
pub async fn on_channel_leave(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: ChannelRef, account, username: String| async move {
        if request.channel == ChannelId::GENERAL {
            return Err(Refusal::LeaveGeneral);
        }
        let channel = existing(chat, request.channel).await?;
        if channel.direct {
            return Err(Refusal::LeaveConversation);
        }
        if !chat.store.remove_member(channel.id, account).await? {
            return Err(Refusal::NotMember(channel.label()));
        }
        let account_room = user_room(&username);
        if let Err(error) = io.to(account_room.clone()).leave(channel.id.room()).await {
            tracing::warn!(%error, "a remote leave failed; the account's other sockets leave on reconnect");
        }
        let _ = io.to(account_room).emit(CHANNEL_LEFT, &request).await;
        Ok(Done::OK)
    };
    answer(CHANNEL_LEAVE, args, ack, chat, &session, handle).await;
}

/// `channel invite` ({ channel, username }) + ack `{ ok }`: a member adds an account to a
/// channel (public or private); the invitee's sockets join it at once and are told.
pub async fn on_channel_invite(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: InviteToChannel, account, _username: String| async move {
        let channel = member_of(chat, request.channel, account).await?;
        if channel.direct {
            return Err(Refusal::InviteToConversation);
        }
        let invitee = match Username::parse(&request.username) {
            Ok(name) => chat.store.account_by_username(&name.key()).await?,
            Err(_) => None,
        };
        let Some(invitee) = invitee else {
            return Err(Refusal::NoSuchAccount(request.username));
        };
        if !chat
            .store
            .add_member(channel.id, invitee.id, now_millis())
            .await?
        {
            return Err(Refusal::AlreadyMember(invitee.username, channel.label()));
        }
        let info = info_for(chat, channel.id, invitee.id, &invitee.username).await?;
        join_everywhere(io, &invitee.username, &info).await;
        Ok(Done::OK)
    };
    answer(CHANNEL_INVITE, args, ack, chat, &session, handle).await;
}

/// `channel topic` ({ channel, topic }) + ack `{ ok }`: a member sets the topic; every
/// member's sockets are told (`channel updated`).
pub async fn on_channel_topic(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: SetTopic, account, _username: String| async move {
        let channel = member_of(chat, request.channel, account).await?;
        if channel.direct {
            return Err(Refusal::ConversationTopic);
        }
        chat.store.set_topic(channel.id, &request.topic).await?;
        let updated = ChannelUpdated {
            channel: channel.id,
            topic: request.topic.as_str().to_owned(),
        };
        let members = if channel.id == ChannelId::GENERAL {
            io.broadcast()
        } else {
            io.to(channel.id.room())
        };
        let _ = members.emit(CHANNEL_UPDATED, &updated).await;
        Ok(Done::OK)
    };
    answer(CHANNEL_TOPIC, args, ack, chat, &session, handle).await;
}

/// `channel members` ({ channel }) + ack `{ members }`: the usernames in a channel one is
/// in.
pub async fn on_channel_members(
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let chat = &chat;
    let handle = |request: ChannelRef, account, _username: String| async move {
        let channel = member_of(chat, request.channel, account).await?;
        Ok(ChannelMembers {
            members: chat.store.members(channel.id).await?,
        })
    };
    answer(CHANNEL_MEMBERS, args, ack, chat, &session, handle).await;
}

/// `channel read` ({ channel, seq }) + ack `{ channel, seq }`: moves the account's read
/// marker forward; every socket of the account is told where it is now.
pub async fn on_channel_read(
    io: SocketIo<ChatAdapter>,
    args: TryData<EventArgs>,
    ack: Ack,
    State(chat): State<ChatState>,
    Extension(session): Extension<Arc<SocketSession>>,
) {
    let (chat, io) = (&chat, &io);
    let handle = |request: ReadUpTo, account, username: String| async move {
        let Some(seq) = chat
            .store
            .mark_read(request.channel, account, request.seq)
            .await?
        else {
            let channel = existing(chat, request.channel).await?;
            return Err(Refusal::NotMember(channel.label()));
        };
        let marker = ReadUpTo {
            channel: request.channel,
            seq,
        };
        let _ = io
            .to(user_room(&username))
            .emit(CHANNEL_READ, &marker)
            .await;
        Ok(marker)
    };
    answer(CHANNEL_READ, args, ack, chat, &session, handle).await;
}
