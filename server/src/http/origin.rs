//! The Origin allow-list of the Socket.IO endpoint: a browser page may open a socket only
//! if it comes from the site's own origin or one allowed with `--allow-origin`. Requests
//! without an `Origin` header (non-browser clients) are not checked: the check exists to stop
//! other sites' pages from using a visitor's browser against this server.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origins allowed besides the site's own.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins {
    any: bool,
    origins: Arc<[String]>,
}

impl AllowedOrigins {
    /// From `--allow-origin` values (`*` allows any; trailing slashes are ignored).
    pub fn new(values: &[String]) -> Self {
        let normalized: Vec<String> = values
            .iter()
            .map(|v| v.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .collect();
        Self {
            any: normalized.iter().any(|v| v == "*"),
            origins: normalized.into(),
        }
    }

    /// Whether a request with this `Origin`, sent to this `Host`, may proceed.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.any || self.origins.contains(&origin) {
            return true;
        }
        // Same origin: the Origin's host[:port] is the Host the request was sent to.
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
    }
}

/// Why a form post was refused: answered 403 with this text.
#[derive(Debug, thiserror::Error)]
pub enum FormRefused {
    /// The post carried no `Origin` header.
    #[error("this form must be posted from the chat's own page (no Origin header)")]
    NoOrigin,
    /// The post came from another site.
    #[error("this form must be posted from the chat's own page, not from {0}")]
    OtherOrigin(String),
}

impl IntoResponse for FormRefused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, self.to_string()).into_response()
    }
}

impl AllowedOrigins {
    /// Checks a form post (the account forms): its `Origin` must be present and be the
    /// site's own or one listed by `--allow-origin` (`*` is not enough: it would let any
    /// site sign a visitor in or out).
    pub fn check_form(&self, headers: &axum::http::HeaderMap) -> Result<(), FormRefused> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return Err(FormRefused::NoOrigin);
        };
        let listed = Self {
            any: false,
            origins: self.origins.clone(),
        };
        if listed.allows(origin, host) {
            return Ok(());
        }
        tracing::debug!(origin, "refused a form posted from another origin");
        Err(FormRefused::OtherOrigin(origin.to_owned()))
    }
}

/// Refuses Socket.IO requests from origins not allowed (403 with the reason).
pub async fn check_origin(
    State(allowed): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    if !super::is_socket_io(&request) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let Some(origin) = headers.get(header::ORIGIN) else {
        return next.run(request).await;
    };
    let origin = origin.to_str().unwrap_or("");
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if allowed.allows(origin, host) {
        return next.run(request).await;
    }
    tracing::debug!(origin, "refused a socket from another origin");
    (
        StatusCode::FORBIDDEN,
        format!(
            "origin {origin} is not allowed to connect (the server allows it with --allow-origin)"
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_is_allowed_and_others_are_not() {
        let allowed = AllowedOrigins::new(&[]);
        assert!(allowed.allows("http://127.0.0.1:3000", Some("127.0.0.1:3000")));
        assert!(allowed.allows("https://Chat.Example", Some("chat.example")));
        assert!(!allowed.allows("http://evil.example", Some("127.0.0.1:3000")));
        assert!(!allowed.allows("http://127.0.0.1:3001", Some("127.0.0.1:3000")));
        assert!(!allowed.allows("null", Some("127.0.0.1:3000")));
        assert!(!allowed.allows("http://127.0.0.1:3000", None));
    }

    #[test]
    fn listed_origins_and_the_wildcard_are_allowed() {
        let allowed = AllowedOrigins::new(&["https://app.example/".into()]);
        assert!(allowed.allows("https://app.example", Some("api.example")));
        assert!(!allowed.allows("https://other.example", Some("api.example")));
        assert!(AllowedOrigins::new(&["*".into()]).allows("https://x.example", None));
    }
}
