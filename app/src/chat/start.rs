//! Opening the page's socket (browser only): the connect auth, every concern's handlers
//! ([`super::presence`], [`super::channels`], the outbox's saved messages), and the
//! messages' `chat message` / `chat messages` / `replay done` events (every channel's,
//! private conversations' too) turned into rows through [`Incoming`]. The top of the chat's modules: it imports the others, none
//! imports it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use chat_protocol::acks::ReplayDone;
use chat_protocol::auth::AuthRequest;
use chat_protocol::events::{CHAT_MESSAGE, CHAT_MESSAGES, REPLAY_DONE};
use chat_protocol::message::ChatMessage;
use leptos::prelude::*;
use leptos_socketio::{Options, Socket, random_id};

use super::history::{self, HISTORY_PAGE};
use super::incoming::{Arrival, Incoming, ReplayEnd, first_offset_in, has_older, insert_divider};
use super::session::Session;
use super::{Chat, Row, channels, dom, nickname, outbox, presence};

/// The client options the server put in the page's `<meta>` tags (defaults: the
/// tutorial's 10 s and 3 retries, the client module at its usual path).
fn options() -> Options {
    let defaults = crate::ClientSettings::default();
    Options {
        ack_timeout: Some(
            dom::meta_number(crate::meta::ACK_TIMEOUT).unwrap_or(defaults.ack_timeout_ms),
        ),
        retries: Some(dom::meta_number(crate::meta::RETRIES).unwrap_or(defaults.retries)),
        module_url: dom::meta_content(crate::meta::CLIENT_MODULE)
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| defaults.client_module_url()),
        ..Options::default()
    }
}

/// Connects and wires the socket's events into `chat`.
pub fn start(chat: Chat) -> Rc<Session> {
    let incoming = Rc::new(RefCell::new(Incoming::default()));
    chat.nickname.set(nickname::saved_nickname());
    let auth = {
        let incoming = incoming.clone();
        // Called before every connection attempt: each one replays what is missing.
        move || AuthRequest {
            batched: Some(true),
            server_offset: Some(incoming.borrow().last_offset()),
            history_limit: Some(HISTORY_PAGE),
            nickname: Some(chat.nickname.get_untracked()),
        }
    };
    let socket = Socket::open(options(), auth);
    let state = socket.state();
    Effect::new(move |_| chat.connection.set(state.get()));

    nickname::watch(chat, &socket);
    presence::watch(chat, &socket);
    channels::watch(chat, &socket);
    dom::watch_visibility(chat);
    watch_incoming(chat, &socket, incoming);

    let session = Rc::new(Session {
        socket,
        tab_id: random_id(),
        sent: Cell::new(0),
        typist: Rc::default(),
        queue: RefCell::default(),
    });
    outbox::resend_saved(chat, &session);
    outbox::keep_saved(chat, &session.tab_id);
    session
}

/// Public messages: replays as `chat message`s, live ones in `chat messages` lists (this
/// page asks for lists with `batched`, so a busy room costs one event and one update per
/// delivery window), then `replay done`.
fn watch_incoming(chat: Chat, socket: &Socket, incoming: Rc<RefCell<Incoming>>) {
    {
        let incoming = incoming.clone();
        socket
            .on::<serde_json::Value>("connect", move |_| incoming.borrow_mut().connected())
            .keep();
    }
    // One message; false after a gap (the socket then reconnects to replay from the last
    // one shown, and the rest of a list is dropped: the replay brings it).
    let accept = {
        let incoming = incoming.clone();
        let resync = socket.clone();
        move |args: Vec<serde_json::Value>, fresh: &mut Vec<Row>| -> bool {
            let Some(message) = ChatMessage::from_args(args) else {
                web_sys::console::warn_1(&"socket: bad `chat message` event".into());
                return true;
            };
            let place = message.place;
            let author = message.author.clone();
            // Only a text with an `@` can mention anyone: the others are not copied.
            let mentioning = message.text.contains('@').then(|| message.text.clone());
            let arrival = incoming.borrow_mut().arrive(message);
            match arrival {
                Arrival::Show { row, live } => {
                    let seen = place.channel == chat.current.get_untracked() && !dom::page_hidden();
                    let arrived = channels::Arrived {
                        channel: place.channel,
                        seq: place.seq,
                        author: &author,
                        text: mentioning.as_deref().unwrap_or_default(),
                        live,
                        seen,
                    };
                    chat.nickname.with_untracked(|me| {
                        chat.channels
                            .update(|list| channels::count(list, arrived, me));
                    });
                    if live && dom::page_hidden() {
                        chat.unread.update(|n| *n += 1);
                    }
                    if live
                        && let Some(words) = chat.nickname.with_untracked(|me| row.announcement(me))
                    {
                        chat.announcement.set(words);
                    }
                    fresh.push(row);
                    true
                }
                Arrival::Duplicate => true,
                Arrival::Gap {
                    missing_from,
                    offset,
                } => {
                    web_sys::console::warn_1(
                        &format!("missed messages {missing_from}..{offset}; replaying").into(),
                    );
                    resync.reconnect();
                    false
                }
            }
        }
    };
    let one = accept.clone();
    socket
        .on::<Vec<serde_json::Value>>(CHAT_MESSAGE, move |args| {
            let mut fresh = Vec::with_capacity(1);
            one(args, &mut fresh);
            if !fresh.is_empty() {
                chat.rows.update(|rows| rows.extend(fresh));
            }
        })
        .keep();
    socket
        .on::<(Vec<Vec<serde_json::Value>>,)>(CHAT_MESSAGES, move |(list,)| {
            let mut fresh = Vec::with_capacity(list.len());
            for args in list {
                if !accept(args, &mut fresh) {
                    break;
                }
            }
            if !fresh.is_empty() {
                chat.rows.update(|rows| rows.extend(fresh));
            }
        })
        .keep();
    let history_socket = socket.clone();
    socket
        .on::<(ReplayDone,)>(REPLAY_DONE, move |_| {
            let end = incoming.borrow_mut().replay_done();
            match end {
                ReplayEnd::FirstConnection => {
                    let older = chat.rows.with_untracked(|rows| has_older(rows));
                    chat.has_older.set(older);
                    // The latest messages may all be other channels': then the one shown
                    // loads its own latest page.
                    let shown = chat.current.get_untracked();
                    if chat
                        .rows
                        .with_untracked(|rows| first_offset_in(rows, shown).is_none())
                    {
                        history::load_older(chat, history_socket.clone());
                    }
                }
                ReplayEnd::Recovered { before, count } => {
                    chat.rows.update(|rows| insert_divider(rows, before, count));
                }
                ReplayEnd::NothingMissed => {}
            }
        })
        .keep();
}
