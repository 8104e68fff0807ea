//! The page's socket session (browser only): what the page's handlers and actions share.
//! [`super::start`] opens it; the [`Session`] is owned by the page's [`Chat`], and every
//! concern (outbox, nickname, presence, history) takes it, or its socket, from there.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos_socketio::Socket;

use super::Chat;
use super::presence::Typist;

/// What the page's handlers and actions share.
pub struct Session {
    /// The page's socket.
    pub socket: Socket,
    /// This tab's random id, the prefix of its client offsets.
    pub tab_id: String,
    /// Messages this tab has sent (the counter in client offsets).
    pub sent: Cell<u64>,
    /// This user's typing as told to the others.
    pub typist: Rc<RefCell<Typist>>,
    /// This tab's messages waiting to be sent, in typed order.
    pub queue: RefCell<super::send_queue::SendQueue>,
}

/// The tutorial's Disconnect/Connect button.
pub fn toggle_connection(chat: Chat, session: &Session) {
    if chat.connection.get_untracked().is_active() {
        session.socket.disconnect();
    } else {
        session.socket.connect();
    }
}
