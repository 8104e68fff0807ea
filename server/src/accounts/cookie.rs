//! The session cookie: how a browser carries its [`SessionId`] to every page and every
//! socket handshake (websocket and long-polling alike), where no script can read it.
//!
//! `HttpOnly` keeps it from the page's JavaScript (an injected script cannot steal it);
//! `SameSite=Lax` keeps other sites from sending it with their POSTs and their sockets
//! (the Origin allow-list checks those too); `Secure` is added with `--secure-cookies`,
//! for a server reached over HTTPS (directly or through a proxy that terminates it).
//! Cookies ignore ports, so one sign-in covers every worker port of a host.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};

use super::session_id::SessionId;

/// The cookie's name.
pub const COOKIE_NAME: &str = "chat_session";

/// What a request's cookies say about a session.
#[derive(Debug)]
pub enum SessionCookie {
    /// No session cookie: a guest.
    Absent,
    /// A cookie that is not a session id this server could have written (forged or
    /// corrupt): treated as no session.
    Malformed,
    /// A well-formed id, still to be looked up.
    Present(SessionId),
}

impl SessionCookie {
    /// Reads the session cookie from `headers` (every `Cookie` header, every pair).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE_NAME)
            .map(|(_, value)| value.trim_matches('"'));
        match value {
            None => Self::Absent,
            Some(value) => SessionId::from_cookie(value).map_or(Self::Malformed, Self::Present),
        }
    }

    /// The id, if there is a well-formed one.
    pub fn id(&self) -> Option<&SessionId> {
        match self {
            Self::Present(id) => Some(id),
            _ => None,
        }
    }
}

/// How the cookie is written.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Add `Secure` (the site is served over HTTPS).
    pub secure: bool,
    /// How long the browser keeps it: the session's lifetime.
    pub max_age: Duration,
}

impl CookiePolicy {
    /// `Set-Cookie` for a new session.
    pub fn set(&self, id: &SessionId) -> HeaderValue {
        self.header(&id.to_cookie(), self.max_age.as_secs())
    }

    /// `Set-Cookie` that removes the cookie (signed out, or a session that ended).
    pub fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        );
        let mut header =
            HeaderValue::from_str(&cookie).expect("a base64url id makes a valid header value");
        header.set_sensitive(true);
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        headers
    }

    #[test]
    fn the_session_is_found_among_other_cookies() {
        let id = SessionId::generate().unwrap();
        let other = format!("theme=dark; {COOKIE_NAME}={}", id.to_cookie());
        let found = SessionCookie::from_headers(&headers(&["a=1", &other]));
        assert_eq!(found.id(), Some(&id));
        assert!(matches!(
            SessionCookie::from_headers(&headers(&[])),
            SessionCookie::Absent
        ));
        assert!(matches!(
            SessionCookie::from_headers(&headers(&[&format!("{COOKIE_NAME}=forged")])),
            SessionCookie::Malformed
        ));
    }

    #[test]
    fn the_cookie_is_http_only_and_lax_and_secure_on_request() {
        let id = SessionId::generate().unwrap();
        let policy = CookiePolicy {
            secure: false,
            max_age: Duration::from_secs(60),
        };
        let set = policy.set(&id);
        let set = set.to_str().unwrap();
        assert!(set.starts_with(&format!("{COOKIE_NAME}={}", id.to_cookie())));
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age=60")
        );
        assert!(!set.contains("Secure"));
        let secure = CookiePolicy {
            secure: true,
            ..policy
        };
        assert!(secure.set(&id).to_str().unwrap().ends_with("; Secure"));
        assert!(policy.clear().to_str().unwrap().contains("Max-Age=0"));
    }
}
