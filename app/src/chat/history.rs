//! "Load older messages": a fresh page replays only the latest [`HISTORY_PAGE`] messages
//! (`auth.historyLimit`) and pages back with `history` from the oldest one shown. The page
//! logic is pure (tested natively); [`load_older`] asks the server in the browser.

use chat_protocol::acks::HistoryPage;

use super::Row;
use super::incoming::first_offset;

/// Messages a fresh page gets at first, and per "load older" page.
pub const HISTORY_PAGE: u32 = 50;

/// Puts a `history` page on top of `rows`, skipping any message not older than the oldest
/// shown (a page that raced with a reconnect's replay); returns whether more remain.
pub fn prepend_page(rows: &mut Vec<Row>, page: HistoryPage) -> bool {
    let first = first_offset(rows).unwrap_or(i64::MAX);
    let older = page
        .messages
        .into_iter()
        .filter(|m| m.server_offset.0 < first)
        .map(|m| Row::Message {
            offset: m.server_offset.0,
            text: m.text,
            author: m.author,
            created_at: m.created_at,
            recovered: false,
        });
    rows.splice(0..0, older);
    page.more
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
    use crate::chat::incoming::first_offset;
    use leptos_socketio::Socket;

    /// Loads the page of messages before the oldest one shown and puts it on top (one
    /// request at a time).
    pub fn load_older(chat: Chat, socket: Socket) {
        let Some(first) = chat.rows.with_untracked(|rows| first_offset(rows)) else {
            return;
        };
        if chat.loading_older.get_untracked() {
            return;
        }
        chat.loading_older.set(true);
        spawn_local(async move {
            let page = socket
                .emit_with_ack::<_, HistoryPage>(HISTORY, &(first, HISTORY_PAGE))
                .await;
            chat.loading_older.set(false);
            let Ok(page) = page else {
                return;
            };
            let mut more = false;
            chat.rows.update(|rows| more = prepend_page(rows, page));
            chat.has_older.set(more);
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
        }
    }

    fn page(offsets: std::ops::RangeInclusive<i64>, more: bool) -> HistoryPage {
        HistoryPage {
            messages: offsets
                .map(|offset| HistoryMessage {
                    text: format!("m{offset}"),
                    server_offset: ServerOffset(offset),
                    author: "ana".into(),
                    created_at: 0,
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
            !prepend_page(&mut rows, page(1..=50, false)),
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
        assert!(prepend_page(&mut rows, page(30..=45, true)));
        let keys: Vec<String> = rows.iter().map(Row::key).collect();
        let expected: Vec<String> = (30..=41).map(|o| format!("m{o}")).collect();
        assert_eq!(keys, expected);
    }
}
