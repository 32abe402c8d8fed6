//! Command-line flags (clap). Every flag has a documented default.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::engine::EngineKind;

#[derive(Parser, Clone, Debug)]
#[command(
    name = "redraft",
    version,
    about = "A Redis-compatible, sharded, Raft-replicated key-value node",
    long_about = "Serves RESP2/RESP3 on the client port with Redis Cluster semantics \
                  (16384 hash slots, MOVED/ASK). Every write is proposed to the owning \
                  shard's Raft group and persisted (fsync) before it is acknowledged."
)]
pub struct Config {
    /// Client port (RESP).
    #[arg(long, default_value_t = 6379)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Address announced to clients in MOVED and CLUSTER replies
    /// [default: the bind address, or 127.0.0.1 when binding 0.0.0.0].
    #[arg(long)]
    pub announce_ip: Option<IpAddr>,

    /// Data folder: the engine's files, the Raft log and the node id.
    #[arg(long, default_value = "./data")]
    pub dir: PathBuf,

    /// Storage engine for the data.
    #[arg(long, value_enum, default_value_t = EngineKind::Fjall)]
    pub engine: EngineKind,

    /// This node's Raft id (non-zero, unique in the cluster).
    #[arg(long, default_value_t = 1)]
    pub raft_id: u64,

    /// Number of shards (Raft groups) the 16384 slots are split into.
    #[arg(long, default_value_t = 1)]
    pub shards: u16,

    /// Milliseconds per Raft tick (heartbeats every 2 ticks, elections after 10).
    #[arg(long, default_value_t = 100)]
    pub raft_tick_ms: u64,

    /// Compact a shard's Raft log once this many applied entries precede it.
    #[arg(long, default_value_t = 20_000)]
    pub raft_compact_entries: u64,

    /// Largest bulk string a client may send, in bytes (proto-max-bulk-len).
    #[arg(long, default_value_t = 512 * 1024 * 1024)]
    pub proto_max_bulk_len: u64,

    /// Password clients must AUTH with (requirepass); none by default.
    #[arg(long)]
    pub requirepass: Option<String>,

    /// Most simultaneous client connections (maxclients).
    #[arg(long, default_value_t = 10_000)]
    pub maxclients: usize,

    /// Milliseconds between active expiry sweeps (0 disables the sweeper).
    #[arg(long, default_value_t = 100)]
    pub expire_sweep_ms: u64,

    /// Address of a Prometheus metrics endpoint (host:port); off by default.
    #[arg(long)]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Log filter (tracing EnvFilter syntax); RUST_LOG overrides it.
    #[arg(long, default_value = "info")]
    pub log: String,

    /// UNSAFE, for testing the crash checkers only: do not fsync the Raft
    /// log, so acknowledged writes can be lost on a crash.
    #[arg(long, hide = true, default_value_t = false)]
    pub unsafe_no_fsync: bool,
}

impl Config {
    /// The IP clients are told to connect to.
    pub fn announce_ip(&self) -> IpAddr {
        self.announce_ip.unwrap_or(if self.bind.is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.bind
        })
    }
}
