//! Frames over a Unix stream: a buffered reader, and a writer fed by a bounded queue.
//!
//! Both ends of a link use these two halves. Writing goes through an `mpsc` queue so that
//! many tasks can send without sharing the socket, and so that the queue's bound is where
//! back-pressure (worker side) or the cut-off policy (primary side) applies. The writer
//! encodes whatever is queued into one buffer and writes it with one call, so a burst of
//! small frames costs one syscall rather than one each.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::frame::{Frame, FrameError};

/// Frames encoded into one write, at most.
const WRITE_BATCH: usize = 256;

/// Why a frame stream ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed, or closed in the middle of a frame.
    #[error("cluster socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not a frame.
    #[error("corrupt cluster frame: {0}")]
    Frame(#[from] FrameError),
}

/// Reads whole frames from the read half of a Unix stream.
pub struct FrameReader {
    half: OwnedReadHalf,
    buf: BytesMut,
}

impl FrameReader {
    /// Wraps a read half, with a 64 KiB buffer to start with.
    pub fn new(half: OwnedReadHalf) -> Self {
        Self {
            half,
            buf: BytesMut::with_capacity(64 * 1024),
        }
    }

    /// The next frame; `Ok(None)` at a clean end of stream (between frames).
    ///
    /// Cancel safe: a frame partly read stays in the buffer for the next call.
    pub async fn next(&mut self) -> Result<Option<Frame>, ConnectionError> {
        loop {
            if let Some(frame) = Frame::parse(&mut self.buf)? {
                return Ok(Some(frame));
            }
            if self.half.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into())
                };
            }
        }
    }
}

/// Writes every frame from `queue` to `half`, coalescing whatever is queued into one
/// write. Ends, shutting the write side down, when the queue closes (every sender dropped);
/// or with the error when the socket fails.
pub async fn write_frames(
    mut half: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Frame>,
) -> Result<(), ConnectionError> {
    let mut frames = Vec::with_capacity(WRITE_BATCH);
    let mut out = BytesMut::with_capacity(64 * 1024);
    while queue.recv_many(&mut frames, WRITE_BATCH).await > 0 {
        for frame in frames.drain(..) {
            frame.encode(&mut out);
        }
        half.write_all(&out).await?;
        out.clear();
    }
    half.shutdown().await?;
    Ok(())
}
