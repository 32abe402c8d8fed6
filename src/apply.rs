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
use redraft_cluster::{ShardId, StateMachine};
use redraft_resp::Reply;

use crate::blocking::Blocking;
use crate::cmd::{self, ApplyCtx};
use crate::engine::{Engine, WriteBatch};
use crate::keyspace::{slots_key_range, system_key, KvRead, Overlay};
use crate::node::SlotMap;
use crate::proposal::Proposal;

/// The state machine of every data shard on this node.
pub struct KvStateMachine {
    engine: Arc<dyn Engine>,
    slots: Arc<RwLock<SlotMap>>,
    blocking: Arc<Blocking>,
}

impl KvStateMachine {
    pub fn new(
        engine: Arc<dyn Engine>,
        slots: Arc<RwLock<SlotMap>>,
        blocking: Arc<Blocking>,
    ) -> KvStateMachine {
        KvStateMachine {
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
