//! Public messages in, rows out: in offset order, each once, with what a reconnect recovered
//! marked. Pure logic (no browser types), so it is unit-tested natively.
//!
//! The rules:
//! - the highest offset shown goes in the next connect's `auth.serverOffset`, so every
//!   (re)connection replays exactly what is missing;
//! - a message at or below that offset is a duplicate and is dropped;
//! - a channel's `seq`s are consecutive, so a live message that skips one of its channel
//!   means this tab missed it (the server could not queue it): the caller reconnects and the
//!   replay fills the gap. Offsets are not consecutive for a socket (other channels' messages
//!   lie between); they only order. During a replay a jump is not a gap (a fresh page
//!   replays only the latest page);
//! - messages replayed after a reconnect (not the page's first connection) are marked
//!   recovered, and once the replay is done a divider goes before the first of them.

use std::collections::HashMap;

use chat_protocol::channels::ChannelId;
use chat_protocol::message::ChatMessage;

use super::Row;

/// Where the incoming stream stands: the last offset shown and the current replay.
#[derive(Debug, Default)]
pub struct Incoming {
    /// The highest offset shown.
    last_offset: i64,
    /// The highest seq shown, per channel.
    last_seq: HashMap<ChannelId, i64>,
    replay: Replay,
}

/// One connection's replay, to mark what a reconnect recovered.
#[derive(Debug, Default)]
struct Replay {
    /// Between `connect` and `replay done`.
    running: bool,
    /// This connection is not the page's first.
    after_reconnect: bool,
    /// The page has connected before.
    connected_once: bool,
    /// The first message this replay recovered.
    first_recovered: Option<i64>,
    /// How many messages this replay recovered.
    recovered: usize,
}

/// What to do with one arriving message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// Show this row. `live`: it came outside a replay (it counts as unread in a hidden tab).
    Show {
        /// The message's row.
        row: Row,
        /// Whether it arrived live rather than in a replay.
        live: bool,
    },
    /// Already shown (or older than what is shown): dropped.
    Duplicate,
    /// A live message after a gap: offsets `missing_from..offset` never arrived. Reconnect
    /// to replay from [`Incoming::last_offset`]; drop this message and the rest of its list.
    Gap {
        /// The first missing offset.
        missing_from: i64,
        /// The offset that arrived instead.
        offset: i64,
    },
}

/// What the end of a replay means for the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayEnd {
    /// The page's first connection: it got the latest page only, so check for older ones.
    FirstConnection,
    /// A reconnect replayed `count` messages from offset `before` on: put a divider there.
    Recovered {
        /// The first recovered message's offset.
        before: i64,
        /// How many were recovered.
        count: usize,
    },
    /// A reconnect that missed nothing.
    NothingMissed,
}

impl Incoming {
    /// The highest offset shown: the next connect's `auth.serverOffset`.
    pub fn last_offset(&self) -> i64 {
        self.last_offset
    }

    /// Whether a replay is running (between `connect` and `replay done`).
    pub fn replaying(&self) -> bool {
        self.replay.running
    }

    /// The socket connected: a replay starts.
    pub fn connected(&mut self) {
        let r = &mut self.replay;
        r.running = true;
        r.after_reconnect = r.connected_once;
        r.connected_once = true;
        r.first_recovered = None;
        r.recovered = 0;
    }

    /// Decides about one `chat message` (replayed, or one element of a live list).
    pub fn arrive(&mut self, message: ChatMessage) -> Arrival {
        let offset = message.server_offset.0;
        let last = self.last_offset;
        if offset <= last {
            return Arrival::Duplicate;
        }
        let r = &mut self.replay;
        let place = message.place;
        let previous = self.last_seq.get(&place.channel).copied();
        if !r.running && previous.is_some_and(|seq| place.seq != seq + 1) {
            return Arrival::Gap {
                missing_from: last + 1,
                offset,
            };
        }
        self.last_seq.insert(place.channel, place.seq);
        let recovered = r.running && r.after_reconnect;
        if recovered {
            r.first_recovered.get_or_insert(offset);
            r.recovered += 1;
        }
        self.last_offset = offset;
        Arrival::Show {
            row: Row::Message {
                offset,
                text: message.text,
                author: message.author,
                created_at: message.created_at,
                recovered,
                channel: place.channel,
            },
            live: !r.running,
        }
    }

    /// The server said `replay done`: live messages follow.
    pub fn replay_done(&mut self) -> ReplayEnd {
        let r = &mut self.replay;
        r.running = false;
        match (r.after_reconnect, r.first_recovered) {
            (false, _) => ReplayEnd::FirstConnection,
            (true, Some(before)) => ReplayEnd::Recovered {
                before,
                count: r.recovered,
            },
            (true, None) => ReplayEnd::NothingMissed,
        }
    }
}

/// The offset of the oldest message shown.
pub fn first_offset(rows: &[Row]) -> Option<i64> {
    rows.iter().find_map(|row| match row {
        Row::Message { offset, .. } => Some(*offset),
        _ => None,
    })
}

/// The offset of the oldest message of `channel` shown.
pub fn first_offset_in(rows: &[Row], channel: ChannelId) -> Option<i64> {
    rows.iter().find_map(|row| match row {
        Row::Message {
            offset,
            channel: of,
            ..
        } if *of == channel => Some(*offset),
        _ => None,
    })
}

/// Whether older messages than those shown exist: the first shown is not offset 1.
pub fn has_older(rows: &[Row]) -> bool {
    first_offset(rows).is_some_and(|offset| offset > 1)
}

/// Puts the "N new messages while you were offline" divider before the message at
/// `before` (at the end if it is not in the list).
pub fn insert_divider(rows: &mut Vec<Row>, before: i64, count: usize) {
    let at = rows
        .iter()
        .position(|row| matches!(row, Row::Message { offset, .. } if *offset == before))
        .unwrap_or(rows.len());
    rows.insert(at, Row::RecoveredDivider { before, count });
}

#[cfg(test)]
mod tests;
