//! # Collections: one metadata record plus subkeys
//!
//! Hashes, lists, sets and sorted sets share one shape (kvrocks-style):
//!
//! ```text
//! metadata key   [slot: u16 BE][0x00][user key]
//! metadata value [type][expire_at_ms: u64 BE][version: u64 BE][size: u64 BE][type-specific…]
//! subkey         [slot: u16 BE][0x01][user key len: u32 BE][user key][version: u64 BE][sub…]
//! ```
//!
//! `size` is the element count (fields, members, list elements); a
//! collection never exists empty: the write that removes its last element
//! deletes the metadata record, as Redis deletes an empty key. Types add
//! their own fields after `size` (a list's head and tail positions).
//!
//! Every subkey carries the version of the metadata record it belongs to.
//! A new collection gets a version no record of the shard ever had
//! ([`crate::cmd::ApplyCtx::new_version`]), so deleting or overwriting a
//! collection is O(1): the old subkeys become unreachable at once, and can
//! never come back to life under a recreated key of the same name.
//!
//! Invariants:
//! - Reads and writes of a collection go through [`read`] /
//!   [`read_or_new`], which answer `WrongType` for a key of another type and
//!   treat an expired record as absent.
//! - [`save`] is the only way a modified collection's record is written; it
//!   deletes the record when the size reached 0.
//!
//! Subkeys of deleted, overwritten or expired collections are *stale*: no
//! live record has their version. The expiry sweeper (`crate::expire`)
//! finds them with [`stale_step`] and proposes the internal
//! `__sweep-subkeys key version…`, whose apply ([`delete_stale`]) checks
//! again at the proposal's time and deletes a bounded number of them.

use std::ops::Bound;

use super::{
    meta_key, read_meta, KeyType, KsError, KsResult, KvRead, Meta, Overlay, NS_META, NS_SUB,
};
use crate::engine::KeyRange;
use redraft_cluster::{key_slot, SlotRange};

/// A live collection's record, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    pub ty: KeyType,
    pub version: u64,
    pub expire_at_ms: u64,
    /// Number of elements; > 0 for a stored collection.
    pub size: u64,
    /// Type-specific bytes after the size (a list's head and tail).
    pub extra: Vec<u8>,
}

impl Collection {
    /// A new, empty collection of type `ty` with a fresh `version`.
    pub fn new(ty: KeyType, version: u64) -> Collection {
        Collection {
            ty,
            version,
            expire_at_ms: 0,
            size: 0,
            extra: Vec::new(),
        }
    }

    fn from_meta(m: Meta) -> KsResult<Collection> {
        if m.payload.len() < 8 {
            return Err(KsError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "corrupt collection record",
            )));
        }
        let size = u64::from_be_bytes(m.payload[..8].try_into().unwrap_or_default());
        Ok(Collection {
            ty: m.ty,
            version: m.version,
            expire_at_ms: m.expire_at_ms,
            size,
            extra: m.payload[8..].to_vec(),
        })
    }

    fn to_meta(&self) -> Meta {
        let mut payload = Vec::with_capacity(8 + self.extra.len());
        payload.extend_from_slice(&self.size.to_be_bytes());
        payload.extend_from_slice(&self.extra);
        Meta {
            ty: self.ty,
            expire_at_ms: self.expire_at_ms,
            version: self.version,
            payload,
        }
    }

    /// The key of the subkey `sub` of this collection.
    pub fn subkey(&self, key: &[u8], sub: &[u8]) -> Vec<u8> {
        let mut k = subkey_prefix(key, self.version);
        k.extend_from_slice(sub);
        k
    }

    /// The range of every subkey of this collection.
    pub fn subkey_range(&self, key: &[u8]) -> KeyRange {
        prefix_range(&subkey_prefix(key, self.version))
    }

    /// The range of the subkeys of this collection whose `sub` part starts
    /// with `prefix` (a sorted set's score index, say).
    pub fn subkey_prefix_range(&self, key: &[u8], prefix: &[u8]) -> KeyRange {
        prefix_range(&self.subkey(key, prefix))
    }

    /// Strips this collection's subkey prefix from a full subkey.
    pub fn sub_of<'k>(&self, key: &[u8], full: &'k [u8]) -> &'k [u8] {
        let n = subkey_prefix_len(key);
        full.get(n..).unwrap_or_default()
    }
}

/// Reads `key` as a collection of type `ty`: `None` when absent or
/// expired, `WrongType` when it holds another type.
pub fn read(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    ty: KeyType,
    now_ms: u64,
) -> KsResult<Option<Collection>> {
    match read_meta(kv, key, now_ms)? {
        None => Ok(None),
        Some(m) if m.ty == ty => Collection::from_meta(m).map(Some),
        Some(_) => Err(KsError::WrongType),
    }
}

/// Reads `key` as a collection of type `ty`, or a new empty one with
/// `version` (taken from `ApplyCtx::new_version`) when absent or expired.
pub fn read_or_new(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    ty: KeyType,
    now_ms: u64,
    version: impl FnOnce() -> u64,
) -> KsResult<Collection> {
    Ok(read(kv, key, ty, now_ms)?.unwrap_or_else(|| Collection::new(ty, version())))
}

/// Writes the record of `c` under `key`, or deletes it when `c` is empty.
pub fn save(ov: &mut Overlay<'_>, key: &[u8], c: &Collection) {
    if c.size == 0 {
        ov.delete(meta_key(key));
    } else {
        ov.put(meta_key(key), c.to_meta().encode());
    }
}

/// `[slot][0x01][key len: u32 BE][key][version: u64 BE]`.
pub fn subkey_prefix(key: &[u8], version: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(subkey_prefix_len(key) + 16);
    p.extend_from_slice(&key_slot(key).to_be_bytes());
    p.push(NS_SUB);
    p.extend_from_slice(&(key.len() as u32).to_be_bytes());
    p.extend_from_slice(key);
    p.extend_from_slice(&version.to_be_bytes());
    p
}

fn subkey_prefix_len(key: &[u8]) -> usize {
    2 + 1 + 4 + key.len() + 8
}

/// Every key starting with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> KeyRange {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

/// Splits a subkey into its user key, version and `sub` part.
pub fn parse_subkey(k: &[u8]) -> Option<(&[u8], u64, &[u8])> {
    if k.len() < 7 || k[2] != NS_SUB {
        return None;
    }
    let len = u32::from_be_bytes(k[3..7].try_into().ok()?) as usize;
    let key_end = 7usize.checked_add(len)?;
    let version = k.get(key_end..key_end.checked_add(8)?)?;
    Some((
        &k[7..key_end],
        u64::from_be_bytes(version.try_into().ok()?),
        &k[key_end + 8..],
    ))
}

/// Whether the subkeys of `key` at `version` belong to no live collection
/// at `now_ms` (the record is gone, expired, of another version, or a
/// string).
pub fn is_stale(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    version: u64,
    now_ms: u64,
) -> KsResult<bool> {
    Ok(match kv.get(&meta_key(key))? {
        None => true,
        Some(raw) => {
            let m = Meta::decode(&raw)?;
            m.ty == KeyType::String || m.version != version || m.is_expired(now_ms)
        }
    })
}

/// What one step of the stale-subkey walk found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaleStep {
    /// `(user key, version)` of each stale subkey group found.
    pub stale: Vec<(Vec<u8>, u64)>,
    /// Groups and records looked at.
    pub examined: usize,
    /// Where the next step starts (inclusive); `None` once the walk passed
    /// the shard's last slot.
    pub next: Option<Vec<u8>>,
}

/// Walks the subkeys of `ranges` (a shard's slots) from `from`, one
/// `(key, version)` group at a time: a group is looked up once and then
/// skipped over whole, and a slot's metadata records are jumped over, so a
/// step costs O(groups + slots), not O(elements).
pub fn stale_step(
    kv: &(impl KvRead + ?Sized),
    ranges: &[SlotRange],
    from: &Option<Vec<u8>>,
    now_ms: u64,
    max_examined: usize,
    max_stale: usize,
) -> KsResult<StaleStep> {
    let mut step = StaleStep::default();
    for range in ranges {
        let start = range.start.to_be_bytes().to_vec();
        let end = ((u32::from(range.end) + 1) as u16).to_be_bytes().to_vec();
        let mut pos = match from {
            Some(k) if *k >= end => continue,
            Some(k) if *k >= start => k.clone(),
            _ => start,
        };
        loop {
            if step.examined >= max_examined || step.stale.len() >= max_stale {
                step.next = Some(pos);
                return Ok(step);
            }
            let Some(item) = kv
                .scan((Bound::Included(pos.clone()), Bound::Excluded(end.clone())))
                .next()
            else {
                break;
            };
            let (k, _) = item?;
            step.examined += 1;
            if k.len() >= 3 && k[2] == NS_META {
                // Jump over the slot's metadata records to its subkeys.
                pos = vec![k[0], k[1], NS_SUB];
                continue;
            }
            pos = match parse_subkey(&k) {
                Some((key, version, _)) => {
                    if is_stale(kv, key, version, now_ms)? {
                        step.stale.push((key.to_vec(), version));
                    }
                    match prefix_range(&subkey_prefix(key, version)).1 {
                        Bound::Excluded(after) => after,
                        _ => break,
                    }
                }
                // Not a subkey: go on at the next slot.
                None if k.len() >= 2 => {
                    let slot = u16::from_be_bytes([k[0], k[1]]);
                    (u32::from(slot) + 1).to_be_bytes()[2..].to_vec()
                }
                None => break,
            };
        }
    }
    step.next = None;
    Ok(step)
}

/// Deletes up to `max` subkeys of `key` at `version` if they are stale at
/// `now_ms` (checked again here, at apply, since a walk may race a write);
/// returns how many were deleted.
pub fn delete_stale(
    ov: &mut Overlay<'_>,
    key: &[u8],
    version: u64,
    now_ms: u64,
    max: usize,
) -> KsResult<u64> {
    if max == 0 || !is_stale(&*ov, key, version, now_ms)? {
        return Ok(0);
    }
    let keys: Vec<Vec<u8>> = ov
        .scan(prefix_range(&subkey_prefix(key, version)))
        .take(max)
        .map(|r| r.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    let n = keys.len() as u64;
    for k in keys {
        ov.delete(k);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;

    #[test]
    fn save_read_and_delete_when_empty() {
        let engine = MemoryEngine::new();
        let mut ov = Overlay::new(&engine as &dyn Engine);
        assert_eq!(read(&ov, b"h", KeyType::Hash, 0).unwrap(), None);
        let mut c = read_or_new(&ov, b"h", KeyType::Hash, 0, || 7).unwrap();
        assert_eq!((c.version, c.size), (7, 0));
        c.size = 2;
        c.extra = vec![1, 2];
        save(&mut ov, b"h", &c);
        assert_eq!(read(&ov, b"h", KeyType::Hash, 0).unwrap(), Some(c.clone()));
        assert!(matches!(
            read(&ov, b"h", KeyType::Set, 0),
            Err(KsError::WrongType)
        ));
        c.size = 0;
        save(&mut ov, b"h", &c);
        assert_eq!(read(&ov, b"h", KeyType::Hash, 0).unwrap(), None);
    }

    #[test]
    fn subkeys_of_a_version_stay_in_its_range() {
        let c = Collection::new(KeyType::Set, 5);
        let other = Collection::new(KeyType::Set, 6);
        let k = c.subkey(b"s", b"member");
        let (lo, hi) = c.subkey_range(b"s");
        let inside = |k: &Vec<u8>| {
            (match &lo {
                Bound::Included(l) => k >= l,
                _ => true,
            }) && (match &hi {
                Bound::Excluded(h) => k < h,
                _ => true,
            })
        };
        assert!(inside(&k));
        assert!(!inside(&other.subkey(b"s", b"member")));
        assert_eq!(c.sub_of(b"s", &k), b"member");
        assert_eq!(prefix_range(&[1, 0xFF]).1, Bound::Excluded(vec![2]));
    }

    fn put_collection(ov: &mut Overlay<'_>, key: &[u8], version: u64, elements: usize) {
        let mut c = Collection::new(KeyType::Set, version);
        for i in 0..elements {
            ov.put(c.subkey(key, format!("m{i}").as_bytes()), Vec::new());
        }
        c.size = elements as u64;
        save(ov, key, &c);
    }

    #[test]
    fn stale_subkeys_are_found_and_swept_but_live_ones_stay() {
        let engine = MemoryEngine::new();
        let mut ov = Overlay::new(&engine as &dyn Engine);
        put_collection(&mut ov, b"live", 1 << 20, 50);
        put_collection(&mut ov, b"gone", 2 << 20, 30);
        put_collection(&mut ov, b"old", 3 << 20, 20);
        super::super::set_string(&mut ov, b"x", b"v".to_vec(), 0);
        ov.delete(meta_key(b"gone"));
        put_collection(&mut ov, b"old", 4 << 20, 2); // recreated: version 3 is stale
        engine.write(ov.into_batch()).unwrap();

        let all = [SlotRange::ALL];
        let mut found = Vec::new();
        let mut from = None;
        for _ in 0..100 {
            let step = stale_step(&engine as &dyn Engine, &all, &from, 0, 3, 10).unwrap();
            found.extend(step.stale);
            from = step.next;
            if from.is_none() {
                break;
            }
        }
        found.sort();
        assert_eq!(
            found,
            vec![(b"gone".to_vec(), 2 << 20), (b"old".to_vec(), 3 << 20)]
        );

        let mut ov = Overlay::new(&engine as &dyn Engine);
        assert_eq!(delete_stale(&mut ov, b"gone", 2 << 20, 0, 25).unwrap(), 25);
        assert_eq!(delete_stale(&mut ov, b"live", 1 << 20, 0, 25).unwrap(), 0);
        assert_eq!(delete_stale(&mut ov, b"old", 4 << 20, 0, 25).unwrap(), 0);
        assert_eq!(delete_stale(&mut ov, b"gone", 2 << 20, 0, 25).unwrap(), 5);
        assert_eq!(delete_stale(&mut ov, b"old", 3 << 20, 0, 100).unwrap(), 20);
        engine.write(ov.into_batch()).unwrap();
        let left: usize = engine
            .scan(super::super::all_data_range())
            .filter(|r| r.as_ref().is_ok_and(|(k, _)| k[2] == NS_SUB))
            .count();
        assert_eq!(left, 52, "the live collections' subkeys stay");
    }

    #[test]
    fn parse_subkey_round_trips_and_rejects_garbage() {
        let c = Collection::new(KeyType::Hash, 9);
        let k = c.subkey(b"key", b"field");
        assert_eq!(parse_subkey(&k), Some((&b"key"[..], 9, &b"field"[..])));
        assert_eq!(parse_subkey(&k[..10]), None);
        assert_eq!(parse_subkey(&meta_key(b"key")), None);
    }
}
