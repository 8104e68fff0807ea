//! The seed corpus of the chat's frames: one frame of every variant (and a few edge
//! cases), how each is named on disk, and the encoding shared by every check.

use bytes::BytesMut;
use chat_server::domain::{ChannelId, ServerOffset};
use chat_server::ipc::frame::Frame;
use chat_server::store::StoredMessage;

/// `frame` with its length prefix, as it travels.
pub fn encode(frame: &Frame) -> BytesMut {
    let mut out = BytesMut::new();
    frame.encode(&mut out);
    out
}

/// The variant's name. No wildcard arm: a new variant does not compile until it is named
/// here; then add it to `arb_frame` and `corpus_frames` and rerun `write_frame_corpus`.
pub fn variant(frame: &Frame) -> &'static str {
    match frame {
        Frame::Welcome { .. } => "welcome",
        Frame::Write { .. } => "write",
        Frame::WriteDone { .. } => "write-done",
        Frame::WriteFailed { .. } => "write-failed",
        Frame::Committed { .. } => "committed",
        Frame::PresenceReport { .. } => "presence-report",
        Frame::Presence { .. } => "presence",
        Frame::RenameReport { .. } => "rename-report",
        Frame::Renamed { .. } => "renamed",
    }
}

/// The seed frames: one of every variant, and a few edge cases (suffixed names).
pub fn corpus_frames() -> Vec<(&'static str, Frame)> {
    let message = |id, text: &str, created_at| StoredMessage {
        id: ServerOffset(id),
        text: text.into(),
        author: "ana".into(),
        created_at,
        channel: ChannelId(if id % 2 == 0 { 1 } else { 3 }),
        seq: id,
    };
    vec![
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
                channel: 1,
            },
        ),
        (
            "-empty",
            Frame::Write {
                request: 0,
                text: String::new(),
                client_offset: String::new(),
                author: String::new(),
                channel: 0,
            },
        ),
        (
            "",
            Frame::WriteDone {
                request: 7,
                offset: ServerOffset(42),
                duplicate: false,
                created_at: 1_700_000_000_123,
            },
        ),
        (
            "-duplicate",
            Frame::WriteDone {
                request: u64::MAX,
                offset: ServerOffset(i64::MAX),
                duplicate: true,
                created_at: i64::MIN,
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
        (
            "",
            Frame::RenameReport {
                from: "guest-a1".into(),
                to: "guest-b2 ✨".into(),
            },
        ),
        (
            "",
            Frame::Renamed {
                from: "guest-a1".into(),
                to: String::new(),
            },
        ),
    ]
}

pub fn corpus_file_name(suffix: &str, frame: &Frame) -> String {
    format!("{:02}-{}{suffix}.bin", encode(frame)[4], variant(frame))
}
