//! The browser half of the chat: one socket per page and the handlers that turn its events
//! into rows.
//!
//! Delivery guarantees on this side:
//! - `auth.serverOffset` is the highest offset shown, so every (re)connection replays
//!   exactly what is missing;
//! - a message at or below that offset is a duplicate and is dropped;
//! - offsets are consecutive, so a live message that skips one means this tab missed it
//!   (the server could not queue it): the tab reconnects and the replay fills the gap;
//! - unacked messages are resent every ack timeout, up to the retry count (both from the
//!   server's `<meta>` tags, see [`crate::ClientSettings`]);
//! - client offsets are `<random tab id>-<counter>`, unique across tabs, reloads and
//!   offline periods; the client library resends unacked messages after a reconnect and
//!   the server stores each key once.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use super::{Chat, Outgoing, OutgoingStatus, Row};
use crate::socket::{EmitError, Options, Socket, random_id};

/// The client options the server put in the page's `<meta>` tags (defaults: the
/// tutorial's 10 s and 3 retries).
fn options() -> Options {
    let defaults = crate::ClientSettings::default();
    let read = |name: &str, default: u32| {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector(&format!("meta[name=\"{name}\"]"))
                    .ok()
                    .flatten()
            })
            .and_then(|meta| meta.get_attribute("content"))
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    Options {
        ack_timeout: read(crate::meta::ACK_TIMEOUT, defaults.ack_timeout_ms),
        retries: read(crate::meta::RETRIES, defaults.retries),
    }
}

/// What the server acks a `chat message` with: `{ serverOffset }` or `{ error }`, the
/// latter with `retryAfterMs` when the same message may be resent (rate limit, storage
/// fault). The tutorial's server acks with nothing, which also means stored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatAck {
    #[allow(dead_code)]
    server_offset: Option<i64>,
    error: Option<String>,
    retry_after_ms: Option<u32>,
}

/// Resends after refusals that say when to retry (the server pacing a burst, or a storage
/// fault) before the message shows as failed. High: such a refusal is not a failure.
const REFUSAL_RETRIES: u32 = 100;

/// Resolves after `ms` milliseconds (a `setTimeout`).
async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.min(i32::MAX as u32) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A `chat message` from the server: `(text, serverOffset)` as in the tutorial, then
/// `{ author, createdAt }` from this server.
struct ChatMessage {
    text: String,
    offset: i64,
    author: String,
    created_at: i64,
}

impl ChatMessage {
    fn from_args(args: Vec<serde_json::Value>) -> Option<Self> {
        let mut args = args.into_iter();
        let text = args.next()?.as_str()?.to_owned();
        let offset = args.next()?.as_i64()?;
        let meta = args.next().unwrap_or_default();
        Some(Self {
            text,
            offset,
            author: meta["author"].as_str().unwrap_or_default().to_owned(),
            created_at: meta["createdAt"].as_i64().unwrap_or_default(),
        })
    }
}

/// A live message came after a gap: the socket reconnects to replay from the last one shown.
struct Gap;

/// Turns incoming messages into rows, in offset order, once each.
struct Incoming {
    chat: Chat,
    replay: Rc<RefCell<Replay>>,
    /// The highest offset shown.
    last_offset: Rc<Cell<i64>>,
    /// The socket, to reconnect after a gap.
    resync: Socket,
}

impl Incoming {
    /// The row for one message's `chat message` arguments; none for a malformed message
    /// (warned) or one already shown. A message after a gap makes the socket reconnect and
    /// replay from the last one shown.
    fn row(&self, args: Vec<serde_json::Value>) -> Result<Option<Row>, Gap> {
        let Some(ChatMessage {
            text,
            offset,
            author,
            created_at,
        }) = ChatMessage::from_args(args)
        else {
            web_sys::console::warn_1(&"socket: bad `chat message` event".into());
            return Ok(None);
        };
        let last = self.last_offset.get();
        if offset <= last {
            return Ok(None);
        }
        let mut r = self.replay.borrow_mut();
        if !r.running && offset != last + 1 {
            web_sys::console::warn_1(
                &format!("missed messages {}..{offset}; replaying", last + 1).into(),
            );
            self.resync.reconnect();
            return Err(Gap);
        }
        let recovered = r.running && r.after_reconnect;
        if recovered {
            r.first_recovered.get_or_insert(offset);
            r.recovered += 1;
        }
        self.last_offset.set(offset);
        if !r.running && page_hidden() {
            self.chat.unread.update(|n| *n += 1);
        }
        Ok(Some(Row::Message {
            offset,
            text,
            author,
            created_at,
            recovered,
        }))
    }
}

/// Where the nickname is kept between visits.
const NICKNAME_KEY: &str = "chat.nickname";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The nickname saved by an earlier visit, or a new `guest-XXXX` (saved for the next one).
fn saved_nickname() -> String {
    let storage = local_storage();
    if let Some(name) = storage
        .as_ref()
        .and_then(|s| s.get_item(NICKNAME_KEY).ok().flatten())
        .filter(|n| !n.trim().is_empty())
    {
        return name;
    }
    let name = format!("guest-{}", &random_id()[..4]);
    if let Some(storage) = storage {
        let _ = storage.set_item(NICKNAME_KEY, &name);
    }
    name
}

/// The ack of `nickname`: the name in use, or why not.
#[derive(Debug, Deserialize)]
struct NicknameAck {
    nickname: Option<String>,
    error: Option<String>,
}

/// Renames this page's socket; keeps the name for the next visits once the server took it.
pub fn set_nickname(chat: Chat, name: String) {
    let Some(session) = session() else { return };
    spawn_local(async move {
        let ack = session
            .socket
            .emit_with_ack::<_, NicknameAck>("nickname", &(&name,))
            .await;
        match ack {
            Ok(NicknameAck {
                nickname: Some(name),
                ..
            }) => {
                if let Some(storage) = local_storage() {
                    let _ = storage.set_item(NICKNAME_KEY, &name);
                }
                chat.nickname.set(name);
                chat.nickname_error.set(None);
            }
            Ok(NicknameAck { error, .. }) => chat
                .nickname_error
                .set(Some(error.unwrap_or_else(|| "refused".into()))),
            Err(_) => chat
                .nickname_error
                .set(Some("the server did not answer".into())),
        }
    });
}

/// Tracks one connection's replay, to mark what a reconnect recovered.
#[derive(Debug, Default)]
struct Replay {
    /// Between `connect` and `replay done`.
    running: bool,
    /// This connection is not the page's first.
    after_reconnect: bool,
    /// The page has connected before.
    connected_once: bool,
    /// First message this replay recovered.
    first_recovered: Option<i64>,
    /// Messages this replay recovered.
    recovered: usize,
}

/// The page's socket session.
struct Session {
    socket: Socket,
    tab_id: String,
    sent: Cell<u64>,
    /// Whether the others were told this user is typing.
    typing_sent: Cell<bool>,
    /// Bumped on every keystroke; an idle timer only stops typing for its own keystroke.
    typing_keystroke: Cell<u64>,
}

/// Messages a fresh page gets at first, and per "load older" page.
const HISTORY_PAGE: u32 = 50;

/// How long after the last keystroke typing counts as stopped.
const TYPING_IDLE_MS: u32 = 3000;

/// How long someone else's typing is shown without news from them.
const TYPING_SHOWN_MS: u32 = 6000;

thread_local! {
    static SESSION: RefCell<Option<Rc<Session>>> = const { RefCell::new(None) };
}

fn session() -> Option<Rc<Session>> {
    SESSION.with(|s| s.borrow().clone())
}

/// Connects and wires the socket's events into `chat`.
pub fn start(chat: Chat) {
    if session().is_some() {
        return;
    }
    let last_offset = Rc::new(Cell::new(0_i64));
    let auth_offset = last_offset.clone();
    let last_private = Rc::new(Cell::new(0_i64));
    let auth_private = last_private.clone();
    chat.nickname.set(saved_nickname());
    let socket = Socket::connect("", &options(), move || {
        serde_json::json!({
            "batched": true,
            "serverOffset": auth_offset.get(),
            "historyLimit": HISTORY_PAGE,
            "privateOffset": auth_private.get(),
            "nickname": chat.nickname.get_untracked(),
        })
    });
    let state = socket.state();
    Effect::new(move |_| chat.connection.set(state.get()));

    let replay = Rc::new(RefCell::new(Replay::default()));
    watch_presence(chat, &socket);
    watch_private(chat, &socket, last_private);
    watch_visibility(chat);
    {
        let replay = replay.clone();
        let asker = socket.clone();
        socket.on::<serde_json::Value>("connect", move |_| {
            let asker = asker.clone();
            spawn_local(async move {
                if let Ok(UsersAck { users }) = asker.emit_with_ack("users", &()).await {
                    chat.online.set(users);
                }
            });
            let mut r = replay.borrow_mut();
            r.running = true;
            r.after_reconnect = r.connected_once;
            r.connected_once = true;
            r.first_recovered = None;
            r.recovered = 0;
        });
    }
    {
        let incoming = Rc::new(Incoming {
            chat,
            replay: replay.clone(),
            last_offset,
            resync: socket.clone(),
        });
        let one = incoming.clone();
        socket.on::<Vec<serde_json::Value>>("chat message", move |args| {
            if let Ok(Some(row)) = one.row(args) {
                chat.rows.update(|rows| rows.push(row));
            }
        });
        // Live messages come in lists, one per delivery window: this page asks for them
        // (`batched` in the auth), so a busy room costs one event and one update per window.
        socket.on::<(Vec<Vec<serde_json::Value>>,)>("chat messages", move |(list,)| {
            let mut fresh = Vec::with_capacity(list.len());
            for args in list {
                match incoming.row(args) {
                    Ok(Some(row)) => fresh.push(row),
                    Ok(None) => {}
                    Err(Gap) => break,
                }
            }
            if !fresh.is_empty() {
                chat.rows.update(|rows| rows.extend(fresh));
            }
        });
    }
    socket.on::<serde_json::Value>("replay done", move |_| {
        let mut r = replay.borrow_mut();
        r.running = false;
        if !r.after_reconnect {
            // A fresh page got the latest page only: older messages exist if it does not
            // start at the first one.
            let first = chat.rows.with_untracked(|rows| first_offset(rows));
            chat.has_older.set(first.is_some_and(|offset| offset > 1));
        }
        if let (true, Some(before)) = (r.after_reconnect, r.first_recovered) {
            let count = r.recovered;
            chat.rows.update(|rows| {
                let at = rows
                    .iter()
                    .position(|row| matches!(row, Row::Message { offset, .. } if *offset == before))
                    .unwrap_or(rows.len());
                rows.insert(at, Row::RecoveredDivider { before, count });
            });
        }
    });

    let tab_id = random_id();
    let session = Rc::new(Session {
        socket,
        tab_id: tab_id.clone(),
        sent: Cell::new(0),
        typing_sent: Cell::new(false),
        typing_keystroke: Cell::new(0),
    });
    SESSION.with(|s| *s.borrow_mut() = Some(session.clone()));
    resend_saved_outbox(chat, session);
    keep_outbox_saved(chat, tab_id);
}

/// Where a tab keeps its unacknowledged messages: `chat.outbox.<tab id>`.
const OUTBOX_KEY_PREFIX: &str = "chat.outbox.";

/// A message kept in localStorage until acked.
#[derive(Debug, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedMessage {
    client_offset: String,
    text: String,
    /// The recipient of a private message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
}

/// Takes over the messages an earlier page (this tab before a reload, or a tab since
/// closed) left unacknowledged, and sends them again with their own client offsets: the
/// server stores each offset once, so a message that did arrive is not stored twice.
fn resend_saved_outbox(chat: Chat, session: Rc<Session>) {
    let Some(storage) = local_storage() else {
        return;
    };
    let keys: Vec<String> = (0..storage.length().unwrap_or(0))
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|key| key.starts_with(OUTBOX_KEY_PREFIX))
        .collect();
    let mut saved = Vec::new();
    for key in keys {
        if let Ok(Some(json)) = storage.get_item(&key) {
            saved.extend(serde_json::from_str::<Vec<SavedMessage>>(&json).unwrap_or_default());
        }
        let _ = storage.remove_item(&key);
    }
    for message in saved {
        queue_and_emit(chat, session.clone(), message);
    }
}

/// Adds a message to the outbox (shown as sending) and emits it.
fn queue_and_emit(chat: Chat, session: Rc<Session>, message: SavedMessage) {
    let SavedMessage {
        client_offset,
        text,
        to,
    } = message;
    chat.outbox.update(|outbox| {
        outbox.push(Outgoing {
            client_offset: client_offset.clone(),
            text: text.clone(),
            to: to.clone(),
            status: OutgoingStatus::Sending,
        })
    });
    emit(chat, session, text, client_offset, to);
}

/// Mirrors this tab's unacknowledged messages into localStorage, so a reload resends them.
fn keep_outbox_saved(chat: Chat, tab_id: String) {
    let key = format!("{OUTBOX_KEY_PREFIX}{tab_id}");
    Effect::new(move |_| {
        let pending: Vec<SavedMessage> = chat.outbox.with(|outbox| {
            outbox
                .iter()
                .filter(|o| o.status == OutgoingStatus::Sending)
                .map(|o| SavedMessage {
                    client_offset: o.client_offset.clone(),
                    text: o.text.clone(),
                    to: o.to.clone(),
                })
                .collect()
        });
        let Some(storage) = local_storage() else {
            return;
        };
        if pending.is_empty() {
            let _ = storage.remove_item(&key);
        } else if let Ok(json) = serde_json::to_string(&pending) {
            let _ = storage.set_item(&key, &json);
        }
    });
}

/// Queues `text` in the outbox and emits it: to everyone, or privately to `to`.
pub fn send(chat: Chat, text: String, to: Option<String>) {
    let Some(session) = session() else { return };
    let n = session.sent.get() + 1;
    session.sent.set(n);
    let client_offset = format!("{}-{n}", session.tab_id);
    stop_typing(&session);
    queue_and_emit(
        chat,
        session,
        SavedMessage {
            client_offset,
            text,
            to,
        },
    );
}

/// One message of a `history` page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryMessage {
    text: String,
    server_offset: i64,
    author: String,
    created_at: i64,
}

/// The `history` ack.
#[derive(Debug, Deserialize)]
struct HistoryPage {
    messages: Vec<HistoryMessage>,
    more: bool,
}

/// Loads the page of messages before the oldest one shown and puts it on top.
pub fn load_older(chat: Chat) {
    let Some(session) = session() else { return };
    let Some(first) = chat.rows.with_untracked(|rows| first_offset(rows)) else {
        return;
    };
    if chat.loading_older.get_untracked() {
        return;
    }
    chat.loading_older.set(true);
    spawn_local(async move {
        let page = session
            .socket
            .emit_with_ack::<_, HistoryPage>("history", &(first, HISTORY_PAGE))
            .await;
        chat.loading_older.set(false);
        let Ok(HistoryPage { messages, more }) = page else {
            return;
        };
        chat.rows.update(|rows| {
            let first = first_offset(rows).unwrap_or(i64::MAX);
            let older = messages
                .into_iter()
                .filter(|m| m.server_offset < first)
                .map(|m| Row::Message {
                    offset: m.server_offset,
                    text: m.text,
                    author: m.author,
                    created_at: m.created_at,
                    recovered: false,
                });
            rows.splice(0..0, older);
        });
        chat.has_older.set(more);
    });
}

/// The offset of the oldest message shown.
fn first_offset(rows: &[Row]) -> Option<i64> {
    rows.iter().find_map(|row| match row {
        Row::Message { offset, .. } => Some(*offset),
        _ => None,
    })
}

/// The `users` ack.
#[derive(Debug, Deserialize)]
struct UsersAck {
    users: Vec<String>,
}

/// A `user joined` / `user left` event.
#[derive(Debug, Deserialize)]
struct UserEvent {
    nickname: String,
}

/// A `typing` event.
#[derive(Debug, Deserialize)]
struct TypingEvent {
    nickname: String,
    typing: bool,
}

thread_local! {
    static NOTICES: Cell<u64> = const { Cell::new(0) };
}

/// Adds "ana joined" / "ana left" to the list.
fn notice(chat: Chat, text: String) {
    let id = NOTICES.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    chat.rows.update(|rows| rows.push(Row::Notice { id, text }));
}

/// Keeps the online list and the typing line up to date, and adds join / leave notices.
fn watch_presence(chat: Chat, socket: &Socket) {
    socket.on::<(UserEvent,)>("user joined", move |(UserEvent { nickname },)| {
        let mut added = false;
        chat.online.update(|online| {
            if let Err(at) = online.binary_search(&nickname) {
                online.insert(at, nickname.clone());
                added = true;
            }
        });
        if added {
            notice(chat, format!("{nickname} joined"));
        }
    });
    socket.on::<(UserEvent,)>("user left", move |(UserEvent { nickname },)| {
        chat.online
            .update(|online| online.retain(|n| *n != nickname));
        chat.typing
            .update(|typing| typing.retain(|n| *n != nickname));
        notice(chat, format!("{nickname} left"));
    });
    let shown_since: Rc<RefCell<std::collections::HashMap<String, u64>>> = Rc::default();
    let updates = Rc::new(Cell::new(0_u64));
    socket.on::<(TypingEvent,)>("typing", move |(TypingEvent { nickname, typing },)| {
        chat.typing.update(|list| {
            list.retain(|n| *n != nickname);
            if typing {
                list.push(nickname.clone());
            }
        });
        if typing {
            // Cleared anyway if no news comes (a lost "stopped typing").
            updates.set(updates.get() + 1);
            let update = updates.get();
            shown_since.borrow_mut().insert(nickname.clone(), update);
            let shown_since = shown_since.clone();
            spawn_local(async move {
                sleep_ms(TYPING_SHOWN_MS).await;
                if shown_since.borrow().get(&nickname) == Some(&update) {
                    chat.typing.update(|list| list.retain(|n| *n != nickname));
                }
            });
        }
    });
}

/// Adds private messages (to or from this user) to the list, each once; the highest offset
/// seen goes in the next connect's auth, so a reconnect replays only what is missing.
fn watch_private(chat: Chat, socket: &Socket, last_private: Rc<Cell<i64>>) {
    socket.on::<Vec<serde_json::Value>>("private message", move |args| {
        let mut args = args.into_iter();
        let (Some(text), Some(offset), meta) = (
            args.next().and_then(|v| v.as_str().map(str::to_owned)),
            args.next().and_then(|v| v.as_i64()),
            args.next().unwrap_or_default(),
        ) else {
            return;
        };
        if offset <= last_private.get() {
            return;
        }
        last_private.set(offset);
        if page_hidden() {
            chat.unread.update(|n| *n += 1);
        }
        chat.rows.update(|rows| {
            rows.push(Row::Private {
                offset,
                text,
                from: meta["from"].as_str().unwrap_or_default().to_owned(),
                to: meta["to"].as_str().unwrap_or_default().to_owned(),
                created_at: meta["createdAt"].as_i64().unwrap_or_default(),
            })
        });
    });
}

/// Whether the tab is hidden (another tab in front, window minimised).
fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Clears the unread count when the tab becomes visible again.
fn watch_visibility(chat: Chat) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        if !page_hidden() {
            chat.unread.set(0);
        }
    });
    let _ = document.add_event_listener_with_callback(
        "visibilitychange",
        wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
    );
    listener.forget();
}

/// The composer changed: announce typing on the first keystroke, and its end after
/// [`TYPING_IDLE_MS`] without one (or when the field is emptied).
pub fn typing_changed(has_text: bool) {
    let Some(session) = session() else { return };
    if !has_text {
        stop_typing(&session);
        return;
    }
    if !session.typing_sent.replace(true) {
        session.socket.emit_volatile("typing", &(true,));
    }
    let keystroke = session.typing_keystroke.get() + 1;
    session.typing_keystroke.set(keystroke);
    spawn_local(async move {
        sleep_ms(TYPING_IDLE_MS).await;
        if session.typing_keystroke.get() == keystroke {
            stop_typing(&session);
        }
    });
}

/// Tells the others this user stopped typing, if they were told otherwise.
fn stop_typing(session: &Session) {
    if session.typing_sent.replace(false) {
        session.socket.emit_volatile("typing", &(false,));
    }
}

/// Emits a failed outbox message again with its original client offset.
pub fn retry(chat: Chat, client_offset: String) {
    let Some(session) = session() else { return };
    let mut found = None;
    chat.outbox.update(|outbox| {
        if let Some(o) = outbox.iter_mut().find(|o| o.client_offset == client_offset) {
            o.status = OutgoingStatus::Sending;
            found = Some((o.text.clone(), o.to.clone()));
        }
    });
    if let Some((text, to)) = found {
        emit(chat, session, text, client_offset, to);
    }
}

/// Emits one message and settles its outbox entry from the ack. A refusal that says when
/// to retry (rate limit, storage fault) is resent after that delay with the same client
/// offset (up to [`REFUSAL_RETRIES`] times) before the message shows as failed.
fn emit(chat: Chat, session: Rc<Session>, text: String, client_offset: String, to: Option<String>) {
    spawn_local(async move {
        let mut refusals = 0;
        let failure = loop {
            let ack = match &to {
                None => {
                    session
                        .socket
                        .emit_with_ack::<_, Option<ChatAck>>(
                            "chat message",
                            &(&text, &client_offset),
                        )
                        .await
                }
                Some(to) => {
                    session
                        .socket
                        .emit_with_ack::<_, Option<ChatAck>>(
                            "private message",
                            &(to, &text, &client_offset),
                        )
                        .await
                }
            };
            break match ack {
                Ok(Some(ChatAck {
                    error: Some(_),
                    retry_after_ms: Some(wait),
                    ..
                })) if refusals < REFUSAL_RETRIES => {
                    refusals += 1;
                    sleep_ms(wait).await;
                    continue;
                }
                Ok(Some(ChatAck {
                    error: Some(error), ..
                })) => Some(error),
                Ok(_) => None,
                Err(EmitError::NoAck(_)) => Some("not delivered".to_owned()),
                Err(EmitError::BadAck(_) | EmitError::BadArgs(_)) => {
                    Some("unexpected reply from the server".to_owned())
                }
            };
        };
        chat.outbox.update(|outbox| match failure {
            None => outbox.retain(|o| o.client_offset != client_offset),
            Some(reason) => {
                if let Some(o) = outbox.iter_mut().find(|o| o.client_offset == client_offset) {
                    o.status = OutgoingStatus::Failed(reason);
                }
            }
        });
    });
}

/// The tutorial's Disconnect/Connect button.
pub fn toggle_connection(chat: Chat) {
    let Some(session) = session() else { return };
    if chat.connection.get_untracked().is_active() {
        session.socket.disconnect();
    } else {
        session.socket.connect_again();
    }
}
