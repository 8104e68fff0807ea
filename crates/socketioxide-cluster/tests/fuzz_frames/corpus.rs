//! The seed corpus of `tests/corpus/frames`: one encoded frame of every variant (plus a
//! few edge cases), the ignored test that writes it, and the test that it still is what
//! the codec writes.

use std::collections::BTreeSet;
use std::fs;
use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use socketioxide_cluster::Frame;

use super::{VARIANTS, encode};

const FRAME_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/frames");

/// Every `*.bin` file of the corpus, by name.
fn load_corpus() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = fs::read_dir(FRAME_CORPUS)
        .unwrap_or_else(|e| panic!("cannot read the corpus {FRAME_CORPUS}: {e}"))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "bin"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

pub static FRAME_SEEDS: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
    let seeds = load_corpus();
    assert!(!seeds.is_empty(), "no *.bin seeds in {FRAME_CORPUS}");
    seeds
});

/// The variant's name. No wildcard arm: a new variant does not compile until it is named
/// here; then add it to `arb_frame` and `corpus_frames`, bump [`VARIANTS`] and rerun
/// `write_frame_corpus`.
fn variant(frame: &Frame) -> &'static str {
    match frame {
        Frame::Hello { .. } => "hello",
        Frame::Welcome => "welcome",
        Frame::Subscribe { .. } => "subscribe",
        Frame::Unsubscribe { .. } => "unsubscribe",
        Frame::Publish { .. } => "publish",
        Frame::Message { .. } => "message",
        Frame::CountSubscribers { .. } => "count-subscribers",
        Frame::SubscriberCount { .. } => "subscriber-count",
        Frame::App { .. } => "app",
    }
}

/// The seed frames: one of every variant, and a few edge cases (suffixed names).
fn corpus_frames() -> Vec<(&'static str, Frame)> {
    vec![
        ("", Frame::Hello { worker: 1 }),
        ("-max", Frame::Hello { worker: u16::MAX }),
        ("", Frame::Welcome),
        (
            "",
            Frame::Subscribe {
                channel: "socket.io-request#/#".into(),
            },
        ),
        (
            "-empty",
            Frame::Subscribe {
                channel: String::new(),
            },
        ),
        (
            "",
            Frame::Unsubscribe {
                channel: "socket.io-response#/chät#Zx8YqF2mAAAB#".into(),
            },
        ),
        (
            "",
            Frame::Publish {
                channel: "socket.io-request#/#".into(),
                payload: Bytes::from_static(&[0x92, 0xa1, b'x', 0x00, 0xff]),
            },
        ),
        (
            "",
            Frame::Message {
                channel: "socket.io-request#/#".into(),
                payload: Bytes::from_static(b"\x81\xa4type\x01"),
            },
        ),
        (
            "",
            Frame::CountSubscribers {
                request: 9,
                channel: "socket.io-request#/#".into(),
            },
        ),
        (
            "",
            Frame::SubscriberCount {
                request: u64::MAX,
                count: 3,
            },
        ),
        (
            "",
            Frame::App {
                payload: Bytes::from_static("an app's bytes: 👋 \x00\u{7f}".as_bytes()),
            },
        ),
        (
            "-empty",
            Frame::App {
                payload: Bytes::new(),
            },
        ),
    ]
}

fn corpus_file_name(suffix: &str, frame: &Frame) -> String {
    format!("{:02}-{}{suffix}.bin", encode(frame)[4], variant(frame))
}

#[test]
#[ignore = "writes tests/corpus/frames: run by hand after changing the frame format"]
fn write_frame_corpus() {
    fs::create_dir_all(FRAME_CORPUS).expect("create the corpus directory");
    for entry in fs::read_dir(FRAME_CORPUS).expect("read the corpus directory") {
        let path = entry.expect("a corpus entry").path();
        if path.extension().is_some_and(|e| e == "bin") {
            fs::remove_file(path).expect("remove an old seed");
        }
    }
    for (suffix, frame) in corpus_frames() {
        let path = format!("{FRAME_CORPUS}/{}", corpus_file_name(suffix, &frame));
        fs::write(path, encode(&frame)).expect("write a seed");
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
         `cargo test -p socketioxide-cluster --test fuzz_frames -- --ignored write_frame_corpus`"
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
        VARIANTS,
        "one seed of every variant: {variants:?}"
    );
}
