//! A multi-node redraft cluster of real processes: [`TestCluster`].
//!
//! [`TestCluster::start`] starts N nodes (3 by default) with `--raft-id`
//! and `--peers` wired to each other, all spawned at once (a node may wait
//! for its peers before it answers), and returns once every node reports
//! `cluster_state:ok` (all 16384 slots served cluster-wide), or panics with
//! every node's log tail after a deadline.
//!
//! By default the nodes listen on 127.0.0.1, each on a client port `p`
//! whose bus port `p + 10000` is free too ([`crate::free_port_pair`]). The
//! [`crate::netns`] harness instead gives each node its own address and a
//! command prefix (`ip netns exec …`).
//!
//! Faults: [`TestCluster::kill9`], [`TestCluster::restart`],
//! [`TestCluster::pause`] (SIGSTOP) and [`TestCluster::resume`] (SIGCONT).
//! Checks: [`TestCluster::digests`] (`DEBUG DIGEST` on every node) and
//! [`TestCluster::wait_converged`]. Dropping the cluster (also during a
//! panic) resumes paused nodes and then kills every node; each node's log
//! tail is printed when the drop happens during a panic.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::raw::{frame_text, Frame, RawConn};
use crate::{free_port_pair, wait_until, NodeOpts, TestNode};

/// The default distance from the client port to the cluster bus port.
pub const BUS_PORT_OFFSET: u16 = 10_000;

/// How to start a [`TestCluster`].
#[derive(Clone, Debug)]
pub struct ClusterOpts {
    /// Number of nodes (raft ids 1..=nodes).
    pub nodes: usize,
    /// `--shards`; the binary's default (one per node) when `None`.
    pub shards: Option<u16>,
    /// Extra flags for every node, e.g. `--raft-compact-entries 200`.
    pub args: Vec<String>,
    /// Per-node listen addresses (`--bind`); 127.0.0.1 for all when empty.
    pub hosts: Vec<IpAddr>,
    /// Per-node client ports; free ones are picked when empty.
    pub ports: Vec<u16>,
    /// Per-node command prefixes (see [`NodeOpts::wrapper`]); none when
    /// empty.
    pub wrappers: Vec<Vec<String>>,
    /// How long the start (processes up, then `cluster_state:ok` on every
    /// node) may take.
    pub ready_timeout: Duration,
}

impl Default for ClusterOpts {
    fn default() -> Self {
        ClusterOpts {
            nodes: 3,
            shards: None,
            args: Vec::new(),
            hosts: Vec::new(),
            ports: Vec::new(),
            wrappers: Vec::new(),
            ready_timeout: Duration::from_secs(60),
        }
    }
}

impl ClusterOpts {
    pub fn new() -> ClusterOpts {
        ClusterOpts::default()
    }

    pub fn nodes(mut self, n: usize) -> ClusterOpts {
        self.nodes = n;
        self
    }

    pub fn shards(mut self, s: u16) -> ClusterOpts {
        self.shards = Some(s);
        self
    }

    /// Appends flags for every node.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> ClusterOpts {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn ready_timeout(mut self, t: Duration) -> ClusterOpts {
        self.ready_timeout = t;
        self
    }

    fn host(&self, i: usize) -> IpAddr {
        self.hosts
            .get(i)
            .copied()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// One shard's line of `INFO replication` as a node reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardRole {
    pub shard: u32,
    /// `leader`, `follower` or `candidate`.
    pub role: String,
    pub term: u64,
    pub leader: u64,
    pub commit: u64,
    pub applied: u64,
    /// The shard's voters, node ids.
    pub voters: Vec<u64>,
}

/// The parts of `INFO replication` the tests read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationInfo {
    pub shards: BTreeMap<u32, ShardRole>,
    pub snapshots_sent: u64,
    pub snapshots_received: u64,
    /// The `anti_entropy_*` counters (see `src/info.rs`).
    pub anti_entropy: AntiEntropyInfo,
}

/// The anti-entropy counters of `INFO replication`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AntiEntropyInfo {
    pub checks: u64,
    pub divergent: u64,
    pub local_divergent: u64,
    pub repairs: u64,
    pub unresolved: u64,
}

impl ReplicationInfo {
    /// Parses the text of `INFO replication`.
    pub fn parse(text: &str) -> ReplicationInfo {
        let mut info = ReplicationInfo::default();
        for line in text.lines().map(str::trim) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            match name {
                "snapshots_sent" => info.snapshots_sent = value.parse().unwrap_or(0),
                "snapshots_received" => info.snapshots_received = value.parse().unwrap_or(0),
                "anti_entropy_checks" => info.anti_entropy.checks = value.parse().unwrap_or(0),
                "anti_entropy_divergent" => {
                    info.anti_entropy.divergent = value.parse().unwrap_or(0)
                }
                "anti_entropy_local_divergent" => {
                    info.anti_entropy.local_divergent = value.parse().unwrap_or(0)
                }
                "anti_entropy_repairs" => info.anti_entropy.repairs = value.parse().unwrap_or(0),
                "anti_entropy_unresolved" => {
                    info.anti_entropy.unresolved = value.parse().unwrap_or(0)
                }
                _ => {
                    let Some(n) = name.strip_prefix("shard").and_then(|n| n.parse().ok()) else {
                        continue;
                    };
                    let mut s = ShardRole {
                        shard: n,
                        ..ShardRole::default()
                    };
                    for field in value.split(',') {
                        let (k, v) = field.split_once('=').unwrap_or((field, ""));
                        let num = || v.parse().unwrap_or(0);
                        match k {
                            "role" => s.role = v.to_string(),
                            "term" => s.term = num(),
                            "leader" => s.leader = num(),
                            "commit" => s.commit = num(),
                            "applied" => s.applied = num(),
                            "voters" => {
                                s.voters = v.split('/').filter_map(|x| x.parse().ok()).collect()
                            }
                            _ => {}
                        }
                    }
                    info.shards.insert(n, s);
                }
            }
        }
        info
    }
}

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLine {
    pub id: String,
    /// `ip:port` (the `@bus` part removed).
    pub addr: String,
    pub flags: Vec<String>,
    /// Slot ranges, inclusive.
    pub slots: Vec<(u16, u16)>,
}

impl NodeLine {
    pub fn is_myself(&self) -> bool {
        self.flags.iter().any(|f| f == "myself")
    }

    pub fn is_master(&self) -> bool {
        self.flags.iter().any(|f| f == "master")
    }

    pub fn covers(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| (a..=b).contains(&slot))
    }

    /// Parses the text of `CLUSTER NODES`.
    pub fn parse_all(text: &str) -> Vec<NodeLine> {
        text.lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 8 {
                    return None;
                }
                let slots = f[8..]
                    .iter()
                    .filter(|s| !s.starts_with('['))
                    .filter_map(|s| match s.split_once('-') {
                        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                        None => s.parse().ok().map(|a| (a, a)),
                    })
                    .collect();
                Some(NodeLine {
                    id: f[0].to_string(),
                    addr: f[1].split('@').next().unwrap_or("").to_string(),
                    flags: f[2].split(',').map(str::to_string).collect(),
                    slots,
                })
            })
            .collect()
    }
}

/// Redis Cluster's hash slot of a key (CRC16/XMODEM of the key or of its
/// first non-empty `{hash tag}`, modulo 16384).
pub fn key_slot(key: &[u8]) -> u16 {
    let mut k = key;
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                k = &key[open + 1..open + 1 + len];
            }
        }
    }
    let mut crc: u16 = 0;
    for &b in k {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc & 16383
}

/// A key `<prefix><n>` for the smallest `n` whose slot satisfies `want`
/// (tries 100000 numbers at most).
pub fn key_in(prefix: &str, mut want: impl FnMut(u16) -> bool) -> Option<String> {
    (0..100_000u32)
        .map(|n| format!("{prefix}{n}"))
        .find(|k| want(key_slot(k.as_bytes())))
}

/// N redraft processes forming one cluster; see the module docs.
pub struct TestCluster {
    // Dropped after `paused` is handled in `Drop`.
    nodes: Vec<TestNode>,
    paused: Vec<bool>,
    opts: ClusterOpts,
}

impl TestCluster {
    /// Starts the cluster and waits until every node reports
    /// `cluster_state:ok`; panics (with every log tail) otherwise.
    pub fn start(opts: ClusterOpts) -> TestCluster {
        match TestCluster::try_start(opts) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`TestCluster::start`], returning the failure. When a node exits
    /// during the start with picked ports (a port taken meanwhile, say),
    /// the whole cluster is started again on other ports, three times at
    /// most.
    pub fn try_start(opts: ClusterOpts) -> Result<TestCluster, String> {
        assert!(opts.nodes >= 1, "a cluster needs a node");
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let ports: Vec<u16> = if opts.ports.is_empty() {
                (0..opts.nodes)
                    .map(|_| free_port_pair(BUS_PORT_OFFSET))
                    .collect()
            } else {
                assert_eq!(opts.ports.len(), opts.nodes, "one port per node");
                opts.ports.clone()
            };
            match TestCluster::spawn_all(&opts, &ports) {
                Ok(mut cluster) => {
                    let deadline = Instant::now() + opts.ready_timeout;
                    return match cluster.wait_ready(deadline) {
                        Ok(()) => Ok(cluster),
                        Err(e) => Err(format!(
                            "cluster did not become ready: {e}\n{}",
                            cluster.log_tails(30)
                        )),
                    };
                }
                Err((e, retry)) => {
                    last_err = e;
                    if !retry || !opts.ports.is_empty() {
                        break;
                    }
                }
            }
        }
        Err(last_err)
    }

    /// Starts every node and waits for each to answer PING.
    /// The error says whether another try on other ports makes sense.
    fn spawn_all(opts: &ClusterOpts, ports: &[u16]) -> Result<TestCluster, (String, bool)> {
        let peers = (0..opts.nodes)
            .map(|i| format!("{}={}", i + 1, SocketAddr::new(opts.host(i), ports[i])))
            .collect::<Vec<_>>()
            .join(",");
        let node_opts: Vec<NodeOpts> = (0..opts.nodes)
            .map(|i| {
                let mut args = vec![
                    "--bind".to_string(),
                    opts.host(i).to_string(),
                    "--raft-id".to_string(),
                    (i + 1).to_string(),
                    "--peers".to_string(),
                    peers.clone(),
                ];
                if let Some(s) = opts.shards {
                    args.extend(["--shards".to_string(), s.to_string()]);
                }
                args.extend(opts.args.iter().cloned());
                NodeOpts::new()
                    .redraft_only()
                    .port(ports[i])
                    .host(opts.host(i))
                    .wrapper(opts.wrappers.get(i).cloned().unwrap_or_default())
                    .ready_timeout(opts.ready_timeout)
                    .args(args)
            })
            .collect();
        // Started one after the other from this thread: a node answers
        // PING before its peers are up, and a child started from a
        // short-lived thread would be killed when that thread ends
        // (PR_SET_PDEATHSIG follows the thread, not the process).
        let results: Vec<Result<TestNode, String>> =
            node_opts.into_iter().map(TestNode::try_start).collect();
        let mut nodes = Vec::new();
        let mut errors = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(n) => nodes.push(n),
                Err(e) => errors.push(format!("node {} (port {}): {e}", i + 1, ports[i])),
            }
        }
        if errors.is_empty() {
            Ok(TestCluster {
                paused: vec![false; nodes.len()],
                nodes,
                opts: opts.clone(),
            })
        } else {
            // Dropping `nodes` kills the ones that started.
            let early_exit = errors.iter().all(|e| e.contains("exited before"));
            Err((errors.join("\n"), early_exit))
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Starts one more node that joins the cluster through node `seed`
    /// (`--join`); returns its index once it answers PING. The cluster
    /// gives it the next node id (index + 1 while no node was removed).
    pub fn join_node(&mut self, seed: usize) -> Result<usize, String> {
        let i = self.nodes.len();
        let host = self.opts.host(i);
        let mut args = vec![
            "--bind".to_string(),
            host.to_string(),
            "--join".to_string(),
            self.nodes[seed].addr(),
        ];
        args.extend(self.opts.args.iter().cloned());
        let node = TestNode::try_start(
            NodeOpts::new()
                .redraft_only()
                .port(free_port_pair(BUS_PORT_OFFSET))
                .host(host)
                .ready_timeout(self.opts.ready_timeout)
                .args(args),
        )?;
        self.nodes.push(node);
        self.paused.push(false);
        Ok(i)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn opts(&self) -> &ClusterOpts {
        &self.opts
    }

    pub fn node(&self, i: usize) -> &TestNode {
        &self.nodes[i]
    }

    pub fn node_mut(&mut self, i: usize) -> &mut TestNode {
        &mut self.nodes[i]
    }

    /// Every node's `ip:port`.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(TestNode::addr).collect()
    }

    /// Every node's `redis://ip:port/`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(TestNode::url).collect()
    }

    /// The index of the node on `ip:port`.
    pub fn index_of_addr(&self, addr: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.addr() == addr)
    }

    /// Whether node `i`'s process runs (paused counts as running).
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes[i].is_running()
    }

    pub fn is_paused(&self, i: usize) -> bool {
        self.paused[i]
    }

    /// Nodes that run and are not paused.
    pub fn live(&mut self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| !self.paused[i] && self.nodes[i].is_running())
            .collect()
    }

    /// SIGKILLs node `i` (resumed first if paused, so it dies at once).
    pub fn kill9(&mut self, i: usize) {
        self.resume(i);
        self.nodes[i].kill9();
    }

    /// Starts node `i` again on its folder and port and waits for PING;
    /// panics with its log tail if it does not come back.
    pub fn restart(&mut self, i: usize) {
        if let Err(e) = self.try_restart(i) {
            panic!("restart of node {}: {e}", i + 1);
        }
    }

    pub fn try_restart(&mut self, i: usize) -> Result<(), String> {
        self.resume(i);
        self.nodes[i].try_restart()
    }

    /// SIGSTOPs node `i`.
    pub fn pause(&mut self, i: usize) {
        if let Some(pid) = self.nodes[i].pid() {
            // SAFETY: kill(2) on the pid of our own, not yet reaped child.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGSTOP);
            }
            self.paused[i] = true;
        }
    }

    /// SIGCONTs node `i` if it was paused.
    pub fn resume(&mut self, i: usize) {
        if !self.paused[i] {
            return;
        }
        if let Some(pid) = self.nodes[i].pid() {
            // SAFETY: as in `pause`.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGCONT);
            }
        }
        self.paused[i] = false;
    }

    /// One command on node `i` over a fresh connection with a 2 s reply
    /// timeout (5 s to connect). An error reply is `Ok(Frame::Error)`.
    pub fn cmd(&self, i: usize, args: &[&str]) -> Result<Frame, String> {
        let mut c = RawConn::connect(self.nodes[i].socket_addr())
            .map_err(|e| format!("connect to node {}: {e}", i + 1))?;
        c.set_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        c.cmd(args)
            .map_err(|e| format!("{} on node {}: {e}", args.join(" "), i + 1))
    }

    /// The text of a reply that is not an error.
    pub fn cmd_text(&self, i: usize, args: &[&str]) -> Result<String, String> {
        match self.cmd(i, args)? {
            Frame::Error(e) => Err(format!("{} on node {}: -{e}", args.join(" "), i + 1)),
            f => Ok(frame_text(&f)),
        }
    }

    /// Whether node `i` reports `cluster_state:ok`.
    pub fn node_ready(&self, i: usize) -> bool {
        self.cmd_text(i, &["CLUSTER", "INFO"])
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "cluster_state:ok"))
    }

    /// Waits until every running, unpaused node reports
    /// `cluster_state:ok`; the error names the nodes that did not.
    pub fn wait_ready(&mut self, deadline: Instant) -> Result<(), String> {
        let live = self.live();
        let ok = wait_until(deadline, || live.iter().all(|&i| self.node_ready(i)));
        if ok {
            return Ok(());
        }
        let not: Vec<String> = live
            .iter()
            .filter(|&&i| !self.node_ready(i))
            .map(|&i| {
                let state = self
                    .cmd_text(i, &["CLUSTER", "INFO"])
                    .map(|t| {
                        t.lines()
                            .find(|l| l.starts_with("cluster_state"))
                            .unwrap_or("no cluster_state line")
                            .trim()
                            .to_string()
                    })
                    .unwrap_or_else(|e| e);
                format!("node {} ({}): {state}", i + 1, self.nodes[i].addr())
            })
            .collect();
        Err(format!("not ready: {}", not.join("; ")))
    }

    /// `DEBUG DIGEST` on node `i`: 40 hex digits.
    pub fn digest(&self, i: usize) -> Result<String, String> {
        let d = self.cmd_text(i, &["DEBUG", "DIGEST"])?;
        if d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(d)
        } else {
            Err(format!("DEBUG DIGEST on node {}: not 40 hex: {d:?}", i + 1))
        }
    }

    /// `DEBUG DIGEST` on every node, in order.
    pub fn digests(&self) -> Vec<Result<String, String>> {
        (0..self.len()).map(|i| self.digest(i)).collect()
    }

    /// Waits until every node answers `DEBUG DIGEST` with the same digest,
    /// twice in a row 200 ms apart (so a node still applying does not
    /// match by chance), and returns it; the error lists the last digests.
    pub fn wait_converged(&self, deadline: Instant) -> Result<String, String> {
        let mut last = Vec::new();
        let mut agreed: Option<String> = None;
        let mut agreed_at = Instant::now();
        let ok = wait_until(deadline, || {
            last = self.digests();
            let first = match last.first() {
                Some(Ok(d)) => d.clone(),
                _ => return false,
            };
            if !last.iter().all(|d| d.as_ref() == Ok(&first)) {
                agreed = None;
                return false;
            }
            match &agreed {
                Some(a) if *a == first => agreed_at.elapsed() >= Duration::from_millis(200),
                _ => {
                    agreed = Some(first);
                    agreed_at = Instant::now();
                    false
                }
            }
        });
        match (ok, agreed) {
            (true, Some(d)) => Ok(d),
            _ => Err(format!("digests did not converge: {last:?}")),
        }
    }

    /// `INFO replication` of node `i`, parsed.
    pub fn replication(&self, i: usize) -> Result<ReplicationInfo, String> {
        self.cmd_text(i, &["INFO", "replication"])
            .map(|t| ReplicationInfo::parse(&t))
    }

    /// `CLUSTER NODES` as node `i` sees it.
    pub fn cluster_nodes(&self, i: usize) -> Result<Vec<NodeLine>, String> {
        self.cmd_text(i, &["CLUSTER", "NODES"])
            .map(|t| NodeLine::parse_all(&t))
    }

    /// The slot ranges node `i` says it leads (its own `myself,master`
    /// line of `CLUSTER NODES`).
    pub fn led_slots(&self, i: usize) -> Result<Vec<(u16, u16)>, String> {
        let lines = self.cluster_nodes(i)?;
        Ok(lines
            .into_iter()
            .find(|l| l.is_myself())
            .filter(NodeLine::is_master)
            .map(|l| l.slots)
            .unwrap_or_default())
    }

    /// Waits until each node of a default 3-node, 3-shard cluster leads
    /// the shard it prefers, after which nothing moves leaders. The ring
    /// placement prefers node 1 for shard 1 (slots 0-5460), node 3 for
    /// shard 2 (5461-10921) and node 2 for shard 3 (10922-16383); see
    /// `cluster/tests/golden/placement.txt`.
    pub fn wait_preferred_leaders(&self, deadline: Instant) -> bool {
        const FIRSTS: [u16; 3] = [0, 10922, 5461];
        wait_until(deadline, || {
            (0..3).all(|i| {
                self.led_slots(i)
                    .is_ok_and(|r| r.iter().any(|&(a, _)| a == FIRSTS[i]))
            })
        })
    }

    /// The live node that says it leads `slot`, if exactly one does.
    pub fn leader_of_slot(&mut self, slot: u16) -> Option<usize> {
        let claims: Vec<usize> = self
            .live()
            .into_iter()
            .filter(|&i| {
                self.led_slots(i)
                    .is_ok_and(|r| r.iter().any(|&(a, b)| (a..=b).contains(&slot)))
            })
            .collect();
        match claims[..] {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Waits until exactly one live node claims `slot`.
    pub fn wait_leader_of_slot(&mut self, slot: u16, deadline: Instant) -> Option<usize> {
        let mut leader = None;
        wait_until(deadline, || {
            leader = self.leader_of_slot(slot);
            leader.is_some()
        });
        leader
    }

    /// Whether the live nodes' own claims cover all 16384 slots.
    pub fn live_leaders_cover_all_slots(&mut self) -> bool {
        let mut covered = vec![false; 16384];
        for i in self.live() {
            for (a, b) in self.led_slots(i).unwrap_or_default() {
                for s in a..=b.min(16383) {
                    covered[s as usize] = true;
                }
            }
        }
        covered.iter().all(|&c| c)
    }

    /// A `redis` cluster client seeded with every node, with 1 s connect
    /// and 2 s response timeouts and the crate's default retries.
    pub fn client(&self) -> redis::cluster::ClusterClient {
        self.client_builder(&(0..self.len()).collect::<Vec<_>>())
            .build()
            .expect("cluster client")
    }

    /// A cluster client builder seeded with the given nodes and the same
    /// timeouts as [`TestCluster::client`].
    pub fn client_builder(&self, seeds: &[usize]) -> redis::cluster::ClusterClientBuilder {
        redis::cluster::ClusterClient::builder(
            seeds
                .iter()
                .map(|&i| self.nodes[i].url())
                .collect::<Vec<_>>(),
        )
        .connection_timeout(Duration::from_secs(1))
        .response_timeout(Duration::from_secs(2))
    }

    /// An async connection of [`TestCluster::client`].
    pub async fn cluster_conn(
        &self,
    ) -> redis::RedisResult<redis::cluster_async::ClusterConnection> {
        self.client().get_async_connection().await
    }

    /// The last `n` log lines of every node, with headers.
    pub fn log_tails(&self, n: usize) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                format!(
                    "--- node {} ({}) log tail ---\n{}\n",
                    i + 1,
                    node.addr(),
                    node.log_tail(n)
                )
            })
            .collect()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // A stopped process still dies of SIGKILL, but resume first so
        // nothing is left stopped if a kill fails.
        for i in 0..self.nodes.len() {
            self.resume(i);
        }
        // The nodes' own Drop kills them (and prints log tails on panic).
        self.nodes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_slots_match_redis() {
        // Values from redis-cli CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), 3443);
        assert_eq!(key_slot(b"user1000"), 3443);
        assert_eq!(key_slot(b"foo{}{bar}"), 8363);
        assert_eq!(key_slot(b"{}foo"), 9500);
        assert_eq!(key_slot(b"a{b}c{d}"), 3300);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn parses_info_replication() {
        let text = "# Replication\r\nrole:master\r\n\
                    shard0:role=leader,term=3,leader=1,commit=42,applied=41,voters=1/2/3\r\n\
                    shard1:role=follower,term=2,leader=2,commit=7,applied=7\r\n\
                    snapshots_sent:2\r\nsnapshots_received:1\r\n";
        let info = ReplicationInfo::parse(text);
        assert_eq!(info.snapshots_sent, 2);
        assert_eq!(info.snapshots_received, 1);
        assert_eq!(info.shards.len(), 2);
        assert_eq!(
            info.shards[&0],
            ShardRole {
                shard: 0,
                role: "leader".into(),
                term: 3,
                leader: 1,
                commit: 42,
                applied: 41,
                voters: vec![1, 2, 3],
            }
        );
        assert_eq!(info.shards[&1].role, "follower");
    }

    #[test]
    fn parses_cluster_nodes() {
        let text = "abc 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460 6000\n\
                    def 127.0.0.1:7002@17002 slave abc 0 0 1 connected\n";
        let lines = NodeLine::parse_all(text);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].is_myself() && lines[0].is_master());
        assert_eq!(lines[0].addr, "127.0.0.1:7001");
        assert_eq!(lines[0].slots, vec![(0, 5460), (6000, 6000)]);
        assert!(lines[0].covers(6000) && !lines[0].covers(5461));
        assert!(!lines[1].is_master() && lines[1].slots.is_empty());
    }
}
