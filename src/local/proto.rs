//! The bytes on the local socket.
//!
//! Request: one JSON document (`super::Request`, at most `MAX_REQUEST` bytes), then
//! the caller shuts its sending side. Answer: frames of `kind (1 byte) | length
//! (u32, big-endian) | payload`, kind `o` standard output bytes, `e` standard error
//! bytes, `x` the exit code (i32, big-endian) as the last frame.

use std::io::{self, Read, Write};

use serde::Deserialize;

/// Raised when a request or answer changes shape; both sides say which they speak.
pub const PROTOCOL_VERSION: u32 = 1;
/// The socket's name in the store folder.
pub const SOCKET_NAME: &str = "traveler.sock";
/// A request is a command line: far below this.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Output is sent in frames of at most this many bytes.
pub const MAX_FRAME: usize = 1 << 20;

pub const OUT: u8 = b'o';
pub const ERR: u8 = b'e';
pub const EXIT: u8 = b'x';

/// Why a request is not answered.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the request is larger than {MAX_REQUEST} bytes")]
    TooLarge,
    #[error("the request is not readable: {0}")]
    Malformed(String),
    #[error("the request names no protocol version")]
    NoVersion,
    #[error(
        "the command line speaks protocol version {got} and this bench application \
         version {PROTOCOL_VERSION}: use the same traveler for both (or close the \
         application)"
    )]
    Version { got: u32 },
    #[error("no request arrived: {0}")]
    Io(#[from] io::Error),
}

/// Reads and checks one request: size, version, then shape.
pub fn read_request(r: impl Read) -> Result<super::Request, RequestError> {
    let mut buf = Vec::new();
    r.take(MAX_REQUEST as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > MAX_REQUEST {
        return Err(RequestError::TooLarge);
    }
    parse_request(&buf)
}

/// Checks the version before the shape, so a newer command line is told so, not
/// that its request is malformed.
pub fn parse_request(buf: &[u8]) -> Result<super::Request, RequestError> {
    #[derive(Deserialize)]
    struct Versioned {
        version: Option<u32>,
    }
    let v: Versioned =
        serde_json::from_slice(buf).map_err(|e| RequestError::Malformed(e.to_string()))?;
    match v.version {
        None => return Err(RequestError::NoVersion),
        Some(PROTOCOL_VERSION) => {}
        Some(got) => return Err(RequestError::Version { got }),
    }
    serde_json::from_slice(buf).map_err(|e| RequestError::Malformed(e.to_string()))
}

/// Writes one frame.
pub fn write_frame(mut w: impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)
}

/// One frame read back.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Out(Vec<u8>),
    Err(Vec<u8>),
    Exit(i32),
}

/// Reads the next frame; `Ok(None)` at a clean end of the stream.
pub fn read_frame(mut r: impl Read) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME})"),
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    match head[0] {
        OUT => Ok(Some(Frame::Out(payload))),
        ERR => Ok(Some(Frame::Err(payload))),
        EXIT if len == 4 => Ok(Some(Frame::Exit(i32::from_be_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ])))),
        k => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an unknown frame kind {k:#04x} of {len} bytes"),
        )),
    }
}

/// Standard output or error of a command, sent as frames of one kind.
pub struct FrameWriter<W: Write> {
    w: W,
    kind: u8,
}

impl<W: Write> FrameWriter<W> {
    pub fn new(w: W, kind: u8) -> FrameWriter<W> {
        FrameWriter { w, kind }
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(MAX_FRAME);
        write_frame(&mut self.w, self.kind, &buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_as_written() {
        let mut buf = Vec::new();
        FrameWriter::new(&mut buf, OUT).write_all(b"hello").unwrap();
        FrameWriter::new(&mut buf, ERR).write_all(b"").unwrap();
        FrameWriter::new(&mut buf, ERR)
            .write_all(b"oops\n")
            .unwrap();
        write_frame(&mut buf, EXIT, &(-3i32).to_be_bytes()).unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some(Frame::Out(b"hello".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some(Frame::Err(b"oops\n".to_vec()))
        );
        assert_eq!(read_frame(&mut r).unwrap(), Some(Frame::Exit(-3)));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let cases: [&[u8]; 4] = [
            b"o\x00\x00",            // cut in its header
            b"o\x00\x00\x00\x09abc", // cut in its payload
            b"o\xff\xff\xff\xffabc", // larger than a frame may be
            b"z\x00\x00\x00\x01a",   // unknown kind
        ];
        for c in cases {
            assert!(read_frame(c).is_err(), "{c:?}");
        }
        assert!(
            read_frame(&b"x\x00\x00\x00\x02ab"[..]).is_err(),
            "exit of 2 bytes"
        );
    }

    #[test]
    fn requests_are_checked_for_size_version_and_shape() {
        let big = vec![b' '; MAX_REQUEST + 10];
        assert!(matches!(
            read_request(&big[..]),
            Err(RequestError::TooLarge)
        ));
        assert!(matches!(
            parse_request(b"{not json"),
            Err(RequestError::Malformed(_))
        ));
        assert!(matches!(parse_request(b"{}"), Err(RequestError::NoVersion)));
        assert!(matches!(
            parse_request(br#"{"version": 99, "anything": 1}"#),
            Err(RequestError::Version { got: 99 })
        ));
        assert!(matches!(
            parse_request(br#"{"version": 1, "read": "Nonsense"}"#),
            Err(RequestError::Malformed(_))
        ));
        let good = super::super::Request {
            version: PROTOCOL_VERSION,
            cwd: "/tmp".into(),
            width: Some(80),
            err_terminal: false,
            store: "/tmp/s".into(),
            instructions: None,
            read: super::super::Read::Verify,
        };
        let bytes = serde_json::to_vec(&good).unwrap();
        let back = parse_request(&bytes).unwrap();
        assert_eq!(back.width, Some(80));
        assert!(matches!(back.read, super::super::Read::Verify));
    }
}
