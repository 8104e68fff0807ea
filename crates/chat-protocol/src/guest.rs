//! Guests: whoever chats without signing in (the tutorial's own page, anyone not signed
//! in). A guest is always shown as `guest-…`, a form no [`crate::accounts::Username`] can
//! take, so a guest can never appear under an account's name.
//!
//! A client may propose its guest name in the connect `auth` (`nickname: "guest-3f2a"`),
//! so a tab keeps one name across reconnects; anything else proposed is ignored and the
//! server picks one. Guest names are not verified: two guests may pick the same one, which
//! is why the page marks them as guests.

use std::fmt;

/// A guest's name: `guest-` then 1 to [`GuestName::MAX_SUFFIX`] lowercase ASCII letters or
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestName(String);

impl GuestName {
    /// What every guest name starts with.
    pub const PREFIX: &'static str = "guest-";
    /// Longest suffix after the prefix.
    pub const MAX_SUFFIX: usize = 12;

    /// Accepts `name` if it has the guest form; `None` otherwise.
    pub fn parse(name: &str) -> Option<Self> {
        let suffix = name.strip_prefix(Self::PREFIX)?;
        let valid = (1..=Self::MAX_SUFFIX).contains(&suffix.len())
            && suffix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        valid.then(|| Self(name.to_owned()))
    }

    /// The guest name whose suffix is `seed`'s first 2 bytes in hex (`guest-3f2a`): the
    /// server's pick for a client that proposed none.
    pub fn from_seed(seed: [u8; 2]) -> Self {
        Self(format!("{}{:02x}{:02x}", Self::PREFIX, seed[0], seed[1]))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for GuestName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_guest_form_is_accepted() {
        for good in ["guest-3f2a", "guest-a", "guest-abcdefghijk1"] {
            assert_eq!(GuestName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "vic",
            "guest-",
            "Guest-3f2a",
            "guest-3F2A",
            "guest-a b",
            "guest-abcdefghijklm",
            "guest-é",
        ] {
            assert_eq!(GuestName::parse(bad), None, "{bad}");
        }
        assert_eq!(GuestName::from_seed([0x3f, 0x2a]).as_str(), "guest-3f2a");
    }
}
