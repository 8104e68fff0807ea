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

use chat_protocol::channels::{
    ChannelInfo, ChannelJoined, ChannelList, ChannelMembers, ChannelRef, ChannelUpdated,
    CreateChannel, Done, InviteToChannel, ReadUpTo, SetTopic,
};
use chat_protocol::events::{
    CHANNEL_CREATE, CHANNEL_INVITE, CHANNEL_JOIN, CHANNEL_LEAVE, CHANNEL_LEFT, CHANNEL_MEMBERS,
    CHANNEL_READ, CHANNEL_TOPIC, CHANNEL_UPDATED,
};
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, State, TryData};

use super::channel_access::{
    Refusal, account_named, answer, existing, info_for, join_everywhere, member_of,
};
use crate::adapter::ChatAdapter;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::sequencer::now_millis;
use crate::chat::session::{SocketSession, storage_unavailable};
use crate::chat::{ChatState, user_room};
use crate::domain::ChannelId;
use crate::store::{NewChannel, StoreError};

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
        let invitee = account_named(chat, &request.username).await?;
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
