//! # redraft: a Redis-compatible, sharded, Raft-replicated key-value node
//!
//! A request travels through one module per stage:
//!
//! - [`server`]: accepts client connections.
//! - [`connection`]: reads bytes, parses requests (`redraft_resp`), keeps
//!   pipelined replies in order, writes replies.
//! - [`dispatch`]: looks the command up in the table, checks arity, auth and
//!   CROSSSLOT, routes it, runs reads and proposes writes.
//! - [`cmd`]: the command table and one file per command family.
//! - [`proposal`]: what a Raft entry carries (commands + time + seed).
//! - [`apply`]: the state machine: applies committed proposals to the
//!   engine in one batch with the applied index.
//! - [`keyspace`]: Redis types over the ordered key/value engine.
//! - [`engine`]: the storage engines (fjall, sled, memory).
//! - [`node`]: what a node owns: engine, Raft store, clients, slot map.
//! - [`expire`]: the active expiry sweeper (proposes deletions of expired
//!   keys on the shards this node leads).
//! - [`meta`]: the cluster map this node goes by, and the metadata group's
//!   state machine (shard 0).
//! - [`membership`]: joining, the first map, and moving replicas to the
//!   ring placement of the map's nodes.
//!
//! ## Invariants
//! - A write is acknowledged only after its Raft entry is durable on a
//!   quorum and applied; a write that cannot be persisted is never
//!   acknowledged (the node aborts instead).
//! - Replies leave a connection in the order requests arrived.
//!
//! ## CAVEATS
//! - Nodes can join (`--join`) but not yet leave (no drain), and a node
//!   down for long is not replaced; slot ranges are fixed by the shard
//!   count.

pub mod admin;
pub mod apply;
pub mod blocking;
pub mod bus;
pub mod certs;

pub mod clock;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod dispatch;
pub mod engine;
pub mod expire;
pub mod gossip;
pub mod info;
pub mod keyspace;
pub mod membership;
pub mod meta;
pub mod migration;
pub mod node;
pub mod proposal;
pub mod server;
pub mod session;
pub mod settings;
