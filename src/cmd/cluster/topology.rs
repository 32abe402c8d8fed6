//! The cluster as CLUSTER NODES/SLOTS/SHARDS/INFO show it.
//!
//! What: a [`ClusterView`] is the Redis-Cluster picture of the topology —
//! nodes with an address, a master/replica role, a config epoch and the
//! slot ranges they serve — built from this node's slot map and the state
//! of its local Raft replicas, and the functions that render it exactly as
//! redis-server 7.0 does.
//!
//! Why separate: building the view is the only part that knows redraft's
//! internals (shards, Raft roles); rendering is pure and unit-tested on
//! hand-made views, including several masters with replicas, which a
//! single node cannot produce yet.
//!
//! Mapping from redraft to Redis Cluster terms:
//! - A Redis *node* is a redraft process (one id, one client port). A
//!   process may lead several shards; its slots are the union of theirs.
//! - A shard's slots are served by the node that leads it (the *master*).
//! - *Config epoch* is the highest Raft term of the shards a node hosts,
//!   and *current epoch* the highest of all: both only grow, and change
//!   when leadership changes, as Redis epochs do on failover.
//! - *Replication offset* is the sum of the applied indexes of the node's
//!   shards: it grows with every write, as a master's offset does.
//!
//! Invariants: every rendering lists a node's slots as sorted, merged
//! ranges (adjacent ranges of one master become one), so the same map
//! gives the same text however the shards split it — `redis-cli --cluster
//! check` compares these texts between nodes.
//!
//! CAVEATS:
//! - Only this node is known: a shard led by another Raft member is shown
//!   as unassigned until the cluster map gives that member's address.
//! - No hostnames, TLS ports or failure states (`fail?`, `fail`): every
//!   known node is `online`; a peer the bus does not reach now is shown
//!   `disconnected` in CLUSTER NODES.

use std::fmt::Write as _;
use std::net::IpAddr;

use bytes::Bytes;
use redraft_cluster::{ShardId, ShardInfo, ShardRole, SlotRange, SLOT_COUNT};
use redraft_resp::Reply;

use crate::node::Node;

/// One node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// 40 lowercase hex characters.
    pub id: String,
    pub ip: IpAddr,
    pub port: u16,
    /// The cluster bus port (`port + 10000` by Redis's convention).
    pub cport: u32,
    /// Whether this is the node answering.
    pub myself: bool,
    /// For a replica, its master's id; `None` for a master.
    pub master_id: Option<String>,
    pub config_epoch: u64,
    pub repl_offset: u64,
    /// Whether this node's cluster bus currently reaches it (always true
    /// for myself).
    pub connected: bool,
    /// Sorted, merged ranges this node serves (empty for replicas).
    pub ranges: Vec<SlotRange>,
}

impl NodeView {
    pub fn is_master(&self) -> bool {
        self.master_id.is_none()
    }

    fn slot_count(&self) -> usize {
        self.ranges.iter().map(SlotRange::len).sum()
    }
}

/// The whole cluster as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    /// Myself first, then the others by id.
    pub nodes: Vec<NodeView>,
    pub current_epoch: u64,
    /// Raft groups: per shard, its merged ranges, its leader's id and its
    /// followers' ids. When empty, SLOTS and SHARDS derive the groups from
    /// `nodes` (one master with its replicas per group).
    pub groups: Vec<GroupView>,
}

/// One shard as CLUSTER SLOTS and SHARDS show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    pub ranges: Vec<SlotRange>,
    pub master: String,
    pub replicas: Vec<String>,
}

/// Another node of the cluster, for [`ClusterView::build_multi`].
pub struct PeerIdentity {
    pub raft_id: u64,
    pub id: String,
    pub ip: IpAddr,
    pub port: u16,
    pub cport: u32,
    /// Whether the bus reaches it now.
    pub connected: bool,
}

/// Who this node is, for [`ClusterView::build`].
pub struct LocalIdentity {
    pub id: String,
    pub ip: IpAddr,
    pub port: u16,
    /// This node's Raft id, to tell whether it leads a shard.
    pub raft_id: u64,
}

impl ClusterView {
    /// The view of `node`: its slot map and local replicas.
    pub fn of(node: &Node) -> ClusterView {
        let me = LocalIdentity {
            id: node.node_id.clone(),
            ip: node.config.announce_ip(),
            port: node.config.port,
            raft_id: node.raft_id(),
        };
        let map = node.slots.read().ranges.clone();
        let nodes = node.nodes();
        if nodes.len() < 2 {
            return ClusterView::build(&me, &map, &node.known_shards());
        }
        let peers: Vec<PeerIdentity> = nodes
            .iter()
            .map(|p| PeerIdentity {
                raft_id: p.id,
                id: crate::node::redis_node_id(p.id),
                ip: p.addr.ip(),
                port: p.addr.port(),
                cport: u32::from(node.config.bus_addr(p.addr).port()),
                connected: p.id == node.raft_id() || node.peer_connected(p.id),
            })
            .collect();
        let mut known = node.known_shards();
        let stand_ins = node.split_stand_ins(&known);
        known.retain(|i| !stand_ins.iter().any(|s| s.shard == i.shard));
        known.extend(stand_ins);
        ClusterView::build_multi(&me, &peers, &map, &known)
    }

    /// The view of a multi-node cluster: every node of `peers` (which
    /// includes this one); a shard's slots belong to its leader as this
    /// node knows it (its replica's Raft state, or gossip for a shard it
    /// does not host), and are unassigned while no leader is known. A node leading at least
    /// one shard is a master; one leading none is a replica of the leader
    /// of the first shard it follows.
    pub fn build_multi(
        me: &LocalIdentity,
        peers: &[PeerIdentity],
        map: &[(SlotRange, ShardId)],
        replicas: &[ShardInfo],
    ) -> ClusterView {
        let id_of = |raft: u64| {
            peers
                .iter()
                .find(|p| p.raft_id == raft)
                .map(|p| p.id.clone())
        };
        let mut groups = Vec::new();
        let mut led: std::collections::HashMap<u64, Vec<SlotRange>> = Default::default();
        let mut epoch_of: std::collections::HashMap<u64, u64> = Default::default();
        let mut follows: std::collections::HashMap<u64, u64> = Default::default();
        for info in replicas {
            let Some(leader) = info.leader.filter(|l| id_of(*l).is_some()) else {
                continue;
            };
            let ranges: Vec<SlotRange> = map
                .iter()
                .filter(|(_, s)| *s == info.shard)
                .map(|(r, _)| *r)
                .collect();
            if ranges.is_empty() {
                continue;
            }
            led.entry(leader)
                .or_default()
                .extend(ranges.iter().copied());
            let e = epoch_of.entry(leader).or_default();
            *e = (*e).max(info.term);
            for &v in info.voters.iter().filter(|&&v| v != leader) {
                follows.entry(v).or_insert(leader);
            }
            groups.push(GroupView {
                ranges: merge_ranges(ranges),
                master: id_of(leader).unwrap_or_default(),
                replicas: info
                    .voters
                    .iter()
                    .filter(|&&v| v != leader)
                    .filter_map(|&v| id_of(v))
                    .collect(),
            });
        }
        groups.sort_by_key(|g| g.ranges.first().map(|r| r.start));
        let current_epoch = replicas.iter().map(|i| i.term).max().unwrap_or(0);
        let offset: u64 = replicas.iter().map(|i| i.applied_index).sum();
        let mut nodes: Vec<NodeView> = peers
            .iter()
            .map(|p| {
                let ranges = led.get(&p.raft_id).cloned().unwrap_or_default();
                let master_id = if ranges.is_empty() {
                    follows.get(&p.raft_id).and_then(|&l| id_of(l))
                } else {
                    None
                };
                NodeView {
                    id: p.id.clone(),
                    ip: p.ip,
                    port: p.port,
                    cport: p.cport,
                    myself: p.raft_id == me.raft_id,
                    master_id,
                    config_epoch: epoch_of.get(&p.raft_id).copied().unwrap_or(0),
                    repl_offset: offset,
                    connected: p.connected,
                    ranges: merge_ranges(ranges),
                }
            })
            .collect();
        // Myself first, then the others by id, as Redis lists them.
        nodes.sort_by(|a, b| b.myself.cmp(&a.myself).then_with(|| a.id.cmp(&b.id)));
        ClusterView {
            nodes,
            current_epoch,
            groups,
        }
    }

    /// Builds the view from a slot map (`(range, shard)`) and the state of
    /// the local replicas. A hosted shard is served here when this node
    /// leads it or no leader is known (an election in progress: with one
    /// voter, this node is the only candidate).
    pub fn build(
        me: &LocalIdentity,
        map: &[(SlotRange, ShardId)],
        replicas: &[ShardInfo],
    ) -> ClusterView {
        let served_here = |shard: ShardId| {
            replicas.iter().find(|i| i.shard == shard).is_some_and(|i| {
                i.role == ShardRole::Leader || i.leader.is_none_or(|l| l == me.raft_id)
            })
        };
        let ranges = merge_ranges(
            map.iter()
                .filter(|(_, shard)| served_here(*shard))
                .map(|(r, _)| *r)
                .collect(),
        );
        let epoch = replicas.iter().map(|i| i.term).max().unwrap_or(0);
        let myself = NodeView {
            id: me.id.clone(),
            ip: me.ip,
            port: me.port,
            cport: u32::from(me.port) + 10_000,
            myself: true,
            master_id: None,
            config_epoch: epoch,
            repl_offset: replicas.iter().map(|i| i.applied_index).sum(),
            connected: true,
            ranges,
        };
        ClusterView {
            nodes: vec![myself],
            current_epoch: epoch,
            groups: Vec::new(),
        }
    }

    fn node(&self, id: &str) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.id == id)
    }

    fn myself(&self) -> Option<&NodeView> {
        self.nodes.iter().find(|n| n.myself)
    }

    fn replicas_of<'a>(&'a self, master: &'a NodeView) -> impl Iterator<Item = &'a NodeView> {
        self.nodes
            .iter()
            .filter(move |n| n.master_id.as_deref() == Some(&master.id))
    }

    /// Every `(range, master)`, by range start.
    fn ranges_by_start(&self) -> Vec<(SlotRange, &NodeView)> {
        let mut v: Vec<(SlotRange, &NodeView)> = self
            .nodes
            .iter()
            .filter(|n| n.is_master())
            .flat_map(|n| n.ranges.iter().map(move |r| (*r, n)))
            .collect();
        v.sort_by_key(|(r, _)| r.start);
        v
    }

    /// Masters serving at least one slot, by their first slot.
    fn serving_masters(&self) -> Vec<&NodeView> {
        let mut v: Vec<&NodeView> = self
            .nodes
            .iter()
            .filter(|n| n.is_master() && !n.ranges.is_empty())
            .collect();
        v.sort_by_key(|n| n.ranges[0].start);
        v
    }

    /// CLUSTER INFO's text (lines end with CRLF).
    pub fn info_text(&self) -> String {
        let assigned: usize = self
            .nodes
            .iter()
            .filter(|n| n.is_master())
            .map(NodeView::slot_count)
            .sum();
        // Every known node is reachable (see CAVEATS), so every assigned
        // slot is ok; full coverage is required, as Redis's default
        // cluster-require-full-coverage.
        let state = if assigned == usize::from(SLOT_COUNT) {
            "ok"
        } else {
            "fail"
        };
        let my_epoch = self.myself().map_or(0, |n| n.config_epoch);
        let mut s = String::new();
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = write!(s, "{k}:{v}\r\n");
        };
        line("cluster_state", &state);
        line("cluster_slots_assigned", &assigned);
        line("cluster_slots_ok", &assigned);
        line("cluster_slots_pfail", &0);
        line("cluster_slots_fail", &0);
        line("cluster_known_nodes", &self.nodes.len());
        line("cluster_size", &self.serving_masters().len());
        line("cluster_current_epoch", &self.current_epoch);
        line("cluster_my_epoch", &my_epoch);
        line("cluster_stats_messages_sent", &0);
        line("cluster_stats_messages_received", &0);
        line("total_cluster_links_buffer_limit_exceeded", &0);
        s
    }

    /// CLUSTER NODES's text: one line per node, each ending with `\n`.
    pub fn nodes_text(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            let flags = match (n.myself, n.is_master()) {
                (true, true) => "myself,master",
                (true, false) => "myself,slave",
                (false, true) => "master",
                (false, false) => "slave",
            };
            let _ = write!(
                s,
                "{} {}:{}@{} {} {} 0 0 {} {}",
                n.id,
                n.ip,
                n.port,
                n.cport,
                flags,
                n.master_id.as_deref().unwrap_or("-"),
                n.config_epoch,
                if n.connected {
                    "connected"
                } else {
                    "disconnected"
                }
            );
            for r in &n.ranges {
                let _ = write!(s, " {r}");
            }
            s.push('\n');
        }
        s
    }

    /// CLUSTER SLOTS: per range, `[start, end, master, replicas…]`, each
    /// node as `[ip, port, id, {metadata}]`.
    pub fn slots_reply(&self) -> Reply {
        let entry = |n: &NodeView| {
            Reply::Array(vec![
                Reply::bulk(n.ip.to_string()),
                Reply::Integer(i64::from(n.port)),
                Reply::bulk(n.id.clone()),
                Reply::Map(Vec::new()),
            ])
        };
        if !self.groups.is_empty() {
            let mut rows: Vec<(SlotRange, &GroupView)> = self
                .groups
                .iter()
                .flat_map(|g| g.ranges.iter().map(move |r| (*r, g)))
                .collect();
            rows.sort_by_key(|(r, _)| r.start);
            return Reply::Array(
                rows.into_iter()
                    .filter_map(|(r, g)| {
                        let master = self.node(&g.master)?;
                        let mut v = vec![
                            Reply::Integer(i64::from(r.start)),
                            Reply::Integer(i64::from(r.end)),
                            entry(master),
                        ];
                        v.extend(g.replicas.iter().filter_map(|id| self.node(id)).map(entry));
                        Some(Reply::Array(v))
                    })
                    .collect(),
            );
        }
        Reply::Array(
            self.ranges_by_start()
                .into_iter()
                .map(|(r, master)| {
                    let mut v = vec![
                        Reply::Integer(i64::from(r.start)),
                        Reply::Integer(i64::from(r.end)),
                        entry(master),
                    ];
                    v.extend(self.replicas_of(master).map(entry));
                    Reply::Array(v)
                })
                .collect(),
        )
    }

    /// CLUSTER SHARDS: per master serving slots, a map of `slots` (flat
    /// start/end pairs) and `nodes` (the master, then its replicas).
    pub fn shards_reply(&self) -> Reply {
        let node_map = |n: &NodeView, master: bool| {
            let field =
                |k: &'static str, v: Reply| (Reply::bulk(Bytes::from_static(k.as_bytes())), v);
            Reply::Map(vec![
                field("id", Reply::bulk(n.id.clone())),
                field("port", Reply::Integer(i64::from(n.port))),
                field("ip", Reply::bulk(n.ip.to_string())),
                field("endpoint", Reply::bulk(n.ip.to_string())),
                field(
                    "role",
                    Reply::bulk(if master { "master" } else { "replica" }),
                ),
                field(
                    "replication-offset",
                    Reply::Integer(i64::try_from(n.repl_offset).unwrap_or(i64::MAX)),
                ),
                field("health", Reply::bulk("online")),
            ])
        };
        let slots_of = |ranges: &[SlotRange]| {
            Reply::Array(
                ranges
                    .iter()
                    .flat_map(|r| {
                        [
                            Reply::Integer(i64::from(r.start)),
                            Reply::Integer(i64::from(r.end)),
                        ]
                    })
                    .collect(),
            )
        };
        if !self.groups.is_empty() {
            return Reply::Array(
                self.groups
                    .iter()
                    .filter_map(|g| {
                        let master = self.node(&g.master)?;
                        let mut nodes = vec![node_map(master, true)];
                        nodes.extend(
                            g.replicas
                                .iter()
                                .filter_map(|id| self.node(id))
                                .map(|n| node_map(n, false)),
                        );
                        Some(Reply::Map(vec![
                            (Reply::bulk("slots"), slots_of(&g.ranges)),
                            (Reply::bulk("nodes"), Reply::Array(nodes)),
                        ]))
                    })
                    .collect(),
            );
        }
        Reply::Array(
            self.serving_masters()
                .into_iter()
                .map(|m| {
                    let slots = m
                        .ranges
                        .iter()
                        .flat_map(|r| {
                            [
                                Reply::Integer(i64::from(r.start)),
                                Reply::Integer(i64::from(r.end)),
                            ]
                        })
                        .collect();
                    let nodes = std::iter::once(node_map(m, true))
                        .chain(self.replicas_of(m).map(|n| node_map(n, false)))
                        .collect();
                    Reply::Map(vec![
                        (Reply::bulk("slots"), Reply::Array(slots)),
                        (Reply::bulk("nodes"), Reply::Array(nodes)),
                    ])
                })
                .collect(),
        )
    }
}

/// Sorts ranges and joins overlapping or adjacent ones.
pub fn merge_ranges(mut ranges: Vec<SlotRange>) -> Vec<SlotRange> {
    ranges.sort();
    let mut out: Vec<SlotRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if u32::from(r.start) <= u32::from(last.end) + 1 => {
                last.end = last.end.max(r.end);
            }
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use redraft_resp::Protocol;

    use super::*;

    const ME: &str = "9545b049d3befb90aa9a31d7633cf4885fb91b42";
    const OTHER: &str = "07c37dfeb235213a872192d90877d0cd55635b91";
    const REPLICA: &str = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";

    fn me() -> LocalIdentity {
        LocalIdentity {
            id: ME.into(),
            ip: IpAddr::from([127, 0, 0, 1]),
            port: 7391,
            raft_id: 1,
        }
    }

    fn info(shard: ShardId, role: ShardRole, leader: Option<u64>, term: u64) -> ShardInfo {
        ShardInfo {
            shard,
            role,
            term,
            leader,
            applied_index: 5,
            ..ShardInfo::default()
        }
    }

    fn one_node() -> ClusterView {
        ClusterView::build(
            &me(),
            &[(SlotRange::ALL, 1)],
            &[info(1, ShardRole::Leader, Some(1), 1)],
        )
    }

    fn encode(r: &Reply, p: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        r.encode(p, &mut out);
        out.to_vec()
    }

    /// Two masters (one with two ranges) and a replica, as a future
    /// multi-node map will give.
    fn three_nodes() -> ClusterView {
        let node = |id: &str, port, master: Option<&str>, ranges: Vec<SlotRange>| NodeView {
            id: id.into(),
            ip: IpAddr::from([10, 0, 0, 1]),
            port,
            cport: u32::from(port) + 10_000,
            myself: id == ME,
            master_id: master.map(Into::into),
            config_epoch: 3,
            repl_offset: 42,
            connected: true,
            ranges,
        };
        ClusterView {
            nodes: vec![
                node(
                    ME,
                    7000,
                    None,
                    vec![SlotRange::new(0, 99), SlotRange::new(200, 16383)],
                ),
                node(OTHER, 7001, None, vec![SlotRange::new(100, 199)]),
                node(REPLICA, 7002, Some(ME), vec![]),
            ],
            current_epoch: 4,
            groups: Vec::new(),
        }
    }

    #[test]
    fn one_node_nodes_line_is_exact() {
        assert_eq!(
            one_node().nodes_text(),
            format!("{ME} 127.0.0.1:7391@17391 myself,master - 0 0 1 connected 0-16383\n")
        );
    }

    #[test]
    fn one_node_info_is_exact() {
        assert_eq!(
            one_node().info_text(),
            "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n\
             cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n\
             cluster_size:1\r\ncluster_current_epoch:1\r\ncluster_my_epoch:1\r\n\
             cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n\
             total_cluster_links_buffer_limit_exceeded:0\r\n"
        );
    }

    #[test]
    fn one_node_slots_bytes_match_redis() {
        // Byte for byte what redis-server 7.0 answers, in both protocols.
        let r = one_node().slots_reply();
        let body =
            format!("*3\r\n:0\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:7391\r\n$40\r\n{ME}\r\n");
        assert_eq!(
            encode(&r, Protocol::Resp2),
            format!("*1\r\n{body}*0\r\n").into_bytes()
        );
        assert_eq!(
            encode(&r, Protocol::Resp3),
            format!("*1\r\n{body}%0\r\n").into_bytes()
        );
    }

    #[test]
    fn one_node_shards_bytes_match_redis() {
        let r = one_node().shards_reply();
        let fields = format!(
            "$2\r\nid\r\n$40\r\n{ME}\r\n$4\r\nport\r\n:7391\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n\
             $8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
             $18\r\nreplication-offset\r\n:5\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
        );
        assert_eq!(
            encode(&r, Protocol::Resp2),
            format!("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n{fields}")
                .into_bytes()
        );
        assert_eq!(
            encode(&r, Protocol::Resp3),
            format!("*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n%7\r\n{fields}")
                .into_bytes()
        );
    }

    #[test]
    fn shards_split_evenly_render_as_one_range() {
        let map: Vec<(SlotRange, ShardId)> =
            SlotRange::split_even(3).into_iter().zip(1..).collect();
        let replicas: Vec<ShardInfo> = (1..=3)
            .map(|s| info(s, ShardRole::Leader, Some(1), s))
            .collect();
        let v = ClusterView::build(&me(), &map, &replicas);
        assert_eq!(v.nodes[0].ranges, vec![SlotRange::ALL]);
        assert_eq!(v.nodes[0].config_epoch, 3, "the highest term");
        assert_eq!(v.nodes[0].repl_offset, 15, "the sum of applied indexes");
        assert!(v.nodes_text().ends_with(" 3 connected 0-16383\n"));
    }

    #[test]
    fn election_in_progress_still_serves_and_remote_leader_does_not() {
        let map = [
            (SlotRange::new(0, 8191), 1),
            (SlotRange::new(8192, 16383), 2),
        ];
        let v = ClusterView::build(
            &me(),
            &map,
            &[
                info(1, ShardRole::Candidate, None, 1),
                info(2, ShardRole::Follower, Some(7), 1),
            ],
        );
        assert_eq!(v.nodes[0].ranges, vec![SlotRange::new(0, 8191)]);
        let text = v.info_text();
        assert!(
            text.starts_with("cluster_state:fail\r\ncluster_slots_assigned:8192\r\n"),
            "{text}"
        );
    }

    #[test]
    fn unhosted_shards_are_unassigned() {
        let v = ClusterView::build(&me(), &[(SlotRange::ALL, 9)], &[]);
        assert!(v.nodes[0].ranges.is_empty());
        assert!(v.info_text().contains("cluster_size:0\r\n"));
        assert_eq!(v.slots_reply(), Reply::Array(vec![]));
        assert_eq!(v.shards_reply(), Reply::Array(vec![]));
        assert!(
            v.nodes_text().ends_with(" connected\n"),
            "no trailing space"
        );
    }

    #[test]
    fn several_masters_and_a_replica() {
        let v = three_nodes();
        assert_eq!(
            v.nodes_text(),
            format!(
                "{ME} 10.0.0.1:7000@17000 myself,master - 0 0 3 connected 0-99 200-16383\n\
                 {OTHER} 10.0.0.1:7001@17001 master - 0 0 3 connected 100-199\n\
                 {REPLICA} 10.0.0.1:7002@17002 slave {ME} 0 0 3 connected\n"
            )
        );
        let text = v.info_text();
        assert!(
            text.contains("cluster_known_nodes:3\r\ncluster_size:2\r\n"),
            "{text}"
        );
        assert!(
            text.contains("cluster_current_epoch:4\r\ncluster_my_epoch:3\r\n"),
            "{text}"
        );

        let Reply::Array(slots) = v.slots_reply() else {
            panic!("slots")
        };
        let starts: Vec<(Reply, usize)> = slots
            .iter()
            .map(|e| match e {
                Reply::Array(v) => (v[0].clone(), v.len()),
                _ => panic!("entry"),
            })
            .collect();
        // Range order; my ranges carry the replica (start, end, master, replica).
        assert_eq!(
            starts,
            vec![
                (Reply::Integer(0), 4),
                (Reply::Integer(100), 3),
                (Reply::Integer(200), 4)
            ]
        );

        let Reply::Array(shards) = v.shards_reply() else {
            panic!("shards")
        };
        assert_eq!(shards.len(), 2);
        let Reply::Map(first) = &shards[0] else {
            panic!("shard")
        };
        assert_eq!(
            first[0].1,
            Reply::Array(
                [0, 99, 200, 16383]
                    .into_iter()
                    .map(Reply::Integer)
                    .collect()
            )
        );
        let Reply::Array(nodes) = &first[1].1 else {
            panic!("nodes")
        };
        assert_eq!(nodes.len(), 2);
        let Reply::Map(replica) = &nodes[1] else {
            panic!("node")
        };
        assert_eq!(replica[4], (Reply::bulk("role"), Reply::bulk("replica")));
    }

    #[test]
    fn merge_joins_adjacent_and_keeps_gaps() {
        let r = |a, b| SlotRange::new(a, b);
        assert_eq!(
            merge_ranges(vec![r(10, 19), r(0, 9), r(21, 30), r(25, 40)]),
            vec![r(0, 19), r(21, 40)]
        );
        assert_eq!(merge_ranges(vec![]), vec![]);
        assert_eq!(merge_ranges(vec![r(5, 5), r(6, 6)]), vec![r(5, 6)]);
    }
}
