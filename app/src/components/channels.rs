//! The channel list: the channels one is in with their unread and mention badges, the one
//! shown marked as current, then one's private conversations (named by the other person);
//! a form to create a channel and the public ones to join (for accounts; a guest is in
//! `#general` only); and, above the messages, the shown channel's name, topic and a Leave
//! button (a conversation has neither topic nor Leave). The forms are `<details>` and plain
//! buttons: keyboard-usable as they are.

use leptos::prelude::*;

use crate::chat::direct::label;
use crate::chat::{ChannelId, ChannelInfo, Chat, JoinableChannel};

/// The channels one is in, and (signed in) creating and joining more; then the private
/// conversations.
#[component]
pub fn ChannelNav() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let listed = move |direct: bool| {
        chat.channels.with(|c| {
            c.iter()
                .filter(|info| info.direct_with.is_some() == direct)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let key = |c: &ChannelInfo| (c.id, c.unread, c.mentions, label(c));
    view! {
        <nav class="channels" aria-label="Channels">
            <h2>"Channels"</h2>
            <ul>
                <For each=move || listed(false) key=key let:info>
                    <ChannelItem info/>
                </For>
            </ul>
            <Show when=move || !chat.guest.get()>
                <NewChannel/>
                <Joinable/>
            </Show>
            <Show when=move || chat.channels.with(|c| c.iter().any(|info| info.direct_with.is_some()))>
                <h2 class="direct-heading">"Direct messages"</h2>
                <ul class="direct">
                    <For each=move || listed(true) key=key let:info>
                        <ChannelItem info/>
                    </For>
                </ul>
            </Show>
            <p class="channel-error" role="alert">{move || chat.channel_error.get()}</p>
        </nav>
    }
}

/// One channel or conversation: a button that shows it, with its badges. In a
/// conversation every message is addressed to the reader, so its unread count wears the
/// mention badge's colour.
#[component]
fn ChannelItem(info: ChannelInfo) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let ChannelInfo {
        id,
        private,
        unread,
        mentions,
        ref direct_with,
        ..
    } = info;
    let (shown_name, icon) = match direct_with {
        Some(other) => (other.clone(), "@"),
        None => (info.name.clone(), if private { "🔒" } else { "#" }),
    };
    let direct = direct_with.is_some();
    let current = move || chat.current.get() == id;
    view! {
        <li>
            <button type="button" class="channel" class:unread={unread > 0} class:direct=direct
                aria-current=move || current().then_some("page")
                data-channel=id.0 data-direct-with=direct_with.clone()
                on:click=move |_| chat.switch_channel(id)>
                <span class="hash" aria-hidden="true">{icon}</span>
                <span class="name">{shown_name}</span>
                // The counts are read out with what they count.
                {(mentions > 0).then(|| view! {
                    <span class="count-badge mention"><span class="n">{format!("@{mentions}")}</span>
                        <span class="visually-hidden">" mentioning you"</span></span>
                })}
                {(unread > 0).then(|| view! {
                    <span class="count-badge unread-count" class:mention=direct><span class="n">{unread}</span>
                        <span class="visually-hidden">" unread"</span></span>
                })}
            </button>
        </li>
    }
}

/// "New channel": a name and whether it is private.
#[component]
fn NewChannel() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let name = NodeRef::<leptos::html::Input>::new();
    let private = NodeRef::<leptos::html::Input>::new();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let (Some(name), Some(private)) = (name.get(), private.get()) else {
            return;
        };
        let typed = name.value();
        if typed.trim().is_empty() {
            return;
        }
        chat.create_channel(typed.trim().to_owned(), private.checked());
        name.set_value("");
    };
    view! {
        <details class="new-channel">
            <summary>"New channel"</summary>
            <form on:submit=submit>
                <label>"Name" <input node_ref=name name="channel-name" maxlength="32" autocomplete="off" placeholder="e.g. dev-ops"/></label>
                <label class="check"><input node_ref=private type="checkbox" name="private"/>" Private (invite only)"</label>
                <button type="submit">"Create"</button>
            </form>
        </details>
    }
}

/// The public channels one is not in, each with a Join button.
#[component]
fn Joinable() -> impl IntoView {
    let chat = expect_context::<Chat>();
    view! {
        <Show when=move || chat.joinable.with(|j| !j.is_empty())>
            <details class="joinable">
                <summary>{move || format!("Browse channels ({})", chat.joinable.with(Vec::len))}</summary>
                <ul>
                    <For each=move || chat.joinable.get() key=|c| c.id let:channel>
                        <JoinableItem channel/>
                    </For>
                </ul>
            </details>
        </Show>
    }
}

/// A public channel to join.
#[component]
fn JoinableItem(channel: JoinableChannel) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let id = channel.id;
    let members = match channel.members {
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };
    view! {
        <li>
            <span class="name">{format!("#{}", channel.name)}</span>
            " " <span class="members">{members}</span>
            <button type="button" class="join" aria-label=format!("Join #{}", channel.name)
                on:click=move |_| chat.join_channel(id)>"Join"</button>
        </li>
    }
}

/// "Invite": adds an account to the channel shown (the only way into a private one).
#[component]
fn Invite() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let name = NodeRef::<leptos::html::Input>::new();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(name) = name.get() else {
            return;
        };
        let typed = name.value().trim().to_owned();
        if !typed.is_empty() {
            chat.invite_to_channel(chat.current.get_untracked(), typed);
            name.set_value("");
        }
    };
    view! {
        <details class="invite">
            <summary>"Invite"</summary>
            <form on:submit=submit>
                <label>"Username" <input node_ref=name name="invitee" maxlength="32" autocomplete="off"/></label>
                <button type="submit">"Invite"</button>
            </form>
        </details>
    }
}

/// Above the messages: the channel shown, its topic, and Invite and Leave (not for
/// `#general`; a private conversation says what it is instead).
#[component]
pub fn ChannelHeader() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let shown = move || {
        let current = chat.current.get();
        chat.channels
            .with(|c| c.iter().find(|info| info.id == current).cloned())
    };
    let direct = move || shown().is_some_and(|c| c.direct_with.is_some());
    let topic = move || match shown() {
        Some(c) if c.direct_with.is_some() => {
            "Private conversation: only the two of you read it".to_owned()
        }
        Some(c) => c.topic,
        None => String::new(),
    };
    view! {
        <div class="channel-header">
            <h2 class="channel-title">
                {move || shown().map_or_else(|| "#general".to_owned(), |c| label(&c))}
            </h2>
            <span class="topic">{topic}</span>
            <Show when=move || chat.current.get() != ChannelId::GENERAL && !direct()>
                <Invite/>
                <button type="button" class="leave" on:click=move |_| chat.leave_channel(chat.current.get_untracked())>
                    "Leave"
                </button>
            </Show>
        </div>
    }
}
