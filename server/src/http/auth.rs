//! The account forms' endpoints: `POST /auth/sign-up`, `/auth/sign-in`, `/auth/sign-out`
//! and `/auth/password`, posted as plain HTML forms (they work before the WASM has loaded
//! and with JavaScript off) or by scripts.
//!
//! A browser's form post (one that accepts HTML) is answered with a `303` back to the page:
//! to `/` on success, with the session cookie set or cleared, or to `/?auth=<form>&error=
//! <code>` on a refusal, which the page turns into a message. Anything else (a client that
//! asks for JSON) gets the status that says what happened (`400`, `401`, `403`, `409`,
//! `429` with `Retry-After`, `503`) and `{ "error": … }`, or `{ "username": … }`.
//!
//! Every post must come from this site's own page or an origin allowed with
//! `--allow-origin` (the `Origin` header is required and checked; `*` does not extend to
//! these forms): another site cannot sign a visitor in or out.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;
use socketioxide::SocketIo;

use crate::accounts::cookie::SessionCookie;
use crate::accounts::service::retry_after_secs;
use crate::accounts::{Accounts, AuthError, Started};
use crate::adapter::ChatAdapter;
use crate::chat::{session_room, user_room};
use crate::domain::CredentialError;
use crate::http::origin::AllowedOrigins;

/// What the endpoints share.
#[derive(Clone)]
pub struct AuthRoutes {
    /// The account service.
    pub accounts: Arc<Accounts>,
    /// To disconnect the sockets of a session that ended, on every worker and host.
    pub io: SocketIo<ChatAdapter>,
    /// Who may post the forms.
    pub origins: AllowedOrigins,
}

/// The routes.
pub fn routes(state: AuthRoutes) -> Router {
    Router::new()
        .route("/auth/sign-up", post(sign_up))
        .route("/auth/sign-in", post(sign_in))
        .route("/auth/sign-out", post(sign_out))
        .route("/auth/password", post(change_password))
        .with_state(state)
}

/// The sign-up and sign-in forms.
#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// The password form.
#[derive(Deserialize)]
struct PasswordChange {
    current: String,
    new: String,
}

/// Which form was posted: where its error is shown.
#[derive(Clone, Copy)]
enum FormName {
    SignUp,
    SignIn,
    SignOut,
    Password,
}

impl FormName {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign-up",
            Self::SignIn => "sign-in",
            Self::SignOut => "sign-out",
            Self::Password => "password",
        }
    }
}

async fn sign_up(
    State(state): State<AuthRoutes>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    let form_name = FormName::SignUp;
    if let Err(refused) = state.origins.check_form(&headers) {
        return refused.into_response();
    }
    let started = state
        .accounts
        .sign_up(&form.username, form.password, Some(peer.ip()))
        .await;
    answer(&state, &headers, form_name, started)
}

async fn sign_in(
    State(state): State<AuthRoutes>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    if let Err(refused) = state.origins.check_form(&headers) {
        return refused.into_response();
    }
    let started = state
        .accounts
        .sign_in(&form.username, form.password, Some(peer.ip()))
        .await;
    answer(&state, &headers, FormName::SignIn, started)
}

async fn sign_out(State(state): State<AuthRoutes>, headers: HeaderMap) -> Response {
    if let Err(refused) = state.origins.check_form(&headers) {
        return refused.into_response();
    }
    let cookie = SessionCookie::from_headers(&headers);
    match state.accounts.sign_out(&cookie).await {
        Ok(ended) => {
            if let Some(hash) = ended {
                disconnect(&state.io, session_room(&hash)).await;
            }
            let clear = state.accounts.cookie().clear();
            if wants_json(&headers) {
                (
                    [(header::SET_COOKIE, clear)],
                    Json(json!({ "signedOut": true })),
                )
                    .into_response()
            } else {
                see_other("/", Some(clear), None)
            }
        }
        Err(error) => refusal(&headers, FormName::SignOut, &error),
    }
}

async fn change_password(
    State(state): State<AuthRoutes>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<PasswordChange>,
) -> Response {
    if let Err(refused) = state.origins.check_form(&headers) {
        return refused.into_response();
    }
    let cookie = SessionCookie::from_headers(&headers);
    let started = state
        .accounts
        .change_password(&cookie, form.current, form.new, Some(peer.ip()))
        .await;
    if let Ok(started) = &started {
        // Every session of the account ended: so do its sockets, everywhere (this
        // browser's reconnect with the new cookie once the page reloads).
        disconnect(&state.io, user_room(&started.username)).await;
    }
    answer(&state, &headers, FormName::Password, started)
}

/// Disconnects every socket in `room`, on every worker and host.
async fn disconnect(io: &SocketIo<ChatAdapter>, room: String) {
    if let Err(error) = io.to(room).disconnect().await {
        tracing::warn!(%error, "disconnecting a session's sockets did not reach every server");
    }
}

/// A started session's answer (the cookie set), or the refusal's.
fn answer(
    state: &AuthRoutes,
    headers: &HeaderMap,
    form: FormName,
    started: Result<Started, AuthError>,
) -> Response {
    match started {
        Ok(started) => {
            tracing::info!(
                account = started.account.0,
                form = form.as_str(),
                "signed in"
            );
            let cookie = state.accounts.cookie().set(&started.session);
            if wants_json(headers) {
                (
                    [(header::SET_COOKIE, cookie)],
                    Json(json!({ "username": started.username })),
                )
                    .into_response()
            } else {
                see_other("/", Some(cookie), None)
            }
        }
        Err(error) => refusal(headers, form, &error),
    }
}

/// The answer to a refused form.
fn refusal(headers: &HeaderMap, form: FormName, error: &AuthError) -> Response {
    let retry_after = match error {
        AuthError::TooManyAttempts(wait) => Some(retry_after_secs(*wait)),
        _ => None,
    };
    if let AuthError::Unavailable(source) = error {
        tracing::warn!(error = %source, form = form.as_str(), "an account form failed");
    }
    if wants_json(headers) {
        let mut response =
            (status(error), Json(json!({ "error": error.to_string() }))).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return response;
    }
    let mut location = format!("/?auth={}&error={}", form.as_str(), code(error));
    if let Some(secs) = retry_after {
        location.push_str(&format!("&retry={secs}"));
    }
    see_other(&location, None, retry_after)
}

/// The status that says what happened.
fn status(error: &AuthError) -> StatusCode {
    match error {
        AuthError::Invalid(_) => StatusCode::BAD_REQUEST,
        AuthError::Taken => StatusCode::CONFLICT,
        AuthError::WrongCredentials | AuthError::NotSignedIn => StatusCode::UNAUTHORIZED,
        AuthError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The error's code in the page's query (the page words it: `app::AuthNotice`).
fn code(error: &AuthError) -> &'static str {
    match error {
        AuthError::Invalid(
            CredentialError::PasswordTooShort(_) | CredentialError::PasswordTooLong(_),
        ) => "password-rules",
        AuthError::Invalid(CredentialError::UsernameReserved) => "username-reserved",
        AuthError::Invalid(_) => "username-rules",
        AuthError::Taken => "taken",
        AuthError::WrongCredentials => "wrong",
        AuthError::NotSignedIn => "signed-out",
        AuthError::TooManyAttempts(_) => "too-many",
        AuthError::Unavailable(_) => "unavailable",
    }
}

/// Whether the client asked for JSON rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"))
}

/// `303 See Other` to `location`, with a cookie to set and a `Retry-After`.
fn see_other(location: &str, cookie: Option<HeaderValue>, retry_after: Option<u64>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie {
        headers.insert(header::SET_COOKIE, cookie);
    }
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
