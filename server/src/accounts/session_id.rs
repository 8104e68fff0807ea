//! Session ids: what a signed-in browser holds (in a cookie) to prove who it is.
//!
//! An id is 32 bytes from the operating system's random source (256 bits: far past the 128
//! that make guessing hopeless), written into the cookie as unpadded base64url (43
//! characters, safe in a cookie value without quoting). The store keeps only its SHA-256
//! ([`SessionId::hash`]): whoever reads the database, or a backup, holds hashes that sign no
//! one in, and a lookup by hash leaks nothing through timing about the id itself. A plain
//! fast hash is enough here (unlike passwords): the input is random, not guessable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::store::SessionIdHash;

/// Bytes of randomness in a session id.
pub const ID_BYTES: usize = 32;

/// A session id. `Debug` does not print it (it is a bearer credential, kept out of logs);
/// the only ways out are [`Self::to_cookie`] and [`Self::hash`].
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; ID_BYTES]);

/// The operating system gave no random bytes (a session cannot be started safely without).
#[derive(Debug, thiserror::Error)]
#[error("no randomness for a session id: {0}")]
pub struct RandomError(#[source] getrandom::Error);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Result<Self, RandomError> {
        let mut id = [0u8; ID_BYTES];
        getrandom::fill(&mut id).map_err(RandomError)?;
        Ok(Self(id))
    }

    /// Reads an id from a cookie value: exactly the 43 characters [`Self::to_cookie`]
    /// writes. Anything else (from the network, so anything at all) is `None`, like an
    /// unknown session.
    pub fn from_cookie(value: &str) -> Option<Self> {
        let mut id = [0u8; ID_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(value, &mut id) {
            Ok(ID_BYTES) => Some(Self(id)),
            _ => None,
        }
    }

    /// The id as a cookie value: unpadded base64url.
    pub fn to_cookie(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The SHA-256 of the id: the key the store keeps the session under.
    pub fn hash(&self) -> SessionIdHash {
        Sha256::digest(self.0).into()
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_round_trip_through_the_cookie() {
        let (a, b) = (
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
        );
        assert_ne!(a, b);
        let cookie = a.to_cookie();
        assert_eq!(cookie.len(), 43);
        assert!(
            cookie
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{cookie}"
        );
        assert_eq!(SessionId::from_cookie(&cookie), Some(a));
    }

    #[test]
    fn a_cookie_that_is_not_an_id_is_none() {
        let id = SessionId::generate().unwrap().to_cookie();
        for bad in [
            String::new(),
            "not base64!".to_owned(),
            id[..42].to_owned(),
            format!("{id}A"),
            format!("{id}="),
            "é".repeat(43),
        ] {
            assert_eq!(SessionId::from_cookie(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_ids_hash_is_stable_and_does_not_contain_the_id() {
        let id = SessionId::from_cookie(&"A".repeat(43)).unwrap();
        assert_eq!(id.hash(), id.clone().hash());
        assert_eq!(id.hash(), <[u8; 32]>::from(Sha256::digest([0u8; 32])));
        let other = SessionId::generate().unwrap();
        assert_ne!(other.hash(), id.hash());
        // One-way: the hash is neither the id nor its cookie text.
        assert_ne!(other.hash(), other.0);
        let hex: String = other.hash().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!hex.contains(&other.to_cookie()));
    }

    #[test]
    fn an_id_never_shows_in_debug() {
        let id = SessionId::generate().unwrap();
        let printed = format!("{id:?}");
        assert_eq!(printed, "SessionId(…)");
        assert!(!printed.contains(&id.to_cookie()));
    }
}
