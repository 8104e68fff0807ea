//! Fuzzing, as property tests (proptest: cargo-fuzz needs a nightly toolchain), of the one
//! place where this crate decodes bytes from another process: the frame decoder
//! ([`Frame::parse`], [`Frame::decode_body`]).
//!
//! It is fed arbitrary bytes, plausible field soups, generated frames (whole, damaged, cut
//! short, split across reads, followed by garbage), and the seed frames of
//! `tests/corpus/frames/*.bin` mutated (bit flips, truncations, insertions, length fields
//! off by a little or set to extremes). It must never panic, must take a frame exactly
//! when its length prefix says the bytes are there, and whatever it accepts must re-encode
//! to the bytes it was read from.
//!
//! Bounded time: each property runs `PROPTEST_CASES` cases (default [`DEFAULT_CASES`]); the
//! other `PROPTEST_*` variables apply as usual. A failing case is shrunk, then its seed is
//! appended to `tests/proptest-regressions/fuzz_frames.txt` (commit that file: its cases
//! are replayed first on every later run).
//!
//! The corpus holds one encoded frame of every variant (plus a few edge cases), written by
//! the ignored test `write_frame_corpus`:
//! `cargo test -p socketioxide-cluster --test fuzz_frames -- --ignored write_frame_corpus`.
//! Run it again after changing the frame format; `frame_corpus_replays` fails until then.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use socketioxide_cluster::{Frame, FrameError, MAX_FRAME_LEN};

/// Cases per property when `PROPTEST_CASES` is not set: the whole file stays within a few
/// seconds in a debug build.
const DEFAULT_CASES: u32 = 1024;

/// Frame variants, for the check that the corpus has one of each.
const VARIANTS: usize = 9;

const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/proptest-regressions/fuzz_frames.txt"
);

/// proptest's defaults (which read the `PROPTEST_*` variables), with our default number of
/// cases and the regressions file under `tests/`.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    // Unless PROPTEST_DISABLE_FAILURE_PERSISTENCE turned it off. (proptest's default looks
    // for a `lib.rs` above this file, finds none, and falls back to a file beside it.)
    if config.failure_persistence.is_some() {
        config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS)));
    }
    config
}

#[path = "fuzz_frames/corpus.rs"]
mod corpus;
#[path = "fuzz_frames/mutation.rs"]
mod mutation;

use corpus::FRAME_SEEDS;
use mutation::{arb_mutation, mutate};

// ---------------------------------------------------------------------------------------
// Frames

fn encode(frame: &Frame) -> BytesMut {
    let mut out = BytesMut::new();
    frame.encode(&mut out);
    out
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9#/ -]{0,12}",
        vec(any::<char>(), 0..16).prop_map(String::from_iter),
    ]
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    let payload = || vec(any::<u8>(), 0..48).prop_map(Bytes::from);
    prop_oneof![
        any::<u16>().prop_map(|worker| Frame::Hello { worker }),
        Just(Frame::Welcome),
        arb_text().prop_map(|channel| Frame::Subscribe { channel }),
        arb_text().prop_map(|channel| Frame::Unsubscribe { channel }),
        (arb_text(), payload()).prop_map(|(channel, payload)| Frame::Publish { channel, payload }),
        (arb_text(), payload()).prop_map(|(channel, payload)| Frame::Message { channel, payload }),
        (any::<u64>(), arb_text())
            .prop_map(|(request, channel)| Frame::CountSubscribers { request, channel }),
        (any::<u64>(), any::<u16>())
            .prop_map(|(request, count)| Frame::SubscriberCount { request, count }),
        payload().prop_map(|payload| Frame::App { payload }),
    ]
}

fn length_prefixed(bytes: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(bytes.len())
        .expect("a short body")
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A frame body that decoding gets much further into than uniform bytes (whose first length
/// field is almost always huge): either plausible fields (a tag, mostly a known one, then
/// integers, small lengths, length-prefixed strings, UTF-8 or not, and raw bytes), or the
/// body of a generated frame, sometimes damaged.
fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![4 => 1u8..=VARIANTS as u8, 1 => any::<u8>()];
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
    let generated = (arb_frame(), vec(arb_mutation(), 0..3))
        .prop_map(|(frame, mutations)| mutate(encode(&frame)[4..].to_vec(), &mutations));
    prop_oneof![soup, generated]
}

fn length_prefix(bytes: &[u8]) -> usize {
    u32::from_be_bytes(bytes[..4].try_into().expect("four bytes")) as usize
}

/// A frame decoded from `body` re-encodes to exactly `body` (the codec has one encoding of
/// each frame), and parses back to itself.
fn check_reencodes(frame: &Frame, body: &[u8]) -> Result<(), TestCaseError> {
    let wire = encode(frame);
    prop_assert_eq!(length_prefix(&wire), wire.len() - 4);
    prop_assert_eq!(&wire[4..], body);
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
        mutations in vec(arb_mutation(), 1..6),
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
