//! The store loop: one thread driving every local replica.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::RwLock;
use raft::eraftpb::{ConfState, Entry, EntryType, Message, Snapshot};
use raft::storage::MemStorage;
use raft::{RawNode, StateRole, Storage};
use raft_engine::LogBatch;
use tokio::sync::oneshot;

use super::log::RaftLog;
use super::{
    ProposeError, RaftConfig, ShardId, ShardInfo, ShardRole, SharedShardInfo, StateMachine,
};

type Callback<R> = oneshot::Sender<Result<R, ProposeError>>;

enum Msg<R> {
    Propose {
        shard: ShardId,
        data: Vec<u8>,
        cb: Callback<R>,
    },
    Stop,
}

/// A clonable handle to the store loop: propose, and read shard state.
pub struct RaftRouter<R> {
    tx: Sender<Msg<R>>,
    infos: Arc<HashMap<ShardId, SharedShardInfo>>,
}

impl<R> Clone for RaftRouter<R> {
    fn clone(&self) -> Self {
        RaftRouter {
            tx: self.tx.clone(),
            infos: self.infos.clone(),
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

    /// The last published state of a local replica.
    pub fn shard_info(&self, shard: ShardId) -> Option<ShardInfo> {
        self.infos.get(&shard).map(|i| i.read().clone())
    }

    /// Whether this node currently leads `shard`.
    pub fn is_leader(&self, shard: ShardId) -> bool {
        self.infos
            .get(&shard)
            .is_some_and(|i| i.read().role == ShardRole::Leader)
    }

    /// The published state of every local replica, by shard id.
    pub fn shards(&self) -> Vec<ShardInfo> {
        let mut v: Vec<ShardInfo> = self.infos.values().map(|i| i.read().clone()).collect();
        v.sort_by_key(|i| i.shard);
        v
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

/// One local replica of a shard.
struct Peer<R> {
    shard: ShardId,
    node: RawNode<MemStorage>,
    pending: VecDeque<Pending<R>>,
    info: SharedShardInfo,
    /// The hard state changed (commit advanced) without being written.
    hard_state_dirty: bool,
}

/// The store loop's state. Created and run by [`RaftStore::start`].
pub struct RaftStore<SM: StateMachine> {
    cfg: RaftConfig,
    log: RaftLog,
    sm: SM,
    peers: Vec<Peer<SM::Response>>,
    rx: Receiver<Msg<SM::Response>>,
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

impl<SM: StateMachine> RaftStore<SM> {
    /// Opens the Raft log under `dir`, creates or recovers a replica for
    /// each of `shards` (a new shard starts with this node as its only
    /// voter) and starts the loop on its own thread.
    pub fn start(
        cfg: RaftConfig,
        dir: &Path,
        shards: &[ShardId],
        sm: SM,
    ) -> io::Result<(RaftRouter<SM::Response>, JoinHandle<()>)> {
        let log = RaftLog::open(dir)?;
        let logger = raft_logger();
        let mut peers = Vec::new();
        let mut infos = HashMap::new();
        for &shard in shards {
            let peer = Self::open_peer(&cfg, &log, &sm, shard, &logger)?;
            infos.insert(shard, peer.info.clone());
            peers.push(peer);
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut store = RaftStore {
            cfg,
            log,
            sm,
            peers,
            rx,
        };
        // A single-voter shard need not wait an election timeout.
        for peer in &mut store.peers {
            let voters = peer.node.raft.prs().conf().voters().ids().len();
            if voters == 1 {
                let _ = peer.node.campaign();
            }
        }
        let handle = std::thread::Builder::new()
            .name("raft-store".into())
            .spawn(move || store.run())?;
        Ok((
            RaftRouter {
                tx,
                infos: Arc::new(infos),
            },
            handle,
        ))
    }

    fn open_peer(
        cfg: &RaftConfig,
        log: &RaftLog,
        sm: &SM,
        shard: ShardId,
        logger: &slog::Logger,
    ) -> io::Result<Peer<SM::Response>> {
        let persisted = log.load(shard)?;
        let storage = MemStorage::new();
        let conf_state = match persisted.conf_state {
            Some(cs) => cs,
            None => {
                // A new shard: this node is its only voter. Persist that
                // before anything else happens.
                let cs = ConfState {
                    voters: vec![cfg.node_id],
                    ..Default::default()
                };
                let mut batch = LogBatch::default();
                log.put_conf_state(&mut batch, shard, &cs)?;
                log.write(&mut batch, true)?;
                cs
            }
        };
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
            let applied = sm.applied_index(shard);
            let last = persisted.entries.last().map_or(index, |e| e.index);
            // Applied entries were committed, even if the commit index
            // written with the hard state lags behind.
            hs.commit = hs.commit.max(applied).min(last.max(index));
            core.set_hardstate(hs);
        }
        let applied = sm.applied_index(shard);
        let raft_cfg = raft::Config {
            id: cfg.node_id,
            election_tick: cfg.election_ticks,
            heartbeat_tick: cfg.heartbeat_ticks,
            applied,
            check_quorum: true,
            pre_vote: true,
            max_size_per_msg: 1024 * 1024,
            max_inflight_msgs: 256,
            max_committed_size_per_ready: 16 * 1024 * 1024,
            ..Default::default()
        };
        let node = RawNode::new(&raft_cfg, storage, logger).map_err(io::Error::other)?;
        let info = Arc::new(RwLock::new(ShardInfo {
            shard,
            ..Default::default()
        }));
        let mut peer = Peer {
            shard,
            node,
            pending: VecDeque::new(),
            info,
            hard_state_dirty: false,
        };
        publish(&mut peer, applied);
        Ok(peer)
    }

    fn run(mut self) {
        let tick = Duration::from_millis(self.cfg.tick_ms.max(1));
        let mut next_tick = Instant::now() + tick;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            let mut stop = false;
            match self.rx.recv_timeout(timeout) {
                Ok(msg) => stop |= self.on_msg(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
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
            if Instant::now() >= next_tick {
                for peer in &mut self.peers {
                    peer.node.tick();
                }
                next_tick = Instant::now() + tick;
            }
            self.on_ready();
            if stop {
                self.fail_all(ProposeError::Stopped);
                return;
            }
        }
    }

    /// Handles one message; returns whether the loop must stop.
    fn on_msg(&mut self, msg: Msg<SM::Response>) -> bool {
        match msg {
            Msg::Stop => true,
            Msg::Propose { shard, data, cb } => {
                metrics::counter!("redraft_raft_proposals_total").increment(1);
                let Some(peer) = self.peers.iter_mut().find(|p| p.shard == shard) else {
                    let _ = cb.send(Err(ProposeError::UnknownShard(shard)));
                    return false;
                };
                if peer.node.raft.state != StateRole::Leader {
                    let leader = Some(peer.node.raft.leader_id).filter(|&l| l != 0);
                    metrics::counter!("redraft_raft_proposals_rejected_total", "reason" => "not_leader")
                        .increment(1);
                    let _ = cb.send(Err(ProposeError::NotLeader { shard, leader }));
                    return false;
                }
                match peer.node.propose(Vec::new(), data) {
                    Ok(()) => {
                        let index = peer.node.raft.raft_log.last_index();
                        let term = peer.node.raft.term;
                        peer.pending.push_back(Pending { index, term, cb });
                    }
                    Err(_) => {
                        metrics::counter!("redraft_raft_proposals_rejected_total", "reason" => "dropped")
                            .increment(1);
                        let _ = cb.send(Err(ProposeError::Dropped));
                    }
                }
                false
            }
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
                    let hs = peer.node.store().rl().hard_state().clone();
                    self.log
                        .put_hard_state(&mut batch, peer.shard, &hs)
                        .unwrap_or_else(|e| fatal("encode hard state", e));
                    peer.hard_state_dirty = false;
                }
                continue;
            }
            let mut ready = self.peers[i].node.ready();
            // 1. Messages a leader may send before persisting.
            send_messages(ready.take_messages());
            // 2. A snapshot from the leader.
            if !ready.snapshot().is_empty() {
                let snap = ready.snapshot().clone();
                let peer = &mut self.peers[i];
                if let Err(e) = peer.node.mut_store().wl().apply_snapshot(snap) {
                    fatal("apply snapshot", e);
                }
            }
            // 3. Entries committed by a quorum.
            let committed = ready.take_committed_entries();
            self.apply(i, committed);
            // 4. New entries and hard state into the shared batch.
            let peer = &mut self.peers[i];
            if !ready.entries().is_empty() {
                self.log
                    .add_entries(&mut batch, peer.shard, ready.entries())
                    .unwrap_or_else(|e| fatal("encode entries", e));
                if let Err(e) = peer.node.mut_store().wl().append(ready.entries()) {
                    fatal("append entries", e);
                }
            }
            if let Some(hs) = ready.hs() {
                self.log
                    .put_hard_state(&mut batch, peer.shard, hs)
                    .unwrap_or_else(|e| fatal("encode hard state", e));
                peer.node.mut_store().wl().set_hardstate(hs.clone());
                peer.hard_state_dirty = false;
            }
            readies.push((i, ready));
        }
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
            send_messages(ready.take_persisted_messages());
            // 7. Advance; apply what became committed.
            let peer = &mut self.peers[i];
            let mut light = peer.node.advance(ready);
            if let Some(commit) = light.commit_index() {
                peer.node
                    .mut_store()
                    .wl()
                    .mut_hard_state()
                    .set_commit(commit);
                peer.hard_state_dirty = true;
            }
            send_messages(light.take_messages());
            let committed = light.take_committed_entries();
            self.apply(i, committed);
            let peer = &mut self.peers[i];
            peer.node.advance_apply();
            self.maybe_compact(i);
        }
        for peer in &mut self.peers {
            let applied = peer.node.raft.raft_log.applied;
            publish(peer, applied);
        }
    }

    /// Applies committed entries of peer `i` and answers their proposers.
    fn apply(&mut self, i: usize, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let peer = &mut self.peers[i];
        for e in &entries {
            if e.get_entry_type() != EntryType::EntryNormal {
                apply_conf_change(peer, &self.log, e);
            }
        }
        let data: Vec<(u64, &[u8])> = entries
            .iter()
            .map(|e| {
                let d: &[u8] = if e.get_entry_type() == EntryType::EntryNormal {
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
            if peer.pending.front().is_some_and(|p| p.index == entry.index) {
                if let Some(p) = peer.pending.pop_front() {
                    let outcome = if p.term == entry.term {
                        Ok(response)
                    } else {
                        Err(ProposeError::Dropped)
                    };
                    let _ = p.cb.send(outcome);
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
        if applied < first || applied - first < self.cfg.compact_log_entries {
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
        if let Err(e) = peer.node.mut_store().wl().compact(applied) {
            tracing::warn!(shard = peer.shard, "compact memory log: {e}");
        }
        metrics::counter!("redraft_raft_log_compactions_total").increment(1);
    }

    fn fail_all(&mut self, err: ProposeError) {
        for peer in &mut self.peers {
            for p in peer.pending.drain(..) {
                let _ = p.cb.send(Err(err.clone()));
            }
        }
    }
}

fn apply_conf_change<R>(peer: &mut Peer<R>, log: &RaftLog, e: &Entry) {
    use protobuf::Message as _;
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
            peer.node.mut_store().wl().set_conf_state(cs.clone());
            let mut batch = LogBatch::default();
            log.put_conf_state(&mut batch, peer.shard, &cs)
                .and_then(|_| log.write(&mut batch, true))
                .unwrap_or_else(|e| fatal("persist conf state", e));
        }
        Err(e) => tracing::warn!(shard = peer.shard, "conf change rejected: {e}"),
    }
}

/// Sends Raft messages to other nodes. There is no transport yet (every
/// shard has one voter), so there is nothing to send; count what is dropped.
fn send_messages(msgs: Vec<Message>) {
    if !msgs.is_empty() {
        metrics::counter!("redraft_raft_messages_dropped_total", "reason" => "no_transport")
            .increment(msgs.len() as u64);
    }
}

fn publish<R>(peer: &mut Peer<R>, applied: u64) {
    let raft = &peer.node.raft;
    let store = peer.node.store();
    let mut info = peer.info.write();
    info.role = role_of(raft.state);
    info.term = raft.term;
    info.leader = Some(raft.leader_id).filter(|&l| l != 0);
    info.commit_index = raft.raft_log.committed;
    info.applied_index = applied;
    info.first_log_index = store.first_index().unwrap_or(0);
    info.last_log_index = raft.raft_log.last_index();
}

/// raft-rs logs through slog; forward nothing but errors to stderr.
fn raft_logger() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}
