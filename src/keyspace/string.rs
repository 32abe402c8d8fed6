//! String values: typed operations behind GET, SET, INCR, APPEND, … .
//!
//! A string lives entirely in its metadata record (the payload is the
//! value), so every operation here is one read and at most one write of
//! that record. Reads take any [`KvRead`] view; writes take the apply
//! [`Overlay`] and "now" (the proposal's time), so replicas agree.
//!
//! Invariants (Redis 7.0 semantics):
//! - SET, GETSET and MSET clear the expiry unless asked to keep it
//!   (KEEPTTL); INCR*, APPEND and SETRANGE change the value in place and
//!   keep it.
//! - An absolute expiry at or before "now" deletes the key (Redis keeps an
//!   already-expired key until it is next touched; nobody can tell).
//! - Integers follow Redis's `string2ll` (no spaces, no `+`, no leading
//!   zeros); floats are x87 extended precision ([`super::longdouble`]).
//! - OBJECT ENCODING depends on how a value was written, not only on its
//!   bytes: APPEND to an existing key and SETRANGE leave Redis a `raw`
//!   string, INCRBYFLOAT a string never encoded as `int`. The string
//!   record keeps that history in its `version` field, which strings do
//!   not otherwise use ([`Encoding`]; 0, what older records hold, means
//!   "from the value"). Every write here says which one it leaves; writes
//!   that only change the expiry keep it, and so do RENAME and COPY (which
//!   also notes that a copied integer is not Redis's shared object).
//!
//! CAVEATS:
//! - The 512 MB limit on APPEND and SETRANGE is Redis's default
//!   `proto-max-bulk-len`, fixed here: apply must not depend on one node's
//!   configuration. A lowered `proto-max-bulk-len` still bounds what a
//!   client can send, not what these commands build.
//! - [`lcs`] keeps Redis's full `(alen+1) × (blen+1)` table of `u32`; the
//!   caller bounds its size first.

use super::longdouble::{self, Parsed};
use super::{
    delete_key, meta_key, read_meta, set_string, KeyType, KsError, KsResult, KvRead, Meta, Overlay,
};
use crate::cmd::args::parse_i64;

/// The largest string APPEND and SETRANGE may build (Redis's default
/// `proto-max-bulk-len`).
pub const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

/// What a string record remembers of how its value was written, so that
/// OBJECT ENCODING answers as Redis would (stored in `Meta::version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Stored from a client's argument (SET, MSET, APPEND to a new key, …)
    /// or by INCR: `int` when the value is a 64-bit integer of at most 20
    /// characters, `embstr` up to 44 bytes, else `raw`.
    FromValue,
    /// Grown or patched in place (APPEND to an existing key, SETRANGE):
    /// `raw` whatever the value.
    Raw,
    /// Built from a number's text (INCRBYFLOAT): `embstr` up to 44 bytes,
    /// else `raw`, never `int`.
    NotInt,
    /// COPY of a `FromValue` string: the same encoding, but a copied
    /// integer is never Redis's shared object (OBJECT REFCOUNT 1).
    Copied,
}

/// Redis's longest `embstr` string.
const EMBSTR_MAX: usize = 44;

impl Encoding {
    const fn tag(self) -> u64 {
        match self {
            Encoding::FromValue => 0,
            Encoding::Raw => 1,
            Encoding::NotInt => 2,
            Encoding::Copied => 3,
        }
    }

    /// What COPY leaves in the destination.
    pub fn copied(self) -> Encoding {
        match self {
            Encoding::FromValue => Encoding::Copied,
            other => other,
        }
    }

    /// Whether a small integer written this way is Redis's shared object.
    pub fn may_share(self) -> bool {
        self == Encoding::FromValue
    }

    /// This encoding in a string's metadata.
    pub fn store(self, meta: &mut Meta) {
        meta.version = self.tag();
    }

    /// The encoding recorded in a string's metadata (unknown tags read as
    /// `FromValue`).
    pub fn of(meta: &Meta) -> Encoding {
        match meta.version {
            1 => Encoding::Raw,
            2 => Encoding::NotInt,
            3 => Encoding::Copied,
            _ => Encoding::FromValue,
        }
    }

    /// OBJECT ENCODING's answer for `value` written this way.
    pub fn name(self, value: &[u8]) -> &'static str {
        let int = || value.len() <= 20 && parse_i64(value).is_some();
        match self {
            Encoding::Raw => "raw",
            Encoding::FromValue | Encoding::Copied if int() => "int",
            _ if value.len() <= EMBSTR_MAX => "embstr",
            _ => "raw",
        }
    }
}

/// Writes `key` as a string that remembers `enc`, replacing whatever it held.
fn put(ov: &mut Overlay<'_>, key: &[u8], value: Vec<u8>, expire_at_ms: u64, enc: Encoding) {
    let mut meta = Meta::string(value, expire_at_ms);
    enc.store(&mut meta);
    ov.put(meta_key(key), meta.encode());
}

/// What a write does to the key's expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// No expiry afterwards (SET without KEEPTTL, GETEX PERSIST).
    Clear,
    /// Whatever the key had (KEEPTTL).
    Keep,
    /// Expire at this Unix time in milliseconds.
    At(u64),
}

/// When SET writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// NX: only if the key does not exist.
    IfAbsent,
    /// XX: only if the key exists.
    IfPresent,
}

/// What [`set`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (the condition held).
    pub written: bool,
    /// The previous string value, when asked for and there was one.
    pub old: Option<Vec<u8>>,
}

fn err(text: &str) -> KsError {
    KsError::Command(text.to_string())
}

fn too_long() -> KsError {
    err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// The live string record of `key`: `None` when absent, `WrongType` when
/// the key holds another type.
fn read_string(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<Meta>> {
    match read_meta(kv, key, now_ms)? {
        Some(m) if m.ty != KeyType::String => Err(KsError::WrongType),
        m => Ok(m),
    }
}

/// Writes `value` with an absolute expiry, or deletes the key when that
/// expiry has already passed.
fn write(
    ov: &mut Overlay<'_>,
    key: &[u8],
    value: Vec<u8>,
    expire_at_ms: u64,
    enc: Encoding,
    now_ms: u64,
) {
    if expire_at_ms != 0 && expire_at_ms <= now_ms {
        ov.delete(meta_key(key));
    } else {
        put(ov, key, value, expire_at_ms, enc);
    }
}

/// SET and its variants. With `want_old` (SET … GET, GETSET) a key of
/// another type is `WrongType` and nothing is written; without it SET
/// overwrites any type, as Redis does.
pub fn set(
    ov: &mut Overlay<'_>,
    key: &[u8],
    value: Vec<u8>,
    cond: Condition,
    ttl: Ttl,
    want_old: bool,
    now_ms: u64,
) -> KsResult<SetOutcome> {
    // A plain SET (no condition, no KEEPTTL, no GET) needs nothing of the
    // old record: skip the read, the hot path of every SET.
    if matches!(cond, Condition::Always) && !matches!(ttl, Ttl::Keep) && !want_old {
        let expire_at = match ttl {
            Ttl::At(at) => at,
            _ => 0,
        };
        write(ov, key, value, expire_at, Encoding::FromValue, now_ms);
        return Ok(SetOutcome {
            written: true,
            old: None,
        });
    }
    let old = read_meta(&*ov, key, now_ms)?;
    if want_old && old.as_ref().is_some_and(|m| m.ty != KeyType::String) {
        return Err(KsError::WrongType);
    }
    let exists = old.is_some();
    let written = match cond {
        Condition::Always => true,
        Condition::IfAbsent => !exists,
        Condition::IfPresent => exists,
    };
    let expire_at = match ttl {
        Ttl::Clear => 0,
        Ttl::Keep => old.as_ref().map_or(0, |m| m.expire_at_ms),
        Ttl::At(at) => at,
    };
    let old = old.filter(|_| want_old).map(|m| m.payload);
    if written {
        write(ov, key, value, expire_at, Encoding::FromValue, now_ms);
    }
    Ok(SetOutcome { written, old })
}

/// MSET: every pair, in order (a repeated key ends with its last value);
/// expiries are cleared.
pub fn mset(ov: &mut Overlay<'_>, pairs: &[(&[u8], &[u8])]) {
    for (k, v) in pairs {
        set_string(ov, k, v.to_vec(), 0);
    }
}

/// MSETNX: all pairs when no key exists (of any type), else nothing.
pub fn msetnx(ov: &mut Overlay<'_>, pairs: &[(&[u8], &[u8])], now_ms: u64) -> KsResult<bool> {
    for (k, _) in pairs {
        if read_meta(&*ov, k, now_ms)?.is_some() {
            return Ok(false);
        }
    }
    mset(ov, pairs);
    Ok(true)
}

/// GETDEL: the value, and the key deleted.
pub fn getdel(ov: &mut Overlay<'_>, key: &[u8], now_ms: u64) -> KsResult<Option<Vec<u8>>> {
    let value = read_string(&*ov, key, now_ms)?.map(|m| m.payload);
    if value.is_some() {
        delete_key(ov, key, now_ms)?;
    }
    Ok(value)
}

/// Changes the expiry of the string `key` (GETEX); an absolute time already
/// past deletes it. Does nothing if the key is absent.
pub fn set_ttl(ov: &mut Overlay<'_>, key: &[u8], ttl: Ttl, now_ms: u64) -> KsResult<()> {
    let Some(m) = read_string(&*ov, key, now_ms)? else {
        return Ok(());
    };
    let expire_at = match ttl {
        Ttl::Keep => return Ok(()),
        Ttl::Clear if m.expire_at_ms == 0 => return Ok(()),
        Ttl::Clear => 0,
        Ttl::At(at) => at,
    };
    let enc = Encoding::of(&m);
    write(ov, key, m.payload, expire_at, enc, now_ms);
    Ok(())
}

/// STRLEN: 0 for a missing key.
pub fn strlen(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<usize> {
    Ok(read_string(kv, key, now_ms)?.map_or(0, |m| m.payload.len()))
}

/// GETRANGE: the bytes from `start` to `end` inclusive; negative indexes
/// count from the end; out-of-range indexes are clamped; empty when the
/// range is empty or the key is missing.
pub fn getrange(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    start: i64,
    end: i64,
    now_ms: u64,
) -> KsResult<Vec<u8>> {
    let Some(m) = read_string(kv, key, now_ms)? else {
        return Ok(Vec::new());
    };
    Ok(substring(&m.payload, start, end).to_vec())
}

/// Redis's GETRANGE index rules over `s`.
fn substring(s: &[u8], start: i64, end: i64) -> &[u8] {
    let len = s.len() as i128;
    let (mut start, mut end) = (i128::from(start), i128::from(end));
    // Both negative and reversed: empty, even where clamping would make
    // them meet (GETRANGE k -1 -5).
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    let start = start.max(0);
    let end = end.max(0).min(len - 1);
    if len == 0 || start > end {
        return &[];
    }
    &s[start as usize..=end as usize]
}

/// APPEND: the new length. Creates the key if missing; keeps the expiry.
pub fn append(ov: &mut Overlay<'_>, key: &[u8], suffix: &[u8], now_ms: u64) -> KsResult<usize> {
    // A new key stores the argument as given; an existing one is grown in place.
    let (mut value, expire_at, enc) = match read_string(&*ov, key, now_ms)? {
        None => (Vec::new(), 0, Encoding::FromValue),
        Some(m) => {
            if m.payload.len() as u64 + suffix.len() as u64 > MAX_STRING_LEN {
                return Err(too_long());
            }
            (m.payload, m.expire_at_ms, Encoding::Raw)
        }
    };
    value.extend_from_slice(suffix);
    let len = value.len();
    put(ov, key, value, expire_at, enc);
    Ok(len)
}

/// SETRANGE: overwrites from `offset`, padding with zero bytes; returns
/// the new length. An empty `value` writes nothing (and creates nothing).
pub fn setrange(
    ov: &mut Overlay<'_>,
    key: &[u8],
    offset: u64,
    value: &[u8],
    now_ms: u64,
) -> KsResult<usize> {
    let old = read_string(&*ov, key, now_ms)?;
    if value.is_empty() {
        return Ok(old.map_or(0, |m| m.payload.len()));
    }
    if offset.saturating_add(value.len() as u64) > MAX_STRING_LEN {
        return Err(too_long());
    }
    let (mut s, expire_at) = old.map_or((Vec::new(), 0), |m| (m.payload, m.expire_at_ms));
    let offset = offset as usize;
    let end = offset + value.len();
    if s.len() < end {
        s.resize(end, 0);
    }
    s[offset..end].copy_from_slice(value);
    let len = s.len();
    put(ov, key, s, expire_at, Encoding::Raw);
    Ok(len)
}

/// INCRBY (and INCR, DECR, DECRBY): the new value. A missing key counts
/// as 0; the expiry is kept.
pub fn incr_by(ov: &mut Overlay<'_>, key: &[u8], delta: i64, now_ms: u64) -> KsResult<i64> {
    let old = read_string(&*ov, key, now_ms)?;
    let current = match &old {
        None => 0,
        Some(m) => parse_i64(&m.payload)
            .ok_or_else(|| err("ERR value is not an integer or out of range"))?,
    };
    let new = current
        .checked_add(delta)
        .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
    let expire_at = old.map_or(0, |m| m.expire_at_ms);
    put(
        ov,
        key,
        new.to_string().into_bytes(),
        expire_at,
        Encoding::FromValue,
    );
    Ok(new)
}

/// INCRBYFLOAT: the new value as stored (extended precision, printed as
/// Redis prints it). A missing key counts as 0; the expiry is kept.
pub fn incr_by_float(
    ov: &mut Overlay<'_>,
    key: &[u8],
    incr: &[u8],
    now_ms: u64,
) -> KsResult<Vec<u8>> {
    let old = read_string(&*ov, key, now_ms)?;
    let not_float = || err("ERR value is not a valid float");
    let current = match &old {
        None => Parsed::Finite(longdouble::LongDouble::ZERO),
        Some(m) => longdouble::parse(&m.payload).ok_or_else(not_float)?,
    };
    let incr = longdouble::parse(incr).ok_or_else(not_float)?;
    let not_finite = || err("ERR increment would produce NaN or Infinity");
    let sum = match (current, incr) {
        (Parsed::Finite(a), Parsed::Finite(b)) => a.checked_add(b).ok_or_else(not_finite)?,
        _ => return Err(not_finite()),
    };
    let text = sum.to_human_string().into_bytes();
    let expire_at = old.map_or(0, |m| m.expire_at_ms);
    put(ov, key, text.clone(), expire_at, Encoding::NotInt);
    Ok(text)
}

/// One run of consecutive common bytes found by [`lcs`]: inclusive ranges
/// in each string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (usize, usize),
    pub b: (usize, usize),
}

impl LcsMatch {
    pub fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The longest common subsequence of two strings.
#[derive(Debug, PartialEq, Eq)]
pub struct Lcs {
    pub subsequence: Vec<u8>,
    /// Its runs, last first (the order Redis's LCS IDX lists them).
    pub matches: Vec<LcsMatch>,
}

/// Cells of the table [`lcs`] fills: the caller's bound on its memory
/// (four bytes a cell).
pub fn lcs_cells(a_len: usize, b_len: usize) -> u128 {
    (a_len as u128 + 1) * (b_len as u128 + 1)
}

/// The LCS of `a` and `b`, chosen as Redis chooses it: walking back from
/// the ends, a common byte is always taken, and otherwise the walk drops a
/// byte of `b` unless dropping one of `a` keeps a strictly longer LCS.
pub fn lcs(a: &[u8], b: &[u8]) -> Lcs {
    let width = b.len() + 1;
    // table[i * width + j] = LCS length of a[..i] and b[..j].
    let mut table = vec![0u32; (a.len() + 1) * width];
    for (i, &ca) in a.iter().enumerate() {
        // Row i+1 from row i, without per-cell index arithmetic.
        let (done, rest) = table.split_at_mut((i + 1) * width);
        let prev = &done[i * width..];
        let row = &mut rest[..width];
        for (j, &cb) in b.iter().enumerate() {
            row[j + 1] = if ca == cb {
                prev[j] + 1
            } else {
                prev[j + 1].max(row[j])
            };
        }
    }
    let mut subsequence = Vec::with_capacity(table[a.len() * width + b.len()] as usize);
    let mut matches = Vec::new();
    let mut run: Option<LcsMatch> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            subsequence.push(a[i - 1]);
            // Consecutive common bytes on the walk are always adjacent in
            // both strings: a run grows backwards until a gap.
            let r = run.get_or_insert(LcsMatch {
                a: (i - 1, i - 1),
                b: (j - 1, j - 1),
            });
            r.a.0 = i - 1;
            r.b.0 = j - 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            matches.extend(run.take());
        }
    }
    matches.extend(run.take());
    subsequence.reverse();
    Lcs {
        subsequence,
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::get_string;

    const NOW: u64 = 1_000_000;

    fn engine() -> MemoryEngine {
        MemoryEngine::new()
    }

    fn set_plain(ov: &mut Overlay<'_>, k: &[u8], v: &[u8]) {
        set(ov, k, v.to_vec(), Condition::Always, Ttl::Clear, false, NOW).unwrap();
    }

    fn expire_of(ov: &Overlay<'_>, k: &[u8]) -> Option<u64> {
        read_meta(ov, k, NOW).unwrap().map(|m| m.expire_at_ms)
    }

    fn put_hash(ov: &mut Overlay<'_>, k: &[u8]) {
        let m = Meta {
            ty: KeyType::Hash,
            expire_at_ms: 0,
            version: 7,
            payload: 1u64.to_be_bytes().to_vec(),
        };
        ov.put(meta_key(k), m.encode());
    }

    fn cmd_err(r: KsResult<impl std::fmt::Debug>) -> String {
        match r {
            Err(KsError::Command(t)) => t,
            other => panic!("expected a command error, got {other:?}"),
        }
    }

    #[test]
    fn set_conditions_and_get_option() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let r = set(
            &mut ov,
            b"k",
            b"v".to_vec(),
            Condition::IfPresent,
            Ttl::Clear,
            true,
            NOW,
        );
        assert_eq!(
            r.unwrap(),
            SetOutcome {
                written: false,
                old: None
            }
        );
        assert_eq!(get_string(&ov, b"k", NOW).unwrap(), None);
        let r = set(
            &mut ov,
            b"k",
            b"v".to_vec(),
            Condition::IfAbsent,
            Ttl::Clear,
            true,
            NOW,
        );
        assert_eq!(
            r.unwrap(),
            SetOutcome {
                written: true,
                old: None
            }
        );
        let r = set(
            &mut ov,
            b"k",
            b"w".to_vec(),
            Condition::IfAbsent,
            Ttl::Clear,
            true,
            NOW,
        );
        assert_eq!(
            r.unwrap(),
            SetOutcome {
                written: false,
                old: Some(b"v".to_vec())
            }
        );
        let r = set(
            &mut ov,
            b"k",
            b"w".to_vec(),
            Condition::IfPresent,
            Ttl::Clear,
            true,
            NOW,
        );
        assert_eq!(
            r.unwrap(),
            SetOutcome {
                written: true,
                old: Some(b"v".to_vec())
            }
        );
        assert_eq!(get_string(&ov, b"k", NOW).unwrap(), Some(b"w".to_vec()));
    }

    #[test]
    fn set_over_another_type() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        put_hash(&mut ov, b"h");
        let r = set(
            &mut ov,
            b"h",
            b"v".to_vec(),
            Condition::Always,
            Ttl::Clear,
            true,
            NOW,
        );
        assert!(matches!(r, Err(KsError::WrongType)));
        assert!(matches!(
            get_string(&ov, b"h", NOW),
            Err(KsError::WrongType)
        ));
        set_plain(&mut ov, b"h", b"v");
        assert_eq!(get_string(&ov, b"h", NOW).unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn set_ttl_rules() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let at = NOW + 5000;
        set(
            &mut ov,
            b"k",
            b"1".to_vec(),
            Condition::Always,
            Ttl::At(at),
            false,
            NOW,
        )
        .unwrap();
        assert_eq!(expire_of(&ov, b"k"), Some(at));
        set(
            &mut ov,
            b"k",
            b"2".to_vec(),
            Condition::Always,
            Ttl::Keep,
            false,
            NOW,
        )
        .unwrap();
        assert_eq!(expire_of(&ov, b"k"), Some(at));
        set_plain(&mut ov, b"k", b"3");
        assert_eq!(expire_of(&ov, b"k"), Some(0));
        // KEEPTTL on a missing key: no expiry.
        set(
            &mut ov,
            b"n",
            b"1".to_vec(),
            Condition::Always,
            Ttl::Keep,
            false,
            NOW,
        )
        .unwrap();
        assert_eq!(expire_of(&ov, b"n"), Some(0));
        // An absolute time already past deletes the key.
        let r = set(
            &mut ov,
            b"k",
            b"4".to_vec(),
            Condition::Always,
            Ttl::At(NOW),
            true,
            NOW,
        );
        assert_eq!(r.unwrap().old, Some(b"3".to_vec()));
        assert_eq!(get_string(&ov, b"k", NOW).unwrap(), None);
        assert_eq!(ov.get(&meta_key(b"k")).unwrap(), None);
    }

    #[test]
    fn expired_keys_are_absent() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        set(
            &mut ov,
            b"k",
            b"5".to_vec(),
            Condition::Always,
            Ttl::At(NOW + 10),
            false,
            NOW,
        )
        .unwrap();
        let later = NOW + 10;
        assert_eq!(incr_by(&mut ov, b"k", 1, later).unwrap(), 1);
        assert_eq!(
            read_meta(&ov, b"k", later).unwrap().unwrap().expire_at_ms,
            0
        );
        let r = set(
            &mut ov,
            b"k",
            b"x".to_vec(),
            Condition::IfAbsent,
            Ttl::Clear,
            false,
            later,
        );
        assert!(!r.unwrap().written);
    }

    #[test]
    fn mset_and_msetnx() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        set(
            &mut ov,
            b"a",
            b"0".to_vec(),
            Condition::Always,
            Ttl::At(NOW + 99),
            false,
            NOW,
        )
        .unwrap();
        mset(&mut ov, &[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]);
        assert_eq!(get_string(&ov, b"a", NOW).unwrap(), Some(b"3".to_vec()));
        assert_eq!(expire_of(&ov, b"a"), Some(0));
        put_hash(&mut ov, b"h");
        assert!(!msetnx(&mut ov, &[(b"c", b"1"), (b"h", b"2")], NOW).unwrap());
        assert_eq!(get_string(&ov, b"c", NOW).unwrap(), None);
        assert!(msetnx(&mut ov, &[(b"c", b"1"), (b"d", b"2"), (b"c", b"5")], NOW).unwrap());
        assert_eq!(get_string(&ov, b"c", NOW).unwrap(), Some(b"5".to_vec()));
    }

    #[test]
    fn getdel_and_set_ttl() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        set_plain(&mut ov, b"k", b"v");
        set_ttl(&mut ov, b"k", Ttl::At(NOW + 1), NOW).unwrap();
        assert_eq!(expire_of(&ov, b"k"), Some(NOW + 1));
        set_ttl(&mut ov, b"k", Ttl::Keep, NOW).unwrap();
        assert_eq!(expire_of(&ov, b"k"), Some(NOW + 1));
        set_ttl(&mut ov, b"k", Ttl::Clear, NOW).unwrap();
        assert_eq!(expire_of(&ov, b"k"), Some(0));
        set_ttl(&mut ov, b"k", Ttl::At(NOW - 1), NOW).unwrap();
        assert_eq!(get_string(&ov, b"k", NOW).unwrap(), None);
        set_ttl(&mut ov, b"missing", Ttl::At(NOW + 1), NOW).unwrap();
        assert_eq!(expire_of(&ov, b"missing"), None);

        set_plain(&mut ov, b"k", b"v");
        assert_eq!(getdel(&mut ov, b"k", NOW).unwrap(), Some(b"v".to_vec()));
        assert_eq!(getdel(&mut ov, b"k", NOW).unwrap(), None);
        put_hash(&mut ov, b"h");
        assert!(matches!(
            getdel(&mut ov, b"h", NOW),
            Err(KsError::WrongType)
        ));
        assert!(matches!(
            set_ttl(&mut ov, b"h", Ttl::Clear, NOW),
            Err(KsError::WrongType)
        ));
    }

    #[test]
    fn getrange_like_redis() {
        // Cases from Redis's string.tcl "GETRANGE against string value"
        // and the replies of redis-server 7.0.
        let s = b"Hello World";
        let cases: &[(i64, i64, &[u8])] = &[
            (0, 3, b"Hell"),
            (0, -1, b"Hello World"),
            (-4, -1, b"orld"),
            (5, 3, b""),
            (5, 5000, b" World"),
            (-5000, 10000, b"Hello World"),
            (-1, -5, b""),
            (-100, -50, b"H"),
            (-100, 2, b"Hel"),
            (10, 100, b"d"),
            (0, i64::MAX, b"Hello World"),
            (i64::MIN, i64::MIN, b"H"),
        ];
        for &(start, end, want) in cases {
            assert_eq!(substring(s, start, end), want, "{start} {end}");
        }
        assert_eq!(substring(b"", 0, -1), b"");
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        assert_eq!(getrange(&ov, b"none", 0, -1, NOW).unwrap(), b"");
        set_plain(&mut ov, b"k", s);
        assert_eq!(getrange(&ov, b"k", 0, 4, NOW).unwrap(), b"Hello");
        assert_eq!(strlen(&ov, b"k", NOW).unwrap(), 11);
        assert_eq!(strlen(&ov, b"none", NOW).unwrap(), 0);
    }

    #[test]
    fn append_keeps_ttl_and_checks_size() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        assert_eq!(append(&mut ov, b"k", b"abc", NOW).unwrap(), 3);
        set_ttl(&mut ov, b"k", Ttl::At(NOW + 100), NOW).unwrap();
        assert_eq!(append(&mut ov, b"k", b"def", NOW).unwrap(), 6);
        assert_eq!(
            get_string(&ov, b"k", NOW).unwrap(),
            Some(b"abcdef".to_vec())
        );
        assert_eq!(expire_of(&ov, b"k"), Some(NOW + 100));
        put_hash(&mut ov, b"h");
        assert!(matches!(
            append(&mut ov, b"h", b"x", NOW),
            Err(KsError::WrongType)
        ));
    }

    #[test]
    fn setrange_like_redis() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        // "SETRANGE against non-existing key"
        assert_eq!(setrange(&mut ov, b"k", 0, b"", NOW).unwrap(), 0);
        assert_eq!(read_meta(&ov, b"k", NOW).unwrap(), None);
        assert_eq!(setrange(&mut ov, b"k", 1, b"foo", NOW).unwrap(), 4);
        assert_eq!(get_string(&ov, b"k", NOW).unwrap(), Some(b"\0foo".to_vec()));
        // "SETRANGE against string-encoded key"
        set_plain(&mut ov, b"k", b"foo");
        set_ttl(&mut ov, b"k", Ttl::At(NOW + 100), NOW).unwrap();
        assert_eq!(setrange(&mut ov, b"k", 0, b"b", NOW).unwrap(), 3);
        assert_eq!(setrange(&mut ov, b"k", 0, b"", NOW).unwrap(), 3);
        assert_eq!(setrange(&mut ov, b"k", 4, b"bar", NOW).unwrap(), 7);
        assert_eq!(
            get_string(&ov, b"k", NOW).unwrap(),
            Some(b"boo\0bar".to_vec())
        );
        assert_eq!(expire_of(&ov, b"k"), Some(NOW + 100));
        // "SETRANGE with huge offset"
        let e1 = cmd_err(setrange(&mut ov, b"k", MAX_STRING_LEN, b"x", NOW));
        assert_eq!(
            e1,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        let e2 = cmd_err(setrange(&mut ov, b"n", u64::MAX, b"x", NOW));
        assert_eq!(e2, e1);
        // Nothing to write: no size check, as in Redis.
        assert_eq!(setrange(&mut ov, b"k", u64::MAX, b"", NOW).unwrap(), 7);
        put_hash(&mut ov, b"h");
        assert!(matches!(
            setrange(&mut ov, b"h", 0, b"", NOW),
            Err(KsError::WrongType)
        ));
    }

    #[test]
    fn incr_like_redis() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        assert_eq!(incr_by(&mut ov, b"n", 1, NOW).unwrap(), 1);
        assert_eq!(incr_by(&mut ov, b"n", -11, NOW).unwrap(), -10);
        set_plain(&mut ov, b"n", b"9223372036854775807");
        assert_eq!(
            cmd_err(incr_by(&mut ov, b"n", 1, NOW)),
            "ERR increment or decrement would overflow"
        );
        set_plain(&mut ov, b"n", b"-9223372036854775808");
        assert_eq!(
            cmd_err(incr_by(&mut ov, b"n", -1, NOW)),
            "ERR increment or decrement would overflow"
        );
        // "INCR fails against key with spaces", "… a key holding 1.0", …
        for bad in [
            &b" 11"[..],
            b"11 ",
            b" 11 ",
            b"1.0",
            b"+1",
            b"01",
            b"",
            b"12a",
            b"99999999999999999999",
        ] {
            set_plain(&mut ov, b"n", bad);
            assert_eq!(
                cmd_err(incr_by(&mut ov, b"n", 1, NOW)),
                "ERR value is not an integer or out of range",
                "{bad:?}"
            );
        }
        set_plain(&mut ov, b"n", b"17179869184");
        set_ttl(&mut ov, b"n", Ttl::At(NOW + 100), NOW).unwrap();
        assert_eq!(
            incr_by(&mut ov, b"n", 17179869184, NOW).unwrap(),
            34359738368
        );
        assert_eq!(
            get_string(&ov, b"n", NOW).unwrap(),
            Some(b"34359738368".to_vec())
        );
        assert_eq!(expire_of(&ov, b"n"), Some(NOW + 100));
        put_hash(&mut ov, b"h");
        assert!(matches!(
            incr_by(&mut ov, b"h", 1, NOW),
            Err(KsError::WrongType)
        ));
    }

    #[test]
    fn incrbyfloat_like_redis() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        assert_eq!(incr_by_float(&mut ov, b"f", b"10.5", NOW).unwrap(), b"10.5");
        assert_eq!(incr_by_float(&mut ov, b"f", b"0.1", NOW).unwrap(), b"10.6");
        set_ttl(&mut ov, b"f", Ttl::At(NOW + 100), NOW).unwrap();
        assert_eq!(
            incr_by_float(&mut ov, b"f", b"1e3", NOW).unwrap(),
            b"1010.59999999999999998"
        );
        assert_eq!(expire_of(&ov, b"f"), Some(NOW + 100));
        assert_eq!(
            cmd_err(incr_by_float(&mut ov, b"f", b"abc", NOW)),
            "ERR value is not a valid float"
        );
        for bad in [&b"inf"[..], b"-inf", b"1e4932"] {
            set_plain(&mut ov, b"f", b"1e4932");
            assert_eq!(
                cmd_err(incr_by_float(&mut ov, b"f", bad, NOW)),
                "ERR increment would produce NaN or Infinity"
            );
        }
        set_plain(&mut ov, b"f", b" 1");
        assert_eq!(
            cmd_err(incr_by_float(&mut ov, b"f", b"1", NOW)),
            "ERR value is not a valid float"
        );
        put_hash(&mut ov, b"h");
        assert!(matches!(
            incr_by_float(&mut ov, b"h", b"abc", NOW),
            Err(KsError::WrongType)
        ));
    }

    #[test]
    fn object_encoding_follows_how_the_value_was_written() {
        let e = engine();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let enc = |ov: &Overlay<'_>, k: &[u8]| {
            let m = read_meta(ov, k, NOW).unwrap().unwrap();
            Encoding::of(&m).name(&m.payload)
        };
        set_plain(&mut ov, b"k", b"12");
        assert_eq!(enc(&ov, b"k"), "int");
        append(&mut ov, b"k", b"", NOW).unwrap();
        assert_eq!(
            enc(&ov, b"k"),
            "raw",
            "APPEND to an existing key, even of nothing"
        );
        // Only the expiry changes: the encoding stays.
        set_ttl(&mut ov, b"k", Ttl::At(NOW + 5000), NOW).unwrap();
        assert_eq!(enc(&ov, b"k"), "raw");
        incr_by(&mut ov, b"k", 1, NOW).unwrap();
        assert_eq!(enc(&ov, b"k"), "int");
        append(&mut ov, b"new", b"5", NOW).unwrap();
        assert_eq!(
            enc(&ov, b"new"),
            "int",
            "APPEND to a new key stores the argument"
        );
        setrange(&mut ov, b"sr", 0, b"1", NOW).unwrap();
        assert_eq!(enc(&ov, b"sr"), "raw");
        set_plain(&mut ov, b"sr2", b"abc");
        setrange(&mut ov, b"sr2", 0, b"", NOW).unwrap();
        assert_eq!(
            enc(&ov, b"sr2"),
            "embstr",
            "an empty SETRANGE writes nothing"
        );
        incr_by_float(&mut ov, b"f", b"3", NOW).unwrap();
        assert_eq!(enc(&ov, b"f"), "embstr");
        set_plain(&mut ov, b"f", b"3");
        assert_eq!(enc(&ov, b"f"), "int");
    }

    #[test]
    fn lcs_like_redis() {
        // Redis's string.tcl LCS cases (rna1/rna2 shortened) and replies of
        // redis-server 7.0.
        let r = lcs(b"ohmytext", b"mynewtext");
        assert_eq!(r.subsequence, b"mytext");
        assert_eq!(
            r.matches,
            vec![
                LcsMatch {
                    a: (4, 7),
                    b: (5, 8)
                },
                LcsMatch {
                    a: (2, 3),
                    b: (0, 1)
                },
            ]
        );
        assert_eq!(r.matches[0].len(), 4);
        let r = lcs(b"", b"abc");
        assert!(r.subsequence.is_empty() && r.matches.is_empty());
        let r = lcs(b"abc", b"abc");
        assert_eq!(
            r.matches,
            vec![LcsMatch {
                a: (0, 2),
                b: (0, 2)
            }]
        );
        assert_eq!(lcs_cells(8191, 16383) * 4, 512 * 1024 * 1024);
    }
}
