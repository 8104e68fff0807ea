//! What the message list is made of: [`Row`]s (stored messages of any channel, private
//! conversations' too, notices, the recovered-messages divider), the [`Outgoing`] own messages not yet acked, and which
//! rows a channel shows. Pure data and rules, no signals.

use chat_protocol::channels::ChannelId;

/// One row of the message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A stored message.
    Message {
        /// Its server offset.
        offset: i64,
        /// Its text.
        text: String,
        /// Its author's nickname (empty from a server that sends none).
        author: String,
        /// When the server accepted it, in unix milliseconds (0 when unknown).
        created_at: i64,
        /// Whether it was recovered by a replay after a reconnect (it arrived while this
        /// page was away).
        recovered: bool,
        /// Its channel.
        channel: ChannelId,
    },
    /// A notice such as "ana joined" or "ana left".
    Notice {
        /// Its number on this page (also the row's key).
        id: u64,
        /// What happened.
        text: String,
        /// When this page learned of it, in unix milliseconds (it is placed by it).
        at: i64,
    },
    /// "N new messages while you were offline", before the first recovered message.
    RecoveredDivider {
        /// The offset of the first recovered message (also the row's key).
        before: i64,
        /// How many messages were recovered.
        count: usize,
    },
}

impl Row {
    /// What a screen reader is told of this row when it arrives live, unless it is one's
    /// own (`me`): who wrote it and what. Notices and dividers are not announced.
    pub fn announcement(&self, me: &str) -> Option<String> {
        match self {
            Self::Message { author, text, .. } if author != me => Some(format!("{author}: {text}")),
            _ => None,
        }
    }

    /// A key unique within the list.
    pub fn key(&self) -> String {
        match self {
            Self::Message { offset, .. } => format!("m{offset}"),
            Self::RecoveredDivider { before, .. } => format!("d{before}"),
            Self::Notice { id, .. } => format!("n{id}"),
        }
    }
}

/// Where an own message stands before its ack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OutgoingStatus {
    /// Waiting for the server's ack (queued while offline).
    Sending,
    /// Refused by the server, or no ack after every retry.
    Failed {
        /// Why, as the user reads it.
        reason: String,
        /// Whether sending it again could help (a refusal of the message itself could not:
        /// the page offers no Retry then).
        retryable: bool,
    },
}

/// An own message not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its idempotency key: resending with it never stores twice.
    pub client_offset: String,
    /// Its text.
    pub text: String,
    /// The recipient of a private message taken over from a page from before private
    /// messages were channels ([`super::send_queue::SavedMessage::to`]).
    pub to: Option<String>,
    /// The channel it is posted to.
    pub channel: ChannelId,
    /// Its status.
    pub status: OutgoingStatus,
    /// Where it is shown: after the public message of this offset, the newest when it was
    /// typed (0: there was none), so a failed message stays where it was written while
    /// newer ones arrive below it. `None` (a message taken over from an earlier page): at
    /// the end.
    pub after: Option<i64>,
}

impl Outgoing {
    /// A key that changes with its status (so it is drawn anew).
    pub fn key(&self) -> String {
        let status = match self.status {
            OutgoingStatus::Sending => "sending",
            OutgoingStatus::Failed { .. } => "failed",
        };
        format!("o{}|{status}", self.client_offset)
    }
}

/// The offset of the newest public message in `rows` (0 when there is none): where an own
/// message typed now is shown.
pub fn newest_public_offset(rows: &[Row]) -> i64 {
    rows.iter()
        .filter_map(|row| match row {
            Row::Message { offset, .. } => Some(*offset),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The rows of `rows` shown in `channel` (see `Chat::shown_rows`).
pub fn rows_of(rows: &[Row], channel: ChannelId) -> Vec<Row> {
    let in_channel = |offset: i64| {
        rows.iter().any(|row| {
            matches!(row, Row::Message { offset: o, channel: c, .. } if *o == offset && *c == channel)
        })
    };
    rows.iter()
        .filter(|row| match row {
            Row::Message { channel: c, .. } => *c == channel,
            Row::RecoveredDivider { before, .. } => in_channel(*before),
            Row::Notice { .. } => channel == ChannelId::GENERAL,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_messages_of_others_are_announced_with_their_author() {
        let message = |author: &str| Row::Message {
            offset: 1,
            text: "hi".into(),
            author: author.into(),
            created_at: 0,
            recovered: false,
            channel: ChannelId::GENERAL,
        };
        assert_eq!(message("ana").announcement("bo"), Some("ana: hi".into()));
        assert_eq!(message("bo").announcement("bo"), None, "not one's own");
        let notice = Row::Notice {
            id: 1,
            text: "ana joined".into(),
            at: 0,
        };
        assert_eq!(notice.announcement("bo"), None);
    }
}
