//! Reply values and their encoding for RESP2 and RESP3.
//!
//! Leaf values go through `redis-protocol`'s encoders. Aggregate headers are
//! written here because RESP3 maps must keep their order (`HELLO`,
//! `CLUSTER SHARDS` and `COMMAND DOCS` replies are ordered; the crate's map
//! type is a hash map) and because RESP2 downgrades (map → flat array, set →
//! array, double → bulk string, boolean → integer) must match Redis.

use bytes::{BufMut, Bytes, BytesMut};
use redis_protocol::resp2::types::BorrowedFrame as Frame2;
use redis_protocol::resp3::types::BorrowedFrame as Frame3;

/// The protocol version a connection negotiated with `HELLO`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

impl Protocol {
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// One reply to a client.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`: a status line. Must not contain CR or LF.
    Status(Bytes),
    /// `-ERR …`: the whole error text including its code (`ERR`,
    /// `WRONGTYPE`, `MOVED`, …), without the leading `-`.
    Error(String),
    Integer(i64),
    Bulk(Bytes),
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    Array(Vec<Reply>),
    /// Ordered key/value pairs; a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// Ordered pairs as Redis 7 replies member/score lists (ZRANGE
    /// WITHSCORES, ZPOPMIN with a count, …): an array of two-element
    /// arrays in RESP3, one flat array in RESP2. Lets a reply built
    /// without knowing the client's protocol (during Raft apply) take the
    /// right shape when it is written.
    Pairs(Vec<(Reply, Reply)>),
    /// A set; an array in RESP2.
    Set(Vec<Reply>),
    /// A double; a bulk string (`%.17g`) in RESP2.
    Double(f64),
    /// A boolean; the integer 1 or 0 in RESP2.
    Bool(bool),
    /// A verbatim string with a 3-letter format (`txt`); bulk in RESP2.
    Verbatim(&'static str, Bytes),
    /// An out-of-band push (`CLIENT TRACKING` invalidations); an array in
    /// RESP2.
    Push(Vec<Reply>),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(Bytes::from_static(b"OK"))
    }

    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply; `text` starts with its code, e.g. `ERR syntax error`.
    pub fn error(text: impl Into<String>) -> Reply {
        Reply::Error(text.into())
    }

    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// Writes the reply to `out` as `proto` encodes it.
    pub fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        match proto {
            Protocol::Resp2 => self.encode2(out),
            Protocol::Resp3 => self.encode3(out),
        }
    }

    fn encode2(&self, out: &mut BytesMut) {
        match self {
            Reply::Status(s) => leaf2(out, &Frame2::SimpleString(s)),
            Reply::Error(e) => leaf2(out, &Frame2::Error(&sanitize_error(e))),
            Reply::Integer(i) => leaf2(out, &Frame2::Integer(*i)),
            Reply::Bulk(b) => leaf2(out, &Frame2::BulkString(b)),
            Reply::Verbatim(_, b) => leaf2(out, &Frame2::BulkString(b)),
            Reply::Null => leaf2(out, &Frame2::Null),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
                header(out, b'*', items.len());
                items.iter().for_each(|r| r.encode2(out));
            }
            Reply::Map(pairs) | Reply::Pairs(pairs) => {
                header(out, b'*', pairs.len() * 2);
                for (k, v) in pairs {
                    k.encode2(out);
                    v.encode2(out);
                }
            }
            Reply::Double(d) => leaf2(out, &Frame2::BulkString(format_double(*d).as_bytes())),
            Reply::Bool(b) => leaf2(out, &Frame2::Integer(i64::from(*b))),
        }
    }

    fn encode3(&self, out: &mut BytesMut) {
        match self {
            Reply::Status(s) => leaf3(
                out,
                &Frame3::SimpleString {
                    data: s,
                    attributes: None,
                },
            ),
            Reply::Error(e) => leaf3(
                out,
                &Frame3::SimpleError {
                    data: &sanitize_error(e),
                    attributes: None,
                },
            ),
            Reply::Integer(i) => leaf3(
                out,
                &Frame3::Number {
                    data: *i,
                    attributes: None,
                },
            ),
            Reply::Bulk(b) => leaf3(
                out,
                &Frame3::BlobString {
                    data: b,
                    attributes: None,
                },
            ),
            Reply::Verbatim(format, b) => {
                // `=<len>\r\ntxt:<data>\r\n`
                header(out, b'=', b.len() + 4);
                out.put_slice(format.as_bytes());
                out.put_u8(b':');
                out.put_slice(b);
                out.put_slice(b"\r\n");
            }
            Reply::Null | Reply::NullArray => leaf3(out, &Frame3::Null),
            Reply::Array(items) => {
                header(out, b'*', items.len());
                items.iter().for_each(|r| r.encode3(out));
            }
            Reply::Set(items) => {
                header(out, b'~', items.len());
                items.iter().for_each(|r| r.encode3(out));
            }
            Reply::Push(items) => {
                header(out, b'>', items.len());
                items.iter().for_each(|r| r.encode3(out));
            }
            Reply::Map(pairs) => {
                header(out, b'%', pairs.len());
                for (k, v) in pairs {
                    k.encode3(out);
                    v.encode3(out);
                }
            }
            Reply::Pairs(pairs) => {
                header(out, b'*', pairs.len());
                for (k, v) in pairs {
                    header(out, b'*', 2);
                    k.encode3(out);
                    v.encode3(out);
                }
            }
            Reply::Double(d) => {
                out.put_u8(b',');
                out.put_slice(format_double(*d).as_bytes());
                out.put_slice(b"\r\n");
            }
            Reply::Bool(b) => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }
}

/// Error texts are one line on the wire; Redis replaces CR/LF by spaces.
fn sanitize_error(e: &str) -> std::borrow::Cow<'_, str> {
    if e.contains(['\r', '\n']) {
        std::borrow::Cow::Owned(e.replace(['\r', '\n'], " "))
    } else {
        std::borrow::Cow::Borrowed(e)
    }
}

fn leaf2(out: &mut BytesMut, frame: &Frame2<'_>) {
    // Encoding a borrowed leaf into a growable buffer cannot fail.
    let _ = redis_protocol::resp2::encode::extend_encode_borrowed(out, frame, false);
}

fn leaf3(out: &mut BytesMut, frame: &Frame3<'_>) {
    let _ = redis_protocol::resp3::encode::complete::extend_encode_borrowed(out, frame, false);
}

fn header(out: &mut BytesMut, kind: u8, len: usize) {
    let mut digits = itoa_buf(len as u64);
    out.reserve(digits.len() + 3);
    out.put_u8(kind);
    out.put_slice(digits.as_mut_slice());
    out.put_slice(b"\r\n");
}

fn itoa_buf(mut n: u64) -> Vec<u8> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[i..].to_vec()
}

/// Formats a double as redis-server 7.0 replies with it: C's `%.17g`, with
/// `inf`, `-inf` and `nan` spelled out.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const PRECISION: i32 = 17;
    // `{:.16e}` gives the 17 significant digits %.17g rounds to.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..PRECISION).contains(&exp) {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (PRECISION - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{d:.decimals$}")).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Reply, p: Protocol) -> Vec<u8> {
        let mut b = BytesMut::new();
        r.encode(p, &mut b);
        b.to_vec()
    }

    #[test]
    fn resp2_shapes() {
        assert_eq!(enc(&Reply::ok(), Protocol::Resp2), b"+OK\r\n");
        assert_eq!(enc(&Reply::error("ERR x"), Protocol::Resp2), b"-ERR x\r\n");
        assert_eq!(enc(&Reply::Integer(-3), Protocol::Resp2), b":-3\r\n");
        assert_eq!(enc(&Reply::bulk("ab"), Protocol::Resp2), b"$2\r\nab\r\n");
        assert_eq!(enc(&Reply::Null, Protocol::Resp2), b"$-1\r\n");
        assert_eq!(enc(&Reply::NullArray, Protocol::Resp2), b"*-1\r\n");
        let map = Reply::Map(vec![(Reply::bulk("a"), Reply::Integer(1))]);
        assert_eq!(enc(&map, Protocol::Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(&Reply::Double(1.5), Protocol::Resp2), b"$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Bool(true), Protocol::Resp2), b":1\r\n");
    }

    #[test]
    fn resp3_shapes() {
        assert_eq!(enc(&Reply::Null, Protocol::Resp3), b"_\r\n");
        let map = Reply::Map(vec![
            (Reply::bulk("z"), Reply::Integer(1)),
            (Reply::bulk("a"), Reply::Integer(2)),
        ]);
        assert_eq!(
            enc(&map, Protocol::Resp3),
            b"%2\r\n$1\r\nz\r\n:1\r\n$1\r\na\r\n:2\r\n"
        );
        assert_eq!(
            enc(&Reply::Double(0.1), Protocol::Resp3),
            b",0.10000000000000001\r\n"
        );
        assert_eq!(enc(&Reply::Bool(false), Protocol::Resp3), b"#f\r\n");
        assert_eq!(enc(&Reply::Set(vec![]), Protocol::Resp3), b"~0\r\n");
        let pairs = Reply::Pairs(vec![(Reply::bulk("a"), Reply::Double(1.0))]);
        assert_eq!(
            enc(&pairs, Protocol::Resp3),
            b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
        );
        assert_eq!(
            enc(&pairs, Protocol::Resp2),
            b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(enc(&Reply::Pairs(vec![]), Protocol::Resp3), b"*0\r\n");
        assert_eq!(
            enc(
                &Reply::Verbatim("txt", Bytes::from_static(b"hi")),
                Protocol::Resp3
            ),
            b"=6\r\ntxt:hi\r\n"
        );
    }

    #[test]
    fn doubles_match_printf_17g() {
        for (d, s) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (3.0e20, "3e+20"),
            (1.0e17, "1e+17"),
            (1.0e16, "10000000000000000"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (10.5, "10.5"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_double(d), s, "{d}");
        }
    }
}
