//! The store loop: one thread driving every local replica.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use protobuf::Message as _;
use raft::eraftpb::{
    Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
};
use raft::storage::MemStorage;
use raft::{RawNode, ReadOnlyOption, SnapshotStatus, StateRole, Storage};
use raft_engine::LogBatch;
use tokio::sync::oneshot;

use super::anti_entropy::{
    DigestDone, DigestWorker, PeerAntiEntropy, Repair, Report, Verdict, CHECK_CONTEXT,
    REPORT_CONTEXT,
};
use super::log::RaftLog;
use super::storage::PeerStorage;
use super::{
    ProposeError, RaftConfig, ShardBootstrap, ShardId, ShardInfo, ShardRole, SharedShardInfo,
    StateMachine, Transport, INIT_INDEX,
};

type Callback<R> = oneshot::Sender<Result<R, ProposeError>>;
type ReadCallback = oneshot::Sender<Result<(), ProposeError>>;

enum Msg<R> {
    Propose {
        shard: ShardId,
        data: Vec<u8>,
        cb: Callback<R>,
    },
    /// Raft messages from another node.
    Raft {
        msgs: Vec<(ShardId, Message)>,
    },
    Unreachable(u64),
    SnapshotStatus {
        shard: ShardId,
        node: u64,
        ok: bool,
    },
    /// A linearizable read point: resolved once this node, still leader
    /// after a quorum round, has applied everything committed before it.
    ReadIndex {
        shard: ShardId,
        cb: ReadCallback,
    },
    TransferLeader {
        shard: ShardId,
        to: u64,
    },
    SetPreferredLeader {
        shard: ShardId,
        node: Option<u64>,
    },
    /// See [`RaftRouter::split`].
    Split {
        shard: ShardId,
        child: ShardId,
        spec: Vec<u8>,
    },
    /// See [`RaftRouter::remove_stale_replica`].
    RemoveStale {
        shard: ShardId,
        conf_index: u64,
    },
    /// Make `voters` the shard's voters (see [`RaftRouter::change_replicas`]).
    ChangeReplicas {
        shard: ShardId,
        voters: Vec<u64>,
        cb: ReadCallback,
    },
    Stop,
}

/// Store-wide counters, readable without asking the loop.
#[derive(Default, Debug)]
pub struct StoreStats {
    pub snapshots_sent: AtomicU64,
    pub snapshots_received: AtomicU64,
    pub snapshots_generated: AtomicU64,
    /// Anti-entropy digests this node computed (one per local replica per
    /// check it applied).
    pub anti_entropy_checks: AtomicU64,
    /// Replicas (of any node) found divergent by the checks this node
    /// applied: every replica of a shard counts the same verdicts.
    pub anti_entropy_divergent: AtomicU64,
    /// Of those, replicas on this node.
    pub anti_entropy_local_divergent: AtomicU64,
    /// Divergent local replicas repaired by installing a snapshot.
    pub anti_entropy_repairs: AtomicU64,
    /// Checks where every voter reported and no strict majority agreed.
    pub anti_entropy_unresolved: AtomicU64,
}

/// The published state of every local replica; replicas come and go.
type Infos = Arc<RwLock<HashMap<ShardId, SharedShardInfo>>>;

/// A clonable handle to the store loop: propose, read shard state, and
/// feed it what the cluster bus receives.
pub struct RaftRouter<R> {
    tx: Sender<Msg<R>>,
    infos: Infos,
    stats: Arc<StoreStats>,
    election_timeout: Duration,
}

impl<R> Clone for RaftRouter<R> {
    fn clone(&self) -> Self {
        RaftRouter {
            tx: self.tx.clone(),
            infos: self.infos.clone(),
            stats: self.stats.clone(),
            election_timeout: self.election_timeout,
        }
    }
}

impl<R: Send + 'static> RaftRouter<R> {
    /// Proposes `data` to `shard`; the receiver resolves once the entry is
    /// applied (with the state machine's response) or known lost.
    pub fn propose(
        &self,
        shard: ShardId,
        data: Vec<u8>,
    ) -> oneshot::Receiver<Result<R, ProposeError>> {
        let (cb, rx) = oneshot::channel();
        if let Err(e) = self.tx.send(Msg::Propose { shard, data, cb }) {
            if let Msg::Propose { cb, .. } = e.into_inner() {
                let _ = cb.send(Err(ProposeError::Stopped));
            }
        }
        rx
    }

    /// Proposes and waits for the outcome.
    pub async fn propose_wait(&self, shard: ShardId, data: Vec<u8>) -> Result<R, ProposeError> {
        self.propose(shard, data)
            .await
            .unwrap_or(Err(ProposeError::Stopped))
    }

    /// Asks for a linearizable read point on `shard` (Raft ReadIndex): the
    /// receiver resolves with `Ok` once reading the local state is as good
    /// as reading at the moment of the call.
    pub fn read_index(&self, shard: ShardId) -> oneshot::Receiver<Result<(), ProposeError>> {
        let (cb, rx) = oneshot::channel();
        if let Err(e) = self.tx.send(Msg::ReadIndex { shard, cb }) {
            if let Msg::ReadIndex { cb, .. } = e.into_inner() {
                let _ = cb.send(Err(ProposeError::Stopped));
            }
        }
        rx
    }

    /// Whether a read of `shard` may be served from local state now
    /// without a quorum round: this node leads it, has committed an entry
    /// of its term, applied everything committed, and holds a lease (a
    /// quorum answered it recently enough that no other leader can exist).
    pub fn lease_read_ok(&self, shard: ShardId) -> bool {
        self.infos.read().get(&shard).is_some_and(|i| {
            let i = i.read();
            i.role == ShardRole::Leader
                && i.lease_until.is_some_and(|t| Instant::now() < t)
                && i.applied_index >= i.commit_index
        })
    }

    /// Delivers Raft messages received from another node.
    pub fn deliver(&self, msgs: Vec<(ShardId, Message)>) {
        let _ = self.tx.send(Msg::Raft { msgs });
    }

    /// The transport could not reach `node`.
    pub fn report_unreachable(&self, node: u64) {
        let _ = self.tx.send(Msg::Unreachable(node));
    }

    /// A snapshot of `shard` to `node` was delivered or failed.
    pub fn report_snapshot(&self, shard: ShardId, node: u64, ok: bool) {
        let _ = self.tx.send(Msg::SnapshotStatus { shard, node, ok });
    }

    /// Asks the local leader of `shard` to hand leadership to `to`; on a
    /// follower, `to` being this node asks the leader to hand it over here.
    pub fn transfer_leader(&self, shard: ShardId, to: u64) {
        let _ = self.tx.send(Msg::TransferLeader { shard, to });
    }

    /// Makes `voters` the voters of `shard`, one safe step at a time (see
    /// the module documentation): new nodes join as learners, are promoted
    /// once caught up while the nodes leaving are demoted (joint
    /// consensus), and the demoted learners are removed last. Sent to the
    /// shard's leader; elsewhere it fails with `NotLeader` (naming the
    /// leader if known). A leader that is itself leaving hands leadership
    /// to a staying voter first and answers `NotLeader` naming it: ask
    /// there. Resolves once the group's voters are exactly `voters`.
    pub fn change_replicas(
        &self,
        shard: ShardId,
        voters: Vec<u64>,
    ) -> oneshot::Receiver<Result<(), ProposeError>> {
        let (cb, rx) = oneshot::channel();
        if let Err(e) = self.tx.send(Msg::ChangeReplicas { shard, voters, cb }) {
            if let Msg::ChangeReplicas { cb, .. } = e.into_inner() {
                let _ = cb.send(Err(ProposeError::Stopped));
            }
        }
        rx
    }

    /// Sets the node that should lead `shard` when it is healthy (the
    /// local leader hands leadership to it; see the balance check).
    pub fn set_preferred_leader(&self, shard: ShardId, node: Option<u64>) {
        let _ = self.tx.send(Msg::SetPreferredLeader { shard, node });
    }

    /// Removes the local replica of `shard` if its configuration is older
    /// than `conf_index`: the caller learned (by gossip) that the group's
    /// configuration at that index, committed, does not name this node. A
    /// replica moved out of its group while its node was down never
    /// applies its removal (no leader sends to it any more), and would
    /// otherwise go on counting itself a voter. A leader, or a replica
    /// that already applied a configuration at or after `conf_index`, is
    /// kept. Should the node have been added back meanwhile, the leader's
    /// next message recreates the replica, as for any new one.
    pub fn remove_stale_replica(&self, shard: ShardId, conf_index: u64) {
        let _ = self.tx.send(Msg::RemoveStale { shard, conf_index });
    }

    /// Proposes splitting `shard` into itself and a new shard `child` on
    /// the same replicas, as `spec` (opaque here) says; see
    /// [`StateMachine::split`]. Only a leader whose configuration is plain
    /// (voters only) proposes it; elsewhere nothing happens. Fire and
    /// forget: the caller watches the state and asks again (applying a
    /// split twice splits once).
    pub fn split(&self, shard: ShardId, child: ShardId, spec: Vec<u8>) {
        let _ = self.tx.send(Msg::Split { shard, child, spec });
    }

    /// The last published state of a local replica (one not initialised
    /// yet included: it has no voters).
    pub fn shard_info(&self, shard: ShardId) -> Option<ShardInfo> {
        self.infos.read().get(&shard).map(|i| i.read().clone())
    }

    /// Whether this node hosts an initialised replica of `shard`.
    pub fn hosts(&self, shard: ShardId) -> bool {
        self.infos
            .read()
            .get(&shard)
            .is_some_and(|i| !i.read().voters.is_empty())
    }

    /// Whether this node currently leads `shard`.
    pub fn is_leader(&self, shard: ShardId) -> bool {
        self.infos
            .read()
            .get(&shard)
            .is_some_and(|i| i.read().role == ShardRole::Leader)
    }

    /// The published state of every initialised local replica, by shard id.
    pub fn shards(&self) -> Vec<ShardInfo> {
        let mut v: Vec<ShardInfo> = self
            .infos
            .read()
            .values()
            .map(|i| i.read().clone())
            .filter(|i| !i.voters.is_empty())
            .collect();
        v.sort_by_key(|i| i.shard);
        v
    }

    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// The configured (minimum) election timeout.
    pub fn election_timeout(&self) -> Duration {
        self.election_timeout
    }

    /// Asks the loop to stop; pending proposals fail with `Stopped`.
    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

struct Pending<R> {
    index: u64,
    term: u64,
    cb: Callback<R>,
}

struct PendingRead {
    deadline: Instant,
    cb: ReadCallback,
}

/// One local replica of a shard.
struct Peer<R> {
    shard: ShardId,
    node: RawNode<PeerStorage>,
    pending: VecDeque<Pending<R>>,
    /// ReadIndex requests sent to raft-rs, by context.
    reads_asked: HashMap<u64, PendingRead>,
    /// Reads that arrived before this leader committed an entry of its
    /// term (raft-rs would drop them); asked once it has.
    reads_deferred: Vec<(u64, PendingRead)>,
    /// Read points confirmed by a quorum, waiting for apply to reach them.
    reads_confirmed: Vec<(u64, PendingRead)>,
    info: SharedShardInfo,
    /// The hard state changed (commit advanced) without being written.
    hard_state_dirty: bool,
    /// When each other voter last answered this replica as leader (as
    /// received: used to judge a transfer target's health, not for leases).
    acks: HashMap<u64, Instant>,
    /// Lease rounds in flight: a ReadIndex context and when it was sent.
    lease_rounds: VecDeque<(u64, Instant)>,
    /// When the newest lease round that a quorum confirmed was sent, and
    /// in which term. The lease runs from the send time, never from when
    /// the answers were read: a leader that was paused (SIGSTOP, a long GC
    /// of its host) reads old answers after it wakes up.
    lease_start: Option<(u64, Instant)>,
    /// The node that should lead this shard when it is healthy.
    preferred_leader: Option<u64>,
    /// Bytes of entries appended since the last compaction (approximate:
    /// what follows the applied index at compaction is forgotten too).
    log_bytes: u64,
    /// Anti-entropy checks, verdicts and a pending repair.
    ae: PeerAntiEntropy,
    /// A replica change this leader drives (see `drive_change`).
    change: Option<Change>,
    /// The last tick at which a leader of this shard was heard from.
    heard_leader_tick: u64,
    /// A conf change removed this replica: it is destroyed after the
    /// Ready cycle that applied it.
    removed: bool,
    /// The log index of the configuration in force.
    conf_index: u64,
}

/// A replica change in progress on a leader.
struct Change {
    voters: std::collections::BTreeSet<u64>,
    deadline: Instant,
    cb: ReadCallback,
}

/// The store loop's state. Created and run by [`RaftStore::start`].
pub struct RaftStore<SM: StateMachine> {
    cfg: RaftConfig,
    log: RaftLog,
    sm: SM,
    peers: Vec<Peer<SM::Response>>,
    rx: Receiver<Msg<SM::Response>>,
    transport: Arc<dyn Transport>,
    /// Messages of this Ready cycle, by destination node (one send each).
    outbox: HashMap<u64, Vec<(ShardId, Message)>>,
    stats: Arc<StoreStats>,
    /// Published replica states, shared with every router.
    infos: Infos,
    /// Shards whose replica here was removed, with the index it had
    /// applied: only a leader's snapshot newer than that recreates one
    /// (a message sent to the removed replica must not: the leader may
    /// still count entries that replica had, which a new one lacks).
    tombstones: HashMap<ShardId, u64>,
    ticks: u64,
    next_read_ctx: u64,
    /// Computes anti-entropy digests off this thread.
    digests: DigestWorker,
}

fn role_of(r: StateRole) -> ShardRole {
    match r {
        StateRole::Leader => ShardRole::Leader,
        StateRole::Candidate | StateRole::PreCandidate => ShardRole::Candidate,
        StateRole::Follower => ShardRole::Follower,
    }
}

fn fatal(what: &str, e: impl std::fmt::Display) -> ! {
    // A Raft log write that fails leaves this replica unable to promise
    // anything: stop the process rather than acknowledge or diverge.
    tracing::error!("fatal raft store error: {what}: {e}");
    eprintln!("fatal raft store error: {what}: {e}");
    std::process::abort()
}

/// The `context` of a split entry; its data is the child's id (u64 BE)
/// then the state machine's spec.
const SPLIT_CONTEXT: &[u8] = b"redraft-split";

/// How many ticks between checks that leaders sit on their preferred node.
const BALANCE_EVERY_TICKS: u64 = 10;

impl<SM: StateMachine> RaftStore<SM> {
    /// Opens the Raft log under `dir`, creates or recovers a replica for
    /// each of `shards` (a new shard starts with the given voters) and
    /// starts the loop on its own thread.
    pub fn start(
        cfg: RaftConfig,
        dir: &Path,
        shards: &[ShardBootstrap],
        sm: SM,
        transport: Arc<dyn Transport>,
    ) -> io::Result<(RaftRouter<SM::Response>, JoinHandle<()>)> {
        let log = RaftLog::open(dir)?;
        let logger = raft_logger();
        let mut sm = sm;
        // Children split off before a crash that came before their log.
        for (child, voters) in sm.split_children() {
            if log.load(child)?.conf_state.is_none() {
                init_child_log(&log, child, &voters)?;
            }
            sm.split_done(child)?;
        }
        let mut peers = Vec::new();
        let mut infos = HashMap::new();
        let mut fresh = Vec::new();
        let mut tombstones = HashMap::new();
        // The shards this node bootstraps, then those it was given later
        // (replicas created for a leader's messages), as found on disk.
        let mut opening: Vec<ShardBootstrap> = shards
            .iter()
            .filter(|b| b.voters.is_empty() || b.voters.contains(&cfg.node_id))
            .cloned()
            .collect();
        for shard in log.shards() {
            if !opening.iter().any(|b| b.shard == shard) {
                opening.push(ShardBootstrap {
                    shard,
                    voters: Vec::new(),
                    preferred_leader: None,
                });
            }
        }
        opening.sort_by_key(|b| b.shard);
        for boot in &opening {
            let persisted = log.load(boot.shard)?;
            if let Some(index) = persisted.tombstone {
                tombstones.insert(boot.shard, index);
                // Removed from its group: never bootstrapped again. Finish
                // deleting its data if a crash interrupted that.
                if sm.applied_index(boot.shard) > 0 {
                    sm.destroy(boot.shard)?;
                }
                continue;
            }
            let bootstrap = shards.contains(boot);
            if persisted.conf_state.is_none() && !bootstrap {
                // Created for a leader's message, never initialised:
                // nothing to keep; the leader recreates it if it must.
                continue;
            }
            let (peer, is_new) =
                Self::open_peer(&cfg, &log, &mut sm, boot.shard, Some(boot), &logger)?;
            infos.insert(boot.shard, peer.info.clone());
            fresh.push(is_new);
            peers.push(peer);
        }
        let infos: Infos = Arc::new(RwLock::new(infos));
        let (tx, rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(StoreStats::default());
        let election_timeout = Duration::from_millis(cfg.tick_ms * cfg.election_ticks as u64);
        let digests = DigestWorker::start()?;
        let mut store = RaftStore {
            cfg,
            log,
            sm,
            peers,
            rx,
            transport,
            outbox: HashMap::new(),
            stats: stats.clone(),
            infos: infos.clone(),
            tombstones,
            ticks: 0,
            next_read_ctx: 1,
            digests,
        };
        // A single voter need not wait an election timeout, nor the
        // preferred leader of a brand-new group (it spreads the first
        // leaders evenly over the nodes).
        let me = store.cfg.node_id;
        for (peer, is_new) in store.peers.iter_mut().zip(fresh) {
            let voters = peer.node.raft.prs().conf().voters().ids().len();
            if voters == 1 || (is_new && peer.preferred_leader == Some(me)) {
                let _ = peer.node.campaign();
            }
            let applied = peer.node.raft.raft_log.applied;
            publish(peer, applied, Duration::ZERO);
        }
        let handle = std::thread::Builder::new()
            .name("raft-store".into())
            .spawn(move || {
                // A panic here (a failed engine write while applying, a
                // bug) must take the process down: a node whose store
                // thread is gone would go on answering reads from a state
                // that no longer advances.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.run())).is_err() {
                    fatal(
                        "the raft store thread panicked",
                        "see the panic message above",
                    );
                }
            })?;
        Ok((
            RaftRouter {
                tx,
                infos,
                stats,
                election_timeout,
            },
            handle,
        ))
    }

    /// Opens one replica; returns it and whether it was created just now.
    /// A shard with nothing persisted is bootstrapped from `boot` (an
    /// empty snapshot at [`INIT_INDEX`] holding its first voters), or
    /// without `boot` left uninitialised (no voters) until a leader's
    /// snapshot arrives.
    fn open_peer(
        cfg: &RaftConfig,
        log: &RaftLog,
        sm: &mut SM,
        shard: ShardId,
        boot: Option<&ShardBootstrap>,
        logger: &slog::Logger,
    ) -> io::Result<(Peer<SM::Response>, bool)> {
        let mut persisted = log.load(shard)?;
        let mut is_new = false;
        if let (None, Some(boot)) = (&persisted.conf_state, boot) {
            // A new shard: the data first (an empty state at INIT_INDEX),
            // then the log, so a crash in between bootstraps it again.
            is_new = true;
            let mut meta = SnapshotMetadata {
                index: INIT_INDEX,
                term: INIT_INDEX,
                ..Default::default()
            };
            meta.mut_conf_state().voters = if boot.voters.is_empty() {
                vec![cfg.node_id]
            } else {
                boot.voters.clone()
            };
            let meta_bytes = meta.write_to_bytes().map_err(io::Error::other)?;
            sm.restore(shard, INIT_INDEX, &meta_bytes, &[])?;
            let hs = HardState {
                term: INIT_INDEX,
                commit: INIT_INDEX,
                ..Default::default()
            };
            log.reset_to_snapshot(shard, &meta, &hs)?;
            persisted = log.load(shard)?;
        }
        let applied = sm.applied_index(shard);
        let log_last = persisted
            .entries
            .last()
            .map_or(persisted.compacted.0, |e| e.index);
        if applied > log_last && persisted.conf_state.is_some() {
            // A snapshot was applied to the data but the node stopped
            // before the log recorded it: rebuild the log from the
            // snapshot's metadata, which the state machine kept.
            let meta = sm
                .snapshot_metadata(shard)
                .and_then(|b| SnapshotMetadata::parse_from_bytes(&b).ok())
                .filter(|m| m.index == applied)
                .unwrap_or_else(|| {
                    fatal(
                        "recover snapshot",
                        format!("shard {shard}: applied {applied} beyond the log ({log_last}) and no snapshot metadata"),
                    )
                });
            let mut hs = persisted.hard_state.clone();
            hs.term = hs.term.max(meta.term);
            hs.commit = hs.commit.max(meta.index);
            log.reset_to_snapshot(shard, &meta, &hs)?;
            persisted = log.load(shard)?;
        }
        // Without a conf state: a replica created for a leader's message,
        // with no voters (it cannot campaign) until its snapshot arrives.
        let conf_state = persisted.conf_state.unwrap_or_default();
        let storage = MemStorage::new();
        {
            let mut core = storage.wl();
            let (index, term) = persisted.compacted;
            let mut snap = Snapshot::default();
            snap.mut_metadata().index = index;
            snap.mut_metadata().term = term;
            snap.mut_metadata().set_conf_state(conf_state.clone());
            if index > 0 {
                core.apply_snapshot(snap).map_err(io::Error::other)?;
            } else {
                core.set_conf_state(conf_state);
            }
            core.append(&persisted.entries).map_err(io::Error::other)?;
            let mut hs = persisted.hard_state;
            let last = persisted.entries.last().map_or(index, |e| e.index);
            // Applied entries were committed, even if the commit index
            // written with the hard state lags behind.
            hs.commit = hs.commit.max(applied).min(last.max(index));
            core.set_hardstate(hs);
        }
        let raft_cfg = raft::Config {
            id: cfg.node_id,
            election_tick: cfg.election_ticks,
            heartbeat_tick: cfg.heartbeat_ticks,
            applied,
            check_quorum: true,
            pre_vote: true,
            read_only_option: ReadOnlyOption::Safe,
            max_size_per_msg: 1024 * 1024,
            max_inflight_msgs: 256,
            max_committed_size_per_ready: 16 * 1024 * 1024,
            ..Default::default()
        };
        let node =
            RawNode::new(&raft_cfg, PeerStorage::new(storage), logger).map_err(io::Error::other)?;
        let info = Arc::new(RwLock::new(ShardInfo {
            shard,
            ..Default::default()
        }));
        let mut peer = Peer {
            shard,
            node,
            pending: VecDeque::new(),
            reads_asked: HashMap::new(),
            reads_deferred: Vec::new(),
            reads_confirmed: Vec::new(),
            info,
            hard_state_dirty: false,
            acks: HashMap::new(),
            lease_rounds: VecDeque::new(),
            lease_start: None,
            preferred_leader: boot.and_then(|b| b.preferred_leader),
            log_bytes: 0,
            ae: PeerAntiEntropy::default(),
            change: None,
            heard_leader_tick: 0,
            removed: false,
            conf_index: persisted.conf_index.max(persisted.compacted.0),
        };
        let lease = Duration::ZERO;
        publish(&mut peer, applied, lease);
        Ok((peer, is_new))
    }

    fn run(mut self) {
        let tick = Duration::from_millis(self.cfg.tick_ms.max(1));
        let mut next_tick = Instant::now() + tick;
        // A new single voter is already leader: commit its first entry now
        // rather than after the first tick.
        self.on_ready();
        let rx = self.rx.clone();
        let mut done_rx = self.digests.done.clone();
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            let mut stop = false;
            crossbeam_channel::select! {
                recv(rx) -> msg => match msg {
                    Ok(msg) => stop |= self.on_msg(msg),
                    Err(_) => stop = true,
                },
                recv(done_rx) -> done => match done {
                    Ok(done) => self.on_digest_done(done),
                    // The digest thread is gone: stop listening to it.
                    Err(_) => done_rx = crossbeam_channel::never(),
                },
                default(timeout) => {}
            }
            // Take everything already queued: this is the group commit.
            let mut taken = 1;
            while taken < self.cfg.max_batch {
                match self.rx.try_recv() {
                    Ok(msg) => stop |= self.on_msg(msg),
                    Err(_) => break,
                }
                taken += 1;
            }
            while let Ok(done) = done_rx.try_recv() {
                self.on_digest_done(done);
            }
            if Instant::now() >= next_tick {
                self.on_tick();
                next_tick = Instant::now() + tick;
            }
            self.prepare_snapshots();
            self.on_ready();
            if stop {
                self.fail_all(ProposeError::Stopped);
                return;
            }
        }
    }

    /// How long after a lease round was sent its leader may serve reads
    /// locally: half the shortest election timeout. A quorum answered the
    /// round, so each of those voters heard from this leader after it was
    /// sent and (check-quorum) refuses to vote for anyone else for a full
    /// election timeout after that.
    fn lease(&self) -> Duration {
        Duration::from_millis(self.cfg.tick_ms * self.cfg.election_ticks as u64 / 2)
    }

    fn peer_mut(&mut self, shard: ShardId) -> Option<&mut Peer<SM::Response>> {
        self.peers.iter_mut().find(|p| p.shard == shard)
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        let now = Instant::now();
        let lease = self.lease();
        let balance = self.ticks.is_multiple_of(BALANCE_EVERY_TICKS);
        let me = self.cfg.node_id;
        for peer in &mut self.peers {
            peer.node.tick();
            // Reads whose quorum round never came back (lost leadership,
            // or no entry committed in this term yet) fail; they may retry.
            let expired: Vec<u64> = peer
                .reads_asked
                .iter()
                .filter(|(_, r)| r.deadline <= now)
                .map(|(&c, _)| c)
                .collect();
            for c in expired {
                if let Some(r) = peer.reads_asked.remove(&c) {
                    let _ = r.cb.send(Err(ProposeError::Dropped));
                }
            }
            let (late, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut peer.reads_deferred)
                .into_iter()
                .partition(|(_, r)| r.deadline <= now);
            peer.reads_deferred = keep;
            for (_, r) in late {
                let _ = r.cb.send(Err(ProposeError::Dropped));
            }
            if balance {
                maybe_transfer_to_preferred(peer, me);
            }
            maybe_propose_check(peer, self.cfg.anti_entropy_interval, now);
            drive_repair(peer, me);
            maybe_renew_lease(peer, &mut self.next_read_ctx, lease, now);
            drive_change(peer, me);
            if peer.node.raft.state == StateRole::Leader {
                peer.heard_leader_tick = self.ticks;
            }
            let voter = peer.node.raft.prs().conf().voters().contains(me);
            if !voter && self.ticks - peer.heard_leader_tick > self.cfg.stray_replica_ticks {
                tracing::info!(
                    shard = peer.shard,
                    "removing a replica no leader has contacted for {} ticks (not a voter)",
                    self.cfg.stray_replica_ticks
                );
                peer.removed = true;
            }
        }
        self.destroy_removed();
    }

    /// Whether leader message `m` may create a replica of `shard` here:
    /// any message but a snapshot older than this node's removal from
    /// the shard, or one that does not name this node. (A leader that had
    /// not applied the removal yet may still send to it: the new replica
    /// starts empty, heartbeats' commit indexes are clamped for it, and it
    /// removes itself if no leader keeps it.)
    fn may_create(&self, shard: ShardId, m: &Message) -> bool {
        let Some(&removed_at) = self.tombstones.get(&shard) else {
            return true;
        };
        if m.get_msg_type() != MessageType::MsgSnapshot {
            return true;
        }
        let meta = m.get_snapshot().get_metadata();
        let cs = meta.get_conf_state();
        let me = self.cfg.node_id;
        let names_me = [
            &cs.voters,
            &cs.learners,
            &cs.voters_outgoing,
            &cs.learners_next,
        ]
        .iter()
        .any(|ids| ids.contains(&me));
        meta.index > removed_at && names_me
    }

    /// Creates an uninitialised replica of `shard` (no voters, no data)
    /// for a leader's message.
    fn create_peer(&mut self, shard: ShardId) {
        let logger = raft_logger();
        match Self::open_peer(&self.cfg, &self.log, &mut self.sm, shard, None, &logger) {
            Ok((mut peer, _)) => {
                self.tombstones.remove(&shard);
                peer.heard_leader_tick = self.ticks;
                tracing::info!(shard, "replica created for a leader's message");
                self.infos.write().insert(shard, peer.info.clone());
                self.peers.push(peer);
            }
            Err(e) => tracing::warn!(shard, "cannot create a replica: {e}"),
        }
    }

    /// Deletes the replicas marked removed: log first (a tombstone stops
    /// a restart from bootstrapping them again), then their data.
    fn destroy_removed(&mut self) {
        while let Some(i) = self.peers.iter().position(|p| p.removed) {
            let mut peer = self.peers.swap_remove(i);
            let shard = peer.shard;
            self.infos.write().remove(&shard);
            let leader = Some(peer.node.raft.leader_id).filter(|&l| l != 0);
            for p in peer.pending.drain(..) {
                let _ = p.cb.send(Err(ProposeError::Unknown));
            }
            let reads = peer.reads_asked.drain().map(|(_, r)| r);
            let reads = reads.chain(peer.reads_deferred.drain(..).map(|(_, r)| r));
            let reads = reads.chain(peer.reads_confirmed.drain(..).map(|(_, r)| r));
            for r in reads {
                let _ = r.cb.send(Err(ProposeError::NotLeader { shard, leader }));
            }
            if let Some(c) = peer.change.take() {
                let _ = c.cb.send(Err(ProposeError::NotLeader { shard, leader }));
            }
            let applied = peer.node.raft.raft_log.applied;
            self.log
                .destroy(shard, applied)
                .unwrap_or_else(|e| fatal("destroy a removed replica's log", e));
            self.tombstones.insert(shard, applied);
            self.sm
                .destroy(shard)
                .unwrap_or_else(|e| fatal("destroy a removed replica's data", e));
            metrics::counter!("redraft_raft_replicas_destroyed_total").increment(1);
            tracing::info!(
                shard,
                "replica removed from its group: log and data deleted"
            );
        }
    }

    /// Handles one message; returns whether the loop must stop.
    fn on_msg(&mut self, msg: Msg<SM::Response>) -> bool {
        match msg {
            Msg::Stop => return true,
            Msg::Propose { shard, data, cb } => self.on_propose(shard, data, cb),
            Msg::Raft { msgs } => {
                let now = Instant::now();
                let stats = self.stats.clone();
                let ticks = self.ticks;
                for (shard, m) in msgs {
                    let from_leader = matches!(
                        m.get_msg_type(),
                        MessageType::MsgAppend
                            | MessageType::MsgHeartbeat
                            | MessageType::MsgSnapshot
                    );
                    if from_leader
                        && self.peer_mut(shard).is_none()
                        && self.may_create(shard, &m)
                        && self.sm.may_host(shard)
                    {
                        // A leader replicates to this node: it was added
                        // to the shard. Start empty; a snapshot follows.
                        self.create_peer(shard);
                    }
                    let Some(peer) = self.peer_mut(shard) else {
                        metrics::counter!("redraft_raft_messages_dropped_total", "reason" => "unknown_shard")
                            .increment(1);
                        continue;
                    };
                    if from_leader && m.term >= peer.node.raft.term {
                        peer.heard_leader_tick = ticks;
                    }
                    let mut m = m;
                    if m.get_msg_type() == MessageType::MsgHeartbeat {
                        // A leader may believe this replica holds entries
                        // it lacks (it was removed and created again); a
                        // commit index beyond its log would make raft-rs
                        // panic. A replica cannot commit what it lacks.
                        m.commit = m.commit.min(peer.node.raft.raft_log.last_index());
                    }
                    if matches!(
                        m.get_msg_type(),
                        MessageType::MsgAppendResponse | MessageType::MsgHeartbeatResponse
                    ) && m.term == peer.node.raft.term
                        && peer.node.raft.state == StateRole::Leader
                        && peer.node.raft.lead_transferee.is_none()
                    {
                        peer.acks.insert(m.from, now);
                    }
                    if m.get_msg_type() == MessageType::MsgSnapshot {
                        stats.snapshots_received.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("redraft_raft_snapshots_received_total").increment(1);
                    }
                    let _ = peer.node.step(m);
                }
            }
            Msg::Unreachable(node) => {
                for peer in &mut self.peers {
                    if peer.node.raft.prs().conf().voters().contains(node) {
                        peer.node.report_unreachable(node);
                    }
                }
            }
            Msg::SnapshotStatus { shard, node, ok } => {
                if ok {
                    self.stats.snapshots_sent.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("redraft_raft_snapshots_sent_total").increment(1);
                }
                if let Some(peer) = self.peer_mut(shard) {
                    let status = if ok {
                        SnapshotStatus::Finish
                    } else {
                        SnapshotStatus::Failure
                    };
                    peer.node.report_snapshot(node, status);
                }
            }
            Msg::ReadIndex { shard, cb } => {
                let ctx = self.next_read_ctx;
                self.next_read_ctx += 1;
                let deadline = Instant::now()
                    + Duration::from_millis(self.cfg.tick_ms * self.cfg.election_ticks as u64);
                let Some(peer) = self.peer_mut(shard) else {
                    let _ = cb.send(Err(ProposeError::UnknownShard(shard)));
                    return false;
                };
                if peer.node.raft.state != StateRole::Leader {
                    let leader = Some(peer.node.raft.leader_id).filter(|&l| l != 0);
                    let _ = cb.send(Err(ProposeError::NotLeader { shard, leader }));
                    return false;
                }
                if peer.node.raft.commit_to_current_term() {
                    peer.node.read_index(ctx.to_be_bytes().to_vec());
                    peer.reads_asked.insert(ctx, PendingRead { deadline, cb });
                } else {
                    peer.reads_deferred
                        .push((ctx, PendingRead { deadline, cb }));
                }
            }
            Msg::SetPreferredLeader { shard, node } => {
                if let Some(peer) = self.peer_mut(shard) {
                    peer.preferred_leader = node;
                }
            }
            Msg::Split { shard, child, spec } => {
                let Some(peer) = self.peer_mut(shard) else {
                    return false;
                };
                let cs = peer.node.raft.prs().conf().to_conf_state();
                let plain = cs.learners.is_empty()
                    && cs.voters_outgoing.is_empty()
                    && cs.learners_next.is_empty();
                if peer.node.raft.state == StateRole::Leader
                    && peer.node.raft.lead_transferee.is_none()
                    && peer.change.is_none()
                    && plain
                {
                    let mut data = child.to_be_bytes().to_vec();
                    data.extend_from_slice(&spec);
                    if let Err(e) = peer.node.propose(SPLIT_CONTEXT.to_vec(), data) {
                        tracing::debug!(shard, child, "split not proposed: {e}");
                    }
                }
            }
            Msg::RemoveStale { shard, conf_index } => {
                let Some(peer) = self.peer_mut(shard) else {
                    return false;
                };
                let initialised = !peer.node.raft.prs().conf().voters().ids().is_empty();
                if initialised
                    && peer.conf_index < conf_index
                    && peer.node.raft.state != StateRole::Leader
                {
                    tracing::warn!(
                        shard,
                        local_conf_index = peer.conf_index,
                        conf_index,
                        "removing a replica its group no longer names (a newer configuration \
                         without this node was committed while it was away)"
                    );
                    peer.removed = true;
                    self.destroy_removed();
                }
            }
            Msg::ChangeReplicas { shard, voters, cb } => {
                let timeout = self.cfg.change_timeout;
                let me = self.cfg.node_id;
                let Some(peer) = self.peer_mut(shard) else {
                    let _ = cb.send(Err(ProposeError::UnknownShard(shard)));
                    return false;
                };
                if voters.is_empty() {
                    let _ = cb.send(Err(ProposeError::ChangeStalled(
                        "a shard needs at least one voter".into(),
                    )));
                    return false;
                }
                if let Some(old) = peer.change.take() {
                    let _ = old.cb.send(Err(ProposeError::ChangeStalled(
                        "superseded by a newer replica change".into(),
                    )));
                }
                peer.change = Some(Change {
                    voters: voters.into_iter().collect(),
                    deadline: Instant::now() + timeout,
                    cb,
                });
                drive_change(peer, me);
            }
            Msg::TransferLeader { shard, to } => {
                let me = self.cfg.node_id;
                if let Some(peer) = self.peer_mut(shard) {
                    if peer.node.raft.state == StateRole::Leader {
                        start_transfer(peer, to);
                    } else if to == me {
                        // raft-rs forwards a follower's own request to the
                        // leader it knows (dropped while none is known).
                        peer.node.transfer_leader(to);
                    }
                }
            }
        }
        false
    }

    fn on_propose(&mut self, shard: ShardId, data: Vec<u8>, cb: Callback<SM::Response>) {
        metrics::counter!("redraft_raft_proposals_total").increment(1);
        let Some(peer) = self.peer_mut(shard) else {
            let _ = cb.send(Err(ProposeError::UnknownShard(shard)));
            return;
        };
        if let Some(to) = peer
            .node
            .raft
            .lead_transferee
            .filter(|_| peer.node.raft.state == StateRole::Leader)
        {
            // Handing leadership over: the node taking it is not leader
            // yet (it would send the client back here), so ask the client
            // to retry in a moment rather than redirect it.
            metrics::counter!("redraft_raft_proposals_rejected_total", "reason" => "transferring")
                .increment(1);
            let _ = cb.send(Err(ProposeError::Transferring { shard, to }));
            return;
        }
        if peer.node.raft.state != StateRole::Leader {
            let leader = Some(peer.node.raft.leader_id).filter(|&l| l != 0);
            metrics::counter!("redraft_raft_proposals_rejected_total", "reason" => "not_leader")
                .increment(1);
            let _ = cb.send(Err(ProposeError::NotLeader { shard, leader }));
            return;
        }
        match peer.node.propose(Vec::new(), data) {
            Ok(()) => {
                let index = peer.node.raft.raft_log.last_index();
                let term = peer.node.raft.term;
                // Proposals of an older term may still wait at this index or
                // beyond (this node's log was truncated under them while it
                // did not lead): keep the queue ordered by index so `apply`
                // resolves each against the entry finally applied there.
                let pos = peer.pending.partition_point(|p| p.index <= index);
                peer.pending.insert(pos, Pending { index, term, cb });
            }
            Err(_) => {
                metrics::counter!("redraft_raft_proposals_rejected_total", "reason" => "dropped")
                    .increment(1);
                let _ = cb.send(Err(ProposeError::Dropped));
            }
        }
    }

    /// Builds the snapshots raft-rs asked for during the last steps (see
    /// `storage.rs`), from the state machine's state at the applied index.
    fn prepare_snapshots(&mut self) {
        for peer in &mut self.peers {
            let store = peer.node.store().clone();
            let Some(wanted) = store.snapshot_wanted() else {
                continue;
            };
            if peer.ae.repair.is_some() {
                // This leader's data was found divergent: a snapshot of it
                // would spread the divergence. The follower gets one from
                // the next leader.
                continue;
            }
            let (index, data) = match self.sm.snapshot(peer.shard) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(shard = peer.shard, "cannot build a snapshot: {e}");
                    continue;
                }
            };
            if index < wanted {
                continue;
            }
            let Ok(term) = store.term(index) else {
                tracing::warn!(shard = peer.shard, index, "snapshot index not in the log");
                continue;
            };
            let mut snap = Snapshot::default();
            snap.set_data(data.into());
            let meta = snap.mut_metadata();
            meta.index = index;
            meta.term = term;
            meta.set_conf_state(
                store
                    .mem
                    .initial_state()
                    .map(|s| s.conf_state)
                    .unwrap_or_default(),
            );
            store.park_snapshot(snap);
            self.stats
                .snapshots_generated
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(shard = peer.shard, index, term, "snapshot prepared");
        }
    }

    fn flush_outbox(&mut self) {
        for (to, msgs) in self.outbox.drain() {
            metrics::counter!("redraft_raft_messages_sent_total").increment(msgs.len() as u64);
            self.transport.send(to, msgs);
        }
    }

    /// The Ready cycle for every replica with work, in the order the module
    /// documentation gives, with one log write for all of them.
    fn on_ready(&mut self) {
        let mut batch = LogBatch::default();
        let mut readies = Vec::new();
        for i in 0..self.peers.len() {
            if !self.peers[i].node.has_ready() {
                if self.peers[i].hard_state_dirty {
                    let peer = &mut self.peers[i];
                    let hs = peer.node.store().hard_state();
                    self.log
                        .put_hard_state(&mut batch, peer.shard, &hs)
                        .unwrap_or_else(|e| fatal("encode hard state", e));
                    peer.hard_state_dirty = false;
                }
                continue;
            }
            let mut ready = self.peers[i].node.ready();
            // 1. Messages a leader may send before persisting.
            let shard = self.peers[i].shard;
            queue(&mut self.outbox, shard, ready.take_messages());
            // 2. A snapshot from the leader: data first, then the log.
            if !ready.snapshot().is_empty() {
                let snap = ready.snapshot().clone();
                self.install_snapshot(i, snap, ready.hs());
            }
            // Read points a quorum confirmed.
            for rs in ready.take_read_states() {
                let ctx = rs
                    .request_ctx
                    .as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                let peer = &mut self.peers[i];
                if ctx & LEASE_CTX != 0 {
                    confirm_lease_round(peer, ctx);
                } else if let Some(r) = peer.reads_asked.remove(&ctx) {
                    peer.reads_confirmed.push((rs.index, r));
                }
            }
            // 3. Entries committed by a quorum.
            let committed = ready.take_committed_entries();
            self.apply(i, committed);
            // 4. New entries and hard state into the shared batch.
            let peer = &mut self.peers[i];
            if !ready.entries().is_empty() {
                peer.log_bytes += ready
                    .entries()
                    .iter()
                    .map(|e| e.data.len() as u64)
                    .sum::<u64>();
                self.log
                    .add_entries(&mut batch, peer.shard, ready.entries())
                    .unwrap_or_else(|e| fatal("encode entries", e));
                if let Err(e) = peer.node.mut_store().mem.wl().append(ready.entries()) {
                    fatal("append entries", e);
                }
            }
            if let Some(hs) = ready.hs() {
                self.log
                    .put_hard_state(&mut batch, peer.shard, hs)
                    .unwrap_or_else(|e| fatal("encode hard state", e));
                peer.node.mut_store().mem.wl().set_hardstate(hs.clone());
                peer.hard_state_dirty = false;
            }
            readies.push((i, ready));
        }
        // Leaders' appends leave before the local fsync.
        self.flush_outbox();
        // 5. One write, one fsync, for every shard (group commit).
        if !batch.is_empty() {
            let started = Instant::now();
            if let Err(e) = self.log.write(&mut batch, self.cfg.sync_log) {
                fatal("write raft log", e);
            }
            metrics::histogram!("redraft_raft_log_write_seconds")
                .record(started.elapsed().as_secs_f64());
            metrics::counter!("redraft_raft_log_writes_total").increment(1);
        }
        for (i, mut ready) in readies {
            // 6. Messages that promise persisted state.
            let shard = self.peers[i].shard;
            queue(&mut self.outbox, shard, ready.take_persisted_messages());
            // 7. Advance; apply what became committed.
            let peer = &mut self.peers[i];
            let mut light = peer.node.advance(ready);
            if let Some(commit) = light.commit_index() {
                peer.node
                    .mut_store()
                    .mem
                    .wl()
                    .mut_hard_state()
                    .set_commit(commit);
                peer.hard_state_dirty = true;
            }
            queue(&mut self.outbox, shard, light.take_messages());
            let committed = light.take_committed_entries();
            self.apply(i, committed);
            let peer = &mut self.peers[i];
            peer.node.advance_apply();
            self.maybe_compact(i);
        }
        self.flush_outbox();
        let lease = self.lease();
        for peer in &mut self.peers {
            let applied = peer.node.raft.raft_log.applied;
            if !peer.reads_deferred.is_empty() && peer.node.raft.commit_to_current_term() {
                for (ctx, r) in std::mem::take(&mut peer.reads_deferred) {
                    peer.node.read_index(ctx.to_be_bytes().to_vec());
                    peer.reads_asked.insert(ctx, r);
                }
            }
            resolve_reads(peer, applied);
            if peer.node.raft.state != StateRole::Leader && !peer.pending.is_empty() {
                // Leadership lost with writes in flight: a newer leader may
                // still commit them, or may not. Say so now rather than
                // leave the client (and every request pipelined behind it
                // on its connection) waiting for a partition to heal.
                for p in peer.pending.drain(..) {
                    let _ = p.cb.send(Err(ProposeError::Unknown));
                }
            }
            publish(peer, applied, lease);
        }
        self.destroy_removed();
    }

    /// Replaces replica `i`'s state with a leader's snapshot. The data and
    /// the snapshot's metadata go into the state machine first (one atomic
    /// write); then the Raft log is reset to start after the snapshot. A
    /// crash in between is repaired by `open_peer` from that metadata.
    fn install_snapshot(&mut self, i: usize, snap: Snapshot, hs: Option<&HardState>) {
        let peer = &mut self.peers[i];
        let meta = snap.get_metadata();
        let meta_bytes = meta
            .write_to_bytes()
            .unwrap_or_else(|e| fatal("encode snapshot metadata", e));
        if let Err(e) = self
            .sm
            .restore(peer.shard, meta.index, &meta_bytes, &snap.data)
        {
            fatal("restore snapshot", e);
        }
        let mut new_hs = hs
            .cloned()
            .unwrap_or_else(|| peer.node.store().hard_state());
        new_hs.commit = new_hs.commit.max(meta.index);
        new_hs.term = new_hs.term.max(meta.term);
        self.log
            .reset_to_snapshot(peer.shard, meta, &new_hs)
            .unwrap_or_else(|e| fatal("persist snapshot", e));
        tracing::info!(
            shard = peer.shard,
            index = meta.index,
            term = meta.term,
            "snapshot installed"
        );
        if let Some(repair) = peer.ae.repair.take() {
            // The snapshot replaced every key of the shard with the
            // leader's committed state: the divergence is gone.
            self.stats
                .anti_entropy_repairs
                .fetch_add(1, Ordering::Relaxed);
            metrics::counter!("redraft_anti_entropy_repairs_total", "shard" => peer.shard.to_string())
                .increment(1);
            tracing::warn!(
                shard = peer.shard,
                check = repair.check,
                index = meta.index,
                "anti-entropy: divergent replica repaired by a snapshot from the leader"
            );
        }
        let (snap_index, snap_term) = (meta.index, meta.term);
        peer.conf_index = snap_index;
        if let Err(e) = peer.node.mut_store().mem.wl().apply_snapshot(snap) {
            fatal("apply snapshot", e);
        }
        // Proposals at or below the snapshot were proposed by an older
        // leadership: the snapshot does not tell whether their entries are
        // the ones it contains (unless a newer term proves they are not).
        // Those above it may still commit: they stay pending.
        while peer.pending.front().is_some_and(|p| p.index <= snap_index) {
            if let Some(p) = peer.pending.pop_front() {
                let err = if p.term > snap_term {
                    ProposeError::Dropped
                } else {
                    ProposeError::Unknown
                };
                let _ = p.cb.send(Err(err));
            }
        }
    }

    /// Applies committed entries of peer `i` and answers their proposers.
    /// Anti-entropy entries end a run of entries handed to the state
    /// machine, so a check sees the state at exactly its own index.
    fn apply(&mut self, i: usize, entries: Vec<Entry>) {
        let mut start = 0;
        for k in 0..entries.len() {
            let Some(kind) = admin_kind(&entries[k]) else {
                continue;
            };
            if matches!(kind, Admin::Split) {
                // The state machine applies the split entry itself, in one
                // write with the child's state.
                self.apply_run(i, &entries[start..k]);
                start = k + 1;
                self.apply_split(i, &entries[k]);
                continue;
            }
            self.apply_run(i, &entries[start..=k]);
            start = k + 1;
            match kind {
                Admin::Check => self.on_check_applied(i, entries[k].index),
                Admin::Report => self.on_report_applied(i, &entries[k]),
                Admin::Split => {}
            }
        }
        self.apply_run(i, &entries[start..]);
    }

    /// Applies a run of committed entries of peer `i` in one state machine
    /// call and answers their proposers.
    fn apply_run(&mut self, i: usize, entries: &[Entry]) {
        if entries.is_empty() {
            return;
        }
        let peer = &mut self.peers[i];
        for e in entries {
            if e.get_entry_type() != EntryType::EntryNormal {
                apply_conf_change(peer, &self.log, e, self.cfg.node_id);
            }
        }
        let data: Vec<(u64, &[u8])> = entries
            .iter()
            .map(|e| {
                let d: &[u8] =
                    if e.get_entry_type() == EntryType::EntryNormal && admin_kind(e).is_none() {
                        &e.data
                    } else {
                        &[]
                    };
                (e.index, d)
            })
            .collect();
        let responses = self.sm.apply(peer.shard, &data);
        metrics::counter!("redraft_raft_applied_entries_total").increment(entries.len() as u64);
        for (entry, response) in entries.iter().zip(responses) {
            while peer.pending.front().is_some_and(|p| p.index < entry.index) {
                if let Some(p) = peer.pending.pop_front() {
                    let _ = p.cb.send(Err(ProposeError::Dropped));
                }
            }
            let mut response = Some(response);
            while peer.pending.front().is_some_and(|p| p.index == entry.index) {
                if let Some(p) = peer.pending.pop_front() {
                    let outcome = match response.take() {
                        Some(r) if p.term == entry.term => Ok(r),
                        other => {
                            response = other;
                            Err(ProposeError::Dropped)
                        }
                    };
                    let _ = p.cb.send(outcome);
                }
            }
        }
    }

    /// Applies split entry `e` of replica `i`: the state machine splits
    /// (if the parent's configuration at this index is plain, the same
    /// on every replica), then the child's replica is created here with
    /// the parent's voters, and campaigns at once if this node led the
    /// parent.
    fn apply_split(&mut self, i: usize, e: &Entry) {
        let peer = &mut self.peers[i];
        let parent = peer.shard;
        let cs = peer.node.raft.prs().conf().to_conf_state();
        let plain = !cs.voters.is_empty()
            && cs.learners.is_empty()
            && cs.voters_outgoing.is_empty()
            && cs.learners_next.is_empty();
        let led = peer.node.raft.state == StateRole::Leader;
        let child = e
            .data
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes);
        let (child, spec) = match child {
            Some(c) if c != parent => (c, &e.data[8..]),
            _ => (parent, &[][..]),
        };
        let voters = (plain && child != parent).then_some(&cs.voters[..]);
        let split = self
            .sm
            .split(parent, e.index, child, spec, voters)
            .unwrap_or_else(|err| fatal("apply a split", err));
        metrics::counter!("redraft_raft_applied_entries_total").increment(1);
        if !split {
            tracing::info!(
                parent,
                child,
                index = e.index,
                "split entry applied: no split"
            );
            return;
        }
        tracing::info!(parent, child, index = e.index, voters = ?cs.voters, "shard split");
        metrics::counter!("redraft_raft_splits_total").increment(1);
        self.create_split_child(child, &cs.voters, led);
    }

    /// Creates the log of a child the state machine split off (at
    /// [`INIT_INDEX`], with `voters`), then its replica.
    fn create_split_child(&mut self, child: ShardId, voters: &[u64], campaign: bool) {
        if self.peer_mut(child).is_some() {
            return;
        }
        if let Err(e) = init_child_log(&self.log, child, voters) {
            fatal("create a split child's log", e);
        }
        if let Err(e) = self.sm.split_done(child) {
            fatal("record a split child's log", e);
        }
        let logger = raft_logger();
        match Self::open_peer(&self.cfg, &self.log, &mut self.sm, child, None, &logger) {
            Ok((mut peer, _)) => {
                self.tombstones.remove(&child);
                peer.heard_leader_tick = self.ticks;
                if campaign && voters.contains(&self.cfg.node_id) {
                    let _ = peer.node.campaign();
                }
                self.infos.write().insert(child, peer.info.clone());
                self.peers.push(peer);
            }
            Err(e) => fatal("open a split child", e),
        }
    }

    /// A check entry was applied to replica `i`: digest its state now, on
    /// the anti-entropy thread (one digest per shard at a time; a check
    /// that comes while one runs is skipped by this replica).
    fn on_check_applied(&mut self, i: usize, index: u64) {
        let peer = &mut self.peers[i];
        if peer.ae.digest_running {
            metrics::counter!("redraft_anti_entropy_skipped_total", "shard" => peer.shard.to_string())
                .increment(1);
            tracing::debug!(
                shard = peer.shard,
                index,
                "anti-entropy check skipped: a digest is still running"
            );
            return;
        }
        let Some(job) = self.sm.digest(peer.shard) else {
            return;
        };
        if self.digests.run(peer.shard, index, job) {
            peer.ae.digest_running = true;
        }
    }

    /// A digest is ready: report it through the log (a follower's proposal
    /// is forwarded to the leader; one lost to a leader change leaves the
    /// check without this replica's report, which is harmless).
    fn on_digest_done(&mut self, done: DigestDone) {
        let me = self.cfg.node_id;
        let stats = self.stats.clone();
        let Some(peer) = self.peer_mut(done.shard) else {
            return;
        };
        peer.ae.digest_running = false;
        let shard = peer.shard.to_string();
        let digest = match done.result {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(
                    shard = peer.shard,
                    index = done.index,
                    "anti-entropy digest failed: {e}"
                );
                return;
            }
        };
        stats.anti_entropy_checks.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("redraft_anti_entropy_checks_total", "shard" => shard.clone())
            .increment(1);
        metrics::histogram!("redraft_anti_entropy_digest_seconds").record(done.seconds);
        tracing::debug!(
            shard = peer.shard,
            index = done.index,
            parts = digest.parts.len(),
            root = format!("{:032x}", digest.root()),
            seconds = done.seconds,
            "anti-entropy digest computed"
        );
        let report = Report {
            check: done.index,
            node: me,
            digest,
        };
        if let Err(e) = peer.node.propose(REPORT_CONTEXT.to_vec(), report.encode()) {
            metrics::counter!("redraft_anti_entropy_reports_dropped_total", "shard" => shard)
                .increment(1);
            tracing::debug!(
                shard = peer.shard,
                index = done.index,
                "anti-entropy report dropped: {e}"
            );
        }
    }

    /// A report entry was applied to replica `i`: record it, and act on
    /// the verdicts it completes (the same on every replica).
    fn on_report_applied(&mut self, i: usize, e: &Entry) {
        let me = self.cfg.node_id;
        let peer = &mut self.peers[i];
        let Some(report) = Report::decode(&e.data) else {
            tracing::warn!(
                shard = peer.shard,
                index = e.index,
                "undecodable anti-entropy report"
            );
            return;
        };
        let voters: Vec<u64> = peer.node.raft.prs().conf().voters().ids().iter().collect();
        let shard = peer.shard.to_string();
        for verdict in peer.ae.checks.on_report(report, &voters) {
            match verdict {
                Verdict::Agrees { node, .. } => {
                    peer.ae.suspects.remove(&node);
                }
                Verdict::Diverges {
                    check,
                    node,
                    majority,
                    parts,
                } => {
                    self.stats
                        .anti_entropy_divergent
                        .fetch_add(1, Ordering::Relaxed);
                    metrics::counter!(
                        "redraft_anti_entropy_divergent_total",
                        "shard" => shard.clone(),
                        "replica" => node.to_string()
                    )
                    .increment(1);
                    let shown: Vec<u32> = parts.iter().take(16).copied().collect();
                    tracing::warn!(
                        shard = peer.shard,
                        check,
                        replica = node,
                        majority = ?majority,
                        divergent_slots = parts.len(),
                        slots = ?shown,
                        local = node == me,
                        "anti-entropy: a replica's data diverges from the majority's"
                    );
                    peer.ae.suspects.insert(node);
                    if node == me {
                        self.stats
                            .anti_entropy_local_divergent
                            .fetch_add(1, Ordering::Relaxed);
                        if peer.ae.repair.is_none() {
                            peer.ae.repair = Some(Repair {
                                check,
                                majority,
                                announced: false,
                            });
                        }
                    }
                }
                Verdict::Unresolved { check, groups } => {
                    self.stats
                        .anti_entropy_unresolved
                        .fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("redraft_anti_entropy_unresolved_total", "shard" => shard.clone())
                        .increment(1);
                    tracing::error!(
                        shard = peer.shard,
                        check,
                        groups = ?groups,
                        "anti-entropy: replicas disagree and no majority agrees; nothing repaired"
                    );
                }
            }
        }
    }

    /// Discards the log before the applied index once it is long enough,
    /// after making the applied state durable.
    fn maybe_compact(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        let applied = peer.node.raft.raft_log.applied;
        let first = peer.node.store().first_index().unwrap_or(1);
        if applied < first
            || (applied - first < self.cfg.compact_log_entries
                && peer.log_bytes < self.cfg.compact_log_bytes)
        {
            return;
        }
        if let Err(e) = self.sm.sync() {
            fatal("sync state machine before compaction", e);
        }
        let Ok(prev_term) = peer.node.store().term(applied - 1) else {
            return;
        };
        if let Err(e) = self.log.compact(peer.shard, applied, prev_term) {
            fatal("compact raft log", e);
        }
        if let Err(e) = peer.node.mut_store().mem.wl().compact(applied) {
            tracing::warn!(shard = peer.shard, "compact memory log: {e}");
        }
        peer.log_bytes = 0;
        metrics::counter!("redraft_raft_log_compactions_total").increment(1);
    }

    fn fail_all(&mut self, err: ProposeError) {
        for peer in &mut self.peers {
            for p in peer.pending.drain(..) {
                let _ = p.cb.send(Err(err.clone()));
            }
            for (_, r) in peer.reads_asked.drain() {
                let _ = r.cb.send(Err(err.clone()));
            }
            for (_, r) in peer.reads_deferred.drain(..) {
                let _ = r.cb.send(Err(err.clone()));
            }
            for (_, r) in peer.reads_confirmed.drain(..) {
                let _ = r.cb.send(Err(err.clone()));
            }
        }
    }
}

/// A leader whose shard prefers another, healthy and caught-up node hands
/// leadership over, so leaders spread evenly again after failovers.
fn maybe_transfer_to_preferred<R>(peer: &mut Peer<R>, me: u64) {
    let raft = &peer.node.raft;
    let Some(pref) = peer.preferred_leader.filter(|&p| p != me) else {
        return;
    };
    // Not to a replica last found divergent: it is being repaired (or
    // awaits a check that finds it sound again).
    if peer.ae.suspects.contains(&pref) {
        return;
    }
    if raft.state != StateRole::Leader || raft.lead_transferee.is_some() {
        return;
    }
    let last = raft.raft_log.last_index();
    // Not `recent_active`: check-quorum clears it every election timeout,
    // and when that falls on the balance tick (both multiples of the
    // election timeout) it is false at every check, forever.
    let healthy = raft.prs().get(pref).is_some_and(|pr| pr.matched == last);
    let answered_recently = peer
        .acks
        .get(&pref)
        .is_some_and(|t| t.elapsed() < Duration::from_millis(500));
    if healthy && answered_recently {
        tracing::info!(
            shard = peer.shard,
            to = pref,
            "transferring leadership to the preferred node"
        );
        start_transfer(peer, pref);
    }
}

/// Hands leadership to `to`. The lease ends now: the transferee may be
/// elected (votes for a transfer ignore leases) and commit writes before
/// this node hears of it.
fn start_transfer<R>(peer: &mut Peer<R>, to: u64) {
    peer.acks.clear();
    peer.lease_rounds.clear();
    peer.lease_start = None;
    peer.info.write().lease_until = None;
    peer.node.transfer_leader(to);
}

/// The kinds of entries the store itself proposes (anti-entropy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admin {
    Check,
    Report,
    Split,
}

/// The log of a shard split off another: an empty snapshot at
/// [`INIT_INDEX`] naming `voters`, as for a bootstrapped shard (whose data
/// the split already wrote).
fn init_child_log(log: &RaftLog, child: ShardId, voters: &[u64]) -> io::Result<()> {
    let mut meta = SnapshotMetadata {
        index: INIT_INDEX,
        term: INIT_INDEX,
        ..Default::default()
    };
    meta.mut_conf_state().voters = voters.to_vec();
    let hs = HardState {
        term: INIT_INDEX,
        commit: INIT_INDEX,
        ..Default::default()
    };
    log.reset_to_snapshot(child, &meta, &hs)
}

fn admin_kind(e: &Entry) -> Option<Admin> {
    if e.get_entry_type() != EntryType::EntryNormal {
        return None;
    }
    match &e.context[..] {
        c if c == CHECK_CONTEXT => Some(Admin::Check),
        c if c == REPORT_CONTEXT => Some(Admin::Report),
        c if c == SPLIT_CONTEXT => Some(Admin::Split),
        _ => None,
    }
}

/// A leader of a shard with several voters proposes an anti-entropy check
/// every `interval` (counted from when it became leader). Not while it
/// hands leadership over, nor while it is itself divergent.
fn maybe_propose_check<R>(peer: &mut Peer<R>, interval: Option<Duration>, now: Instant) {
    let Some(interval) = interval else {
        return;
    };
    let raft = &peer.node.raft;
    let leads = raft.state == StateRole::Leader
        && raft.lead_transferee.is_none()
        && raft.commit_to_current_term();
    if !leads {
        peer.ae.next_check = None;
        return;
    }
    if peer.ae.repair.is_some() || raft.prs().conf().voters().ids().len() < 2 {
        return;
    }
    let due = *peer.ae.next_check.get_or_insert(now + interval);
    if now < due {
        return;
    }
    peer.ae.next_check = Some(now + interval);
    match peer.node.propose(CHECK_CONTEXT.to_vec(), Vec::new()) {
        Ok(()) => tracing::debug!(
            shard = peer.shard,
            index = peer.node.raft.raft_log.last_index(),
            "anti-entropy check proposed"
        ),
        Err(e) => tracing::debug!(shard = peer.shard, "anti-entropy check not proposed: {e}"),
    }
}

/// Moves a pending repair of a divergent replica forward, one step per
/// tick: a leader hands leadership to a caught-up replica of the majority
/// (only a follower can receive a snapshot, and a divergent leader should
/// not serve); a follower asks the leader for a snapshot, which raft-rs
/// sends whole even if the follower's log is complete, and which
/// `install_snapshot` restores over the shard's data.
fn drive_repair<R>(peer: &mut Peer<R>, me: u64) {
    let Some(repair) = peer.ae.repair.as_mut() else {
        return;
    };
    let raft = &peer.node.raft;
    match raft.state {
        StateRole::Leader => {
            if raft.lead_transferee.is_some() {
                return;
            }
            let last = raft.raft_log.last_index();
            let others = repair.majority.iter().copied().filter(|&n| n != me);
            let caught_up = others
                .clone()
                .find(|&n| raft.prs().get(n).is_some_and(|pr| pr.matched == last));
            let Some(to) = caught_up.or_else(|| others.clone().next()) else {
                return;
            };
            if !repair.announced {
                repair.announced = true;
                tracing::warn!(
                    shard = peer.shard,
                    check = repair.check,
                    to,
                    "anti-entropy: this leader's data diverges; handing leadership over before repairing it"
                );
            }
            start_transfer(peer, to);
        }
        StateRole::Follower if raft.leader_id != 0 => {
            if raft.pending_request_snapshot != raft::INVALID_INDEX {
                return;
            }
            let leader = raft.leader_id;
            // Refused while this replica's last entry is of an older term
            // (just after an election): tried again next tick.
            if peer.node.request_snapshot().is_ok() {
                tracing::warn!(
                    shard = peer.shard,
                    check = repair.check,
                    leader,
                    "anti-entropy: this replica's data diverges; requested a snapshot from the leader"
                );
                repair.announced = true;
            }
        }
        _ => {}
    }
}

/// How far behind the leader's last index a learner may be and still be
/// promoted: it then catches up within a heartbeat or two.
const PROMOTE_LAG: u64 = 256;

/// Moves a replica change forward, one step per call, on its leader: each
/// step is one conf change, proposed only once the previous one applied.
/// Answers the change's caller when the voters are as asked, on a loss of
/// leadership (`NotLeader`), or at its deadline (`ChangeStalled`).
fn drive_change<R>(peer: &mut Peer<R>, me: u64) {
    use raft::eraftpb::{ConfChangeSingle, ConfChangeType};
    use std::collections::BTreeSet;

    let Some(change) = peer.change.as_ref() else {
        return;
    };
    let raft = &peer.node.raft;
    let shard = peer.shard;
    if raft.state != StateRole::Leader {
        let leader = Some(raft.leader_id).filter(|&l| l != 0);
        if let Some(c) = peer.change.take() {
            let _ = c.cb.send(Err(ProposeError::NotLeader { shard, leader }));
        }
        return;
    }
    if Instant::now() >= change.deadline {
        let conf = raft.prs().conf();
        let why = format!(
            "shard {shard}: voters {:?}, learners {:?}, asked for {:?}",
            conf.voters().ids().iter().collect::<BTreeSet<u64>>(),
            conf.learners(),
            change.voters
        );
        if let Some(c) = peer.change.take() {
            let _ = c.cb.send(Err(ProposeError::ChangeStalled(why)));
        }
        return;
    }
    // One conf change at a time; a joint configuration leaves by itself
    // (auto-leave) once it applied.
    let conf = raft.prs().conf();
    if raft.has_pending_conf()
        || !conf.to_conf_state().voters_outgoing.is_empty()
        || raft.lead_transferee.is_some()
    {
        return;
    }
    let voters: BTreeSet<u64> = conf.voters().ids().iter().collect();
    let learners: BTreeSet<u64> = conf.learners().iter().copied().collect();
    let target = &change.voters;
    let last = raft.raft_log.last_index();
    let caught_up = |n: u64| {
        raft.prs()
            .get(n)
            .is_some_and(|pr| pr.matched + PROMOTE_LAG >= last && pr.matched > INIT_INDEX)
    };
    let single = |node_id: u64, t: ConfChangeType| {
        let mut c = ConfChangeSingle {
            node_id,
            ..Default::default()
        };
        c.set_change_type(t);
        c
    };
    let mut changes: Vec<ConfChangeSingle> = Vec::new();
    let add: Vec<u64> = target
        .iter()
        .copied()
        .filter(|n| !voters.contains(n) && !learners.contains(n))
        .collect();
    let promote: Vec<u64> = target
        .iter()
        .copied()
        .filter(|n| learners.contains(n))
        .collect();
    let demote: Vec<u64> = voters
        .iter()
        .copied()
        .filter(|n| !target.contains(n))
        .collect();
    let stray: Vec<u64> = learners
        .iter()
        .copied()
        .filter(|n| !target.contains(n))
        .collect();
    if !add.is_empty() {
        // 1. The new nodes join as learners and catch up (by snapshot).
        changes.extend(
            add.iter()
                .map(|&n| single(n, ConfChangeType::AddLearnerNode)),
        );
    } else if !promote.is_empty() || !demote.is_empty() {
        if !promote.iter().all(|&n| caught_up(n)) {
            return;
        }
        if demote.contains(&me) {
            // 2a. A leader does not remove itself: it hands leadership to
            // a staying voter, which drives the rest when asked again. Only
            // to one that answered lately: a transfer to a node that is
            // down never completes, and would be tried again forever. (Not
            // `recent_active`: see `maybe_transfer_to_preferred`.)
            let acks = &peer.acks;
            let alive = |n: u64| {
                acks.get(&n)
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
            };
            let to = voters
                .iter()
                .copied()
                .find(|&n| n != me && target.contains(&n) && caught_up(n) && alive(n));
            let Some(to) = to else {
                // Nobody to hand over to yet: promote first.
                if promote.is_empty() {
                    return;
                }
                let cc: Vec<_> = promote
                    .iter()
                    .map(|&n| single(n, ConfChangeType::AddNode))
                    .collect();
                propose_conf_change(peer, cc);
                return;
            };
            start_transfer(peer, to);
            if let Some(c) = peer.change.take() {
                let _ = c.cb.send(Err(ProposeError::NotLeader {
                    shard,
                    leader: Some(to),
                }));
            }
            return;
        }
        // 2. Promote the caught-up learners and demote the leaving voters
        // to learners, in one joint-consensus change.
        changes.extend(promote.iter().map(|&n| single(n, ConfChangeType::AddNode)));
        changes.extend(
            demote
                .iter()
                .map(|&n| single(n, ConfChangeType::AddLearnerNode)),
        );
    } else if !stray.is_empty() {
        // 3. Remove the demoted learners (a learner's removal needs no
        // joint consensus). One that misses this entry removes itself
        // when no leader contacts it any more.
        changes.extend(stray.iter().map(|&n| single(n, ConfChangeType::RemoveNode)));
    } else {
        if let Some(c) = peer.change.take() {
            tracing::info!(shard, voters = ?c.voters, "replica change done");
            let _ = c.cb.send(Ok(()));
        }
        return;
    }
    propose_conf_change(peer, changes);
}

/// Proposes one conf change of `changes` (joint consensus, left
/// automatically, when more than one voter changes).
fn propose_conf_change<R>(peer: &mut Peer<R>, changes: Vec<raft::eraftpb::ConfChangeSingle>) {
    let mut cc = raft::eraftpb::ConfChangeV2::default();
    cc.set_changes(changes.into());
    cc.set_transition(raft::eraftpb::ConfChangeTransition::Auto);
    tracing::info!(shard = peer.shard, change = ?cc.changes, "proposing a conf change");
    if let Err(e) = peer.node.propose_conf_change(Vec::new(), cc) {
        tracing::warn!(shard = peer.shard, "conf change not proposed: {e}");
    }
}

fn queue(outbox: &mut HashMap<u64, Vec<(ShardId, Message)>>, shard: ShardId, msgs: Vec<Message>) {
    for m in msgs {
        outbox.entry(m.to).or_default().push((shard, m));
    }
}

/// Marks lease-round ReadIndex contexts apart from client reads.
const LEASE_CTX: u64 = 1 << 63;

/// Starts a lease round (a ReadIndex with no client behind it) when this
/// replica leads and its lease is past half-way or missing, at most one
/// per tick. A single voter confirms its round at once.
fn maybe_renew_lease<R>(peer: &mut Peer<R>, next_ctx: &mut u64, lease: Duration, now: Instant) {
    let raft = &peer.node.raft;
    if raft.state != StateRole::Leader
        || raft.lead_transferee.is_some()
        || !raft.commit_to_current_term()
    {
        return;
    }
    let term = raft.term;
    let fresh = peer
        .lease_start
        .is_some_and(|(t, sent)| t == term && now < sent + lease / 2);
    if fresh {
        return;
    }
    // Rounds that were never answered (a message lost) stop mattering
    // once a newer one is; keep only a few.
    while peer.lease_rounds.len() >= 8 {
        peer.lease_rounds.pop_front();
    }
    let ctx = LEASE_CTX | *next_ctx;
    *next_ctx += 1;
    peer.lease_rounds.push_back((ctx, now));
    peer.node.read_index(ctx.to_be_bytes().to_vec());
}

/// A quorum answered lease round `ctx`: the lease now runs from when it
/// was sent. raft-rs confirms rounds in order, so older ones are done too.
fn confirm_lease_round<R>(peer: &mut Peer<R>, ctx: u64) {
    let Some(pos) = peer.lease_rounds.iter().position(|&(c, _)| c == ctx) else {
        return;
    };
    let (_, sent) = peer.lease_rounds[pos];
    peer.lease_rounds.drain(..=pos);
    let term = peer.node.raft.term;
    if peer.lease_start.is_none_or(|(t, s)| t != term || s < sent) {
        peer.lease_start = Some((term, sent));
    }
}

fn resolve_reads<R>(peer: &mut Peer<R>, applied: u64) {
    let (done, wait): (Vec<_>, Vec<_>) = peer
        .reads_confirmed
        .drain(..)
        .partition(|(index, _)| *index <= applied);
    peer.reads_confirmed = wait;
    for (_, r) in done {
        let _ = r.cb.send(Ok(()));
    }
    if peer.node.raft.state != StateRole::Leader {
        let leader = Some(peer.node.raft.leader_id).filter(|&l| l != 0);
        let asked = peer.reads_asked.drain().map(|(_, r)| r);
        let deferred = peer.reads_deferred.drain(..).map(|(_, r)| r);
        for r in asked.chain(deferred) {
            let _ = r.cb.send(Err(ProposeError::NotLeader {
                shard: peer.shard,
                leader,
            }));
        }
    }
}

fn apply_conf_change<R>(peer: &mut Peer<R>, log: &RaftLog, e: &Entry, me: u64) {
    let cs = match e.get_entry_type() {
        EntryType::EntryConfChange => {
            let mut cc = raft::eraftpb::ConfChange::default();
            if cc.merge_from_bytes(&e.data).is_err() {
                return;
            }
            peer.node.apply_conf_change(&cc)
        }
        EntryType::EntryConfChangeV2 => {
            let mut cc = raft::eraftpb::ConfChangeV2::default();
            if cc.merge_from_bytes(&e.data).is_err() {
                return;
            }
            peer.node.apply_conf_change(&cc)
        }
        EntryType::EntryNormal => return,
    };
    match cs {
        Ok(cs) => {
            tracing::info!(
                shard = peer.shard,
                index = e.index,
                voters = ?cs.voters,
                learners = ?cs.learners,
                outgoing = ?cs.voters_outgoing,
                "configuration changed"
            );
            let member = [
                &cs.voters,
                &cs.learners,
                &cs.voters_outgoing,
                &cs.learners_next,
            ]
            .iter()
            .any(|set| set.contains(&me));
            if !member {
                peer.removed = true;
            }
            peer.conf_index = e.index;
            peer.node.store().forget_snapshot();
            peer.node.mut_store().mem.wl().set_conf_state(cs.clone());
            let mut batch = LogBatch::default();
            log.put_conf_state(&mut batch, peer.shard, &cs, e.index)
                .and_then(|_| log.write(&mut batch, true))
                .unwrap_or_else(|e| fatal("persist conf state", e));
        }
        Err(e) => tracing::warn!(shard = peer.shard, "conf change rejected: {e}"),
    }
}

/// Publishes a replica's state for the rest of the node. `lease` is how
/// long after the send time of its newest confirmed lease round a leader
/// may still serve reads locally (see [`RaftStore::lease`]).
fn publish<R>(peer: &mut Peer<R>, applied: u64, lease: Duration) {
    let raft = &peer.node.raft;
    let store = peer.node.store();
    let voters: Vec<u64> = {
        let mut v: Vec<u64> = raft.prs().conf().voters().ids().iter().collect();
        v.sort_unstable();
        v
    };
    let lease_until = match peer.lease_start {
        Some((term, sent))
            if raft.state == StateRole::Leader
                && raft.lead_transferee.is_none()
                && raft.commit_to_current_term()
                && term == raft.term =>
        {
            Some(sent + lease)
        }
        _ => None,
    };
    if raft.state != StateRole::Leader || raft.lead_transferee.is_some() {
        peer.acks.clear();
        peer.lease_rounds.clear();
        peer.lease_start = None;
    }
    let mut info = peer.info.write();
    let role = role_of(raft.state);
    let leader = Some(raft.leader_id).filter(|&l| l != 0);
    if info.role != role || info.leader != leader {
        tracing::info!(
            shard = peer.shard,
            term = raft.term,
            role = ?role,
            leader = ?leader,
            "shard role changed"
        );
    }
    info.role = role_of(raft.state);
    info.term = raft.term;
    info.leader = Some(raft.leader_id).filter(|&l| l != 0);
    info.commit_index = raft.raft_log.committed;
    info.applied_index = applied;
    info.first_log_index = store.first_index().unwrap_or(0);
    info.last_log_index = raft.raft_log.last_index();
    info.voters = voters;
    info.learners = {
        // (A voter being demoted is still among the outgoing voters.)
        let mut v: Vec<u64> = raft.prs().conf().learners().iter().copied().collect();
        v.sort_unstable();
        v
    };
    info.lease_until = lease_until;
    info.conf_index = peer.conf_index;
    let shard = peer.shard.to_string();
    metrics::gauge!("redraft_shard_term", "shard" => shard.clone()).set(raft.term as f64);
    metrics::gauge!("redraft_shard_is_leader", "shard" => shard.clone())
        .set(f64::from(u8::from(role == ShardRole::Leader)));
    metrics::gauge!("redraft_shard_commit_index", "shard" => shard.clone())
        .set(info.commit_index as f64);
    metrics::gauge!("redraft_shard_applied_index", "shard" => shard).set(applied as f64);
}

/// raft-rs logs through slog; it is discarded (redraft logs the events
/// that matter itself).
fn raft_logger() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}
