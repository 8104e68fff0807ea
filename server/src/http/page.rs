//! The chat page: the Leptos app rendered on the server, then hydrated by its WASM bundle.
//! Each render knows its viewer: the account the request's session cookie signs in (or a
//! guest), and any refusal the account forms redirected back with; a cookie whose session
//! has ended is cleared in the same response.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;

use crate::accounts::Accounts;
use crate::accounts::cookie::SessionCookie;

/// What rendering the page needs.
#[derive(Clone)]
struct PageState {
    options: LeptosOptions,
    settings: app::ClientSettings,
    accounts: Arc<Accounts>,
}

/// The route of the page; `settings` tell the page's socket.io client how to behave.
pub fn routes(
    options: LeptosOptions,
    settings: app::ClientSettings,
    accounts: Arc<Accounts>,
) -> Router {
    let state = PageState {
        options,
        settings,
        accounts,
    };
    Router::new().route("/", get(render)).with_state(state)
}

async fn render(State(page): State<PageState>, request: Request) -> Response {
    let cookie = SessionCookie::from_headers(request.headers());
    let signed_in = match page.accounts.signed_in(&cookie).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            // The page still renders (as a guest's); its socket will say why it cannot
            // sign in.
            tracing::warn!(%error, "a page's session could not be checked");
            None
        }
    };
    let stale_cookie = signed_in.is_none() && !matches!(cookie, SessionCookie::Absent);
    let viewer = app::Viewer {
        username: signed_in.map(|session| session.username),
    };
    let notice = request.uri().query().and_then(app::AuthNotice::from_query);
    let reload_port = page.options.reload_port;
    let PageState {
        options, settings, ..
    } = page.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            super::security::add_page_policy(reload_port);
            provide_context(viewer.clone());
            provide_context(notice.clone());
        },
        move || app::shell(options.clone(), settings),
    );
    let mut response = render(request).await.into_response();
    if stale_cookie {
        response
            .headers_mut()
            .append(header::SET_COOKIE, page.accounts.cookie().clear());
    }
    // Who is signed in is in the page: no shared cache may keep it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    response
}
