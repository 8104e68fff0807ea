//! Who is looking at the page, as the server knows it from the session cookie, and what the
//! account forms last said. The server renders both into the page ([`Viewer`] in a
//! `<meta>` tag, [`AuthNotice`] from the query the forms redirect to), and the browser reads
//! the same values back before hydrating, so both renders agree. Nothing here grants
//! anything: the server decides who a socket is from the cookie, whatever this says.

/// The `<meta>` name carrying the signed-in username (empty for a guest).
pub const VIEWER_META: &str = "chat-viewer";

/// Who the page is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    /// The signed-in account's username; `None` for a guest.
    pub username: Option<String>,
}

impl Viewer {
    /// The viewer the server put in the page (browser only).
    #[cfg(feature = "hydrate")]
    pub fn from_page() -> Self {
        let username = crate::chat::dom::meta_content(VIEWER_META).filter(|name| !name.is_empty());
        Self { username }
    }
}

/// A form's refusal, from the page's query (`?auth=sign-in&error=wrong`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthNotice {
    /// Which form: `sign-up`, `sign-in`, `sign-out` or `password`.
    pub form: String,
    /// The error's code.
    pub error: String,
    /// Seconds to wait, for `too-many`.
    pub retry_after: Option<u64>,
}

impl AuthNotice {
    /// Reads a query string (with or without its `?`); `None` when it holds no form error.
    pub fn from_query(query: &str) -> Option<Self> {
        let mut form = None;
        let mut error = None;
        let mut retry_after = None;
        for pair in query.trim_start_matches('?').split('&') {
            match pair.split_once('=') {
                Some(("auth", value)) => form = Some(value),
                Some(("error", value)) => error = Some(value),
                Some(("retry", value)) => retry_after = value.parse().ok(),
                _ => {}
            }
        }
        let known_form = ["sign-up", "sign-in", "sign-out", "password"];
        let form = form.filter(|f| known_form.contains(f))?;
        Some(Self {
            form: form.to_owned(),
            error: error?.to_owned(),
            retry_after,
        })
    }

    /// What the user reads. Only known codes are worded; anything else in a crafted link
    /// says nothing more than that the form failed.
    pub fn text(&self) -> String {
        match self.error.as_str() {
            "taken" => "That username is taken. Choose another.".into(),
            "wrong" => "Wrong username or password.".into(),
            "too-many" => match self.retry_after {
                Some(secs) => format!("Too many attempts. Try again in {secs} s."),
                None => "Too many attempts. Try again in a minute.".into(),
            },
            "username-rules" => "A username has 3 to 32 characters: letters A–Z, digits and _ - . \
                                 (starting with a letter or a digit)."
                .into(),
            "username-reserved" => {
                "Usernames starting with \u{201c}guest\u{201d} (and \u{201c}anonymous\u{201d}) are kept for guests.".into()
            }
            "password-rules" => "A password has 8 to 128 characters.".into(),
            "signed-out" => "You are not signed in (your session ended). Sign in again.".into(),
            "unavailable" => "Accounts are unavailable right now. Try again shortly.".into(),
            _ => "That did not work. Try again.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_error_is_read_from_the_query() {
        let notice = AuthNotice::from_query("?auth=sign-in&error=too-many&retry=42").unwrap();
        assert_eq!(notice.form, "sign-in");
        assert_eq!(notice.text(), "Too many attempts. Try again in 42 s.");
        assert_eq!(AuthNotice::from_query(""), None);
        assert_eq!(AuthNotice::from_query("?auth=elsewhere&error=wrong"), None);
        let crafted = AuthNotice::from_query("auth=sign-up&error=<script>").unwrap();
        assert_eq!(crafted.text(), "That did not work. Try again.");
    }
}
