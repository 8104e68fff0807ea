//! The chat page: the Leptos app rendered on the server, then hydrated by its WASM bundle.

use axum::Router;
use axum::routing::get;
use leptos::config::LeptosOptions;

/// The route of the page.
pub fn routes<S: Clone + Send + Sync + 'static>(options: LeptosOptions) -> Router<S> {
    let render =
        leptos_axum::render_app_to_stream_with_context(|| {}, move || app::shell(options.clone()));
    Router::new().route("/", get(render))
}
