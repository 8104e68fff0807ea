//! The composer: a labelled input and Send, fixed at the bottom. Enter sends; blank text is
//! not sent; the input is cleared after sending. Until the page is interactive (the server
//! render, and while the WASM loads) both are disabled and the input says "connecting…":
//! the form has no action without the WASM, and typing into it would be lost.

use leptos::html::Input;
use leptos::prelude::*;

use crate::chat::Chat;

/// The message input.
#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let input = NodeRef::<Input>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(field) = input.get() else { return };
        if chat.send(&field.value()) {
            field.set_value("");
        }
        let _ = field.focus();
    };
    view! {
        <form id="form" class="composer" on:submit=submit>
            {move || chat.private_to.get().map(|to| view! {
                <span class="private-to">
                    "Private to " <strong>{to}</strong>
                    <button type="button" class="link" aria-label="Back to everyone"
                        on:click=move |_| chat.private_to.set(None)>"✕"</button>
                </span>
            })}
            <label for="input" class="visually-hidden">"Message"</label>
            <input id="input" node_ref=input autocomplete="off" maxlength="4096"
                placeholder=move || match (chat.ready.get(), chat.can_post.get()) {
                    (false, _) => "connecting…",
                    (true, true) => "Type a message…",
                    (true, false) => "Guests can read here; sign in to post",
                }
                disabled=move || !chat.ready.get() || !chat.can_post.get()
                on:input=move |ev| chat.typing_changed(!event_target_value(&ev).is_empty())/>
            <button type="submit" disabled=move || !chat.ready.get() || !chat.can_post.get()>"Send"</button>
        </form>
    }
}
