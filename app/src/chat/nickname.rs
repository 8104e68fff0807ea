//! The name this page writes as. The server decides it: a signed-in page writes as its
//! account, whatever it sends. A guest page proposes a guest name (`guest-xxxx`, kept in
//! localStorage under [`NICKNAME_KEY`] so a reload keeps it) in every connect's auth, and
//! the server's `identity` event says which name it got.

use chat_protocol::guest::GuestName;

/// Where the guest name is kept between visits.
pub const NICKNAME_KEY: &str = "chat.nickname";

/// The name of a first visit: `guest-` and the first four characters of a random id.
pub fn guest_name(random_id: &str) -> String {
    let short: String = random_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(4)
        .collect();
    format!("{}{short}", GuestName::PREFIX)
}

/// A saved name is proposed only if it is a guest name (an older page kept chosen
/// nicknames here; the server would ignore them).
pub fn usable(saved: Option<String>) -> Option<String> {
    saved.filter(|name| GuestName::parse(name).is_some())
}

#[cfg(feature = "hydrate")]
pub use browser::{saved_nickname, watch};

#[cfg(feature = "hydrate")]
mod browser {
    use chat_protocol::acks::Identity;
    use chat_protocol::events::IDENTITY;
    use leptos::prelude::*;
    use leptos_socketio::{Socket, random_id};

    use super::{NICKNAME_KEY, guest_name, usable};
    use crate::chat::Chat;
    use crate::chat::dom::local_storage;

    /// The guest name saved by an earlier visit, or a new `guest-xxxx` (saved for the next).
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

    /// Takes the name (and whether this page may post) from the server's `identity`.
    pub fn watch(chat: Chat, socket: &Socket) {
        socket
            .on::<(Identity,)>(IDENTITY, move |(identity,)| {
                chat.nickname.set(identity.name);
                chat.guest.set(identity.guest);
                chat.can_post.set(identity.can_post);
            })
            .keep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_visit_is_a_guest_and_only_a_guest_name_is_proposed() {
        assert_eq!(guest_name("0a1b2c3d4e5f6789"), "guest-0a1b");
        assert_eq!(guest_name("A-b_C9dd"), "guest-abc9");
        assert_eq!(usable(Some("  ".into())), None);
        assert_eq!(usable(Some("vic".into())), None);
        assert_eq!(usable(None), None);
        assert_eq!(usable(Some("guest-0a1b".into())), Some("guest-0a1b".into()));
    }
}
