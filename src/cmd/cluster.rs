//! Cluster commands: CLUSTER KEYSLOT/INFO/MYID/SLOTS/SHARDS/NODES/
//! COUNTKEYSINSLOT/GETKEYSINSLOT/FAILOVER/HELP, READONLY, READWRITE, ASKING.
//!
//! What: the commands cluster clients and `redis-cli --cluster` use to learn
//! the slot map, answered from the node's own slot map and Raft replicas
//! (see [`topology`] for how redraft's shards become Redis nodes). With
//! one node, that is a one-node Redis Cluster owning all 16384 slots.
//!
//! Why `Node` handlers: none of these go through Raft. COUNTKEYSINSLOT and
//! GETKEYSINSLOT read the engine directly, like other reads on the leader,
//! and skip expired keys (Redis counts keys not yet reclaimed; redraft
//! hides them everywhere else, so it hides them here too).
//!
//! CAVEATS:
//! - Besides FAILOVER and DRAIN, only the read-only subcommands exist; slot
//!   assignment (ADDSLOTS, DELSLOTS, SETSLOT) and MEET/FORGET are redraft's
//!   own business, through Raft: they answer an error that says how redraft
//!   does it.
//! - CLUSTER MYSHARDID (Redis 7.2) is not offered: the reference is 7.0.

pub mod topology;

use bytes::Bytes;
use redraft_cluster::{key_slot, Slot, SLOT_COUNT};
use redraft_resp::Reply;

use super::args::int;
use super::error::reply;
use super::flags::*;
use super::{CommandSpec, Handler};
use crate::keyspace;
use crate::node::Node;
use crate::session::Session;
pub use topology::{merge_ranges, ClusterView, LocalIdentity, NodeView};

const CLUSTER_ACL: &[&str] = &["slow"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "cluster",
        -2,
        &[],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Container,
    )
    .doc(
        "cluster",
        "A container for cluster commands",
        "3.0.0",
        "Depends on subcommand.",
    )
    .with_subcommands(SUBCOMMANDS),
    CommandSpec::new(
        "readonly",
        1,
        &[LOADING, STALE, FAST],
        (0, 0, 0),
        &["fast", "connection"],
        Handler::Node(readonly),
    )
    .doc(
        "cluster",
        "Enables read queries for a connection to a cluster replica node",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "readwrite",
        1,
        &[LOADING, STALE, FAST],
        (0, 0, 0),
        &["fast", "connection"],
        Handler::Node(readwrite),
    )
    .doc(
        "cluster",
        "Disables read queries for a connection to a cluster replica node",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "asking",
        1,
        &[FAST],
        (0, 0, 0),
        &["fast", "connection"],
        Handler::Node(asking),
    )
    .doc(
        "cluster",
        "Sent by cluster clients after an -ASK redirect",
        "3.0.0",
        "O(1)",
    ),
];

/// A slot-assignment subcommand (ADDSLOTS, DELSLOTS, SETSLOT, …): listed as
/// Redis lists it, answered by [`assign_slots`]'s refusal.
const fn slot_assignment(
    name: &'static str,
    arity: i32,
    summary: &'static str,
    since: &'static str,
    complexity: &'static str,
) -> CommandSpec {
    CommandSpec::new(
        name,
        arity,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(assign_slots),
    )
    .doc("cluster", summary, since, complexity)
}

static SUBCOMMANDS: &[CommandSpec] = &[
    slot_assignment("cluster|addslots", -3, "Assign new hash slots to receiving node", "3.0.0", "O(N) where N is the total number of hash slot arguments"),
    slot_assignment("cluster|addslotsrange", -4, "Assign new hash slots to receiving node", "7.0.0", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
    CommandSpec::new(
        "cluster|countkeysinslot",
        3,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(countkeysinslot),
    )
    .doc(
        "cluster",
        "Return the number of local keys in the specified hash slot",
        "3.0.0",
        "O(1)",
    ),
    slot_assignment("cluster|delslots", -3, "Set hash slots as unbound in receiving node", "3.0.0", "O(N) where N is the total number of hash slot arguments"),
    slot_assignment("cluster|delslotsrange", -4, "Set hash slots as unbound in receiving node", "7.0.0", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
    CommandSpec::new(
        "cluster|drain",
        3,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(drain),
    )
    .doc(
        "cluster",
        "Drains a node (redraft): moves its replicas away, then removes it from the cluster",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|migrate",
        4,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::NodeAwait(migrate),
    )
    .doc(
        "cluster",
        "Migrates a slot's keys to another shard (redraft), with ASK/ASKING/TRYAGAIN redirects while it runs",
        "3.0.0",
        "O(N) where N is the number of keys in the slot",
    ),
    CommandSpec::new(
        "cluster|split",
        3,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::NodeAwait(split),
    )
    .doc(
        "cluster",
        "Splits the shard owning a slot (redraft): that slot and the shard's later ones go to a new shard on the same replicas",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|failover",
        -2,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(failover),
    )
    .doc(
        "cluster",
        "Forces a replica to perform a manual failover of its master.",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|forget",
        3,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(forget),
    )
    .doc(
        "cluster",
        "Remove a node from the nodes table",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|getkeysinslot",
        4,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(getkeysinslot),
    )
    .doc(
        "cluster",
        "Return local key names in the specified hash slot",
        "3.0.0",
        "O(log(N)) where N is the number of requested keys",
    ),
    CommandSpec::new(
        "cluster|help",
        2,
        &[LOADING, STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(help),
    )
    .doc(
        "cluster",
        "Show helpful text about the different subcommands",
        "5.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|info",
        2,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(info),
    )
    .doc(
        "cluster",
        "Provides info about Redis Cluster node state",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|keyslot",
        3,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(keyslot),
    )
    .doc(
        "cluster",
        "Returns the hash slot of the specified key",
        "3.0.0",
        "O(N) where N is the number of bytes in the key",
    ),
    CommandSpec::new(
        "cluster|meet",
        -4,
        &[ADMIN, STALE, NO_ASYNC_LOADING],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(meet),
    )
    .doc(
        "cluster",
        "Force a node cluster to handshake with another node",
        "3.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "cluster|myid",
        2,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(myid),
    )
    .doc("cluster", "Return the node id", "3.0.0", "O(1)"),
    CommandSpec::new(
        "cluster|nodes",
        2,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(nodes),
    )
    .doc(
        "cluster",
        "Get Cluster config for the node",
        "3.0.0",
        "O(N) where N is the total number of Cluster nodes",
    ),
    slot_assignment("cluster|setslot", -4, "Bind a hash slot to a specific node", "3.0.0", "O(1)"),
    CommandSpec::new(
        "cluster|shards",
        2,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(shards),
    )
    .doc(
        "cluster",
        "Get array of cluster slots to node mappings",
        "7.0.0",
        "O(N) where N is the total number of cluster nodes",
    ),
    CommandSpec::new(
        "cluster|slots",
        2,
        &[STALE],
        (0, 0, 0),
        CLUSTER_ACL,
        Handler::Node(slots),
    )
    .doc(
        "cluster",
        "Get array of Cluster slot to node mappings",
        "3.0.0",
        "O(N) where N is the total number of Cluster nodes",
    ),
];

/// CLUSTER HELP's lines after the first: each subcommand, then what it does.
const HELP: &[&str] = &[
    "ADDSLOTS <slot> [<slot> ...]",
    "    Refused: redraft assigns slots itself (see SETSLOT).",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Refused: redraft assigns slots itself (see SETSLOT).",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys stored in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Refused: redraft assigns slots itself (see SETSLOT).",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Refused: redraft assigns slots itself (see SETSLOT).",
    "FORGET <node-id>",
    "    Refused: redraft removes a node by draining it (CLUSTER DRAIN).",
    "GETKEYSINSLOT <slot> <count>",
    "    Return up to <count> key names stored in <slot>.",
    "DRAIN <node-id>",
    "    Move every replica off the node (a Raft id or a 40-hex node id), then remove it.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Take over the leadership of every shard this node replicates (a leader transfer).",
    "INFO",
    "    Return the state of the cluster as this node sees it.",
    "KEYSLOT <key>",
    "    Return the hash slot <key> belongs to.",
    "MEET <ip> <port>",
    "    Refused: a new redraft node joins by itself (--join).",
    "MYID",
    "    Return this node's id.",
    "MIGRATE <slot> <shard-id>",
    "    Move the slot's keys to another shard (on other nodes) while clients go on,",
    "    with -ASK/ASKING/-TRYAGAIN as in Redis Cluster; then the slot is that shard's.",
    "NODES",
    "    Return the cluster's nodes, one per line:",
    "    <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <epoch> <link> <slot> ...",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Refused: the slots are split over the shards (--shards) and replicas move by",
    "    themselves as nodes join (--join) and drain (CLUSTER DRAIN).",
    "SHARDS",
    "    Return each shard's slot ranges and nodes.",
    "SPLIT <slot>",
    "    Split the shard owning <slot>: <slot> and the shard's later slots go to a new",
    "    shard on the same replicas, without copying data; replicas then move as placed.",
    "SLOTS",
    "    Return each slot range with its master's and replicas' ip, port and id.",
    "HELP",
    "    Print this help.",
];

fn help(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    help_reply()
}

fn help_reply() -> Reply {
    let first = "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:";
    Reply::Array(
        std::iter::once(first)
            .chain(HELP.iter().copied())
            .map(Reply::status)
            .collect(),
    )
}

fn keyslot(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    Reply::Integer(i64::from(key_slot(&args[2])))
}

/// Multi-line text: a verbatim string in RESP3, a bulk string in RESP2.
fn text(t: String) -> Reply {
    Reply::Verbatim("txt", Bytes::from(t))
}

fn info(_s: &mut Session, n: &Node, _args: &[Bytes]) -> Reply {
    text(ClusterView::of(n).info_text())
}

/// `CLUSTER FAILOVER [FORCE|TAKEOVER]`: this node asks the leader of every
/// shard it follows to hand leadership over by Raft leader transfer, which
/// loses no acknowledged write (the transferee is caught up first). FORCE
/// and TAKEOVER are accepted and mean the same: a transfer never needs the
/// old leader's agreement beyond Raft's. As on a Redis master, a node that
/// follows nothing answers an error.
///
/// CAVEATS: the preferred-leader balancer hands a shard back to its
/// preferred node once that node is healthy, so the change lasts until the
/// next balance check (about a second) unless this node is preferred.
fn failover(_s: &mut Session, n: &Node, args: &[Bytes]) -> Reply {
    match args.get(2) {
        None => {}
        Some(a)
            if args.len() == 3
                && (a.eq_ignore_ascii_case(b"force") || a.eq_ignore_ascii_case(b"takeover")) => {}
        Some(_) => return Reply::error("ERR syntax error"),
    }
    let me = n.raft_id();
    let mut asked = 0;
    for info in n.raft.shards() {
        if info.role != redraft_cluster::ShardRole::Leader && info.voters.contains(&me) {
            n.raft.transfer_leader(info.shard, me);
            asked += 1;
        }
    }
    if asked == 0 {
        return Reply::error("ERR You should send CLUSTER FAILOVER to a replica");
    }
    Reply::ok()
}

/// CLUSTER DRAIN <node>: asks the metadata group to drain the node (by
/// Raft id or Redis node id). Answered `+OK` once proposed; the drain goes
/// on in the background (watch CLUSTER NODES; `redraft drain` does) and
/// asking again is harmless. Another node than the metadata group's leader
/// answers `-REDIRECT <ip:port>` naming it.
fn drain(_s: &mut Session, n: &Node, args: &[Bytes]) -> Reply {
    let map = match map_ready(n) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let arg = String::from_utf8_lossy(&args[2]).to_string();
    let target = map.nodes.iter().find(|e| {
        e.id.to_string() == arg || crate::node::redis_node_id(e.id).eq_ignore_ascii_case(&arg)
    });
    let Some(target) = target else {
        return Reply::error(format!("ERR Unknown node {arg}"));
    };
    let meta = redraft_cluster::meta::META_SHARD;
    if let Err(redirect) = meta_leader_here(n) {
        return redirect;
    }
    let cmd = redraft_cluster::meta::MapCommand {
        cmd: Some(redraft_cluster::meta::map_command::Cmd::DrainNode(
            target.id,
        )),
    };
    if let Some(why) = redraft_cluster::meta::refusal(&map, &cmd) {
        return Reply::error(format!("ERR {why}"));
    }
    // Not awaited: the caller watches the drain (and may ask again).
    drop(
        n.raft
            .propose(meta, redraft_cluster::meta::encode_command(&cmd)),
    );
    Reply::ok()
}

/// CLUSTER SPLIT <slot>: asks the metadata group to split the shard
/// owning the slot (see `docs/architecture/migration.md`); answers the
/// new shard's id once the map has it. The shard's leader then splits it
/// in place. Another node than the metadata group's leader answers
/// `-REDIRECT <ip:port>` naming it. Asking again for the same slot is
/// refused (it already starts a shard), so a retry never splits twice.
fn split(_s: &mut Session, n: &Node, args: &[Bytes]) -> Result<crate::cmd::AwaitedReply, Reply> {
    let map = map_ready(n)?;
    let at = parse_slot(&args[2])?;
    let cmd = redraft_cluster::meta::MapCommand {
        cmd: Some(redraft_cluster::meta::map_command::Cmd::SplitAt(u32::from(
            at,
        ))),
    };
    // The metadata group answers the new shard's id.
    propose_map_command(n, &map, cmd, Ok)
}

/// `Ok` on the metadata group's leader; elsewhere `-REDIRECT` to it (the
/// admin commands that change the map are answered there).
fn meta_leader_here(n: &Node) -> Result<(), Reply> {
    if n.raft.is_leader(redraft_cluster::meta::META_SHARD) {
        return Ok(());
    }
    Err(match n.meta_leader().and_then(|l| n.node_addr(l)) {
        Some(addr) => Reply::error(format!("REDIRECT {addr}")),
        None => Reply::error("CLUSTERDOWN The metadata group has no leader"),
    })
}

/// The cluster map, once there is one.
fn map_ready(n: &Node) -> Result<redraft_cluster::meta::ClusterMap, Reply> {
    let map = n.map.get();
    if map.epoch == 0 {
        return Err(Reply::error("ERR the cluster map is not ready yet"));
    }
    Ok(map)
}

fn parse_slot(arg: &[u8]) -> Result<u16, Reply> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|a| a.parse::<u16>().ok())
        .filter(|&a| a < redraft_cluster::SLOT_COUNT)
        .ok_or_else(|| Reply::error("ERR Invalid or out of range slot"))
}

/// Proposes `cmd` to the metadata group, here if this node leads it
/// (else `-REDIRECT` to its leader); refused at once with the map's own
/// rule when `map` refuses it. Answers `done(reply)` once applied; a
/// proposal lost to a leader change answers TRYAGAIN (not MOVED: it is
/// not about a slot).
fn propose_map_command(
    n: &Node,
    map: &redraft_cluster::meta::ClusterMap,
    cmd: redraft_cluster::meta::MapCommand,
    done: fn(Reply) -> Result<Reply, Reply>,
) -> Result<crate::cmd::AwaitedReply, Reply> {
    let meta = redraft_cluster::meta::META_SHARD;
    meta_leader_here(n)?;
    if let Some(why) = redraft_cluster::meta::refusal(map, &cmd) {
        return Err(Reply::error(format!("ERR {why}")));
    }
    let applied = n
        .raft
        .propose(meta, redraft_cluster::meta::encode_command(&cmd));
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let reply = match applied.await {
            Ok(Ok(reply)) => done(reply).unwrap_or_else(|r| r),
            Ok(Err(e)) => Reply::error(format!("TRYAGAIN not applied ({e}), retry")),
            Err(_) => Reply::error("CLUSTERDOWN The cluster is down"),
        };
        let _ = tx.send(Ok(reply));
    });
    Ok(rx)
}

/// CLUSTER MIGRATE <slot> <shard>: asks the metadata group to migrate the
/// slot's keys to the shard (see `crate::migration`); answers `+OK` once
/// the map records it (the migration then runs: watch CLUSTER SLOTS).
/// Refused for shards that share a node: their keys would share that
/// node's engine (shards on the same nodes split instead).
fn migrate(_s: &mut Session, n: &Node, args: &[Bytes]) -> Result<crate::cmd::AwaitedReply, Reply> {
    let map = map_ready(n)?;
    let slot = parse_slot(&args[2])?;
    let Some(to) = std::str::from_utf8(&args[3])
        .ok()
        .and_then(|a| a.parse::<u64>().ok())
    else {
        return Err(Reply::error("ERR Invalid shard id"));
    };
    // Only between shards whose replicas are on different nodes.
    let from = redraft_cluster::meta::owner(&map, slot).unwrap_or_default();
    let known = n.known_shards();
    let nodes_of = |s: u64| {
        known
            .iter()
            .find(|i| i.shard == s && !i.voters.is_empty())
            .map(|i| {
                let mut v: Vec<u64> = i.voters.iter().chain(&i.learners).copied().collect();
                v.sort_unstable();
                v
            })
    };
    if from != to {
        let (Some(a), Some(b)) = (nodes_of(from), nodes_of(to)) else {
            return Err(Reply::error(format!(
                "TRYAGAIN the replicas of shard {from} or {to} are not known yet, retry"
            )));
        };
        if let Some(shared) = a.iter().find(|x| b.contains(x)) {
            return Err(Reply::error(format!(
                "ERR shards {from} and {to} both have a replica on node {shared}: redraft \
                 migrates a slot only between shards on different nodes (shards on the same \
                 nodes split instead: CLUSTER SPLIT)"
            )));
        }
    }
    let cmd = redraft_cluster::meta::MapCommand {
        cmd: Some(redraft_cluster::meta::map_command::Cmd::Migrate(
            redraft_cluster::meta::Migration {
                slot: u32::from(slot),
                from: 0,
                to,
            },
        )),
    };
    propose_map_command(n, &map, cmd, |reply| match reply {
        Reply::Integer(_) => Ok(Reply::ok()),
        other => Err(other),
    })
}

/// Redis Cluster's way of removing a node; redraft drains instead.
fn forget(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::error(
        "ERR redraft removes nodes by draining them: CLUSTER DRAIN <node-id> or `redraft drain`",
    )
}

/// ADDSLOTS, DELSLOTS, SETSLOT (what `redis-cli --cluster reshard`,
/// `rebalance` and `fix` send): redraft assigns slots itself, through Raft.
fn assign_slots(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::error(
        "ERR redraft places slots itself: the slots are split over the shards given by --shards, \
         and replicas move by themselves when nodes join (--join) or drain (CLUSTER DRAIN or \
         `redraft drain`); moving slots by hand is not supported",
    )
}

/// Redis Cluster's way of adding a node; redraft nodes join by themselves.
fn meet(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::error(
        "ERR redraft nodes join by themselves: start the new node with --join <ip:port of a member>",
    )
}

fn myid(_s: &mut Session, n: &Node, _args: &[Bytes]) -> Reply {
    Reply::bulk(n.node_id.clone())
}

fn nodes(_s: &mut Session, n: &Node, _args: &[Bytes]) -> Reply {
    text(ClusterView::of(n).nodes_text())
}

fn slots(_s: &mut Session, n: &Node, _args: &[Bytes]) -> Reply {
    ClusterView::of(n).slots_reply()
}

fn shards(_s: &mut Session, n: &Node, _args: &[Bytes]) -> Reply {
    ClusterView::of(n).shards_reply()
}

/// A slot argument: an integer (else Redis's integer error) in `0..16384`.
fn slot_arg(arg: &[u8]) -> Result<Option<Slot>, Reply> {
    let n = int(arg)?;
    Ok((0..i64::from(SLOT_COUNT)).contains(&n).then_some(n as Slot))
}

fn countkeysinslot(_s: &mut Session, n: &Node, args: &[Bytes]) -> Reply {
    let slot = match slot_arg(&args[2]) {
        Ok(Some(slot)) => slot,
        Ok(None) => return Reply::error("ERR Invalid slot"),
        Err(e) => return e,
    };
    reply(
        keyspace::count_keys_in_slot(n.engine.as_ref(), slot, crate::clock::now_ms()),
        |c| Reply::Integer(i64::try_from(c).unwrap_or(i64::MAX)),
    )
}

fn getkeysinslot(_s: &mut Session, n: &Node, args: &[Bytes]) -> Reply {
    let invalid = || Reply::error("ERR Invalid slot or number of keys");
    // Both integers are parsed before either is range-checked, as Redis does.
    let slot = match slot_arg(&args[2]) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let count = match int(&args[3]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let (Some(slot), Ok(count)) = (slot, usize::try_from(count)) else {
        return invalid();
    };
    reply(
        keyspace::keys_in_slot(n.engine.as_ref(), slot, crate::clock::now_ms(), count),
        |keys| Reply::Array(keys.into_iter().map(Reply::bulk).collect()),
    )
}

fn readonly(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    s.set_readonly(true);
    Reply::ok()
}

fn readwrite(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    s.set_readonly(false);
    Reply::ok()
}

fn asking(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    s.asking = true;
    Reply::ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::lookup;
    use crate::cmd::table::find_subcommand;

    #[test]
    fn every_subcommand_is_in_the_table() {
        let cluster = lookup(b"CLUSTER").expect("cluster");
        for sub in [
            "addslots",
            "addslotsrange",
            "countkeysinslot",
            "delslots",
            "delslotsrange",
            "drain",
            "failover",
            "forget",
            "getkeysinslot",
            "help",
            "info",
            "keyslot",
            "myid",
            "nodes",
            "setslot",
            "shards",
            "slots",
        ] {
            let spec = find_subcommand(cluster, sub.to_uppercase().as_bytes())
                .unwrap_or_else(|| panic!("cluster|{sub}"));
            assert!(spec.has_flag(STALE), "{sub}");
        }
        for name in ["readonly", "readwrite", "asking"] {
            assert!(
                lookup(name.as_bytes()).is_some_and(|c| c.has_flag(FAST)),
                "{name}"
            );
        }
    }

    #[test]
    fn keys_in_slot_skip_expired_keys_and_other_slots() {
        use crate::engine::memory::MemoryEngine;
        use crate::engine::{Engine, WriteBatch};
        use crate::keyspace::{meta_key, Meta};

        let engine = MemoryEngine::new();
        let mut batch = WriteBatch::new();
        for (key, expire_at) in [("{s}b", 0), ("{s}a", 0), ("{s}gone", 500), ("{s}c", 2000)] {
            batch.put(
                meta_key(key.as_bytes()),
                Meta::string(b"v".to_vec(), expire_at).encode(),
            );
        }
        batch.put(
            meta_key(b"elsewhere"),
            Meta::string(b"v".to_vec(), 0).encode(),
        );
        engine.write(batch).expect("write");
        let kv: &dyn Engine = &engine;
        let slot = key_slot(b"{s}");
        assert_eq!(keyspace::count_keys_in_slot(kv, slot, 1000).ok(), Some(3));
        let keys = keyspace::keys_in_slot(kv, slot, 1000, 10).expect("keys");
        assert_eq!(keys, [&b"{s}a"[..], b"{s}b", b"{s}c"]);
        assert_eq!(
            keyspace::keys_in_slot(kv, slot, 1000, 2)
                .expect("keys")
                .len(),
            2
        );
        assert_eq!(
            keyspace::keys_in_slot(kv, slot, 1000, 0)
                .expect("keys")
                .len(),
            0
        );
        assert_eq!(keyspace::count_keys_in_slot(kv, slot, 3000).ok(), Some(2));
    }

    #[test]
    fn slot_arguments_as_redis_parses_them() {
        assert_eq!(slot_arg(b"0"), Ok(Some(0)));
        assert_eq!(slot_arg(b"16383"), Ok(Some(16383)));
        assert_eq!(slot_arg(b"16384"), Ok(None));
        assert_eq!(slot_arg(b"-1"), Ok(None));
        assert!(slot_arg(b"01").is_err(), "no leading zeros");
        assert!(slot_arg(b"abc").is_err());
    }

    #[test]
    fn help_lists_every_subcommand() {
        let Reply::Array(lines) = help_reply() else {
            panic!("help is an array")
        };
        for sub in SUBCOMMANDS {
            let name = sub.name.trim_start_matches("cluster|").to_ascii_uppercase();
            assert!(
                lines
                    .iter()
                    .any(|l| matches!(l, Reply::Status(s) if s.starts_with(name.as_bytes()))),
                "HELP lacks {name}"
            );
        }
    }
}
