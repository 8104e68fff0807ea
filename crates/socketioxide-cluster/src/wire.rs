//! The field encoding every [`crate::Frame`] uses, public so that an application can encode
//! its own payloads ([`crate::Frame::App`]) the same way and with the same guarantees.
//!
//! A frame is a 4-byte big-endian length ([`begin_frame`], [`end_frame`], [`split_frame`]),
//! then its fields: integers big-endian, byte strings and strings as a 4-byte big-endian
//! length and the bytes, optional strings as a presence byte (0 or 1) and the string when
//! present. Every `get_*` checks that the bytes are there first and returns a
//! [`FrameError`] instead of panicking, so input from a peer is never trusted.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest frame body accepted (16 MiB): a bound on what a peer can make us allocate.
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Why bytes could not be decoded as a frame. Any of these means the stream is corrupt and
/// the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame body ended before one of its fields did.
    #[error("truncated frame")]
    Truncated,
    /// The tag names no frame this version knows.
    #[error("unknown frame tag {0}")]
    UnknownTag(u8),
    /// A string field was not UTF-8.
    #[error("invalid UTF-8 in a string field")]
    InvalidUtf8,
    /// Bytes were left in the body after the frame's last field.
    #[error("{0} trailing bytes after the frame")]
    TrailingBytes(usize),
    /// The length prefix exceeds [`MAX_FRAME_LEN`].
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_LEN}")]
    TooLarge(usize),
    /// An optional field's presence byte was neither 0 nor 1 ([`get_optional`];
    /// the adapter's own frames have no optional fields).
    #[error("invalid presence flag {0}")]
    BadFlag(u8),
}

/// Starts a frame in `out`: reserves its length prefix. Pass the returned position to
/// [`end_frame`] once the fields are written.
pub fn begin_frame(out: &mut BytesMut) -> usize {
    let start = out.len();
    out.put_u32(0);
    start
}

/// Ends the frame begun at `start`: writes its length prefix.
pub fn end_frame(out: &mut BytesMut, start: usize) {
    let len = u32::try_from(out.len() - start - 4).expect("a frame body fits in u32");
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Takes one whole frame body (without its length prefix) off the front of `buf`, if one
/// is there. `Ok(None)` means "need more bytes" and leaves `buf` as it was (reserving room
/// for the rest); a length above [`MAX_FRAME_LEN`] is refused before anything is allocated.
pub fn split_frame(buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(len));
    }
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Fails unless the whole body was read: bytes after the last field mean a corrupt frame.
pub fn finish(body: &Bytes) -> Result<(), FrameError> {
    if body.has_remaining() {
        Err(FrameError::TrailingBytes(body.remaining()))
    } else {
        Ok(())
    }
}

/// Appends a byte string: its length, then the bytes.
pub fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(u32::try_from(bytes.len()).expect("a field fits in u32"));
    out.put_slice(bytes);
}

/// Appends an optional string: a presence byte, then the string when present.
pub fn put_optional(out: &mut BytesMut, value: Option<&str>) {
    match value {
        None => out.put_u8(0),
        Some(value) => {
            out.put_u8(1);
            put_bytes(out, value.as_bytes());
        }
    }
}

/// Fails unless `b` holds at least `n` more bytes (the `get_*` of `Buf` panic otherwise).
fn need(b: &Bytes, n: usize) -> Result<(), FrameError> {
    if b.remaining() < n {
        Err(FrameError::Truncated)
    } else {
        Ok(())
    }
}

/// Reads a byte.
pub fn get_u8(b: &mut Bytes) -> Result<u8, FrameError> {
    need(b, 1)?;
    Ok(b.get_u8())
}

/// Reads a big-endian `u16`.
pub fn get_u16(b: &mut Bytes) -> Result<u16, FrameError> {
    need(b, 2)?;
    Ok(b.get_u16())
}

/// Reads a big-endian `u32`.
pub fn get_u32(b: &mut Bytes) -> Result<u32, FrameError> {
    need(b, 4)?;
    Ok(b.get_u32())
}

/// Reads a big-endian `u64`.
pub fn get_u64(b: &mut Bytes) -> Result<u64, FrameError> {
    need(b, 8)?;
    Ok(b.get_u64())
}

/// Reads a big-endian `i64`.
pub fn get_i64(b: &mut Bytes) -> Result<i64, FrameError> {
    need(b, 8)?;
    Ok(b.get_i64())
}

/// Reads a byte string, sharing `b`'s allocation rather than copying it.
pub fn get_bytes(b: &mut Bytes) -> Result<Bytes, FrameError> {
    let len = get_u32(b)? as usize;
    need(b, len)?;
    Ok(b.split_to(len))
}

/// Reads a UTF-8 string.
pub fn get_string(b: &mut Bytes) -> Result<String, FrameError> {
    let bytes = get_bytes(b)?;
    String::from_utf8(bytes.into()).map_err(|_| FrameError::InvalidUtf8)
}

/// Reads an optional string ([`put_optional`]).
pub fn get_optional(b: &mut Bytes) -> Result<Option<String>, FrameError> {
    match get_u8(b)? {
        0 => Ok(None),
        1 => get_string(b).map(Some),
        other => Err(FrameError::BadFlag(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_as_written_and_a_short_body_is_an_error() {
        let mut out = BytesMut::new();
        let start = begin_frame(&mut out);
        out.put_u64(7);
        put_bytes(&mut out, "héllo".as_bytes());
        put_optional(&mut out, None);
        put_optional(&mut out, Some("bo"));
        out.put_i64(-3);
        end_frame(&mut out, start);
        let mut body = split_frame(&mut out).unwrap().expect("a whole frame");
        assert!(out.is_empty());
        assert_eq!(get_u64(&mut body), Ok(7));
        assert_eq!(get_string(&mut body).as_deref(), Ok("héllo"));
        assert_eq!(get_optional(&mut body), Ok(None));
        assert_eq!(get_optional(&mut body), Ok(Some("bo".to_owned())));
        assert_eq!(get_i64(&mut body), Ok(-3));
        assert_eq!(finish(&body), Ok(()));
        assert_eq!(get_u8(&mut body), Err(FrameError::Truncated));
        assert_eq!(
            get_optional(&mut Bytes::from_static(&[2])),
            Err(FrameError::BadFlag(2))
        );
        assert_eq!(
            finish(&Bytes::from_static(&[0])),
            Err(FrameError::TrailingBytes(1))
        );
    }
}
