//! Pending writes over an engine: the view Raft apply works in.
//!
//! Apply runs many commands (several Raft entries) into one engine batch.
//! Each command must see the writes of the commands before it, so reads go
//! through the pending map first. `into_batch` yields the writes in the
//! order they were made, with only the last write of each key.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::ops::Bound;

use super::{slot_del_key, stamp_key_of_meta, KvRead, NS_META, NS_SUB, SYSTEM_PREFIX};
use crate::engine::{Engine, KeyRange, KvIter, KvPair, WriteBatch};

pub struct Overlay<'a> {
    engine: &'a dyn Engine,
    /// `None` marks a deletion.
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// The Raft index written as the stamp of every key modified (WATCH);
    /// 0: no stamps (views used outside Raft apply).
    stamp: u64,
    /// Metadata keys already stamped at `stamp`.
    stamped: HashSet<Vec<u8>>,
}

impl<'a> Overlay<'a> {
    pub fn new(engine: &'a dyn Engine) -> Overlay<'a> {
        Overlay {
            engine,
            pending: BTreeMap::new(),
            stamp: 0,
            stamped: HashSet::new(),
        }
    }

    /// From now on, stamps every modified user key with `index` (the Raft
    /// index of the entry being applied); see the keyspace layout.
    pub fn set_stamp(&mut self, index: u64) {
        self.stamp = index;
        self.stamped.clear();
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        if self.stamp != 0 {
            self.touch(&key, true);
        }
        self.pending.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        if self.stamp != 0 {
            self.touch(&key, false);
        }
        self.pending.insert(key, None);
    }

    /// Stamps the user key a data write touches: a metadata record's put
    /// stamps it and its delete removes the stamp (and stamps the slot);
    /// a subkey write stamps the key only if the subkey belongs to the
    /// live record (not a sweep of stale subkeys).
    fn touch(&mut self, key: &[u8], put: bool) {
        if key.len() < 3 || key[0] == SYSTEM_PREFIX {
            return;
        }
        let stamp = self.stamp.to_be_bytes().to_vec();
        match key[2] {
            NS_META if put => {
                self.pending.insert(stamp_key_of_meta(key), Some(stamp));
                self.stamped.insert(key.to_vec());
            }
            NS_META => {
                if matches!(self.get(key), Ok(Some(_))) {
                    let slot = u16::from_be_bytes([key[0], key[1]]);
                    self.pending.insert(slot_del_key(slot), Some(stamp));
                }
                self.pending.insert(stamp_key_of_meta(key), None);
                self.stamped.remove(key);
            }
            NS_SUB => {
                let Some(len) = key.get(3..7) else { return };
                let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                let (Some(user), Some(version)) = (key.get(7..7 + len), key.get(7 + len..15 + len))
                else {
                    return;
                };
                let mut mk = key[..2].to_vec();
                mk.push(NS_META);
                mk.extend_from_slice(user);
                if self.stamped.contains(&mk) {
                    return;
                }
                let live =
                    matches!(self.get(&mk), Ok(Some(raw)) if raw.get(9..17) == Some(version));
                if live {
                    self.pending.insert(stamp_key_of_meta(&mk), Some(stamp));
                    self.stamped.insert(mk);
                }
            }
            _ => {}
        }
    }

    /// Deletes every key in `range` (engine keys and pending ones).
    pub fn delete_range(&mut self, range: KeyRange) -> io::Result<()> {
        let keys: Vec<Vec<u8>> = self
            .scan(range)
            .map(|r| r.map(|(k, _)| k))
            .collect::<io::Result<_>>()?;
        for k in keys {
            self.pending.insert(k, None);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn into_batch(self) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for (k, v) in self.pending {
            match v {
                Some(v) => batch.put(k, v),
                None => batch.delete(k),
            }
        }
        batch
    }

    fn pending_in(&self, range: &KeyRange) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let r = (as_ref_bound(&range.0), as_ref_bound(&range.1));
        self.pending
            .range::<[u8], _>(r)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl KvRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.engine.get(key),
        }
    }

    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        let pending = self.pending_in(&range);
        Box::new(Merge::new(self.engine.scan(range), pending, false))
    }

    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        let mut pending = self.pending_in(&range);
        pending.reverse();
        Box::new(Merge::new(self.engine.scan_rev(range), pending, true))
    }
}

/// Merges an engine iterator with pending writes (which win on equal keys).
/// A pending write: a put (`Some`) or a delete (`None`) of a key.
type PendingOp = (Vec<u8>, Option<Vec<u8>>);

struct Merge<'a> {
    base: std::iter::Peekable<KvIter<'a>>,
    pending: std::iter::Peekable<std::vec::IntoIter<PendingOp>>,
    reverse: bool,
}

impl<'a> Merge<'a> {
    fn new(base: KvIter<'a>, pending: Vec<(Vec<u8>, Option<Vec<u8>>)>, reverse: bool) -> Self {
        Merge {
            base: base.peekable(),
            pending: pending.into_iter().peekable(),
            reverse,
        }
    }
}

impl Iterator for Merge<'_> {
    type Item = io::Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_pending = match (self.base.peek(), self.pending.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((bk, _))), Some((pk, _))) => {
                    if bk == pk {
                        self.base.next();
                        true
                    } else {
                        (pk < bk) != self.reverse
                    }
                }
            };
            if take_pending {
                let (k, v) = self.pending.next()?;
                if let Some(v) = v {
                    return Some(Ok((k, v)));
                }
            } else {
                return self.base.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::keyspace::{delete_key, set_string, Watch, WatchedAs};

    /// Applies `f` as the entry at `index` and commits it.
    fn entry(e: &MemoryEngine, index: u64, f: impl FnOnce(&mut Overlay<'_>)) {
        let mut ov = Overlay::new(e as &dyn Engine);
        ov.set_stamp(index);
        f(&mut ov);
        e.write(ov.into_batch()).unwrap();
    }

    fn watch(e: &MemoryEngine, key: &str, now: u64) -> Watch {
        Watch::read(e as &dyn Engine, key.as_bytes(), now).unwrap()
    }

    fn changed(e: &MemoryEngine, w: &Watch, now: u64) -> bool {
        w.changed(e as &dyn Engine, now).unwrap()
    }

    #[test]
    fn writes_stamp_keys_and_deletes_stamp_the_slot() {
        let e = MemoryEngine::new();
        entry(&e, 5, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        let w = watch(&e, "k", 0);
        assert_eq!((w.stamp, w.seen), (5, WatchedAs::Live));
        assert!(!changed(&e, &w, 0));
        entry(&e, 6, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        assert!(changed(&e, &w, 0));
        entry(&e, 7, |ov| {
            delete_key(ov, b"k", 0).unwrap();
        });
        let gone = watch(&e, "k", 0);
        assert_eq!((gone.stamp, gone.seen), (0, WatchedAs::Absent));
        assert_eq!(gone.slot_del, 7);
        // Created and deleted again: changed, though absent both times.
        entry(&e, 8, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        entry(&e, 9, |ov| {
            delete_key(ov, b"k", 0).unwrap();
        });
        assert!(changed(&e, &gone, 0));
    }

    #[test]
    fn expiry_and_stale_keys() {
        let e = MemoryEngine::new();
        entry(&e, 1, |ov| set_string(ov, b"k", b"v".to_vec(), 100));
        let live = watch(&e, "k", 50);
        assert!(!changed(&e, &live, 99));
        assert!(changed(&e, &live, 100), "a live key that expired changed");
        let stale = watch(&e, "k", 150);
        assert_eq!(stale.seen, WatchedAs::Expired);
        entry(&e, 2, |ov| {
            delete_key(ov, b"k", 150).unwrap();
        });
        assert!(
            !changed(&e, &stale, 150),
            "deleting a stale key is no change"
        );
        entry(&e, 3, |ov| set_string(ov, b"k", b"v".to_vec(), 0));
        assert!(changed(&e, &stale, 150));
    }

    #[test]
    fn no_stamps_outside_apply_and_subkey_writes_of_live_version_stamp() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        set_string(&mut ov, b"k", b"v".to_vec(), 0);
        assert_eq!(ov.pending.len(), 1);
        // A collection record at version 7 and a subkey of it.
        let mk = crate::keyspace::meta_key(b"h");
        let mut meta = vec![2u8];
        meta.extend_from_slice(&0u64.to_be_bytes());
        meta.extend_from_slice(&7u64.to_be_bytes());
        meta.extend_from_slice(&1u64.to_be_bytes());
        entry(&e, 3, |ov| ov.put(mk.clone(), meta.clone()));
        let w = watch(&e, "h", 0);
        let sub = |version: u64| crate::keyspace::collection::subkey_prefix(b"h", version);
        entry(&e, 4, |ov| ov.put(sub(6), b"x".to_vec()));
        assert!(!changed(&e, &w, 0), "a stale version's subkey is no change");
        entry(&e, 5, |ov| ov.put(sub(7), b"x".to_vec()));
        assert!(changed(&e, &w, 0));
        assert_eq!(watch(&e, "h", 0).stamp, 5);
    }
}
