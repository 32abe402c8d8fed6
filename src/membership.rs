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
        let migrating: Arc<Mutex<HashSet<u32>>> = Arc::default();
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
            drive_migrations(&node, &migrating);
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
    let migrating: Vec<(redraft_cluster::Slot, ShardId, ShardId)> =
        node.slots.read().migrations.clone();
    for shard in node.slots.read().shards() {
        if !node.raft.is_leader(shard) || migrating.iter().any(|m| m.1 == shard || m.2 == shard) {
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

/// Keys moved per migration batch.
const MIGRATION_BATCH: usize = 100;

/// For each slot migration whose source this node leads: runs its driver
/// (one task per migration; see `crate::migration`). Also ends, in the
/// logs of the shards this node leads, migrations the map no longer has
/// (a driver that stopped between the map's flip and the shards' `DONE`).
fn drive_migrations(node: &Arc<Node>, running: &Arc<Mutex<HashSet<u32>>>) {
    let migrations: Vec<(redraft_cluster::Slot, ShardId, ShardId)> =
        node.slots.read().migrations.clone();
    for (slot, from, to) in migrations {
        if !node.raft.is_leader(from) || !running.lock().insert(u32::from(slot)) {
            continue;
        }
        let node = node.clone();
        let running = running.clone();
        tokio::spawn(async move {
            match migrate_slot(&node, slot, from, to).await {
                Ok(()) => tracing::info!(slot, from, to, "slot migrated"),
                Err(e) => tracing::info!(slot, from, to, "slot migration paused: {e}"),
            }
            running.lock().remove(&u32::from(slot));
        });
    }
    let map = node.slots.read();
    for shard in map.shards() {
        if !node.raft.is_leader(shard) {
            continue;
        }
        let Ok(state) = crate::migration::State::read(&node.engine, shard) else {
            continue;
        };
        // Ended: the map gave the slot away (source) or to this shard
        // (target), and has no migration of it any more.
        let out_ended = state
            .out
            .map(|o| o.slot)
            .filter(|&slot| map.migration_of(slot).is_none() && map.shard_of(slot) != Some(shard));
        let in_ended = state
            .inc
            .map(|i| i.slot)
            .filter(|&slot| map.migration_of(slot).is_none() && map.shard_of(slot) == Some(shard));
        for slot in [out_ended, in_ended].into_iter().flatten() {
            if !running.lock().contains(&u32::from(slot)) {
                let entry = crate::migration::entry("DONE", slot, Vec::new());
                drop(node.raft.propose(shard, entry));
            }
        }
    }
}

/// Proposes `data` to `shard` wherever its leader is (here, or through
/// the cluster bus), answered once applied: the entry's integer reply.
async fn propose_to(node: &Node, shard: ShardId, data: Vec<u8>) -> Result<i64, String> {
    let reply = if node.raft.is_leader(shard) {
        crate::bus::propose_here(node, shard, data).await
    } else {
        let leader = node
            .raft
            .shard_info(shard)
            .and_then(|i| i.leader)
            .or_else(|| node.gossip.lead(shard).map(|l| l.leader))
            .ok_or_else(|| format!("shard {shard} has no known leader"))?;
        let bus = node.bus.get().ok_or("no cluster bus")?;
        bus.propose(leader, shard, data, Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?
    };
    if reply.error.is_empty() {
        Ok(reply.value)
    } else {
        Err(format!("shard {shard}: {}", reply.error))
    }
}

/// Moves the keys of `slot` from shard `from` (led here) to `to`, then
/// gives the slot to `to` in the map and ends the migration in both logs.
/// Stops with an error when this node stops leading `from` or a step
/// fails; the next round starts again from the state in the logs.
async fn migrate_slot(
    node: &Node,
    slot: redraft_cluster::Slot,
    from: ShardId,
    to: ShardId,
) -> Result<(), String> {
    use crate::migration::{entry, moving, State};
    let state = State::read(&node.engine, from).map_err(|e| e.to_string())?;
    if state.out.map(|o| (o.slot, o.to)) != Some((slot, to)) {
        propose_to(node, from, entry("OUT", slot, vec![to.to_string().into()])).await?;
    }
    propose_to(node, to, entry("IN", slot, vec![from.to_string().into()])).await?;
    // Bounded: at most this many batches per round (a round ends, and the
    // next one starts over, when leadership moves).
    for _ in 0..100_000 {
        if !node.raft.is_leader(from) {
            return Err(format!("no longer the leader of shard {from}"));
        }
        let paused = (|| {
            fail::fail_point!("migration-step", |_| true);
            false
        })();
        if paused {
            return Err("paused by the migration-step failpoint".into());
        }
        let records = moving(&node.engine, slot).map_err(|e| e.to_string())?;
        if let Some(batch) = records.iter().map(|r| r.1).min() {
            // Import the oldest batch, then drop its moving records.
            let mut args: Vec<bytes::Bytes> = vec![batch.to_string().into()];
            for (key, _, expire, payload) in records.into_iter().filter(|r| r.1 == batch) {
                args.push(key.into());
                args.push(expire.to_string().into());
                args.push(payload.into());
            }
            propose_to(node, to, entry("IMPORT", slot, args)).await?;
            propose_to(
                node,
                from,
                entry("ACK", slot, vec![batch.to_string().into()]),
            )
            .await?;
            continue;
        }
        let keys = crate::keyspace::keys_in_slot(
            &node.engine,
            slot,
            crate::clock::now_ms(),
            MIGRATION_BATCH,
        )
        .map_err(|e| format!("{e:?}"))?;
        if !keys.is_empty() {
            let args = keys.into_iter().map(bytes::Bytes::from).collect();
            propose_to(node, from, entry("KEYS", slot, args)).await?;
            continue;
        }
        // Nothing left here: the slot is the target's.
        let finish = meta::MapCommand {
            cmd: Some(meta::map_command::Cmd::FinishMigration(u32::from(slot))),
        };
        propose_to(node, META_SHARD, meta::encode_command(&finish)).await?;
        propose_to(node, from, entry("DONE", slot, Vec::new())).await?;
        propose_to(node, to, entry("DONE", slot, Vec::new())).await?;
        return Ok(());
    }
    Err("too many batches in one round".into())
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
        // Shards in a slot migration keep their replicas until it ends
        // (their engines must stay on different nodes).
        if map
            .migrations
            .iter()
            .any(|m| m.from == b.shard || m.to == b.shard)
        {
            continue;
        }
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
