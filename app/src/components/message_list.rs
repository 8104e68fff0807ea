//! The message list: stored messages in offset order (recovered ones marked, after a
//! divider), then own messages still waiting for their ack. Text is rendered as text, never
//! as HTML. Screen readers hear new messages (aria-live). The view follows new messages
//! while the reader is at the bottom.

use leptos::prelude::*;

use crate::chat::{Chat, OutgoingStatus, Row};

/// The list of messages and pending own messages.
#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<Chat>();
    follow_new_messages(chat);
    view! {
        <ul id="messages" class="messages" aria-live="polite" aria-label="Messages">
            <For each=move || chat.rows.get() key=Row::key let:row>
                <MessageRow row/>
            </For>
            <For each=move || chat.outbox.get() key=|o| (o.client_offset.clone(), o.status.clone()) let:outgoing>
                <li class="message own" class:pending=matches!(outgoing.status, OutgoingStatus::Sending)
                    class:failed=matches!(outgoing.status, OutgoingStatus::Failed(_))
                    data-client-offset=outgoing.client_offset.clone()>
                    <span class="text">{outgoing.text.clone()}</span>
                    {match outgoing.status.clone() {
                        OutgoingStatus::Sending => view! { <span class="badge">"sending…"</span> }.into_any(),
                        OutgoingStatus::Failed(reason) => {
                            let key = outgoing.client_offset.clone();
                            let key2 = key.clone();
                            view! {
                                <span class="badge error">"failed: " {reason}</span>
                                <button type="button" class="link" on:click=move |_| chat.retry(&key)>"Retry"</button>
                                <button type="button" class="link" on:click=move |_| chat.dismiss(&key2)>"Dismiss"</button>
                            }.into_any()
                        }
                    }}
                </li>
            </For>
        </ul>
    }
}

/// One row: a message, or the recovered-messages divider.
#[component]
fn MessageRow(row: Row) -> impl IntoView {
    match row {
        Row::Message { offset, text, author, created_at, recovered } => view! {
            <li class="message" class:recovered=recovered data-offset=offset>
                <span class="meta">
                    <span class="author">{author}</span>
                    <time class="time">{clock_time(created_at)}</time>
                </span>
                <span class="text">{text}</span>
                {recovered.then(|| view! { <span class="badge recovered-badge">"recovered"</span> })}
            </li>
        }
        .into_any(),
        Row::Notice { text, .. } => view! { <li class="notice">{text}</li> }.into_any(),
        Row::RecoveredDivider { count, .. } => {
            let noun = if count == 1 { "message" } else { "messages" };
            view! {
                <li class="divider" role="separator">{format!("{count} new {noun} while you were offline")}</li>
            }
            .into_any()
        }
    }
}

/// `HH:MM` of a unix-milliseconds time, in the reader's time zone (empty when unknown).
fn clock_time(millis: i64) -> String {
    if millis <= 0 {
        return String::new();
    }
    #[cfg(feature = "hydrate")]
    let (hours, minutes) = {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64));
        (date.get_hours(), date.get_minutes())
    };
    #[cfg(not(feature = "hydrate"))]
    let (hours, minutes) = ((millis / 3_600_000) % 24, (millis / 60_000) % 60);
    format!("{hours:02}:{minutes:02}")
}

/// Scrolls to the newest message when rows are added, if the reader was at the bottom.
fn follow_new_messages(chat: Chat) {
    Effect::new(move |previous: Option<(usize, usize)>| {
        let counts = (chat.rows.with(Vec::len), chat.outbox.with(Vec::len));
        #[cfg(feature = "hydrate")]
        if previous.is_some_and(|p| p != counts) {
            scroll_to_bottom_if_near();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = previous;
        counts
    });
}

#[cfg(feature = "hydrate")]
fn scroll_to_bottom_if_near() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(body) = window.document().and_then(|d| d.document_element()) else {
        return;
    };
    let viewport = window
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    let bottom = window.scroll_y().unwrap_or(0.0) + viewport;
    let height = f64::from(body.scroll_height());
    // Near the bottom before this render added rows (a row is ~40px; allow a few).
    if height - bottom < 200.0 {
        window.scroll_to_with_x_and_y(0.0, height);
    }
}
