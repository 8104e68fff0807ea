//! The ring of recent messages: what a worker published lately, each message encoded once
//! ([`LiveMessage`]), and how a run of them is queued to one socket, singly or as bounded
//! `chat messages` lists shared by every socket given the same run.
//!
//! The feed keeps one ring for every channel: a socket finishing its replay is caught up
//! from it (what was committed while its replay read the store), and every flush gives live
//! sockets what they have not been given from it, skipping the messages of channels they
//! are not in ([`ChannelRooms`]). Once the ring no longer holds everything after a socket's
//! position, that socket must read the store instead ([`Sent::NotInRing`]). One ring for
//! all channels keeps a quiet channel's cost at nothing: its recent messages are in the
//! shared ring while they are recent, and in the store after.

use std::collections::{HashMap, VecDeque};

use socketioxide::SocketError;
use socketioxide::extract::SocketRef;
use socketioxide_core::packet::Packet;

use super::encoded::{LiveMessage, chat_messages_packet};
use super::rooms::ChannelRooms;
use crate::adapter::{ChatAdapter, PacketSender};
use crate::domain::{ChannelId, MessageText, ServerOffset};
use crate::store::StoredMessage;
pub use chat_protocol::auth::Delivery;

/// How many recent messages the ring keeps for sockets finishing their replay.
pub const RING_CAPACITY: usize = 4096;

/// `chat messages` events encoded during one flush, so that sockets given the same
/// messages share one encoding: for sockets given every message, by the offset their
/// messages follow (with the ring index after the list's last message); for sockets in only
/// some of the run's channels, by that offset and those channels (each list with the ring
/// index after the last message it passed, and how many it holds).
#[derive(Default)]
pub struct Batches {
    every: HashMap<ServerOffset, (Packet, usize)>,
    some: HashMap<(ServerOffset, Vec<ChannelId>), Lists>,
}

/// Lists for the sockets in some of a run's channels: each packet with the ring index after
/// the last message it passed, and how many messages it holds.
type Lists = Vec<(Packet, usize, u64)>;

impl Batches {
    /// None encoded yet.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Most bytes of messages in one `chat messages` list (a list holds at least one message):
/// about the largest `chat message` at the default size limit. A socket's queue holds a
/// bounded number of packets, so a client that stops reading pins at most that many lists:
/// bounded lists keep that memory what it is for one message per packet.
const LIST_BYTES: usize = MessageText::DEFAULT_MAX_BYTES + 256;

/// The published messages still held in memory.
pub struct Recent {
    /// Every message published after `covers_from`, oldest first.
    ring: VecDeque<LiveMessage>,
    /// The ring holds every published message with an id above this (the last published
    /// while the ring is empty).
    covers_from: ServerOffset,
}

/// How a send from the ring to one socket ([`Recent::give`]) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The socket has every published message now.
    CaughtUp,
    /// The socket's queue filled up first.
    QueueFull,
    /// The ring no longer holds everything after the socket's offset: read the store.
    NotInRing,
    /// The socket is gone.
    Closed,
}

impl From<SocketError> for Sent {
    /// Why a send to a socket stopped: its queue is full, or it is gone.
    fn from(error: SocketError) -> Self {
        match error {
            SocketError::InternalChannelFull => Self::QueueFull,
            SocketError::Closed => Self::Closed,
        }
    }
}

impl Recent {
    /// An empty ring that covers every message after `last_published`.
    pub fn new(last_published: ServerOffset) -> Self {
        Self {
            ring: VecDeque::with_capacity(RING_CAPACITY),
            covers_from: last_published,
        }
    }

    /// Fills an empty ring with `latest`, the newest stored messages up to the last
    /// published (at most [`RING_CAPACITY`], in id order): it then covers everything after
    /// the first of them. Anything else (a ring in use, messages that do not end at the
    /// last published) leaves it as it is.
    pub fn warm(&mut self, latest: &[StoredMessage]) {
        let (Some(first), Some(last)) = (latest.first(), latest.last()) else {
            return;
        };
        if !self.ring.is_empty() || last.id != self.covers_from || latest.len() > RING_CAPACITY {
            return;
        }
        self.ring.extend(latest.iter().map(LiveMessage::encode));
        self.covers_from = ServerOffset(first.id.0 - 1);
    }

    /// The highest offset published.
    pub fn last(&self) -> ServerOffset {
        self.ring.back().map_or(self.covers_from, |m| m.id)
    }

    /// Adds a newly published message, dropping the oldest when full.
    pub fn push(&mut self, message: &StoredMessage) {
        if self.ring.len() == RING_CAPACITY
            && let Some(evicted) = self.ring.pop_front()
        {
            self.covers_from = evicted.id;
        }
        self.ring.push_back(LiveMessage::encode(message));
    }

    /// The ring index of the first message after `after`; or, when there is nothing to send
    /// from the ring, why: the socket has every message, or the ring no longer covers it.
    fn start_after(&self, after: ServerOffset) -> Result<usize, Sent> {
        if after >= self.last() {
            return Err(Sent::CaughtUp);
        }
        if after < self.covers_from {
            return Err(Sent::NotInRing);
        }
        Ok(self.ring.partition_point(|m| m.id <= after))
    }

    /// Queues to `socket` every published message after `*after` of the channels it is in,
    /// moving `*after` to the last one queued (or passed over) and counting them in `count`.
    pub fn send_after(
        &self,
        sender: &PacketSender,
        socket: &SocketRef<ChatAdapter>,
        after: &mut ServerOffset,
        count: &mut u64,
        rooms: &mut ChannelRooms<'_>,
    ) -> Sent {
        let start = match self.start_after(*after) {
            Ok(start) => start,
            Err(done) => return done,
        };
        for message in self.ring.range(start..) {
            if !rooms.sees(socket.id, message.channel) {
                *after = message.id;
                continue;
            }
            match sender.send(socket, &message.packet) {
                Ok(()) => {
                    *after = message.id;
                    *count += 1;
                }
                Err(refused) => return refused.into(),
            }
        }
        Sent::CaughtUp
    }

    /// Queues to `socket`, as `chat messages` lists of at most [`LIST_BYTES`] (one, unless
    /// more is pending), every published message after `*after` of the channels it is in,
    /// moving `*after` to the last one queued and counting them in `count`. A socket given
    /// every message of the run shares each list with the others given it: encoded once per
    /// flush (`batches`); one that is not in every channel of the run gets lists of its own.
    fn send_batch_after(
        &self,
        sender: &PacketSender,
        socket: &SocketRef<ChatAdapter>,
        after: &mut ServerOffset,
        count: &mut u64,
        batches: &mut Batches,
        rooms: &mut ChannelRooms<'_>,
    ) -> Sent {
        let mut start = match self.start_after(*after) {
            Ok(start) => start,
            Err(done) => return done,
        };
        let mut seen: Vec<ChannelId> = Vec::new();
        let mut all = true;
        for message in self.ring.range(start..) {
            if rooms.sees(socket.id, message.channel) {
                if !seen.contains(&message.channel) {
                    seen.push(message.channel);
                }
            } else {
                all = false;
            }
        }
        if !all {
            seen.sort_unstable();
            let lists = batches
                .some
                .entry((*after, seen))
                .or_insert_with(|| self.lists_of(socket, start, rooms));
            for (packet, end, listed) in lists.iter() {
                if let Err(refused) = sender.send(socket, packet) {
                    return refused.into();
                }
                *count += listed;
                *after = self.ring[end - 1].id;
            }
            if let Some(last) = self.ring.back() {
                *after = last.id;
            }
            return Sent::CaughtUp;
        }
        while start < self.ring.len() {
            let (packet, end) = batches.every.entry(*after).or_insert_with(|| {
                let end = self.list_end(start);
                (chat_messages_packet(self.ring.range(start..end)), end)
            });
            match sender.send(socket, packet) {
                Ok(()) => {
                    *count += (*end - start) as u64;
                    start = *end;
                    *after = self.ring[start - 1].id;
                }
                Err(refused) => return refused.into(),
            }
        }
        Sent::CaughtUp
    }

    /// The lists [`Self::send_batch_after`] gives a socket that is not in every channel of
    /// the run from `start`: its channels' messages, each list with the ring index after the
    /// last message it passed and how many it holds. Every socket in the same channels of
    /// the run is given the same lists.
    fn lists_of(
        &self,
        socket: &SocketRef<ChatAdapter>,
        mut start: usize,
        rooms: &mut ChannelRooms<'_>,
    ) -> Lists {
        let mut lists = Vec::new();
        while start < self.ring.len() {
            let mut bytes = 0;
            let mut end = start;
            let mut listed = Vec::new();
            for message in self.ring.range(start..) {
                if rooms.sees(socket.id, message.channel) {
                    bytes += message.listed_bytes();
                    if bytes > LIST_BYTES && !listed.is_empty() {
                        break;
                    }
                    listed.push(message);
                }
                end += 1;
            }
            if !listed.is_empty() {
                let count = listed.len() as u64;
                lists.push((chat_messages_packet(listed.into_iter()), end, count));
            }
            start = end;
        }
        lists
    }

    /// The ring index after the last message of a list starting at `start`: as many as fit
    /// in [`LIST_BYTES`], at least one.
    fn list_end(&self, start: usize) -> usize {
        let mut bytes = 0;
        let mut end = start;
        for message in self.ring.range(start..) {
            bytes += message.listed_bytes();
            if bytes > LIST_BYTES && end > start {
                break;
            }
            end += 1;
        }
        end
    }

    /// Queues to `socket` every published message after `*given` of the channels it is in,
    /// the way it takes them (`delivery`), moving `*given` to the last one queued and
    /// counting them in `count`.
    #[allow(clippy::too_many_arguments)] // one call site, the feed's flush
    pub fn give(
        &self,
        sender: &PacketSender,
        socket: &SocketRef<ChatAdapter>,
        given: &mut ServerOffset,
        delivery: Delivery,
        count: &mut u64,
        batches: &mut Batches,
        rooms: &mut ChannelRooms<'_>,
    ) -> Sent {
        match delivery {
            Delivery::PerMessage => self.send_after(sender, socket, given, count, rooms),
            Delivery::Batched => {
                self.send_batch_after(sender, socket, given, count, batches, rooms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of messages with texts of the given lengths, offsets from 1.
    fn recent(text_lengths: &[usize]) -> Recent {
        let ring = text_lengths
            .iter()
            .enumerate()
            .map(|(index, length)| {
                LiveMessage::encode(&StoredMessage {
                    id: ServerOffset(index as i64 + 1),
                    text: "x".repeat(*length),
                    author: "ana".to_owned(),
                    created_at: 1_700_000_000_000,
                    channel: crate::domain::ChannelId::GENERAL,
                    seq: index as i64 + 1,
                })
            })
            .collect();
        Recent {
            ring,
            covers_from: ServerOffset(0),
        }
    }

    #[test]
    fn a_fresh_ring_warmed_with_the_latest_stored_messages_covers_from_the_first() {
        let stored = |id: i64| StoredMessage {
            id: ServerOffset(id),
            text: format!("m{id}"),
            author: "ana".to_owned(),
            created_at: 1,
            channel: crate::domain::ChannelId::GENERAL,
            seq: id,
        };
        let latest: Vec<_> = (41..=50).map(stored).collect();
        let mut fresh = Recent::new(ServerOffset(50));
        fresh.warm(&latest);
        assert_eq!(fresh.start_after(ServerOffset(40)), Ok(0));
        assert_eq!(fresh.start_after(ServerOffset(45)), Ok(5));
        assert_eq!(fresh.start_after(ServerOffset(39)), Err(Sent::NotInRing));
        assert_eq!(fresh.start_after(ServerOffset(50)), Err(Sent::CaughtUp));
        // Messages that do not end at the last published, or a ring in use: unchanged.
        let mut behind = Recent::new(ServerOffset(60));
        behind.warm(&latest);
        assert_eq!(behind.start_after(ServerOffset(50)), Err(Sent::NotInRing));
        fresh.warm(&latest);
        assert_eq!(fresh.ring.len(), 10);
    }

    #[test]
    fn a_list_holds_what_fits_in_its_budget_and_at_least_one_message() {
        let even = recent(&[1000; 10]);
        let end = even.list_end(0);
        let bytes: usize = even.ring.range(..end).map(LiveMessage::listed_bytes).sum();
        assert!(bytes <= LIST_BYTES, "{bytes} bytes in a list");
        assert!(
            bytes + even.ring[end].listed_bytes() > LIST_BYTES,
            "one more would fit"
        );
        assert_eq!(end, 4);
        assert_eq!(even.list_end(8), 10, "the rest, when it fits");

        let big = recent(&[LIST_BYTES * 2, 10, 10]);
        assert_eq!(
            big.list_end(0),
            1,
            "a message larger than the budget goes alone"
        );
        assert_eq!(big.list_end(1), 3);
    }
}
