//! The channels this user is in, as the page keeps them: the server's list (with its unread
//! and mention counts) at every connect, kept current by what arrives, and the requests that
//! change it (switch, create, join, leave, mark read).
//!
//! Counts are the server's: the page adds what arrives live in a channel it is not
//! showing (or while the tab is hidden), and takes the server's word again at the next
//! connect and whenever any tab of the account marks a channel read (`channel read` reaches
//! every tab). The rules are pure (tested natively); [`watch`] and the actions wire them.

use chat_protocol::channels::{ChannelId, ChannelInfo, ReadUpTo, mentioned_names};

/// A message that arrived, as the channel list counts it.
#[derive(Debug, Clone, Copy)]
pub struct Arrived<'a> {
    /// Its channel.
    pub channel: ChannelId,
    /// Its seq there.
    pub seq: i64,
    /// Its author.
    pub author: &'a str,
    /// Its text.
    pub text: &'a str,
    /// Whether it came live (not in a replay the server counted already).
    pub live: bool,
    /// Whether the reader sees it as it comes (its channel shown, the tab visible).
    pub seen: bool,
}

/// Counts `message` in `channels` for `me`: the channel's latest seq moves on, and a live
/// message by someone else that the reader does not see is unread (and a mention when it
/// names `me`).
pub fn count(channels: &mut [ChannelInfo], message: Arrived<'_>, me: &str) {
    let Some(info) = channels.iter_mut().find(|c| c.id == message.channel) else {
        return;
    };
    if message.seq <= info.last_seq {
        return;
    }
    info.last_seq = message.seq;
    if !message.live || message.seen || message.author.eq_ignore_ascii_case(me) {
        return;
    }
    info.unread += 1;
    let me = me.to_ascii_lowercase();
    if mentioned_names(message.text).contains(&me) {
        info.mentions += 1;
    }
}

/// A read marker from the server (any tab of this account): what is at or before it is
/// read. Counts after it are not known to the page, so they are kept only when the marker
/// is behind the channel's latest message.
pub fn mark(channels: &mut [ChannelInfo], read: ReadUpTo) {
    if let Some(info) = channels.iter_mut().find(|c| c.id == read.channel) {
        info.last_read = info.last_read.max(read.seq);
        if info.last_read >= info.last_seq {
            info.unread = 0;
            info.mentions = 0;
        }
    }
}

/// What the title counts: unread messages in every channel but the one shown.
pub fn total_unread(channels: &[ChannelInfo], shown: ChannelId) -> u64 {
    channels
        .iter()
        .filter(|c| c.id != shown)
        .map(|c| c.unread)
        .sum()
}

/// Where a channel is listed: `#general` first, the other channels by name, then the
/// private conversations by the other person's name (the server's order too).
pub fn list_order(info: &ChannelInfo) -> (u8, String) {
    match &info.direct_with {
        _ if info.id == ChannelId::GENERAL => (0, String::new()),
        None => (1, info.name.clone()),
        Some(other) => (2, other.to_ascii_lowercase()),
    }
}

/// Adds or replaces `info` (a channel joined, here or in another tab), keeping the list in
/// [`list_order`].
pub fn upsert(channels: &mut Vec<ChannelInfo>, info: ChannelInfo) {
    channels.retain(|c| c.id != info.id);
    channels.push(info);
    channels.sort_by_key(list_order);
}

/// Whether the shown channel has something to mark read: its latest message is after the
/// marker.
pub fn needs_marking(channels: &[ChannelInfo], shown: ChannelId) -> Option<ReadUpTo> {
    channels
        .iter()
        .find(|c| c.id == shown && c.last_seq > c.last_read)
        .map(|c| ReadUpTo {
            channel: c.id,
            seq: c.last_seq,
        })
}

#[cfg(feature = "hydrate")]
pub use browser::{create, invite, join, leave, shown_if_joined, switch_to, watch};

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;

    use chat_protocol::acks::Answer;
    use chat_protocol::channels::{
        ChannelId, ChannelInfo, ChannelJoined, ChannelList, ChannelRef, ChannelUpdated, Done,
        InviteToChannel, ReadUpTo,
    };
    use chat_protocol::events::{
        CHANNEL_CREATE, CHANNEL_INVITE, CHANNEL_JOIN, CHANNEL_JOINED, CHANNEL_LEAVE, CHANNEL_LEFT,
        CHANNEL_READ, CHANNEL_UPDATED, CHANNELS, REPLAY_DONE,
    };
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use leptos_socketio::Socket;

    use super::{mark, needs_marking, upsert};
    use crate::chat::dom::{page_hidden, sleep_ms};
    use crate::chat::incoming::first_offset_in;
    use crate::chat::{Chat, history};

    /// How long a shown channel waits before it is marked read: one request for a burst.
    const MARK_AFTER_MS: u32 = 1000;

    /// Fetches the list at every connect, and follows what the server tells every tab of
    /// this account (joined, left, read, a topic changed).
    pub fn watch(chat: Chat, socket: &Socket) {
        {
            let socket2 = socket.clone();
            socket
                .on::<serde_json::Value>(REPLAY_DONE, move |_| refresh(chat, socket2.clone()))
                .keep();
        }
        socket
            .on::<(ChannelInfo,)>(CHANNEL_JOINED, move |(info,)| {
                chat.joinable.update(|j| j.retain(|c| c.id != info.id));
                chat.channels.update(|c| upsert(c, info));
            })
            .keep();
        socket
            .on::<(ChannelRef,)>(CHANNEL_LEFT, move |(left,)| {
                chat.channels
                    .update(|c| c.retain(|info| info.id != left.channel));
                if chat.current.get_untracked() == left.channel {
                    chat.current.set(ChannelId::GENERAL);
                }
            })
            .keep();
        socket
            .on::<(ReadUpTo,)>(CHANNEL_READ, move |(read,)| {
                chat.channels.update(|c| mark(c, read));
            })
            .keep();
        socket
            .on::<(ChannelUpdated,)>(CHANNEL_UPDATED, move |(updated,)| {
                chat.channels.update(|c| {
                    if let Some(info) = c.iter_mut().find(|i| i.id == updated.channel) {
                        info.topic = updated.topic.clone();
                    }
                });
            })
            .keep();
        // The shown channel is marked read a moment after something new arrives in it
        // while the reader sees it.
        let pending = Rc::new(Cell::new(false));
        let socket = socket.clone();
        Effect::new(move |_| {
            let shown = chat.current.get();
            let due = chat.channels.with(|c| needs_marking(c, shown));
            // A guest has no read markers (the server keeps them per account).
            if due.is_none() || pending.get() || page_hidden() || chat.guest.get() {
                return;
            }
            pending.set(true);
            let (pending, socket) = (pending.clone(), socket.clone());
            spawn_local(async move {
                sleep_ms(MARK_AFTER_MS).await;
                pending.set(false);
                let shown = chat.current.get_untracked();
                let Some(read) = chat.channels.with_untracked(|c| needs_marking(c, shown)) else {
                    return;
                };
                if page_hidden() {
                    return;
                }
                if let Ok(Answer::Done(read)) = socket
                    .emit_with_ack::<_, Answer<ReadUpTo>>(CHANNEL_READ, &read)
                    .await
                {
                    chat.channels.update(|c| mark(c, read));
                }
            });
        });
    }

    /// Asks the server for the list and the joinable channels.
    fn refresh(chat: Chat, socket: Socket) {
        spawn_local(async move {
            if let Ok(list) = socket.emit_with_ack::<_, ChannelList>(CHANNELS, &()).await {
                let current = chat.current.get_untracked();
                if !list.channels.iter().any(|c| c.id == current) {
                    chat.current.set(ChannelId::GENERAL);
                }
                chat.channels.set(list.channels);
                chat.joinable.set(list.joinable);
            }
        });
    }

    /// Shows `channel`: its latest page is loaded if none of it is shown yet.
    pub fn switch_to(chat: Chat, socket: Socket, channel: ChannelId) {
        chat.current.set(channel);
        let loaded = chat
            .rows
            .with_untracked(|rows| first_offset_in(rows, channel).is_some());
        chat.has_older.set(!loaded);
        if !loaded {
            history::load_older(chat, socket);
        } else {
            // Whether older ones exist is known again after the next page.
            chat.has_older.set(true);
        }
    }

    /// Creates a channel and shows it.
    pub fn create(chat: Chat, socket: Socket, name: String, private: bool) {
        let request = serde_json::json!({ "name": name, "private": private });
        spawn_local(async move {
            let answer = socket
                .emit_with_ack::<_, Answer<ChannelJoined>>(CHANNEL_CREATE, &request)
                .await;
            shown_if_joined(chat, socket, answer);
        });
    }

    /// Joins a public channel and shows it.
    pub fn join(chat: Chat, socket: Socket, channel: ChannelId) {
        spawn_local(async move {
            let answer = socket
                .emit_with_ack::<_, Answer<ChannelJoined>>(CHANNEL_JOIN, &ChannelRef { channel })
                .await;
            shown_if_joined(chat, socket, answer);
        });
    }

    /// Leaves a channel (every tab of the account is told, and shows `#general`).
    pub fn leave(chat: Chat, socket: Socket, channel: ChannelId) {
        spawn_local(async move {
            let answer = socket
                .emit_with_ack::<_, Answer<Done>>(CHANNEL_LEAVE, &ChannelRef { channel })
                .await;
            report(chat, answer);
        });
    }

    /// Adds `username` to `channel` (their tabs are told by the server).
    pub fn invite(chat: Chat, socket: Socket, channel: ChannelId, username: String) {
        let request = InviteToChannel { channel, username };
        spawn_local(async move {
            let answer = socket
                .emit_with_ack::<_, Answer<Done>>(CHANNEL_INVITE, &request)
                .await;
            report(chat, answer);
        });
    }

    /// Shows why a request was refused, or clears the last refusal.
    fn report(chat: Chat, answer: Result<Answer<Done>, leptos_socketio::EmitError>) {
        match answer {
            Ok(Answer::Done(_)) => chat.channel_error.set(String::new()),
            Ok(Answer::Refused(refused)) => chat.channel_error.set(refused.error),
            Err(error) => chat.channel_error.set(error.to_string()),
        }
    }

    /// Adds a joined channel to the list and shows it, or says why not.
    pub fn shown_if_joined(
        chat: Chat,
        socket: Socket,
        answer: Result<Answer<ChannelJoined>, leptos_socketio::EmitError>,
    ) {
        match answer {
            Ok(Answer::Done(ChannelJoined { channel })) => {
                chat.channel_error.set(String::new());
                let id = channel.id;
                chat.joinable.update(|j| j.retain(|c| c.id != id));
                chat.channels.update(|c| upsert(c, channel));
                switch_to(chat, socket, id);
            }
            Ok(Answer::Refused(refused)) => chat.channel_error.set(refused.error),
            Err(error) => chat.channel_error.set(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: i64, name: &str, last_seq: i64) -> ChannelInfo {
        ChannelInfo {
            id: ChannelId(id),
            name: name.into(),
            private: false,
            direct_with: None,
            topic: String::new(),
            last_seq,
            last_read: last_seq,
            unread: 0,
            mentions: 0,
        }
    }

    fn arrived<'a>(channel: i64, seq: i64, author: &'a str, text: &'a str) -> Arrived<'a> {
        Arrived {
            channel: ChannelId(channel),
            seq,
            author,
            text,
            live: true,
            seen: false,
        }
    }

    #[test]
    fn live_messages_of_others_not_seen_are_unread_and_mentions_counted_apart() {
        let mut channels = vec![info(1, "general", 10), info(4, "dev", 3)];
        count(&mut channels, arrived(4, 4, "ana", "hi"), "bob");
        count(&mut channels, arrived(4, 5, "ana", "hey @Bob"), "bob");
        count(&mut channels, arrived(4, 6, "bob", "mine @bob"), "bob");
        count(&mut channels, arrived(4, 6, "ana", "again"), "bob");
        let seen = Arrived {
            seen: true,
            ..arrived(1, 11, "ana", "@bob")
        };
        count(&mut channels, seen, "bob");
        let replayed = Arrived {
            live: false,
            ..arrived(1, 12, "ana", "old")
        };
        count(&mut channels, replayed, "bob");
        assert_eq!((channels[1].unread, channels[1].mentions), (2, 1));
        assert_eq!(channels[1].last_seq, 6, "a repeat is not counted twice");
        assert_eq!((channels[0].unread, channels[0].last_seq), (0, 12));
        assert_eq!(total_unread(&channels, ChannelId(1)), 2);
        assert_eq!(total_unread(&channels, ChannelId(4)), 0);
    }

    #[test]
    fn a_marker_at_the_latest_message_clears_the_counts_one_behind_keeps_them() {
        let mut channels = vec![info(4, "dev", 3)];
        count(&mut channels, arrived(4, 4, "ana", "@bob"), "bob");
        count(&mut channels, arrived(4, 5, "ana", "x"), "bob");
        assert_eq!(
            needs_marking(&channels, ChannelId(4)),
            Some(ReadUpTo {
                channel: ChannelId(4),
                seq: 5
            })
        );
        mark(
            &mut channels,
            ReadUpTo {
                channel: ChannelId(4),
                seq: 4,
            },
        );
        assert_eq!(
            channels[0].unread, 2,
            "still behind: the server's count comes at connect"
        );
        mark(
            &mut channels,
            ReadUpTo {
                channel: ChannelId(4),
                seq: 5,
            },
        );
        assert_eq!((channels[0].unread, channels[0].mentions), (0, 0));
        assert_eq!(needs_marking(&channels, ChannelId(4)), None);
    }

    #[test]
    fn a_joined_channel_is_listed_once_general_first_then_by_name() {
        let mut channels = vec![info(1, "general", 0), info(5, "zoo", 0)];
        upsert(&mut channels, info(7, "alpha", 0));
        upsert(&mut channels, info(5, "zoo", 9));
        let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["general", "alpha", "zoo"]);
        assert_eq!(channels[2].last_seq, 9);
    }
}
