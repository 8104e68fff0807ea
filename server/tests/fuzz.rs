//! Fuzzing, as property tests (proptest: cargo-fuzz needs a nightly toolchain), of the two
//! places where bytes from outside are decoded:
//!
//! - the IPC frame decoder ([`Frame::parse`], [`Frame::decode_body`]): fed arbitrary bytes,
//!   plausible field soups, generated frames (whole, damaged, cut short, split across reads,
//!   followed by garbage), and the seed frames of `tests/corpus/frames/*.bin` mutated (bit
//!   flips, truncations, insertions, length fields off by a little or set to extremes). It
//!   must never panic, must take a frame exactly when its length prefix says the bytes are
//!   there, and whatever it accepts must re-encode to the bytes it was read from.
//! - event-argument validation ([`EventArgs`] from JSON text, [`NewMessage::from_event_args`],
//!   [`ServerOffset::from_auth`]): fed arbitrary text, generated JSON values, and the seeds of
//!   `tests/corpus/event_args/*.json` mutated. It must never panic, must accept exactly what
//!   the rules of `domain.rs` accept (checked against the rules written out here, and by
//!   well-formed arguments that must be accepted), and must refuse the rest with the error
//!   the first broken rule names.
//!
//! Bounded time: each property runs `PROPTEST_CASES` cases (default [`DEFAULT_CASES`]); the
//! other `PROPTEST_*` variables apply as usual. A failing case is shrunk, then its seed is
//! appended to `tests/proptest-regressions/fuzz.txt` (commit that file: its cases are
//! replayed first on every later run).
//!
//! Corpora: `tests/corpus/frames` holds one encoded frame of every variant (plus a few edge
//! cases), written by the ignored test `write_frame_corpus`:
//! `cargo test -p chat-server --test fuzz -- --ignored write_frame_corpus`. Run it again
//! after changing the frame format; `frame_corpus_replays` fails until then.
//! `tests/corpus/event_args` is written by hand: an `ok-*.json` file must deserialize and
//! validate (with the default size limit), an `err-*.json` file must be refused by one or
//! the other.

use std::collections::BTreeSet;
use std::fs;
use std::sync::LazyLock;

use bytes::{BufMut, Bytes, BytesMut};
use chat_server::chat::args::EventArgs;
use chat_server::cluster::frame::{Frame, FrameError, MAX_FRAME_LEN};
use chat_server::domain::{ClientOffset, MessageText, NewMessage, ServerOffset, ValidationError};
use chat_server::store::StoredMessage;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

/// Cases per property when `PROPTEST_CASES` is not set: the whole file stays within a few
/// seconds in a debug build.
const DEFAULT_CASES: u32 = 1024;

const FRAME_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/frames");
const EVENT_ARGS_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/event_args");
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/proptest-regressions/fuzz.txt"
);

/// proptest's defaults (which read the `PROPTEST_*` variables), with our default number of
/// cases and the regressions file under `tests/`.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    // Unless PROPTEST_DISABLE_FAILURE_PERSISTENCE turned it off. (proptest's default looks
    // for a `lib.rs` above this file, finds none, and falls back to `fuzz.proptest-regressions`
    // beside it.)
    if config.failure_persistence.is_some() {
        config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS)));
    }
    config
}

// ---------------------------------------------------------------------------------------
// Corpora

/// Every `*.{extension}` file of `dir`, by name.
fn load_corpus(dir: &str, extension: &str) -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus {dir}: {e}"))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no *.{extension} seeds in {dir}");
    seeds
}

static FRAME_SEEDS: LazyLock<Vec<(String, Vec<u8>)>> =
    LazyLock::new(|| load_corpus(FRAME_CORPUS, "bin"));
static EVENT_ARGS_SEEDS: LazyLock<Vec<(String, Vec<u8>)>> =
    LazyLock::new(|| load_corpus(EVENT_ARGS_CORPUS, "json"));

/// One way of damaging a seed; applied in sequence, each to the result of the last.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Truncate(Index),
    /// Copies `len` bytes from one place to another (repeats a field, a frame, a bracket).
    Splice(Index, usize, Index),
    /// Adds a little to the big-endian u32 at some offset: a length or count off by a few.
    AddU32(Index, i32),
    /// Overwrites the big-endian u32 at some offset: a length or count set to an extreme.
    SetU32(Index, u32),
    /// Adds a little to the frame's length prefix.
    LengthPrefix(i32),
}

/// Lengths and counts at the edges of what the decoder checks.
const INTERESTING_U32: &[u32] = &[
    0,
    1,
    2,
    3,
    4,
    19,
    20,
    21,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    MAX_FRAME_LEN as u32 - 1,
    MAX_FRAME_LEN as u32,
    MAX_FRAME_LEN as u32 + 1,
    0x7fff_ffff,
    0x8000_0000,
    u32::MAX,
];

/// Byte strings worth inserting into a frame: tags, lengths, broken UTF-8.
const FRAME_TOKENS: &[&[u8]] = &[
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

/// Bits of JSON worth inserting into JSON text.
const JSON_TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"\\",
    b"null",
    b"true",
    b"-0",
    b"0.5",
    b"1e999",
    b"-1e-999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1.",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00",
    b"\\ud83d\\ude00",
    b"\\x",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\"serverOffset\":",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"\"\xe2\x80\xae\"",
];

fn arb_mutation(dictionary: &'static [&'static [u8]]) -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        vec(any::<u8>(), 1..8),
        select(dictionary).prop_map(<[u8]>::to_vec),
    ];
    let u32_value = prop_oneof![select(INTERESTING_U32), any::<u32>()];
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        (any::<Index>(), insert).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<Index>(), 1usize..8).prop_map(|(at, n)| Mutation::Remove(at, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1usize..32, any::<Index>())
            .prop_map(|(from, n, to)| Mutation::Splice(from, n, to)),
        (any::<Index>(), -4i32..=4).prop_map(|(at, delta)| Mutation::AddU32(at, delta)),
        (any::<Index>(), u32_value).prop_map(|(at, value)| Mutation::SetU32(at, value)),
        (-4i32..=4).prop_map(Mutation::LengthPrefix),
    ]
}

fn add_u32(data: &mut [u8], at: usize, delta: i32) {
    let value = u32::from_be_bytes(data[at..at + 4].try_into().unwrap());
    data[at..at + 4].copy_from_slice(&value.wrapping_add_signed(delta).to_be_bytes());
}

fn mutate(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = data.len();
        match mutation {
            Mutation::FlipBit(at, bit) if len > 0 => data[at.index(len)] ^= 1 << *bit,
            Mutation::SetByte(at, byte) if len > 0 => data[at.index(len)] = *byte,
            Mutation::Insert(at, bytes) => {
                let at = at.index(len + 1);
                data.splice(at..at, bytes.iter().copied());
            }
            Mutation::Remove(at, n) if len > 0 => {
                let at = at.index(len);
                data.drain(at..(at + n).min(len));
            }
            Mutation::Truncate(at) => data.truncate(at.index(len + 1)),
            Mutation::Splice(from, n, to) if len > 0 => {
                let from = from.index(len);
                let chunk = data[from..(from + n).min(len)].to_vec();
                let to = to.index(len + 1);
                data.splice(to..to, chunk);
            }
            Mutation::AddU32(at, delta) if len >= 4 => {
                add_u32(&mut data, at.index(len - 3), *delta)
            }
            Mutation::SetU32(at, value) if len >= 4 => {
                let at = at.index(len - 3);
                data[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
            Mutation::LengthPrefix(delta) if len >= 4 => add_u32(&mut data, 0, *delta),
            _ => {} // nothing to damage
        }
    }
    data
}

// ---------------------------------------------------------------------------------------
// Frames

fn encode(frame: &Frame) -> BytesMut {
    let mut out = BytesMut::new();
    frame.encode(&mut out);
    out
}

/// The variant's name. No wildcard arm: a new variant does not compile until it is named
/// here; then add it to `arb_frame` and `corpus_frames` and rerun `write_frame_corpus`.
fn variant(frame: &Frame) -> &'static str {
    match frame {
        Frame::Hello { .. } => "hello",
        Frame::Welcome { .. } => "welcome",
        Frame::Write { .. } => "write",
        Frame::WriteDone { .. } => "write-done",
        Frame::WriteFailed { .. } => "write-failed",
        Frame::Committed { .. } => "committed",
        Frame::Subscribe { .. } => "subscribe",
        Frame::Unsubscribe { .. } => "unsubscribe",
        Frame::Publish { .. } => "publish",
        Frame::Message { .. } => "message",
        Frame::CountSubscribers { .. } => "count-subscribers",
        Frame::SubscriberCount { .. } => "subscriber-count",
        Frame::PresenceReport { .. } => "presence-report",
        Frame::Presence { .. } => "presence",
    }
}

/// The seed frames: one of every variant, and a few edge cases (suffixed names).
fn corpus_frames() -> Vec<(&'static str, Frame)> {
    let message = |id, text: &str, created_at| StoredMessage {
        id: ServerOffset(id),
        text: text.into(),
        author: "ana".into(),
        created_at,
    };
    vec![
        ("", Frame::Hello { worker: 1 }),
        (
            "",
            Frame::Welcome {
                last_committed: ServerOffset(41),
            },
        ),
        (
            "",
            Frame::Write {
                request: 7,
                text: "héllo <b>wörld</b> 👋".into(),
                client_offset: "Zx8YqF2mAAAB-0".into(),
                author: "ana ✨".into(),
                recipient: "bo".into(),
            },
        ),
        (
            "-empty",
            Frame::Write {
                request: 0,
                text: String::new(),
                client_offset: String::new(),
                author: String::new(),
                recipient: String::new(),
            },
        ),
        (
            "",
            Frame::WriteDone {
                request: 7,
                offset: ServerOffset(42),
                duplicate: false,
            },
        ),
        (
            "-duplicate",
            Frame::WriteDone {
                request: u64::MAX,
                offset: ServerOffset(i64::MAX),
                duplicate: true,
            },
        ),
        (
            "",
            Frame::WriteFailed {
                request: 8,
                reason: "the store is open read-only".into(),
            },
        ),
        (
            "",
            Frame::Committed {
                messages: vec![
                    message(42, "hello", 1_700_000_000_000),
                    message(43, "世界 😀", 1_700_000_000_001),
                    message(44, "", -1),
                ]
                .into(),
            },
        ),
        (
            "-empty",
            Frame::Committed {
                messages: Vec::new().into(),
            },
        ),
        (
            "",
            Frame::Subscribe {
                channel: "socket.io-request#/#".into(),
            },
        ),
        (
            "",
            Frame::Unsubscribe {
                channel: "socket.io#/#room#".into(),
            },
        ),
        (
            "",
            Frame::Publish {
                channel: "socket.io#/#".into(),
                payload: Bytes::from_static(&[0x92, 0xa1, b'x', 0x00, 0xff]),
            },
        ),
        (
            "",
            Frame::Message {
                channel: "socket.io#/#".into(),
                payload: Bytes::from_static(b"\x81\xa4type\x01"),
            },
        ),
        (
            "",
            Frame::CountSubscribers {
                request: 9,
                channel: "socket.io-response#/#".into(),
            },
        ),
        (
            "",
            Frame::SubscriberCount {
                request: 9,
                count: 2,
            },
        ),
        (
            "",
            Frame::PresenceReport {
                nickname: "ana ✨".into(),
                joined: true,
            },
        ),
        (
            "",
            Frame::Presence {
                nickname: "bo".into(),
                online: false,
            },
        ),
    ]
}

fn corpus_file_name(suffix: &str, frame: &Frame) -> String {
    format!("{:02}-{}{suffix}.bin", encode(frame)[4], variant(frame))
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9#/ -]{0,12}",
        vec(any::<char>(), 0..16).prop_map(String::from_iter),
    ]
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    let payload = || vec(any::<u8>(), 0..48).prop_map(Bytes::from);
    let message = (any::<i64>(), arb_text(), arb_text(), any::<i64>()).prop_map(
        |(id, text, author, created_at)| StoredMessage {
            id: ServerOffset(id),
            text,
            author,
            created_at,
        },
    );
    prop_oneof![
        any::<u16>().prop_map(|worker| Frame::Hello { worker }),
        any::<i64>().prop_map(|n| Frame::Welcome {
            last_committed: ServerOffset(n)
        }),
        (any::<u64>(), arb_text(), arb_text(), arb_text(), arb_text()).prop_map(
            |(request, text, client_offset, author, recipient)| Frame::Write {
                request,
                text,
                client_offset,
                author,
                recipient,
            }
        ),
        (any::<u64>(), any::<i64>(), any::<bool>()).prop_map(|(request, n, duplicate)| {
            Frame::WriteDone {
                request,
                offset: ServerOffset(n),
                duplicate,
            }
        }),
        (any::<u64>(), arb_text())
            .prop_map(|(request, reason)| Frame::WriteFailed { request, reason }),
        vec(message, 0..5).prop_map(|messages| Frame::Committed {
            messages: messages.into()
        }),
        arb_text().prop_map(|channel| Frame::Subscribe { channel }),
        arb_text().prop_map(|channel| Frame::Unsubscribe { channel }),
        (arb_text(), payload()).prop_map(|(channel, payload)| Frame::Publish { channel, payload }),
        (arb_text(), payload()).prop_map(|(channel, payload)| Frame::Message { channel, payload }),
        (any::<u64>(), arb_text())
            .prop_map(|(request, channel)| Frame::CountSubscribers { request, channel }),
        (any::<u64>(), any::<u16>())
            .prop_map(|(request, count)| Frame::SubscriberCount { request, count }),
        (arb_text(), any::<bool>())
            .prop_map(|(nickname, joined)| Frame::PresenceReport { nickname, joined }),
        (arb_text(), any::<bool>())
            .prop_map(|(nickname, online)| Frame::Presence { nickname, online }),
    ]
}

fn length_prefixed(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A frame body that decoding gets much further into than uniform bytes (whose first length
/// field is almost always huge): either plausible fields (a tag, mostly a known one, then
/// integers, small counts, length-prefixed strings, UTF-8 or not, and raw bytes), or the
/// body of a generated frame, sometimes damaged.
fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![4 => 1u8..=14, 1 => any::<u8>()];
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

fn length_prefix(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize
}

/// A frame decoded from `body` re-encodes to exactly `body` (except that a non-zero flag
/// byte, the last byte of `WriteDone`, `PresenceReport` and `Presence`, reads as `true` and
/// is written back as 1), and parses back to itself.
fn check_reencodes(frame: &Frame, body: &[u8]) -> Result<(), TestCaseError> {
    let wire = encode(frame);
    prop_assert_eq!(length_prefix(&wire), wire.len() - 4);
    let again = &wire[4..];
    prop_assert_eq!(again.len(), body.len());
    let flag = match frame {
        Frame::WriteDone { duplicate, .. } => Some(*duplicate),
        Frame::PresenceReport { joined, .. } => Some(*joined),
        Frame::Presence { online, .. } => Some(*online),
        _ => None,
    };
    if let Some(flag) = flag {
        let last = body.len() - 1;
        prop_assert_eq!(&again[..last], &body[..last]);
        prop_assert_eq!(body[last] != 0, flag);
    } else {
        prop_assert_eq!(again, body);
    }
    let mut buf = wire;
    prop_assert_eq!(Frame::parse(&mut buf), Ok(Some(frame.clone())));
    prop_assert!(buf.is_empty());
    Ok(())
}

/// Decodes `body` on its own: no panic, and a frame re-encodes to it.
fn check_body(body: &[u8]) -> Result<Option<Frame>, TestCaseError> {
    match Frame::decode_body(Bytes::copy_from_slice(body)) {
        Ok(frame) => {
            check_reencodes(&frame, body)?;
            Ok(Some(frame))
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            Ok(None)
        }
    }
}

/// Reads `input` as a stream of frames, as the connection does, until it needs more bytes
/// or fails, checking each step against the length prefix. Returns the frames read.
fn parse_stream(input: &[u8]) -> Result<Vec<Frame>, TestCaseError> {
    let mut buf = BytesMut::from(input);
    let mut frames = Vec::new();
    loop {
        let before = buf.clone();
        let result = Frame::parse(&mut buf);
        let len = (before.len() >= 4).then(|| length_prefix(&before));
        match (result, len) {
            // Fewer than 4 bytes: not even a length yet.
            (Ok(None), None) => {
                prop_assert_eq!(&buf[..], &before[..]);
                return Ok(frames);
            }
            (Ok(None), Some(len)) => {
                prop_assert!(len <= MAX_FRAME_LEN && before.len() < 4 + len);
                prop_assert_eq!(&buf[..], &before[..]);
                return Ok(frames);
            }
            (Err(FrameError::TooLarge(n)), Some(len)) => {
                prop_assert!(n == len && len > MAX_FRAME_LEN);
                prop_assert_eq!(&buf[..], &before[..]);
                return Ok(frames);
            }
            (Ok(Some(frame)), Some(len)) => {
                prop_assert!(len <= MAX_FRAME_LEN && before.len() >= 4 + len);
                prop_assert_eq!(&buf[..], &before[4 + len..]);
                check_reencodes(&frame, &before[4..4 + len])?;
                frames.push(frame);
            }
            (Err(e), Some(len)) => {
                prop_assert!(len <= MAX_FRAME_LEN && before.len() >= 4 + len);
                prop_assert_eq!(&buf[..], &before[4 + len..]);
                let body = Bytes::copy_from_slice(&before[4..4 + len]);
                prop_assert_eq!(Frame::decode_body(body), Err(e.clone()));
                prop_assert!(!e.to_string().is_empty());
                return Ok(frames);
            }
            (result, None) => {
                let message = format!("{result:?} from {} bytes", before.len());
                return Err(TestCaseError::fail(message));
            }
        }
    }
}

#[test]
#[ignore = "writes tests/corpus/frames: run by hand after changing the frame format"]
fn write_frame_corpus() {
    fs::create_dir_all(FRAME_CORPUS).unwrap();
    for entry in fs::read_dir(FRAME_CORPUS).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            fs::remove_file(path).unwrap();
        }
    }
    for (suffix, frame) in corpus_frames() {
        let path = format!("{FRAME_CORPUS}/{}", corpus_file_name(suffix, &frame));
        fs::write(path, encode(&frame)).unwrap();
    }
}

#[test]
fn frame_corpus_replays() {
    let expected: Vec<(String, Vec<u8>)> = {
        let mut files: Vec<_> = corpus_frames()
            .iter()
            .map(|(suffix, frame)| (corpus_file_name(suffix, frame), encode(frame).to_vec()))
            .collect();
        files.sort();
        files
    };
    assert!(
        *FRAME_SEEDS == expected,
        "tests/corpus/frames is not what corpus_frames() encodes to; rerun \
         `cargo test -p chat-server --test fuzz -- --ignored write_frame_corpus`"
    );
    let mut variants = BTreeSet::new();
    for (name, bytes) in FRAME_SEEDS.iter() {
        let mut buf = BytesMut::from(&bytes[..]);
        let frame = match Frame::parse(&mut buf) {
            Ok(Some(frame)) => frame,
            other => panic!("{name}: {other:?}"),
        };
        assert!(buf.is_empty(), "{name}: trailing bytes");
        assert_eq!(&encode(&frame)[..], &bytes[..], "{name}");
        variants.insert(variant(&frame));
    }
    assert_eq!(
        variants.len(),
        14,
        "one seed of every variant: {variants:?}"
    );
}

proptest! {
    #![proptest_config(config())]

    /// Uniform bytes: whatever the decoder makes of them follows the length prefix.
    #[test]
    fn frames_from_arbitrary_bytes(bytes in vec(any::<u8>(), 0..1024)) {
        parse_stream(&bytes)?;
        if bytes.len() >= 4 {
            check_body(&bytes[4..])?;
        }
        check_body(&bytes)?;
    }

    /// Bodies of plausible fields, framed with correct length prefixes, then a little of
    /// anything: each body decodes the same in the stream as alone, and the stream stops at
    /// the first bad one.
    #[test]
    fn frames_from_field_soup(
        bodies in vec(arb_body(), 1..4),
        tail in vec(any::<u8>(), 0..8),
    ) {
        let mut stream = Vec::new();
        for body in &bodies {
            stream.extend(length_prefixed(body));
        }
        stream.extend(&tail);
        let mut expected = Vec::new();
        let mut all_decode = true;
        for body in &bodies {
            match check_body(body)? {
                Some(frame) => expected.push(frame),
                None => {
                    all_decode = false;
                    break;
                }
            }
        }
        let frames = parse_stream(&stream)?;
        prop_assert!(frames.len() >= expected.len());
        prop_assert_eq!(&frames[..expected.len()], &expected[..]);
        if !all_decode {
            // The stream stopped at the first bad body; the tail was never reached.
            prop_assert_eq!(frames.len(), expected.len());
        }
    }

    /// Frames of every variant, sent back to back and cut into arbitrary reads, come out
    /// whole, equal and in order, with nothing left over.
    #[test]
    fn generated_frames_round_trip_across_reads(
        frames in vec(arb_frame(), 1..6),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let mut wire = BytesMut::new();
        for frame in &frames {
            frame.encode(&mut wire);
        }
        let mut ends: Vec<usize> = cuts.iter().map(|cut| cut.index(wire.len() + 1)).collect();
        ends.push(wire.len());
        ends.sort_unstable();
        let mut buf = BytesMut::new();
        let mut read = Vec::new();
        let mut start = 0;
        for end in ends {
            buf.extend_from_slice(&wire[start..end]);
            start = end;
            loop {
                match Frame::parse(&mut buf) {
                    Ok(Some(frame)) => read.push(frame),
                    Ok(None) => break,
                    Err(e) => {
                        let message = format!("{e} after {} frames", read.len());
                        return Err(TestCaseError::fail(message));
                    }
                }
            }
        }
        prop_assert_eq!(read, frames);
        prop_assert!(buf.is_empty());
    }

    /// A frame cut short is "need more bytes" (and the buffer is left alone); its body cut
    /// short is `Truncated`, even under a length prefix that agrees with the cut.
    #[test]
    fn truncated_frames_wait_or_fail(frame in arb_frame(), cut in any::<Index>()) {
        let wire = encode(&frame);
        let n = cut.index(wire.len());
        let mut buf = BytesMut::from(&wire[..n]);
        prop_assert_eq!(Frame::parse(&mut buf), Ok(None));
        prop_assert_eq!(&buf[..], &wire[..n]);
        buf.extend_from_slice(&wire[n..]);
        prop_assert_eq!(Frame::parse(&mut buf), Ok(Some(frame)));
        prop_assert!(buf.is_empty());

        let body = &wire[4..];
        let m = cut.index(body.len());
        prop_assert_eq!(
            Frame::decode_body(Bytes::copy_from_slice(&body[..m])),
            Err(FrameError::Truncated)
        );
        let mut buf = BytesMut::new();
        buf.put_u32(m as u32);
        buf.put_slice(&body[..m]);
        prop_assert_eq!(Frame::parse(&mut buf), Err(FrameError::Truncated));
    }

    /// A frame followed by garbage is read first, and the garbage is left for the next read.
    #[test]
    fn frame_then_garbage(frame in arb_frame(), garbage in vec(any::<u8>(), 0..64)) {
        let mut buf = encode(&frame);
        buf.extend_from_slice(&garbage);
        prop_assert_eq!(Frame::parse(&mut buf), Ok(Some(frame)));
        prop_assert_eq!(&buf[..], &garbage[..]);
        parse_stream(&garbage)?;
    }

    /// The seed frames, damaged; half the time with the length prefix then set to agree, so
    /// that the damage reaches the body decoder through `parse` too.
    #[test]
    fn mutated_corpus_frames(
        seed in any::<Index>(),
        mutations in vec(arb_mutation(FRAME_TOKENS), 1..6),
        fix_prefix in any::<bool>(),
    ) {
        let mut bytes = mutate(seed.get(&FRAME_SEEDS).1.clone(), &mutations);
        if fix_prefix && bytes.len() >= 4 {
            let len = bytes.len() as u32 - 4;
            bytes[..4].copy_from_slice(&len.to_be_bytes());
        }
        parse_stream(&bytes)?;
        if bytes.len() >= 4 {
            check_body(&bytes[4..])?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Event arguments

/// Whitespace as `str::trim` sees it (Unicode White_Space), a sample.
const WHITESPACE: &[char] = &[
    ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2003}',
    '\u{2028}', '\u{3000}',
];

/// Invisible or space-like, but not whitespace: a text of these is not blank.
const NOT_WHITESPACE: &[char] = &['\u{0}', '\u{180e}', '\u{200b}', '\u{202e}', '\u{feff}'];

/// Repeated to make long texts and offsets, 1 to 4 bytes a character.
const UNITS: &[&str] = &["x", "k", "é", "€", "😀"];

fn arb_string() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        3 => any::<char>(),
        3 => proptest::char::range(' ', '~'),
        2 => select(WHITESPACE),
        1 => select(NOT_WHITESPACE),
    ];
    prop_oneof![
        4 => vec(ch, 0..24).prop_map(String::from_iter),
        1 => vec(select(WHITESPACE), 0..6).prop_map(String::from_iter),
        1 => (select(UNITS), 0usize..1500).prop_map(|(unit, n)| unit.repeat(n)),
        1 => (select(UNITS), 126usize..=130).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

/// Any JSON value. Floats are short dyadic fractions, which print and parse back exactly.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i16>().prop_map(|n| Value::from(f64::from(n) / 256.0)),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((arb_string(), inner), 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Event arguments: anything, or two strings, as a `chat message` should carry.
fn arb_args() -> impl Strategy<Value = Vec<Value>> {
    prop_oneof![
        vec(arb_json(), 0..5),
        (arb_string(), arb_string()).prop_map(|(a, b)| vec![a.into(), b.into()]),
        (arb_json(), arb_json()).prop_map(|(a, b)| vec![a, b]),
    ]
}

fn arb_max_bytes() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(MessageText::DEFAULT_MAX_BYTES),
        0usize..64,
        0usize..8192,
        Just(usize::MAX),
    ]
}

/// Text with at least one character that is not whitespace.
fn arb_non_blank() -> impl Strategy<Value = String> {
    let solid = prop_oneof![
        any::<char>().prop_filter("not whitespace", |c| !c.is_whitespace()),
        select(NOT_WHITESPACE),
    ];
    (arb_string(), solid, arb_string()).prop_map(|(a, c, b)| format!("{a}{c}{b}"))
}

/// A client offset as the rules accept it: 1 to 128 characters.
fn arb_client_offset() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{20}-[0-9]{1,6}",
        vec(any::<char>(), 1..=ClientOffset::MAX_CHARS).prop_map(String::from_iter),
        (select(UNITS), 1..=ClientOffset::MAX_CHARS).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The rules of `domain.rs`, written out: exactly two arguments; the text a string of at
/// most `max_bytes` UTF-8 bytes, not only whitespace, kept as sent; the client offset a
/// string of 1 to 128 characters. The first rule broken names the error.
fn rules(args: &[Value], max_bytes: usize) -> Result<(String, String), ValidationError> {
    let [text, client_offset] = args else {
        return Err(ValidationError::ArgumentCount(args.len()));
    };
    let Value::String(text) = text else {
        return Err(ValidationError::TextNotString(type_name(text)));
    };
    if text.len() > max_bytes {
        return Err(ValidationError::TextTooLong {
            len: text.len(),
            max: max_bytes,
        });
    }
    if text.chars().all(char::is_whitespace) {
        return Err(ValidationError::EmptyText);
    }
    let Value::String(client_offset) = client_offset else {
        return Err(ValidationError::ClientOffsetNotString(type_name(
            client_offset,
        )));
    };
    match client_offset.chars().count() {
        0 => Err(ValidationError::EmptyClientOffset),
        n if n > ClientOffset::MAX_CHARS => Err(ValidationError::ClientOffsetTooLong(n)),
        _ => Ok((text.clone(), client_offset.clone())),
    }
}

fn check_validation(args: Vec<Value>, max_bytes: usize) -> Result<(), TestCaseError> {
    let expected = rules(&args, max_bytes);
    match (NewMessage::from_event_args(args, max_bytes), expected) {
        (Ok(message), Ok((text, client_offset))) => {
            let got = message.text.as_str();
            prop_assert!(got.len() <= max_bytes, "{} bytes > {max_bytes}", got.len());
            prop_assert!(!got.trim().is_empty());
            prop_assert_eq!(got, text.as_str());
            let key = message.client_offset.as_str();
            prop_assert!((1..=ClientOffset::MAX_CHARS).contains(&key.chars().count()));
            prop_assert_eq!(key, client_offset.as_str());
        }
        (Err(error), Err(expected)) => {
            prop_assert_eq!(&error, &expected);
            prop_assert!(!error.to_string().is_empty());
        }
        (got, expected) => {
            let message = format!("got {got:?}, the rules say {expected:?}");
            return Err(TestCaseError::fail(message));
        }
    }
    Ok(())
}

/// `auth.serverOffset` as the docs of `from_auth` say: a non-negative integer, or a string
/// of one (surrounding whitespace ignored); anything else, or nothing, is 0.
fn expected_offset(auth: &Value) -> i64 {
    let offset = match auth.as_object().and_then(|auth| auth.get("serverOffset")) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    offset.filter(|n| *n >= 0).unwrap_or(0)
}

fn check_from_auth(auth: &Value) -> Result<(), TestCaseError> {
    let ServerOffset(offset) = ServerOffset::from_auth(auth);
    prop_assert!(offset >= 0);
    prop_assert_eq!(offset, expected_offset(auth));
    Ok(())
}

/// JSON text as it arrives: deserializing [`EventArgs`] succeeds exactly when the text is a
/// JSON array, yielding its elements, which then validate by the rules. Any JSON value read
/// as an auth payload gives a non-negative offset.
fn check_json_text(text: &str) -> Result<(), TestCaseError> {
    let args = serde_json::from_str::<EventArgs>(text);
    let value = serde_json::from_str::<Value>(text);
    match (&args, &value) {
        (Ok(EventArgs(args)), Ok(Value::Array(elements))) => prop_assert_eq!(args, elements),
        (Err(_), Ok(Value::Array(_))) | (Ok(_), _) => {
            let message = format!("EventArgs: {args:?}, Value: {value:?}");
            return Err(TestCaseError::fail(message));
        }
        (Err(_), _) => {}
    }
    if let Ok(EventArgs(args)) = args {
        check_validation(args, MessageText::DEFAULT_MAX_BYTES)?;
    }
    if let Ok(value) = value {
        check_from_auth(&value)?;
    }
    Ok(())
}

/// Text that is mostly not JSON, JSON's alphabet at random, and serialized values damaged.
fn arb_json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"[\[\]{}",:0-9a-zA-Z\\ .+-]{0,40}"#,
        arb_json().prop_map(|value| value.to_string()),
        (vec(arb_json(), 0..4), vec(arb_mutation(JSON_TOKENS), 0..4)).prop_map(
            |(args, mutations)| {
                let text = serde_json::to_vec(&args).unwrap();
                String::from_utf8_lossy(&mutate(text, &mutations)).into_owned()
            }
        ),
    ]
}

/// An auth payload: anything, or an object whose `serverOffset` is a number, a numeric
/// string, or anything.
fn arb_auth() -> impl Strategy<Value = Value> {
    let offset = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i16>().prop_map(|n| Value::from(f64::from(n) / 4.0)),
        (
            vec(select(WHITESPACE), 0..3),
            any::<i64>(),
            vec(select(WHITESPACE), 0..3)
        )
            .prop_map(|(l, n, r)| Value::String(format!(
                "{}{n}{}",
                String::from_iter(l),
                String::from_iter(r)
            ))),
        "[+-]?[0-9]{0,20}".prop_map(Value::String),
        arb_json(),
    ];
    prop_oneof![
        arb_json(),
        (offset, vec((arb_string(), arb_json()), 0..3)).prop_map(|(offset, others)| {
            let mut auth: serde_json::Map<String, Value> = others.into_iter().collect();
            auth.insert("serverOffset".into(), offset);
            Value::Object(auth)
        }),
    ]
}

#[test]
fn event_args_corpus_replays() {
    let (mut ok, mut err) = (0, 0);
    for (name, bytes) in EVENT_ARGS_SEEDS.iter() {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_json_text(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let outcome = serde_json::from_str::<EventArgs>(text)
            .map_err(|e| e.to_string())
            .and_then(|EventArgs(args)| {
                NewMessage::from_event_args(args, MessageText::DEFAULT_MAX_BYTES)
                    .map_err(|e| e.to_string())
            });
        if name.starts_with("ok-") {
            assert!(outcome.is_ok(), "{name} must be accepted: {outcome:?}");
            ok += 1;
        } else {
            assert!(name.starts_with("err-"), "{name}: name it ok-* or err-*");
            assert!(outcome.is_err(), "{name} must be refused: {outcome:?}");
            err += 1;
        }
    }
    assert!(ok > 0 && err > 0);
}

proptest! {
    #![proptest_config(config())]

    /// Any arguments: accepted exactly by the rules, else refused with the first broken one.
    #[test]
    fn event_args_follow_the_rules(args in arb_args(), max_bytes in arb_max_bytes()) {
        check_validation(args, max_bytes)?;
    }

    /// Well-formed arguments are accepted as sent, up to a limit of exactly their size, and
    /// refused one byte below it; the same after a trip through JSON text.
    #[test]
    fn well_formed_event_args_are_accepted(
        text in arb_non_blank(),
        client_offset in arb_client_offset(),
        slack in 0usize..4,
    ) {
        let args = vec![Value::from(text.as_str()), Value::from(client_offset.as_str())];
        let message = NewMessage::from_event_args(args.clone(), text.len() + slack);
        prop_assert!(message.is_ok(), "{message:?}");
        let message = message.unwrap();
        prop_assert_eq!(message.text.as_str(), text.as_str());
        prop_assert_eq!(message.client_offset.as_str(), client_offset.as_str());
        prop_assert_eq!(
            NewMessage::from_event_args(args.clone(), text.len() - 1),
            Err(ValidationError::TextTooLong { len: text.len(), max: text.len() - 1 })
        );
        let json = serde_json::to_string(&args).unwrap();
        let EventArgs(decoded) = serde_json::from_str::<EventArgs>(&json)
            .map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
        prop_assert_eq!(
            NewMessage::from_event_args(decoded, text.len()).map(|m| m.text.into_inner()),
            Ok(text)
        );
    }

    /// Arbitrary text as event arguments and as an auth payload.
    #[test]
    fn event_args_from_arbitrary_text(text in arb_json_text()) {
        check_json_text(&text)?;
    }

    /// Any list of JSON values, as text (compact or pretty) or as a value, deserializes to
    /// itself.
    #[test]
    fn event_args_round_trip_through_json(args in vec(arb_json(), 0..5), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&args)
        } else {
            serde_json::to_string(&args)
        }
        .unwrap();
        prop_assert_eq!(
            serde_json::from_str::<EventArgs>(&text).map_err(|e| e.to_string()),
            Ok(EventArgs(args.clone()))
        );
        let value = Value::Array(args.clone());
        prop_assert_eq!(
            serde_json::from_value::<EventArgs>(value).map_err(|e| e.to_string()),
            Ok(EventArgs(args))
        );
        check_json_text(&text)?;
    }

    /// The seed arguments, damaged.
    #[test]
    fn mutated_corpus_event_args(
        seed in any::<Index>(),
        mutations in vec(arb_mutation(JSON_TOKENS), 1..6),
    ) {
        let bytes = mutate(seed.get(&EVENT_ARGS_SEEDS).1.clone(), &mutations);
        check_json_text(&String::from_utf8_lossy(&bytes))?;
    }

    /// Any auth payload gives a non-negative offset, by the documented rules.
    #[test]
    fn server_offset_from_any_auth(auth in arb_auth()) {
        check_from_auth(&auth)?;
    }

    /// A non-negative offset is read as a number or as a padded numeric string; a negative,
    /// out-of-range or fractional one means "from the beginning".
    #[test]
    fn server_offsets_are_read(n in 0..=i64::MAX, pad in vec(select(WHITESPACE), 0..3)) {
        let pad = String::from_iter(pad);
        let read = |offset: Value| ServerOffset::from_auth(&json!({ "serverOffset": offset })).0;
        prop_assert_eq!(read(json!(n)), n);
        prop_assert_eq!(read(json!(format!("{pad}{n}{pad}"))), n);
        prop_assert_eq!(read(json!(-n - 1)), 0);
        prop_assert_eq!(read(json!(format!("{pad}{}", -n - 1))), 0);
        prop_assert_eq!(read(json!(n as u64 + (1 << 63))), 0);
        prop_assert_eq!(read(json!((n % 1_000_000) as f64 + 0.5)), 0);
    }
}
