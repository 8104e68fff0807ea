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
mod tests {
    use super::*;
    use chat_protocol::values::ServerOffset;

    fn message(offset: i64) -> ChatMessage {
        ChatMessage {
            text: format!("m{offset}"),
            server_offset: ServerOffset(offset),
            author: "ana".into(),
            created_at: 1_000 + offset,
            guest: false,
            place: chat_protocol::message::InChannel {
                channel: chat_protocol::channels::ChannelId::GENERAL,
                seq: offset,
            },
        }
    }

    /// Feeds `offsets` and returns the rows shown, as the page would.
    fn feed(incoming: &mut Incoming, rows: &mut Vec<Row>, offsets: &[i64]) -> Vec<Arrival> {
        offsets
            .iter()
            .map(|&offset| {
                let arrival = incoming.arrive(message(offset));
                if let Arrival::Show { row, .. } = &arrival {
                    rows.push(row.clone());
                }
                arrival
            })
            .collect()
    }

    fn offsets(rows: &[Row]) -> Vec<i64> {
        rows.iter()
            .filter_map(|row| match row {
                Row::Message { offset, .. } => Some(*offset),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_message_at_or_below_the_last_shown_is_dropped() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        feed(&mut incoming, &mut rows, &[1, 2, 3]);
        incoming.replay_done();
        let arrivals = feed(&mut incoming, &mut rows, &[3, 2, 4, 4]);
        assert_eq!(arrivals[0], Arrival::Duplicate);
        assert_eq!(arrivals[1], Arrival::Duplicate);
        assert_eq!(arrivals[3], Arrival::Duplicate);
        assert_eq!(offsets(&rows), [1, 2, 3, 4]);
        assert_eq!(incoming.last_offset(), 4);
    }

    #[test]
    fn a_live_message_that_skips_an_offset_asks_for_a_resync() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        feed(&mut incoming, &mut rows, &[1, 2]);
        incoming.replay_done();
        assert_eq!(
            incoming.arrive(message(5)),
            Arrival::Gap {
                missing_from: 3,
                offset: 5
            }
        );
        assert_eq!(
            incoming.last_offset(),
            2,
            "the resync replays from the last shown"
        );
        // The replay after the resync fills the gap.
        incoming.connected();
        feed(&mut incoming, &mut rows, &[3, 4, 5]);
        assert_eq!(offsets(&rows), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn offsets_that_skip_other_channels_are_no_gap_but_a_skipped_seq_is() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        feed(&mut incoming, &mut rows, &[1, 2]);
        incoming.replay_done();
        let in_general = |offset: i64, seq: i64| ChatMessage {
            place: chat_protocol::message::InChannel {
                channel: ChannelId::GENERAL,
                seq,
            },
            ..message(offset)
        };
        // Offsets 3..9 went to channels this socket is not in.
        assert!(matches!(
            incoming.arrive(in_general(10, 3)),
            Arrival::Show { live: true, .. }
        ));
        assert_eq!(
            incoming.arrive(in_general(12, 5)),
            Arrival::Gap {
                missing_from: 11,
                offset: 12
            },
            "#general's seq 4 never arrived"
        );
    }

    #[test]
    fn a_jump_during_a_replay_is_not_a_gap() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        // A fresh page replays only the latest page: 151..153 of 153.
        let arrivals = feed(&mut incoming, &mut rows, &[151, 152, 153]);
        assert!(
            arrivals
                .iter()
                .all(|a| matches!(a, Arrival::Show { live: false, .. }))
        );
        assert_eq!(incoming.replay_done(), ReplayEnd::FirstConnection);
        assert!(has_older(&rows));
        assert!(matches!(
            incoming.arrive(message(154)),
            Arrival::Show { live: true, .. }
        ));
    }

    #[test]
    fn the_first_connection_recovers_nothing_and_may_have_older_messages() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        feed(&mut incoming, &mut rows, &[1, 2]);
        assert!(rows.iter().all(|row| matches!(
            row,
            Row::Message {
                recovered: false,
                ..
            }
        )));
        assert_eq!(incoming.replay_done(), ReplayEnd::FirstConnection);
        assert!(!has_older(&rows), "it starts at offset 1");
    }

    #[test]
    fn a_reconnect_marks_what_it_replayed_and_puts_one_divider_before_it() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        feed(&mut incoming, &mut rows, &[1, 2]);
        incoming.replay_done();
        rows.push(Row::Notice {
            id: 1,
            text: "bo joined".into(),
            at: 0,
        });

        incoming.connected();
        feed(&mut incoming, &mut rows, &[3, 4, 5]);
        let ReplayEnd::Recovered { before, count } = incoming.replay_done() else {
            panic!("the reconnect recovered messages");
        };
        assert_eq!((before, count), (3, 3));
        insert_divider(&mut rows, before, count);
        let keys: Vec<String> = rows.iter().map(Row::key).collect();
        assert_eq!(keys, ["m1", "m2", "n1", "d3", "m3", "m4", "m5"]);
        let recovered: Vec<bool> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Message { recovered, .. } => Some(*recovered),
                _ => None,
            })
            .collect();
        assert_eq!(recovered, [false, false, true, true, true]);

        // A live message after the replay is not marked.
        let Arrival::Show { row, live } = incoming.arrive(message(6)) else {
            panic!("6 follows 5");
        };
        assert!(live);
        assert!(matches!(
            row,
            Row::Message {
                recovered: false,
                ..
            }
        ));
    }

    #[test]
    fn a_reconnect_that_missed_nothing_adds_no_divider() {
        let mut incoming = Incoming::default();
        let mut rows = Vec::new();
        incoming.connected();
        feed(&mut incoming, &mut rows, &[1]);
        incoming.replay_done();
        incoming.connected();
        assert_eq!(incoming.replay_done(), ReplayEnd::NothingMissed);
        // A second reconnect counts afresh.
        incoming.connected();
        feed(&mut incoming, &mut rows, &[2]);
        assert_eq!(
            incoming.replay_done(),
            ReplayEnd::Recovered {
                before: 2,
                count: 1
            }
        );
    }

    #[test]
    fn a_divider_for_a_message_not_shown_goes_at_the_end() {
        let mut rows = vec![Row::Notice {
            id: 1,
            text: "x".into(),
            at: 0,
        }];
        insert_divider(&mut rows, 9, 2);
        assert_eq!(
            rows.last(),
            Some(&Row::RecoveredDivider {
                before: 9,
                count: 2
            })
        );
    }
}
