//! # Sorted sets: typed operations behind ZADD, ZSCORE, ZRANGE, ZRANK, …
//!
//! A sorted set is a [`Collection`] of type [`KeyType::ZSet`] (`size` =
//! number of members) with two subkey families, so that both "score of a
//! member" and "members in score order" are one lookup or one range scan:
//!
//! ```text
//! member index  sub = [0x00][member]                 value = score (f64 bits, 8 bytes BE)
//! score index   sub = [0x01][score key: u64 BE][member]   value = empty, or for a
//!                                                   skiplist's -0 the score's bits
//! ```
//!
//! The score key is order-preserving: the f64 bits with the sign flipped
//! (a negative score has all its bits inverted, a positive one its sign
//! bit set), so byte order of the score index is numeric order, and equal
//! scores are ordered by member bytes, exactly as Redis's skiplist orders
//! ties. A score of `-0.0` is stored as `0.0` in a "listpack" set and kept
//! (sorting as 0) in a "skiplist" one, as Redis keeps and replies it.
//!
//! Invariants:
//! - Each member has exactly one entry in each family, and they agree.
//! - A stored sorted set has `size` > 0; removing the last member deletes
//!   the record ([`collection::save`]).
//! - No score is NaN.
//!
//! The record's `extra` (after `size`) is empty while Redis would keep the
//! set a "listpack" and `[1]` once it would have become a "skiplist"
//! (OBJECT ENCODING; see [`encoding_of`]).
//!
//! CAVEATS:
//! - Ranks (ZRANK, ZRANGE by index, ZREMRANGEBYRANK) walk the score index:
//!   O(rank), not Redis's O(log N). Score ranges start with a seek, but
//!   a LIMIT offset is skipped by walking (and holding) the range.
//! - ZRANDMEMBER reads the whole set to draw from it: O(N) time and
//!   memory; negative counts below -10,000,000 answer "ERR value is out
//!   of range" (as HRANDFIELD does).
//! - Lex ranges read the whole score index and walk it as Redis walks a
//!   listpack ([`lex_walk`]); as in Redis, they are meaningful only when
//!   every score is equal. Over unequal scores a large set answers what a
//!   listpack would, where Redis's skiplist search may answer otherwise.

use std::ops::Bound;

use super::collection::{self, prefix_range, Collection};
use super::hash::{Draw, MAX_REPEATED_DRAWS};
use super::{delete_key, KeyType, KsError, KsResult, KvRead, Overlay};

/// A member and its score.
pub type Entry = (Vec<u8>, f64);

const MEMBER: u8 = 0x00;
const SCORE: u8 = 0x01;

/// Redis 7.0's `zset-max-listpack-entries` default.
pub const LISTPACK_MAX_ENTRIES: u64 = 128;
/// Redis 7.0's `zset-max-listpack-value` default.
pub const LISTPACK_MAX_VALUE: usize = 64;
/// `extra[0]` of a sorted set's record once Redis would have converted it
/// to a skiplist (too many members, or a member too long); like Redis, it
/// never goes back. Empty `extra`: "listpack".
const SKIPLIST: u8 = 1;

/// OBJECT ENCODING of a sorted set's metadata record: "listpack" or
/// "skiplist", as Redis 7.0 with its default thresholds.
pub fn encoding_of(meta: &super::Meta) -> &'static str {
    if meta.payload.get(8) == Some(&SKIPLIST) {
        "skiplist"
    } else {
        "listpack"
    }
}

/// Keeps the encoding flag as Redis's `zsetAdd` would after `member` was
/// added (with `c.size` already counting it).
fn note_added(c: &mut Collection, member: &[u8]) {
    if c.size > LISTPACK_MAX_ENTRIES || member.len() > LISTPACK_MAX_VALUE {
        c.extra = vec![SKIPLIST];
    }
}

fn err(text: &str) -> KsError {
    KsError::Command(text.to_string())
}

/// The order-preserving 8-byte key of a score.
pub fn encode_score(s: f64) -> [u8; 8] {
    let s = if s == 0.0 { 0.0 } else { s };
    let bits = s.to_bits();
    let k = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    k.to_be_bytes()
}

/// The score whose key is `b` (inverse of [`encode_score`]).
pub fn decode_score(b: [u8; 8]) -> f64 {
    let k = u64::from_be_bytes(b);
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

fn member_sub(m: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(1 + m.len());
    s.push(MEMBER);
    s.extend_from_slice(m);
    s
}

fn score_sub(score: f64, m: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(9 + m.len());
    s.push(SCORE);
    s.extend_from_slice(&encode_score(score));
    s.extend_from_slice(m);
    s
}

/// Splits a score-index sub into score and member.
fn parse_score_sub(sub: &[u8]) -> KsResult<Entry> {
    if sub.len() < 9 || sub[0] != SCORE {
        return Err(corrupt());
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&sub[1..9]);
    Ok((sub[9..].to_vec(), decode_score(b)))
}

fn corrupt() -> KsError {
    KsError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "corrupt sorted set entry",
    ))
}

fn parse_value(v: &[u8]) -> KsResult<f64> {
    let b: [u8; 8] = v.try_into().map_err(|_| corrupt())?;
    Ok(f64::from_bits(u64::from_be_bytes(b)))
}

/// The live sorted set at `key`: `None` when absent or expired,
/// `WrongType` when the key holds another type.
pub fn open(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<Collection>> {
    collection::read(kv, key, KeyType::ZSet, now_ms)
}

/// The live sorted set at `key`, or a new empty one with `version`.
pub fn open_or_new(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    now_ms: u64,
    version: impl FnOnce() -> u64,
) -> KsResult<Collection> {
    collection::read_or_new(kv, key, KeyType::ZSet, now_ms, version)
}

fn score_in(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    c: &Collection,
    m: &[u8],
) -> KsResult<Option<f64>> {
    match kv.get(&c.subkey(key, &member_sub(m)))? {
        None => Ok(None),
        Some(v) => parse_value(&v).map(Some),
    }
}

// ---- reads ----

/// ZSCORE.
pub fn score(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    m: &[u8],
    now_ms: u64,
) -> KsResult<Option<f64>> {
    match open(kv, key, now_ms)? {
        None => Ok(None),
        Some(c) => score_in(kv, key, &c, m),
    }
}

/// ZMSCORE.
pub fn mscore(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    members: &[&[u8]],
    now_ms: u64,
) -> KsResult<Vec<Option<f64>>> {
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(vec![None; members.len()]);
    };
    members.iter().map(|m| score_in(kv, key, &c, m)).collect()
}

/// ZCARD.
pub fn card(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<u64> {
    Ok(open(kv, key, now_ms)?.map_or(0, |c| c.size))
}

/// A score interval as ZRANGEBYSCORE/ZCOUNT take it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub min_ex: bool,
    pub max: f64,
    pub max_ex: bool,
}

impl ScoreRange {
    fn above_min(&self, s: f64) -> bool {
        if self.min_ex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    fn below_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }
    pub fn contains(&self, s: f64) -> bool {
        self.above_min(s) && self.below_max(s)
    }
}

/// One end of a lex interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// A member interval as ZRANGEBYLEX/ZLEXCOUNT take it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn contains(&self, m: &[u8]) -> bool {
        let lo = match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= &b[..],
            LexBound::Excl(b) => m > &b[..],
        };
        let hi = match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        };
        lo && hi
    }
}

impl LexRange {
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(b) => m >= &b[..],
            LexBound::Excl(b) => m > &b[..],
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        }
    }

    /// Whether no string can be in the range (min above max).
    fn is_empty(&self) -> bool {
        use std::cmp::Ordering;
        match (&self.min, &self.max) {
            (LexBound::PosInf, _) | (_, LexBound::NegInf) => true,
            (LexBound::NegInf, _) | (_, LexBound::PosInf) => false,
            (a, b) => {
                let (a, a_ex) = match a {
                    LexBound::Incl(x) => (x, false),
                    LexBound::Excl(x) => (x, true),
                    _ => unreachable!("infinite bounds handled above"),
                };
                let (b, b_ex) = match b {
                    LexBound::Incl(x) => (x, false),
                    LexBound::Excl(x) => (x, true),
                    _ => unreachable!("infinite bounds handled above"),
                };
                match a.cmp(b) {
                    Ordering::Greater => true,
                    Ordering::Equal => a_ex || b_ex,
                    Ordering::Less => false,
                }
            }
        }
    }
}

/// A lex range over `asc` (the set in score order) as Redis walks a
/// listpack: nothing unless the last member is at or above the minimum and
/// the first at or below the maximum; else from the first member at or
/// above the minimum (reversed: the last at or below the maximum), skip
/// `offset` members, then take members while they stay within the other
/// bound. With equal scores this is exactly the members in the range;
/// with unequal ones it is what Redis answers for a small set.
fn lex_walk(asc: &[Entry], r: &LexRange, rev: bool, offset: usize, limit: usize) -> Vec<Entry> {
    let (Some(first), Some(last)) = (asc.first(), asc.last()) else {
        return Vec::new();
    };
    if r.is_empty() || !r.gte_min(&last.0) || !r.lte_max(&first.0) {
        return Vec::new();
    }
    if !rev {
        let Some(i) = asc.iter().position(|e| r.gte_min(&e.0)) else {
            return Vec::new();
        };
        if !r.lte_max(&asc[i].0) {
            return Vec::new();
        }
        asc[i..]
            .iter()
            .skip(offset)
            .take_while(|e| r.lte_max(&e.0))
            .take(limit)
            .cloned()
            .collect()
    } else {
        let Some(i) = asc.iter().rposition(|e| r.lte_max(&e.0)) else {
            return Vec::new();
        };
        if !r.gte_min(&asc[i].0) {
            return Vec::new();
        }
        asc[..=i]
            .iter()
            .rev()
            .skip(offset)
            .take_while(|e| r.gte_min(&e.0))
            .take(limit)
            .cloned()
            .collect()
    }
}

/// Which members a range read selects.
#[derive(Clone, Debug, PartialEq)]
pub enum Select {
    /// By position, Redis-style (negative counts from the end), inclusive.
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Walks the score index of `c` in order (or reverse), within `range`.
fn walk<'k>(
    kv: &'k (impl KvRead + ?Sized),
    key: &[u8],
    c: &Collection,
    range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    rev: bool,
) -> impl Iterator<Item = KsResult<Entry>> + 'k {
    let it = if rev {
        kv.scan_rev(range)
    } else {
        kv.scan(range)
    };
    let n = c.subkey(key, &[]).len();
    it.map(move |r| {
        let (k, v) = r?;
        let (m, s) = parse_score_sub(k.get(n..).unwrap_or_default())?;
        // A skiplist's -0 is kept in the entry's value (see `put`).
        Ok(if v.is_empty() {
            (m, s)
        } else {
            (m, parse_value(&v)?)
        })
    })
}

/// The score-index key range covering `r` (ends checked again by the caller
/// for exclusive bounds).
fn score_bounds(key: &[u8], c: &Collection, r: &ScoreRange) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let lo = c.subkey(key, &[&[SCORE][..], &encode_score(r.min)].concat());
    let hi = prefix_range(&c.subkey(key, &[&[SCORE][..], &encode_score(r.max)].concat())).1;
    (Bound::Included(lo), hi)
}

/// ZRANGE and friends: the selected members in order (`rev`: from the
/// highest), after skipping `offset` and keeping at most `limit` (< 0: all).
pub fn range(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    sel: &Select,
    rev: bool,
    offset: i64,
    limit: i64,
    now_ms: u64,
) -> KsResult<Vec<Entry>> {
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(Vec::new());
    };
    let all = c.subkey_prefix_range(key, &[SCORE]);
    let take = |limit: i64| {
        if limit < 0 {
            usize::MAX
        } else {
            limit as usize
        }
    };
    match sel {
        Select::Rank(start, end) => {
            let len = c.size as i64;
            let (mut start, mut end) = (*start, *end);
            if start < 0 {
                start += len;
            }
            if end < 0 {
                end += len;
            }
            start = start.max(0);
            if start > end || start >= len {
                return Ok(Vec::new());
            }
            end = end.min(len - 1);
            walk(kv, key, &c, all, rev)
                .skip(start as usize)
                .take((end - start + 1) as usize)
                .collect()
        }
        Select::Score(r) => {
            if offset < 0 || (offset > 0 && offset as u64 >= c.size) {
                return Ok(Vec::new());
            }
            if r.min > r.max || (r.min == r.max && (r.min_ex || r.max_ex)) {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for e in walk(kv, key, &c, score_bounds(key, &c, r), rev) {
                let e = e?;
                if r.contains(e.1) {
                    out.push(e);
                }
            }
            Ok(out
                .into_iter()
                .skip(offset as usize)
                .take(take(limit))
                .collect())
        }
        Select::Lex(r) => {
            if offset < 0 || (offset > 0 && offset as u64 >= c.size) {
                return Ok(Vec::new());
            }
            let asc: Vec<Entry> = walk(kv, key, &c, all, false).collect::<KsResult<_>>()?;
            Ok(lex_walk(&asc, r, rev, offset as usize, take(limit)))
        }
    }
}

/// ZCOUNT / ZLEXCOUNT / size of a rank range.
pub fn count(kv: &(impl KvRead + ?Sized), key: &[u8], sel: &Select, now_ms: u64) -> KsResult<u64> {
    Ok(range(kv, key, sel, false, 0, -1, now_ms)?.len() as u64)
}

/// ZRANK / ZREVRANK.
pub fn rank(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    m: &[u8],
    rev: bool,
    now_ms: u64,
) -> KsResult<Option<u64>> {
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(None);
    };
    let Some(s) = score_in(kv, key, &c, m)? else {
        return Ok(None);
    };
    let target = score_sub(s, m);
    let all = c.subkey_prefix_range(key, &[SCORE]);
    let n = c.subkey(key, &[]).len();
    let it = if rev { kv.scan_rev(all) } else { kv.scan(all) };
    for (i, r) in it.enumerate() {
        let (k, _) = r?;
        if k.get(n..) == Some(&target[..]) {
            return Ok(Some(i as u64));
        }
    }
    Err(corrupt())
}

// ---- writes ----

/// ZADD's options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What ZADD did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AddResult {
    pub added: u64,
    pub updated: u64,
    /// With INCR: the new score, `None` when the element was skipped.
    pub score: Option<f64>,
}

fn put(ov: &mut Overlay<'_>, key: &[u8], c: &Collection, m: &[u8], s: f64) {
    // A listpack keeps -0 as 0; a skiplist keeps the double, -0 included
    // (its score-index entry sorts as 0 and carries the -0 in its value).
    let neg_zero = s == 0.0 && s.is_sign_negative();
    let s = if neg_zero && c.extra.first() != Some(&SKIPLIST) {
        0.0
    } else {
        s
    };
    let bits = s.to_bits().to_be_bytes().to_vec();
    ov.put(c.subkey(key, &member_sub(m)), bits.clone());
    let index_value = if s == 0.0 && s.is_sign_negative() {
        bits
    } else {
        Vec::new()
    };
    ov.put(c.subkey(key, &score_sub(s, m)), index_value);
}

/// ZADD / ZINCRBY on the open set `c`; scores are not NaN.
pub fn add(
    ov: &mut Overlay<'_>,
    key: &[u8],
    mut c: Collection,
    flags: AddFlags,
    elems: &[(f64, &[u8])],
) -> KsResult<AddResult> {
    let mut res = AddResult::default();
    for &(score, m) in elems {
        let cur = if c.size == 0 {
            None
        } else {
            score_in(&*ov, key, &c, m)?
        };
        match cur {
            Some(cur) => {
                if flags.nx {
                    continue;
                }
                let new = if flags.incr { cur + score } else { score };
                if new.is_nan() {
                    return Err(err("ERR resulting score is not a number (NaN)"));
                }
                if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                    continue;
                }
                // The reply keeps a -0 (stored as 0), as Redis's does.
                res.score = Some(new);
                if new != cur {
                    ov.delete(c.subkey(key, &score_sub(cur, m)));
                    put(ov, key, &c, m, new);
                    res.updated += 1;
                }
            }
            None => {
                if flags.xx {
                    continue;
                }
                c.size += 1;
                note_added(&mut c, m);
                put(ov, key, &c, m, score);
                res.added += 1;
                res.score = Some(score);
            }
        }
    }
    if res.added > 0 {
        collection::save(ov, key, &c);
    }
    Ok(res)
}

fn remove_in(ov: &mut Overlay<'_>, key: &[u8], c: &mut Collection, m: &[u8], s: f64) {
    ov.delete(c.subkey(key, &member_sub(m)));
    ov.delete(c.subkey(key, &score_sub(s, m)));
    c.size -= 1;
}

/// ZREM: how many members were removed.
pub fn rem(ov: &mut Overlay<'_>, key: &[u8], members: &[&[u8]], now_ms: u64) -> KsResult<u64> {
    let Some(mut c) = open(&*ov, key, now_ms)? else {
        return Ok(0);
    };
    let mut n = 0;
    for m in members {
        if let Some(s) = score_in(&*ov, key, &c, m)? {
            remove_in(ov, key, &mut c, m, s);
            n += 1;
        }
    }
    if n > 0 {
        collection::save(ov, key, &c);
    }
    Ok(n)
}

/// ZREMRANGEBYRANK/SCORE/LEX: how many members were removed.
pub fn rem_range(ov: &mut Overlay<'_>, key: &[u8], sel: &Select, now_ms: u64) -> KsResult<u64> {
    let Some(mut c) = open(&*ov, key, now_ms)? else {
        return Ok(0);
    };
    let gone = range(&*ov, key, sel, false, 0, -1, now_ms)?;
    for (m, s) in &gone {
        remove_in(ov, key, &mut c, m, *s);
    }
    if !gone.is_empty() {
        collection::save(ov, key, &c);
    }
    Ok(gone.len() as u64)
}

/// ZPOPMIN / ZPOPMAX: removes and returns up to `count` lowest (or highest).
pub fn pop(
    ov: &mut Overlay<'_>,
    key: &[u8],
    max: bool,
    count: u64,
    now_ms: u64,
) -> KsResult<Vec<Entry>> {
    let Some(mut c) = open(&*ov, key, now_ms)? else {
        return Ok(Vec::new());
    };
    let all = c.subkey_prefix_range(key, &[SCORE]);
    let gone: Vec<Entry> = walk(&*ov, key, &c, all, max)
        .take(count.min(c.size) as usize)
        .collect::<KsResult<_>>()?;
    for (m, s) in &gone {
        remove_in(ov, key, &mut c, m, *s);
    }
    if !gone.is_empty() {
        collection::save(ov, key, &c);
    }
    Ok(gone)
}

/// ZRANGESTORE: replaces `dst` (whatever it held, TTL included) with the
/// sorted set of `entries` (distinct members), or deletes it when there
/// are none. Returns the new size.
pub fn store(
    ov: &mut Overlay<'_>,
    dst: &[u8],
    entries: &[Entry],
    now_ms: u64,
    version: u64,
) -> KsResult<u64> {
    store_as(ov, dst, entries, now_ms, version, None)
}

/// [`store`], with the encoding forced to "listpack" (`Some(true)`) or
/// "skiplist" (`Some(false)`), or (`None`) as Redis converts a stored
/// result: "listpack" while it has at most 128 members of at most 64 bytes.
pub fn store_as(
    ov: &mut Overlay<'_>,
    dst: &[u8],
    entries: &[Entry],
    now_ms: u64,
    version: u64,
    listpack: Option<bool>,
) -> KsResult<u64> {
    delete_key(ov, dst, now_ms)?;
    if entries.is_empty() {
        return Ok(0);
    }
    let mut c = Collection::new(KeyType::ZSet, version);
    c.size = entries.len() as u64;
    let small = c.size <= LISTPACK_MAX_ENTRIES
        && entries.iter().all(|(m, _)| m.len() <= LISTPACK_MAX_VALUE);
    if !listpack.unwrap_or(small) {
        c.extra = vec![SKIPLIST];
    }
    for (m, s) in entries {
        put(ov, dst, &c, m, *s);
    }
    collection::save(ov, dst, &c);
    Ok(c.size)
}

/// How ZUNION/ZINTER combine the scores of a member found in several inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Which set operation ZUNION/ZINTER/ZDIFF computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

/// One input of a set operation: a sorted set's entries, a plain set's
/// members with score 1 (as Redis accepts), nothing for a missing key.
fn input(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Vec<Entry>> {
    match open(kv, key, now_ms) {
        Ok(None) => Ok(Vec::new()),
        Ok(Some(c)) => {
            let all = c.subkey_prefix_range(key, &[SCORE]);
            walk(kv, key, &c, all, false).collect()
        }
        Err(KsError::WrongType) => Ok(super::set::members(kv, key, now_ms)?
            .into_iter()
            .map(|m| (m, 1.0))
            .collect()),
        Err(e) => Err(e),
    }
}

fn aggregate(acc: f64, v: f64, agg: Aggregate) -> f64 {
    match agg {
        // inf + -inf is NaN: Redis makes it 0.
        Aggregate::Sum => {
            let s = acc + v;
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Aggregate::Min => acc.min(v),
        Aggregate::Max => acc.max(v),
    }
}

/// ZUNION/ZINTER/ZDIFF (and their STORE forms): the result ordered by
/// score, then member. `weights` has one weight per key.
pub fn combine(
    kv: &(impl KvRead + ?Sized),
    keys: &[&[u8]],
    weights: &[f64],
    agg: Aggregate,
    op: SetOp,
    now_ms: u64,
) -> KsResult<Vec<Entry>> {
    use std::collections::BTreeMap;
    let inputs: Vec<Vec<Entry>> = keys
        .iter()
        .map(|k| input(kv, k, now_ms))
        .collect::<KsResult<_>>()?;
    let weighted = |s: f64, i: usize| {
        let v = s * weights.get(i).copied().unwrap_or(1.0);
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut acc: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    match op {
        SetOp::Union => {
            for (i, inp) in inputs.iter().enumerate() {
                for (m, s) in inp {
                    let v = weighted(*s, i);
                    acc.entry(m.clone())
                        .and_modify(|a| *a = aggregate(*a, v, agg))
                        .or_insert(v);
                }
            }
        }
        SetOp::Inter => {
            let maps: Vec<BTreeMap<&[u8], f64>> = inputs
                .iter()
                .map(|inp| inp.iter().map(|(m, s)| (&m[..], *s)).collect())
                .collect();
            // As Redis: the smallest input first (a stable order among
            // equal sizes), its weighted score's NaN made 0; the others'
            // weighted scores go to the aggregate as they are (a NaN sum
            // becomes 0 there).
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].len());
            let first = order[0];
            'members: for (m, s) in &inputs[first] {
                let mut a = weighted(*s, first);
                for &i in &order[1..] {
                    match maps[i].get(&m[..]) {
                        Some(s) => {
                            let v = s * weights.get(i).copied().unwrap_or(1.0);
                            a = aggregate(a, v, agg);
                        }
                        None => continue 'members,
                    }
                }
                acc.insert(m.clone(), a);
            }
        }
        SetOp::Diff => {
            let others: std::collections::BTreeSet<&[u8]> = inputs[1..]
                .iter()
                .flat_map(|inp| inp.iter().map(|(m, _)| &m[..]))
                .collect();
            for (m, s) in &inputs[0] {
                if !others.contains(&m[..]) {
                    acc.insert(m.clone(), *s);
                }
            }
        }
    }
    // A weight can make -0: Redis replies it as such (its result is a
    // skiplist); a stored result that is a listpack keeps 0 (see `put`).
    let mut out: Vec<Entry> = acc.into_iter().collect();
    out.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(out)
}

/// ZRANDMEMBER: `None` for a missing key. Distinct draws return the whole
/// set (in score order) when `n` covers it, else a uniform sample in random
/// order; draws with repeats are independent. Reads the whole set (see
/// CAVEATS).
pub fn random_members(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    draw: Draw,
    rng: &mut impl rand::Rng,
    now_ms: u64,
) -> KsResult<Option<Vec<Entry>>> {
    if open(kv, key, now_ms)?.is_none() {
        return Ok(None);
    }
    if let Draw::WithRepeats(n) = draw {
        if n > MAX_REPEATED_DRAWS {
            return Err(err("ERR value is out of range"));
        }
    }
    let all = range(kv, key, &Select::Rank(0, -1), false, 0, -1, now_ms)?;
    let size = all.len();
    Ok(Some(match draw {
        Draw::Distinct(n) if n >= size as u64 => all,
        Draw::Distinct(n) => {
            let n = n as usize;
            let mut idx: Vec<usize> = (0..size).collect();
            // A partial Fisher-Yates shuffle: the first n are the sample.
            for i in 0..n {
                let j = rng.random_range(i..size);
                idx.swap(i, j);
            }
            idx[..n].iter().map(|&i| all[i].clone()).collect()
        }
        Draw::WithRepeats(n) => (0..n)
            .map(|_| all[rng.random_range(0..size)].clone())
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::meta_key;

    const NOW: u64 = 1_000_000;

    fn zadd(
        ov: &mut Overlay<'_>,
        next: &mut u64,
        key: &[u8],
        f: AddFlags,
        elems: &[(f64, &[u8])],
    ) -> KsResult<AddResult> {
        let c = open_or_new(&*ov, key, NOW, || {
            *next += 1;
            *next
        })?;
        add(ov, key, c, f, elems)
    }

    fn members(v: Vec<Entry>) -> Vec<Vec<u8>> {
        v.into_iter().map(|e| e.0).collect()
    }

    #[test]
    fn score_encoding_preserves_order() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1.5,
            1e300,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(encode_score(w[0]) < encode_score(w[1]), "{w:?}");
        }
        for x in xs {
            assert_eq!(decode_score(encode_score(x)), x);
        }
        assert_eq!(encode_score(-0.0), encode_score(0.0));
    }

    #[test]
    fn add_score_card_rem() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let plain = AddFlags::default();
        let r = zadd(
            &mut ov,
            &mut v,
            b"z",
            plain,
            &[(1.0, b"a"), (2.0, b"b"), (3.0, b"a")],
        )
        .unwrap();
        assert_eq!((r.added, r.updated), (2, 1));
        assert_eq!(score(&ov, b"z", b"a", NOW).unwrap(), Some(3.0));
        assert_eq!(card(&ov, b"z", NOW).unwrap(), 2);
        assert_eq!(
            mscore(&ov, b"z", &[b"b", b"x"], NOW).unwrap(),
            vec![Some(2.0), None]
        );
        // The old score-index entry of "a" is gone: two entries in order.
        let all = range(&ov, b"z", &Select::Rank(0, -1), false, 0, -1, NOW).unwrap();
        assert_eq!(all, vec![(b"b".to_vec(), 2.0), (b"a".to_vec(), 3.0)]);
        assert_eq!(rem(&mut ov, b"z", &[b"a", b"a", b"q"], NOW).unwrap(), 1);
        assert_eq!(rem(&mut ov, b"z", &[b"b"], NOW).unwrap(), 1);
        assert_eq!(ov.get(&meta_key(b"z")).unwrap(), None);
        // XX on a missing key creates nothing.
        let xx = AddFlags { xx: true, ..plain };
        assert_eq!(
            zadd(&mut ov, &mut v, b"z", xx, &[(1.0, b"a")])
                .unwrap()
                .added,
            0
        );
        assert_eq!(ov.get(&meta_key(b"z")).unwrap(), None);
    }

    #[test]
    fn incr_gt_lt_nx_and_nan() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let incr = AddFlags {
            incr: true,
            ..AddFlags::default()
        };
        zadd(&mut ov, &mut v, b"z", AddFlags::default(), &[(10.0, b"x")]).unwrap();
        let r = zadd(&mut ov, &mut v, b"z", incr, &[(5.0, b"x")]).unwrap();
        assert_eq!(r.score, Some(15.0));
        let lt = AddFlags { lt: true, ..incr };
        assert_eq!(
            zadd(&mut ov, &mut v, b"z", lt, &[(1.0, b"x")])
                .unwrap()
                .score,
            None
        );
        let gt = AddFlags {
            gt: true,
            ..AddFlags::default()
        };
        assert_eq!(
            zadd(&mut ov, &mut v, b"z", gt, &[(20.0, b"x")])
                .unwrap()
                .updated,
            1
        );
        let nx = AddFlags {
            nx: true,
            ..AddFlags::default()
        };
        assert_eq!(
            zadd(&mut ov, &mut v, b"z", nx, &[(1.0, b"x")])
                .unwrap()
                .updated,
            0
        );
        assert_eq!(score(&ov, b"z", b"x", NOW).unwrap(), Some(20.0));
        zadd(
            &mut ov,
            &mut v,
            b"z",
            AddFlags::default(),
            &[(f64::INFINITY, b"i")],
        )
        .unwrap();
        match zadd(&mut ov, &mut v, b"z", incr, &[(f64::NEG_INFINITY, b"i")]) {
            Err(KsError::Command(t)) => assert_eq!(t, "ERR resulting score is not a number (NaN)"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ranges_ranks_ties_and_pops() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        zadd(
            &mut ov,
            &mut v,
            b"z",
            AddFlags::default(),
            &[
                (2.0, b"b"),
                (-1.0, b"n"),
                (2.0, b"a"),
                (f64::INFINITY, b"i"),
                (0.0, b"z"),
            ],
        )
        .unwrap();
        let all = |rev| members(range(&ov, b"z", &Select::Rank(0, -1), rev, 0, -1, NOW).unwrap());
        assert_eq!(
            all(false),
            vec![
                b"n".to_vec(),
                b"z".to_vec(),
                b"a".to_vec(),
                b"b".to_vec(),
                b"i".to_vec()
            ]
        );
        assert_eq!(all(true)[0], b"i".to_vec());
        assert_eq!(rank(&ov, b"z", b"a", false, NOW).unwrap(), Some(2));
        assert_eq!(rank(&ov, b"z", b"a", true, NOW).unwrap(), Some(2));
        assert_eq!(rank(&ov, b"z", b"n", true, NOW).unwrap(), Some(4));
        assert_eq!(rank(&ov, b"z", b"q", true, NOW).unwrap(), None);
        let sr = |min, min_ex, max, max_ex| {
            Select::Score(ScoreRange {
                min,
                min_ex,
                max,
                max_ex,
            })
        };
        let got = |sel: &Select, rev, off, lim| {
            members(range(&ov, b"z", sel, rev, off, lim, NOW).unwrap())
        };
        assert_eq!(
            got(&sr(0.0, true, 2.0, false), false, 0, -1),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(
            got(&sr(0.0, false, 2.0, true), false, 0, -1),
            vec![b"z".to_vec()]
        );
        assert_eq!(
            got(
                &sr(f64::NEG_INFINITY, false, f64::INFINITY, false),
                true,
                1,
                2
            ),
            vec![b"b".to_vec(), b"a".to_vec()]
        );
        assert_eq!(
            got(&sr(0.0, false, 10.0, false), false, -1, 2),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(
            count(&ov, b"z", &sr(-1.0, false, 2.0, false), NOW).unwrap(),
            4
        );
        let lex = Select::Lex(LexRange {
            min: LexBound::Excl(b"a".to_vec()),
            max: LexBound::PosInf,
        });
        // Unequal scores: Redis walks from the first member above "a" in
        // score order ("n") to the end, as a listpack does: 5, not the 4
        // members that compare above "a".
        assert_eq!(count(&ov, b"z", &lex, NOW).unwrap(), 5);
        let popped = pop(&mut ov, b"z", true, 2, NOW).unwrap();
        assert_eq!(
            popped,
            vec![(b"i".to_vec(), f64::INFINITY), (b"b".to_vec(), 2.0)]
        );
        assert_eq!(
            rem_range(&mut ov, b"z", &Select::Rank(0, 0), NOW).unwrap(),
            1
        );
        assert_eq!(card(&ov, b"z", NOW).unwrap(), 2);
        assert_eq!(pop(&mut ov, b"z", false, 9, NOW).unwrap().len(), 2);
        assert_eq!(ov.get(&meta_key(b"z")).unwrap(), None);
    }

    #[test]
    fn encoding_follows_redis_listpack_rules() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let enc = |ov: &Overlay<'_>, k: &[u8]| {
            encoding_of(&crate::keyspace::read_meta(ov, k, NOW).unwrap().unwrap())
        };
        let names: Vec<Vec<u8>> = (0..129).map(|i| format!("m{i}").into_bytes()).collect();
        let elems: Vec<(f64, &[u8])> = names.iter().map(|m| (1.0, &m[..])).collect();
        let plain = AddFlags::default();
        zadd(&mut ov, &mut v, b"z", plain, &elems[..128]).unwrap();
        assert_eq!(enc(&ov, b"z"), "listpack");
        zadd(&mut ov, &mut v, b"z", plain, &elems[128..]).unwrap();
        assert_eq!(enc(&ov, b"z"), "skiplist");
        rem_range(&mut ov, b"z", &Select::Rank(0, -3), NOW).unwrap();
        assert_eq!(enc(&ov, b"z"), "skiplist", "never converts back");
        let long = [b'x'; 65];
        zadd(&mut ov, &mut v, b"l", plain, &[(1.0, &long[..64])]).unwrap();
        assert_eq!(enc(&ov, b"l"), "listpack");
        zadd(&mut ov, &mut v, b"l", plain, &[(1.0, &long[..])]).unwrap();
        assert_eq!(enc(&ov, b"l"), "skiplist");
        let small: Vec<Entry> = vec![(b"a".to_vec(), 1.0)];
        store(&mut ov, b"s", &small, NOW, 50).unwrap();
        assert_eq!(enc(&ov, b"s"), "listpack");
        store_as(&mut ov, b"s", &small, NOW, 51, Some(false)).unwrap();
        assert_eq!(enc(&ov, b"s"), "skiplist");
    }

    #[test]
    fn wrong_type_and_expired() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        crate::keyspace::set_string(&mut ov, b"s", b"v".to_vec(), 0);
        assert!(matches!(
            score(&ov, b"s", b"m", NOW),
            Err(KsError::WrongType)
        ));
        assert!(matches!(
            rem(&mut ov, b"s", &[b"m"], NOW),
            Err(KsError::WrongType)
        ));
        let mut v = 0;
        zadd(&mut ov, &mut v, b"z", AddFlags::default(), &[(1.0, b"a")]).unwrap();
        let mut c = open(&ov, b"z", NOW).unwrap().unwrap();
        c.expire_at_ms = NOW + 1;
        collection::save(&mut ov, b"z", &c);
        assert_eq!(card(&ov, b"z", NOW + 1).unwrap(), 0);
        assert_eq!(score(&ov, b"z", b"a", NOW + 1).unwrap(), None);
    }

    #[test]
    fn combine_and_store() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let plain = AddFlags::default();
        zadd(
            &mut ov,
            &mut v,
            b"{t}a",
            plain,
            &[(1.0, b"a"), (2.0, b"b"), (f64::INFINITY, b"i")],
        )
        .unwrap();
        zadd(
            &mut ov,
            &mut v,
            b"{t}b",
            plain,
            &[(1.0, b"b"), (3.0, b"d"), (f64::NEG_INFINITY, b"i")],
        )
        .unwrap();
        let keys: [&[u8]; 3] = [b"{t}a", b"{t}b", b"{t}none"];
        let run = |op, agg, w: &[f64]| combine(&ov, &keys[..2], w, agg, op, NOW).unwrap();
        assert_eq!(
            run(SetOp::Union, Aggregate::Sum, &[1.0, 1.0]),
            vec![
                (b"i".to_vec(), 0.0),
                (b"a".to_vec(), 1.0),
                (b"b".to_vec(), 3.0),
                (b"d".to_vec(), 3.0)
            ]
        );
        assert_eq!(
            run(SetOp::Inter, Aggregate::Max, &[2.0, 1.0]),
            vec![(b"b".to_vec(), 4.0), (b"i".to_vec(), f64::INFINITY)]
        );
        assert_eq!(
            run(SetOp::Diff, Aggregate::Sum, &[1.0, 1.0]),
            vec![(b"a".to_vec(), 1.0)]
        );
        assert_eq!(
            combine(&ov, &keys, &[1.0; 3], Aggregate::Sum, SetOp::Inter, NOW).unwrap(),
            vec![]
        );
        let out = run(SetOp::Union, Aggregate::Min, &[1.0, 1.0]);
        crate::keyspace::set_string(&mut ov, b"{t}d", b"old".to_vec(), 0);
        assert_eq!(store(&mut ov, b"{t}d", &out, NOW, 99).unwrap(), 4);
        assert_eq!(
            score(&ov, b"{t}d", b"i", NOW).unwrap(),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(rank(&ov, b"{t}d", b"d", false, NOW).unwrap(), Some(3));
        assert_eq!(store(&mut ov, b"{t}d", &[], NOW, 100).unwrap(), 0);
        assert_eq!(ov.get(&meta_key(b"{t}d")).unwrap(), None);
    }

    #[test]
    fn random_members_distinct_and_repeated() {
        use rand::rngs::StdRng;
        use rand::SeedableRng;
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let elems: Vec<(f64, Vec<u8>)> = (0..20)
            .map(|i| (i as f64, format!("m{i:02}").into_bytes()))
            .collect();
        let refs: Vec<(f64, &[u8])> = elems.iter().map(|(s, m)| (*s, &m[..])).collect();
        zadd(&mut ov, &mut v, b"z", AddFlags::default(), &refs).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let mut draw = |d| {
            random_members(&ov, b"z", d, &mut rng, NOW)
                .unwrap()
                .unwrap()
        };
        assert_eq!(draw(Draw::Distinct(50)).len(), 20);
        let five = draw(Draw::Distinct(5));
        let mut names: Vec<_> = five.iter().map(|e| e.0.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5);
        assert!(five
            .iter()
            .all(|(m, s)| format!("m{:02}", *s as u32).into_bytes() == *m));
        assert_eq!(draw(Draw::WithRepeats(300)).len(), 300);
        assert_eq!(
            random_members(&ov, b"none", Draw::Distinct(1), &mut rng, NOW).unwrap(),
            None
        );
    }
}
