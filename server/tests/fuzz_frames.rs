//! Fuzzing, as property tests (proptest: cargo-fuzz needs a nightly toolchain), of the IPC
//! frame decoder ([`Frame::parse`], [`Frame::decode_body`]), where bytes from another
//! process are decoded: fed arbitrary bytes, plausible field soups, generated frames (whole,
//! damaged, cut short, split across reads, followed by garbage), and the seed frames of
//! `tests/corpus/frames/*.bin` mutated (bit flips, truncations, insertions, length fields
//! off by a little or set to extremes). It must never panic, must take a frame exactly when
//! its length prefix says the bytes are there, and whatever it accepts must re-encode to
//! the bytes it was read from.
//!
//! Corpus: `tests/corpus/frames` holds one encoded frame of every variant (plus a few edge
//! cases), written by the ignored test `write_frame_corpus`:
//! `cargo test -p chat-server --test fuzz_frames -- --ignored write_frame_corpus`. Run it
//! again after changing the frame format; `frame_corpus_replays` fails until then.
//! Time bounds and regressions: see `fuzz_support`.

mod fuzz_support;

use std::collections::BTreeSet;
use std::fs;
use std::sync::LazyLock;

use bytes::{BufMut, Bytes, BytesMut};
use chat_server::ipc::frame::{Frame, FrameError, MAX_FRAME_LEN};
use fuzz_support::{arb_mutation, config, load_corpus, mutate};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

const FRAME_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/frames");

static FRAME_SEEDS: LazyLock<Vec<(String, Vec<u8>)>> =
    LazyLock::new(|| load_corpus(FRAME_CORPUS, "bin"));

#[path = "fuzz_frames/corpus.rs"]
mod corpus;
#[path = "fuzz_frames/strategies.rs"]
mod strategies;

use corpus::{corpus_file_name, corpus_frames, encode, variant};
use strategies::{FRAME_TOKENS, arb_body, arb_frame, length_prefixed};

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
    assert_eq!(variants.len(), 9, "one seed of every variant: {variants:?}");
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
