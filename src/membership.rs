//! Cluster membership: joining (`--join`), the first cluster map, and
//! moving replicas to where the ring of the map's nodes puts them.
//!
//! - A new node asks any member (its bus) to join with its client
//!   address; the metadata group's leader adds it to the map (a Raft
//!   command of shard 0) and answers its id and the map. Members learn the
//!   new map from the metadata group or by gossip.
//! - The leader of the metadata group creates the first map from the
//!   founding nodes' `--peers` once it is elected.
//! - Every node, for each data shard it leads, compares the shard's voters
//!   with the ring placement of the map's nodes and, when they differ,
//!   moves the replicas (`RaftRouter::change_replicas`: learner, catch up
//!   by snapshot, joint consensus, removal). Leaders then follow the
//!   placement's preferred leaders (balanced across nodes).

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redraft_cluster::bus::JoinReply;
use redraft_cluster::meta::{self, ClusterMap, META_SHARD};
use redraft_cluster::{ProposeError, ShardId};
use redraft_resp::Reply;

use crate::config::Config;
use crate::node::Node;

/// How often a node checks its map, the first map and its shards' replicas.
const MEMBERSHIP_INTERVAL: Duration = Duration::from_millis(500);

/// Answers a node asking to join with client address `addr`.
pub async fn handle_join(node: &Arc<Node>, addr: String) -> JoinReply {
    if addr.parse::<SocketAddr>().is_err() {
        return refuse(node, format!("'{addr}' is not an IP:PORT address"));
    }
    if !node.raft.is_leader(META_SHARD) {
        return refuse(node, "this node does not lead the metadata group".into());
    }
    match node
        .raft
        .propose_wait(META_SHARD, crate::meta::add_node_command(&addr))
        .await
    {
        Ok(Reply::Integer(id)) if id > 0 => {
            tracing::info!(node = id, %addr, "a node joined the cluster");
            JoinReply {
                node_id: id as u64,
                map: Some(node.map.get()),
                ..Default::default()
            }
        }
        Ok(other) => refuse(node, format!("the metadata group answered {other:?}")),
        Err(e) => refuse(node, format!("metadata group: {e}")),
    }
}

/// A refusal naming the metadata group's leader, if this node knows it.
fn refuse(node: &Node, error: String) -> JoinReply {
    let leader = node.meta_leader().unwrap_or(0);
    let map = node.map.get();
    JoinReply {
        node_id: 0,
        map: (map.epoch > 0).then_some(map),
        leader,
        error,
    }
}

/// Joins the cluster that the node at client address `seed` belongs to:
/// asks it (or the metadata group's leader it names) until a leader
/// answers. Returns this node's id and the map that includes it.
pub async fn join_cluster(config: &Config, seed: SocketAddr) -> io::Result<(u64, ClusterMap)> {
    let me = SocketAddr::new(config.announce_ip(), config.port).to_string();
    let tls = crate::bus::tls_paths(config);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut target = config.bus_addr(seed);
    let mut last_error = String::new();
    while Instant::now() < deadline {
        match redraft_cluster::bus::join(target, tls.as_ref(), &me).await {
            Ok(reply) if reply.node_id > 0 => {
                let map = reply.map.unwrap_or_default();
                return Ok((reply.node_id, map));
            }
            Ok(reply) => {
                last_error = reply.error.clone();
                let leader_addr = reply.map.as_ref().and_then(|m| {
                    meta::node_addrs(m)
                        .into_iter()
                        .find(|&(id, _)| id == reply.leader)
                        .map(|(_, a)| a)
                });
                target = match leader_addr {
                    Some(a) => config.bus_addr(a),
                    None => config.bus_addr(seed),
                };
            }
            Err(e) => {
                last_error = e.to_string();
                target = config.bus_addr(seed);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("could not join the cluster of {seed} within 60 s: {last_error}"),
    ))
}

/// Starts the membership task of a multi-node cluster.
pub fn spawn(node: Arc<Node>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let in_flight: Arc<Mutex<HashSet<ShardId>>> = Arc::default();
        let mut seen_epoch = 0;
        let mut last_init: Option<Instant> = None;
        let started = Instant::now();
        loop {
            tokio::time::sleep(MEMBERSHIP_INTERVAL).await;
            let epoch = node.map.epoch();
            if epoch != seen_epoch {
                seen_epoch = epoch;
                adopt(&node);
            }
            if epoch == 0 {
                maybe_init(&node, &mut last_init);
                continue;
            }
            if !node.map.get().nodes.iter().any(|n| n.id == node.raft_id()) {
                tracing::warn!("this node was removed from the cluster map: shutting down");
                node.request_shutdown();
                return;
            }
            place_replicas(&node, &in_flight);
            split_shards(&node);
            remove_drained(&node);
            drain_down_nodes(&node, started);
        }
    })
}

/// Takes the map's nodes: new peers on the bus, removed ones off it.
fn adopt(node: &Node) {
    let before = node.nodes();
    match node.adopt_map() {
        Ok(added) => {
            if let Some(bus) = node.bus.get() {
                for p in added.iter().filter(|p| p.id != node.raft_id()) {
                    tracing::info!(node = p.id, addr = %p.addr, "a new node in the cluster map");
                    bus.set_peer(p.id, node.config.bus_addr(p.addr));
                }
                let now = node.nodes();
                for p in before.iter().filter(|p| !now.iter().any(|n| n.id == p.id)) {
                    if p.id != node.raft_id() {
                        tracing::info!(node = p.id, "a node left the cluster map");
                        bus.remove_peer(p.id);
                    }
                }
            }
        }
        Err(e) => tracing::warn!("cannot keep the cluster map: {e}"),
    }
}

/// The metadata group's leader drains nodes silent for longer than
/// `--node-down-secs`, so their replicas are rebuilt elsewhere (the map
/// refuses while it would leave fewer nodes than replicas per shard).
fn drain_down_nodes(node: &Node, started: Instant) {
    let limit = Duration::from_secs(node.config.node_down_secs);
    if limit.is_zero() || !node.raft.is_leader(META_SHARD) {
        return;
    }
    let map = node.map.get();
    for n in map.nodes.iter().filter(|n| n.state == meta::ACTIVE) {
        if n.id == node.raft_id() || node.peer_connected(n.id) {
            continue;
        }
        // Heard by any node lately (a node only this one cannot reach,
        // behind a partition from the metadata leader, is not down).
        let heard = node
            .gossip
            .last_heard_by_anyone(n.id)
            .unwrap_or(started)
            .max(started);
        if heard.elapsed() < limit {
            continue;
        }
        let cmd = meta::MapCommand {
            cmd: Some(meta::map_command::Cmd::DrainNode(n.id)),
        };
        if meta::refusal(&map, &cmd).is_some() {
            continue;
        }
        tracing::warn!(
            node = n.id,
            silent_secs = heard.elapsed().as_secs(),
            "a node is down for longer than --node-down-secs: draining it (its replicas are rebuilt on the others)"
        );
        drop(node.raft.propose(META_SHARD, meta::encode_command(&cmd)));
    }
}

/// For each data shard this node leads: split off the slots the map gives
/// to other shards that the shard still owns (a split the metadata group
/// applied, `CLUSTER SPLIT`), one new shard at a time per entry. Asked
/// again each round until applied; a split applied twice splits once.
fn split_shards(node: &Node) {
    let assignment = node.slots.read().ranges.clone();
    for shard in node.slots.read().shards() {
        if !node.raft.is_leader(shard) {
            continue;
        }
        let Some(owned) = crate::apply::stored_ranges(&node.engine, shard) else {
            continue;
        };
        let mut give: std::collections::BTreeMap<ShardId, Vec<redraft_cluster::SlotRange>> =
            Default::default();
        for (r, other) in assignment.iter().filter(|(_, s)| *s != shard) {
            for o in &owned {
                let (start, end) = (r.start.max(o.start), r.end.min(o.end));
                if start <= end {
                    give.entry(*other)
                        .or_default()
                        .push(redraft_cluster::SlotRange::new(start, end));
                }
            }
        }
        for (child, mut ranges) in give {
            ranges.sort();
            tracing::info!(shard, child, ranges = ?ranges, "splitting off slots the map gives to a new shard");
            node.raft
                .split(shard, child, crate::apply::encode_ranges(&ranges));
        }
    }
}

/// The metadata group's leader removes draining nodes that no shard has
/// as a voter any more (their replicas moved away).
fn remove_drained(node: &Node) {
    if !node.raft.is_leader(META_SHARD) {
        return;
    }
    let map = node.map.get();
    let mut known = node.known_shards();
    known.extend(node.raft.shard_info(META_SHARD));
    let shards = node.slots.read().shards();
    for n in map.nodes.iter().filter(|n| n.state == meta::DRAINING) {
        // Every data shard must be known (here or by gossip) without it.
        let all_known = shards.iter().all(|s| known.iter().any(|i| i.shard == *s));
        let holds = known
            .iter()
            .any(|i| i.voters.contains(&n.id) || i.learners.contains(&n.id));
        if all_known && !holds {
            tracing::info!(
                node = n.id,
                "drained node holds no replica: removing it from the map"
            );
            // Not awaited: asked again next round if it was lost.
            drop(
                node.raft
                    .propose(META_SHARD, crate::meta::remove_node_command(n.id)),
            );
        }
    }
}

/// The metadata group's leader creates the first map from `--peers`.
fn maybe_init(node: &Node, last: &mut Option<Instant>) {
    if !node.raft.is_leader(META_SHARD)
        || last.is_some_and(|t| t.elapsed() < Duration::from_secs(2))
    {
        return;
    }
    *last = Some(Instant::now());
    let founders: Vec<(u64, SocketAddr)> =
        node.config.nodes().iter().map(|p| (p.id, p.addr)).collect();
    let map = meta::initial(&founders, node.config.shard_count(), node.config.replicas);
    let rx = node
        .raft
        .propose(META_SHARD, crate::meta::init_command(map));
    tokio::spawn(async move {
        match rx.await {
            Ok(Ok(_)) => tracing::info!("cluster map created"),
            Ok(Err(e)) => tracing::debug!("cluster map not created yet: {e}"),
            Err(_) => {}
        }
    });
}

/// For each data shard this node leads: move its replicas to the ring's
/// placement over the map's nodes, and prefer the placement's leader.
fn place_replicas(node: &Arc<Node>, in_flight: &Arc<Mutex<HashSet<ShardId>>>) {
    let map = node.map.get();
    let ids = meta::active_ids(&map);
    let shards = node.slots.read().shards();
    let mut placement = crate::node::placement(&ids, &shards, node.replicas());
    // The metadata group: on the first (lowest-id) active nodes, up to 5.
    let meta_voters = meta::meta_voters(&ids);
    placement.push(redraft_cluster::ShardBootstrap {
        shard: META_SHARD,
        preferred_leader: meta_voters.first().copied(),
        voters: meta_voters,
    });
    for b in placement {
        let Some(info) = node.raft.shard_info(b.shard) else {
            continue;
        };
        if info.role != redraft_cluster::ShardRole::Leader {
            continue;
        }
        node.raft.set_preferred_leader(b.shard, b.preferred_leader);
        let mut target = b.voters.clone();
        target.sort_unstable();
        // Settled: the voters are the placement and no learner is left
        // over (a move whose leader changed before it removed the demoted
        // learner leaves one; asking again removes it).
        let settled = info.voters == target && info.learners.is_empty();
        if settled || !in_flight.lock().insert(b.shard) {
            continue;
        }
        tracing::info!(shard = b.shard, from = ?info.voters, to = ?target, "moving replicas to the ring placement");
        let rx = node.raft.change_replicas(b.shard, target.clone());
        let in_flight = in_flight.clone();
        let shard = b.shard;
        tokio::spawn(async move {
            match rx.await {
                Ok(Ok(())) => tracing::info!(shard, voters = ?target, "replicas moved"),
                Ok(Err(ProposeError::NotLeader { .. })) => {}
                Ok(Err(e)) => tracing::warn!(shard, "replica move: {e}"),
                Err(_) => {}
            }
            in_flight.lock().remove(&shard);
        });
    }
}
