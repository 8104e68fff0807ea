//! The frames a worker and its primary exchange, and their binary encoding.
//!
//! One Unix stream per worker carries everything in order: the adapter's pub/sub traffic
//! (`Subscribe`, `Publish`, `Message`, ...) and the application's own opaque payloads
//! ([`Frame::App`]), so that what the primary queues for a worker arrives in that order.
//!
//! On the wire a frame is a 4-byte big-endian length, then a one-byte tag, then the fields:
//! integers big-endian, strings and byte strings as a 4-byte big-endian length and the
//! bytes. The codec trusts nothing it reads: decoding never panics on malformed input, it
//! returns a [`FrameError`], and a length prefix above [`MAX_FRAME_LEN`] is refused before
//! anything is allocated for it.

use bytes::{BufMut, Bytes, BytesMut};

pub use crate::wire::{FrameError, MAX_FRAME_LEN};
use crate::wire::{
    begin_frame, end_frame, finish, get_bytes, get_string, get_u8, get_u16, get_u64, put_bytes,
    split_frame,
};

/// A message from a worker to the primary, or from the primary to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Worker → primary, the first frame of a connection: who is speaking.
    Hello {
        /// The worker's index, as its application numbers workers (e.g. base port + index).
        worker: u16,
    },
    /// Primary → worker, the answer to `Hello`: the worker is now part of the cluster.
    Welcome,
    /// Worker → primary: deliver the `Publish`es on this adapter channel to me from now on.
    Subscribe {
        /// The adapter channel (socketioxide-redis names them `{prefix}-request#{ns}#...`).
        channel: String,
    },
    /// Worker → primary: stop delivering this adapter channel to me.
    Unsubscribe {
        /// The adapter channel, as subscribed.
        channel: String,
    },
    /// Worker → primary: send `payload` to every worker subscribed to `channel`, the
    /// publisher included (as Redis does; the adapter ignores its own requests).
    Publish {
        /// The adapter channel to publish on.
        channel: String,
        /// The adapter's encoded request or response; never interpreted here.
        payload: Bytes,
    },
    /// Primary → subscriber: a `Publish` on a channel the worker subscribed to.
    Message {
        /// The channel it was published on.
        channel: String,
        /// The payload, exactly as published.
        payload: Bytes,
    },
    /// Worker → primary: how many workers subscribe to `channel` now? (The adapter's
    /// server count, and how many answers a request waits for.)
    CountSubscribers {
        /// Chosen by the worker to match the answer to its question.
        request: u64,
        /// The adapter channel to count the subscribers of.
        channel: String,
    },
    /// Primary → worker: the answer to `CountSubscribers`.
    SubscriberCount {
        /// The `request` of the question answered.
        request: u64,
        /// The number of connected workers subscribed to the channel.
        count: u16,
    },
    /// Either way: an application payload, opaque to this crate.
    App {
        /// The application's bytes, delivered as sent.
        payload: Bytes,
    },
}

/// The one-byte tag that starts each frame body.
mod tag {
    pub const HELLO: u8 = 1;
    pub const WELCOME: u8 = 2;
    pub const SUBSCRIBE: u8 = 3;
    pub const UNSUBSCRIBE: u8 = 4;
    pub const PUBLISH: u8 = 5;
    pub const MESSAGE: u8 = 6;
    pub const COUNT_SUBSCRIBERS: u8 = 7;
    pub const SUBSCRIBER_COUNT: u8 = 8;
    pub const APP: u8 = 9;
}

impl Frame {
    /// Appends this frame, with its length prefix, to `out`.
    ///
    /// A string or payload longer than `u32::MAX` bytes cannot be framed; the bound that
    /// matters in practice is the peer's [`MAX_FRAME_LEN`], which it enforces on reading.
    pub fn encode(&self, out: &mut BytesMut) {
        let start = begin_frame(out);
        match self {
            Self::Hello { worker } => {
                out.put_u8(tag::HELLO);
                out.put_u16(*worker);
            }
            Self::Welcome => out.put_u8(tag::WELCOME),
            Self::Subscribe { channel } => {
                out.put_u8(tag::SUBSCRIBE);
                put_bytes(out, channel.as_bytes());
            }
            Self::Unsubscribe { channel } => {
                out.put_u8(tag::UNSUBSCRIBE);
                put_bytes(out, channel.as_bytes());
            }
            Self::Publish { channel, payload } => {
                out.put_u8(tag::PUBLISH);
                put_bytes(out, channel.as_bytes());
                put_bytes(out, payload);
            }
            Self::Message { channel, payload } => {
                out.put_u8(tag::MESSAGE);
                put_bytes(out, channel.as_bytes());
                put_bytes(out, payload);
            }
            Self::CountSubscribers { request, channel } => {
                out.put_u8(tag::COUNT_SUBSCRIBERS);
                out.put_u64(*request);
                put_bytes(out, channel.as_bytes());
            }
            Self::SubscriberCount { request, count } => {
                out.put_u8(tag::SUBSCRIBER_COUNT);
                out.put_u64(*request);
                out.put_u16(*count);
            }
            Self::App { payload } => {
                out.put_u8(tag::APP);
                put_bytes(out, payload);
            }
        }
        end_frame(out, start);
    }

    /// Takes one whole frame off the front of `buf`, if one is there.
    ///
    /// `Ok(None)` means "need more bytes" and leaves `buf` as it was (reserving room for
    /// the rest of the frame); an error means the stream is corrupt and must be closed.
    pub fn parse(buf: &mut BytesMut) -> Result<Option<Self>, FrameError> {
        match split_frame(buf)? {
            Some(body) => Self::decode_body(body).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes a frame body: the tag and the fields, without the length prefix. Byte
    /// fields share `body`'s allocation rather than copying it.
    pub fn decode_body(mut body: Bytes) -> Result<Self, FrameError> {
        let b = &mut body;
        let frame = match get_u8(b)? {
            tag::HELLO => Self::Hello {
                worker: get_u16(b)?,
            },
            tag::WELCOME => Self::Welcome,
            tag::SUBSCRIBE => Self::Subscribe {
                channel: get_string(b)?,
            },
            tag::UNSUBSCRIBE => Self::Unsubscribe {
                channel: get_string(b)?,
            },
            tag::PUBLISH => Self::Publish {
                channel: get_string(b)?,
                payload: get_bytes(b)?,
            },
            tag::MESSAGE => Self::Message {
                channel: get_string(b)?,
                payload: get_bytes(b)?,
            },
            tag::COUNT_SUBSCRIBERS => Self::CountSubscribers {
                request: get_u64(b)?,
                channel: get_string(b)?,
            },
            tag::SUBSCRIBER_COUNT => Self::SubscriberCount {
                request: get_u64(b)?,
                count: get_u16(b)?,
            },
            tag::APP => Self::App {
                payload: get_bytes(b)?,
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
            Frame::Hello { worker: 3 },
            Frame::Welcome,
            Frame::Subscribe {
                channel: "socket.io-request#/#".into(),
            },
            Frame::Unsubscribe {
                channel: "ché".into(),
            },
            Frame::Publish {
                channel: "c".into(),
                payload: Bytes::from_static(&[0, 1, 255]),
            },
            Frame::Message {
                channel: "c".into(),
                payload: Bytes::new(),
            },
            Frame::CountSubscribers {
                request: 9,
                channel: "c".into(),
            },
            Frame::SubscriberCount {
                request: u64::MAX,
                count: 2,
            },
            Frame::App {
                payload: Bytes::from_static(b"opaque \x00\xff"),
            },
            Frame::App {
                payload: Bytes::new(),
            },
        ]
    }

    #[test]
    fn every_frame_round_trips_even_when_split_byte_by_byte_across_reads() {
        let mut wire = BytesMut::new();
        for frame in all_frames() {
            frame.encode(&mut wire);
        }
        // Feed the stream one byte at a time, as the slowest pipe would.
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        for byte in wire.iter() {
            buf.put_u8(*byte);
            while let Some(frame) = Frame::parse(&mut buf).expect("a well-formed stream") {
                decoded.push(frame);
            }
        }
        assert_eq!(decoded, all_frames());
        assert!(buf.is_empty());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[99])),
            Err(FrameError::UnknownTag(99))
        );
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[0])),
            Err(FrameError::UnknownTag(0))
        );
        assert_eq!(Frame::decode_body(Bytes::new()), Err(FrameError::Truncated));
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[tag::COUNT_SUBSCRIBERS, 0, 0])),
            Err(FrameError::Truncated)
        );
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[tag::HELLO, 0])),
            Err(FrameError::Truncated)
        );
        // A length pointing past the end of the body.
        let mut body = BytesMut::new();
        body.put_u8(tag::APP);
        body.put_u32(u32::MAX);
        assert_eq!(
            Frame::decode_body(body.freeze()),
            Err(FrameError::Truncated)
        );
        // Invalid UTF-8 in a channel.
        let mut body = BytesMut::new();
        body.put_u8(tag::SUBSCRIBE);
        body.put_u32(2);
        body.put_slice(&[0xff, 0xfe]);
        assert_eq!(
            Frame::decode_body(body.freeze()),
            Err(FrameError::InvalidUtf8)
        );
        // Trailing bytes, even after a frame with no fields.
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[tag::HELLO, 0, 1, 7])),
            Err(FrameError::TrailingBytes(1))
        );
        assert_eq!(
            Frame::decode_body(Bytes::from_static(&[tag::WELCOME, 0, 0])),
            Err(FrameError::TrailingBytes(2))
        );
        // An oversized length prefix is refused before its bytes arrive.
        let mut buf = BytesMut::new();
        buf.put_u32(MAX_FRAME_LEN as u32 + 1);
        assert_eq!(
            Frame::parse(&mut buf),
            Err(FrameError::TooLarge(MAX_FRAME_LEN + 1))
        );
        // A frame whose body is bad is consumed whole, so the error is about that frame.
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 99, 0][..]);
        assert_eq!(Frame::parse(&mut buf), Err(FrameError::UnknownTag(99)));
        assert_eq!(&buf[..], &[0]);
    }

    #[test]
    fn a_partial_frame_waits_and_leaves_the_buffer_alone() {
        let mut wire = BytesMut::new();
        Frame::Publish {
            channel: "c".into(),
            payload: Bytes::from_static(b"xyz"),
        }
        .encode(&mut wire);
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(Frame::parse(&mut buf), Ok(None));
            assert_eq!(&buf[..], &wire[..cut]);
        }
    }
}
