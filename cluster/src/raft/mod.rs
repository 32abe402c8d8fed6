//! # The multi-raft store
//!
//! Every node hosts replicas of several shards. One thread, the *store
//! loop* ([`RaftStore`]), owns all of them: it receives proposals and ticks,
//! drives each replica's raft-rs `RawNode`, persists the Raft logs and hard
//! states of all replicas that have something to persist in **one**
//! `raft-engine` write with **one** fsync, applies committed entries to the
//! [`StateMachine`], and answers proposers.
//!
//! The Ready order, implemented once in [`store::RaftStore::on_ready`]:
//! 1. send the Ready's messages (a leader's appends go out before its own
//!    fsync, so followers persist in parallel);
//! 2. apply a received snapshot;
//! 3. apply committed entries (already durable on a quorum);
//! 4. append new entries and the hard state to the log batch;
//! 5. write the batch for *all* shards with one fsync (group commit);
//! 6. send the persisted messages (votes and append responses, which must
//!    not leave before the state they promise is durable);
//! 7. advance, then apply what the light ready committed.
//!
//! Proposals are tracked by the `(index, term)` raft-rs gave them. An entry
//! applied at that index with another term means the proposal was lost to
//! a leader change: the proposer gets [`ProposeError::Dropped`] and may
//! retry; it never gets a success for a write that did not happen.
//!
//! Messages to other nodes leave through a [`Transport`] (the cluster bus),
//! grouped by destination node: one send per node per Ready cycle, however
//! many shards have something for it.
//!
//! Snapshots: when a follower needs entries already compacted away, the
//! loop asks the [`StateMachine`] for the shard's data at its applied index
//! (see `storage.rs`); a follower installs it with
//! [`StateMachine::restore`] before its log is reset to start after it.
//!
//! Anti-entropy (`anti_entropy.rs`): leaders periodically propose a check
//! entry; every replica digests its data at that index and reports the
//! digest through the log; a replica outvoted by a majority is repaired by
//! a snapshot from the leader (after handing leadership over if it leads).
//!
//! Replica moves ([`RaftRouter::change_replicas`]): the leader adds the
//! new nodes as learners, waits until they caught up (a brand-new replica
//! always starts from a snapshot: every shard is bootstrapped at
//! [`INIT_INDEX`], so no node holds the entries before it), promotes them
//! and demotes the nodes leaving in one joint-consensus change, and at
//! last removes the demoted learners. A node creates a replica when a
//! leader first sends it something for a shard it does not host; a
//! replica removed from its group deletes its data and leaves a tombstone
//! in the log, so a restart does not bootstrap it again. A learner (or a
//! replica never initialised) that hears from no leader for
//! [`RaftConfig::stray_replica_ticks`] removes itself: it holds nothing a
//! quorum counts on, and a leader that still wants it recreates it.
//!
//! Reads: [`RaftRouter::lease_read_ok`] says whether the leader may serve
//! a read locally now (its lease, renewed by every quorum of answers);
//! otherwise [`RaftRouter::read_index`] runs raft-rs's ReadIndex (a quorum
//! round of heartbeats) and resolves once apply has caught up.
//!
//! ## CAVEATS
//! - A snapshot is built in memory, whole, on the store thread: fine for
//!   shards of tens of MB, a pause for larger ones.
//! - Raft entries are also kept in raft-rs's `MemStorage` between
//!   compactions, so memory grows with the uncompacted log
//!   (bounded by [`RaftConfig::compact_log_entries`] and, roughly,
//!   [`RaftConfig::compact_log_bytes`]).

mod anti_entropy;
mod log;
mod storage;
mod store;

use std::sync::Arc;

use parking_lot::RwLock;

pub use anti_entropy::{Digest, DigestJob, PartHasher};
pub use store::{RaftRouter, RaftStore, StoreStats};

/// A raft-rs message, as the transport carries it.
pub type RaftMessage = raft::eraftpb::Message;

/// Carries Raft messages to other nodes. Must not block: the store loop
/// calls it between Ready cycles; a message that cannot be sent is dropped
/// (Raft retransmits).
pub trait Transport: Send + Sync + 'static {
    /// Sends messages to node `to`, each tagged with its shard.
    fn send(&self, to: u64, msgs: Vec<(ShardId, raft::eraftpb::Message)>);
}

/// A transport for single-node use: there is nobody to send to.
pub struct NoTransport;

impl Transport for NoTransport {
    fn send(&self, _to: u64, msgs: Vec<(ShardId, raft::eraftpb::Message)>) {
        metrics::counter!("redraft_raft_messages_dropped_total", "reason" => "no_transport")
            .increment(msgs.len() as u64);
    }
}

/// Every shard starts from an empty snapshot at this index (and term), so
/// no replica holds entries before it and a replica added later always
/// catches up from a snapshot, which carries the group's configuration.
pub const INIT_INDEX: u64 = 5;

/// How a shard starts the first time this node hosts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardBootstrap {
    pub shard: ShardId,
    /// Raft ids of its initial voters (this node alone if empty).
    pub voters: Vec<u64>,
    /// The node that should lead it when healthy (leaders are spread).
    pub preferred_leader: Option<u64>,
}

/// A shard (one Raft group) id. Shard 0 is reserved for cluster metadata.
pub type ShardId = u64;

/// The state machine a shard's committed entries are applied to.
pub trait StateMachine: Send + 'static {
    /// What a proposer gets back once its entry is applied.
    type Response: Send + 'static;

    /// The last index applied to `shard`, as durably stored with the data.
    /// 0 for a shard never applied to.
    fn applied_index(&self, shard: ShardId) -> u64;

    /// Applies committed entries of `shard`, in order, and records the
    /// index of the last one in the same atomic write as their effects.
    ///
    /// `entries` are `(index, data)`; `data` is empty for Raft's own no-op
    /// entries, which change nothing but the applied index. Returns one
    /// response per entry. Must be deterministic: every replica applying
    /// the same entries to the same state reaches the same state. An I/O
    /// failure here is not deterministic and must panic (the node crashes
    /// and replays from its applied index) rather than diverge.
    fn apply(&mut self, shard: ShardId, entries: &[(u64, &[u8])]) -> Vec<Self::Response>;

    /// Makes everything applied so far durable, so the Raft log before the
    /// applied index may be discarded.
    fn sync(&mut self) -> std::io::Result<()>;

    /// The shard's whole state at its applied index: `(applied index,
    /// bytes)`, for a follower that fell behind the compacted log.
    fn snapshot(&self, shard: ShardId) -> std::io::Result<(u64, Vec<u8>)>;

    /// Replaces the shard's state with a snapshot's `data` (empty `data`:
    /// an empty state, as when a shard is bootstrapped), sets the
    /// applied index to `index` and keeps `meta` (the encoded Raft
    /// snapshot metadata), all in one durable atomic write.
    fn restore(
        &mut self,
        shard: ShardId,
        index: u64,
        meta: &[u8],
        data: &[u8],
    ) -> std::io::Result<()>;

    /// The `meta` of the last snapshot restored into `shard`, if any.
    fn snapshot_metadata(&self, shard: ShardId) -> Option<Vec<u8>>;

    /// Deletes the shard's state (its data, applied index and snapshot
    /// metadata), durably: this replica was removed from its group. Must
    /// be idempotent (it is repeated after a crash in the middle).
    fn destroy(&mut self, shard: ShardId) -> std::io::Result<()>;

    /// A job computing the digest of the shard's state **as it is now**
    /// (at its applied index), for anti-entropy checks. Called on the store
    /// thread right after a check entry is applied; the job runs on another
    /// thread while apply goes on, so it must read a point-in-time view
    /// taken here. Replicas with equal data must give equal digests, and
    /// the digest must cover what [`StateMachine::snapshot`] carries (a
    /// divergent replica is repaired by a snapshot). `None`: no digests,
    /// this replica never reports (the default).
    fn digest(&self, shard: ShardId) -> Option<DigestJob> {
        let _ = shard;
        None
    }

    /// Applies a split entry of `parent` at `index` (proposed by
    /// [`RaftRouter::split`]): when `voters` is given (the parent's
    /// configuration at `index` is plain: voters only, not joint) and
    /// `spec` is valid for the parent's state, hands part of the parent's
    /// state to a new shard `child` in place, in **one** durable atomic
    /// write with the parent's applied index `index`: the child starts at
    /// [`INIT_INDEX`] with `voters`, and is remembered as pending (see
    /// [`StateMachine::split_children`]) until the store has created its
    /// log. Returns whether it split; otherwise only the applied index
    /// moves. Must be deterministic, like [`StateMachine::apply`].
    /// The default never splits.
    fn split(
        &mut self,
        parent: ShardId,
        index: u64,
        child: ShardId,
        spec: &[u8],
        voters: Option<&[u64]>,
    ) -> std::io::Result<bool> {
        let _ = (child, spec, voters);
        self.apply(parent, &[(index, &[])]);
        Ok(false)
    }

    /// Children created by [`StateMachine::split`] whose log the store may
    /// not have created yet (a crash in between), with their voters.
    fn split_children(&self) -> Vec<(ShardId, Vec<u64>)> {
        Vec::new()
    }

    /// The store created `child`'s log: forget it as pending.
    fn split_done(&mut self, child: ShardId) -> std::io::Result<()> {
        let _ = child;
        Ok(())
    }

    /// Whether a replica of `shard` may be created here for a leader's
    /// message. A shard split off a local replica that has not applied
    /// the split yet must not be: its keys are still the parent's here.
    /// The default allows every shard.
    fn may_host(&self, shard: ShardId) -> bool {
        let _ = shard;
        true
    }
}

/// Why a proposal was not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// This node does not lead the shard; `leader` is the Raft id of the
    /// leader if known.
    #[error("not the leader of shard {shard}")]
    NotLeader { shard: ShardId, leader: Option<u64> },
    /// The entry was superseded by a leader change; it was not applied.
    #[error("proposal dropped by a leader change")]
    Dropped,
    /// The entry may or may not have been applied: this replica caught up
    /// through a snapshot covering its index, which does not say whose
    /// entry sits there. Retrying may apply the command twice.
    /// Also the answer to every write in flight on a leader that steps
    /// down (cut off from its quorum, or replaced).
    #[error("proposal outcome unknown")]
    Unknown,
    /// This leader is handing leadership of `shard` to node `to`, which
    /// has not taken it yet; nothing was proposed. Retry shortly.
    #[error("leadership of shard {shard} is moving to node {to}")]
    Transferring { shard: ShardId, to: u64 },
    /// No such shard on this node.
    #[error("shard {0} is not hosted here")]
    UnknownShard(ShardId),
    /// The store is shutting down or its thread has died.
    #[error("raft store stopped")]
    Stopped,
    /// A replica change made no progress in time (a new replica that does
    /// not catch up, a conf change that does not commit); what was done
    /// stays done and asking again goes on from there.
    #[error("replica change stalled: {0}")]
    ChangeStalled(String),
}

impl ProposeError {
    /// Whether retrying the same proposal later can succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ProposeError::UnknownShard(_) | ProposeError::Unknown)
    }
}

/// The role a replica plays in its group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShardRole {
    Leader,
    #[default]
    Follower,
    Candidate,
}

/// What the rest of the node may read about a local replica, without
/// asking the store loop. Updated by the loop after every Ready.
#[derive(Clone, Debug, Default)]
pub struct ShardInfo {
    pub shard: ShardId,
    pub role: ShardRole,
    pub term: u64,
    pub leader: Option<u64>,
    pub commit_index: u64,
    pub applied_index: u64,
    pub first_log_index: u64,
    pub last_log_index: u64,
    /// Raft ids of the group's voters, sorted (empty for a replica not
    /// initialised yet: created for a leader's message, waiting for its
    /// snapshot).
    pub voters: Vec<u64>,
    /// Raft ids of the group's learners (non-voting replicas), sorted.
    pub learners: Vec<u64>,
    /// The log index of the configuration `voters` and `learners` come
    /// from (a conf change entry, or the snapshot that carried it).
    pub conf_index: u64,
    /// Until when this leader may serve reads without a quorum round.
    pub lease_until: Option<std::time::Instant>,
}

/// Shared, read-mostly view of a replica's state.
pub type SharedShardInfo = Arc<RwLock<ShardInfo>>;

/// Tunables of the store loop.
#[derive(Clone, Debug)]
pub struct RaftConfig {
    /// This node's Raft id (non-zero).
    pub node_id: u64,
    /// Milliseconds per Raft tick.
    pub tick_ms: u64,
    /// Election timeout, in ticks.
    pub election_ticks: usize,
    /// Heartbeat interval, in ticks.
    pub heartbeat_ticks: usize,
    /// Compact a shard's log once this many applied entries precede it.
    pub compact_log_entries: u64,
    /// Or once the entries appended since the last compaction hold this
    /// many bytes: the uncompacted log is also kept in memory, so large
    /// batched writes must not pile up `compact_log_entries` of them.
    pub compact_log_bytes: u64,
    /// Most proposals taken from the queue per Ready cycle.
    pub max_batch: usize,
    /// fsync the Raft log on every Ready cycle. Turning this off loses
    /// acknowledged writes on power loss; tests of the checker use it.
    pub sync_log: bool,
    /// How often a leader starts an anti-entropy check of its shard
    /// (`anti_entropy.rs`); `None` turns checks off.
    pub anti_entropy_interval: Option<std::time::Duration>,
    /// A learner, or a replica not initialised yet, that hears from no
    /// leader for this many ticks deletes itself (it was removed, or
    /// created by a stray message).
    pub stray_replica_ticks: u64,
    /// How long a replica change may go on before it gives up
    /// ([`ProposeError::ChangeStalled`]).
    pub change_timeout: std::time::Duration,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            node_id: 1,
            tick_ms: 100,
            election_ticks: 10,
            heartbeat_ticks: 2,
            compact_log_entries: 20_000,
            compact_log_bytes: 16 << 20,
            max_batch: 4096,
            sync_log: true,
            anti_entropy_interval: None,
            stray_replica_ticks: 600,
            change_timeout: std::time::Duration::from_secs(60),
        }
    }
}
