//! # Hashes: typed operations behind HSET, HGET, HDEL, HINCRBY, HSCAN, …
//!
//! A hash is a [`Collection`] of type [`KeyType::Hash`]: one metadata
//! record (`size` = number of fields) plus one subkey per field:
//!
//! ```text
//! subkey  [slot: u16 BE][0x01][key len: u32 BE][key][version: u64 BE][field bytes]
//! value   [field value bytes]
//! extra   (after size in the record) empty = small ("listpack"),
//!         [1] = converted ("hashtable"); see [`encoding`]
//! ```
//!
//! Why: a point operation (HGET, HSET, HINCRBY, HDEL) reads and writes only
//! the record and the fields it names, never the whole hash; whole-hash
//! reads (HGETALL, HKEYS, HSCAN, HRANDFIELD) stream one range scan.
//!
//! Invariants:
//! - A stored hash has `size` > 0; removing its last field deletes the
//!   record ([`collection::save`]), as Redis deletes an empty key.
//! - Writes keep the key's expiry; an expired record reads as absent and
//!   a write to it starts a new collection (new version, no expiry).
//! - Write functions take a [`Collection`] the caller opened (with
//!   `read_or_new`), so that the caller decides where a new version comes
//!   from (`ApplyCtx::new_version` during apply).
//!
//! CAVEATS:
//! - Fields come back in byte order, not Redis's insertion (listpack) or
//!   table order: HGETALL/HKEYS/HVALS/HSCAN list the same fields in
//!   another order. Clients must not (and Redis's own tests do not) rely on
//!   that order.
//! - The OBJECT ENCODING flag follows Redis's default thresholds
//!   (`hash-max-listpack-entries` 512, `hash-max-listpack-value` 64; 512
//!   is what redis-server 7.0 runs with when no redis.conf sets it, though
//!   the sample redis.conf says 128):
//!   apply must not depend on one node's configuration.
//! - HRANDFIELD with a negative count below -10,000,000
//!   ([`MAX_REPEATED_DRAWS`]) answers "ERR value is out of range" where Redis
//!   would try to build the whole reply: its picks are held in memory, and
//!   an allocation failure would abort the node.
//! - HSCAN's cursor is the first 8 bytes of the field to resume from (see
//!   [`scan`]); fields sharing those 8 bytes come back in one page.

use rand::Rng;

use super::collection::{self, Collection};
use super::glob::glob_match;
use super::longdouble::{self, LongDouble, Parsed};
use super::{KeyType, KsError, KsResult, KvRead, Meta, Overlay};
use crate::cmd::args::parse_i64;

/// Redis 7.0's built-in default `hash-max-listpack-entries` (`CONFIG GET`
/// on a redis-server started without a config file answers 512).
pub const LISTPACK_MAX_ENTRIES: u64 = 512;
/// Redis's default `hash-max-listpack-value`.
pub const LISTPACK_MAX_VALUE: usize = 64;

/// The most fields HRANDFIELD with a negative count returns (see CAVEATS).
pub const MAX_REPEATED_DRAWS: u64 = 10_000_000;

/// A field and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

fn err(text: &str) -> KsError {
    KsError::Command(text.to_string())
}

/// The live hash at `key`: `None` when absent or expired, `WrongType`
/// when the key holds another type.
pub fn open(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<Collection>> {
    collection::read(kv, key, KeyType::Hash, now_ms)
}

/// The live hash at `key`, or a new empty one with `version`.
pub fn open_or_new(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    now_ms: u64,
    version: impl FnOnce() -> u64,
) -> KsResult<Collection> {
    collection::read_or_new(kv, key, KeyType::Hash, now_ms, version)
}

/// OBJECT ENCODING of a hash record: `listpack` until it outgrew Redis's
/// thresholds once, `hashtable` from then on (Redis never converts back).
pub fn encoding(c: &Collection) -> &'static str {
    if c.extra.first() == Some(&1) {
        "hashtable"
    } else {
        "listpack"
    }
}

/// OBJECT ENCODING of a hash's metadata record (what `OBJECT ENCODING`
/// has at hand): the byte after the size, as [`encoding`] reads it.
pub fn encoding_of(meta: &Meta) -> &'static str {
    if meta.payload.get(8) == Some(&1) {
        "hashtable"
    } else {
        "listpack"
    }
}

/// Notes that `c` is a `hashtable` once it holds too many fields or a
/// field or value too long for a listpack.
fn note_growth(c: &mut Collection, field: &[u8], value: &[u8]) {
    if c.size > LISTPACK_MAX_ENTRIES
        || field.len() > LISTPACK_MAX_VALUE
        || value.len() > LISTPACK_MAX_VALUE
    {
        c.extra = vec![1];
    }
}

// ---- reads ----

/// HGET: the value of `field`.
pub fn get(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    field: &[u8],
    now_ms: u64,
) -> KsResult<Option<Vec<u8>>> {
    match open(kv, key, now_ms)? {
        None => Ok(None),
        Some(c) => Ok(kv.get(&c.subkey(key, field))?),
    }
}

/// HMGET: the value of each field, in order.
pub fn mget(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    fields: &[&[u8]],
    now_ms: u64,
) -> KsResult<Vec<Option<Vec<u8>>>> {
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(vec![None; fields.len()]);
    };
    fields
        .iter()
        .map(|f| Ok(kv.get(&c.subkey(key, f))?))
        .collect()
}

/// HLEN: the number of fields; 0 for a missing key.
pub fn len(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<u64> {
    Ok(open(kv, key, now_ms)?.map_or(0, |c| c.size))
}

/// HEXISTS.
pub fn exists(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    field: &[u8],
    now_ms: u64,
) -> KsResult<bool> {
    Ok(get(kv, key, field, now_ms)?.is_some())
}

/// HSTRLEN: the length of the value of `field`, 0 when absent.
pub fn strlen(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    field: &[u8],
    now_ms: u64,
) -> KsResult<usize> {
    Ok(get(kv, key, field, now_ms)?.map_or(0, |v| v.len()))
}

/// Calls `f` with each field and value of the live hash at `key`, in field
/// byte order; nothing for a missing key. Streams: memory stays O(1).
pub fn for_each(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    now_ms: u64,
    mut f: impl FnMut(&[u8], Vec<u8>),
) -> KsResult<()> {
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(());
    };
    for pair in kv.scan(c.subkey_range(key)) {
        let (k, v) = pair?;
        f(c.sub_of(key, &k), v);
    }
    Ok(())
}

/// HGETALL: every field and value.
pub fn all(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Vec<Pair>> {
    let mut out = Vec::new();
    for_each(kv, key, now_ms, |f, v| out.push((f.to_vec(), v)))?;
    Ok(out)
}

/// One HSCAN page.
#[derive(Debug, PartialEq, Eq)]
pub struct ScanPage {
    /// Where the next call resumes; 0 when the iteration is over.
    pub cursor: u64,
    pub pairs: Vec<Pair>,
}

/// The cursor that resumes at `field`: its first 8 bytes, zero-padded,
/// big-endian. Field order maps monotonically onto cursors, so "every
/// field whose cursor is ≥ c" is one contiguous range starting at the
/// cursor's bytes without trailing zeros.
fn cursor_of(field: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = field.len().min(8);
    b[..n].copy_from_slice(&field[..n]);
    u64::from_be_bytes(b)
}

/// The smallest field whose cursor is ≥ `cursor`.
fn seek_of(cursor: u64) -> Vec<u8> {
    let mut b = cursor.to_be_bytes().to_vec();
    while b.last() == Some(&0) {
        b.pop();
    }
    b
}

/// HSCAN. A hash no bigger than a listpack comes back whole with cursor 0,
/// as Redis answers for a listpack. A larger one is paged: a page looks
/// at `count` fields, then finishes the fields sharing the last one's
/// cursor (so none is returned twice), and the next cursor is the next
/// field's ([`cursor_of`]); such a cursor is never 0, since the first page
/// always covers the fields whose cursor is 0. `pattern` filters fields
/// after counting, as in Redis.
pub fn scan(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    cursor: u64,
    count: usize,
    pattern: Option<&[u8]>,
    now_ms: u64,
) -> KsResult<ScanPage> {
    let mut page = ScanPage {
        cursor: 0,
        pairs: Vec::new(),
    };
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(page);
    };
    let keep = |f: &[u8]| pattern.is_none_or(|p| glob_match(p, f));
    let small = c.size <= LISTPACK_MAX_ENTRIES;
    let (cursor, count) = if small {
        (0, usize::MAX)
    } else {
        (cursor, count.max(1))
    };
    let range = (
        std::ops::Bound::Included(c.subkey(key, &seek_of(cursor))),
        c.subkey_range(key).1,
    );
    let mut last: Option<u64> = None;
    for (seen, pair) in kv.scan(range).enumerate() {
        let (k, v) = pair?;
        let field = c.sub_of(key, &k);
        let cur = cursor_of(field);
        if seen >= count && last != Some(cur) {
            page.cursor = cur;
            break;
        }
        last = Some(cur);
        if keep(field) {
            page.pairs.push((field.to_vec(), v));
        }
    }
    Ok(page)
}

/// HRANDFIELD's count, as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Draw {
    /// Up to `n` distinct fields.
    Distinct(u64),
    /// Exactly `n` fields, repeats allowed.
    WithRepeats(u64),
}

/// HRANDFIELD: `None` for a missing key. Distinct draws return the whole
/// hash when `n` covers it (in field order, as Redis returns its whole
/// hash in its own order) and otherwise a uniform sample in random order;
/// draws with repeats are independent. One streaming pass over the hash:
/// memory is O(fields returned).
pub fn random_fields(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    draw: Draw,
    rng: &mut impl Rng,
    now_ms: u64,
) -> KsResult<Option<Vec<Pair>>> {
    let Some(c) = open(kv, key, now_ms)? else {
        return Ok(None);
    };
    let size = c.size;
    if let Draw::WithRepeats(n) = draw {
        // The picks are held in memory: refuse what would exhaust it.
        if n > MAX_REPEATED_DRAWS {
            return Err(err("ERR value is out of range"));
        }
    }
    // The positions (in field order) to return, and in which order.
    let picks: Vec<u64> = match draw {
        Draw::Distinct(n) if n >= size => (0..size).collect(),
        Draw::Distinct(n) => {
            // Floyd's algorithm: n distinct positions, then shuffled.
            let mut chosen = std::collections::BTreeSet::new();
            for j in size - n..size {
                let t = rng.random_range(0..=j);
                if !chosen.insert(t) {
                    chosen.insert(j);
                }
            }
            let mut v: Vec<u64> = chosen.into_iter().collect();
            for i in (1..v.len()).rev() {
                v.swap(i, rng.random_range(0..=i));
            }
            v
        }
        Draw::WithRepeats(n) => (0..n).map(|_| rng.random_range(0..size)).collect(),
    };
    // Read the picked positions in one pass, then answer in pick order.
    let mut wanted: Vec<(u64, usize)> = picks.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    wanted.sort_unstable();
    let mut out: Vec<Option<Pair>> = vec![None; picks.len()];
    let mut w = 0;
    for (pos, pair) in kv.scan(c.subkey_range(key)).enumerate() {
        if w == wanted.len() {
            break;
        }
        let (k, v) = pair?;
        let field = c.sub_of(key, &k);
        while w < wanted.len() && wanted[w].0 == pos as u64 {
            out[wanted[w].1] = Some((field.to_vec(), v.clone()));
            w += 1;
        }
    }
    // A record whose size disagrees with its subkeys would leave holes.
    if out.iter().any(Option::is_none) {
        return Err(KsError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "hash size does not match its fields",
        )));
    }
    Ok(Some(out.into_iter().flatten().collect()))
}

// ---- writes ----

/// Writes one field of the open hash `c` (not its record); whether it is new.
fn put_field(
    ov: &mut Overlay<'_>,
    key: &[u8],
    c: &mut Collection,
    field: &[u8],
    value: &[u8],
) -> KsResult<bool> {
    let sk = c.subkey(key, field);
    let new = ov.get(&sk)?.is_none();
    ov.put(sk, value.to_vec());
    if new {
        c.size += 1;
    }
    note_growth(c, field, value);
    Ok(new)
}

/// HSET/HMSET: sets each pair in order (a repeated field ends with its last
/// value); returns how many fields were new.
pub fn set(
    ov: &mut Overlay<'_>,
    key: &[u8],
    mut c: Collection,
    pairs: &[(&[u8], &[u8])],
) -> KsResult<u64> {
    let mut added = 0;
    for (f, v) in pairs {
        added += u64::from(put_field(ov, key, &mut c, f, v)?);
    }
    collection::save(ov, key, &c);
    Ok(added)
}

/// HSETNX: sets `field` only if absent; whether it did.
pub fn setnx(
    ov: &mut Overlay<'_>,
    key: &[u8],
    mut c: Collection,
    field: &[u8],
    value: &[u8],
) -> KsResult<bool> {
    if c.size > 0 && ov.get(&c.subkey(key, field))?.is_some() {
        return Ok(false);
    }
    put_field(ov, key, &mut c, field, value)?;
    collection::save(ov, key, &c);
    Ok(true)
}

/// HDEL: how many of `fields` were removed; the key goes with its last field.
pub fn del(ov: &mut Overlay<'_>, key: &[u8], fields: &[&[u8]], now_ms: u64) -> KsResult<u64> {
    let Some(mut c) = open(&*ov, key, now_ms)? else {
        return Ok(0);
    };
    let mut removed = 0;
    for f in fields {
        let sk = c.subkey(key, f);
        if ov.get(&sk)?.is_some() {
            ov.delete(sk);
            c.size -= 1;
            removed += 1;
        }
    }
    if removed > 0 {
        collection::save(ov, key, &c);
    }
    Ok(removed)
}

/// HINCRBY: the new value; a missing field counts as 0.
pub fn incr_by(
    ov: &mut Overlay<'_>,
    key: &[u8],
    mut c: Collection,
    field: &[u8],
    delta: i64,
) -> KsResult<i64> {
    let current = match ov.get(&c.subkey(key, field))? {
        None => 0,
        Some(v) => parse_i64(&v).ok_or_else(|| err("ERR hash value is not an integer"))?,
    };
    let new = current
        .checked_add(delta)
        .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
    put_field(ov, key, &mut c, field, new.to_string().as_bytes())?;
    collection::save(ov, key, &c);
    Ok(new)
}

/// HINCRBYFLOAT by a finite `incr` (the caller rejects the rest, as Redis
/// does before reading the key): the new value as stored and replied.
pub fn incr_by_float(
    ov: &mut Overlay<'_>,
    key: &[u8],
    mut c: Collection,
    field: &[u8],
    incr: LongDouble,
) -> KsResult<Vec<u8>> {
    let current = match ov.get(&c.subkey(key, field))? {
        None => Parsed::Finite(LongDouble::ZERO),
        Some(v) => longdouble::parse(&v).ok_or_else(|| err("ERR hash value is not a float"))?,
    };
    let not_finite = || err("ERR increment would produce NaN or Infinity");
    let sum = match current {
        Parsed::Finite(a) => a.checked_add(incr).ok_or_else(not_finite)?,
        Parsed::Infinite => return Err(not_finite()),
    };
    let text = sum.to_human_string().into_bytes();
    put_field(ov, key, &mut c, field, &text)?;
    collection::save(ov, key, &c);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::{meta_key, string};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const NOW: u64 = 1_000_000;

    /// Opens `key` for a write, handing out versions from `next`.
    fn open_w(ov: &Overlay<'_>, key: &[u8], next: &mut u64) -> Collection {
        open_or_new(ov, key, NOW, || {
            *next += 1;
            *next
        })
        .unwrap()
    }

    fn hset(ov: &mut Overlay<'_>, next: &mut u64, key: &[u8], pairs: &[(&[u8], &[u8])]) -> u64 {
        let c = open_w(ov, key, next);
        set(ov, key, c, pairs).unwrap()
    }

    fn cmd_err<T: std::fmt::Debug>(r: KsResult<T>) -> String {
        match r {
            Err(KsError::Command(t)) => t,
            other => panic!("expected a command error, got {other:?}"),
        }
    }

    #[test]
    fn set_get_len_del() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        assert_eq!(
            hset(
                &mut ov,
                &mut v,
                b"h",
                &[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]
            ),
            2
        );
        assert_eq!(get(&ov, b"h", b"a", NOW).unwrap(), Some(b"3".to_vec()));
        assert_eq!(get(&ov, b"h", b"zz", NOW).unwrap(), None);
        assert_eq!(get(&ov, b"none", b"a", NOW).unwrap(), None);
        assert_eq!(len(&ov, b"h", NOW).unwrap(), 2);
        assert_eq!(hset(&mut ov, &mut v, b"h", &[(b"b", b"x")]), 0);
        assert_eq!(len(&ov, b"h", NOW).unwrap(), 2);
        assert_eq!(
            mget(&ov, b"h", &[b"a", b"q", b"b"], NOW).unwrap(),
            vec![Some(b"3".to_vec()), None, Some(b"x".to_vec())]
        );
        assert_eq!(mget(&ov, b"none", &[b"a"], NOW).unwrap(), vec![None]);
        assert!(exists(&ov, b"h", b"a", NOW).unwrap());
        assert_eq!(strlen(&ov, b"h", b"b", NOW).unwrap(), 1);
        assert_eq!(strlen(&ov, b"h", b"nope", NOW).unwrap(), 0);
        assert_eq!(
            all(&ov, b"h", NOW).unwrap(),
            vec![
                (b"a".to_vec(), b"3".to_vec()),
                (b"b".to_vec(), b"x".to_vec())
            ]
        );
        // Deleting a repeated and a missing field counts each live one once.
        assert_eq!(del(&mut ov, b"h", &[b"a", b"a", b"zz"], NOW).unwrap(), 1);
        assert_eq!(del(&mut ov, b"none", &[b"a"], NOW).unwrap(), 0);
        assert_eq!(del(&mut ov, b"h", &[b"b"], NOW).unwrap(), 1);
        // The last field takes the key with it.
        assert_eq!(ov.get(&meta_key(b"h")).unwrap(), None);
        assert_eq!(len(&ov, b"h", NOW).unwrap(), 0);
    }

    #[test]
    fn wrong_type_everywhere() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        crate::keyspace::set_string(&mut ov, b"s", b"v".to_vec(), 0);
        let wt = |r: KsResult<()>| assert!(matches!(r, Err(KsError::WrongType)));
        wt(get(&ov, b"s", b"f", NOW).map(drop));
        wt(mget(&ov, b"s", &[b"f"], NOW).map(drop));
        wt(len(&ov, b"s", NOW).map(drop));
        wt(all(&ov, b"s", NOW).map(drop));
        wt(scan(&ov, b"s", 0, 10, None, NOW).map(drop));
        wt(del(&mut ov, b"s", &[b"f"], NOW).map(drop));
        wt(open_or_new(&ov, b"s", NOW, || 1).map(drop));
        let mut rng = StdRng::seed_from_u64(1);
        wt(random_fields(&ov, b"s", Draw::Distinct(1), &mut rng, NOW).map(drop));
        // And a hash is not a string.
        let mut v = 0;
        hset(&mut ov, &mut v, b"h", &[(b"f", b"v")]);
        assert!(matches!(
            string::strlen(&ov, b"h", NOW),
            Err(KsError::WrongType)
        ));
    }

    #[test]
    fn expiry_is_kept_and_an_expired_hash_starts_over() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        hset(&mut ov, &mut v, b"h", &[(b"a", b"1"), (b"b", b"2")]);
        let mut c = open(&ov, b"h", NOW).unwrap().unwrap();
        c.expire_at_ms = NOW + 10;
        collection::save(&mut ov, b"h", &c);
        hset(&mut ov, &mut v, b"h", &[(b"c", b"3")]);
        assert_eq!(
            open(&ov, b"h", NOW).unwrap().unwrap().expire_at_ms,
            NOW + 10
        );
        // Past the expiry the old fields are gone, even with a new write.
        let later = NOW + 10;
        assert_eq!(len(&ov, b"h", later).unwrap(), 0);
        let c = open_or_new(&ov, b"h", later, || 99).unwrap();
        assert_eq!((c.version, c.size, c.expire_at_ms), (99, 0, 0));
        set(&mut ov, b"h", c, &[(b"z", b"9")]).unwrap();
        assert_eq!(
            all(&ov, b"h", later).unwrap(),
            vec![(b"z".to_vec(), b"9".to_vec())]
        );
        assert_eq!(get(&ov, b"h", b"a", later).unwrap(), None);
    }

    #[test]
    fn setnx_only_when_absent() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let c = open_w(&ov, b"h", &mut v);
        assert!(setnx(&mut ov, b"h", c, b"f", b"1").unwrap());
        let c = open_w(&ov, b"h", &mut v);
        assert!(!setnx(&mut ov, b"h", c, b"f", b"2").unwrap());
        assert_eq!(get(&ov, b"h", b"f", NOW).unwrap(), Some(b"1".to_vec()));
        assert_eq!(len(&ov, b"h", NOW).unwrap(), 1);
    }

    #[test]
    fn incrby_like_redis() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let mut incr = |ov: &mut Overlay<'_>, f: &[u8], d: i64| {
            let c = open_w(ov, b"h", &mut v);
            incr_by(ov, b"h", c, f, d)
        };
        // "HINCRBY against non existing hash key" / "... over 32bit value"
        assert_eq!(incr(&mut ov, b"n", 2).unwrap(), 2);
        assert_eq!(incr(&mut ov, b"n", 17179869184).unwrap(), 17179869186);
        let mut v2 = 100;
        hset(&mut ov, &mut v2, b"h", &[(b"max", b"9223372036854775807")]);
        assert_eq!(
            cmd_err(incr(&mut ov, b"max", 1)),
            "ERR increment or decrement would overflow"
        );
        assert_eq!(incr(&mut ov, b"max", i64::MIN).unwrap(), -1);
        for bad in [&b" 11"[..], b"11 ", b"1.5", b"+1", b"01", b"", b"abc"] {
            hset(&mut ov, &mut v2, b"h", &[(b"bad", bad)]);
            assert_eq!(
                cmd_err(incr(&mut ov, b"bad", 1)),
                "ERR hash value is not an integer",
                "{bad:?}"
            );
        }
        assert_eq!(get(&ov, b"h", b"bad", NOW).unwrap(), Some(b"abc".to_vec()));
    }

    #[test]
    fn incrbyfloat_like_redis() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let num = |s: &[u8]| match longdouble::parse(s) {
            Some(Parsed::Finite(x)) => x,
            other => panic!("{other:?}"),
        };
        let mut incr = |ov: &mut Overlay<'_>, f: &[u8], d: &[u8]| {
            let c = open_w(ov, b"h", &mut v);
            incr_by_float(ov, b"h", c, f, num(d))
        };
        assert_eq!(incr(&mut ov, b"f", b"10.5").unwrap(), b"10.5");
        assert_eq!(incr(&mut ov, b"f", b"0.1").unwrap(), b"10.6");
        // "HINCRBYFLOAT against hash key created by hincrby itself"
        let c = open_w(&ov, b"h", &mut 50);
        incr_by(&mut ov, b"h", c, b"i", 17179869184).unwrap();
        assert_eq!(incr(&mut ov, b"i", b"3.0").unwrap(), b"17179869187");
        let mut v2 = 100;
        hset(
            &mut ov,
            &mut v2,
            b"h",
            &[(b"sp", b" 1"), (b"big", b"1e4932")],
        );
        assert_eq!(
            cmd_err(incr(&mut ov, b"sp", b"1")),
            "ERR hash value is not a float"
        );
        assert_eq!(
            cmd_err(incr(&mut ov, b"big", b"1e4932")),
            "ERR increment would produce NaN or Infinity"
        );
        hset(&mut ov, &mut v2, b"h", &[(b"inf", b"inf")]);
        assert_eq!(
            cmd_err(incr(&mut ov, b"inf", b"1")),
            "ERR increment would produce NaN or Infinity"
        );
    }

    #[test]
    fn encoding_converts_once_and_stays() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        hset(&mut ov, &mut v, b"h", &[(b"a", b"1")]);
        assert_eq!(
            encoding(&open(&ov, b"h", NOW).unwrap().unwrap()),
            "listpack"
        );
        let long = vec![b'x'; 65];
        hset(&mut ov, &mut v, b"h", &[(b"b", &long)]);
        assert_eq!(
            encoding(&open(&ov, b"h", NOW).unwrap().unwrap()),
            "hashtable"
        );
        del(&mut ov, b"h", &[b"b"], NOW).unwrap();
        assert_eq!(
            encoding(&open(&ov, b"h", NOW).unwrap().unwrap()),
            "hashtable"
        );
        // Redis 7.0's compiled-in threshold, not the sample redis.conf's 128.
        assert_eq!(LISTPACK_MAX_ENTRIES, 512);
        for i in 0..LISTPACK_MAX_ENTRIES {
            let f = format!("f{i}");
            hset(&mut ov, &mut v, b"g", &[(f.as_bytes(), b"v")]);
        }
        assert_eq!(
            encoding(&open(&ov, b"g", NOW).unwrap().unwrap()),
            "listpack"
        );
        hset(&mut ov, &mut v, b"g", &[(b"one more", b"v")]);
        assert_eq!(
            encoding(&open(&ov, b"g", NOW).unwrap().unwrap()),
            "hashtable"
        );
        // What OBJECT ENCODING reads from the raw record agrees.
        let meta =
            |ov: &Overlay<'_>, k: &[u8]| crate::keyspace::read_meta(ov, k, NOW).unwrap().unwrap();
        assert_eq!(encoding_of(&meta(&ov, b"g")), "hashtable");
        hset(&mut ov, &mut v, b"small", &[(b"a", b"1")]);
        assert_eq!(encoding_of(&meta(&ov, b"small")), "listpack");
    }

    #[test]
    fn scan_pages_cover_every_field_once() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        // Small: one page whatever the cursor and count.
        hset(&mut ov, &mut v, b"s", &[(b"a", b"1"), (b"b", b"2")]);
        let p = scan(&ov, b"s", 77, 1, None, NOW).unwrap();
        assert_eq!((p.cursor, p.pairs.len()), (0, 2));
        let p = scan(&ov, b"s", 0, 1, Some(b"a*"), NOW).unwrap();
        assert_eq!(p.pairs, vec![(b"a".to_vec(), b"1".to_vec())]);
        // Large, with fields that share their first 8 bytes, an empty
        // field and fields of zero bytes.
        let mut fields: Vec<Vec<u8>> = (0..500).map(|i| format!("{i}").into_bytes()).collect();
        fields.extend((0..40).map(|i| format!("samepref{i}").into_bytes()));
        fields.extend([vec![], vec![0], vec![0, 0, 1], vec![0xFF; 9]]);
        for f in &fields {
            hset(&mut ov, &mut v, b"big", &[(f, b"v")]);
        }
        for count in [1, 7, 100] {
            let mut seen = Vec::new();
            let mut cursor = 0;
            for round in 0.. {
                assert!(round < 1000, "the scan does not end");
                let p = scan(&ov, b"big", cursor, count, None, NOW).unwrap();
                seen.extend(p.pairs.into_iter().map(|(f, _)| f));
                cursor = p.cursor;
                if cursor == 0 {
                    break;
                }
            }
            let mut want = fields.clone();
            want.sort();
            assert_eq!(seen, want, "count {count}");
        }
        assert_eq!(scan(&ov, b"none", 5, 10, None, NOW).unwrap().pairs, vec![]);
    }

    #[test]
    fn random_fields_distinct_and_repeated() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let mut v = 0;
        let fields: Vec<Vec<u8>> = (0..20).map(|i| format!("f{i:02}").into_bytes()).collect();
        for f in &fields {
            hset(&mut ov, &mut v, b"h", &[(f, f)]);
        }
        let mut rng = StdRng::seed_from_u64(7);
        let mut draw = |d| random_fields(&ov, b"h", d, &mut rng, NOW).unwrap().unwrap();
        let all = draw(Draw::Distinct(100));
        assert_eq!(all.iter().map(|p| p.0.clone()).collect::<Vec<_>>(), fields);
        for n in [0, 1, 5, 19] {
            let got = draw(Draw::Distinct(n));
            assert_eq!(got.len() as u64, n);
            let mut names: Vec<_> = got.iter().map(|p| p.0.clone()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len() as u64, n, "distinct");
            assert!(got.iter().all(|(f, v)| f == v && fields.contains(f)));
        }
        let got = draw(Draw::WithRepeats(200));
        assert_eq!(got.len(), 200);
        let mut names: Vec<_> = got.iter().map(|p| p.0.clone()).collect();
        names.sort();
        names.dedup();
        // 200 draws of 20 fields: all of them show up (p of a miss ~ 1e-8).
        assert_eq!(names.len(), 20);
        assert_eq!(
            random_fields(&ov, b"none", Draw::Distinct(1), &mut rng, NOW).unwrap(),
            None
        );
        let huge = Draw::WithRepeats(MAX_REPEATED_DRAWS + 1);
        assert_eq!(
            cmd_err(random_fields(&ov, b"h", huge, &mut rng, NOW)),
            "ERR value is out of range"
        );
    }
}
