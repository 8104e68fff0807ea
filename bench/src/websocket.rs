//! A minimal websocket client (RFC 6455) over a `TcpStream`: the HTTP upgrade, masked
//! client frames, and the server's unmasked frames parsed in place in one read buffer.
//!
//! The harness must stay cheaper than the server it measures. A general-purpose client
//! allocates per received message; this one hands out slices of its read buffer, so a read
//! that brings fifty frames costs one syscall and no allocation.

use std::ops::Range;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The handshake key every connection sends (RFC 6455's own example), and the accept value
/// a server must answer it with.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Free space below which the read buffer is compacted before a read.
const MIN_READ_SPACE: usize = 16 * 1024;
/// Initial read buffer size.
const READ_BUFFER: usize = 64 * 1024;
/// Longest HTTP upgrade response accepted.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Why the connection cannot go on.
#[derive(Debug, Error)]
pub enum WsError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server closed the connection (a close frame, or end of stream).
    #[error("connection closed by the server")]
    Closed,
    /// The upgrade was refused or malformed.
    #[error("websocket upgrade failed: {0}")]
    Handshake(String),
    /// The server sent something this client does not speak.
    #[error("unsupported frame: {0}")]
    Unsupported(&'static str),
    /// A text frame that is not UTF-8.
    #[error("text frame is not UTF-8")]
    NotUtf8,
}

/// One client websocket connection.
pub struct WebSocket {
    stream: TcpStream,
    /// Bytes read from the server; `parsed..filled` is not yet handed out.
    buf: Vec<u8>,
    parsed: usize,
    filled: usize,
    /// Control frames (pongs) waiting for the next flush.
    pending: Vec<u8>,
    /// Scratch space for outgoing frames.
    out: Vec<u8>,
    /// The next masking key (a per-connection xorshift; servers only unmask).
    mask_state: u32,
}

/// A received frame: where its payload lies in the read buffer. Valid until the next
/// [`WebSocket::fill`], which may move the buffer's contents.
#[derive(Debug)]
pub struct Frame {
    opcode: u8,
    payload: Range<usize>,
}

/// The address this process connects from, when set: the loopback has all of 127.0.0.0/8,
/// and each source address has its own 28,000 ephemeral ports, so a crowd of 100,000
/// spread over several does not make every `connect` search a crowded port range.
static SOURCE: std::sync::OnceLock<std::net::Ipv4Addr> = std::sync::OnceLock::new();

/// Connects from `source` from now on (once per process).
pub fn connect_from(source: std::net::Ipv4Addr) {
    let _ = SOURCE.set(source);
}

impl WebSocket {
    /// Connects to `host:port` and upgrades `path` to a websocket, with more request header
    /// lines (`Name: value\r\n` each, e.g. a session cookie; empty for none).
    pub async fn connect_with(
        host: &str,
        port: u16,
        path: &str,
        headers: &str,
    ) -> Result<Self, WsError> {
        let mut stream = match SOURCE.get() {
            Some(&source) => {
                let server = tokio::net::lookup_host((host, port))
                    .await?
                    .find(std::net::SocketAddr::is_ipv4)
                    .ok_or_else(|| std::io::Error::other("no IPv4 address for the server"))?;
                let socket = tokio::net::TcpSocket::new_v4()?;
                // The port is picked at connect, for the whole 4-tuple (as without a bind),
                // not at bind, where each needs a port of its own and the search slows as
                // the range fills.
                let on: libc::c_int = 1;
                // SAFETY: setsockopt on a socket we own, with an int option of its size.
                unsafe {
                    libc::setsockopt(
                        std::os::fd::AsRawFd::as_raw_fd(&socket),
                        libc::IPPROTO_IP,
                        libc::IP_BIND_ADDRESS_NO_PORT,
                        (&raw const on).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    );
                }
                socket.bind((source, 0).into())?;
                socket.connect(server).await?
            }
            None => TcpStream::connect((host, port)).await?,
        };
        // As browsers and Node's `ws` do: with Nagle's algorithm on, a small write behind an
        // unacknowledged one waits for the peer's delayed ACK (40 ms), which would show up
        // as latency that no real client sees.
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut ws = Self {
            stream,
            buf: vec![0; READ_BUFFER],
            parsed: 0,
            filled: 0,
            pending: Vec::new(),
            out: Vec::with_capacity(256),
            mask_state: u32::from(port) << 16 | 0x9e37,
        };
        let head_end = loop {
            if let Some(at) = find(&ws.buf[..ws.filled], b"\r\n\r\n") {
                break at + 4;
            }
            if ws.filled >= MAX_RESPONSE_HEAD {
                return Err(WsError::Handshake("response head too long".into()));
            }
            if !ws.fill().await? {
                return Err(WsError::Handshake("closed during the upgrade".into()));
            }
        };
        let head = String::from_utf8_lossy(&ws.buf[..head_end]);
        let status = head.lines().next().unwrap_or_default();
        if !status.starts_with("HTTP/1.1 101") {
            return Err(WsError::Handshake(status.to_owned()));
        }
        if !head.contains(ACCEPT) {
            return Err(WsError::Handshake("wrong Sec-WebSocket-Accept".into()));
        }
        ws.parsed = head_end;
        Ok(ws)
    }

    /// Reads more bytes from the server into the buffer; false at end of stream. Cancel-safe
    /// (it only reads, and a cancelled read consumed nothing), so it can wait in a `select!`.
    pub async fn fill(&mut self) -> Result<bool, WsError> {
        if self.parsed == self.filled {
            self.parsed = 0;
            self.filled = 0;
        }
        if self.buf.len() - self.filled < MIN_READ_SPACE {
            self.buf.copy_within(self.parsed..self.filled, 0);
            self.filled -= self.parsed;
            self.parsed = 0;
            if self.buf.len() - self.filled < MIN_READ_SPACE {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let read = self.stream.read(&mut self.buf[self.filled..]).await?;
        self.filled += read;
        Ok(read > 0)
    }

    /// The next data frame already in the buffer, if a whole one is there. A ping's pong is
    /// queued for the next [`Self::flush`]; a close frame is [`WsError::Closed`].
    pub fn try_next_frame(&mut self) -> Result<Option<Frame>, WsError> {
        loop {
            let Some(frame) = self.parse_frame()? else {
                return Ok(None);
            };
            match frame.opcode {
                OP_TEXT | OP_BINARY => return Ok(Some(frame)),
                OP_PING => {
                    let payload = self.buf[frame.payload].to_vec();
                    let mask = self.next_mask();
                    encode_frame(&mut self.pending, OP_PONG, &payload, mask);
                }
                OP_PONG => {}
                OP_CLOSE => return Err(WsError::Closed),
                _ => return Err(WsError::Unsupported("unknown opcode")),
            }
        }
    }

    /// A frame's payload.
    pub fn payload(&self, frame: &Frame) -> &[u8] {
        &self.buf[frame.payload.clone()]
    }

    /// A text frame's payload as text.
    pub fn text(&self, frame: &Frame) -> Result<&str, WsError> {
        if frame.opcode != OP_TEXT {
            return Err(WsError::Unsupported("binary frame where text was expected"));
        }
        std::str::from_utf8(self.payload(frame)).map_err(|_| WsError::NotUtf8)
    }

    /// Sends one text frame (and any pending control frames before it).
    pub async fn send_text(&mut self, text: &str) -> Result<(), WsError> {
        self.queue_text(text);
        self.flush().await
    }

    /// Adds one text frame to what the next [`Self::flush`] writes (one write for many
    /// frames, as a client library coalesces the sends of one tick).
    pub fn queue_text(&mut self, text: &str) {
        let mask = self.next_mask();
        encode_frame(&mut self.out, OP_TEXT, text.as_bytes(), mask);
    }

    /// Writes every queued frame (no syscall when there is none). Not cancel-safe: keep it
    /// out of `select!`.
    pub async fn flush(&mut self) -> Result<(), WsError> {
        self.out.append(&mut self.pending);
        self.stream.write_all(&self.out).await?;
        self.out.clear();
        Ok(())
    }

    /// Sends a close frame and shuts the write side; errors are ignored (the bench is done).
    pub async fn close(&mut self) {
        let mask = self.next_mask();
        self.out.clear();
        encode_frame(&mut self.out, OP_CLOSE, &[], mask);
        let _ = self.stream.write_all(&self.out).await;
        let _ = self.stream.shutdown().await;
    }

    /// Parses the next whole frame at `parsed`, advancing past it.
    fn parse_frame(&mut self) -> Result<Option<Frame>, WsError> {
        let Some(found) = frame_at(&self.buf[self.parsed..self.filled])? else {
            return Ok(None);
        };
        let payload = self.parsed + found.payload.start..self.parsed + found.payload.end;
        self.parsed = payload.end;
        Ok(Some(Frame {
            opcode: found.opcode,
            payload,
        }))
    }

    fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_be_bytes()
    }
}

/// The first frame in `bytes`, if it is all there (payload range relative to `bytes`).
fn frame_at(bytes: &[u8]) -> Result<Option<Frame>, WsError> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    let (first, second) = (bytes[0], bytes[1]);
    if first & 0x80 == 0 || first & 0x0F == 0 {
        return Err(WsError::Unsupported("fragmented message"));
    }
    if second & 0x80 != 0 {
        return Err(WsError::Unsupported("masked frame from the server"));
    }
    let (len, header) = match second & 0x7F {
        126 if bytes.len() >= 4 => (u64::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
        127 if bytes.len() >= 10 => {
            let mut be = [0; 8];
            be.copy_from_slice(&bytes[2..10]);
            (u64::from_be_bytes(be), 10)
        }
        126 | 127 => return Ok(None),
        short => (u64::from(short), 2),
    };
    let len = usize::try_from(len).map_err(|_| WsError::Unsupported("frame too long"))?;
    if bytes.len() < header + len {
        return Ok(None);
    }
    Ok(Some(Frame {
        opcode: first & 0x0F,
        payload: header..header + len,
    }))
}

/// Appends one final, masked client frame to `out`.
fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server frame (unmasked) with `payload`.
    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload.len() {
            len @ 0..=125 => out.push(len as u8),
            len @ 126..=0xFFFF => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn server_frames_of_every_length_encoding_are_found_only_when_complete() {
        for len in [0, 1, 125, 126, 65_535, 65_536, 200_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut bytes = server_frame(OP_TEXT, &payload);
            bytes.extend_from_slice(&server_frame(OP_TEXT, b"next"));
            let first_len = bytes.len() - 6;
            for cut in [0, 1, first_len - 1] {
                assert!(
                    frame_at(&bytes[..cut]).unwrap().is_none(),
                    "len {len} cut {cut}"
                );
            }
            let frame = frame_at(&bytes).unwrap().expect("a whole frame");
            assert_eq!(frame.opcode, OP_TEXT);
            assert_eq!(&bytes[frame.payload.clone()], &payload[..]);
            assert_eq!(
                frame.payload.end, first_len,
                "the next frame starts right after"
            );
        }
    }

    #[test]
    fn fragmented_and_masked_server_frames_are_refused() {
        let mut fragment = server_frame(OP_TEXT, b"part");
        fragment[0] &= 0x7F;
        assert!(matches!(frame_at(&fragment), Err(WsError::Unsupported(_))));
        let mut masked = server_frame(OP_TEXT, b"x");
        masked[1] |= 0x80;
        assert!(matches!(frame_at(&masked), Err(WsError::Unsupported(_))));
    }

    #[test]
    fn client_frames_are_masked_with_the_right_length_encoding() {
        for len in [0, 5, 125, 126, 300, 70_000] {
            let payload = vec![b'x'; len];
            let mut out = Vec::new();
            encode_frame(&mut out, OP_TEXT, &payload, [1, 2, 3, 4]);
            assert_eq!(out[0], 0x81);
            assert_eq!(out[1] & 0x80, 0x80, "masked");
            let (declared, header) = match out[1] & 0x7F {
                126 => (u16::from_be_bytes([out[2], out[3]]) as usize, 4),
                127 => (
                    u64::from_be_bytes(out[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                short => (short as usize, 2),
            };
            assert_eq!(declared, len);
            let mask = &out[header..header + 4];
            let unmasked: Vec<u8> = out[header + 4..]
                .iter()
                .zip(mask.iter().cycle())
                .map(|(b, m)| b ^ m)
                .collect();
            assert_eq!(unmasked, payload);
        }
    }
}
