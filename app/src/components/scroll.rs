//! Where the reader is in the message list, and what new rows do to it.
//!
//! - Whether the reader is at the bottom is decided from their own scrolling, before new
//!   rows render (not by measuring after: 50 replayed rows, or one tall message, would
//!   otherwise count as "scrolled up"). A fresh page is at the bottom, so it opens at the
//!   newest message and follows.
//! - New rows at the bottom are followed while the reader is at the bottom, and always
//!   after one's own send; otherwise the pill counts them.
//! - A page of older messages added on top keeps the reader's place: the view moves down by
//!   exactly the height added (the browser's own scroll anchoring does nothing at the very
//!   top, where "Load older" is clicked, so it is turned off for the list in the CSS).

use leptos::prelude::*;

use crate::chat::{Chat, Row};

/// Within this many pixels of the bottom counts as at the bottom.
#[cfg(feature = "hydrate")]
const AT_BOTTOM_PX: f64 = 80.0;

/// What the list's ends look like: the first and last row's keys, how many messages (not
/// notices or dividers: the pill counts messages), how many own messages are waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ends {
    first: Option<String>,
    last: Option<String>,
    rows: usize,
    outbox: usize,
}

impl Ends {
    fn of(chat: Chat) -> Self {
        let (first, last, rows) = chat.rows.with(|rows| {
            let messages = rows
                .iter()
                .filter(|row| matches!(row, Row::Message { .. } | Row::Private { .. }))
                .count();
            (
                rows.first().map(Row::key),
                rows.last().map(Row::key),
                messages,
            )
        });
        Self {
            first,
            last,
            rows,
            outbox: chat.outbox.with(Vec::len),
        }
    }
}

/// What a change of the list's ends calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Rows added on top (an older page): keep the reader's place.
    Prepended,
    /// Rows added at the bottom: `own` when one's own message was added.
    Appended { added: usize, own: bool },
    /// Nothing that moves the view.
    None,
}

impl Change {
    fn between(before: &Ends, after: &Ends) -> Self {
        let own = after.outbox > before.outbox;
        if after.last != before.last || own {
            let added = after.rows.saturating_sub(before.rows) + usize::from(own);
            return Self::Appended { added, own };
        }
        if after.first != before.first && after.rows > before.rows && after.last == before.last {
            return Self::Prepended;
        }
        Self::None
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
            let change = Change::between(before, &after);
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

    /// What the reader last did: at the bottom or not, and the page height then.
    #[derive(Clone)]
    pub struct Reader {
        at_bottom: Rc<Cell<bool>>,
        height: Rc<Cell<f64>>,
    }

    impl Reader {
        /// Starts at the bottom, and follows the reader's scrolling.
        pub fn watch(chat: Chat) -> Self {
            let reader = Self {
                at_bottom: Rc::new(Cell::new(true)),
                height: Rc::new(Cell::new(page_height())),
            };
            let on_scroll = reader.clone();
            let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                let at_bottom = distance_from_bottom() < AT_BOTTOM_PX;
                on_scroll.at_bottom.set(at_bottom);
                on_scroll.height.set(page_height());
                if at_bottom && chat.new_below.get_untracked() > 0 {
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

        /// Once the change has rendered: follow, count, or keep the place.
        pub fn after_render(self, chat: Chat, change: Change) {
            request_animation_frame(move || {
                match change {
                    Change::Prepended => {
                        let added = page_height() - self.height.get();
                        if let Some(window) = web_sys::window() {
                            window.scroll_by_with_x_and_y(0.0, added);
                        }
                    }
                    Change::Appended { added, own } => {
                        if own || self.at_bottom.get() {
                            scroll_to_bottom();
                            self.at_bottom.set(true);
                            chat.new_below.set(0);
                        } else {
                            chat.new_below.update(|n| *n += added);
                        }
                    }
                    Change::None => {}
                }
                self.height.set(page_height());
            });
        }
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

    fn ends(first: &str, last: &str, rows: usize, outbox: usize) -> Ends {
        Ends {
            first: Some(first.into()),
            last: Some(last.into()),
            rows,
            outbox,
        }
    }

    #[test]
    fn a_change_is_a_page_on_top_rows_below_or_ones_own_send() {
        let now = ends("m10", "m59", 50, 0);
        assert_eq!(
            Change::between(&now, &ends("m10", "m62", 53, 0)),
            Change::Appended {
                added: 3,
                own: false
            }
        );
        assert_eq!(
            Change::between(&now, &ends("m10", "m59", 50, 1)),
            Change::Appended {
                added: 1,
                own: true
            }
        );
        assert_eq!(
            Change::between(&now, &ends("m1", "m59", 59, 0)),
            Change::Prepended
        );
        assert_eq!(
            Change::between(&now, &ends("m10", "n3", 50, 0)),
            Change::Appended {
                added: 0,
                own: false
            },
            "a notice below is followed, but not counted in the pill"
        );
        assert_eq!(
            Change::between(&now, &ends("m10", "m59", 50, 0)),
            Change::None,
            "an ack that empties the outbox without a new row yet"
        );
    }
}
