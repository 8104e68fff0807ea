//! The chat as the page sees it: messages by server offset, the outbox of own messages
//! waiting for their ack, and the connection state, all as signals.
//!
//! [`Chat`] is created in [`crate::App`] and provided as context; components read its
//! signals and call [`Chat::send`] / [`Chat::toggle_connection`]. The socket work happens
//! in the browser only; the server render shows the empty, connecting state.
//!
//! One concern per module, each with its rules as pure functions (unit-tested natively,
//! compiled with or without the browser) and, with the `hydrate` feature, the browser part
//! that wires them to the socket:
//! - [`incoming`]: messages into rows, once each, in order; gaps per channel; recovery;
//! - [`channels`]: the channels one is in, their unread and mention counts, switching,
//!   creating, joining and leaving;
//! - [`outbox`]: own messages until acked: retries, refusals, the localStorage mirror;
//! - [`ack_outcome`]: what a write's ack means (stored, resend later, failed);
//! - [`send_queue`]: the order own messages go out in (one at a time, as typed);
//! - [`history`]: "load older messages";
//! - [`presence`]: who is online, join / leave notices, typing;
//! - [`direct`]: private conversations (the direct channels of two): opening one, and how
//!   the list names and orders them;
//! - [`nickname`]: the name this page writes as (the server's `identity`);
//! - [`rows`]: what the message list is made of, and which rows a channel shows;
//! - `session` (browser): what the handlers and actions share (the socket, the tab id);
//! - `start` (browser): opens the socket with its connect auth and wires every concern's
//!   handlers (the top of these modules: none imports it);
//! - `dom` (browser): localStorage, visibility, timers, `<meta>` settings.

pub mod ack_outcome;
pub mod channels;
pub mod direct;
#[cfg(feature = "hydrate")]
pub(crate) mod dom;
pub mod history;
pub mod incoming;
pub mod nickname;
pub mod outbox;
pub mod presence;
pub mod rows;
pub mod send_queue;
#[cfg(feature = "hydrate")]
mod session;
#[cfg(feature = "hydrate")]
mod start;

pub use chat_protocol::channels::{ChannelId, ChannelInfo, JoinableChannel};
use leptos::prelude::*;
use leptos_socketio::ConnectionState;
pub use rows::{Outgoing, OutgoingStatus, Row, newest_public_offset, rows_of};

/// The page's chat state. `Copy`: every field is a signal (or, for the socket session, a
/// stored value owned by the same reactive owner as the signals).
#[derive(Debug, Clone, Copy)]
pub struct Chat {
    /// Messages in offset order, with recovered-message dividers.
    pub rows: RwSignal<Vec<Row>>,
    /// Own messages awaiting their ack.
    pub outbox: RwSignal<Vec<Outgoing>>,
    /// The connection state.
    pub connection: RwSignal<ConnectionState>,
    /// The name this page writes as, as the server's `identity` said (before that, the
    /// guest name it proposes).
    pub nickname: RwSignal<String>,
    /// Whether the server took this page for a guest.
    pub guest: RwSignal<bool>,
    /// Whether the server lets this page post (`--guests read-only` does not, for guests).
    pub can_post: RwSignal<bool>,
    /// What screen readers are told last: the newest live message of someone else (not
    /// the replay on arrival, nor a page of older messages).
    pub announcement: RwSignal<String>,
    /// How many messages this page has sent (the view follows each one).
    pub sent: RwSignal<u64>,
    /// Whether the online list is shown on a narrow screen (where it is a drawer).
    pub show_online: RwSignal<bool>,
    /// Whether the page is interactive (hydrated, its socket opened): until then the
    /// composer is disabled and says so, so nothing typed before the WASM runs is lost.
    pub ready: RwSignal<bool>,
    /// Who is online (sorted nicknames), the same list on every worker: everyone, or the
    /// first names of a crowd.
    pub online: RwSignal<Vec<String>>,
    /// How many more are online than [`Self::online`] lists (a crowd, counted by the
    /// server instead of announced one by one).
    pub online_more: RwSignal<usize>,
    /// Who else is typing now.
    pub typing: RwSignal<Vec<String>>,
    /// Messages that arrived while the tab was hidden.
    pub unread: RwSignal<u32>,
    /// Whether older messages than those shown exist on the server.
    pub has_older: RwSignal<bool>,
    /// A page of older messages is on its way.
    pub loading_older: RwSignal<bool>,
    /// How many messages arrived below while the reader was scrolled up (the pill).
    pub new_below: RwSignal<usize>,
    /// The channel shown, and written to.
    pub current: RwSignal<ChannelId>,
    /// The channels this user is in (`#general` first), with their unread and mention
    /// counts: the server's at connect, kept up to date by what arrives.
    pub channels: RwSignal<Vec<ChannelInfo>>,
    /// The public channels this user could join.
    pub joinable: RwSignal<Vec<JoinableChannel>>,
    /// What the last channel request was refused for (shown by the channel list).
    pub channel_error: RwSignal<String>,
    /// The socket session, once [`Chat::start`] opened it (browser only).
    #[cfg(feature = "hydrate")]
    session: StoredValue<Option<std::rc::Rc<session::Session>>, LocalStorage>,
}

impl Chat {
    /// Empty state: nothing received, connecting.
    pub fn new() -> Self {
        Self {
            rows: RwSignal::new(Vec::new()),
            outbox: RwSignal::new(Vec::new()),
            connection: RwSignal::new(ConnectionState::Connecting),
            nickname: RwSignal::new(String::new()),
            guest: RwSignal::new(true),
            can_post: RwSignal::new(true),
            ready: RwSignal::new(false),
            show_online: RwSignal::new(false),
            announcement: RwSignal::new(String::new()),
            sent: RwSignal::new(0),
            online: RwSignal::new(Vec::new()),
            online_more: RwSignal::new(0),
            typing: RwSignal::new(Vec::new()),
            unread: RwSignal::new(0),
            has_older: RwSignal::new(false),
            loading_older: RwSignal::new(false),
            new_below: RwSignal::new(0),
            current: RwSignal::new(ChannelId::GENERAL),
            channels: RwSignal::new(Vec::new()),
            joinable: RwSignal::new(Vec::new()),
            channel_error: RwSignal::new(String::new()),
            #[cfg(feature = "hydrate")]
            session: StoredValue::new_local(None),
        }
    }

    /// The socket session, if it is open.
    #[cfg(feature = "hydrate")]
    fn session(self) -> Option<std::rc::Rc<session::Session>> {
        self.session.get_value()
    }

    /// Opens the socket (browser only; a no-op in the server render). Once per page.
    pub fn start(self) {
        #[cfg(feature = "hydrate")]
        if self.session().is_none() {
            let session = start::start(self);
            self.session.set_value(Some(session));
            self.ready.set(true);
        }
    }

    /// Sends `text`, its surrounding whitespace trimmed, unless that leaves nothing.
    /// Returns whether it was sent.
    pub fn send(self, text: &str) -> bool {
        let text = text.trim();
        if text.is_empty() {
            return false;
        }
        self.sent.update(|n| *n += 1);
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            outbox::send(self, session, text.to_owned());
        }
        true
    }

    /// Shows `channel` (loading its latest messages if none are shown).
    pub fn switch_channel(self, channel: ChannelId) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            channels::switch_to(self, session.socket.clone(), channel);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = channel;
    }

    /// Creates a channel named `name` (public unless `private`) and shows it.
    pub fn create_channel(self, name: String, private: bool) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            channels::create(self, session.socket.clone(), name, private);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (name, private);
    }

    /// Joins the public channel `channel` and shows it.
    pub fn join_channel(self, channel: ChannelId) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            channels::join(self, session.socket.clone(), channel);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = channel;
    }

    /// Adds the account `username` to `channel`.
    pub fn invite_to_channel(self, channel: ChannelId, username: String) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            channels::invite(self, session.socket.clone(), channel, username);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (channel, username);
    }

    /// Opens the private conversation with the account `username` (made on first use) and
    /// shows it.
    pub fn open_direct(self, username: String) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            direct::open(self, session.socket.clone(), username);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = username;
    }

    /// Leaves `channel`.
    pub fn leave_channel(self, channel: ChannelId) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            channels::leave(self, session.socket.clone(), channel);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = channel;
    }

    /// The rows of the channel shown: its messages, the dividers before them and, in
    /// `#general`, the notices.
    pub fn shown_rows(self) -> Vec<Row> {
        let shown = self.current.get();
        self.rows.with(|rows| rows_of(rows, shown))
    }

    /// Loads the page of messages before the oldest one shown.
    pub fn load_older(self) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            history::load_older(self, session.socket.clone());
        }
    }

    /// Sends a failed message again, with the same client offset.
    pub fn retry(self, client_offset: &str) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            outbox::retry_failed(self, session, client_offset.to_owned());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = client_offset;
    }

    /// Forgets a failed message.
    pub fn dismiss(self, client_offset: &str) {
        self.outbox
            .update(|outbox| outbox.retain(|o| o.client_offset != client_offset));
    }

    /// The composer's text changed: tells the others this user is typing (or no longer is).
    pub fn typing_changed(self, has_text: bool) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            presence::typing_changed(session.socket.clone(), session.typist.clone(), has_text);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = has_text;
    }

    /// Disconnects when connected (or trying to be), connects when offline.
    pub fn toggle_connection(self) {
        #[cfg(feature = "hydrate")]
        if let Some(session) = self.session() {
            session::toggle_connection(self, &session);
        }
    }
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}
