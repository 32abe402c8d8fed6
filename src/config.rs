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
    #[command(subcommand)]
    pub command: Option<Command>,

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

    /// Every node of the cluster as `ID=IP:PORT` (client addresses, this
    /// node included), comma-separated or repeated. Without it, the node
    /// is a one-node cluster.
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peers: Vec<PeerSpec>,

    /// Join the running cluster that the node at this client address
    /// (HOST:PORT) belongs to, instead of founding one with `--peers`. The
    /// cluster gives this node its id (kept in the data folder: a restart
    /// rejoins as the same node) and moves replicas onto it.
    #[arg(long, conflicts_with = "peers")]
    pub join: Option<std::net::SocketAddr>,

    /// The cluster bus listens on the client port plus this offset
    /// (Redis's convention: 10000).
    #[arg(long, default_value_t = 10_000)]
    pub bus_port_offset: u16,

    /// Number of shards (Raft groups) the 16384 slots are split into
    /// [default: one per node].
    #[arg(long)]
    pub shards: Option<u16>,

    /// Replicas per shard (Raft voters), at most the number of nodes.
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,

    /// PEM certificate of this node for the cluster bus (mutual TLS;
    /// needs --tls-key and --tls-ca). Without it the bus is plain TCP.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key matching --tls-cert.
    #[arg(long, requires_all = ["tls_cert", "tls_ca"])]
    pub tls_key: Option<PathBuf>,

    /// PEM certificate of the cluster CA: peers must present a certificate
    /// it signed.
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,

    /// Milliseconds per Raft tick (heartbeats every 2 ticks, elections after 10).
    #[arg(long, default_value_t = 100)]
    pub raft_tick_ms: u64,

    /// Compact a shard's Raft log once this many applied entries precede it.
    #[arg(long, default_value_t = 20_000)]
    pub raft_compact_entries: u64,

    /// Or once this many MiB of entries were appended since the last
    /// compaction (the uncompacted log is also held in memory).
    #[arg(long, default_value_t = 16)]
    pub raft_compact_mib: u64,

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

    /// Seconds between anti-entropy checks of each shard this node leads:
    /// every replica digests the shard at the same Raft index and a replica
    /// whose data differs from the majority's is repaired by a snapshot
    /// (docs/architecture/anti-entropy.md). 0 turns checks off.
    #[arg(long, default_value_t = 300)]
    pub anti_entropy_secs: u64,

    /// A node silent (no gossip) for this many seconds is drained
    /// automatically: its replicas are rebuilt on the other nodes and it
    /// leaves the cluster (it must rejoin with an empty folder). Only while
    /// more nodes than replicas per shard remain. 0 never does.
    #[arg(long, default_value_t = 60)]
    pub node_down_secs: u64,

    /// Whether DEBUG subcommands that change this node's data behind
    /// Raft's back (DEBUG REDRAFT-CORRUPT, for testing anti-entropy) may
    /// run: `no`, `yes`, or `local` (from loopback connections only), as
    /// Redis's enable-debug-command. DEBUG DIGEST is always allowed.
    #[arg(long, value_enum, default_value_t = ProtectedMode::No)]
    pub enable_debug_command: ProtectedMode,

    /// UNSAFE, for testing the crash checkers only: do not fsync the Raft
    /// log, so acknowledged writes can be lost on a crash.
    #[arg(long, hide = true, default_value_t = false)]
    pub unsafe_no_fsync: bool,

    /// UNSAFE, for testing the fault-injection checkers only: every
    /// replica answers reads from its own state, as if every connection
    /// had sent READONLY, so reads can be stale (not linearizable).
    #[arg(long, hide = true, default_value_t = false)]
    pub unsafe_stale_reads: bool,
}

/// Who may run a protected command (Redis's `enable-debug-command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtectedMode {
    No,
    Yes,
    Local,
}

impl ProtectedMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtectedMode::No => "no",
            ProtectedMode::Yes => "yes",
            ProtectedMode::Local => "local",
        }
    }

    /// Whether a client connected from `peer` may run the command.
    pub fn allows(self, peer: std::net::SocketAddr) -> bool {
        match self {
            ProtectedMode::No => false,
            ProtectedMode::Yes => true,
            ProtectedMode::Local => peer.ip().to_canonical().is_loopback(),
        }
    }
}

/// Tools run instead of a node.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Drains a node: its replicas move to the other nodes (Raft conf
    /// changes, while clients keep working), its leaderships move away,
    /// and it leaves the cluster and shuts down. Returns once it left.
    Drain {
        /// The node: its Raft id, or its 40-hex id (CLUSTER NODES).
        node: String,
        /// Any node of the cluster (client address).
        #[arg(long, default_value = "127.0.0.1:7001")]
        via: std::net::SocketAddr,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
    },
    /// Writes a development CA and node certificates for the cluster bus's
    /// mutual TLS (ca.pem, ca-key.pem, <name>.pem, <name>-key.pem); an
    /// existing CA in the folder is reused.
    Certs {
        /// Folder to write the files to.
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// A node as NAME=IP[+IP…] (repeatable)
        /// [default: node1, node2, node3 on 127.0.0.1].
        #[arg(long = "node", value_parser = parse_cert_node)]
        nodes: Vec<(String, Vec<IpAddr>)>,
    },
}

fn parse_cert_node(s: &str) -> Result<(String, Vec<IpAddr>), String> {
    let (name, ips) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected NAME=IP[+IP...]"))?;
    let ips = ips
        .split('+')
        .map(|ip| ip.trim().parse().map_err(|e| format!("'{ip}': {e}")))
        .collect::<Result<Vec<IpAddr>, String>>()?;
    Ok((name.trim().to_string(), ips))
}

/// One node of the cluster: its Raft id and client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerSpec {
    pub id: u64,
    pub addr: std::net::SocketAddr,
}

fn parse_peer(s: &str) -> Result<PeerSpec, String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected ID=IP:PORT"))?;
    let id: u64 = id
        .trim()
        .parse()
        .ok()
        .filter(|&i| i > 0)
        .ok_or_else(|| format!("'{id}': a node id is a positive integer"))?;
    let addr = addr
        .trim()
        .parse()
        .map_err(|e| format!("'{addr}': {e} (expected IP:PORT)"))?;
    Ok(PeerSpec { id, addr })
}

impl Config {
    /// The nodes of the cluster, sorted by id; this node alone when
    /// `--peers` is not given.
    pub fn nodes(&self) -> Vec<PeerSpec> {
        let mut v = self.peers.clone();
        if v.is_empty() {
            v.push(PeerSpec {
                id: self.raft_id.max(1),
                addr: std::net::SocketAddr::new(self.announce_ip(), self.port),
            });
        }
        v.sort_by_key(|p| p.id);
        v.dedup_by_key(|p| p.id);
        v
    }

    /// The shard count: `--shards`, or one per node.
    pub fn shard_count(&self) -> u16 {
        self.shards
            .unwrap_or(self.nodes().len().min(usize::from(u16::MAX)) as u16)
            .clamp(1, redraft_cluster::SLOT_COUNT)
    }

    /// The cluster bus address of a node with client address `addr`.
    pub fn bus_addr(&self, addr: std::net::SocketAddr) -> std::net::SocketAddr {
        std::net::SocketAddr::new(addr.ip(), addr.port().wrapping_add(self.bus_port_offset))
    }

    /// The IP clients are told to connect to.
    pub fn announce_ip(&self) -> IpAddr {
        self.announce_ip.unwrap_or(if self.bind.is_unspecified() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            self.bind
        })
    }
}
