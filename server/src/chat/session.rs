//! What the server keeps per socket (its address, identity, name, message budget, typing
//! flag and what its handshake asked to replay), and the budget every costly event spends.

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use chat_protocol::acks::Refused;
use chat_protocol::auth::ConnectAuth;
use serde_json::Value;
use socketioxide::extract::TryData;

use super::ChatState;
use super::ack::Ack;
use super::args::EventArgs;
use super::identity::Identity;
use super::limits::TokenBucket;
use crate::domain::{HistoryLimit, Nickname, ServerOffset};
use crate::sync::lock;

/// How long a client should wait before resending after a storage fault.
pub const STORAGE_RETRY_MS: u64 = 1000;

/// The refusal of a message that could not be stored: nothing was stored, so the same
/// message may be resent shortly.
pub fn storage_unavailable() -> Refused {
    Refused::retry_after(
        "the message could not be stored (storage unavailable); retry",
        STORAGE_RETRY_MS,
    )
}

/// What a socket's connect `auth` asked to be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayRequest {
    /// The messages of the socket's channels after this offset.
    pub server_offset: ServerOffset,
    /// With no offset: only the latest N.
    pub history_limit: Option<HistoryLimit>,
}

/// What the server keeps per socket, in its extensions.
#[derive(Debug)]
pub struct SocketSession {
    /// The client's address (none for a non-TCP transport), for the per-address limit.
    pub address: Option<IpAddr>,
    /// Who it is (decided at connect, from its session cookie).
    pub identity: Identity,
    /// The name its messages are signed with.
    nickname: Mutex<Nickname>,
    /// The message rate limit.
    bucket: Mutex<TokenBucket>,
    /// Whether others were last told this socket's user is typing.
    pub typing: AtomicBool,
    /// What its handshake asked to replay.
    pub replay: ReplayRequest,
}

impl SocketSession {
    /// The session of a socket admitted as `identity` named `nickname`, with `auth`, from
    /// `address`, allowed `rate` messages a second with bursts of `burst`.
    pub fn new(
        identity: Identity,
        nickname: Nickname,
        auth: &ConnectAuth,
        address: Option<IpAddr>,
        (rate, burst): (u32, u32),
    ) -> Self {
        Self {
            address,
            identity,
            nickname: Mutex::new(nickname),
            bucket: Mutex::new(TokenBucket::new(rate, burst)),
            typing: AtomicBool::new(false),
            replay: ReplayRequest {
                server_offset: auth.server_offset,
                history_limit: auth.history_limit,
            },
        }
    }

    /// The socket's current nickname.
    pub fn nickname(&self) -> Nickname {
        lock(&self.nickname).clone()
    }

    /// Signs the socket's next messages with `nickname`; returns the old name.
    pub fn rename(&self, nickname: Nickname) -> Nickname {
        std::mem::replace(&mut *lock(&self.nickname), nickname)
    }

    /// Takes one token from the socket's budget (`--message-rate`, `--message-burst`),
    /// which every event that costs the server more than a lookup spends: messages,
    /// private messages, history pages, nickname changes, typing signals. When it is spent,
    /// the refusal is counted and returned, saying when to retry.
    pub fn spend_budget(&self, chat: &ChatState) -> Result<(), Refused> {
        let budget = lock(&self.bucket).take(Instant::now());
        budget.map_err(|wait| {
            chat.metrics.refuse("rate_limited");
            let retry_after_ms = wait.as_millis().max(1) as u64;
            Refused::retry_after(
                format!("rate limited: too many messages, retry in {retry_after_ms} ms"),
                retry_after_ms,
            )
        })
    }

    /// Spends one unit of the budget for a costly event ([`Self::spend_budget`]), then
    /// validates the event's arguments with `parse`; returns the request with the ack to
    /// answer on. Over the budget, or when `parse` refuses the arguments, it acks the
    /// refusal (`{ error, retryAfterMs }`, or `{ error }` naming the broken rule) and
    /// returns `None`.
    pub async fn budgeted<T, E: std::fmt::Display>(
        &self,
        chat: &ChatState,
        args: TryData<EventArgs>,
        ack: Ack,
        parse: impl FnOnce(Vec<Value>) -> Result<T, E>,
    ) -> Option<(T, Ack)> {
        if let Err(refused) = self.spend_budget(chat) {
            ack.send(&refused).await;
            return None;
        }
        match parse(args.0.map(|EventArgs(args)| args).unwrap_or_default()) {
            Ok(request) => Some((request, ack)),
            Err(error) => {
                tracing::debug!(%error, "refused an event's arguments");
                ack.send(&Refused::permanent(error)).await;
                None
            }
        }
    }
}
