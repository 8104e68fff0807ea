//! The rules of `incoming`, exercised message by message.

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
