//! Who a socket is: an account, known from the session cookie its handshake carried, or a
//! guest. Decided once, in the connect middleware, from what the server holds (the
//! session store), never from anything the page's script sends; every handler then asks
//! the socket's [`Identity`], not its name.

use std::fmt;

use chat_protocol::guest::GuestName;

use crate::domain::Nickname;
use crate::store::{AccountId, SessionIdHash};

/// What guests may do (`--guests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GuestPolicy {
    /// Guests chat publicly (the tutorial's page keeps working). The default.
    #[default]
    Allow,
    /// Guests may connect and read, not post.
    ReadOnly,
    /// Only signed-in accounts may connect.
    Deny,
}

impl fmt::Display for GuestPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::ReadOnly => "read-only",
            Self::Deny => "deny",
        })
    }
}

/// Who a socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Signed in.
    Account {
        /// The account.
        id: AccountId,
        /// Its name as typed at sign-up: what its messages are signed with.
        username: String,
        /// The session the socket was opened with (sign-out disconnects its sockets).
        session: SessionIdHash,
    },
    /// Not signed in.
    Guest {
        /// Whether it may post (`--guests allow`).
        may_post: bool,
    },
}

impl Identity {
    /// Whether this socket may post public messages.
    pub fn may_post(&self) -> bool {
        match self {
            Self::Account { .. } => true,
            Self::Guest { may_post } => *may_post,
        }
    }

    /// The account, if signed in.
    pub fn account(&self) -> Option<(AccountId, &str)> {
        match self {
            Self::Account { id, username, .. } => Some((*id, username)),
            Self::Guest { .. } => None,
        }
    }
}

/// The name a socket starts with: an account's username, or the guest name the client
/// proposed, or one made from the socket's id.
pub fn starting_name(
    identity: &Identity,
    proposed: Option<&GuestName>,
    socket_id: &str,
) -> Nickname {
    let name = match identity {
        Identity::Account { username, .. } => username.clone(),
        Identity::Guest { .. } => match proposed {
            Some(name) => name.as_str().to_owned(),
            None => {
                let bytes = socket_id.as_bytes();
                let seed = bytes
                    .iter()
                    .fold(0u16, |acc, b| acc.rotate_left(5) ^ u16::from(*b));
                GuestName::from_seed(seed.to_be_bytes()).into_inner()
            }
        },
    };
    Nickname::parse(&name).expect("usernames and guest names are valid nicknames")
}

/// The room of every socket of one account (private messages, and a password change's
/// disconnect, are sent to it), by the account's case-folded name.
pub fn user_room(username: &str) -> String {
    format!("user:{}", username.to_ascii_lowercase())
}

/// The room of every socket opened with one session (sign-out disconnects it).
pub fn session_room(session: &SessionIdHash) -> String {
    let prefix: String = session[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("session:{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_is_named_by_its_proposal_or_its_socket() {
        let guest = Identity::Guest { may_post: true };
        let proposed = GuestName::parse("guest-ana").unwrap();
        assert_eq!(
            starting_name(&guest, Some(&proposed), "x").as_str(),
            "guest-ana"
        );
        let picked = starting_name(&guest, None, "AbCdEf123");
        assert!(GuestName::parse(picked.as_str()).is_some(), "{picked:?}");
        let account = Identity::Account {
            id: AccountId(1),
            username: "Vic".into(),
            session: [0; 32],
        };
        assert_eq!(
            starting_name(&account, Some(&proposed), "x").as_str(),
            "Vic"
        );
    }

    #[test]
    fn rooms_fold_case_and_keep_session_ids_apart() {
        assert_eq!(user_room("Vic"), user_room("vic"));
        assert_ne!(session_room(&[1; 32]), session_room(&[2; 32]));
    }
}
