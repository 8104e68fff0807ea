//! The message list: stored messages in offset order (recovered ones marked, after a
//! divider), then own messages still waiting for their ack. Text is rendered as text, never
//! as HTML. Screen readers hear new messages (aria-live). Where the view goes when rows
//! are added is [`super::scroll`]'s.

use leptos::prelude::*;

use super::scroll::{follow_new_messages, jump_to_bottom};
use crate::chat::{Chat, OutgoingStatus, Row};

/// The list of messages and pending own messages.
#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<Chat>();
    follow_new_messages(chat);
    view! {
        <Show when=move || chat.has_older.get()>
            <button type="button" class="load-older" disabled=move || chat.loading_older.get()
                on:click=move |_| chat.load_older()>
                {move || if chat.loading_older.get() { "Loading…" } else { "Load older messages" }}
            </button>
        </Show>
        <Show when=move || { chat.new_below.get() > 0 }>
            <button type="button" class="new-below" on:click=move |_| jump_to_bottom(chat)>
                {move || match chat.new_below.get() {
                    1 => "1 new message ↓".to_owned(),
                    n => format!("{n} new messages ↓"),
                }}
            </button>
        </Show>
        <ul id="messages" class="messages" aria-live="polite" aria-label="Messages">
            <For each=move || chat.rows.get() key=Row::key let:row>
                <MessageRow row/>
            </For>
            <For each=move || chat.outbox.get() key=|o| (o.client_offset.clone(), o.status.clone()) let:outgoing>
                <li class="message own" class:pending=matches!(outgoing.status, OutgoingStatus::Sending)
                    class:failed=matches!(outgoing.status, OutgoingStatus::Failed { .. })
                    data-client-offset=outgoing.client_offset.clone()>
                    {outgoing.to.clone().map(|to| view! { <span class="meta">"to " <span class="recipient">{to}</span></span> })}
                    <span class="text">{outgoing.text.clone()}</span>
                    {match outgoing.status.clone() {
                        OutgoingStatus::Sending => view! { <span class="badge">"sending…"</span> }.into_any(),
                        OutgoingStatus::Failed { reason, retryable } => {
                            let key = outgoing.client_offset.clone();
                            let key2 = key.clone();
                            // A refusal of the message itself would come back the same: no Retry.
                            view! {
                                <span class="badge error">"failed: " {reason}</span>
                                {retryable.then(|| view! {
                                    <button type="button" class="link" on:click=move |_| chat.retry(&key)>"Retry"</button>
                                })}
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
        Row::Message {
            offset,
            text,
            author,
            created_at,
            recovered,
        } => {
            // Accounts' names are verified by the server; a guest's is anyone's to pick.
            let guest = chat_protocol::accounts::is_guest_name(&author);
            view! {
            <li class="message" class:recovered=recovered data-offset=offset>
                <span class="meta">
                    <span class="author" class:guest=guest class:verified=!guest>{author}</span>
                    {guest.then(|| view! { <span class="guest-badge">"guest"</span> })}
                    <time class="time">{clock_time(created_at)}</time>
                </span>
                <span class="text">{text}</span>
                {recovered.then(|| view! { <span class="badge recovered-badge">"recovered"</span> })}
            </li>
            }
            .into_any()
        }
        Row::Notice { text, .. } => view! { <li class="notice">{text}</li> }.into_any(),
        Row::Private {
            offset,
            text,
            from,
            to,
            created_at,
        } => view! {
            <li class="message private" data-private-offset=offset>
                <span class="meta">
                    <span class="author">{from}</span>
                    " → "
                    <span class="recipient">{to}</span>
                    <time class="time">{clock_time(created_at)}</time>
                    <span class="badge private-badge">"private"</span>
                </span>
                <span class="text">{text}</span>
            </li>
        }
        .into_any(),
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
