//! Pending writes over an engine: the view Raft apply works in.
//!
//! Apply runs many commands (several Raft entries) into one engine batch.
//! Each command must see the writes of the commands before it, so reads go
//! through the pending map first. `into_batch` yields the writes in the
//! order they were made, with only the last write of each key.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::ops::Bound;

use super::{
    slot_del_key, stamp_key_of_meta, KvRead, NS_META, NS_SLOT_DEL, NS_STAMP, NS_SUB, SYSTEM_PREFIX,
};
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
                    // The record's last write; this entry for one written
                    // without stamps (conservative: later than any WATCH).
                    let written = self
                        .get_u64(&stamp_key_of_meta(key))
                        .filter(|&w| w != 0)
                        .unwrap_or(self.stamp);
                    self.raise_slot_del(slot, written);
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

    /// A stored big-endian u64, if `key` holds one.
    fn get_u64(&self, key: &[u8]) -> Option<u64> {
        let v = self.get(key).ok()??;
        Some(u64::from_be_bytes(v.try_into().ok()?))
    }

    /// Raises `slot`'s deletion stamp to `written` (it never goes down).
    fn raise_slot_del(&mut self, slot: u16, written: u64) {
        let key = slot_del_key(slot);
        if self.get_u64(&key).unwrap_or(0) < written {
            self.pending
                .insert(key, Some(written.to_be_bytes().to_vec()));
        }
    }

    /// Deletes every key in `range` (engine keys and pending ones). Under
    /// stamps (FLUSHALL at apply), each slot keeps its deletion stamp,
    /// raised to the stamps of the records deleted, so WATCH still sees
    /// a key written after it and flushed away.
    pub fn delete_range(&mut self, range: KeyRange) -> io::Result<()> {
        let pairs: Vec<KvPair> = self.scan(range).collect::<io::Result<_>>()?;
        // Per slot: records deleted, stamps among them, greatest stamp
        // (the slot's own deletion stamp included).
        let mut slots: BTreeMap<u16, (u64, u64, u64)> = BTreeMap::new();
        for (k, v) in &pairs {
            if self.stamp == 0 || k.len() < 3 || k[0] == SYSTEM_PREFIX {
                continue;
            }
            let slot = u16::from_be_bytes([k[0], k[1]]);
            let value = || v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0);
            let e = slots.entry(slot).or_default();
            match k[2] {
                NS_META => e.0 += 1,
                NS_STAMP => {
                    e.1 += 1;
                    e.2 = e.2.max(value());
                }
                NS_SLOT_DEL => e.2 = e.2.max(value()),
                _ => {}
            }
        }
        for (k, _) in pairs {
            self.pending.insert(k, None);
        }
        for (slot, (records, stamps, max)) in slots {
            // A record without a stamp was written outside apply: count it
            // as written now.
            let max = if records > stamps {
                max.max(self.stamp)
            } else {
                max
            };
            if max != 0 {
                self.pending
                    .insert(slot_del_key(slot), Some(max.to_be_bytes().to_vec()));
            }
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
    use crate::keyspace::{delete_key, set_string, slots_key_range, Watch, WatchedAs};

    /// Applies `f` as the entry at `index` (of shard 0) and commits it,
    /// with the shard's applied index.
    fn entry(e: &MemoryEngine, index: u64, f: impl FnOnce(&mut Overlay<'_>)) {
        let mut ov = Overlay::new(e as &dyn Engine);
        ov.set_stamp(index);
        f(&mut ov);
        ov.put(crate::apply::applied_key(0), index.to_be_bytes().to_vec());
        e.write(ov.into_batch()).unwrap();
    }

    /// WATCH as dispatch does it: the applied index first, then the key.
    fn watch(e: &MemoryEngine, key: &str, now: u64) -> Watch {
        let since = crate::apply::read_applied(&Overlay::new(e as &dyn Engine), 0);
        Watch::read(e as &dyn Engine, key.as_bytes(), now, since).unwrap()
    }

    fn changed(e: &MemoryEngine, w: &Watch, now: u64) -> bool {
        w.changed(e as &dyn Engine, now).unwrap()
    }

    fn del(e: &MemoryEngine, index: u64, key: &str, now: u64) {
        entry(e, index, |ov| {
            delete_key(ov, key.as_bytes(), now).unwrap();
        });
    }

    fn set(e: &MemoryEngine, index: u64, key: &str, expire_at: u64) {
        entry(e, index, |ov| {
            set_string(ov, key.as_bytes(), b"v".to_vec(), expire_at)
        });
    }

    fn slot_del(e: &MemoryEngine, key: &str) -> u64 {
        let k = slot_del_key(redraft_cluster::key_slot(key.as_bytes()));
        e.get(&k)
            .unwrap()
            .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()))
    }

    #[test]
    fn writes_stamp_keys_and_deletes_raise_the_slot_stamp() {
        let e = MemoryEngine::new();
        set(&e, 5, "k", 0);
        let w = watch(&e, "k", 0);
        assert_eq!((w.stamp, w.seen, w.since), (5, WatchedAs::Live, 5));
        assert!(!changed(&e, &w, 0));
        set(&e, 6, "k", 0);
        assert!(changed(&e, &w, 0));
        del(&e, 7, "k", 0);
        let gone = watch(&e, "k", 0);
        assert_eq!((gone.stamp, gone.seen), (0, WatchedAs::Absent));
        // The deleted record's last write, not the deletion's index.
        assert_eq!(slot_del(&e, "k"), 6);
        // Created and deleted again: changed, though absent both times.
        set(&e, 8, "k", 0);
        del(&e, 9, "k", 0);
        assert!(changed(&e, &gone, 0));
    }

    #[test]
    fn absent_key_and_deletions_of_older_keys_in_its_slot() {
        let e = MemoryEngine::new();
        // Same slot (hash tag), written before the WATCH.
        set(&e, 1, "{t}other", 0);
        let w = watch(&e, "{t}k", 0);
        assert_eq!(w.seen, WatchedAs::Absent);
        del(&e, 2, "{t}other", 0);
        assert!(!changed(&e, &w, 0), "a key written before the WATCH");
        // Written after the WATCH and deleted: cannot be told from the
        // watched key (conservative).
        set(&e, 3, "{t}other", 0);
        del(&e, 4, "{t}other", 0);
        assert!(changed(&e, &w, 0));
    }

    #[test]
    fn expiry_and_stale_keys() {
        let e = MemoryEngine::new();
        set(&e, 1, "k", 100);
        let live = watch(&e, "k", 50);
        assert!(!changed(&e, &live, 99));
        assert!(changed(&e, &live, 100), "a live key that expired changed");
        // Redis: "Delete WATCHed stale keys should not fail EXEC".
        let stale = watch(&e, "k", 150);
        assert_eq!(stale.seen, WatchedAs::Expired);
        assert!(!changed(&e, &stale, 150));
        del(&e, 2, "k", 150);
        assert!(
            !changed(&e, &stale, 150),
            "deleting a stale key is no change"
        );
        set(&e, 3, "k", 0);
        assert!(changed(&e, &stale, 150));
    }

    #[test]
    fn stale_key_written_then_deleted_changed() {
        // SET k v PX 1; (gone) WATCH k; ZADD k (here: SET); DEL k; EXEC: nil.
        let e = MemoryEngine::new();
        set(&e, 1, "k", 100);
        let stale = watch(&e, "k", 150);
        set(&e, 2, "k", 0);
        del(&e, 3, "k", 150);
        assert!(changed(&e, &stale, 150));
        // The same with the stale record first deleted, then the key
        // written and deleted.
        let e = MemoryEngine::new();
        set(&e, 1, "k", 100);
        let stale = watch(&e, "k", 150);
        del(&e, 2, "k", 150);
        set(&e, 3, "k", 0);
        del(&e, 4, "k", 150);
        assert!(changed(&e, &stale, 150));
        // Rewritten with a TTL that expired again: changed too.
        let e = MemoryEngine::new();
        set(&e, 1, "k", 100);
        let stale = watch(&e, "k", 150);
        set(&e, 2, "k", 120);
        assert!(changed(&e, &stale, 150));
    }

    #[test]
    fn flush_keeps_what_watch_needs() {
        let e = MemoryEngine::new();
        set(&e, 1, "{t}old", 0);
        let absent = watch(&e, "{t}k", 0);
        let flush = |index| {
            entry(&e, index, |ov| {
                ov.delete_range(slots_key_range(redraft_cluster::SlotRange::ALL))
                    .unwrap()
            })
        };
        flush(2);
        assert!(!changed(&e, &absent, 0), "only older keys were flushed");
        assert_eq!(slot_del(&e, "{t}k"), 1);
        set(&e, 3, "{t}k", 0);
        flush(4);
        assert!(changed(&e, &absent, 0), "created after the WATCH, flushed");
        // An empty slot keeps its deletion stamp across a flush.
        flush(5);
        assert_eq!(slot_del(&e, "{t}k"), 3);
        assert!(changed(&e, &absent, 0));
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
