//! The chat's side of each worker connection (the cluster crate's
//! [`PrimaryApp`]): a worker joins the fan-out, its writes go to the sequencer and their
//! outcomes back to it, its presence reports go to the roster, and when it leaves its
//! sockets leave the roster.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use socketioxide_cluster::{PrimaryApp, TrySendError, WorkerHandle};

use super::relay::Relay;
use crate::chat::presence::Expiry;
use crate::chat::sequencer::{Reply, Sequencer};
use crate::domain::{ChannelId, ClientOffset, MessageText, NewMessage, Nickname};
use crate::ipc::frame::Frame;
use crate::store::{WriteOutcome, WriteReceipt};

/// What the primary accepts from its workers.
#[derive(Debug, Clone, Copy)]
pub struct WorkerLimits {
    /// Largest message text, in bytes (re-checked here: the primary trusts no peer).
    pub max_message_bytes: usize,
    /// How long a user stays online after their last socket closed.
    pub presence_grace: Duration,
}

/// The chat's traffic with every worker.
pub struct WorkerTraffic {
    relay: Arc<Relay>,
    sequencer: Sequencer,
    limits: WorkerLimits,
}

impl WorkerTraffic {
    /// Workers join `relay`'s fan-out and write through `sequencer`.
    pub fn new(relay: Arc<Relay>, sequencer: Sequencer, limits: WorkerLimits) -> Arc<Self> {
        Arc::new(Self {
            relay,
            sequencer,
            limits,
        })
    }

    /// Stores a worker's message (fields as its `Write` frame carried them) and answers
    /// `request` on `worker`'s link.
    fn write(&self, worker: &WorkerHandle, request: u64, fields: WriteFields) {
        let message = match validate(fields, self.limits.max_message_bytes) {
            Ok(message) => message,
            Err(reason) => {
                send_reply(worker, Frame::WriteFailed { request, reason });
                return;
            }
        };
        let reply = reply_to_worker(request, worker.clone());
        if let Err((message, reply)) = self.sequencer.try_submit(message, reply) {
            let sequencer = self.sequencer.clone();
            tokio::spawn(async move { sequencer.submit(message, reply).await });
        }
    }
}

/// What a `Write` frame carries besides its request id, before validation.
struct WriteFields {
    text: String,
    client_offset: String,
    author: String,
    channel: i64,
}

impl PrimaryApp for WorkerTraffic {
    fn worker_joined(&self, worker: &WorkerHandle) {
        self.relay.join(worker);
    }

    fn worker_message(&self, worker: &WorkerHandle, payload: Bytes) {
        match Frame::from_payload(payload) {
            Ok(Frame::Write {
                request,
                text,
                client_offset,
                author,
                channel,
            }) => self.write(
                worker,
                request,
                WriteFields {
                    text,
                    client_offset,
                    author,
                    channel,
                },
            ),
            Ok(Frame::PresenceReport { nickname, joined }) => {
                if let Some(expiry) = self.relay.presence_report(worker.id(), &nickname, joined) {
                    expire_later(self.relay.clone(), vec![expiry], self.limits.presence_grace);
                }
            }
            Ok(Frame::RenameReport { from, to }) => {
                if let Some(expiry) = self.relay.rename_report(worker.id(), &from, &to) {
                    expire_later(self.relay.clone(), vec![expiry], self.limits.presence_grace);
                }
            }
            Ok(other) => {
                tracing::warn!(worker = worker.index(), frame = ?other, "unexpected frame from a worker")
            }
            Err(error) => {
                tracing::warn!(worker = worker.index(), %error, "corrupt frame from a worker; cutting it off");
                worker.cut_off();
            }
        }
    }

    fn worker_left(&self, worker: &WorkerHandle) {
        let expiries = self.relay.leave(worker.id());
        expire_later(self.relay.clone(), expiries, self.limits.presence_grace);
    }
}

/// The reply to the worker's write `request`: `WriteDone` or `WriteFailed` on its link.
fn reply_to_worker(request: u64, worker: WorkerHandle) -> Reply {
    Reply::new(move |result| {
        let frame = match result {
            Ok(WriteReceipt {
                outcome,
                created_at,
            }) => Frame::WriteDone {
                request,
                offset: outcome.id(),
                duplicate: matches!(outcome, WriteOutcome::Duplicate(_)),
                created_at,
            },
            Err(error) => Frame::WriteFailed {
                request,
                reason: error.to_string(),
            },
        };
        send_reply(&worker, frame);
    })
}

/// Queues a reply for a worker; a full queue gets it from a task that waits for room (a
/// reply is never dropped while the worker is connected).
fn send_reply(worker: &WorkerHandle, frame: Frame) {
    if let Err(TrySendError::Full(payload)) = worker.try_send(frame.to_payload()) {
        // At shutdown there may be no runtime left to wait in; the worker is going too.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let worker = worker.clone();
            runtime.spawn(async move { worker.send(payload).await });
        }
    }
}

/// Checks, after `grace`, whether the users of `expiries` are still without a socket.
fn expire_later(relay: Arc<Relay>, expiries: Vec<Expiry>, grace: Duration) {
    if expiries.is_empty() {
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        for expiry in &expiries {
            relay.expire(expiry);
        }
    });
}

/// Re-checks what a worker sent: the primary trusts no peer with its database.
fn validate(fields: WriteFields, max_message_bytes: usize) -> Result<NewMessage, String> {
    Ok(NewMessage {
        text: MessageText::parse(fields.text, max_message_bytes).map_err(|e| e.to_string())?,
        client_offset: ClientOffset::parse(fields.client_offset).map_err(|e| e.to_string())?,
        author: Nickname::parse(&fields.author).map_err(|e| e.to_string())?,
        channel: ChannelId::from_value(&fields.channel.into()).map_err(|e| e.to_string())?,
    })
}
