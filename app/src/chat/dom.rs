//! The few browser facilities the chat uses besides the socket: localStorage, the tab's
//! visibility, timers and the server's `<meta>` settings. Browser only.

use leptos::prelude::*;

/// The page's localStorage (none when the browser refuses it).
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Whether the tab is hidden (another tab in front, window minimised).
pub fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Resolves after `ms` milliseconds (a `setTimeout`).
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.min(i32::MAX as u32) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The number in the page's `<meta name="{name}">`, if there is one.
pub fn meta_number(name: &str) -> Option<u32> {
    meta_content(name).and_then(|value| value.parse().ok())
}

/// The content of the page's `<meta name="{name}">`, if there is one.
pub fn meta_content(name: &str) -> Option<String> {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector(&format!("meta[name=\"{name}\"]"))
                .ok()
                .flatten()
        })
        .and_then(|meta| meta.get_attribute("content"))
}

/// The page's query string (`?…`, or empty).
pub fn query_string() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// Clears the unread count when the tab becomes visible again.
pub fn watch_visibility(chat: super::Chat) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        if !page_hidden() {
            chat.unread.set(0);
        }
    });
    let _ = document.add_event_listener_with_callback(
        "visibilitychange",
        wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
    );
    // The page's own lifetime: it listens as long as the page is open.
    listener.forget();
}
