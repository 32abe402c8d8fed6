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
use crate::node::SlotMap;
use crate::proposal::Proposal;
use redraft_cluster::meta::META_SHARD;

/// The state machine of every data shard on this node.
pub struct KvStateMachine {
    engine: Arc<dyn Engine>,
    slots: Arc<RwLock<SlotMap>>,
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
            blocking,
        }
    }
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
                Some(p) => apply_proposal(&mut ov, &self.slots, shard, index, p, &mut touched),
                None => {
                    metrics::counter!("redraft_apply_rejected_total", "reason" => "undecodable")
                        .increment(1);
                    Reply::error("ERR corrupt proposal")
                }
            };
            replies.push(reply);
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
        let mut out = Vec::new();
        for range in self.slots.read().ranges_of(shard) {
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
        let ranges = self.slots.read().ranges_of(shard);
        let mut batch = WriteBatch::new();
        for range in &ranges {
            for pair in self.engine.scan(slots_key_range(*range)) {
                batch.delete(pair?.0);
            }
        }
        let mut rest = data;
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
        batch.put(applied_key(shard), index.to_be_bytes().to_vec());
        batch.put(snapshot_meta_key(shard), meta.to_vec());
        self.engine.write(batch)?;
        self.engine.sync()
    }

    fn snapshot_metadata(&self, shard: ShardId) -> Option<Vec<u8>> {
        self.engine.get(&snapshot_meta_key(shard)).ok().flatten()
    }

    fn destroy(&mut self, shard: ShardId) -> io::Result<()> {
        if shard == META_SHARD {
            return self.meta.destroy(snapshot_meta_key(shard));
        }
        let ranges = self.slots.read().ranges_of(shard);
        let mut batch = WriteBatch::new();
        for range in &ranges {
            for pair in self.engine.scan(slots_key_range(*range)) {
                batch.delete(pair?.0);
            }
        }
        batch.delete(applied_key(shard));
        batch.delete(snapshot_meta_key(shard));
        self.engine.write(batch)?;
        self.engine.sync()
    }

    fn digest(&self, shard: ShardId) -> Option<DigestJob> {
        if shard == META_SHARD {
            return None;
        }
        // The point-in-time iterators are opened here, on the store thread
        // between applies (so at the check's index); reading them is the
        // job, on the anti-entropy thread.
        let iters: io::Result<Vec<_>> = self
            .slots
            .read()
            .ranges_of(shard)
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
    slots: &RwLock<SlotMap>,
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
            slots,
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
}
