//! Private conversations as the page shows them. On the server a conversation is the direct
//! channel of two accounts ([`ChannelInfo::direct_with`] names the other one), so its
//! messages, unread counts, read marker and recovery are a channel's; what is particular is
//! only how it is named (the other person, not a `#name`), where it is listed (after the
//! channels, by that name: [`super::channels::list_order`]) and how it is opened (by picking a person: the server makes the
//! channel on first use). The rules are pure (tested natively); [`open`] wires them.

use chat_protocol::channels::{ChannelId, ChannelInfo};

/// What the page calls a channel: `#name`, or the other person's name for a conversation.
pub fn label(info: &ChannelInfo) -> String {
    match &info.direct_with {
        Some(other) => other.clone(),
        None => format!("#{}", info.name),
    }
}

/// The conversation with `username` in `channels`, if there is one already (usernames are
/// unique regardless of case).
pub fn conversation_with(channels: &[ChannelInfo], username: &str) -> Option<ChannelId> {
    channels
        .iter()
        .find(|c| {
            c.direct_with
                .as_deref()
                .is_some_and(|other| other.eq_ignore_ascii_case(username))
        })
        .map(|c| c.id)
}

#[cfg(feature = "hydrate")]
pub use browser::open;

#[cfg(feature = "hydrate")]
mod browser {
    use chat_protocol::acks::Answer;
    use chat_protocol::channels::{ChannelJoined, OpenDirect};
    use chat_protocol::events::CHANNEL_DIRECT;
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use leptos_socketio::Socket;

    use super::conversation_with;
    use crate::chat::Chat;
    use crate::chat::channels::{shown_if_joined, switch_to};

    /// Shows the conversation with `username`: the one listed, or the one the server finds
    /// or makes (`channel direct`); a refusal (no such account) is shown by the list.
    pub fn open(chat: Chat, socket: Socket, username: String) {
        if let Some(id) = chat
            .channels
            .with_untracked(|c| conversation_with(c, &username))
        {
            switch_to(chat, socket, id);
            return;
        }
        spawn_local(async move {
            let answer = socket
                .emit_with_ack::<_, Answer<ChannelJoined>>(CHANNEL_DIRECT, &OpenDirect { username })
                .await;
            shown_if_joined(chat, socket, answer);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: i64, name: &str, direct_with: Option<&str>) -> ChannelInfo {
        ChannelInfo {
            id: ChannelId(id),
            name: name.into(),
            private: direct_with.is_some(),
            direct_with: direct_with.map(Into::into),
            topic: String::new(),
            last_seq: 0,
            last_read: 0,
            unread: 0,
            mentions: 0,
        }
    }

    #[test]
    fn conversations_are_named_by_the_other_person_and_listed_after_the_channels() {
        let mut channels = [
            info(9, "direct:1:3", Some("Zed")),
            info(4, "zoo", None),
            info(8, "direct:1:2", Some("bo")),
            info(1, "general", None),
            info(5, "alpha", None),
        ];
        channels.sort_by_key(crate::chat::channels::list_order);
        let labels: Vec<String> = channels.iter().map(label).collect();
        assert_eq!(labels, ["#general", "#alpha", "#zoo", "bo", "Zed"]);
    }

    #[test]
    fn the_conversation_with_someone_is_found_whatever_the_case() {
        let channels = [info(1, "general", None), info(8, "direct:1:2", Some("Bo"))];
        assert_eq!(conversation_with(&channels, "bo"), Some(ChannelId(8)));
        assert_eq!(conversation_with(&channels, "general"), None);
        assert_eq!(conversation_with(&channels, "ana"), None);
    }
}
