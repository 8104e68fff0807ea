//! What the channel requests share ([`super::channels`], [`super::direct`]): why one is
//! refused ([`Refusal`], each variant the words its `{ error }` ack says), the wrapper that
//! parses a request, checks it comes from an account and acks the answer or the refusal
//! ([`answer`]), looking a channel up for an account, and applying a join to every socket
//! of an account on every worker and host ([`join_everywhere`]).

use chat_protocol::acks::Refused;
use chat_protocol::channels::{ChannelError, ChannelInfo, object_arg};
use chat_protocol::events::CHANNEL_JOINED;
use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::extract::TryData;

use crate::adapter::ChatAdapter;
use crate::chat::ack::Ack;
use crate::chat::args::EventArgs;
use crate::chat::session::{SocketSession, storage_unavailable};
use crate::chat::{ChatState, user_room};
use crate::domain::{ChannelId, Username};
use crate::store::{Account, AccountId, Channel, StoreError};

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
        Err(refusal) => refuse(chat, ack, event, refusal).await,
    }
}

/// Acks `refusal` to `event`: a store failure as "storage unavailable, retry" (logged), any
/// other with its words (counted as a refused channel request).
pub(super) async fn refuse(chat: &ChatState, ack: Ack, event: &'static str, refusal: Refusal) {
    match refusal {
        Refusal::Store(error) => {
            tracing::warn!(%error, event, "a channel request failed on the store");
            ack.send(&storage_unavailable()).await;
        }
        refusal => {
            chat.metrics.refuse("channel_request");
            ack.send(&Refused::permanent(refusal)).await;
        }
    }
}

/// The account named `name` (in any case), or why not.
pub(super) async fn account_named(chat: &ChatState, name: &str) -> Result<Account, Refusal> {
    let found = match Username::parse(name) {
        Ok(name) => chat.store.account_by_username(&name.key()).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| Refusal::NoSuchAccount(name.to_owned()))
}

/// The channel `id`, or why not.
pub(super) async fn existing(chat: &ChatState, id: ChannelId) -> Result<Channel, Refusal> {
    chat.store
        .channel(id)
        .await?
        .ok_or(Refusal::NoSuchChannel(id))
}

/// The channel `id` if `account` is in it, or why not.
pub(super) async fn member_of(
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
