//! # redraft: a Redis-compatible, sharded, Raft-replicated key-value node
pub mod engine;
