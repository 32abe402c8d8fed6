//! Request parsing: RESP multibulk and inline commands.
//!
//! The accepted grammar and the error texts follow redis-server 7.0
//! (`networking.c`): a buffer starting with `*` is a multibulk request,
//! anything else is an inline command split on whitespace with `"…"` and
//! `'…'` quoting.

use bytes::{Buf, Bytes, BytesMut};

/// Redis's `PROTO_INLINE_MAX_SIZE`: the longest inline line or header line.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Limits on what one request may announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest bulk string (`proto-max-bulk-len`, 512 MB by default).
    pub max_bulk_len: u64,
    /// The largest number of elements in a multibulk (Redis: `INT_MAX`).
    pub max_multibulk_len: u64,
    /// The client has yet to authenticate (a password is required): as in
    /// Redis, it may then announce at most [`UNAUTH_MAX_MULTIBULK_LEN`]
    /// elements and [`UNAUTH_MAX_BULK_LEN`]-byte bulks, so that a stranger
    /// cannot make the server buffer much.
    pub unauthenticated: bool,
}

/// The most elements a multibulk from an unauthenticated client may have.
pub const UNAUTH_MAX_MULTIBULK_LEN: u64 = 10;

/// The longest bulk an unauthenticated client may announce.
pub const UNAUTH_MAX_BULK_LEN: u64 = 16 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as u64,
            unauthenticated: false,
        }
    }
}

/// One parsed request: the command name and its arguments, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub args: Vec<Bytes>,
}

/// A malformed request. The text is Redis's, without the `ERR ` prefix; the
/// connection must be closed after replying with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(msg: impl Into<String>) -> Self {
        ProtocolError(msg.into())
    }
}

/// Parses one request from the front of `buf`.
///
/// Returns `Ok(Some(request))` and consumes its bytes; `Ok(None)` when more
/// bytes are needed (nothing is consumed); or a [`ProtocolError`]. Empty
/// requests (a blank inline line, `*0`, `*-1`) are consumed and skipped, as
/// Redis does, so the caller sees only non-empty requests.
pub fn parse_request(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Request>, ProtocolError> {
    loop {
        if buf.is_empty() {
            return Ok(None);
        }
        let parsed = if buf[0] == b'*' {
            parse_multibulk(buf, limits)?
        } else {
            parse_inline(buf)?
        };
        match parsed {
            Parsed::Incomplete => return Ok(None),
            Parsed::Empty(consumed) => buf.advance(consumed),
            Parsed::Request(args, consumed) => {
                let mut frame = buf.split_to(consumed).freeze();
                let args = args
                    .into_iter()
                    .map(|(start, end)| frame.slice(start..end))
                    .collect();
                frame.clear();
                return Ok(Some(Request { args }));
            }
            Parsed::Inline(args, consumed) => {
                buf.advance(consumed);
                let args = args.into_iter().map(Bytes::from).collect();
                return Ok(Some(Request { args }));
            }
        }
    }
}

enum Parsed {
    Incomplete,
    /// An empty request of this many bytes, to skip.
    Empty(usize),
    /// Argument byte ranges inside the first `usize` bytes.
    Request(Vec<(usize, usize)>, usize),
    /// Inline arguments may be unescaped, so they are owned copies.
    Inline(Vec<Vec<u8>>, usize),
}

/// Finds the `\r` that ends the line starting at `from`; the line is complete
/// only when the `\n` after it has arrived too.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    memchr_cr(&buf[from..]).map(|i| from + i)
}

fn memchr_cr(haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == b'\r')
}

/// Redis's `string2ll`: an optional `-`, digits, no leading zeros, no `+`,
/// no spaces, fits in i64.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    if digits == b"0" && neg {
        return None;
    }
    let mut v: i128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(d - b'0');
    }
    if neg {
        v = -v;
    }
    i64::try_from(v).ok()
}

fn parse_multibulk(buf: &[u8], limits: &Limits) -> Result<Parsed, ProtocolError> {
    let Some(cr) = line_end(buf, 0) else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(Parsed::Incomplete);
    };
    if cr > INLINE_MAX_SIZE {
        return Err(ProtocolError::new("too big mbulk count string"));
    }
    if buf.len() < cr + 2 {
        return Ok(Parsed::Incomplete);
    }
    let count = match parse_i64(&buf[1..cr]) {
        Some(n) if n > 0 && n as u64 > limits.max_multibulk_len => {
            return Err(ProtocolError::new("invalid multibulk length"))
        }
        Some(n) if n > 0 && limits.unauthenticated && n as u64 > UNAUTH_MAX_MULTIBULK_LEN => {
            return Err(ProtocolError::new("unauthenticated multibulk length"))
        }
        Some(n) if n <= 0 => return Ok(Parsed::Empty(cr + 2)),
        Some(n) => n as u64,
        None => return Err(ProtocolError::new("invalid multibulk length")),
    };
    let mut pos = cr + 2;
    let mut args = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(Parsed::Incomplete);
        }
        let Some(cr) = line_end(buf, pos) else {
            if buf.len() - pos > INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return Ok(Parsed::Incomplete);
        };
        if cr - pos > INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big bulk count string"));
        }
        if buf[pos] != b'$' {
            return Err(ProtocolError(format!(
                "expected '$', got '{}'",
                char::from(buf[pos])
            )));
        }
        if buf.len() < cr + 2 {
            return Ok(Parsed::Incomplete);
        }
        let len = match parse_i64(&buf[pos + 1..cr]) {
            Some(n) if n < 0 || n as u64 > limits.max_bulk_len => {
                return Err(ProtocolError::new("invalid bulk length"))
            }
            Some(n) if limits.unauthenticated && n as u64 > UNAUTH_MAX_BULK_LEN => {
                return Err(ProtocolError::new("unauthenticated bulk length"))
            }
            Some(n) => n as usize,
            None => return Err(ProtocolError::new("invalid bulk length")),
        };
        let start = cr + 2;
        // The bulk and its trailing CRLF must have arrived. Like Redis, the
        // two bytes after the bulk are taken as its terminator unchecked.
        if buf.len() < start + len + 2 {
            return Ok(Parsed::Incomplete);
        }
        args.push((start, start + len));
        pos = start + len + 2;
    }
    Ok(Parsed::Request(args, pos))
}

fn parse_inline(buf: &[u8]) -> Result<Parsed, ProtocolError> {
    // Redis finds the newline with `strchr`, which stops at a NUL byte: a
    // NUL before any newline leaves the request incomplete (and, past the
    // inline limit, too big), never parsed.
    let end = buf.iter().position(|&b| b == b'\n' || b == 0);
    let Some(nl) = end.filter(|&i| buf[i] == b'\n') else {
        if buf.len() > INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(Parsed::Incomplete);
    };
    if nl > INLINE_MAX_SIZE {
        return Err(ProtocolError::new("too big inline request"));
    }
    let mut line_end = nl;
    if line_end > 0 && buf[line_end - 1] == b'\r' {
        line_end -= 1;
    }
    let args = split_args(&buf[..line_end])
        .ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))?;
    if args.is_empty() {
        return Ok(Parsed::Empty(nl + 1));
    }
    Ok(Parsed::Inline(args, nl + 1))
}

/// C's `isspace` in the "C" locale, which Redis's parsing uses: unlike
/// `u8::is_ascii_whitespace`, it includes the vertical tab (0x0B).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Redis's `sdssplitargs`: whitespace-separated words, `"…"` with
/// `\n \r \t \b \a \\ \" \xHH` escapes, `'…'` with only `\'`. A closing
/// quote must be followed by whitespace or the end. `None` on unbalanced
/// quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // C string semantics: the line ends at its first NUL.
    let line = line
        .iter()
        .position(|&b| b == 0)
        .map_or(line, |end| &line[..end]);
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_c_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        parse_request(&mut buf, &Limits::default())
            .map(|r| r.map(|r| r.args.iter().map(|a| a.to_vec()).collect()))
    }

    fn err(input: &[u8]) -> String {
        parse(input).unwrap_err().to_string()
    }

    #[test]
    fn multibulk_and_pipelining() {
        let mut buf =
            BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$1"[..]);
        let l = Limits::default();
        assert_eq!(
            parse_request(&mut buf, &l).unwrap().unwrap().args,
            vec![Bytes::from("PING")]
        );
        assert_eq!(parse_request(&mut buf, &l).unwrap().unwrap().args.len(), 2);
        assert_eq!(parse_request(&mut buf, &l).unwrap(), None);
        buf.extend_from_slice(b"\r\nx\r\n");
        assert_eq!(
            parse_request(&mut buf, &l).unwrap().unwrap().args,
            vec![Bytes::from("x")]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn inline_commands() {
        assert_eq!(parse(b"PING\r\n").unwrap().unwrap(), vec![b"PING".to_vec()]);
        assert_eq!(
            parse(b"set 'a b' \"c\\x41\\n\"\n").unwrap().unwrap(),
            vec![b"set".to_vec(), b"a b".to_vec(), b"cA\n".to_vec()]
        );
        assert_eq!(parse(b"\r\n").unwrap(), None);
        assert_eq!(
            err(b"set \"a\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(b"set \"a\"b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn redis_protocol_errors() {
        assert_eq!(err(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            err(b"*3000000000\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            err(b"*1\r\n+OK\r\n"),
            "Protocol error: expected '$', got '+'"
        );
        assert_eq!(err(b"*1\r\n$-5\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            err(b"*1\r\n$abc\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            err(b"*1\r\n$600000000\r\n"),
            "Protocol error: invalid bulk length"
        );
        let long = vec![b'a'; INLINE_MAX_SIZE + 10];
        assert_eq!(err(&long), "Protocol error: too big inline request");
        let mut mb = b"*".to_vec();
        mb.extend(vec![b'1'; INLINE_MAX_SIZE + 10]);
        assert_eq!(err(&mb), "Protocol error: too big mbulk count string");
    }

    #[test]
    fn unauthenticated_clients_get_small_limits() {
        let l = Limits {
            unauthenticated: true,
            ..Limits::default()
        };
        let parse_unauth = |input: &[u8]| {
            let mut buf = BytesMut::from(input);
            parse_request(&mut buf, &l).map(|r| r.is_some())
        };
        assert_eq!(parse_unauth(b"*10\r\n"), Ok(false));
        assert_eq!(
            parse_unauth(b"*11\r\n").unwrap_err().to_string(),
            "Protocol error: unauthenticated multibulk length"
        );
        assert_eq!(
            parse_unauth(b"*3000000000\r\n").unwrap_err().to_string(),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(parse_unauth(b"*-20\r\n"), Ok(false));
        assert_eq!(parse_unauth(b"*1\r\n$16384\r\n"), Ok(false));
        assert_eq!(
            parse_unauth(b"*1\r\n$16385\r\n").unwrap_err().to_string(),
            "Protocol error: unauthenticated bulk length"
        );
        assert_eq!(
            parse_unauth(b"*1\r\n$-3\r\n").unwrap_err().to_string(),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(parse("*11\r\n".as_bytes()).unwrap(), None);
    }

    #[test]
    fn huge_announced_lengths_allocate_nothing() {
        assert_eq!(parse(b"*2147483647\r\n$3\r\nGET\r\n").unwrap(), None);
        assert_eq!(parse(b"*1\r\n$536870912\r\nab").unwrap(), None);
    }

    #[test]
    fn empty_multibulk_is_skipped() {
        assert_eq!(
            parse(b"*0\r\n*-1\r\n*1\r\n$1\r\na\r\n").unwrap().unwrap(),
            vec![b"a".to_vec()]
        );
    }

    #[test]
    fn integers_follow_string2ll() {
        assert_eq!(parse_i64(b"12"), Some(12));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"012"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
    }
}
