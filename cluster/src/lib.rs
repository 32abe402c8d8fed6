//! # redraft-cluster: slots, shards and their Raft replication
//!
//! This crate owns everything about *where* data lives and *how* it is
//! agreed on: the 16384 hash slots, shards (one Raft group each, owning
//! slot ranges), and the multi-raft store that drives every replica a node
//! hosts. It knows nothing about RESP, commands or the data engine: a
//! shard's state machine is a trait ([`StateMachine`]) that the node
//! implements, and proposals are opaque bytes.
//!
//! Modules:
//! - [`slots`]: `CRC16 mod 16384` with hash tags, slot ranges.
//! - [`meta`]: the cluster map, state of the metadata group (shard 0).
//! - [`placement`]: replica sets on a consistent-hash ring, balanced
//!   preferred leaders, and how many replicas a membership change moves.
//! - [`raft`]: the multi-raft store: one thread drives every local replica
//!   through raft-rs's Ready cycle, persisting the Raft log of all shards in
//!   one `raft-engine` instance with one fsync per cycle (group commit).
//!
//! ## Invariants
//! - A proposal's response is sent only after its entry was persisted by a
//!   quorum and applied by the state machine.
//! - The state machine stores its applied index atomically with the data
//!   that index produced, so a restart replays exactly the entries after it.
//!
//! ## CAVEATS
//! - Slot ranges are fixed by the shard count (no split or migration yet).

pub mod bus;
pub mod meta;
pub mod placement;
pub mod raft;
pub mod slots;

pub use bus::{Bus, BusConfig, BusInbox, BusStats, TlsPaths};
pub use raft::{
    Digest, DigestJob, NoTransport, PartHasher, ProposeError, RaftConfig, RaftMessage, RaftRouter,
    RaftStore, ShardBootstrap, ShardId, ShardInfo, ShardRole, StateMachine, StoreStats, Transport,
    INIT_INDEX,
};
pub use slots::{key_slot, Slot, SlotRange, SLOT_COUNT};
