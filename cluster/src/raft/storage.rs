//! A replica's raft-rs `Storage`: the in-memory log (`MemStorage`) plus
//! snapshots prepared by the store loop.
//!
//! raft-rs asks `Storage::snapshot` for a snapshot in the middle of a
//! `step` when a follower needs entries that were compacted away. Building
//! one means scanning the shard's slot ranges in the data engine, which the
//! storage cannot reach, so the first call answers
//! `SnapshotTemporarilyUnavailable` and raises a flag; the store loop sees
//! the flag after the step, asks the state machine for the shard's data
//! (consistent at the applied index, because apply runs on the same thread)
//! and parks the snapshot here. raft-rs retries on the next heartbeat
//! response and then gets it. A parked snapshot is reused for every
//! follower that needs one until log compaction makes it useless, or
//! until a replica that its configuration does not name asks (a replica
//! added since: it would refuse it).

use std::sync::Arc;

use parking_lot::Mutex;
use raft::eraftpb::{Entry, HardState, Snapshot};
use raft::storage::MemStorage;
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

#[derive(Default)]
struct SnapSlot {
    /// The last prepared snapshot.
    ready: Option<Snapshot>,
    /// raft-rs asked for a snapshot newer than `ready` (at least this index).
    wanted: Option<u64>,
}

/// Cheap to clone: shares the log and the snapshot slot.
#[derive(Clone)]
pub(crate) struct PeerStorage {
    pub mem: MemStorage,
    snap: Arc<Mutex<SnapSlot>>,
}

impl PeerStorage {
    pub fn new(mem: MemStorage) -> PeerStorage {
        PeerStorage {
            mem,
            snap: Arc::default(),
        }
    }

    /// The minimum index raft-rs asked a snapshot for, if it is waiting.
    pub fn snapshot_wanted(&self) -> Option<u64> {
        self.snap.lock().wanted
    }

    /// Parks a prepared snapshot for raft-rs's next request.
    pub fn park_snapshot(&self, snap: Snapshot) {
        let mut slot = self.snap.lock();
        slot.wanted = None;
        slot.ready = Some(snap);
    }

    /// Drops the parked snapshot: the configuration changed, and a replica
    /// added since (or added again) must get one that names it, taken
    /// after the change.
    pub fn forget_snapshot(&self) {
        self.snap.lock().ready = None;
    }

    pub fn hard_state(&self) -> HardState {
        self.mem.rl().hard_state().clone()
    }
}

impl Storage for PeerStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let first = self.mem.first_index()?;
        let mut slot = self.snap.lock();
        if let Some(s) = &slot.ready {
            let index = s.get_metadata().index;
            let cs = s.get_metadata().get_conf_state();
            // A replica added after the snapshot was taken is not in its
            // configuration and would refuse it.
            let names_to = [
                &cs.voters,
                &cs.learners,
                &cs.voters_outgoing,
                &cs.learners_next,
            ]
            .iter()
            .any(|ids| ids.contains(&to));
            // Usable if the log still continues right after it.
            if index >= request_index && index + 1 >= first && names_to {
                return Ok(s.clone());
            }
        }
        slot.ready = None;
        slot.wanted = Some(request_index.max(slot.wanted.unwrap_or(0)));
        Err(raft::Error::Store(
            StorageError::SnapshotTemporarilyUnavailable,
        ))
    }
}
