//! Wires the node to the cluster bus: Raft messages leave through it and
//! what it receives goes to the Raft store.
//!
//! Peers also gossip shard leaders over it (`crate::gossip`).
//!
//! A one-node cluster starts no bus. Otherwise the bus listens on the
//! client port plus `--bus-port-offset` (of `--bind`), knows every peer's
//! bus address from `--peers`, and uses mutual TLS when `--tls-cert`,
//! `--tls-key` and `--tls-ca` are given (plain TCP, with a warning in the
//! log, when not).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use redraft_cluster::bus::{
    Bus, BusConfig, BusInbox, GossipState, JoinFuture, JoinReply, ProposeFuture, ProposeReply,
    TlsPaths,
};
use redraft_cluster::{RaftMessage, RaftRouter, ShardId, Transport};
use redraft_resp::Reply;

use crate::node::Node;

/// Feeds the Raft store with what the bus receives, and the node's gossip
/// table with what peers gossip. Holds the node weakly: the node owns the
/// bus.
struct Inbox {
    raft: RaftRouter<Reply>,
    node: Weak<Node>,
}

impl BusInbox for Inbox {
    fn deliver(&self, _from_node: u64, msgs: Vec<(u64, RaftMessage)>) {
        self.raft.deliver(msgs);
    }

    fn unreachable(&self, node: u64) {
        self.raft.report_unreachable(node);
    }

    fn snapshot_status(&self, shard: u64, node: u64, ok: bool) {
        self.raft.report_snapshot(shard, node, ok);
    }

    fn gossip_state(&self) -> GossipState {
        match self.node.upgrade() {
            Some(node) => {
                let mut state = crate::gossip::state_of(&node.gossip, &node.raft.shards());
                let map = node.map.get();
                state.map = (map.epoch > 0).then_some(map);
                state
            }
            None => GossipState::default(),
        }
    }

    fn on_gossip(&self, state: GossipState) {
        if let Some(node) = self.node.upgrade() {
            node.gossip.merge(&state);
            let me = node.raft_id();
            for (shard, conf_index) in
                crate::gossip::stale_replicas(&node.gossip, &node.raft.shards(), me)
            {
                node.raft.remove_stale_replica(shard, conf_index);
            }
            if let Some(map) = &state.map {
                node.map.learn(map);
            }
        }
    }

    fn propose(&self, shard: u64, data: Vec<u8>) -> ProposeFuture {
        let node = self.node.upgrade();
        Box::pin(async move {
            let refuse = |error: String| ProposeReply {
                error,
                ..Default::default()
            };
            let Some(node) = node else {
                return refuse("node shutting down".into());
            };
            // Only what the slot migration driver sends: its entries, and
            // the map command that ends a migration.
            let allowed = if shard == redraft_cluster::meta::META_SHARD {
                redraft_cluster::meta::decode_command(&data).is_some_and(|c| {
                    matches!(
                        c.cmd,
                        Some(redraft_cluster::meta::map_command::Cmd::FinishMigration(_))
                    )
                })
            } else {
                crate::proposal::Proposal::decode(&data)
                    .is_some_and(|p| crate::migration::is_entry(&p))
            };
            if !allowed {
                return refuse("only slot migration entries are proposed over the bus".into());
            }
            propose_here(&node, shard, data).await
        })
    }

    fn join(&self, addr: String) -> JoinFuture {
        let node = self.node.upgrade();
        Box::pin(async move {
            match node {
                Some(node) => crate::membership::handle_join(&node, addr).await,
                None => JoinReply {
                    error: "node shutting down".into(),
                    ..Default::default()
                },
            }
        })
    }
}

struct BusTransport(Bus);

impl Transport for BusTransport {
    fn send(&self, to: u64, msgs: Vec<(ShardId, RaftMessage)>) {
        self.0.send(to, msgs);
    }
}

/// Starts the bus of a multi-node cluster and plugs it into the node's
/// Raft store; `None` for a one-node cluster.
pub async fn start(node: &Arc<Node>) -> io::Result<Option<Bus>> {
    if node.nodes().len() < 2 {
        return Ok(None);
    }
    let cfg = &node.config;
    let listen = cfg.bus_addr(SocketAddr::new(cfg.bind, cfg.port));
    let tls = tls_paths(cfg);
    let bus = Bus::start(
        BusConfig {
            node_id: node.raft_id(),
            listen,
            tls,
        },
        Arc::new(Inbox {
            raft: node.raft.clone(),
            node: Arc::downgrade(node),
        }),
    )
    .await
    .map_err(|e| io::Error::new(e.kind(), format!("cluster bus on {listen}: {e}")))?;
    for peer in node.nodes().iter().filter(|p| p.id != node.raft_id()) {
        bus.set_peer(peer.id, cfg.bus_addr(peer.addr));
    }
    node.transport.set(Arc::new(BusTransport(bus.clone())));
    let _ = node.bus.set(bus.clone());
    tracing::info!(%listen, plaintext = bus.is_plaintext(), "cluster bus ready");
    Ok(Some(bus))
}

/// The bus's TLS files, when all three flags are given.
pub fn tls_paths(cfg: &crate::config::Config) -> Option<TlsPaths> {
    match (&cfg.tls_cert, &cfg.tls_key, &cfg.tls_ca) {
        (Some(cert), Some(key), Some(ca)) => Some(TlsPaths {
            cert: cert.clone(),
            key: key.clone(),
            ca: ca.clone(),
        }),
        _ => None,
    }
}

/// Proposes `data` to `shard` on this node, answered once applied (see
/// [`BusInbox::propose`]): an error reply becomes `error`, an integer
/// reply `value`.
pub async fn propose_here(node: &Node, shard: ShardId, data: Vec<u8>) -> ProposeReply {
    let refuse = |error: String, leader: u64| ProposeReply {
        error,
        leader,
        ..Default::default()
    };
    if !node.raft.is_leader(shard) {
        let leader = node
            .raft
            .shard_info(shard)
            .and_then(|i| i.leader)
            .unwrap_or(0);
        return refuse(format!("not the leader of shard {shard}"), leader);
    }
    match node.raft.propose(shard, data).await {
        Ok(Ok(Reply::Error(e))) => refuse(e, 0),
        Ok(Ok(Reply::Integer(n))) => ProposeReply {
            value: n,
            ..Default::default()
        },
        Ok(Ok(_)) => ProposeReply::default(),
        Ok(Err(e)) => refuse(e.to_string(), 0),
        Err(_) => refuse("raft store stopped".into(), 0),
    }
}
