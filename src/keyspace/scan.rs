//! # Walking the keyspace: KEYS, SCAN, RANDOMKEY and the expiry sweeper
//!
//! Every user key has one metadata record `[slot][0x00][key]`, and a slot's
//! metadata records come before its collection subkeys `[slot][0x01]…` (see
//! the layout at the top of [`super`]). [`MetaRecords`] walks the metadata
//! records of a run of slots with one ordered range scan: when it meets a
//! subkey it reseeks to the next slot's metadata, so empty slots cost
//! nothing and large collections are skipped in one seek, not read.
//!
//! ## The SCAN cursor
//!
//! The cursor is a **slot number**: the first slot the next call scans, and
//! `0` when the iteration is over (slot 0 is always scanned by the first
//! call, so "resume at slot 0" never needs saying). A call returns whole
//! slots: it keeps going until it has looked at `COUNT` records, then
//! finishes the slot it is in. So:
//! - the cursor needs no server state and survives restarts, leader changes
//!   and failovers (another replica has the same slots);
//! - a key present from the start to the end of an iteration is returned
//!   (its slot is read in one go, in one call), and is returned at most
//!   once; keys added or removed meanwhile may or may not appear: exactly
//!   Redis's guarantee;
//! - cursors above the last slot end the iteration (an empty page, cursor 0).
//!
//! CAVEAT: a slot is never split across calls, so one slot holding a
//! million keys (a hot hash tag) comes back in one page. Redis allows a page
//! to exceed COUNT; splitting would need the position of a key inside a
//! slot in the cursor, which no integer cursor can carry stably.
//!
//! Expired keys (their records not yet swept) are skipped everywhere here,
//! as they are on access.

use std::io;
use std::ops::Bound;

use rand::Rng;
use redraft_cluster::{Slot, SlotRange, SLOT_COUNT};

use super::glob::glob_match;
use super::{meta_key_in, KeyType, KsResult, KvRead, NS_META};
use crate::engine::{KeyRange, KvIter};

/// The header fields of a metadata record, read without copying the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub ty: Option<KeyType>,
    pub expire_at_ms: u64,
}

impl RecordHeader {
    /// Reads `[type: u8][expire_at_ms: u64 BE]…`; a record too short to hold
    /// them is corrupt.
    pub fn peek(raw: &[u8]) -> io::Result<RecordHeader> {
        let at: [u8; 8] = raw
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "corrupt metadata record"))?;
        Ok(RecordHeader {
            ty: KeyType::from_tag(raw[0]),
            expire_at_ms: u64::from_be_bytes(at),
        })
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && self.expire_at_ms <= now_ms
    }
}

/// One metadata record met by a walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The full metadata key `[slot][0x00][user key]`.
    pub meta_key: Vec<u8>,
    pub raw: Vec<u8>,
}

impl Record {
    pub fn slot(&self) -> Slot {
        u16::from_be_bytes([self.meta_key[0], self.meta_key[1]])
    }

    pub fn user_key(&self) -> &[u8] {
        &self.meta_key[3..]
    }

    pub fn header(&self) -> io::Result<RecordHeader> {
        RecordHeader::peek(&self.raw)
    }
}

/// Where a walk starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the first metadata record of a slot.
    Slot(Slot),
    /// Just after this metadata key.
    After(Vec<u8>),
}

/// The metadata records of slots `from ..= last_slot`, in key order,
/// skipping subkeys. See the module docs.
pub struct MetaRecords<'a, K: KvRead + ?Sized> {
    kv: &'a K,
    iter: Option<KvIter<'a>>,
    /// First slot after the walk (up to 16384).
    end_slot: u32,
}

impl<'a, K: KvRead + ?Sized> MetaRecords<'a, K> {
    pub fn new(kv: &'a K, from: Start, last_slot: Slot) -> MetaRecords<'a, K> {
        let end_slot = u32::from(last_slot.min(SLOT_COUNT - 1)) + 1;
        let start = match from {
            Start::Slot(s) => Bound::Included(meta_key_in(s, b"")),
            Start::After(k) => Bound::Excluded(k),
        };
        let mut walk = MetaRecords {
            kv,
            iter: None,
            end_slot,
        };
        let range = walk.range_from(start);
        // An empty walk; also, not every view accepts an inverted range.
        let inverted = match (&range.0, &range.1) {
            (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
            _ => false,
        };
        if !inverted {
            walk.iter = Some(kv.scan(range));
        }
        walk
    }

    fn range_from(&self, start: Bound<Vec<u8>>) -> KeyRange {
        // Slots are below 0x4000, so `end_slot` as two bytes is a key bound
        // even for 16384.
        let end = (self.end_slot as u16).to_be_bytes().to_vec();
        (start, Bound::Excluded(end))
    }
}

impl<K: KvRead + ?Sized> Iterator for MetaRecords<'_, K> {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = self.iter.as_mut()?.next();
            match item {
                None => {
                    self.iter = None;
                    return None;
                }
                Some(Err(e)) => {
                    self.iter = None;
                    return Some(Err(e));
                }
                Some(Ok((k, v))) => {
                    if k.len() >= 3 && k[2] == NS_META {
                        return Some(Ok(Record {
                            meta_key: k,
                            raw: v,
                        }));
                    }
                    if k.len() < 2 {
                        continue;
                    }
                    // A subkey: this slot's metadata is behind us.
                    let next = u32::from(u16::from_be_bytes([k[0], k[1]])) + 1;
                    if next >= self.end_slot {
                        self.iter = None;
                        return None;
                    }
                    let start = Bound::Included(meta_key_in(next as u16, b""));
                    self.iter = Some(self.kv.scan(self.range_from(start)));
                }
            }
        }
    }
}

/// What SCAN and KEYS keep: a glob on the key and a type name.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyFilter<'a> {
    /// `None` (or the pattern `*`) keeps every key.
    pub pattern: Option<&'a [u8]>,
    /// A type name as TYPE spells it, compared ignoring case; an unknown
    /// name matches nothing (as in Redis 7.0).
    pub type_name: Option<&'a [u8]>,
}

impl KeyFilter<'_> {
    fn keeps(&self, key: &[u8], header: &RecordHeader) -> bool {
        if let Some(p) = self.pattern {
            // `*` alone matches every key, the empty one included.
            if p != b"*" && !glob_match(p, key) {
                return false;
            }
        }
        if let Some(t) = self.type_name {
            let name = header.ty.map_or("none", KeyType::name);
            if !t.eq_ignore_ascii_case(name.as_bytes()) {
                return false;
            }
        }
        true
    }
}

/// One SCAN reply: the keys and the cursor to continue from (0: done).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanPage {
    pub keys: Vec<Vec<u8>>,
    pub cursor: u64,
}

/// One SCAN call from `cursor` (a slot number, see the module docs),
/// looking at about `count` records.
pub fn scan_page(
    kv: &(impl KvRead + ?Sized),
    cursor: u64,
    count: usize,
    filter: KeyFilter<'_>,
    now_ms: u64,
) -> KsResult<ScanPage> {
    let mut page = ScanPage {
        keys: Vec::new(),
        cursor: 0,
    };
    if cursor >= u64::from(SLOT_COUNT) {
        return Ok(page);
    }
    let mut current: Option<Slot> = None;
    let walk = MetaRecords::new(kv, Start::Slot(cursor as Slot), SLOT_COUNT - 1);
    for (seen, rec) in walk.enumerate() {
        let rec = rec?;
        let slot = rec.slot();
        if current.is_some_and(|c| c != slot) && seen >= count.max(1) {
            // `slot` > `cursor` >= 0, so the cursor is never 0 here.
            page.cursor = u64::from(slot);
            return Ok(page);
        }
        current = Some(slot);
        let header = rec.header()?;
        if !header.is_expired(now_ms) && filter.keeps(rec.user_key(), &header) {
            page.keys.push(rec.user_key().to_vec());
        }
    }
    Ok(page)
}

/// Every live key matching `filter` (KEYS), in slot then key order.
pub fn all_keys(
    kv: &(impl KvRead + ?Sized),
    filter: KeyFilter<'_>,
    now_ms: u64,
) -> KsResult<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    for rec in MetaRecords::new(kv, Start::Slot(0), SLOT_COUNT - 1) {
        let rec = rec?;
        let header = rec.header()?;
        if !header.is_expired(now_ms) && filter.keeps(rec.user_key(), &header) {
            keys.push(rec.user_key().to_vec());
        }
    }
    Ok(keys)
}

/// A random live key (RANDOMKEY), or `None` when there is none.
///
/// Picks a random slot, then a uniformly random key of the first slot at or
/// after it (wrapping around) that holds a live key. Not uniform over keys
/// when slots hold different numbers of keys; neither is Redis's in cluster
/// mode. O(keys of the chosen slot), plus the expired records in between.
pub fn random_key(
    kv: &(impl KvRead + ?Sized),
    rng: &mut impl Rng,
    now_ms: u64,
) -> KsResult<Option<Vec<u8>>> {
    let start: Slot = rng.random_range(0..SLOT_COUNT);
    let mut passes = vec![(start, SLOT_COUNT - 1)];
    if start > 0 {
        passes.push((0, start - 1));
    }
    for (first, last) in passes {
        // Reservoir sampling over the live keys of the first slot that
        // has one.
        let mut chosen: Option<Vec<u8>> = None;
        let mut slot_of_chosen = None;
        let mut n = 0u64;
        for rec in MetaRecords::new(kv, Start::Slot(first), last) {
            let rec = rec?;
            if slot_of_chosen.is_some_and(|s| s != rec.slot()) {
                break;
            }
            if rec.header()?.is_expired(now_ms) {
                continue;
            }
            slot_of_chosen = Some(rec.slot());
            n += 1;
            if rng.random_range(0..n) == 0 {
                chosen = Some(rec.user_key().to_vec());
            }
        }
        if chosen.is_some() {
            return Ok(chosen);
        }
    }
    Ok(None)
}

/// Where the expiry sweeper resumes in a shard: after this metadata key,
/// or at the start of the shard's slots.
pub type SweepPosition = Option<Vec<u8>>;

/// What one sweep step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepStep {
    /// Keys whose records were expired at `now_ms`.
    pub expired: Vec<Vec<u8>>,
    /// Records looked at.
    pub examined: usize,
    /// Where the next step starts; `None` once the shard's last slot was
    /// reached (the next step starts over).
    pub next: SweepPosition,
}

/// Walks the metadata records of `ranges` (a shard's slots, in order) from
/// `from`, looking at up to `max_examined` records and collecting up to
/// `max_expired` expired keys. Repeated steps visit every record of the
/// shard in turn, so every expired key is found within
/// `records / max_examined` steps.
pub fn sweep_step(
    kv: &(impl KvRead + ?Sized),
    ranges: &[SlotRange],
    from: &SweepPosition,
    now_ms: u64,
    max_examined: usize,
    max_expired: usize,
) -> KsResult<SweepStep> {
    let mut step = SweepStep {
        expired: Vec::new(),
        examined: 0,
        next: None,
    };
    let from_slot = from
        .as_ref()
        .filter(|k| k.len() >= 2)
        .map(|k| u16::from_be_bytes([k[0], k[1]]));
    for range in ranges {
        let start = match (from, from_slot) {
            (Some(k), Some(s)) if range.contains(s) => Start::After(k.clone()),
            (_, Some(s)) if range.end < s => continue,
            _ => Start::Slot(range.start),
        };
        for rec in MetaRecords::new(kv, start, range.end) {
            if step.examined >= max_examined || step.expired.len() >= max_expired {
                return Ok(step);
            }
            let rec = rec?;
            step.examined += 1;
            if rec.header()?.is_expired(now_ms) {
                step.expired.push(rec.user_key().to_vec());
            }
            step.next = Some(rec.meta_key);
        }
    }
    step.next = None;
    Ok(step)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use redraft_cluster::key_slot;

    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::{meta_key, set_string, Meta, Overlay};

    const NOW: u64 = 1_000_000;

    fn engine_with(keys: &[(&str, u64)]) -> MemoryEngine {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e);
        for (k, exp) in keys {
            set_string(&mut ov, k.as_bytes(), b"v".to_vec(), *exp);
        }
        e.write(ov.into_batch()).unwrap();
        e
    }

    /// Adds a collection record and subkeys for `key`, as collections will.
    fn add_collection(e: &MemoryEngine, key: &[u8]) {
        let mut ov = Overlay::new(e);
        let meta = Meta {
            ty: KeyType::Hash,
            expire_at_ms: 0,
            version: 7,
            payload: 3u64.to_be_bytes().to_vec(),
        };
        ov.put(meta_key(key), meta.encode());
        for f in [b"f1", b"f2", b"f3"] {
            let mut sk = key_slot(key).to_be_bytes().to_vec();
            sk.push(crate::keyspace::NS_SUB);
            sk.extend_from_slice(&(key.len() as u32).to_be_bytes());
            sk.extend_from_slice(key);
            sk.extend_from_slice(&7u64.to_be_bytes());
            sk.extend_from_slice(f);
            ov.put(sk, b"x".to_vec());
        }
        e.write(ov.into_batch()).unwrap();
    }

    fn strings(v: Vec<Vec<u8>>) -> BTreeSet<String> {
        v.into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect()
    }

    fn scan_all(e: &dyn Engine, count: usize, filter: KeyFilter<'_>) -> (Vec<Vec<u8>>, usize) {
        let mut cursor = 0;
        let mut keys = Vec::new();
        for calls in 1..=20_000 {
            let page = scan_page(e, cursor, count, filter, NOW).unwrap();
            keys.extend(page.keys);
            cursor = page.cursor;
            if cursor == 0 {
                return (keys, calls);
            }
        }
        panic!("SCAN did not finish");
    }

    #[test]
    fn walk_skips_subkeys_and_empty_slots() {
        let e = engine_with(&[("a", 0), ("b", 0), ("{h}x", 0)]);
        add_collection(&e, b"{h}coll");
        add_collection(&e, b"zzz");
        let keys: Vec<Vec<u8>> =
            MetaRecords::new(&e as &dyn Engine, Start::Slot(0), SLOT_COUNT - 1)
                .map(|r| r.unwrap().user_key().to_vec())
                .collect();
        assert_eq!(
            strings(keys.clone()),
            strings(vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"{h}x".to_vec(),
                b"{h}coll".to_vec(),
                b"zzz".to_vec()
            ])
        );
        assert_eq!(keys.len(), 5, "each key once");
        // Sorted by slot.
        let slots: Vec<Slot> = keys.iter().map(|k| key_slot(k)).collect();
        assert!(slots.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn scan_returns_every_key_once_in_whole_slots() {
        let names: Vec<String> = (0..500).map(|i| format!("key:{i}")).collect();
        let mut input: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), 0)).collect();
        input.push(("gone", NOW - 1));
        let e = engine_with(&input);
        add_collection(&e, b"coll");
        let (keys, calls) = scan_all(&e, 10, KeyFilter::default());
        assert_eq!(keys.len(), 501, "no duplicates");
        let mut want: BTreeSet<String> = names.iter().cloned().collect();
        want.insert("coll".into());
        assert_eq!(strings(keys), want, "the expired key is skipped");
        assert!(calls > 10, "COUNT bounds pages: {calls} calls");
        // One call with a large COUNT returns everything, cursor 0.
        let page = scan_page(&e as &dyn Engine, 0, 10_000, KeyFilter::default(), NOW).unwrap();
        assert_eq!((page.keys.len(), page.cursor), (501, 0));
    }

    #[test]
    fn scan_cursor_is_a_slot_and_pages_hold_whole_slots() {
        let tagged: Vec<String> = (0..50).map(|i| format!("{{tag}}{i}")).collect();
        let input: Vec<(&str, u64)> = tagged.iter().map(|n| (n.as_str(), 0)).collect();
        let e = engine_with(&input);
        let page = scan_page(&e as &dyn Engine, 0, 1, KeyFilter::default(), NOW).unwrap();
        assert_eq!(page.keys.len(), 50, "one slot is never split");
        assert_eq!(page.cursor, 0);
        // Resuming at a later slot skips earlier ones; beyond the last, done.
        let s = u64::from(key_slot(b"{tag}"));
        let later = scan_page(&e as &dyn Engine, s + 1, 10, KeyFilter::default(), NOW).unwrap();
        assert!(later.keys.is_empty());
        let past = scan_page(&e as &dyn Engine, u64::MAX, 10, KeyFilter::default(), NOW).unwrap();
        assert_eq!(
            past,
            ScanPage {
                keys: vec![],
                cursor: 0
            }
        );
    }

    #[test]
    fn scan_survives_writes_between_calls() {
        let names: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
        let input: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), 0)).collect();
        let e = engine_with(&input);
        let mut cursor = 0;
        let mut got = Vec::new();
        let mut i = 0;
        loop {
            let page = scan_page(&e as &dyn Engine, cursor, 5, KeyFilter::default(), NOW).unwrap();
            got.extend(page.keys);
            // Keys come and go between calls.
            let mut ov = Overlay::new(&e);
            set_string(&mut ov, format!("new{i}").as_bytes(), b"v".to_vec(), 0);
            e.write(ov.into_batch()).unwrap();
            i += 1;
            cursor = page.cursor;
            if cursor == 0 {
                break;
            }
        }
        let got = strings(got);
        for n in &names {
            assert!(got.contains(n), "{n} present throughout was missed");
        }
    }

    #[test]
    fn filters_by_pattern_and_type() {
        let e = engine_with(&[("user:1", 0), ("user:2", 0), ("other", 0), ("", 0)]);
        add_collection(&e, b"user:h");
        let f = |p: Option<&'static str>, t: Option<&'static str>| KeyFilter {
            pattern: p.map(str::as_bytes),
            type_name: t.map(str::as_bytes),
        };
        let kv = &e as &dyn Engine;
        assert_eq!(all_keys(kv, f(Some("*"), None), NOW).unwrap().len(), 5);
        assert_eq!(
            strings(all_keys(kv, f(Some("user:?"), None), NOW).unwrap()),
            strings(vec![
                b"user:1".to_vec(),
                b"user:2".to_vec(),
                b"user:h".to_vec()
            ])
        );
        assert_eq!(
            strings(all_keys(kv, f(Some("user:*"), Some("STRING")), NOW).unwrap()),
            strings(vec![b"user:1".to_vec(), b"user:2".to_vec()])
        );
        assert_eq!(
            all_keys(kv, f(None, Some("hash")), NOW).unwrap(),
            vec![b"user:h".to_vec()]
        );
        assert!(all_keys(kv, f(None, Some("nosuchtype")), NOW)
            .unwrap()
            .is_empty());
        assert_eq!(
            all_keys(kv, f(Some(""), None), NOW).unwrap(),
            vec![Vec::<u8>::new()]
        );
        let (typed, _) = scan_all(kv, 2, f(Some("user:*"), Some("string")));
        assert_eq!(typed.len(), 2);
    }

    #[test]
    fn random_key_finds_live_keys_only() {
        let mut rng = StdRng::seed_from_u64(1);
        let empty = MemoryEngine::new();
        assert_eq!(
            random_key(&empty as &dyn Engine, &mut rng, NOW).unwrap(),
            None
        );
        let e = engine_with(&[
            ("dead1", NOW),
            ("dead2", 5),
            ("alive", 0),
            ("{t}a", 0),
            ("{t}b", 0),
        ]);
        let mut seen = BTreeSet::new();
        for _ in 0..300 {
            let k = random_key(&e as &dyn Engine, &mut rng, NOW)
                .unwrap()
                .unwrap();
            seen.insert(String::from_utf8(k).unwrap());
        }
        assert_eq!(
            seen,
            ["alive", "{t}a", "{t}b"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
        let only_dead = engine_with(&[("dead", NOW)]);
        assert_eq!(
            random_key(&only_dead as &dyn Engine, &mut rng, NOW).unwrap(),
            None
        );
    }

    #[test]
    fn sweep_steps_cover_the_shard_and_wrap() {
        let names: Vec<String> = (0..400).map(|i| format!("e{i}")).collect();
        let mut input: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), NOW - 1)).collect();
        input.push(("live", 0));
        input.push(("later", NOW + 10));
        let e = engine_with(&input);
        add_collection(&e, b"coll");
        // A shard of two ranges; keys outside them are not its business.
        let ranges = [SlotRange::new(0, 5000), SlotRange::new(9000, 16383)];
        let in_shard = |k: &[u8]| ranges.iter().any(|r| r.contains(key_slot(k)));
        let want: BTreeSet<String> = names
            .iter()
            .filter(|n| in_shard(n.as_bytes()))
            .cloned()
            .collect();
        let mut pos: SweepPosition = None;
        let mut found = Vec::new();
        let mut steps = 0;
        loop {
            let step = sweep_step(&e as &dyn Engine, &ranges, &pos, NOW, 25, 10).unwrap();
            assert!(step.examined <= 25 && step.expired.len() <= 10);
            found.extend(step.expired);
            pos = step.next;
            steps += 1;
            if pos.is_none() {
                break;
            }
            assert!(steps < 1000);
        }
        let found = strings(found);
        assert_eq!(found, want);
        assert!(found.iter().all(|k| in_shard(k.as_bytes())));
        // The next step starts over.
        let again = sweep_step(&e as &dyn Engine, &ranges, &None, NOW, 10_000, 10_000).unwrap();
        assert_eq!(again.expired.len(), want.len());
        assert_eq!(again.next, None);
    }

    #[test]
    fn record_header_rejects_short_records() {
        assert!(RecordHeader::peek(&[1, 2]).is_err());
        let raw = Meta::string(b"v".to_vec(), 42).encode();
        let h = RecordHeader::peek(&raw).unwrap();
        assert_eq!((h.ty, h.expire_at_ms), (Some(KeyType::String), 42));
        assert!(h.is_expired(42) && !h.is_expired(41));
    }
}
