//! # Generic key operations: existence, type, expiry, rename, copy
//!
//! What DEL, EXISTS, TYPE, EXPIRE, TTL, PERSIST, RENAME and COPY do to the
//! keyspace, for any type. Reads take any [`KvRead`] and a "now"; writes
//! take the apply [`Overlay`], the proposal's time and, where a new
//! collection version is needed, the proposal's RNG, so every replica
//! computes the same result.
//!
//! Invariants:
//! - A key is live while its metadata record exists and is not expired at
//!   "now"; an expired record is treated as absent (and overwritten or
//!   removed when a write meets it).
//! - Setting an expiry at or before "now" deletes the key, as Redis does.
//! - The expiry is part of the value: RENAME and COPY carry it over, and
//!   so is a string's [`Encoding`] (COPY marks it as copied).
//!
//! CAVEATS:
//! - RENAME and COPY of a collection copy its subkeys under a fresh version
//!   (`ApplyCtx::new_version`): O(elements), like Redis's COPY. The subkeys
//!   of a destination that is overwritten are left unreachable (its version
//!   is no longer referenced), as DEL leaves them, for a later sweep.

use std::ops::Bound;

use redraft_cluster::key_slot;

use super::scan::RecordHeader;
use super::string::Encoding;
use super::{
    delete_key, meta_key, read_meta, KeyType, KsError, KsResult, KvRead, Meta, Overlay, NS_SUB,
};

/// Whether `key` is live.
pub fn exists(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<bool> {
    Ok(read_meta(kv, key, now_ms)?.is_some())
}

/// The type of a live key.
pub fn key_type(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<KeyType>> {
    Ok(read_meta(kv, key, now_ms)?.map(|m| m.ty))
}

/// A key's expiry as TTL and EXPIRETIME see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// No such (live) key.
    Missing,
    /// The key has no expiry.
    Persistent,
    /// The key expires at this Unix time in milliseconds.
    At(u64),
}

pub fn expiry(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Expiry> {
    Ok(match read_meta(kv, key, now_ms)? {
        None => Expiry::Missing,
        Some(m) if m.expire_at_ms == 0 => Expiry::Persistent,
        Some(m) => Expiry::At(m.expire_at_ms),
    })
}

/// EXPIRE's NX / XX / GT / LT conditions. A key without an expiry counts
/// as expiring never (infinitely late) for GT and LT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpireIf {
    /// Only if the key has no expiry.
    pub nx: bool,
    /// Only if the key has an expiry.
    pub xx: bool,
    /// Only if the new expiry is later than the current one.
    pub gt: bool,
    /// Only if the new expiry is earlier than the current one.
    pub lt: bool,
}

/// Sets `key` to expire at `when_ms` (Unix ms, may be negative) if `cond`
/// holds; a time at or before `now_ms` deletes the key. Returns whether
/// anything was done (EXPIRE's 1 or 0).
pub fn expire_at(
    ov: &mut Overlay<'_>,
    key: &[u8],
    when_ms: i64,
    cond: ExpireIf,
    now_ms: u64,
) -> KsResult<bool> {
    let Some(mut meta) = read_meta(&*ov, key, now_ms)? else {
        return Ok(false);
    };
    let current = (meta.expire_at_ms != 0).then_some(meta.expire_at_ms as i64);
    let refused = (cond.nx && current.is_some())
        || (cond.xx && current.is_none())
        || (cond.gt && current.is_none_or(|c| when_ms <= c))
        || (cond.lt && current.is_some_and(|c| when_ms >= c));
    if refused {
        return Ok(false);
    }
    if when_ms <= now_ms as i64 {
        delete_key(ov, key, now_ms)?;
    } else {
        meta.expire_at_ms = when_ms as u64;
        ov.put(meta_key(key), meta.encode());
    }
    Ok(true)
}

/// Removes `key`'s expiry; whether it had one.
pub fn persist(ov: &mut Overlay<'_>, key: &[u8], now_ms: u64) -> KsResult<bool> {
    match read_meta(&*ov, key, now_ms)? {
        Some(mut meta) if meta.expire_at_ms != 0 => {
            meta.expire_at_ms = 0;
            ov.put(meta_key(key), meta.encode());
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn no_such_key() -> KsError {
    KsError::Command("ERR no such key".into())
}

/// RENAME (`nx` false) and RENAMENX (`nx` true): moves `src`'s value and
/// expiry to `dst`, replacing `dst` unless `nx`. Returns whether the value
/// moved (RENAMENX's 1/0; RENAME of a key onto itself is a successful
/// no-op, RENAMENX of one answers 0). `ERR no such key` without `src`.
pub fn rename(
    ov: &mut Overlay<'_>,
    src: &[u8],
    dst: &[u8],
    nx: bool,
    now_ms: u64,
    version: u64,
) -> KsResult<bool> {
    let Some(meta) = read_meta(&*ov, src, now_ms)? else {
        return Err(no_such_key());
    };
    if src == dst {
        return Ok(!nx);
    }
    let old = read_meta(&*ov, dst, now_ms)?;
    if nx && old.is_some() {
        return Ok(false);
    }
    write_copy(ov, src, &meta, dst, true, version)?;
    ov.delete(meta_key(src));
    Ok(true)
}

/// COPY: copies `src`'s value and expiry to `dst`; without `replace`, only
/// if `dst` does not exist. Returns whether it copied. The caller rejects
/// `src == dst` (an argument error).
pub fn copy(
    ov: &mut Overlay<'_>,
    src: &[u8],
    dst: &[u8],
    replace: bool,
    now_ms: u64,
    version: u64,
) -> KsResult<bool> {
    let Some(meta) = read_meta(&*ov, src, now_ms)? else {
        return Ok(false);
    };
    let old = read_meta(&*ov, dst, now_ms)?;
    if old.is_some() && !replace {
        return Ok(false);
    }
    write_copy(ov, src, &meta, dst, false, version)?;
    Ok(true)
}

/// Writes `meta` (the value of `src`) as `dst`'s record. A string's value
/// is inline; a collection's subkeys are copied under `version` (fresh from
/// `ApplyCtx::new_version`, so used by no other record, live or deleted),
/// and removed from `src` when `moving`.
fn write_copy(
    ov: &mut Overlay<'_>,
    src: &[u8],
    meta: &Meta,
    dst: &[u8],
    moving: bool,
    version: u64,
) -> KsResult<()> {
    let mut new = meta.clone();
    if meta.ty == KeyType::String && !moving {
        // Redis duplicates the value object: see `string::Encoding::Copied`.
        Encoding::of(meta).copied().store(&mut new);
    }
    if meta.ty != KeyType::String {
        new.version = version;
        let from = subkey_prefix(src, meta.version);
        let to = subkey_prefix(dst, new.version);
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            ov.scan(prefix_range(&from)).collect::<Result<_, _>>()?;
        for (k, v) in pairs {
            let mut nk = to.clone();
            nk.extend_from_slice(&k[from.len()..]);
            ov.put(nk, v);
            if moving {
                ov.delete(k);
            }
        }
    }
    ov.put(meta_key(dst), new.encode());
    Ok(())
}

/// `[slot][0x01][key len: u32 BE][key][version: u64 BE]`: the prefix of
/// every subkey of `key`'s collection with `version`.
fn subkey_prefix(key: &[u8], version: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(2 + 1 + 4 + key.len() + 8);
    p.extend_from_slice(&key_slot(key).to_be_bytes());
    p.push(NS_SUB);
    p.extend_from_slice(&(key.len() as u32).to_be_bytes());
    p.extend_from_slice(key);
    p.extend_from_slice(&version.to_be_bytes());
    p
}

/// Every key starting with `prefix`.
fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

/// Deletes `key` only if its record is expired at `now_ms` (the expiry
/// sweeper's proposal, applied at the proposal's time): a key written again
/// since the sweeper saw it stays. Returns whether a record was removed.
pub fn delete_if_expired(ov: &mut Overlay<'_>, key: &[u8], now_ms: u64) -> KsResult<bool> {
    let mk = meta_key(key);
    let Some(raw) = ov.get(&mk)? else {
        return Ok(false);
    };
    if !RecordHeader::peek(&raw)?.is_expired(now_ms) {
        return Ok(false);
    }
    ov.delete(mk);
    Ok(true)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::{get_string, set_string};

    const NOW: u64 = 1_700_000_000_000;

    /// A version no other test write used (ApplyCtx::new_version's role).
    fn next_version() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 20);
        NEXT.fetch_add(1 << 20, std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `f` in an overlay, writes it, and returns its result.
    fn write<T>(e: &MemoryEngine, f: impl FnOnce(&mut Overlay<'_>) -> T) -> T {
        let mut ov = Overlay::new(e);
        let r = f(&mut ov);
        e.write(ov.into_batch()).unwrap();
        r
    }

    fn kv(e: &MemoryEngine) -> &dyn Engine {
        e
    }

    #[test]
    fn exists_type_and_expiry_skip_expired_keys() {
        let e = MemoryEngine::new();
        write(&e, |ov| {
            set_string(ov, b"p", b"v".to_vec(), 0);
            set_string(ov, b"t", b"v".to_vec(), NOW + 5000);
            set_string(ov, b"x", b"v".to_vec(), NOW);
        });
        assert!(exists(kv(&e), b"p", NOW).unwrap());
        assert!(!exists(kv(&e), b"x", NOW).unwrap(), "expired at now");
        assert!(exists(kv(&e), b"x", NOW - 1).unwrap());
        assert_eq!(key_type(kv(&e), b"t", NOW).unwrap(), Some(KeyType::String));
        assert_eq!(key_type(kv(&e), b"x", NOW).unwrap(), None);
        assert_eq!(expiry(kv(&e), b"p", NOW).unwrap(), Expiry::Persistent);
        assert_eq!(expiry(kv(&e), b"t", NOW).unwrap(), Expiry::At(NOW + 5000));
        assert_eq!(expiry(kv(&e), b"x", NOW).unwrap(), Expiry::Missing);
        assert_eq!(expiry(kv(&e), b"none", NOW).unwrap(), Expiry::Missing);
    }

    #[test]
    fn expire_conditions_as_redis_7() {
        let e = MemoryEngine::new();
        write(&e, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        let c = |nx, xx, gt, lt| ExpireIf { nx, xx, gt, lt };
        let at = |s: u64| (NOW + s * 1000) as i64;
        let run = |when, cond| write(&e, |ov| expire_at(ov, b"k", when, cond, NOW).unwrap());
        assert!(
            !run(at(100), c(false, true, false, false)),
            "XX without TTL"
        );
        assert!(
            !run(at(100), c(false, false, true, false)),
            "GT: no TTL is infinite"
        );
        assert!(run(at(100), c(true, false, false, false)));
        assert!(!run(at(200), c(true, false, false, false)), "NX with a TTL");
        assert!(run(at(200), c(false, true, false, false)));
        assert!(!run(at(100), c(false, false, true, false)));
        assert!(
            !run(at(200), c(false, false, true, false)),
            "GT needs strictly later"
        );
        assert!(run(at(300), c(false, false, true, false)));
        assert!(
            !run(at(300), c(false, false, false, true)),
            "LT needs strictly earlier"
        );
        assert!(
            run(at(50), c(false, true, false, true)),
            "XX and LT combine"
        );
        assert_eq!(expiry(kv(&e), b"k", NOW).unwrap(), Expiry::At(NOW + 50_000));
        assert!(!write(&e, |ov| expire_at(
            ov,
            b"missing",
            at(5),
            ExpireIf::default(),
            NOW
        )
        .unwrap()));
    }

    #[test]
    fn expire_in_the_past_deletes() {
        let e = MemoryEngine::new();
        write(&e, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        assert!(write(&e, |ov| expire_at(
            ov,
            b"k",
            NOW as i64,
            ExpireIf::default(),
            NOW
        )
        .unwrap()));
        assert_eq!(e.get(&meta_key(b"k")).unwrap(), None, "the record is gone");
        write(&e, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        assert!(write(&e, |ov| expire_at(
            ov,
            b"k",
            -5,
            ExpireIf::default(),
            NOW
        )
        .unwrap()));
        assert!(!exists(kv(&e), b"k", NOW).unwrap());
        // LT with no TTL lets a past time through, and it deletes.
        write(&e, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        let lt = ExpireIf {
            lt: true,
            ..ExpireIf::default()
        };
        assert!(write(&e, |ov| expire_at(ov, b"k", 1, lt, NOW).unwrap()));
        assert!(!exists(kv(&e), b"k", NOW).unwrap());
    }

    #[test]
    fn persist_removes_the_expiry_only() {
        let e = MemoryEngine::new();
        write(&e, |ov| set_string(ov, b"k", b"v".to_vec(), NOW + 10));
        assert!(write(&e, |ov| persist(ov, b"k", NOW).unwrap()));
        assert!(!write(&e, |ov| persist(ov, b"k", NOW).unwrap()));
        assert_eq!(expiry(kv(&e), b"k", NOW + 100).unwrap(), Expiry::Persistent);
        assert_eq!(get_string(kv(&e), b"k", NOW).unwrap(), Some(b"v".to_vec()));
        assert!(!write(&e, |ov| persist(ov, b"missing", NOW).unwrap()));
    }

    #[test]
    fn rename_moves_value_and_ttl() {
        let e = MemoryEngine::new();
        write(&e, |ov| {
            set_string(ov, b"{r}a", b"1".to_vec(), NOW + 100);
            set_string(ov, b"{r}c", b"3".to_vec(), NOW + 500);
        });
        assert!(write(&e, |ov| rename(
            ov,
            b"{r}a",
            b"{r}b",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert!(!exists(kv(&e), b"{r}a", NOW).unwrap());
        assert_eq!(expiry(kv(&e), b"{r}b", NOW).unwrap(), Expiry::At(NOW + 100));
        // Onto itself: OK for RENAME, 0 for RENAMENX, nothing changes.
        assert!(write(&e, |ov| rename(
            ov,
            b"{r}b",
            b"{r}b",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert!(!write(&e, |ov| rename(
            ov,
            b"{r}b",
            b"{r}b",
            true,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(
            get_string(kv(&e), b"{r}b", NOW).unwrap(),
            Some(b"1".to_vec())
        );
        // NX refuses an existing destination; plain RENAME replaces it.
        assert!(!write(&e, |ov| rename(
            ov,
            b"{r}b",
            b"{r}c",
            true,
            NOW,
            next_version()
        )
        .unwrap()));
        assert!(write(&e, |ov| rename(
            ov,
            b"{r}b",
            b"{r}c",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(
            get_string(kv(&e), b"{r}c", NOW).unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(expiry(kv(&e), b"{r}c", NOW).unwrap(), Expiry::At(NOW + 100));
        let err = write(&e, |ov| {
            rename(ov, b"{r}zz", b"{r}c", false, NOW, next_version()).unwrap_err()
        });
        assert_eq!(err.to_string(), "ERR no such key");
        // An expired source does not exist.
        write(&e, |ov| set_string(ov, b"{r}old", b"1".to_vec(), NOW));
        assert!(write(&e, |ov| rename(
            ov,
            b"{r}old",
            b"{r}x",
            true,
            NOW,
            next_version()
        ))
        .is_err());
    }

    #[test]
    fn copy_keeps_the_source() {
        let e = MemoryEngine::new();
        write(&e, |ov| set_string(ov, b"s", b"v".to_vec(), NOW + 100));
        assert!(write(&e, |ov| copy(
            ov,
            b"s",
            b"d",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(get_string(kv(&e), b"s", NOW).unwrap(), Some(b"v".to_vec()));
        assert_eq!(get_string(kv(&e), b"d", NOW).unwrap(), Some(b"v".to_vec()));
        assert_eq!(expiry(kv(&e), b"d", NOW).unwrap(), Expiry::At(NOW + 100));
        write(&e, |ov| set_string(ov, b"s", b"w".to_vec(), 0));
        assert!(!write(&e, |ov| copy(
            ov,
            b"s",
            b"d",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert!(write(&e, |ov| copy(
            ov,
            b"s",
            b"d",
            true,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(expiry(kv(&e), b"d", NOW).unwrap(), Expiry::Persistent);
        assert!(!write(&e, |ov| copy(
            ov,
            b"missing",
            b"d",
            true,
            NOW,
            next_version()
        )
        .unwrap()));
    }

    #[test]
    fn copy_and_rename_keep_a_strings_encoding() {
        let e = MemoryEngine::new();
        let enc =
            |e: &MemoryEngine, k: &[u8]| Encoding::of(&read_meta(kv(e), k, NOW).unwrap().unwrap());
        write(&e, |ov| set_string(ov, b"i", b"5".to_vec(), 0));
        write(&e, |ov| {
            crate::keyspace::string::append(ov, b"r", b"x", NOW).unwrap();
            crate::keyspace::string::append(ov, b"r", b"y", NOW).unwrap();
        });
        assert!(write(&e, |ov| copy(
            ov,
            b"i",
            b"i2",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(enc(&e, b"i2"), Encoding::Copied);
        assert!(!Encoding::Copied.may_share());
        assert!(write(&e, |ov| rename(
            ov,
            b"i",
            b"i3",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(enc(&e, b"i3"), Encoding::FromValue);
        assert!(write(&e, |ov| copy(
            ov,
            b"r",
            b"r2",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(enc(&e, b"r2"), Encoding::Raw);
        assert!(write(&e, |ov| expire_at(
            ov,
            b"r2",
            (NOW + 50) as i64,
            ExpireIf::default(),
            NOW
        )
        .unwrap()));
        assert!(write(&e, |ov| persist(ov, b"r2", NOW).unwrap()));
        assert_eq!(enc(&e, b"r2"), Encoding::Raw);
    }

    /// A hand-made collection: metadata plus `n` subkeys.
    fn put_collection(ov: &mut Overlay<'_>, key: &[u8], version: u64, n: u8) {
        let meta = Meta {
            ty: KeyType::Set,
            expire_at_ms: 0,
            version,
            payload: u64::from(n).to_be_bytes().to_vec(),
        };
        ov.put(meta_key(key), meta.encode());
        for i in 0..n {
            let mut k = subkey_prefix(key, version);
            k.push(i);
            ov.put(k, vec![i]);
        }
    }

    fn subkeys(e: &MemoryEngine, key: &[u8]) -> Vec<Vec<u8>> {
        let meta = read_meta(kv(e), key, NOW).unwrap().unwrap();
        let p = subkey_prefix(key, meta.version);
        kv(e)
            .scan(prefix_range(&p))
            .map(|r| r.unwrap().0[p.len()..].to_vec())
            .collect()
    }

    #[test]
    fn rename_and_copy_of_a_collection_carry_its_subkeys() {
        let e = MemoryEngine::new();
        write(&e, |ov| {
            put_collection(ov, b"{c}src", 5, 3);
            put_collection(ov, b"{c}dst", 9, 2);
        });
        assert!(write(&e, |ov| copy(
            ov,
            b"{c}src",
            b"{c}dst",
            true,
            NOW,
            next_version()
        )
        .unwrap()));
        let copied = read_meta(kv(&e), b"{c}dst", NOW).unwrap().unwrap();
        assert!(
            copied.version != 5 && copied.version != 9,
            "a fresh version"
        );
        assert_eq!(subkeys(&e, b"{c}dst"), vec![vec![0], vec![1], vec![2]]);
        assert_eq!(subkeys(&e, b"{c}src").len(), 3, "COPY keeps the source");
        assert!(write(&e, |ov| rename(
            ov,
            b"{c}src",
            b"{c}new",
            false,
            NOW,
            next_version()
        )
        .unwrap()));
        assert_eq!(subkeys(&e, b"{c}new").len(), 3);
        let old = subkey_prefix(b"{c}src", 5);
        assert_eq!(
            kv(&e).scan(prefix_range(&old)).count(),
            0,
            "RENAME moves them"
        );
    }

    #[test]
    fn delete_if_expired_spares_rewritten_keys() {
        let e = MemoryEngine::new();
        write(&e, |ov| {
            set_string(ov, b"old", b"v".to_vec(), NOW - 1);
            set_string(ov, b"fresh", b"v".to_vec(), NOW + 1);
            set_string(ov, b"forever", b"v".to_vec(), 0);
        });
        let n: Vec<bool> = write(&e, |ov| {
            [&b"old"[..], b"fresh", b"forever", b"missing"]
                .iter()
                .map(|k| delete_if_expired(ov, k, NOW).unwrap())
                .collect()
        });
        assert_eq!(n, vec![true, false, false, false]);
        assert_eq!(e.get(&meta_key(b"old")).unwrap(), None);
        assert!(e.get(&meta_key(b"fresh")).unwrap().is_some());
    }

    #[test]
    fn prefix_ranges_end_past_the_prefix() {
        assert_eq!(prefix_range(&[1, 0xFF]).1, Bound::Excluded(vec![2]));
        assert_eq!(prefix_range(&[0xFF]).1, Bound::Unbounded);
    }
}
