//! The data shards' state machine: applies committed proposals to the
//! engine.
//!
//! All entries handed over in one call are applied into one [`Overlay`]
//! and written as **one** engine batch together with the shard's new
//! applied index (system key `applied/<shard>`), so data and applied index
//! never disagree after a crash. Command replies are computed here, on
//! every replica, and returned to the proposer by the Raft store.

use std::sync::Arc;

use parking_lot::RwLock;
use rand::rngs::StdRng;
use rand::SeedableRng;
use redraft_cluster::{ShardId, StateMachine};
use redraft_resp::Reply;

use crate::cmd::{self, ApplyCtx};
use crate::engine::Engine;
use crate::keyspace::{system_key, KvRead, Overlay};
use crate::node::SlotMap;
use crate::proposal::Proposal;

/// The state machine of every data shard on this node.
pub struct KvStateMachine {
    engine: Arc<dyn Engine>,
    slots: Arc<RwLock<SlotMap>>,
}

impl KvStateMachine {
    pub fn new(engine: Arc<dyn Engine>, slots: Arc<RwLock<SlotMap>>) -> KvStateMachine {
        KvStateMachine { engine, slots }
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
        for &(index, data) in entries {
            if data.is_empty() {
                replies.push(Reply::Null);
                continue;
            }
            let reply = match Proposal::decode(data) {
                Some(p) => apply_proposal(&mut ov, &self.slots, shard, index, p),
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
        if let Err(e) = self.engine.write(ov.into_batch()) {
            panic!("engine write failed while applying shard {shard}: {e}");
        }
        replies
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.engine.sync()
    }
}

fn apply_proposal(
    ov: &mut Overlay<'_>,
    slots: &RwLock<SlotMap>,
    shard: ShardId,
    index: u64,
    p: Proposal,
) -> Reply {
    let mut rng = StdRng::seed_from_u64(p.seed);
    // Shared by the commands of one entry (a transaction), so versions stay
    // unique across them.
    let mut versions = 0;
    let mut replies: Vec<Reply> = Vec::with_capacity(p.commands.len());
    let single = p.commands.len() == 1;
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
        replies.push(cmd::apply_write(&mut ctx, &args));
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
