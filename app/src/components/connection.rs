//! The top bar's controls: the nickname field, the connection indicator and the tutorial's
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

/// The nickname this page writes as: edit and press Enter (or leave the field) to change it.
#[component]
pub fn NicknameField() -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <form class="nickname" on:submit=move |ev: leptos::ev::SubmitEvent| ev.prevent_default()>
            <label for="nickname">"Nickname"</label>
            <input id="nickname" maxlength="32" autocomplete="nickname"
                prop:value=move || chat.nickname.get()
                on:change=move |ev| chat.set_nickname(&event_target_value(&ev))/>
            {move || chat.nickname_error.get().map(|e| view! { <span class="badge error" role="alert">{e}</span> })}
        </form>
    }
}
