//! The top bar's connection controls: the connection indicator and the tutorial's
//! Disconnect/Connect toggle.

use leptos::prelude::*;

use crate::chat::Chat;

/// Shows connected / reconnecting / offline.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let state = move || chat.connection.get();
    view! {
        <span class="status" data-state=move || state().key() role="status">
            <span class="dot" aria-hidden="true"></span>
            {move || state().label()}
        </span>
    }
}

/// Disconnects when connected (or retrying), connects when offline.
#[component]
pub fn ConnectionToggle() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let active = move || chat.connection.get().is_active();
    view! {
        <button type="button" id="toggle-btn" class="toggle" on:click=move |_| chat.toggle_connection()>
            {move || if active() { "Disconnect" } else { "Connect" }}
        </button>
    }
}
