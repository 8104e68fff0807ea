//! The chat's own frames between the primary and its workers (writes, their outcomes,
//! committed messages, presence), and their binary encoding.
//!
//! They travel as opaque application payloads of the cluster adapter's link
//! ([`socketioxide_cluster`]), one frame per payload ([`Frame::to_payload`],
//! [`Frame::from_payload`]), and as the payloads of the `chat:committed` Redis channel
//! between hosts. The adapter's own traffic (pub/sub, server counts) is the crate's and
//! never appears here.
//!
//! A frame is a 4-byte big-endian length, then a one-byte tag, then the fields, in the
//! cluster crate's field encoding ([`socketioxide_cluster::wire`]: integers big-endian,
//! strings as a 4-byte length and the bytes, optional strings as a presence byte then the
//! string). Decoding never panics on malformed input: it returns a [`FrameError`].

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use socketioxide_cluster::wire::{
    begin_frame, end_frame, finish, get_i64, get_string, get_u8, get_u32, get_u64, put_bytes,
    split_frame,
};
pub use socketioxide_cluster::{FrameError, MAX_FRAME_LEN};

use crate::domain::{ChannelId, ServerOffset};
use crate::store::StoredMessage;

/// The bytes of a committed message besides its text and author: id, time, channel, seq
/// and the two length prefixes.
const MESSAGE_FIXED_BYTES: usize = 40;

/// A message from a worker to the primary, or from the primary to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Primary → worker, the first frame it sends a worker that joined: the offset its feed
    /// starts after. Every commit after this offset follows as [`Frame::Committed`].
    Welcome {
        /// The last offset committed before this worker joined the fan-out.
        last_committed: ServerOffset,
    },
    /// Worker → primary: store this message (the answer is `WriteDone` or `WriteFailed`).
    Write {
        /// Correlates the answer.
        request: u64,
        /// The validated text.
        text: String,
        /// The validated client offset.
        client_offset: String,
        /// The author's nickname.
        author: String,
        /// The channel it is posted to.
        channel: i64,
    },
    /// Primary → worker: the message of `request` is committed (and already broadcast).
    WriteDone {
        /// The request answered.
        request: u64,
        /// Its offset.
        offset: ServerOffset,
        /// Whether it had been stored before.
        duplicate: bool,
        /// When its batch committed (unix milliseconds): a new row's `created_at`.
        created_at: i64,
    },
    /// Primary → worker: the message of `request` was not stored.
    WriteFailed {
        /// The request answered.
        request: u64,
        /// Why.
        reason: String,
    },
    /// Primary → every worker: newly committed messages, in offset order. Shared, so the
    /// primary queues one batch for every worker without copying it.
    Committed {
        /// The messages.
        messages: Arc<[StoredMessage]>,
    },
    /// Worker → primary: a socket of `nickname` connected (`joined`) or went away.
    PresenceReport {
        /// The socket's nickname.
        nickname: String,
        /// Connected (true) or gone (false).
        joined: bool,
    },
    /// Primary → every worker: `nickname` came online (`online`) or went offline.
    Presence {
        /// The user.
        nickname: String,
        /// Online (true) or offline (false).
        online: bool,
    },
    /// Worker → primary: a socket of `from` is now named `to`.
    RenameReport {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Primary → every worker: user `from` is now `to` (one change, not a join and a leave).
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
}

/// Frame tags. Numbers 1 and 7–12 were the adapter's frames before they moved to the
/// cluster crate; they stay unused here.
mod tag {
    pub const WELCOME: u8 = 2;
    pub const WRITE: u8 = 3;
    pub const WRITE_DONE: u8 = 4;
    pub const WRITE_FAILED: u8 = 5;
    pub const COMMITTED: u8 = 6;
    pub const PRESENCE_REPORT: u8 = 13;
    pub const PRESENCE: u8 = 14;
    pub const RENAME_REPORT: u8 = 15;
    pub const RENAMED: u8 = 16;
}

impl Frame {
    /// Appends this frame, with its length prefix, to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = begin_frame(out);
        match self {
            Self::Welcome { last_committed } => {
                out.put_u8(tag::WELCOME);
                out.put_i64(last_committed.0);
            }
            Self::Write {
                request,
                text,
                client_offset,
                author,
                channel,
            } => {
                out.put_u8(tag::WRITE);
                out.put_u64(*request);
                put_bytes(out, text.as_bytes());
                put_bytes(out, client_offset.as_bytes());
                put_bytes(out, author.as_bytes());
                out.put_i64(*channel);
            }
            Self::WriteDone {
                request,
                offset,
                duplicate,
                created_at,
            } => {
                out.put_u8(tag::WRITE_DONE);
                out.put_u64(*request);
                out.put_i64(offset.0);
                out.put_i64(*created_at);
                out.put_u8(u8::from(*duplicate));
            }
            Self::WriteFailed { request, reason } => {
                out.put_u8(tag::WRITE_FAILED);
                out.put_u64(*request);
                put_bytes(out, reason.as_bytes());
            }
            Self::Committed { messages } => {
                out.put_u8(tag::COMMITTED);
                out.put_u32(messages.len() as u32);
                for message in messages.iter() {
                    out.put_i64(message.id.0);
                    out.put_i64(message.created_at);
                    out.put_i64(message.channel.0);
                    out.put_i64(message.seq);
                    put_bytes(out, message.text.as_bytes());
                    put_bytes(out, message.author.as_bytes());
                }
            }
            Self::PresenceReport { nickname, joined } => {
                out.put_u8(tag::PRESENCE_REPORT);
                put_bytes(out, nickname.as_bytes());
                out.put_u8(u8::from(*joined));
            }
            Self::Presence { nickname, online } => {
                out.put_u8(tag::PRESENCE);
                put_bytes(out, nickname.as_bytes());
                out.put_u8(u8::from(*online));
            }
            Self::RenameReport { from, to } => {
                out.put_u8(tag::RENAME_REPORT);
                put_bytes(out, from.as_bytes());
                put_bytes(out, to.as_bytes());
            }
            Self::Renamed { from, to } => {
                out.put_u8(tag::RENAMED);
                put_bytes(out, from.as_bytes());
                put_bytes(out, to.as_bytes());
            }
        }
        end_frame(out, start);
    }

    /// This frame as one application payload of the cluster link (or of a Redis message).
    pub fn to_payload(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.size_hint());
        self.encode(&mut out);
        out.freeze()
    }

    /// About how many bytes the frame encodes to (its strings plus the fixed fields), so
    /// that a payload is allocated once instead of grown per field.
    fn size_hint(&self) -> usize {
        const FIXED: usize = 40;
        FIXED
            + match self {
                Self::Write {
                    text,
                    client_offset,
                    author,
                    ..
                } => text.len() + client_offset.len() + author.len(),
                Self::WriteFailed { reason, .. } => reason.len(),
                Self::Committed { messages } => messages
                    .iter()
                    .map(|m| m.text.len() + m.author.len() + MESSAGE_FIXED_BYTES)
                    .sum(),
                Self::PresenceReport { nickname, .. } | Self::Presence { nickname, .. } => {
                    nickname.len()
                }
                Self::RenameReport { from, to } | Self::Renamed { from, to } => {
                    from.len() + to.len()
                }
                Self::Welcome { .. } | Self::WriteDone { .. } => 0,
            }
    }

    /// The frame one application payload holds: exactly one whole frame, nothing after it.
    /// (Without a copy: the body shares the payload's allocation.)
    pub fn from_payload(mut payload: Bytes) -> Result<Self, FrameError> {
        let len = get_u32(&mut payload)? as usize;
        if len > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge(len));
        }
        match payload.len().cmp(&len) {
            std::cmp::Ordering::Less => Err(FrameError::Truncated),
            std::cmp::Ordering::Greater => Err(FrameError::TrailingBytes(payload.len() - len)),
            std::cmp::Ordering::Equal => Self::decode_body(payload),
        }
    }

    /// Takes one whole frame off the front of `buf`, if one is there. `Ok(None)` means
    /// "need more bytes"; an error means the stream is corrupt and must be closed.
    pub fn parse(buf: &mut BytesMut) -> Result<Option<Self>, FrameError> {
        match split_frame(buf)? {
            Some(body) => Self::decode_body(body).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes a frame body (tag and fields, no length prefix).
    pub fn decode_body(mut body: Bytes) -> Result<Self, FrameError> {
        let b = &mut body;
        let frame = match get_u8(b)? {
            tag::WELCOME => Self::Welcome {
                last_committed: ServerOffset(get_i64(b)?),
            },
            tag::WRITE => Self::Write {
                request: get_u64(b)?,
                text: get_string(b)?,
                client_offset: get_string(b)?,
                author: get_string(b)?,
                channel: get_i64(b)?,
            },
            tag::WRITE_DONE => Self::WriteDone {
                request: get_u64(b)?,
                offset: ServerOffset(get_i64(b)?),
                created_at: get_i64(b)?,
                duplicate: get_u8(b)? != 0,
            },
            tag::WRITE_FAILED => Self::WriteFailed {
                request: get_u64(b)?,
                reason: get_string(b)?,
            },
            tag::COMMITTED => {
                let count = get_u32(b)? as usize;
                // Each message takes at least MESSAGE_FIXED_BYTES: bound the allocation by the
                // input.
                let mut messages =
                    Vec::with_capacity(count.min(b.remaining() / MESSAGE_FIXED_BYTES));
                for _ in 0..count {
                    let id = ServerOffset(get_i64(b)?);
                    let created_at = get_i64(b)?;
                    let channel = ChannelId(get_i64(b)?);
                    let seq = get_i64(b)?;
                    let text = get_string(b)?;
                    let author = get_string(b)?;
                    messages.push(StoredMessage {
                        id,
                        text,
                        author,
                        created_at,
                        channel,
                        seq,
                    });
                }
                Self::Committed {
                    messages: messages.into(),
                }
            }
            tag::PRESENCE_REPORT => Self::PresenceReport {
                nickname: get_string(b)?,
                joined: get_u8(b)? != 0,
            },
            tag::PRESENCE => Self::Presence {
                nickname: get_string(b)?,
                online: get_u8(b)? != 0,
            },
            tag::RENAME_REPORT => Self::RenameReport {
                from: get_string(b)?,
                to: get_string(b)?,
            },
            tag::RENAMED => Self::Renamed {
                from: get_string(b)?,
                to: get_string(b)?,
            },
            other => return Err(FrameError::UnknownTag(other)),
        };
        finish(b)?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_frames() -> Vec<Frame> {
        vec![
            Frame::Welcome {
                last_committed: ServerOffset(42),
            },
            Frame::Write {
                request: 7,
                text: "héllo <b>".into(),
                client_offset: "tab-1".into(),
                author: "ana".into(),
                channel: 1,
            },
            Frame::WriteDone {
                request: 7,
                offset: ServerOffset(43),
                duplicate: true,
                created_at: 1_700_000_000_123,
            },
            Frame::WriteFailed {
                request: 8,
                reason: "disk full".into(),
            },
            Frame::PresenceReport {
                nickname: "ana".into(),
                joined: true,
            },
            Frame::Presence {
                nickname: "bö".into(),
                online: false,
            },
            Frame::RenameReport {
                from: "guest-a1".into(),
                to: "guest-b2".into(),
            },
            Frame::Renamed {
                from: "guest-a1".into(),
                to: "guest-b2".into(),
            },
            Frame::Committed {
                messages: vec![
                    StoredMessage {
                        id: ServerOffset(43),
                        text: "a".into(),
                        author: "ana".into(),
                        created_at: 1,
                        channel: ChannelId(1),
                        seq: 43,
                    },
                    StoredMessage {
                        id: ServerOffset(44),
                        text: "".into(),
                        author: "".into(),
                        created_at: 2,
                        channel: ChannelId(7),
                        seq: 1,
                    },
                ]
                .into(),
            },
        ]
    }

    #[test]
    fn every_frame_round_trips_even_when_split_across_reads() {
        let mut wire = BytesMut::new();
        for frame in all_frames() {
            frame.encode(&mut wire);
        }
        // Feed the stream one byte at a time, as a slow pipe would.
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        for byte in wire.iter() {
            buf.put_u8(*byte);
            while let Some(frame) = Frame::parse(&mut buf).unwrap() {
                decoded.push(frame);
            }
        }
        assert_eq!(decoded, all_frames());
        assert!(buf.is_empty());
    }

    #[test]
    fn a_payload_holds_exactly_one_frame() {
        for frame in all_frames() {
            assert_eq!(Frame::from_payload(frame.to_payload()), Ok(frame));
        }
        let payload = all_frames()[0].to_payload();
        assert_eq!(
            Frame::from_payload(payload.slice(..payload.len() - 1)),
            Err(FrameError::Truncated)
        );
        let mut two = BytesMut::from(&payload[..]);
        two.extend_from_slice(&payload);
        assert_eq!(
            Frame::from_payload(two.freeze()),
            Err(FrameError::TrailingBytes(payload.len()))
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[99])),
            Err(FrameError::UnknownTag(99))
        );
        assert_eq!(Frame::decode_body(Bytes::new()), Err(FrameError::Truncated));
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[tag::WRITE, 0, 0])),
            Err(FrameError::Truncated)
        );
        // A string length pointing past the end.
        let mut body = BytesMut::new();
        body.put_u8(tag::PRESENCE);
        body.put_u32(1000);
        assert_eq!(
            Frame::decode_body(body.freeze()),
            Err(FrameError::Truncated)
        );
        // Invalid UTF-8.
        let mut body = BytesMut::new();
        body.put_u8(tag::PRESENCE);
        body.put_u32(2);
        body.put_slice(&[0xff, 0xfe]);
        assert_eq!(
            Frame::decode_body(body.freeze()),
            Err(FrameError::InvalidUtf8)
        );
        // A huge message count with no data allocates nothing and fails.
        let mut body = BytesMut::new();
        body.put_u8(tag::COMMITTED);
        body.put_u32(u32::MAX);
        assert_eq!(
            Frame::decode_body(body.freeze()),
            Err(FrameError::Truncated)
        );
        // Trailing bytes.
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[
                tag::WELCOME,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                1,
                7
            ])),
            Err(FrameError::TrailingBytes(1))
        );
        // An oversized length prefix.
        let mut buf = BytesMut::new();
        buf.put_u32(u32::MAX);
        assert_eq!(
            Frame::parse(&mut buf),
            Err(FrameError::TooLarge(u32::MAX as usize))
        );
    }
}
