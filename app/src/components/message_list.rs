//! The message list: stored messages in offset order (recovered ones marked, after a
//! divider), and own messages still waiting for their ack where they were typed. Text is rendered as text, never
//! as HTML. Screen readers hear live messages of others (an aria-live announcer beside the
//! list, not the list itself). Where the view goes when rows
//! are added is [`super::scroll`]'s.

use leptos::prelude::*;

use super::arrange::{Entry, Shown, arrange, hue, initial};
use super::clock::{ReaderCalendar, clock_time, full_time, iso_time};
use super::scroll::{follow_new_messages, jump_to_bottom};
use crate::chat::{Chat, Outgoing, OutgoingStatus, Row};

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
        // Read out: only live messages of others, one at a time (not the 50 replayed on
        // arrival, nor a page of older ones, as an aria-live list would).
        <p id="announcer" class="visually-hidden" aria-live="polite">{move || chat.announcement.get()}</p>
        <ul id="messages" class="messages" aria-label="Messages">
            <For each=move || {
                let rows = chat.shown_rows();
                let shown = chat.current.get();
                chat.outbox.with(|own| {
                    let own: Vec<Outgoing> = own.iter().filter(|o| o.channel == shown).cloned().collect();
                    arrange(&rows, &own, &ReaderCalendar::now())
                })
            }
                key=Shown::key let:shown>
                <ShownRow shown/>
            </For>
        </ul>
    }
}

/// A row with the day separator before it, if it starts a day.
#[component]
fn ShownRow(shown: Shown) -> impl IntoView {
    let Shown {
        entry,
        day,
        continued,
    } = shown;
    view! {
        // A list item like the rows (a `separator` role would take it out of the list).
        {day.map(|day| view! { <li class="day"><span class="day-label">{day}</span></li> })}
        {match entry {
            Entry::Row(row) => view! { <MessageRow row continued/> }.into_any(),
            Entry::Own(outgoing) => view! { <OwnRow outgoing/> }.into_any(),
        }}
    }
}

/// One's own message before its ack: sending, or failed with why (and Retry when sending
/// again could help).
#[component]
fn OwnRow(outgoing: Outgoing) -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <li class="message own" class:pending=matches!(outgoing.status, OutgoingStatus::Sending)
            class:failed=matches!(outgoing.status, OutgoingStatus::Failed { .. })
            data-client-offset=outgoing.client_offset.clone()>
            {outgoing.to.clone().map(|to| view! { <span class="meta">"to " <span class="recipient">{to}</span></span> })}
            <span class="text" dir="auto">{outgoing.text.clone()}</span>
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
    }
}

/// A message's time: `HH:MM`, with the full date and time on hover and for screen readers.
#[component]
fn Time(millis: i64) -> impl IntoView {
    let full = full_time(millis);
    let title = full.clone();
    view! {
        <time class="time" datetime=iso_time(millis) title=title>
            <span aria-hidden="true">{clock_time(millis)}</span>
            <span class="visually-hidden">{full}</span>
        </time>
    }
}

/// The author's initial on a colour of their own.
#[component]
fn Avatar(name: String) -> impl IntoView {
    let class = format!("avatar hue-{}", hue(&name));
    view! { <span class=class aria-hidden="true">{initial(&name)}</span> }
}

/// One row: a message (the first of a group with its author's name and avatar, the next
/// ones under it), a notice or the recovered-messages divider.
#[component]
fn MessageRow(row: Row, continued: bool) -> impl IntoView {
    let chat = expect_context::<Chat>();
    match row {
        Row::Message {
            offset,
            text,
            author,
            created_at,
            recovered,
            ..
        } => {
            // Accounts' names are verified by the server; a guest's is anyone's to pick.
            let guest = chat_protocol::accounts::is_guest_name(&author);
            let mine = {
                let author = author.clone();
                move || chat.nickname.with(|me| *me == author)
            };
            view! {
            <li class="message" class:recovered=recovered class:continued=continued class:mine=mine
                data-offset=offset>
                {(!continued).then(|| view! { <Avatar name=author.clone()/> })}
                <span class="meta" class:visually-hidden=continued>
                    <span class="author" class:guest=guest class:verified=!guest>{author}</span>
                    {guest.then(|| view! { <span class="guest-badge">"guest"</span> })}
                </span>
                <Time millis=created_at/>
                <span class="text" dir="auto">{text}</span>
                {recovered.then(|| view! { <span class="badge recovered-badge">"recovered"</span> })}
            </li>
            }
            .into_any()
        }
        Row::Notice { text, .. } => view! { <li class="notice">{text}</li> }.into_any(),
        Row::RecoveredDivider { count, .. } => {
            let noun = if count == 1 { "message" } else { "messages" };
            view! {
                <li class="divider">{format!("{count} new {noun} while you were offline")}</li>
            }
            .into_any()
        }
    }
}
