//! Frames over a Unix stream: a buffered reader, and a writer task fed by a bounded queue.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::frame::{Frame, FrameError};

/// Why a frame stream ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed.
    #[error("IPC socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not a frame.
    #[error("corrupt IPC frame: {0}")]
    Frame(#[from] FrameError),
}

/// Reads whole frames from the read half of a stream.
pub struct FrameReader {
    half: OwnedReadHalf,
    buf: BytesMut,
}

impl FrameReader {
    /// Wraps a read half.
    pub fn new(half: OwnedReadHalf) -> Self {
        Self {
            half,
            buf: BytesMut::with_capacity(64 * 1024),
        }
    }

    /// The next frame; `Ok(None)` at a clean end of stream.
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

/// Writes every frame from `queue` to `half`, coalescing whatever is queued into one write.
/// Ends when the queue closes (all senders dropped) or the socket fails.
pub async fn write_frames(
    mut half: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Frame>,
) -> Result<(), ConnectionError> {
    let mut frames = Vec::with_capacity(256);
    let mut out = BytesMut::with_capacity(64 * 1024);
    while queue.recv_many(&mut frames, 256).await > 0 {
        for frame in frames.drain(..) {
            frame.encode(&mut out);
        }
        half.write_all(&out).await?;
        out.clear();
    }
    half.shutdown().await?;
    Ok(())
}
