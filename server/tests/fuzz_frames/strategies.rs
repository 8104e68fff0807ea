//! What the properties generate: texts, whole frames, and frame bodies that get far into
//! the decoder (plausible field soups, or generated frames damaged a little).

use chat_server::domain::{ChannelId, ServerOffset};
use chat_server::ipc::frame::Frame;
use chat_server::store::StoredMessage;
use proptest::collection::vec;
use proptest::prelude::*;

use super::corpus::encode;
use super::fuzz_support::{arb_mutation, mutate};

/// Byte strings worth inserting into a frame: tags, lengths, broken UTF-8.
pub const FRAME_TOKENS: &[&[u8]] = &[
    b"\x00",
    b"\x01",
    b"\x06",
    b"\x0c",
    b"\x0d",
    b"\xff",
    b"\x00\x00\x00\x00",
    b"\x00\x00\x00\x14",
    b"\x01\x00\x00\x00",
    b"\x01\x00\x00\x01",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
    b"\xff\xfe",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
];

pub fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9#/ -]{0,12}",
        vec(any::<char>(), 0..16).prop_map(String::from_iter),
    ]
}

pub fn arb_frame() -> impl Strategy<Value = Frame> {
    let message = (
        any::<i64>(),
        arb_text(),
        arb_text(),
        any::<i64>(),
        any::<(i64, i64)>(),
    )
        .prop_map(
            |(id, text, author, created_at, (channel, seq))| StoredMessage {
                id: ServerOffset(id),
                text,
                author,
                created_at,
                channel: ChannelId(channel),
                seq,
            },
        );
    prop_oneof![
        any::<i64>().prop_map(|n| Frame::Welcome {
            last_committed: ServerOffset(n)
        }),
        (
            any::<u64>(),
            arb_text(),
            arb_text(),
            arb_text(),
            any::<i64>()
        )
            .prop_map(
                |(request, text, client_offset, author, channel)| Frame::Write {
                    request,
                    text,
                    client_offset,
                    author,
                    channel,
                }
            ),
        (any::<u64>(), any::<i64>(), any::<bool>(), any::<i64>()).prop_map(
            |(request, n, duplicate, created_at)| Frame::WriteDone {
                request,
                offset: ServerOffset(n),
                duplicate,
                created_at,
            }
        ),
        (any::<u64>(), arb_text())
            .prop_map(|(request, reason)| Frame::WriteFailed { request, reason }),
        vec(message, 0..5).prop_map(|messages| Frame::Committed {
            messages: messages.into()
        }),
        (arb_text(), any::<bool>())
            .prop_map(|(nickname, joined)| Frame::PresenceReport { nickname, joined }),
        (arb_text(), any::<bool>())
            .prop_map(|(nickname, online)| Frame::Presence { nickname, online }),
        (arb_text(), arb_text()).prop_map(|(from, to)| Frame::RenameReport { from, to }),
        (arb_text(), arb_text()).prop_map(|(from, to)| Frame::Renamed { from, to }),
    ]
}

pub fn length_prefixed(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A frame body that decoding gets much further into than uniform bytes (whose first length
/// field is almost always huge): either plausible fields (a tag, mostly a known one, then
/// integers, small counts, length-prefixed strings, UTF-8 or not, and raw bytes), or the
/// body of a generated frame, sometimes damaged.
pub fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![4 => 2u8..=16, 1 => any::<u8>()];
    let field = prop_oneof![
        any::<u8>().prop_map(|n| vec![n]),
        any::<u16>().prop_map(|n| n.to_be_bytes().to_vec()),
        any::<u64>().prop_map(|n| n.to_be_bytes().to_vec()),
        (0u32..4).prop_map(|n| n.to_be_bytes().to_vec()),
        arb_text().prop_map(|s| length_prefixed(s.as_bytes())),
        vec(any::<u8>(), 0..12).prop_map(|b| length_prefixed(&b)),
        vec(any::<u8>(), 0..8),
    ];
    let soup = (tag, vec(field, 0..8)).prop_map(|(tag, fields)| {
        let mut body = vec![tag];
        body.extend(fields.concat());
        body
    });
    let generated = (arb_frame(), vec(arb_mutation(FRAME_TOKENS), 0..3))
        .prop_map(|(frame, mutations)| mutate(encode(&frame)[4..].to_vec(), &mutations));
    prop_oneof![soup, generated]
}
