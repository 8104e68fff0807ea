//! Who is here: the online list, "ana joined" / "ana left" / "guest-a1 is now guest-b2"
//! notices, who else is typing, and
//! telling the others when this user types. The list and timer rules are pure (tested
//! natively); [`watch`] and [`typing_changed`] wire them to the socket in the browser.
//!
//! Typing is best effort: `typing` is sent volatile (no ack, dropped while offline), so each
//! side also clears it by itself: this page stops announcing [`TYPING_IDLE_MS`] after the
//! last keystroke, and hides someone else's typing [`TYPING_SHOWN_MS`] after their last
//! news.

use std::collections::HashMap;

/// How long after the last keystroke typing counts as stopped.
pub const TYPING_IDLE_MS: u32 = 3000;

/// How long someone else's typing is shown without news from them.
pub const TYPING_SHOWN_MS: u32 = 6000;

/// Adds `name` to the sorted online list; whether it was not there (then announce it).
pub fn join(online: &mut Vec<String>, name: &str) -> bool {
    match online.binary_search_by(|n| n.as_str().cmp(name)) {
        Ok(_) => false,
        Err(at) => {
            online.insert(at, name.to_owned());
            true
        }
    }
}

/// Removes `name` from a list of names (the online list, the typing line).
pub fn remove(names: &mut Vec<String>, name: &str) {
    names.retain(|n| n != name);
}

/// Shows `name` as typing (at the end of the line) or not.
pub fn set_typing(typing: &mut Vec<String>, name: &str, is_typing: bool) {
    remove(typing, name);
    if is_typing {
        typing.push(name.to_owned());
    }
}

/// The notice for someone arriving.
pub fn joined_notice(name: &str) -> String {
    format!("{name} joined")
}

/// The notice for someone leaving.
pub fn left_notice(name: &str) -> String {
    format!("{name} left")
}

/// The notice for someone taking another name.
pub fn renamed_notice(from: &str, to: &str) -> String {
    format!("{from} is now {to}")
}

/// When each typist shown was last heard of, so a timer hides only news it was set for.
#[derive(Debug, Default)]
pub struct TypingShown {
    updates: u64,
    shown_since: HashMap<String, u64>,
}

impl TypingShown {
    /// `name` started typing (again): the update to pass to [`TypingShown::expired`] when
    /// its timer fires.
    pub fn shown(&mut self, name: &str) -> u64 {
        self.updates += 1;
        self.shown_since.insert(name.to_owned(), self.updates);
        self.updates
    }

    /// Whether `update` is still the latest news from `name` (then hide them).
    pub fn expired(&self, name: &str, update: u64) -> bool {
        self.shown_since.get(name) == Some(&update)
    }
}

/// This user's typing as told to the others.
#[derive(Debug, Default)]
pub struct Typist {
    /// Whether the others were told this user is typing.
    announced: bool,
    /// Bumped on every keystroke; an idle timer only stops typing for its own keystroke.
    keystroke: u64,
}

impl Typist {
    /// A keystroke that left text in the composer: whether to announce typing, and the
    /// keystroke to pass to [`Typist::idle`] when its timer fires.
    pub fn keystroke(&mut self) -> (bool, u64) {
        let announce = !self.announced;
        self.announced = true;
        self.keystroke += 1;
        (announce, self.keystroke)
    }

    /// Typing stopped (sent, emptied, idle): whether to tell the others.
    pub fn stop(&mut self) -> bool {
        std::mem::replace(&mut self.announced, false)
    }

    /// The idle timer of `keystroke` fired: whether to tell the others typing stopped (only
    /// if no keystroke came since).
    pub fn idle(&mut self, keystroke: u64) -> bool {
        self.keystroke == keystroke && self.stop()
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{stop_typing, typing_changed, watch};

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use chat_protocol::acks::{TypingEvent, UserEvent, UserRenamed, UsersCount, UsersOnline};
    use chat_protocol::events::{TYPING, USER_JOINED, USER_LEFT, USER_RENAMED, USERS, USERS_COUNT};
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use leptos_socketio::Socket;

    use super::*;
    use crate::chat::dom::sleep_ms;
    use crate::chat::{Chat, Row};

    /// Keeps the online list and the typing line up to date and adds join / leave / rename
    /// notices;
    /// asks for the whole list on every connect.
    pub fn watch(chat: Chat, socket: &Socket) {
        let asker = socket.clone();
        socket
            .on::<serde_json::Value>("connect", move |_| {
                let asker = asker.clone();
                spawn_local(async move {
                    if let Ok(UsersOnline { users, count }) = asker.emit_with_ack(USERS, &()).await
                    {
                        chat.online_more.set(count.saturating_sub(users.len()));
                        chat.online.set(users);
                    }
                });
            })
            .keep();
        let notices = Rc::new(Cell::new(0_u64));
        let notice = move |text: String| {
            notices.set(notices.get() + 1);
            let id = notices.get();
            let at = js_sys::Date::now() as i64;
            chat.rows
                .update(|rows| rows.push(Row::Notice { id, text, at }));
        };
        let joined = notice.clone();
        let renamed = notice.clone();
        socket
            .on::<(UserEvent,)>(USER_JOINED, move |(UserEvent { nickname },)| {
                let mut added = false;
                chat.online.update(|online| added = join(online, &nickname));
                if added {
                    joined(joined_notice(&nickname));
                }
            })
            .keep();
        socket
            .on::<(UserEvent,)>(USER_LEFT, move |(UserEvent { nickname },)| {
                chat.online.update(|online| remove(online, &nickname));
                chat.typing.update(|typing| remove(typing, &nickname));
                notice(left_notice(&nickname));
            })
            .keep();
        socket
            .on::<(UserRenamed,)>(USER_RENAMED, move |(UserRenamed { from, to },)| {
                chat.online.update(|online| {
                    remove(online, &from);
                    join(online, &to);
                });
                chat.typing.update(|typing| remove(typing, &from));
                renamed(renamed_notice(&from, &to));
            })
            .keep();
        // A crowd: only its size changes, every few seconds.
        socket
            .on::<(UsersCount,)>(USERS_COUNT, move |(UsersCount { count },)| {
                let listed = chat.online.with_untracked(Vec::len);
                chat.online_more.set(count.saturating_sub(listed));
            })
            .keep();
        let shown = Rc::new(RefCell::new(TypingShown::default()));
        socket
            .on::<(TypingEvent,)>(TYPING, move |(TypingEvent { nickname, typing },)| {
                chat.typing
                    .update(|list| set_typing(list, &nickname, typing));
                if typing {
                    // Hidden anyway if no news comes (a lost "stopped typing").
                    let update = shown.borrow_mut().shown(&nickname);
                    let shown = shown.clone();
                    spawn_local(async move {
                        sleep_ms(TYPING_SHOWN_MS).await;
                        if shown.borrow().expired(&nickname, update) {
                            chat.typing.update(|list| remove(list, &nickname));
                        }
                    });
                }
            })
            .keep();
    }

    /// The composer changed: announce typing on the first keystroke, and its end after
    /// [`TYPING_IDLE_MS`] without one (or when the field is emptied).
    pub fn typing_changed(socket: Socket, typist: Rc<RefCell<Typist>>, has_text: bool) {
        if !has_text {
            stop_typing(&socket, &typist);
            return;
        }
        let (announce, keystroke) = typist.borrow_mut().keystroke();
        if announce {
            let _ = socket.emit_volatile(TYPING, &(true,));
        }
        spawn_local(async move {
            sleep_ms(TYPING_IDLE_MS).await;
            let stop = typist.borrow_mut().idle(keystroke);
            if stop {
                let _ = socket.emit_volatile(TYPING, &(false,));
            }
        });
    }

    /// Tells the others this user stopped typing, if they were told otherwise.
    pub fn stop_typing(socket: &Socket, typist: &RefCell<Typist>) {
        let stop = typist.borrow_mut().stop();
        if stop {
            let _ = socket.emit_volatile(TYPING, &(false,));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_online_list_stays_sorted_and_announces_only_newcomers() {
        let mut online = vec!["ana".to_owned(), "cy".to_owned()];
        assert!(join(&mut online, "bo"));
        assert!(!join(&mut online, "ana"), "a second tab is not a join");
        assert_eq!(online, ["ana", "bo", "cy"]);
        remove(&mut online, "ana");
        assert_eq!(online, ["bo", "cy"]);
        assert_eq!(joined_notice("bo"), "bo joined");
        assert_eq!(left_notice("bo"), "bo left");
    }

    #[test]
    fn the_typing_line_lists_each_typist_once_latest_last() {
        let mut typing = Vec::new();
        set_typing(&mut typing, "ana", true);
        set_typing(&mut typing, "bo", true);
        set_typing(&mut typing, "ana", true);
        assert_eq!(typing, ["bo", "ana"]);
        set_typing(&mut typing, "bo", false);
        assert_eq!(typing, ["ana"]);
    }

    #[test]
    fn a_typing_timer_hides_only_the_news_it_was_set_for() {
        let mut shown = TypingShown::default();
        let first = shown.shown("ana");
        let second = shown.shown("ana");
        assert!(!shown.expired("ana", first), "newer news came");
        assert!(shown.expired("ana", second));
        assert!(!shown.expired("bo", second));
    }

    #[test]
    fn typing_is_announced_once_and_stopped_by_the_last_keystrokes_timer() {
        let mut typist = Typist::default();
        let (announce, first) = typist.keystroke();
        assert!(announce);
        let (announce, second) = typist.keystroke();
        assert!(!announce, "already announced");
        assert!(!typist.idle(first), "a later keystroke came");
        assert!(typist.idle(second));
        assert!(!typist.stop(), "already stopped");
        let (announce, third) = typist.keystroke();
        assert!(announce);
        assert!(typist.stop(), "sending stops typing");
        assert!(!typist.idle(third));
    }
}
