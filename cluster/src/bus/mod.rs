//! # The cluster bus: Raft messages between nodes
//!
//! Every node runs one [`Bus`]: a gRPC server (tonic) that receives Raft
//! messages from its peers and hands them to a [`BusInbox`], and one
//! sender task per peer that carries the messages the local Raft store
//! queues with [`Bus::send`]. The Raft store runs on a plain thread and
//! must never wait for the network, so `send` only pushes onto a bounded
//! per-peer queue; when that queue is full or the peer is down the
//! messages are dropped (Raft retransmits) and the inbox is told the peer
//! is unreachable.
//!
//! ## Wire format (`proto/bus.proto`, service `redraft.bus.Bus`)
//! - `Raft(stream RaftBatch) returns (RaftDone)`: one long-lived
//!   client-streaming call per (sender, receiver) pair. Each `RaftBatch`
//!   is `{ from_node, repeated Envelope { shard, msg } }` and holds every
//!   message queued for that peer when the sender task woke up (split at
//!   [`MAX_BATCH_BYTES`]). `msg` is the raft crate's own protobuf-2
//!   encoding of `raft::eraftpb::Message`, so raft-rs's codec never meets
//!   prost. One stream per peer keeps a peer's messages in order.
//! - `Snapshot(stream SnapshotChunk) returns (SnapshotDone)`: one call per
//!   `MsgSnapshot`, on its own connection so a snapshot of tens of MB never
//!   delays the heartbeats and appends on the `Raft` stream. The first
//!   chunk carries `from_node`, `shard`, `total_len` and the message with
//!   `snapshot.data` removed; the data follows in [`SNAPSHOT_CHUNK_BYTES`]
//!   pieces. The receiver reassembles it, checks the length, delivers it
//!   with [`BusInbox::deliver`] and only then answers; the sender then
//!   reports [`BusInbox::snapshot_status`] (`ok = false` on any failure or
//!   after [`SNAPSHOT_TIMEOUT`]).
//!
//! A stream that breaks is reconnected with exponential backoff capped at
//! [`BACKOFF_MAX`] (500 ms), so a restarted peer is reached again quickly.
//! HTTP/2 keepalive pings (every [`KEEPALIVE_INTERVAL`]) detect a peer that
//! vanished without closing its connection. While a peer is down, messages
//! for it are dropped at once rather than queued, so nothing stale is sent
//! when it comes back.
//!
//! A malformed message (undecodable envelope, bad snapshot stream) is
//! logged and dropped; the receiver never panics on input.
//!
//! - `Gossip(GossipState) returns (GossipState)`: push-pull gossip, every
//!   [`GOSSIP_INTERVAL`] with each peer on a connection of its own: what
//!   the caller knows of each shard's leader (term, leader, voters) in,
//!   the callee's state out. Both go to [`BusInbox::on_gossip`].
//!
//! ## TLS
//! With [`BusConfig::tls`] set, the bus uses mutual TLS (rustls with the
//! ring provider, through tonic's `tls-ring`): the server requires a client
//! certificate signed by the cluster CA and refuses the handshake
//! otherwise; the client presents its own certificate and verifies the
//! server's against the same CA. Nodes dial each other by IP address, but
//! the name verified (and sent as SNI) is the fixed [`TLS_SERVER_NAME`]
//! (`redraft-node`), which every node certificate carries as a DNS SAN
//! next to its IPs. Trust is therefore "holds a certificate from the
//! cluster CA", not "is the node at this address". The material is checked
//! at start (readable PEM, key matches certificate, certificate chains to
//! the CA and names `redraft-node`); a bad file makes [`Bus::start`] fail.
//! Without TLS the bus is plaintext and says so with a WARN log and
//! [`Bus::is_plaintext`].
//!
//! ## Callbacks
//! [`BusInbox`] methods run on the bus's tokio runtime, never inside
//! [`Bus::send`], so the Raft thread is never re-entered.
//! `unreachable` is reported at most once per [`UNREACHABLE_INTERVAL`] per
//! peer.
//!
//! ## Metrics
//! Counters `redraft_bus_messages_sent_total`,
//! `redraft_bus_messages_received_total`, `redraft_bus_snapshots_sent_total`,
//! `redraft_bus_snapshots_received_total`, `redraft_bus_send_dropped_total`
//! (label `reason`: `queue_full`, `peer_down`, `unknown_peer`,
//! `encode_error`) and `redraft_bus_malformed_total`; the same counts are
//! in [`Bus::stats`].
//!
//! ## CAVEATS
//! - The sending node's id (`from_node`) is taken from the message, not
//!   from its certificate: any holder of a cluster certificate can claim to
//!   be any node.
//! - "Sent" means handed to the HTTP/2 stream; messages buffered in a
//!   stream that then breaks are lost (Raft retransmits).
//! - A snapshot is held in memory whole on both sides (raft-rs's snapshot
//!   data is one buffer).
//! - After a reconnect, a message still in flight on the old stream may be
//!   delivered after the first messages of the new one; Raft tolerates
//!   reordering, the bus only guarantees order within one stream.

mod gossip;
mod peer;
pub(crate) mod proto;
mod server;
mod tls;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use raft::eraftpb::{Message, MessageType};
use tokio::sync::{watch, Semaphore};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{ClientTlsConfig, Server};
use tracing::{error, info, warn};

pub use gossip::{GossipState, ShardLead, GOSSIP_INTERVAL};
pub use tls::TLS_SERVER_NAME;

/// The Raft message type the bus carries (raft-rs's `eraftpb::Message`).
pub use raft::eraftpb::Message as RaftMessage;

use peer::Peer;

/// Messages one peer's queue holds before [`Bus::send`] drops.
pub const PEER_QUEUE_MESSAGES: usize = 8192;
/// A `RaftBatch` is split once its encoded messages exceed this.
pub const MAX_BATCH_BYTES: usize = 8 << 20;
/// Largest gRPC message either side accepts or sends (one Raft message
/// with big entries must fit).
pub const MAX_GRPC_MESSAGE_BYTES: usize = 256 << 20;
/// Size of one snapshot data chunk.
pub const SNAPSHOT_CHUNK_BYTES: usize = 1 << 20;
/// A snapshot transfer taking longer than this fails.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(600);
/// Snapshot transfers running at once (all peers together).
pub const MAX_CONCURRENT_SNAPSHOTS: usize = 4;
/// First reconnect delay after a failure.
pub const BACKOFF_MIN: Duration = Duration::from_millis(20);
/// Longest reconnect delay.
pub const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// TCP connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// HTTP/2 keepalive ping interval (both directions).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// A connection whose keepalive ping is unanswered this long is closed.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(2);
/// `BusInbox::unreachable` is called at most once per this, per peer.
pub const UNREACHABLE_INTERVAL: Duration = Duration::from_millis(100);

const STREAM_WINDOW: u32 = 4 << 20;
const CONNECTION_WINDOW: u32 = 16 << 20;

/// The PEM files of a node's bus TLS identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsPaths {
    /// The node's certificate (chain), PEM.
    pub cert: PathBuf,
    /// The node's private key, PEM.
    pub key: PathBuf,
    /// The cluster CA certificate, PEM.
    pub ca: PathBuf,
}

/// How to start a [`Bus`].
#[derive(Clone, Debug)]
pub struct BusConfig {
    /// This node's id, sent as `from_node`.
    pub node_id: u64,
    /// Address the bus server listens on (port 0 picks a free port; see
    /// [`Bus::local_addr`]).
    pub listen: SocketAddr,
    /// Mutual TLS material; `None` runs the bus in plaintext.
    pub tls: Option<TlsPaths>,
}

/// What the bus delivers to. Implemented by the node; every method must be
/// cheap and non-blocking (they run on the bus's tokio runtime).
pub trait BusInbox: Send + Sync + 'static {
    /// Raft messages received from a peer, each tagged with its shard id,
    /// in the order the peer sent them.
    fn deliver(&self, from_node: u64, msgs: Vec<(u64, Message)>);
    /// Sending to `node` failed (connection down or queue full); Raft
    /// should be told `report_unreachable`. Rate-limited per node.
    fn unreachable(&self, node: u64);
    /// A `MsgSnapshot` for `shard` to `node` was delivered (`ok = true`) or
    /// failed (`ok = false`).
    fn snapshot_status(&self, shard: u64, node: u64, ok: bool);
    /// What this node gossips now (`from_node` is filled in by the bus).
    fn gossip_state(&self) -> GossipState {
        GossipState::default()
    }
    /// A peer's gossip arrived (it called us, or answered our call).
    fn on_gossip(&self, _state: GossipState) {}
    /// A node asks to join the cluster with client address `addr`. The
    /// default refuses (a bus without a cluster map behind it).
    /// A peer asks this node to propose `data` to `shard` (which it must
    /// lead), answered once applied. The default refuses.
    fn propose(&self, shard: u64, data: Vec<u8>) -> ProposeFuture {
        let _ = (shard, data);
        Box::pin(async {
            ProposeReply {
                error: "this node takes no proposals".into(),
                ..Default::default()
            }
        })
    }
    fn join(&self, addr: String) -> JoinFuture {
        let _ = addr;
        Box::pin(async {
            JoinReply {
                error: "this node does not take joins".into(),
                ..Default::default()
            }
        })
    }
}

/// What [`BusInbox::propose`] answers, later.
pub type ProposeFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ProposeReply> + Send>>;

pub use proto::ProposeReply;

/// What [`BusInbox::join`] answers, later.
pub type JoinFuture = std::pin::Pin<Box<dyn std::future::Future<Output = JoinReply> + Send>>;

pub use proto::JoinReply;

/// Asks the node whose bus listens at `seed` to let this node join with
/// client address `addr`. One call, no retries (the caller follows
/// `JoinReply::leader`).
pub async fn join(
    seed: SocketAddr,
    tls: Option<&TlsPaths>,
    addr: &str,
) -> std::io::Result<JoinReply> {
    let client_tls = match tls {
        Some(paths) => Some(tls::load(paths)?.client),
        None => None,
    };
    let channel = peer::connect_with(client_tls.as_ref(), seed)
        .await
        .map_err(|e| std::io::Error::other(format!("cluster bus at {seed}: {e}")))?;
    let mut rpc = peer::client(channel);
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        rpc.join(proto::JoinRequest {
            addr: addr.to_string(),
        }),
    )
    .await
    .map_err(|_| std::io::Error::other(format!("join via {seed}: no answer in 30 s")))?
    .map_err(|s| std::io::Error::other(format!("join via {seed}: {s}")))?;
    Ok(reply.into_inner())
}

/// Counts of the bus's traffic since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Raft messages handed to a peer's stream (snapshots not included).
    pub messages_sent: u64,
    /// Raft messages received and delivered (snapshots not included).
    pub messages_received: u64,
    /// Snapshots the receiver acknowledged.
    pub snapshots_sent: u64,
    /// Snapshots received whole and delivered.
    pub snapshots_received: u64,
    /// Messages dropped on the sending side.
    pub send_dropped: u64,
    /// Received messages dropped as malformed.
    pub malformed: u64,
}

#[derive(Default)]
struct Counters {
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
    snapshots_sent: AtomicU64,
    snapshots_received: AtomicU64,
    send_dropped: AtomicU64,
    malformed: AtomicU64,
}

/// Why a message was dropped before it was sent.
#[derive(Clone, Copy, Debug)]
enum DropReason {
    QueueFull,
    PeerDown,
    UnknownPeer,
    EncodeError,
}

impl DropReason {
    fn label(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::PeerDown => "peer_down",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::EncodeError => "encode_error",
        }
    }
}

/// State shared by the handle, the server and the sender tasks.
struct Shared {
    node_id: u64,
    local_addr: SocketAddr,
    inbox: Arc<dyn BusInbox>,
    rt: tokio::runtime::Handle,
    client_tls: Option<ClientTlsConfig>,
    peers: RwLock<HashMap<u64, Arc<Peer>>>,
    /// Last `unreachable` report (ms since `epoch`, +1) for nodes without
    /// a peer entry.
    unknown_reported: Mutex<HashMap<u64, u64>>,
    counters: Counters,
    shutdown_tx: watch::Sender<bool>,
    snapshot_slots: Arc<Semaphore>,
    epoch: Instant,
}

impl Shared {
    fn is_shut_down(&self) -> bool {
        *self.shutdown_tx.borrow()
    }

    fn shutdown_rx(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// True when a report stamped in `last` is old enough to report again;
    /// stamps it.
    fn may_report(&self, last: &AtomicU64) -> bool {
        let now = self.now_ms();
        let prev = last.load(Ordering::Relaxed);
        if prev != 0 && now.saturating_sub(prev) < UNREACHABLE_INTERVAL.as_millis() as u64 {
            return false;
        }
        last.compare_exchange(prev, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Tells the inbox `node` is unreachable, from a tokio task, at most
    /// once per [`UNREACHABLE_INTERVAL`].
    fn report_unreachable(&self, node: u64, last: &AtomicU64) {
        if self.is_shut_down() || !self.may_report(last) {
            return;
        }
        let inbox = self.inbox.clone();
        self.rt.spawn(async move { inbox.unreachable(node) });
    }

    fn report_unknown_unreachable(&self, node: u64) {
        if self.is_shut_down() {
            return;
        }
        let now = self.now_ms();
        {
            let mut reported = self.unknown_reported.lock();
            let last = reported.entry(node).or_insert(0);
            if *last != 0 && now.saturating_sub(*last) < UNREACHABLE_INTERVAL.as_millis() as u64 {
                return;
            }
            *last = now;
        }
        let inbox = self.inbox.clone();
        self.rt.spawn(async move { inbox.unreachable(node) });
    }

    /// This node's gossip, as sent: the inbox's state, signed with our id.
    fn local_gossip(&self) -> proto::GossipState {
        let mut state = self.inbox.gossip_state();
        state.from_node = self.node_id;
        state.to_proto()
    }

    fn count_dropped(&self, n: usize, reason: DropReason) {
        if n == 0 {
            return;
        }
        self.counters
            .send_dropped
            .fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!("redraft_bus_send_dropped_total", "reason" => reason.label())
            .increment(n as u64);
    }

    fn count_sent(&self, n: usize) {
        self.counters
            .messages_sent
            .fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!("redraft_bus_messages_sent_total").increment(n as u64);
    }

    fn count_received(&self, n: usize) {
        self.counters
            .messages_received
            .fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!("redraft_bus_messages_received_total").increment(n as u64);
    }

    fn count_malformed(&self) {
        self.counters.malformed.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("redraft_bus_malformed_total").increment(1);
    }

    fn count_snapshot_sent(&self) {
        self.counters.snapshots_sent.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("redraft_bus_snapshots_sent_total").increment(1);
    }

    fn count_snapshot_received(&self) {
        self.counters
            .snapshots_received
            .fetch_add(1, Ordering::Relaxed);
        metrics::counter!("redraft_bus_snapshots_received_total").increment(1);
    }
}

/// The cluster bus of one node. Cheap to clone; all clones are the same
/// bus.
#[derive(Clone)]
pub struct Bus {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("node_id", &self.shared.node_id)
            .field("local_addr", &self.shared.local_addr)
            .field("tls", &self.shared.client_tls.is_some())
            .finish()
    }
}

impl Bus {
    /// Binds `cfg.listen` and starts the gRPC server. Must be called inside
    /// a tokio runtime; the bus's tasks run on that runtime.
    ///
    /// Logs a WARN when `cfg.tls` is `None` (plaintext bus). Fails if the
    /// address cannot be bound or the TLS files are unreadable or invalid.
    pub async fn start(cfg: BusConfig, inbox: Arc<dyn BusInbox>) -> std::io::Result<Bus> {
        let rt = tokio::runtime::Handle::current();
        let (server_tls, client_tls) = match &cfg.tls {
            Some(paths) => {
                let material = tls::load(paths)?;
                (Some(material.server), Some(material.client))
            }
            None => (None, None),
        };
        let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
        let local_addr = listener.local_addr()?;
        if client_tls.is_none() {
            warn!(
                node = cfg.node_id,
                addr = %local_addr,
                "cluster bus is PLAINTEXT: no TLS configured, traffic between nodes is neither \
                 encrypted nor authenticated"
            );
        }

        let (shutdown_tx, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            node_id: cfg.node_id,
            local_addr,
            inbox,
            rt,
            client_tls,
            peers: RwLock::new(HashMap::new()),
            unknown_reported: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            shutdown_tx,
            snapshot_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_SNAPSHOTS)),
            epoch: Instant::now(),
        });

        let mut builder = Server::builder()
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW);
        if let Some(tls) = server_tls {
            builder = builder.tls_config(tls).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bus TLS: {e}"))
            })?;
        }
        let router = builder.add_service(server::service(shared.clone()));
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let mut stop = shared.shutdown_rx();
        tokio::spawn(async move {
            let signal = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = router.serve_with_incoming_shutdown(incoming, signal).await {
                error!(error = %e, "cluster bus server failed");
            }
        });
        info!(
            node = cfg.node_id,
            addr = %local_addr,
            tls = shared.client_tls.is_some(),
            "cluster bus listening"
        );
        Ok(Bus { shared })
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.shared.node_id
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// True when the bus runs without TLS.
    pub fn is_plaintext(&self) -> bool {
        self.shared.client_tls.is_none()
    }

    /// Sets or replaces the bus address of peer `node`. A changed address
    /// makes the peer's sender reconnect at once.
    pub fn set_peer(&self, node: u64, addr: SocketAddr) {
        if self.shared.is_shut_down() {
            return;
        }
        if let Some(peer) = self.shared.peers.read().get(&node) {
            peer.set_addr(addr);
            return;
        }
        let mut peers = self.shared.peers.write();
        if let Some(peer) = peers.get(&node) {
            peer.set_addr(addr);
            return;
        }
        peers.insert(node, Peer::spawn(&self.shared, node, addr));
    }

    /// Forgets peer `node` and stops its sender; queued messages are lost.
    pub fn remove_peer(&self, node: u64) {
        if let Some(peer) = self.shared.peers.write().remove(&node) {
            peer.stop();
        }
    }

    /// The address set for `node`, if any.
    /// Asks peer `node` to propose `data` to `shard` (see
    /// [`BusInbox::propose`]); one call, answered once applied, or an
    /// error after `timeout`.
    pub async fn propose(
        &self,
        node: u64,
        shard: u64,
        data: Vec<u8>,
        timeout: Duration,
    ) -> std::io::Result<ProposeReply> {
        let addr = self
            .peer_addr(node)
            .ok_or_else(|| std::io::Error::other(format!("no bus address for node {node}")))?;
        let channel = peer::connect(&self.shared, addr)
            .await
            .map_err(|e| std::io::Error::other(format!("cluster bus at {addr}: {e}")))?;
        let mut rpc = peer::client(channel);
        let reply = tokio::time::timeout(
            timeout,
            rpc.propose(proto::ProposeRequest {
                shard,
                data: data.into(),
            }),
        )
        .await
        .map_err(|_| std::io::Error::other(format!("propose via node {node}: no answer in time")))?
        .map_err(|s| std::io::Error::other(format!("propose via node {node}: {s}")))?;
        Ok(reply.into_inner())
    }

    pub fn peer_addr(&self, node: u64) -> Option<SocketAddr> {
        self.shared.peers.read().get(&node).map(|p| p.addr())
    }

    /// True while the stream to `node` is connected.
    pub fn is_connected(&self, node: u64) -> bool {
        self.shared
            .peers
            .read()
            .get(&node)
            .is_some_and(|p| p.is_up())
    }

    /// Queues `msgs` (shard, message) for node `to`. Never blocks; callable
    /// from any thread (not only inside the runtime).
    ///
    /// Messages that do not fit the peer's queue, or are for a peer that
    /// is down or unknown, are dropped and `to` is reported unreachable
    /// (rate-limited). A `MsgSnapshot` goes on its own transfer and is
    /// answered with [`BusInbox::snapshot_status`].
    pub fn send(&self, to: u64, msgs: Vec<(u64, Message)>) {
        if msgs.is_empty() || self.shared.is_shut_down() {
            return;
        }
        let peer = self.shared.peers.read().get(&to).cloned();
        let Some(peer) = peer else {
            let mut dropped = 0;
            for (shard, msg) in msgs {
                if msg.get_msg_type() == MessageType::MsgSnapshot {
                    let inbox = self.shared.inbox.clone();
                    self.shared
                        .rt
                        .spawn(async move { inbox.snapshot_status(shard, to, false) });
                } else {
                    dropped += 1;
                }
            }
            self.shared.count_dropped(dropped, DropReason::UnknownPeer);
            self.shared.report_unknown_unreachable(to);
            return;
        };
        peer.send(&self.shared, msgs);
    }

    /// The bus's traffic counts.
    pub fn stats(&self) -> BusStats {
        let c = &self.shared.counters;
        BusStats {
            messages_sent: c.messages_sent.load(Ordering::Relaxed),
            messages_received: c.messages_received.load(Ordering::Relaxed),
            snapshots_sent: c.snapshots_sent.load(Ordering::Relaxed),
            snapshots_received: c.snapshots_received.load(Ordering::Relaxed),
            send_dropped: c.send_dropped.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
        }
    }

    /// Stops the server and every sender. Open streams from peers are
    /// ended, nothing more is delivered to the inbox, and later `send`s are
    /// ignored. Idempotent.
    pub fn shutdown(&self) {
        if self.shared.shutdown_tx.send_replace(true) {
            return;
        }
        let peers: Vec<_> = self.shared.peers.write().drain().map(|(_, p)| p).collect();
        for peer in peers {
            peer.stop();
        }
        info!(node = self.shared.node_id, "cluster bus stopped");
    }
}
