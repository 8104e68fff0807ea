//! "Load older messages": a fresh page replays only the latest [`HISTORY_PAGE`] messages
//! (`auth.historyLimit`) and pages back with `history` from the oldest one shown. The page
//! logic is pure (tested natively); [`load_older`] asks the server in the browser.

use chat_protocol::acks::HistoryPage;
use chat_protocol::channels::ChannelId;

use super::Row;
use super::incoming::first_offset_in;

/// Messages a fresh page gets at first, and per "load older" page.
pub const HISTORY_PAGE: u32 = 50;

/// Puts a `history` page of `channel` above that channel's oldest row, skipping any
/// message not older than it (a page that raced with a reconnect's replay), where it
/// belongs in the offset order of every channel's rows; returns whether more remain.
pub fn prepend_page(rows: &mut Vec<Row>, page: HistoryPage, channel: ChannelId) -> bool {
    let first = first_offset_in(rows, channel).unwrap_or(i64::MAX);
    let older: Vec<Row> = page
        .messages
        .into_iter()
        .filter(|m| m.server_offset.0 < first)
        .map(|m| Row::Message {
            offset: m.server_offset.0,
            text: m.text,
            author: m.author,
            created_at: m.created_at,
            recovered: false,
            channel,
        })
        .collect();
    // Each before the first message row after it (message rows are in offset order; a
    // page holds at most a few hundred).
    for row in older {
        let offset = row_offset(&row);
        let at = rows
            .iter()
            .position(|shown| matches!(shown, Row::Message { offset: o, .. } if *o > offset))
            .unwrap_or(rows.len());
        rows.insert(at, row);
    }
    page.more
}

/// A message row's offset (0 for other rows).
fn row_offset(row: &Row) -> i64 {
    match row {
        Row::Message { offset, .. } => *offset,
        _ => 0,
    }
}

#[cfg(feature = "hydrate")]
pub use browser::load_older;

#[cfg(feature = "hydrate")]
mod browser {
    use chat_protocol::acks::HistoryPage;
    use chat_protocol::events::HISTORY;
    use leptos::prelude::*;
    use leptos::task::spawn_local;

    use super::{HISTORY_PAGE, prepend_page};
    use crate::chat::Chat;
    use crate::chat::incoming::first_offset_in;
    use leptos_socketio::Socket;

    /// Beyond any offset (and exact as a JavaScript number): a `history` request for a
    /// channel's latest messages.
    const NEWEST: i64 = 1 << 52;

    /// Loads the page of the current channel's messages before the oldest one shown (its
    /// latest page when none is shown) and puts it above them (one request at a time).
    pub fn load_older(chat: Chat, socket: Socket) {
        let channel = chat.current.get_untracked();
        let first = chat
            .rows
            .with_untracked(|rows| first_offset_in(rows, channel))
            .unwrap_or(NEWEST);
        if chat.loading_older.get_untracked() {
            return;
        }
        chat.loading_older.set(true);
        spawn_local(async move {
            let page = socket
                .emit_with_ack::<_, HistoryPage>(HISTORY, &(first, HISTORY_PAGE, channel))
                .await;
            chat.loading_older.set(false);
            let Ok(page) = page else {
                return;
            };
            let mut more = false;
            chat.rows
                .update(|rows| more = prepend_page(rows, page, channel));
            if chat.current.get_untracked() == channel {
                chat.has_older.set(more);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::acks::HistoryMessage;
    use chat_protocol::values::ServerOffset;

    fn row(offset: i64) -> Row {
        Row::Message {
            offset,
            text: format!("m{offset}"),
            author: "ana".into(),
            created_at: 0,
            recovered: false,
            channel: chat_protocol::channels::ChannelId::GENERAL,
        }
    }

    use crate::chat::incoming::first_offset;

    #[test]
    fn a_channels_older_page_goes_above_its_oldest_row_in_offset_order() {
        let dev = ChannelId(5);
        let in_dev = |offset: i64| match row(offset) {
            Row::Message { .. } => Row::Message {
                offset,
                text: format!("m{offset}"),
                author: "ana".into(),
                created_at: 0,
                recovered: false,
                channel: dev,
            },
            other => other,
        };
        // #general 10 and 20 shown, #dev 30 shown; #dev's older page holds 5 and 15.
        let mut rows = vec![row(10), row(20), in_dev(30)];
        let page = HistoryPage {
            messages: [5, 15, 30]
                .iter()
                .map(|&offset| HistoryMessage {
                    text: format!("m{offset}"),
                    server_offset: ServerOffset(offset),
                    author: "ana".into(),
                    created_at: 0,
                    channel: dev,
                    seq: 1,
                })
                .collect(),
            more: false,
        };
        assert!(!prepend_page(&mut rows, page, dev));
        let shown: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| match r {
                Row::Message {
                    offset, channel, ..
                } => (*offset, channel.0),
                _ => (0, 0),
            })
            .collect();
        assert_eq!(shown, [(5, 5), (10, 1), (15, 5), (20, 1), (30, 5)]);
    }

    fn prepend_page_general(rows: &mut Vec<Row>, page: HistoryPage) -> bool {
        prepend_page(rows, page, ChannelId::GENERAL)
    }

    fn page(offsets: std::ops::RangeInclusive<i64>, more: bool) -> HistoryPage {
        HistoryPage {
            messages: offsets
                .map(|offset| HistoryMessage {
                    text: format!("m{offset}"),
                    server_offset: ServerOffset(offset),
                    author: "ana".into(),
                    created_at: 0,
                    channel: chat_protocol::channels::ChannelId::GENERAL,
                    seq: offset,
                })
                .collect(),
            more,
        }
    }

    #[test]
    fn older_messages_go_on_top_in_order() {
        let mut rows = vec![row(51), row(52)];
        assert_eq!(
            first_offset(&rows),
            Some(51),
            "the next request's beforeOffset"
        );
        assert!(
            !prepend_page_general(&mut rows, page(1..=50, false)),
            "no more before 1"
        );
        let offsets: Vec<i64> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Message { offset, .. } => Some(*offset),
                _ => None,
            })
            .collect();
        assert_eq!(offsets, (1..=52).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_offset_skips_notices_and_dividers() {
        let rows = vec![
            Row::Notice {
                id: 1,
                text: "ana joined".into(),
                at: 0,
            },
            Row::RecoveredDivider {
                before: 7,
                count: 1,
            },
            row(7),
        ];
        assert_eq!(first_offset(&rows), Some(7));
        assert_eq!(first_offset(&[]), None, "nothing to page back from");
    }

    #[test]
    fn a_page_overlapping_what_is_shown_adds_only_older_messages() {
        let mut rows = vec![row(40), row(41)];
        assert!(prepend_page_general(&mut rows, page(30..=45, true)));
        let keys: Vec<String> = rows.iter().map(Row::key).collect();
        let expected: Vec<String> = (30..=41).map(|o| format!("m{o}")).collect();
        assert_eq!(keys, expected);
    }
}
