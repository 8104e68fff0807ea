//! The nickname this page writes as: kept in localStorage under [`NICKNAME_KEY`] between
//! visits, a generated `guest-xxxx` until the user picks one, sent in every connect's auth
//! and changed with `nickname`.

/// Where the nickname is kept between visits.
pub const NICKNAME_KEY: &str = "chat.nickname";

/// The name of a first visit: `guest-` and the first four characters of a random id.
pub fn guest_name(random_id: &str) -> String {
    let short: String = random_id.chars().take(4).collect();
    format!("guest-{short}")
}

/// A saved name is used unless it is blank.
pub fn usable(saved: Option<String>) -> Option<String> {
    saved.filter(|name| !name.trim().is_empty())
}

#[cfg(feature = "hydrate")]
pub use browser::{saved_nickname, set_nickname};

#[cfg(feature = "hydrate")]
mod browser {
    use std::rc::Rc;

    use chat_protocol::acks::{Answer, NicknameSet};
    use chat_protocol::events::NICKNAME;
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use leptos_socketio::{EmitError, random_id};

    use super::{NICKNAME_KEY, guest_name, usable};
    use crate::chat::Chat;
    use crate::chat::dom::local_storage;
    use crate::chat::session::Session;

    /// The nickname saved by an earlier visit, or a new `guest-xxxx` (saved for the next).
    pub fn saved_nickname() -> String {
        let storage = local_storage();
        if let Some(name) = usable(
            storage
                .as_ref()
                .and_then(|s| s.get_item(NICKNAME_KEY).ok().flatten()),
        ) {
            return name;
        }
        let name = guest_name(&random_id());
        if let Some(storage) = storage {
            let _ = storage.set_item(NICKNAME_KEY, &name);
        }
        name
    }

    /// Renames this page's socket; keeps the name for the next visits once the server
    /// took it, or shows why not.
    pub fn set_nickname(chat: Chat, session: Rc<Session>, name: String) {
        spawn_local(async move {
            let ack = session
                .socket
                .emit_with_ack::<_, Answer<NicknameSet>>(NICKNAME, &(&name,))
                .await;
            match ack {
                Ok(Answer::Done(NicknameSet { nickname })) => {
                    if let Some(storage) = local_storage() {
                        let _ = storage.set_item(NICKNAME_KEY, &nickname);
                    }
                    chat.nickname.set(nickname);
                    chat.nickname_error.set(None);
                }
                Ok(Answer::Refused(refused)) => chat.nickname_error.set(Some(refused.error)),
                Err(EmitError::BadAck(_)) => chat.nickname_error.set(Some("refused".into())),
                Err(_) => chat
                    .nickname_error
                    .set(Some("the server did not answer".into())),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_visit_is_a_guest_and_a_blank_saved_name_does_not_count() {
        assert_eq!(guest_name("0a1b2c3d4e5f6789"), "guest-0a1b");
        assert_eq!(usable(Some("  ".into())), None);
        assert_eq!(usable(None), None);
        assert_eq!(usable(Some("ana".into())), Some("ana".into()));
    }
}
