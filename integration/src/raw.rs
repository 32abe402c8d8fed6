//! A raw, blocking RESP connection for byte-level tests: send any bytes,
//! read replies decoded by `redis-protocol` (an independent decoder) as
//! RESP2 or RESP3 frames or as their exact bytes, or read everything until
//! the server closes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub use redis_protocol::resp2::types::OwnedFrame as Frame;
pub use redis_protocol::resp3::types::OwnedFrame as Frame3;

/// A decoder: `Ok(Some((frame, bytes used)))`, `Ok(None)` when incomplete.
type Decode<F> = fn(&[u8]) -> Result<Option<(F, usize)>, redis_protocol::error::RedisProtocolError>;

/// Encodes a command as a RESP multibulk of bulk strings.
pub fn encode_cmd<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The text of a leaf frame (lossy), or a debug rendering of others.
pub fn frame_text(f: &Frame) -> String {
    match f {
        Frame::SimpleString(b) | Frame::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Error(e) => e.clone(),
        Frame::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    /// Connects with 10 s read and write timeouts.
    pub fn connect(addr: SocketAddr) -> io::Result<RawConn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        let mut c = RawConn {
            stream,
            buf: Vec::new(),
        };
        c.set_timeout(Duration::from_secs(10))?;
        Ok(c)
    }

    pub fn set_timeout(&mut self, t: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(t))?;
        self.stream.set_write_timeout(Some(t))
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn send_cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        self.send(&encode_cmd(args))
    }

    /// Sends a command and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Frame> {
        self.send_cmd(args)?;
        self.read_frame()
    }

    /// Reads one reply. `UnexpectedEof` if the server closes first,
    /// `InvalidData` if the bytes are not RESP2.
    pub fn read_frame(&mut self) -> io::Result<Frame> {
        self.read_with(redis_protocol::resp2::decode::decode)
            .map(|(f, _)| f)
    }

    /// Reads one RESP3 reply (after `HELLO 3`).
    pub fn read_frame3(&mut self) -> io::Result<Frame3> {
        self.read_with(redis_protocol::resp3::decode::complete::decode)
            .map(|(f, _)| f)
    }

    /// Reads one RESP2 reply and returns its exact bytes.
    pub fn read_reply_bytes(&mut self) -> io::Result<Vec<u8>> {
        self.read_with(redis_protocol::resp2::decode::decode)
            .map(|(_, b)| b)
    }

    /// Reads one RESP3 reply and returns its exact bytes.
    pub fn read_reply_bytes3(&mut self) -> io::Result<Vec<u8>> {
        self.read_with(redis_protocol::resp3::decode::complete::decode)
            .map(|(_, b)| b)
    }

    /// Reads until `decode` finds a whole frame at the front of the buffer;
    /// returns it with its bytes.
    fn read_with<F>(&mut self, decode: Decode<F>) -> io::Result<(F, Vec<u8>)> {
        loop {
            match decode(&self.buf) {
                Ok(Some((frame, used))) => {
                    let bytes = self.buf.drain(..used).collect();
                    return Ok((frame, bytes));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad reply {:?}: {e:?}", String::from_utf8_lossy(&self.buf)),
                    ))
                }
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "closed with {:?} unparsed",
                        String::from_utf8_lossy(&self.buf)
                    ),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads every byte until the server closes the connection (a reset
    /// counts as a close). Fails on the read timeout: the server kept the
    /// connection open.
    pub fn read_until_close(&mut self) -> io::Result<Vec<u8>> {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(out),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "connection still open after {:?}: {e}",
                            String::from_utf8_lossy(&out)
                        ),
                    ))
                }
            }
        }
    }

    /// Whether the server closed the connection within `wait` (data that
    /// arrives meanwhile is kept for the next read).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut chunk = [0u8; 4096];
        let closed = loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(10)));
        closed
    }
}
