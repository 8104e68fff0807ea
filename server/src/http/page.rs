//! The chat page: the Leptos app rendered on the server, then hydrated by its WASM bundle.

use axum::Router;
use axum::routing::get;
use leptos::config::LeptosOptions;

/// The route of the page; `settings` tell the page's socket.io client how to behave.
pub fn routes<S: Clone + Send + Sync + 'static>(
    options: LeptosOptions,
    settings: app::ClientSettings,
) -> Router<S> {
    let reload_port = options.reload_port;
    let render = leptos_axum::render_app_to_stream_with_context(
        move || super::security::add_page_policy(reload_port),
        move || app::shell(options.clone(), settings),
    );
    Router::new().route("/", get(render))
}
