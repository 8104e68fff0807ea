//! Who is here: the online list with its count, and the "ana is typing…" line.

use leptos::prelude::*;

use chat_protocol::accounts::is_guest_name;

use crate::chat::Chat;

/// The people online, with a count that agrees whichever worker the page is on.
#[component]
pub fn OnlineList() -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <aside id="online" class="online" class:open=move || chat.show_online.get() aria-label="Online">
            <h2>"Online " <span class="count">{move || online_count(chat)}</span></h2>
            <ul>
                <For each=move || chat.online.get() key=|name| name.clone() let:name>
                    <OnlineUser name/>
                </For>
            </ul>
            // A crowd is counted, not listed whole.
            {move || match chat.online_more.get() {
                0 => None,
                more => Some(view! { <p class="online-more">{format!("and {more} more")}</p> }),
            }}
        </aside>
    }
}

/// How many are online: those listed and the rest of a crowd.
fn online_count(chat: Chat) -> usize {
    chat.online.with(Vec::len) + chat.online_more.get()
}

/// On narrow screens, where the online list does not fit beside the messages: a button
/// in the top bar that shows or hides it (hidden by the CSS on wider screens).
#[component]
pub fn OnlineToggle() -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <button type="button" class="online-toggle" aria-controls="online"
            aria-expanded=move || chat.show_online.get().to_string()
            on:click=move |_| chat.show_online.update(|shown| *shown = !*shown)>
            "Online " <span class="count">{move || online_count(chat)}</span>
        </button>
    }
}

/// One person online: yourself, a guest (marked), or an account: a button that starts a
/// private conversation with them when you are signed in too (private messages are
/// between accounts only).
#[component]
fn OnlineUser(name: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let is_me = {
        let name = name.clone();
        Signal::derive(move || chat.nickname.with(|me| *me == name))
    };
    let is_guest = is_guest_name(&name);
    let can_write_to = move || !is_me.get() && !is_guest && !chat.guest.get();
    let target = name.clone();
    view! {
        <li class:me=move || is_me.get() class:guest=is_guest>
            <Show when=can_write_to fallback={
                let name = name.clone();
                move || view! {
                    {name.clone()}
                    {is_guest.then(|| view! { " " <span class="guest-badge">"guest"</span> })}
                }
            }>
                <button type="button" class="link user" title="Send a private message"
                    on:click={
                        let target = target.clone();
                        move |_| chat.open_direct(target.clone())
                    }>
                    {target.clone()}
                </button>
            </Show>
        </li>
    }
}

/// "ana is typing…", "ana and bo are typing…", "3 people are typing…".
#[component]
pub fn TypingIndicator() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let line = move || {
        chat.typing.with(|names| match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            [one, two] => format!("{one} and {two} are typing…"),
            more => format!("{} people are typing…", more.len()),
        })
    };
    view! { <p class="typing" aria-live="polite">{line}</p> }
}
