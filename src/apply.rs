//! The data shards' state machine: applies committed proposals to the
//! engine.
//!
//! All entries handed over in one call are applied into one [`Overlay`]
//! and written as **one** engine batch together with the shard's new
//! applied index (system key `applied/<shard>`), so data and applied index
//! never disagree after a crash. Command replies are computed here, on
//! every replica, and returned to the proposer by the Raft store.

use std::io;
use std::sync::Arc;

use parking_lot::RwLock;
use rand::rngs::StdRng;
use rand::SeedableRng;
use redraft_cluster::{Digest, DigestJob, PartHasher, ShardId, StateMachine};
use redraft_resp::Reply;

use crate::blocking::Blocking;
use crate::cmd::{self, ApplyCtx};
use crate::engine::{Engine, KvPair, WriteBatch};
use crate::keyspace::{is_bookkeeping, slots_key_range, system_key, KvRead, Overlay};
use crate::meta::MetaMachine;
use crate::migration;
use crate::node::SlotMap;
use crate::proposal::Proposal;
use redraft_cluster::meta::META_SHARD;
use redraft_cluster::{key_slot, SlotRange};
use std::collections::HashMap;

/// The state machine of every data shard on this node.
pub struct KvStateMachine {
    engine: Arc<dyn Engine>,
    /// The node's slot map: where a shard's own slot ranges come from when
    /// it is bootstrapped (see [`owned_ranges`]).
    slots: Arc<RwLock<SlotMap>>,
    /// Each shard's own slot ranges, as stored with its data (a cache of
    /// the `slots/<shard>` system keys).
    owned: HashMap<ShardId, Vec<SlotRange>>,
    /// The local shards' migration states (non-empty ones), as applied:
    /// what reads and ASKING routing look at (see `crate::dispatch`).
    migrations: migration::Shared,
    /// Each shard's migration state as applied (a cache of the
    /// `migration/<shard>` system keys; empty states included).
    mig: HashMap<ShardId, migration::State>,
    blocking: Arc<Blocking>,
    /// Shard 0, the metadata group, holds the cluster map instead.
    meta: MetaMachine,
}

impl KvStateMachine {
    pub fn new(
        engine: Arc<dyn Engine>,
        slots: Arc<RwLock<SlotMap>>,
        blocking: Arc<Blocking>,
        map: Arc<crate::meta::MapView>,
    ) -> KvStateMachine {
        KvStateMachine {
            meta: MetaMachine::new(engine.clone(), map),
            engine,
            slots,
            owned: HashMap::new(),
            migrations: Arc::default(),
            mig: HashMap::new(),
            blocking,
        }
    }

    /// The local shards' migration states, as applied.
    pub fn migrations(&self) -> migration::Shared {
        self.migrations.clone()
    }

    /// The slot ranges `shard` owns as part of its replicated state: what
    /// its snapshots carry, its removal deletes and its digests cover, and
    /// the slots its writes may touch. Stored with the data (and in its
    /// snapshots); a shard that has none stored yet (bootstrapped before
    /// they were, or not created here) takes the node's slot map's.
    fn ranges(&mut self, shard: ShardId) -> Vec<SlotRange> {
        if let Some(r) = self.owned.get(&shard) {
            return r.clone();
        }
        let stored = match self.engine.get(&owned_ranges_key(shard)) {
            Ok(v) => v.and_then(|v| decode_ranges(&v)),
            Err(e) => panic!("cannot read the slot ranges of shard {shard}: {e}"),
        };
        match stored {
            Some(r) => {
                self.owned.insert(shard, r.clone());
                r
            }
            None => self.slots.read().ranges_of(shard),
        }
    }

    /// [`Self::ranges`] without filling the cache (for `&self` callers:
    /// snapshots and digests, on the store thread between applies).
    fn current_ranges(&self, shard: ShardId) -> Vec<SlotRange> {
        match self.owned.get(&shard) {
            Some(r) => r.clone(),
            None => stored_ranges(&self.engine, shard)
                .unwrap_or_else(|| self.slots.read().ranges_of(shard)),
        }
    }

    /// `shard`'s migration state as applied (cached; read from the engine
    /// once per shard).
    fn migration_state(&mut self, shard: ShardId) -> migration::State {
        if let Some(m) = self.mig.get(&shard) {
            return *m;
        }
        let m = migration::State::read(self.engine.as_ref(), shard)
            .unwrap_or_else(|e| panic!("cannot read the migration state of shard {shard}: {e}"));
        self.mig.insert(shard, m);
        m
    }
}

/// The system key holding the slot ranges a shard owns (its replicated
/// state, see [`KvStateMachine`]'s `ranges`).
pub fn owned_ranges_key(shard: ShardId) -> Vec<u8> {
    let mut name = b"slots/".to_vec();
    name.extend_from_slice(&shard.to_be_bytes());
    system_key(&name)
}

const SPLIT_CHILD: &[u8] = b"splitchild/";

/// Every key starting with `prefix` (whose last byte is not 0xFF).
fn prefix_range(prefix: &[u8]) -> crate::engine::KeyRange {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    (
        std::ops::Bound::Included(prefix.to_vec()),
        std::ops::Bound::Excluded(end),
    )
}

/// The system key marking a shard split off here whose Raft log may not
/// exist yet (its value: the voters, u64 BE each).
fn split_child_key(child: ShardId) -> Vec<u8> {
    let mut name = SPLIT_CHILD.to_vec();
    name.extend_from_slice(&child.to_be_bytes());
    system_key(&name)
}

/// `[start: u16 BE][end: u16 BE]` per range, in order.
pub fn encode_ranges(ranges: &[SlotRange]) -> Vec<u8> {
    ranges
        .iter()
        .flat_map(|r| r.start.to_be_bytes().into_iter().chain(r.end.to_be_bytes()))
        .collect()
}

/// The ranges [`encode_ranges`] wrote; `None` for bytes that are not
/// ordered, disjoint, valid ranges.
pub fn decode_ranges(b: &[u8]) -> Option<Vec<SlotRange>> {
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let ranges: Vec<SlotRange> = b
        .chunks_exact(4)
        .map(|c| {
            let start = u16::from_be_bytes([c[0], c[1]]);
            let end = u16::from_be_bytes([c[2], c[3]]);
            (start <= end && end < redraft_cluster::SLOT_COUNT).then_some(SlotRange { start, end })
        })
        .collect::<Option<_>>()?;
    ranges
        .windows(2)
        .all(|w| w[0].end < w[1].start)
        .then_some(ranges)
}

/// The slot ranges `shard` owns as stored with its data (`None`: none
/// stored; the node's slot map's apply). For reads outside the state
/// machine (sweeps, tests).
pub fn stored_ranges(kv: &dyn KvRead, shard: ShardId) -> Option<Vec<SlotRange>> {
    kv.get(&owned_ranges_key(shard))
        .ok()
        .flatten()
        .and_then(|v| decode_ranges(&v))
}

/// Whether every key `args` names lies in `ranges` (commands without keys
/// do).
fn keys_owned(args: &[bytes::Bytes], ranges: &[SlotRange]) -> bool {
    let Some(spec) = cmd::lookup(&args[0]) else {
        return true;
    };
    spec.key_indexes(args).into_iter().all(|i| {
        let slot = key_slot(&args[i]);
        ranges.iter().any(|r| r.contains(slot))
    })
}

/// The system key holding a shard's applied index.
pub fn applied_key(shard: ShardId) -> Vec<u8> {
    let mut name = b"applied/".to_vec();
    name.extend_from_slice(&shard.to_be_bytes());
    system_key(&name)
}

impl StateMachine for KvStateMachine {
    type Response = Reply;

    fn applied_index(&self, shard: ShardId) -> u64 {
        match self.engine.get(&applied_key(shard)) {
            Ok(Some(v)) if v.len() == 8 => u64::from_be_bytes(v.try_into().unwrap_or_default()),
            Ok(_) => 0,
            Err(e) => panic!("cannot read applied index of shard {shard}: {e}"),
        }
    }

    fn apply(&mut self, shard: ShardId, entries: &[(u64, &[u8])]) -> Vec<Reply> {
        if shard == META_SHARD {
            return self.meta.apply(entries);
        }
        let Some(&(last, _)) = entries.last() else {
            return Vec::new();
        };
        let mut ranges = self.ranges(shard);
        let ranges_before = ranges.clone();
        let mut mig = self.migration_state(shard);
        let mig_before = mig;
        let mut ov = Overlay::new(self.engine.as_ref());
        let mut replies = Vec::with_capacity(entries.len());
        // Keys written by this batch: their blocked clients are woken once
        // the batch is in the engine.
        let mut touched: Vec<bytes::Bytes> = Vec::new();
        for &(index, data) in entries {
            ov.set_stamp(index);
            if data.is_empty() {
                replies.push(Reply::Null);
                continue;
            }
            let reply = match Proposal::decode(data) {
                Some(p) if migration::is_entry(&p) => migration::apply(
                    &mut ov,
                    &mut mig,
                    &mut ranges,
                    index,
                    p.time_ms,
                    &p.commands[0],
                ),
                Some(p) => match migration::check(&ov, &mig, &p) {
                    Ok(Some(redirect)) => redirect,
                    Ok(None) => apply_proposal(&mut ov, &ranges, shard, index, p, &mut touched),
                    // Not deterministic: crash and replay rather than diverge.
                    Err(e) => panic!("engine read failed while applying shard {shard}: {e}"),
                },
                None => {
                    metrics::counter!("redraft_apply_rejected_total", "reason" => "undecodable")
                        .increment(1);
                    Reply::error("ERR corrupt proposal")
                }
            };
            replies.push(reply);
        }
        if mig != mig_before {
            if mig.is_empty() {
                ov.delete(migration::state_key(shard));
            } else {
                ov.put(migration::state_key(shard), mig.encode());
            }
        }
        let ranges_changed = ranges != ranges_before;
        if ranges_changed {
            ov.put(owned_ranges_key(shard), encode_ranges(&ranges));
        }
        ov.put(applied_key(shard), last.to_be_bytes().to_vec());
        // Not deterministic: an I/O failure must not let replicas diverge.
        let written = (|| {
            fail::fail_point!("engine-write", |_| Err(std::io::Error::other(
                "failpoint engine-write"
            )));
            self.engine.write(ov.into_batch())
        })();
        if let Err(e) = written {
            panic!("engine write failed while applying shard {shard}: {e}");
        }
        migration::publish(&self.migrations, shard, &mig);
        self.mig.insert(shard, mig);
        if ranges_changed {
            self.owned.insert(shard, ranges);
        }
        touched.sort();
        touched.dedup();
        self.blocking.notify(&touched);
        replies
    }

    fn sync(&mut self) -> std::io::Result<()> {
        fail::fail_point!("engine-fsync", |_| Err(std::io::Error::other(
            "failpoint engine-fsync"
        )));
        self.engine.sync()
    }

    fn snapshot(&self, shard: ShardId) -> io::Result<(u64, Vec<u8>)> {
        // Runs on the store thread between applies, so every range read
        // here sees the state of the same applied index.
        let applied = self.applied_index(shard);
        if shard == META_SHARD {
            return Ok(self.meta.snapshot(applied));
        }
        // The first pair is the shard's own slot ranges, so the receiver
        // takes them with the data.
        let ranges = self.current_ranges(shard);
        let mut out = Vec::new();
        put_chunk(&mut out, &owned_ranges_key(shard));
        put_chunk(&mut out, &encode_ranges(&ranges));
        let mig = match self.mig.get(&shard) {
            Some(m) => *m,
            None => migration::State::read(self.engine.as_ref(), shard)?,
        };
        if !mig.is_empty() {
            put_chunk(&mut out, &migration::state_key(shard));
            put_chunk(&mut out, &mig.encode());
        }
        for range in ranges {
            for pair in self.engine.snapshot(slots_key_range(range))? {
                let (k, v) = pair?;
                put_chunk(&mut out, &k);
                put_chunk(&mut out, &v);
            }
        }
        Ok((applied, out))
    }

    fn restore(&mut self, shard: ShardId, index: u64, meta: &[u8], data: &[u8]) -> io::Result<()> {
        if shard == META_SHARD {
            return self
                .meta
                .restore(index, snapshot_meta_key(shard), meta, data);
        }
        // The snapshot's own slot ranges (its first pair); a snapshot
        // without them (an empty one: a new shard) takes the node's map's.
        let mut rest = data;
        let mut ranges = None;
        let mut mig = migration::State::default();
        while !rest.is_empty() {
            let (k, r) = take_chunk(rest)?;
            if k == owned_ranges_key(shard).as_slice() {
                let (v, r) = take_chunk(r)?;
                ranges = Some(decode_ranges(v).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidData, "bad slot ranges in snapshot")
                })?);
                rest = r;
            } else if k == migration::state_key(shard).as_slice() {
                let (v, r) = take_chunk(r)?;
                mig = migration::State::decode(v).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad migration state in snapshot",
                    )
                })?;
                rest = r;
            } else {
                break;
            }
        }
        let ranges = ranges.unwrap_or_else(|| self.slots.read().ranges_of(shard));
        // Whatever this replica held before goes: its own ranges' keys and
        // those of the ranges it takes.
        let mut batch = WriteBatch::new();
        for range in self.ranges(shard).iter().chain(&ranges) {
            for pair in self.engine.scan(slots_key_range(*range)) {
                batch.delete(pair?.0);
            }
        }
        while !rest.is_empty() {
            let (k, r) = take_chunk(rest)?;
            let (v, r) = take_chunk(r)?;
            rest = r;
            let slot_ok = k.len() >= 2
                && ranges
                    .iter()
                    .any(|range| range.contains(u16::from_be_bytes([k[0], k[1]])));
            if !slot_ok {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "snapshot key outside the shard's slots",
                ));
            }
            batch.put(k, v);
        }
        batch.put(owned_ranges_key(shard), encode_ranges(&ranges));
        if mig.is_empty() {
            batch.delete(migration::state_key(shard));
        } else {
            batch.put(migration::state_key(shard), mig.encode());
        }
        batch.put(applied_key(shard), index.to_be_bytes().to_vec());
        batch.put(snapshot_meta_key(shard), meta.to_vec());
        self.owned.remove(&shard);
        self.engine.write(batch)?;
        migration::publish(&self.migrations, shard, &mig);
        self.mig.insert(shard, mig);
        self.owned.insert(shard, ranges);
        self.engine.sync()
    }

    fn snapshot_metadata(&self, shard: ShardId) -> Option<Vec<u8>> {
        self.engine.get(&snapshot_meta_key(shard)).ok().flatten()
    }

    fn destroy(&mut self, shard: ShardId) -> io::Result<()> {
        if shard == META_SHARD {
            return self.meta.destroy(snapshot_meta_key(shard));
        }
        let ranges = self.ranges(shard);
        let mut batch = WriteBatch::new();
        for range in &ranges {
            for pair in self.engine.scan(slots_key_range(*range)) {
                batch.delete(pair?.0);
            }
        }
        batch.delete(owned_ranges_key(shard));
        batch.delete(migration::state_key(shard));
        self.owned.remove(&shard);
        migration::publish(&self.migrations, shard, &migration::State::default());
        self.mig.remove(&shard);
        batch.delete(applied_key(shard));
        batch.delete(snapshot_meta_key(shard));
        self.engine.write(batch)?;
        self.engine.sync()
    }

    fn split(
        &mut self,
        parent: ShardId,
        index: u64,
        child: ShardId,
        spec: &[u8],
        voters: Option<&[u64]>,
    ) -> io::Result<bool> {
        let owned = self.ranges(parent);
        let given = decode_ranges(spec).unwrap_or_default();
        let valid = voters.is_some_and(|v| !v.is_empty())
            && parent != META_SHARD
            && child != META_SHARD
            && child != parent
            && !given.is_empty()
            && given
                .iter()
                .all(|g| owned.iter().any(|o| o.start <= g.start && g.end <= o.end));
        let mut batch = WriteBatch::new();
        batch.put(applied_key(parent), index.to_be_bytes().to_vec());
        let kept = redraft_cluster::slots::subtract_ranges(&owned, &given);
        if valid {
            batch.put(owned_ranges_key(parent), encode_ranges(&kept));
            // The child's keys are already here: they were the parent's.
            // A child this node somehow holds state for keeps it (never
            // happens: see `may_host`).
            if self.applied_index(child) == 0 {
                batch.put(owned_ranges_key(child), encode_ranges(&given));
                batch.put(
                    applied_key(child),
                    redraft_cluster::INIT_INDEX.to_be_bytes().to_vec(),
                );
                let ids: Vec<u8> = voters
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|v| v.to_be_bytes())
                    .collect();
                batch.put(split_child_key(child), ids);
            }
        }
        self.engine.write(batch)?;
        if valid {
            self.owned.insert(parent, kept);
            self.owned.remove(&child);
        }
        Ok(valid)
    }

    fn split_children(&self) -> Vec<(ShardId, Vec<u64>)> {
        let prefix = system_key(SPLIT_CHILD);
        self.engine
            .scan(prefix_range(&prefix))
            .filter_map(|p| p.ok())
            .filter_map(|(k, v)| {
                let id = u64::from_be_bytes(k.get(prefix.len()..)?.try_into().ok()?);
                let voters = v
                    .chunks_exact(8)
                    .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
                    .collect();
                Some((id, voters))
            })
            .collect()
    }

    fn split_done(&mut self, child: ShardId) -> io::Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(split_child_key(child));
        self.engine.write(batch)?;
        self.engine.sync()
    }

    fn may_host(&self, shard: ShardId) -> bool {
        if shard == META_SHARD {
            return true;
        }
        let wanted = self.slots.read().ranges_of(shard);
        if wanted.is_empty() {
            // Not in this node's slot map yet: it learns the map first.
            return false;
        }
        let prefix = system_key(b"slots/");
        let overlapping = self
            .engine
            .scan(prefix_range(&prefix))
            .filter_map(|p| p.ok())
            .any(|(k, v)| {
                let other = k
                    .get(prefix.len()..)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes);
                other != Some(shard)
                    && decode_ranges(&v).is_some_and(|have| {
                        have.iter()
                            .any(|h| wanted.iter().any(|w| h.start <= w.end && w.start <= h.end))
                    })
            });
        !overlapping
    }

    fn digest(&self, shard: ShardId) -> Option<DigestJob> {
        if shard == META_SHARD {
            return None;
        }
        // The point-in-time iterators are opened here, on the store thread
        // between applies (so at the check's index); reading them is the
        // job, on the anti-entropy thread.
        let ranges = self.current_ranges(shard);
        let iters: io::Result<Vec<_>> = ranges
            .into_iter()
            .map(|range| self.engine.snapshot(slots_key_range(range)))
            .collect();
        Some(Box::new(move || slot_digest(iters?.into_iter().flatten())))
    }
}

/// The anti-entropy digest of a shard's pairs, in key order: one part per
/// non-empty hash slot (every data key starts with its slot), hashing the
/// slot's pairs in order. Bookkeeping keys (WATCH stamps) are left out, as
/// `DEBUG DIGEST` leaves them out: they are not data.
pub fn slot_digest(pairs: impl Iterator<Item = io::Result<KvPair>>) -> io::Result<Digest> {
    let mut parts = Vec::new();
    let mut current: Option<(u32, PartHasher)> = None;
    for pair in pairs {
        let (k, v) = pair?;
        if is_bookkeeping(&k) {
            continue;
        }
        let slot = u32::from(u16::from_be_bytes([k[0], k.get(1).copied().unwrap_or(0)]));
        match &mut current {
            Some((s, h)) if *s == slot => h.add(&k, &v),
            _ => {
                if let Some((s, h)) = current.take() {
                    parts.push((s, h.finish()));
                }
                let mut h = PartHasher::new();
                h.add(&k, &v);
                current = Some((slot, h));
            }
        }
    }
    if let Some((s, h)) = current {
        parts.push((s, h.finish()));
    }
    Ok(Digest { parts })
}

/// The system key holding the metadata of the last snapshot restored into
/// a shard (to repair the Raft log after a crash mid-install).
fn snapshot_meta_key(shard: ShardId) -> Vec<u8> {
    let mut name = b"snapmeta/".to_vec();
    name.extend_from_slice(&shard.to_be_bytes());
    system_key(&name)
}

/// Snapshot data: `[len: u32 BE][key][len: u32 BE][value]` per pair.
fn put_chunk(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn take_chunk(b: &[u8]) -> io::Result<(&[u8], &[u8])> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "truncated snapshot");
    let len = b
        .get(..4)
        .and_then(|l| l.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(bad)? as usize;
    let body = b.get(4..4 + len).ok_or_else(bad)?;
    Ok((body, &b[4 + len..]))
}

fn apply_proposal(
    ov: &mut Overlay<'_>,
    ranges: &[SlotRange],
    shard: ShardId,
    index: u64,
    p: Proposal,
    touched: &mut Vec<bytes::Bytes>,
) -> Reply {
    if let Some(watches) = &p.tx {
        for w in watches {
            match w.changed(&*ov, p.time_ms) {
                Ok(false) => {}
                Ok(true) => return Reply::NullArray,
                Err(e) => return e.into(),
            }
        }
    }
    // A write proposed for slots this shard no longer owns (routed by an
    // older slot map) changes nothing: the client retries, and is sent to
    // the slots' owner. Decided here, at apply, so that every replica
    // agrees and no late write lands in slots another shard took.
    if !p.commands.iter().all(|args| keys_owned(args, ranges)) {
        metrics::counter!("redraft_apply_rejected_total", "reason" => "slot_not_owned")
            .increment(1);
        return Reply::error("TRYAGAIN the slot moved to another shard; retry");
    }
    let mut rng = StdRng::seed_from_u64(p.seed);
    // Shared by the commands of one entry (a transaction), so versions stay
    // unique across them.
    let mut versions = 0;
    let mut replies: Vec<Reply> = Vec::with_capacity(p.commands.len());
    let single = p.commands.len() == 1 && p.tx.is_none();
    for args in p.commands {
        let mut ctx = ApplyCtx {
            ov,
            now_ms: p.time_ms,
            rng: &mut rng,
            ranges,
            shard,
            index,
            versions: &mut versions,
        };
        let mut reply = cmd::apply_write(&mut ctx, &args);
        if crate::blocking::is_would_block(&reply) {
            // Inside MULTI a blocking command never blocks.
            if !single {
                reply = crate::blocking::multi_reply(&args);
            }
        } else if let Some(spec) = cmd::lookup(&args[0]).filter(|s| s.is_write()) {
            touched.extend(spec.key_indexes(&args).into_iter().map(|i| args[i].clone()));
        }
        replies.push(reply);
    }
    if single {
        replies.pop().unwrap_or(Reply::Null)
    } else {
        Reply::Array(replies)
    }
}

/// Reads the applied index through any view (for INFO and tests).
pub fn read_applied(kv: &dyn KvRead, shard: ShardId) -> u64 {
    kv.get(&applied_key(shard))
        .ok()
        .flatten()
        .and_then(|v| v.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::keyspace::{meta_key_in, slot_del_key, stamp_key_of_meta, Meta};

    fn engine_with(pairs: &[(Vec<u8>, Vec<u8>)]) -> MemoryEngine {
        let e = MemoryEngine::new();
        let mut b = WriteBatch::new();
        for (k, v) in pairs {
            b.put(k.clone(), v.clone());
        }
        e.write(b).unwrap();
        e
    }

    fn digest_of(e: &MemoryEngine) -> Digest {
        slot_digest(e.snapshot(crate::keyspace::all_data_range()).unwrap()).unwrap()
    }

    fn string(slot: u16, key: &str, value: &str) -> (Vec<u8>, Vec<u8>) {
        (
            meta_key_in(slot, key.as_bytes()),
            Meta::string(value.as_bytes().to_vec(), 0).encode(),
        )
    }

    #[test]
    fn same_data_same_digest_and_one_byte_names_its_slot() {
        let data = vec![
            string(1, "a", "x"),
            string(1, "b", "y"),
            string(700, "c", "z"),
            string(16383, "d", "w"),
        ];
        let a = digest_of(&engine_with(&data));
        let b = digest_of(&engine_with(&data));
        assert_eq!(a, b);
        assert_eq!(a.root(), b.root());
        assert_eq!(
            a.parts.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![1, 700, 16383]
        );
        // One byte of one value differs: only its slot differs.
        let mut changed = data.clone();
        changed[2] = string(700, "c", "Z");
        let c = digest_of(&engine_with(&changed));
        assert_ne!(a.root(), c.root());
        assert_eq!(a.diff(&c), vec![700]);
        // A missing key, and a stray one.
        let d = digest_of(&engine_with(&data[1..]));
        assert_eq!(a.diff(&d), vec![1]);
        let mut extra = data.clone();
        extra.push(string(9000, "stray", "1"));
        let e = digest_of(&engine_with(&extra));
        assert_eq!(a.diff(&e), vec![9000]);
        // Empty data: no parts.
        assert!(digest_of(&MemoryEngine::new()).parts.is_empty());
    }

    #[test]
    fn digest_ignores_bookkeeping_like_debug_digest() {
        let data = vec![string(5, "a", "x")];
        let plain = engine_with(&data);
        let mut with_stamps = data.clone();
        with_stamps.push((stamp_key_of_meta(&data[0].0), 42u64.to_be_bytes().to_vec()));
        with_stamps.push((slot_del_key(5), 7u64.to_be_bytes().to_vec()));
        with_stamps.push((slot_del_key(6), 7u64.to_be_bytes().to_vec()));
        let stamped = engine_with(&with_stamps);
        assert_eq!(digest_of(&plain), digest_of(&stamped));
        assert_eq!(
            crate::cmd::server::data_digest(&plain).unwrap(),
            crate::cmd::server::data_digest(&stamped).unwrap()
        );
    }

    /// The cost of one anti-entropy digest on fjall: opening the
    /// point-in-time iterators (on the store thread) and reading and
    /// hashing a shard (on the anti-entropy thread). Not a pass/fail test:
    ///
    /// ```text
    /// cargo test --release -p redraft --lib anti_entropy_digest_cost_report -- --ignored --nocapture
    /// ```
    ///
    /// `REDRAFT_BENCH_OPS` keys (default 1 000 000) of 100-byte values over
    /// the 5461 slots of one shard of three.
    #[test]
    #[ignore]
    fn anti_entropy_digest_cost_report() {
        let n: usize = std::env::var("REDRAFT_BENCH_OPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let dir = tempfile::tempdir().unwrap();
        let engine: Arc<dyn Engine> =
            Arc::new(crate::engine::fjall_engine::FjallEngine::open(dir.path()).unwrap());
        let value = vec![b'v'; 100];
        let started = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
            let mut b = WriteBatch::new();
            for &i in chunk {
                let slot = (i % 5461) as u16;
                b.put(
                    meta_key_in(slot, format!("key:{i}").as_bytes()),
                    Meta::string(value.clone(), 0).encode(),
                );
            }
            engine.write(b).unwrap();
        }
        engine.sync().unwrap();
        println!("wrote {n} keys in {:.2} s", started.elapsed().as_secs_f64());
        let slots = Arc::new(RwLock::new(SlotMap::even(3)));
        let sm = KvStateMachine::new(
            engine.clone(),
            slots,
            Arc::default(),
            Arc::new(crate::meta::MapView::new(Default::default())),
        );
        for round in 0..3 {
            let t0 = Instant::now();
            let job = sm.digest(1).expect("a digest job");
            let opened = t0.elapsed();
            let t1 = Instant::now();
            let d = job().unwrap();
            let hashed = t1.elapsed();
            assert_eq!(d.parts.len(), 5461);
            println!(
                "round {round}: digest of {n} keys: iterators opened in {:.3} ms (store thread), \
                 read and hashed in {:.3} s ({:.0} keys/s)",
                opened.as_secs_f64() * 1e3,
                hashed.as_secs_f64(),
                n as f64 / hashed.as_secs_f64()
            );
        }
    }

    #[test]
    fn state_machine_digest_covers_only_the_shards_slots() {
        let engine: Arc<dyn Engine> = Arc::new(engine_with(&[
            string(0, "a", "x"),
            string(8000, "b", "y"),
            string(16000, "c", "z"),
        ]));
        let slots = Arc::new(RwLock::new(SlotMap::even(3)));
        let sm = KvStateMachine::new(
            engine.clone(),
            slots,
            Arc::default(),
            Arc::new(crate::meta::MapView::new(Default::default())),
        );
        let job = sm.digest(2).expect("a digest job");
        // Point in time: a write after the job was made is not seen.
        let mut b = WriteBatch::new();
        let (k, v) = string(8001, "late", "1");
        b.put(k, v);
        engine.write(b).unwrap();
        let d = job().unwrap();
        assert_eq!(d.parts.iter().map(|p| p.0).collect::<Vec<_>>(), vec![8000]);
    }

    fn machine(engine: Arc<dyn Engine>) -> KvStateMachine {
        KvStateMachine::new(
            engine,
            Arc::new(RwLock::new(SlotMap::even(3))),
            Arc::default(),
            Arc::new(crate::meta::MapView::new(Default::default())),
        )
    }

    fn set(key: &str) -> Vec<u8> {
        Proposal::new(vec![vec![
            bytes::Bytes::from_static(b"SET"),
            bytes::Bytes::from(key.to_string()),
            bytes::Bytes::from_static(b"v"),
        ]])
        .encode()
    }

    #[test]
    fn ranges_encode_and_refuse_bad_bytes() {
        let r = vec![SlotRange::new(0, 10), SlotRange::new(20, 20)];
        assert_eq!(decode_ranges(&encode_ranges(&r)), Some(r));
        assert_eq!(decode_ranges(&[]), Some(vec![]));
        assert_eq!(decode_ranges(&[0, 1, 0]), None);
        // Out of order, overlapping, inverted, past the last slot.
        assert_eq!(decode_ranges(&[0, 20, 0, 30, 0, 5, 0, 6]), None);
        assert_eq!(decode_ranges(&[0, 1, 0, 5, 0, 5, 0, 6]), None);
        assert_eq!(decode_ranges(&[0, 9, 0, 5]), None);
        assert_eq!(decode_ranges(&[0, 0, 0x40, 0]), None);
    }

    /// A shard's slot ranges are its own state: a snapshot carries them and
    /// the receiver takes them, whatever its node's slot map says; digests
    /// and removal follow them; and a write for a slot the shard does not
    /// own changes nothing, on every replica.
    #[test]
    fn a_shards_slot_ranges_travel_with_its_snapshot_and_bound_its_writes() {
        let slot_of = |k: &str| key_slot(k.as_bytes());
        // "foo" is in slot 12182 (shard 3 of 3), "bar" in 5061 (shard 1).
        assert_eq!((slot_of("foo"), slot_of("bar")), (12182, 5061));
        let a: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
        let mut sm = machine(a.clone());
        // Bootstrapped: the node's map's ranges, stored with the data.
        sm.restore(3, 5, b"m", &[]).unwrap();
        assert_eq!(
            stored_ranges(&a, 3),
            Some(vec![SlotRange::new(10922, 16383)])
        );
        let replies = sm.apply(3, &[(6, &set("foo")[..]), (7, &set("bar")[..])]);
        assert_eq!(replies[0], Reply::ok());
        assert!(
            matches!(&replies[1], Reply::Error(e) if e.starts_with("TRYAGAIN")),
            "{:?}",
            replies[1]
        );
        assert_eq!(sm.applied_index(3), 7);
        assert!(crate::keyspace::get_string(a.as_ref(), b"bar", 0)
            .unwrap()
            .is_none());
        // A transaction with one foreign key is refused whole.
        let tx = Proposal::new(vec![
            vec![bytes::Bytes::from_static(b"SET"), "foo2".into(), "1".into()],
            vec![bytes::Bytes::from_static(b"SET"), "bar".into(), "1".into()],
        ])
        .encode();
        let r = sm.apply(3, &[(8, &tx[..])]);
        assert!(matches!(&r[0], Reply::Error(e) if e.starts_with("TRYAGAIN")));
        assert!(crate::keyspace::get_string(a.as_ref(), b"foo2", 0)
            .unwrap()
            .is_none());

        // The snapshot goes to a node whose map gives shard 3 other slots:
        // the receiver takes the snapshot's ranges, and drops what it held
        // in both its old ranges and the new ones.
        let (index, data) = sm.snapshot(3).unwrap();
        assert_eq!(index, 8);
        let b: Arc<dyn Engine> = Arc::new(engine_with(&[
            string(100, "stale-old-range", "1"),
            string(12000, "stale-new-range", "1"),
            string(7000, "other-shard", "1"),
        ]));
        let mut other = KvStateMachine::new(
            b.clone(),
            Arc::new(RwLock::new(SlotMap {
                ranges: vec![
                    (SlotRange::new(0, 4999), 3),
                    (SlotRange::new(5000, 16383), 1),
                ],
                migrations: Vec::new(),
            })),
            Arc::default(),
            Arc::new(crate::meta::MapView::new(Default::default())),
        );
        other.restore(3, index, b"m", &data).unwrap();
        assert_eq!(
            stored_ranges(&b, 3),
            Some(vec![SlotRange::new(10922, 16383)])
        );
        let keys: Vec<Vec<u8>> = b
            .scan(crate::keyspace::all_data_range())
            .map(|p| p.unwrap().0)
            .filter_map(|k| crate::keyspace::user_key_of(&k).map(<[u8]>::to_vec))
            .collect();
        assert_eq!(keys, vec![b"other-shard".to_vec(), b"foo".to_vec()]);
        assert_eq!(
            sm.digest(3).unwrap()().unwrap(),
            other.digest(3).unwrap()().unwrap()
        );
        // A snapshot whose data lies outside its own ranges is refused.
        let mut bad = Vec::new();
        put_chunk(&mut bad, &owned_ranges_key(3));
        put_chunk(&mut bad, &encode_ranges(&[SlotRange::new(0, 10)]));
        let (k, v) = string(500, "x", "1");
        put_chunk(&mut bad, &k);
        put_chunk(&mut bad, &v);
        assert!(other.restore(3, 9, b"m", &bad).is_err());
        // Removal deletes the shard's own ranges' keys only.
        other.destroy(3).unwrap();
        assert_eq!(stored_ranges(&b, 3), None);
        let left: Vec<Vec<u8>> = b
            .scan(crate::keyspace::all_data_range())
            .map(|p| p.unwrap().0)
            .filter_map(|k| crate::keyspace::user_key_of(&k).map(<[u8]>::to_vec))
            .collect();
        assert_eq!(left, vec![b"other-shard".to_vec()]);
    }
}
