//! Argument parsing shared by every command, with Redis's error texts.

use bytes::Bytes;
use redraft_resp::Reply;

use super::error::{err_not_float, err_not_integer, err_syntax};

/// Parses an integer argument the way Redis's `string2ll` does.
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.len() > 20 || s.starts_with('+') || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if s.starts_with("-0") {
        return None;
    }
    s.parse().ok()
}

/// An integer argument, or `ERR value is not an integer or out of range`.
pub fn int(arg: &[u8]) -> Result<i64, Reply> {
    parse_i64(arg).ok_or_else(err_not_integer)
}

/// A float argument as Redis's `strtold`-based parsing accepts it
/// (`inf`, `-inf`, `+1.5`, `1e3`; not `nan`, not with spaces), or
/// `ERR value is not a valid float`.
pub fn float(arg: &[u8]) -> Result<f64, Reply> {
    parse_f64(arg).ok_or_else(err_not_float)
}

pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ => s.parse::<f64>().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

/// A cursor over a command's arguments for commands with options.
pub struct ArgCursor<'a> {
    args: &'a [Bytes],
    pos: usize,
}

impl<'a> ArgCursor<'a> {
    /// Starts at `args[start]`.
    pub fn new(args: &'a [Bytes], start: usize) -> ArgCursor<'a> {
        ArgCursor { args, pos: start }
    }

    /// The next argument, if any.
    // Not an Iterator on purpose: option parsing interleaves next(),
    // value() and peek(), which reads better as plain methods.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'a Bytes> {
        let a = self.args.get(self.pos)?;
        self.pos += 1;
        Some(a)
    }

    /// The next argument, required (else a syntax error).
    pub fn value(&mut self) -> Result<&'a Bytes, Reply> {
        self.next().ok_or_else(err_syntax)
    }

    pub fn peek(&self) -> Option<&'a Bytes> {
        self.args.get(self.pos)
    }

    pub fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.pos)
    }

    /// Fails with a syntax error if arguments are left.
    pub fn finish(&self) -> Result<(), Reply> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(err_syntax())
        }
    }
}

/// Whether `arg` equals `word`, ignoring ASCII case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// A SCAN-family cursor as Redis reads it (`strtoul`): optional sign,
/// decimal digits, nothing else; no leading space; the empty string is 0;
/// a negative number wraps around; overflow is an error (`None`).
pub fn scan_cursor(arg: &[u8]) -> Option<u64> {
    // C strings end at the first NUL.
    let s = arg.split(|&b| b == 0).next().unwrap_or_default();
    if s.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options of HSCAN/SSCAN/ZSCAN from `args[3]` on:
/// `[MATCH pattern] [COUNT count]`, in any order, each possibly repeated
/// (the last wins). Returns the pattern (`None` for none or `*`, which
/// matches everything) and the count (default 10), with Redis 7.0's errors.
pub fn scan_options(args: &[Bytes]) -> Result<(Option<&[u8]>, usize), Reply> {
    let mut count: usize = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is(&args[i], "COUNT") && has_value {
            count = match parse_i64(&args[i + 1]) {
                None => return Err(err_not_integer()),
                Some(c) if c < 1 => return Err(err_syntax()),
                Some(c) => usize::try_from(c).unwrap_or(usize::MAX),
            };
        } else if is(&args[i], "MATCH") && has_value {
            pattern = Some(&args[i + 1]);
        } else {
            return Err(err_syntax());
        }
        i += 2;
    }
    Ok((pattern.filter(|p| *p != b"*"), count))
}
