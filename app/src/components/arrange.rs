//! How rows are shown: in what order, under which day, and grouped how. Pure (tested
//! natively); the calendar (the reader's time zone, the day's name) is passed in.
//!
//! - Messages keep their offset order (the order everyone agrees on); notices are placed
//!   by their time among them, so a reload no longer puts one's own "joined" above the
//!   messages before it.
//! - One's own messages not yet stored (sending, or failed) stand after the public message
//!   that was the newest when they were typed ([`Outgoing::after`]), not below everything:
//!   a failed message stays where it was written while newer ones arrive below it.
//! - A day separator goes before the first row of each day ("Today", "Yesterday", a date).
//! - A message by the same author as the message just before it, on the same day and
//!   within [`GROUP_WITHIN_MS`], is *continued*: shown under the first one's name.

use crate::chat::{Outgoing, Row};

/// How close two messages of one author must be to share a name.
pub const GROUP_WITHIN_MS: i64 = 5 * 60 * 1000;

/// The reader's calendar: which day a time falls on, and what that day is called.
pub trait Calendar {
    /// The day of `millis` (a number that grows by one a day, in the reader's time zone).
    fn day(&self, millis: i64) -> i64;
    /// The separator's label for `day`.
    fn label(&self, day: i64, millis: i64) -> String;
}

/// What a shown row is: one the server has (stored, or a notice), or one's own message
/// before its ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A row of the list.
    Row(Row),
    /// An own message, sending or failed.
    Own(Outgoing),
}

impl Entry {
    /// The entry's own key.
    pub fn key(&self) -> String {
        match self {
            Self::Row(row) => row.key(),
            Self::Own(own) => own.key(),
        }
    }
}

/// A row as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The row.
    pub entry: Entry,
    /// A day separator before it, with its label.
    pub day: Option<String>,
    /// It continues the previous message's group (same author, minutes apart).
    pub continued: bool,
}

impl Shown {
    /// A key that changes when the row's separator or grouping does (so it is drawn anew).
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.entry.key(),
            self.day.as_deref().unwrap_or(""),
            self.continued
        )
    }
}

/// When a row happened (unix ms; 0 when unknown).
fn time_of(row: &Row) -> i64 {
    match row {
        Row::Message { created_at, .. } => *created_at,
        Row::Notice { at, .. } => *at,
        Row::RecoveredDivider { .. } => 0,
    }
}

/// Whether a row keeps its place in offset order (the others are placed by time).
fn in_offset_order(row: &Row) -> bool {
    matches!(row, Row::Message { .. } | Row::RecoveredDivider { .. })
}

/// Where a row stands in offset order: a message at its offset, a divider where its first
/// recovered message does.
fn offset_of(row: &Row) -> i64 {
    match row {
        Row::Message { offset, .. } => *offset,
        Row::RecoveredDivider { before, .. } => *before,
        Row::Notice { .. } => i64::MAX,
    }
}

/// A row in its shown place, before the separators and groups are added.
#[derive(Clone, Copy)]
enum Placed<'a> {
    Row(&'a Row),
    Own(&'a Outgoing),
}

/// The rows and own messages in the order they are shown, with their separators and
/// groups.
pub fn arrange(rows: &[Row], own: &[Outgoing], calendar: &impl Calendar) -> Vec<Shown> {
    let mut by_time: Vec<&Row> = rows.iter().filter(|r| !in_offset_order(r)).collect();
    by_time.sort_by_key(|row| time_of(row));
    let mut by_time = by_time.into_iter().peekable();
    // Stable: own messages after the same message keep the order they were typed in.
    let mut anchored: Vec<&Outgoing> = own.iter().filter(|o| o.after.is_some()).collect();
    anchored.sort_by_key(|o| o.after);
    let mut anchored = anchored.into_iter().peekable();
    let ordered: Vec<&Row> = rows.iter().filter(|r| in_offset_order(r)).collect();
    let mut placed = Vec::with_capacity(rows.len() + own.len());
    for (index, row) in ordered.iter().enumerate() {
        // A divider stands where the message after it does.
        let at = ordered[index..]
            .iter()
            .map(|r| time_of(r))
            .find(|t| *t > 0)
            .unwrap_or(i64::MAX);
        while let Some(early) = by_time.next_if(|r| time_of(r) < at) {
            placed.push(Placed::Row(early));
        }
        let offset = offset_of(row);
        while let Some(typed) = anchored.next_if(|o| o.after.is_some_and(|a| a < offset)) {
            placed.push(Placed::Own(typed));
        }
        placed.push(Placed::Row(row));
    }
    placed.extend(by_time.map(Placed::Row));
    placed.extend(anchored.map(Placed::Own));
    placed.extend(own.iter().filter(|o| o.after.is_none()).map(Placed::Own));
    group(placed, calendar)
}

/// Adds the day separators and the groups to rows in their shown order.
fn group(placed: Vec<Placed<'_>>, calendar: &impl Calendar) -> Vec<Shown> {
    let mut shown = Vec::with_capacity(placed.len());
    let mut last_day = None;
    let mut previous: Option<(&str, i64)> = None; // the message just before: author, time
    for placed in placed {
        let row = match placed {
            Placed::Row(row) => row,
            Placed::Own(own) => {
                // Not stored yet: no time of the server's; it ends a group.
                previous = None;
                shown.push(Shown {
                    entry: Entry::Own(own.clone()),
                    day: None,
                    continued: false,
                });
                continue;
            }
        };
        let at = time_of(row);
        let day = (at > 0).then(|| calendar.day(at));
        let separator = match day {
            Some(day) if last_day != Some(day) => {
                last_day = Some(day);
                Some(calendar.label(day, at))
            }
            _ => None,
        };
        let continued = match (row, previous) {
            (
                Row::Message {
                    author, created_at, ..
                },
                Some((before, then)),
            ) => {
                separator.is_none()
                    && author == before
                    && (0..GROUP_WITHIN_MS).contains(&(created_at - then))
            }
            _ => false,
        };
        previous = match row {
            Row::Message {
                author, created_at, ..
            } => Some((author.as_str(), *created_at)),
            _ => None,
        };
        shown.push(Shown {
            entry: Entry::Row(row.clone()),
            day: separator,
            continued,
        });
    }
    shown
}

/// A name's initial, for its avatar: the first letter or digit (after `guest-`), in
/// capitals.
pub fn initial(name: &str) -> String {
    let name = name
        .strip_prefix(chat_protocol::guest::GuestName::PREFIX)
        .unwrap_or(name);
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".to_owned())
}

/// Which of the avatar colours (`hue-0` … `hue-7` in the CSS) a name gets: the same on
/// every page, from a hash of the name.
pub fn hue(name: &str) -> usize {
    let hash = name.bytes().fold(2166136261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    (hash % 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    /// UTC, with "Today" being day 20.
    struct Utc;
    impl Calendar for Utc {
        fn day(&self, millis: i64) -> i64 {
            millis.div_euclid(DAY)
        }
        fn label(&self, day: i64, _: i64) -> String {
            match 20 - day {
                0 => "Today".into(),
                1 => "Yesterday".into(),
                _ => format!("day {day}"),
            }
        }
    }

    fn message(offset: i64, author: &str, at: i64) -> Row {
        Row::Message {
            offset,
            text: format!("m{offset}"),
            author: author.into(),
            created_at: at,
            recovered: false,
            channel: chat_protocol::channels::ChannelId::GENERAL,
        }
    }

    fn keys(shown: &[Shown]) -> Vec<String> {
        shown.iter().map(|s| s.entry.key()).collect()
    }

    #[test]
    fn notices_are_placed_by_time_among_messages() {
        let t = 20 * DAY;
        let rows = vec![
            Row::Notice {
                id: 1,
                text: "me joined".into(),
                at: t + 500,
            },
            Row::Notice {
                id: 2,
                text: "bo joined".into(),
                at: t + 150,
            },
            message(1, "ana", t + 100),
            message(2, "ana", t + 200),
            message(3, "bo", t + 300),
        ];
        assert_eq!(
            keys(&arrange(&rows, &[], &Utc)),
            ["m1", "n2", "m2", "m3", "n1"]
        );
    }

    #[test]
    fn a_divider_stays_before_the_first_recovered_message() {
        let t = 20 * DAY;
        let rows = vec![
            message(1, "ana", t + 100),
            Row::RecoveredDivider {
                before: 2,
                count: 1,
            },
            message(2, "ana", t + 300),
            Row::Notice {
                id: 1,
                text: "bo left".into(),
                at: t + 200,
            },
        ];
        assert_eq!(keys(&arrange(&rows, &[], &Utc)), ["m1", "n1", "d2", "m2"]);
    }

    #[test]
    fn own_messages_stay_after_the_message_that_was_newest_when_typed() {
        let t = 20 * DAY;
        let own = |n: u64, after: Option<i64>, failed: bool| Outgoing {
            client_offset: format!("tab-{n}"),
            text: format!("own {n}"),
            to: None,
            channel: chat_protocol::channels::ChannelId::GENERAL,
            status: if failed {
                crate::chat::OutgoingStatus::Failed {
                    reason: "x".into(),
                    retryable: true,
                }
            } else {
                crate::chat::OutgoingStatus::Sending
            },
            after,
        };
        let rows = vec![
            message(1, "ana", t + 100),
            message(2, "ana", t + 200),
            message(3, "bo", t + 300),
        ];
        let outbox = [
            own(1, Some(1), true),
            own(3, None, false),
            own(2, Some(1), false),
            own(4, Some(3), false),
            own(5, Some(0), true),
        ];
        assert_eq!(
            keys(&arrange(&rows, &outbox, &Utc)),
            [
                "otab-5|failed",
                "m1",
                "otab-1|failed",
                "otab-2|sending",
                "m2",
                "m3",
                "otab-4|sending",
                "otab-3|sending"
            ]
        );
        // An own message between two of ana's breaks her group.
        let shown = arrange(&rows, &outbox[..1], &Utc);
        assert!(!shown[2].continued);
    }

    #[test]
    fn days_get_a_separator_and_groups_break_at_authors_gaps_and_days() {
        let yesterday = 19 * DAY + 3_600_000;
        let today = 20 * DAY + 60_000;
        let rows = vec![
            message(1, "ana", yesterday),
            message(2, "ana", yesterday + 60_000),
            message(3, "bo", yesterday + 120_000),
            message(4, "bo", yesterday + 120_000 + GROUP_WITHIN_MS),
            message(5, "bo", today),
            message(6, "bo", today + 1_000),
        ];
        let shown = arrange(&rows, &[], &Utc);
        let days: Vec<_> = shown.iter().map(|s| s.day.as_deref()).collect();
        assert_eq!(
            days,
            [Some("Yesterday"), None, None, None, Some("Today"), None]
        );
        let continued: Vec<_> = shown.iter().map(|s| s.continued).collect();
        assert_eq!(continued, [false, true, false, false, false, true]);
    }

    #[test]
    fn avatars_have_an_initial_and_a_stable_colour() {
        assert_eq!(initial("vic"), "V");
        assert_eq!(initial("guest-3f2a"), "3");
        assert_eq!(initial("élodie"), "É");
        assert_eq!(hue("vic"), hue("vic"));
        assert!(hue("vic") < 8);
        let spread: std::collections::HashSet<_> =
            ["ana", "bo", "cleo", "dan", "eve", "fay", "gus", "hal"]
                .iter()
                .map(|n| hue(n))
                .collect();
        assert!(
            spread.len() >= 4,
            "names spread over the colours: {spread:?}"
        );
    }
}
