//! Validated account credentials: a [`Username`] and a [`Password`].
//!
//! Sign-up and sign-in forms arrive from the network (a page's form, later a socket's
//! `auth`); they are parsed here, once, so the server only ever stores or looks up a name
//! that follows the rules, and a password never reaches a log through `Debug`. Each
//! rejection is a [`CredentialError`] whose `Display` tells the user which rule was broken.
//! Serde only, no I/O: the Leptos app validates forms with the same rules in the browser.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a username or a password was refused. The text is shown to the user verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The username had fewer than [`Username::MIN_CHARS`] characters.
    #[error("username too short: {0} characters, at least {min}", min = Username::MIN_CHARS)]
    UsernameTooShort(usize),
    /// The username had more than [`Username::MAX_CHARS`] characters.
    #[error("username too long: {0} characters, at most {max}", max = Username::MAX_CHARS)]
    UsernameTooLong(usize),
    /// The username held a character outside `A-Z a-z 0-9 _ - .`.
    #[error("username may contain only letters A-Z, digits 0-9 and _ - . (found {0:?})")]
    UsernameCharacter(char),
    /// The username started with `_`, `-` or `.`.
    #[error("username must start with a letter or a digit")]
    UsernameStart,
    /// The username is one guests are shown under (`guest…`, `anonymous`): an account
    /// under it would look like a guest, and a guest like it.
    #[error("usernames starting with \"guest\" and the name \"anonymous\" are reserved for guests")]
    UsernameReserved,
    /// The password had fewer than [`Password::MIN_CHARS`] characters.
    #[error("password too short: {0} characters, at least {min}", min = Password::MIN_CHARS)]
    PasswordTooShort(usize),
    /// The password had more than [`Password::MAX_CHARS`] characters.
    #[error("password too long: {0} characters, at most {max}", max = Password::MAX_CHARS)]
    PasswordTooLong(usize),
}

/// An account's name, as its owner typed it (shown as such), with a case-folded
/// [`UsernameKey`] that makes `Vic` and `vic` the same account.
///
/// The rules: [`Self::MIN_CHARS`] to [`Self::MAX_CHARS`] characters, each an ASCII letter,
/// an ASCII digit, `_`, `-` or `.`, the first a letter or a digit. ASCII only, on purpose:
/// names from other scripts would need Unicode normalization and confusable detection
/// (Cyrillic `а` looks like Latin `a`) before they could be unique in a way people can see;
/// whitespace, control characters and look-alike separators are excluded by the same rule.
/// Nothing is trimmed: a name with a space is refused, not silently changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Shortest accepted name, in characters.
    pub const MIN_CHARS: usize = 3;
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Accepts `name` if it follows the rules above.
    pub fn parse(name: &str) -> Result<Self, CredentialError> {
        // Count characters, not bytes: a multi-byte character is one refused character.
        let chars = name.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(CredentialError::UsernameTooShort(chars));
        }
        if chars > Self::MAX_CHARS {
            return Err(CredentialError::UsernameTooLong(chars));
        }
        if let Some(bad) = name.chars().find(|c| !is_username_char(*c)) {
            return Err(CredentialError::UsernameCharacter(bad));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(CredentialError::UsernameStart);
        }
        let key = name.to_ascii_lowercase();
        if key.starts_with("guest") || key == crate::values::Nickname::ANONYMOUS {
            return Err(CredentialError::UsernameReserved);
        }
        Ok(Self(name.to_owned()))
    }

    /// The key that makes names unique regardless of case: the name in ASCII lowercase
    /// (exact, since every character is ASCII).
    pub fn key(&self) -> UsernameKey {
        UsernameKey(self.0.to_ascii_lowercase())
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as typed, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for Username {
    type Error = CredentialError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name)
    }
}

impl From<Username> for String {
    fn from(name: Username) -> Self {
        name.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a message's author name is a guest's rather than an account's: guests are
/// named `guest-…` (see [`crate::guest`]), the tutorial's nameless clients wrote as
/// `anonymous`, and no [`Username`] can take either form.
pub fn is_guest_name(author: &str) -> bool {
    author.starts_with(crate::guest::GuestName::PREFIX)
        || author == crate::values::Nickname::ANONYMOUS
}

/// Whether `c` may appear in a [`Username`].
fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// A username's case-folded form: what the store keeps unique and looks accounts up by.
/// Only made from a [`Username`], so it always follows the same rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsernameKey(String);

impl UsernameKey {
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: [`Self::MIN_CHARS`] to [`Self::MAX_CHARS`] characters (not bytes),
/// with no composition rules (length is what makes a password strong; rules only make it
/// harder to remember). Kept as typed: no trimming, no normalization.
///
/// `Debug` prints `Password(…)`, never the password, so it cannot reach a log by accident;
/// there is no `Display` and no `Serialize`. The only way to read it is
/// [`Self::expose`], named so that every use stands out in review.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN_CHARS: usize = 8;
    /// Longest accepted password, in characters: enough for any passphrase, and a bound on
    /// what a hash has to chew on.
    pub const MAX_CHARS: usize = 128;

    /// Accepts `password` if it has [`Self::MIN_CHARS`] to [`Self::MAX_CHARS`] characters.
    pub fn parse(password: String) -> Result<Self, CredentialError> {
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(CredentialError::PasswordTooShort(chars));
        }
        if chars > Self::MAX_CHARS {
            return Err(CredentialError::PasswordTooLong(chars));
        }
        Ok(Self(password))
    }

    /// The password itself, for the hash function and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Password {
    type Error = CredentialError;

    fn try_from(password: String) -> Result<Self, Self::Error> {
        Self::parse(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_kept_as_typed_and_keyed_in_lowercase() {
        let vic = Username::parse("Vic.Ng_2-b").unwrap();
        assert_eq!(vic.as_str(), "Vic.Ng_2-b");
        assert_eq!(vic.to_string(), "Vic.Ng_2-b");
        assert_eq!(vic.key().as_str(), "vic.ng_2-b");
        assert_eq!(
            Username::parse("VIC").unwrap().key(),
            Username::parse("vic").unwrap().key()
        );
        assert_ne!(
            Username::parse("VIC").unwrap(),
            Username::parse("vic").unwrap()
        );
    }

    #[test]
    fn a_username_has_3_to_32_characters() {
        assert_eq!(
            Username::parse(""),
            Err(CredentialError::UsernameTooShort(0))
        );
        assert_eq!(
            Username::parse("ab"),
            Err(CredentialError::UsernameTooShort(2))
        );
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(33)),
            Err(CredentialError::UsernameTooLong(33))
        );
    }

    #[test]
    fn a_username_refuses_whitespace_controls_and_non_ascii_letters() {
        for (name, bad) in [
            ("ana bo", ' '),
            (" ana", ' '),
            ("ana\t", '\t'),
            ("an\u{0}a", '\u{0}'),
            ("ana\u{200b}", '\u{200b}'), // zero-width space
            ("bö_b", 'ö'),
            ("\u{430}na", '\u{430}'),      // Cyrillic a
            ("ana\u{2024}bo", '\u{2024}'), // one dot leader, looks like '.'
            ("ana/bo", '/'),
            ("ana@bo", '@'),
        ] {
            assert_eq!(
                Username::parse(name),
                Err(CredentialError::UsernameCharacter(bad)),
                "{name:?}"
            );
        }
    }

    #[test]
    fn a_username_starts_with_a_letter_or_a_digit() {
        for name in ["_ana", "-ana", ".ana"] {
            assert_eq!(
                Username::parse(name),
                Err(CredentialError::UsernameStart),
                "{name}"
            );
        }
        assert!(Username::parse("7ana").is_ok());
        assert!(Username::parse("ana.").is_ok());
    }

    #[test]
    fn guest_names_are_reserved_in_any_case() {
        for name in [
            "guest",
            "guest-3f2a",
            "Guest7",
            "GUESTS",
            "anonymous",
            "Anonymous",
        ] {
            assert_eq!(
                Username::parse(name),
                Err(CredentialError::UsernameReserved),
                "{name}"
            );
        }
        assert!(Username::parse("theguest").is_ok());
        assert!(is_guest_name("guest-3f2a") && is_guest_name("anonymous"));
        assert!(!is_guest_name("vic") && !is_guest_name("Guest"));
    }

    #[test]
    fn username_errors_name_the_rule() {
        assert_eq!(
            CredentialError::UsernameCharacter(' ').to_string(),
            "username may contain only letters A-Z, digits 0-9 and _ - . (found ' ')"
        );
        assert_eq!(
            CredentialError::UsernameTooShort(2).to_string(),
            "username too short: 2 characters, at least 3"
        );
    }

    #[test]
    fn a_username_deserializes_only_if_valid() {
        let ok: Username = serde_json::from_str("\"Vic\"").unwrap();
        assert_eq!(ok.as_str(), "Vic");
        assert!(serde_json::from_str::<Username>("\"v\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"Vic\"");
    }

    #[test]
    fn a_password_has_8_to_128_characters_counted_not_bytes() {
        assert_eq!(
            Password::parse("1234567".into()),
            Err(CredentialError::PasswordTooShort(7))
        );
        assert!(Password::parse("12345678".into()).is_ok());
        // 8 characters, 16 bytes.
        assert!(Password::parse("éééééééé".into()).is_ok());
        assert!(Password::parse("€".repeat(128)).is_ok());
        assert_eq!(
            Password::parse("a".repeat(129)),
            Err(CredentialError::PasswordTooLong(129))
        );
        // No composition rules, nothing trimmed.
        let spaced = Password::parse("  all lowercase  ".into()).unwrap();
        assert_eq!(spaced.expose(), "  all lowercase  ");
    }

    #[test]
    fn a_password_never_shows_in_debug() {
        let password = Password::parse("hunter2hunter2".into()).unwrap();
        let printed = format!("{password:?} {:?}", Some(&password));
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(format!("{password:?}"), "Password(…)");
    }
}
