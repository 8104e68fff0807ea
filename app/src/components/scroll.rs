//! Where the reader is in the message list, and what new rows do to it.
//!
//! - Whether the reader is at the bottom is decided from their own scrolling, before new
//!   rows render (not by measuring after: 50 replayed rows, or one tall message, would
//!   otherwise count as "scrolled up"). A fresh page is at the bottom, so it opens at the
//!   newest message and follows.
//! - New rows at the bottom are followed while the reader is at the bottom, and always
//!   after one's own send; otherwise the pill counts them.
//! - A page of older messages added on top keeps the reader's place: the message at the top
//!   of the view stays where it was on the screen, even when rows arrive below at the same
//!   moment (the browser's own scroll anchoring does nothing at the very top, where "Load
//!   older" is clicked, so it is turned off in the CSS).

use leptos::prelude::*;

use crate::chat::{ChannelId, Chat, Row};

/// Within this many pixels of the bottom counts as at the bottom.
#[cfg(feature = "hydrate")]
const AT_BOTTOM_PX: f64 = 80.0;

/// What the list holds, as far as the view cares: the lowest and highest offset, how many
/// notices, how many messages this page has sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ends {
    /// The channel shown.
    channel: ChannelId,
    lowest: Option<i64>,
    highest: Option<i64>,
    messages: usize,
    notices: usize,
    outbox: usize,
}

impl Ends {
    fn of(chat: Chat) -> Self {
        let mut ends = Self::of_rows(&chat.shown_rows());
        ends.channel = chat.current.get();
        // Counted by sends, not by the outbox's length: a fast ack can empty it again
        // before the view looks.
        ends.outbox = chat.sent.get() as usize;
        ends
    }

    fn of_rows(rows: &[Row]) -> Self {
        let mut ends = Self {
            channel: ChannelId::GENERAL,
            lowest: None,
            highest: None,
            messages: 0,
            notices: 0,
            outbox: 0,
        };
        for row in rows {
            match row {
                Row::Message { offset, .. } => {
                    ends.messages += 1;
                    ends.lowest = Some(ends.lowest.map_or(*offset, |low| low.min(*offset)));
                    ends.highest = Some(ends.highest.map_or(*offset, |high| high.max(*offset)));
                }
                Row::Notice { .. } => ends.notices += 1,
                Row::RecoveredDivider { .. } => {}
            }
        }
        ends
    }
}

/// What a change calls for: both may happen in one render (a page of older messages
/// arriving with a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    /// Older messages added on top: keep the reader's place.
    prepended: bool,
    /// Rows added at the bottom: how many messages (notices are followed, not counted), and
    /// whether one's own was added.
    appended: Option<(usize, bool)>,
}

impl Change {
    /// From what the list held before and after, and its rows now (to count what is new).
    fn between(before: &Ends, after: &Ends, rows: &[Row]) -> Self {
        if before.channel != after.channel {
            // Another channel shown: it opens at its newest message, as after a send.
            return Self {
                prepended: false,
                appended: Some((0, true)),
            };
        }
        let own = after.outbox > before.outbox;
        let prepended =
            matches!((before.lowest, after.lowest), (Some(was), Some(now)) if now < was);
        let older = match before.lowest {
            Some(low) => rows
                .iter()
                .filter(|row| matches!(row, Row::Message { offset, .. } if *offset < low))
                .count(),
            None => 0,
        };
        let newer = after
            .messages
            .saturating_sub(before.messages)
            .saturating_sub(older);
        let notices = after.notices > before.notices;
        let messages = newer + usize::from(own);
        let appended = (messages > 0 || notices).then_some((messages, own));
        Self {
            prepended,
            appended,
        }
    }
}

/// Follows new messages, counts the ones below the reader, and keeps the reader's place
/// when older ones are added on top.
pub fn follow_new_messages(chat: Chat) {
    #[cfg(feature = "hydrate")]
    let reader = browser::Reader::watch(chat);
    Effect::new(move |before: Option<Ends>| {
        let after = Ends::of(chat);
        if let Some(before) = &before {
            let change = Change::between(before, &after, &chat.shown_rows());
            #[cfg(feature = "hydrate")]
            reader.clone().after_render(chat, change);
            #[cfg(not(feature = "hydrate"))]
            let _ = change;
        }
        after
    });
}

/// Scrolls to the newest message and clears the pill.
pub fn jump_to_bottom(chat: Chat) {
    chat.new_below.set(0);
    #[cfg(feature = "hydrate")]
    browser::scroll_to_bottom();
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;

    use leptos::prelude::*;

    use super::{AT_BOTTOM_PX, Change};
    use crate::chat::Chat;

    /// What the reader last did: at the bottom or not, where the page was scrolled to, and
    /// which message was at the top of the view, where (its offset, its top in the
    /// viewport).
    #[derive(Clone)]
    pub struct Reader {
        at_bottom: Rc<Cell<bool>>,
        last_y: Rc<Cell<f64>>,
        anchor: Rc<Cell<Option<(String, f64)>>>,
    }

    impl Reader {
        /// Starts at the bottom, and follows the reader's scrolling.
        pub fn watch(chat: Chat) -> Self {
            let reader = Self {
                at_bottom: Rc::new(Cell::new(true)),
                last_y: Rc::new(Cell::new(0.0)),
                anchor: Rc::new(Cell::new(None)),
            };
            let on_scroll = reader.clone();
            let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                on_scroll.observe();
                on_scroll.anchor.set(top_message());
                if on_scroll.at_bottom.get() && chat.new_below.get_untracked() > 0 {
                    chat.new_below.set(0);
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.add_event_listener_with_callback(
                    "scroll",
                    wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
                );
            }
            // The page's own lifetime: it listens as long as the page is open.
            listener.forget();
            reader
        }

        /// Takes in where the page is scrolled to now. Only the reader scrolling up leaves
        /// the bottom: the page grows below when rows render, and a scroll event of our own
        /// scroll to the bottom may arrive after more rows have rendered. Called on every
        /// scroll event and again before deciding to follow, since the reader's scroll can
        /// land between a render and its scroll event.
        fn observe(&self) {
            let y = web_sys::window()
                .and_then(|w| w.scroll_y().ok())
                .unwrap_or(0.0);
            let went_up = y < self.last_y.replace(y);
            if distance_from_bottom() < AT_BOTTOM_PX {
                self.at_bottom.set(true);
            } else if went_up {
                self.at_bottom.set(false);
            }
        }

        /// Once the change has rendered: keep the place, then follow or count.
        pub fn after_render(self, chat: Chat, change: Change) {
            request_animation_frame(move || {
                if change.prepended
                    && let Some((offset, top)) = self.anchor.take()
                    && let Some(now) = top_of(&offset)
                    && let Some(window) = web_sys::window()
                {
                    window.scroll_by_with_x_and_y(0.0, now - top);
                }
                if let Some((added, own)) = change.appended {
                    self.observe();
                    if own || self.at_bottom.get() {
                        scroll_to_bottom();
                        self.at_bottom.set(true);
                        self.last_y.set(
                            web_sys::window()
                                .and_then(|w| w.scroll_y().ok())
                                .unwrap_or(0.0),
                        );
                        chat.new_below.set(0);
                    } else {
                        chat.new_below.update(|n| *n += added);
                    }
                }
                self.anchor.set(top_message());
            });
        }
    }

    /// The first message row whose bottom is inside the view: its offset and its top.
    fn top_message() -> Option<(String, f64)> {
        let document = web_sys::window()?.document()?;
        let rows = document
            .query_selector_all("#messages li.message[data-offset]")
            .ok()?;
        (0..rows.length())
            .filter_map(|i| rows.item(i))
            .filter_map(|node| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(node).ok())
            .find_map(|row| {
                let rect = row.get_bounding_client_rect();
                (rect.bottom() > 0.0)
                    .then(|| row.get_attribute("data-offset").map(|o| (o, rect.top())))
                    .flatten()
            })
    }

    /// Where the message row of `offset` is now, from the top of the viewport.
    fn top_of(offset: &str) -> Option<f64> {
        let row = web_sys::window()?
            .document()?
            .query_selector(&format!("#messages li.message[data-offset=\"{offset}\"]"))
            .ok()??;
        Some(row.get_bounding_client_rect().top())
    }

    /// Scrolls the page to its bottom.
    pub fn scroll_to_bottom() {
        if let Some(window) = web_sys::window() {
            window.scroll_to_with_x_and_y(0.0, page_height());
        }
    }

    /// The page's full height.
    fn page_height() -> f64 {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .map_or(0.0, |e| f64::from(e.scroll_height()))
    }

    /// How far the viewport's bottom is from the page's, in pixels.
    fn distance_from_bottom() -> f64 {
        let Some(window) = web_sys::window() else {
            return 0.0;
        };
        let viewport = window
            .inner_height()
            .ok()
            .and_then(|h| h.as_f64())
            .unwrap_or(0.0);
        page_height() - (window.scroll_y().unwrap_or(0.0) + viewport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(offset: i64) -> Row {
        Row::Message {
            offset,
            text: String::new(),
            author: "ana".into(),
            created_at: 0,
            recovered: false,
            channel: chat_protocol::channels::ChannelId::GENERAL,
        }
    }

    #[test]
    fn a_change_is_older_messages_on_top_newer_ones_below_or_ones_own_send() {
        let rows = |offsets: &[i64], notice: bool| {
            let mut rows: Vec<Row> = offsets.iter().map(|&o| message(o)).collect();
            if notice {
                rows.push(Row::Notice {
                    id: 3,
                    text: "x".into(),
                    at: 0,
                });
            }
            rows
        };
        let change = |prepended, appended| Change {
            prepended,
            appended,
        };
        let between = |before: &[Row], after: &[Row], own: usize| {
            let mut after_ends = Ends::of_rows(after);
            after_ends.outbox = own;
            Change::between(&Ends::of_rows(before), &after_ends, after)
        };
        let now = rows(&[10, 59], false);
        assert_eq!(
            between(&now, &rows(&[10, 59, 60, 61, 62], false), 0),
            change(false, Some((3, false)))
        );
        assert_eq!(between(&now, &now, 1), change(false, Some((1, true))));
        assert_eq!(
            between(&now, &rows(&[1, 9, 10, 59], false), 0),
            change(true, None)
        );
        assert_eq!(
            between(&now, &rows(&[1, 10, 59, 60], false), 0),
            change(true, Some((1, false))),
            "an older page and a new message in one render"
        );
        assert_eq!(
            between(&now, &rows(&[10, 59], true), 0),
            change(false, Some((0, false))),
            "a notice is followed, but not counted in the pill"
        );
        // A fresh page: its own "joined" first, then the replay, wherever it lands.
        let joined = vec![Row::Notice {
            id: 1,
            text: "me joined".into(),
            at: 0,
        }];
        let mut replayed = rows(&[1, 2, 3], false);
        replayed.push(joined[0].clone());
        assert_eq!(
            between(&joined, &replayed, 0),
            change(false, Some((3, false)))
        );
        assert_eq!(between(&now, &now, 0), change(false, None));
    }
}
