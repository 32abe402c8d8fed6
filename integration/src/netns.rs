//! Network namespaces for partition tests: [`NetnsNet`] and
//! [`NetnsCluster`].
//!
//! [`NetnsNet::create`] makes a "hub" namespace holding a Linux bridge,
//! and per node a namespace joined to the bridge by a veth pair, the
//! node's side addressed `10.251.Y.<i+1>/24`. One more veth pair joins
//! the test's own namespace to the bridge, with the address
//! `10.251.Y.254/24` on the test's side, so the test reaches every node;
//! nodes reach each other through the bridge. The bridge lives in its own
//! namespace so that the host's firewall (Docker's FORWARD policy DROP
//! with br_netfilter loaded, say) never sees the bridged traffic. `Y` is
//! picked so that no address or route of this machine is in the subnet.
//!
//! Faults:
//! - [`NetnsNet::isolate`] cuts node `i` off from the other nodes only:
//!   a filter in node `i`'s namespace drops packets to and from the other
//!   nodes' addresses (nft, or iptables when nft is missing), so the test
//!   can still talk to the isolated node directly. With neither tool it
//!   falls back to [`NetnsNet::cut_link`].
//! - [`NetnsNet::cut_link`] sets the hub side of node `i`'s veth down:
//!   the node is cut off from everything, the test included.
//! - [`NetnsNet::heal`] undoes both.
//!
//! Names hold the test process's pid and a per-process counter (parallel
//! runs and tests do not collide). Dropping a [`NetnsNet`] (also while a
//! test panics) deletes its namespaces, which deletes the bridge, every
//! veth and every filter. Leftovers of killed test processes (whose pid
//! no longer runs) are removed by the next [`NetnsNet::create`].
//!
//! [`NetnsNet::check`] says whether this can run here (root, the `ip`
//! tool, namespaces allowed); tests skip with its message otherwise.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::cluster::{ClusterOpts, TestCluster};

/// The first two octets of every subnet this harness makes.
const NET_PREFIX: (u8, u8) = (10, 251);
/// Namespace names start with this, then `<pid>-<n>-<node>`.
const NS_PREFIX: &str = "rdt-";

/// How [`NetnsNet::isolate`] cuts a node off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionTool {
    /// nft rules in the node's namespace; the test still reaches the node.
    Nft,
    /// iptables rules in the node's namespace; the test still reaches it.
    Iptables,
    /// The hub side of its veth down; the node is unreachable.
    LinkDown,
}

/// Runs a command; the error holds its stderr.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a command with `input` on stdin.
fn run_stdin(program: &str, args: &[&str], input: &str) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("{program} stdin: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn have(program: &str, probe: &[&str]) -> bool {
    Command::new(program)
        .args(probe)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A bridge plus one namespace per node; see the module docs.
pub struct NetnsNet {
    /// `<pid hex>-<counter hex>`, in every name.
    tag: String,
    /// The namespace holding the bridge.
    hub: String,
    /// The third octet of the subnet.
    subnet: u8,
    namespaces: Vec<String>,
    created_hub: bool,
    /// The test's side of its link to the bridge.
    host_link: Option<String>,
    /// The hub-side veth of each node.
    hub_veths: Vec<String>,
    isolated: Vec<bool>,
    link_cut: Vec<bool>,
    tool: PartitionTool,
}

impl NetnsNet {
    /// `Err(why)` when namespaces cannot be made here: not root, `ip`
    /// missing, or the kernel refuses. Tests print it and skip.
    pub fn check() -> Result<(), String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root (network namespaces need CAP_NET_ADMIN)".into());
        }
        if !have("ip", &["-V"]) {
            return Err("the `ip` tool (iproute2) is not installed".into());
        }
        let probe = format!("{NS_PREFIX}probe-{}", std::process::id());
        run("ip", &["netns", "add", &probe])
            .map_err(|e| format!("cannot create a network namespace: {e}"))?;
        let _ = run("ip", &["netns", "del", &probe]);
        Ok(())
    }

    /// Which tool [`NetnsNet::isolate`] will use.
    pub fn tool(&self) -> PartitionTool {
        self.tool
    }

    /// Creates the hub with its bridge and `nodes` namespaces (at most
    /// 250).
    pub fn create(nodes: usize) -> Result<NetnsNet, String> {
        assert!((1..=250).contains(&nodes), "1..=250 nodes");
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        remove_leftovers();
        let tag = format!("{pid:x}-{n:x}");
        let subnet = pick_subnet(pid.wrapping_mul(31).wrapping_add(n.wrapping_mul(7)))?;
        let tool = if have("nft", &["--version"]) {
            PartitionTool::Nft
        } else if have("iptables", &["--version"]) {
            PartitionTool::Iptables
        } else {
            PartitionTool::LinkDown
        };
        let mut net = NetnsNet {
            hub: format!("{NS_PREFIX}{tag}-hub"),
            tag,
            subnet,
            namespaces: Vec::new(),
            created_hub: false,
            host_link: None,
            hub_veths: Vec::new(),
            isolated: vec![false; nodes],
            link_cut: vec![false; nodes],
            tool,
        };
        // From here on, Drop removes whatever was made.
        net.setup(nodes)?;
        Ok(net)
    }

    fn setup(&mut self, nodes: usize) -> Result<(), String> {
        let hub = self.hub.clone();
        let in_hub = |args: &[&str]| {
            let mut all = vec!["-n", &hub];
            all.extend_from_slice(args);
            run("ip", &all)
        };
        run("ip", &["netns", "add", &hub])?;
        self.created_hub = true;
        in_hub(&["link", "set", "lo", "up"])?;
        in_hub(&["link", "add", "br0", "type", "bridge"])?;
        in_hub(&["link", "set", "br0", "up"])?;
        // The test's own link to the bridge.
        let (outer, inner) = (format!("rh-{}-h", self.tag), format!("rn-{}-h", self.tag));
        if outer.len() > 15 {
            return Err(format!("interface name {outer} too long"));
        }
        run(
            "ip",
            &[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ],
        )?;
        self.host_link = Some(outer.clone());
        run("ip", &["link", "set", &inner, "netns", &hub])?;
        in_hub(&["link", "set", &inner, "master", "br0"])?;
        in_hub(&["link", "set", &inner, "up"])?;
        let host = format!("{}/24", self.host_ip());
        run("ip", &["addr", "add", &host, "dev", &outer])?;
        run("ip", &["link", "set", &outer, "up"])?;
        for i in 0..nodes {
            let ns = format!("{NS_PREFIX}{}-{i}", self.tag);
            run("ip", &["netns", "add", &ns])?;
            self.namespaces.push(ns.clone());
            let hub_veth = format!("rh-{}-{i}", self.tag);
            let ns_veth = format!("rn-{}-{i}", self.tag);
            run(
                "ip",
                &[
                    "link", "add", &hub_veth, "type", "veth", "peer", "name", &ns_veth,
                ],
            )?;
            run("ip", &["link", "set", &hub_veth, "netns", &hub])?;
            self.hub_veths.push(hub_veth.clone());
            run("ip", &["link", "set", &ns_veth, "netns", &ns])?;
            in_hub(&["link", "set", &hub_veth, "master", "br0"])?;
            in_hub(&["link", "set", &hub_veth, "up"])?;
            let addr = format!("{}/24", self.node_ip(i));
            run("ip", &["-n", &ns, "addr", "add", &addr, "dev", &ns_veth])?;
            run("ip", &["-n", &ns, "link", "set", &ns_veth, "up"])?;
            run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.namespaces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }

    /// The test process's address on the bridge.
    pub fn host_ip(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(NET_PREFIX.0, NET_PREFIX.1, self.subnet, 254))
    }

    /// Node `i`'s address.
    pub fn node_ip(&self, i: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(
            NET_PREFIX.0,
            NET_PREFIX.1,
            self.subnet,
            i as u8 + 1,
        ))
    }

    pub fn namespace(&self, i: usize) -> &str {
        &self.namespaces[i]
    }

    /// The command prefix that runs a program in node `i`'s namespace.
    pub fn exec_prefix(&self, i: usize) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.namespaces[i].clone(),
        ]
    }

    fn nft_table(&self) -> String {
        format!("rdpart{}", self.tag.replace('-', "x"))
    }

    /// Cuts node `i` off from the other nodes (see the module docs for
    /// how); the test can still reach it unless the tool is
    /// [`PartitionTool::LinkDown`].
    pub fn isolate(&mut self, i: usize) -> Result<(), String> {
        let others: Vec<usize> = (0..self.len()).filter(|&j| j != i).collect();
        self.block_peers(i, &others)
    }

    /// Splits the nodes into `groups`: a node reaches only the nodes of its
    /// own group (a node in no group is left alone, reaching everyone: with
    /// two groups, that makes it a bridge between them). The test still
    /// reaches every node.
    pub fn partition(&mut self, groups: &[Vec<usize>]) -> Result<(), String> {
        for (g, group) in groups.iter().enumerate() {
            let others: Vec<usize> = groups
                .iter()
                .enumerate()
                .filter(|&(h, _)| h != g)
                .flat_map(|(_, o)| o.iter().copied())
                .collect();
            for &i in group {
                self.block_peers(i, &others)?;
            }
        }
        Ok(())
    }

    /// Drops traffic between node `i` and the nodes `peers` (in node `i`'s
    /// namespace, both directions), replacing an earlier block of node `i`.
    pub fn block_peers(&mut self, i: usize, peers: &[usize]) -> Result<(), String> {
        if self.isolated[i] {
            self.heal(i)?;
        }
        if peers.is_empty() {
            return Ok(());
        }
        let others: Vec<String> = peers.iter().map(|&j| self.node_ip(j).to_string()).collect();
        let ns = self.namespaces[i].clone();
        match self.tool {
            PartitionTool::Nft => {
                let table = self.nft_table();
                let set = others.join(", ");
                let script = format!(
                    "table inet {table} {{\n\
                     \tchain input {{ type filter hook input priority 0; policy accept; \
                     ip saddr {{ {set} }} drop; }}\n\
                     \tchain output {{ type filter hook output priority 0; policy accept; \
                     ip daddr {{ {set} }} drop; }}\n\
                     }}\n"
                );
                run_stdin("ip", &["netns", "exec", &ns, "nft", "-f", "-"], &script)?;
            }
            PartitionTool::Iptables => {
                for ip in &others {
                    run(
                        "ip",
                        &[
                            "netns", "exec", &ns, "iptables", "-I", "INPUT", "-s", ip, "-j", "DROP",
                        ],
                    )?;
                    run(
                        "ip",
                        &[
                            "netns", "exec", &ns, "iptables", "-I", "OUTPUT", "-d", ip, "-j",
                            "DROP",
                        ],
                    )?;
                }
            }
            PartitionTool::LinkDown => return self.cut_link(i),
        }
        self.isolated[i] = true;
        Ok(())
    }

    /// Sets the hub side of node `i`'s veth down.
    pub fn cut_link(&mut self, i: usize) -> Result<(), String> {
        run(
            "ip",
            &["-n", &self.hub, "link", "set", &self.hub_veths[i], "down"],
        )?;
        self.link_cut[i] = true;
        Ok(())
    }

    /// Undoes [`NetnsNet::isolate`] and [`NetnsNet::cut_link`] for node `i`.
    pub fn heal(&mut self, i: usize) -> Result<(), String> {
        if self.isolated[i] {
            let ns = self.namespaces[i].clone();
            match self.tool {
                PartitionTool::Nft => {
                    let table = self.nft_table();
                    run(
                        "ip",
                        &[
                            "netns", "exec", &ns, "nft", "delete", "table", "inet", &table,
                        ],
                    )?;
                }
                PartitionTool::Iptables => {
                    run("ip", &["netns", "exec", &ns, "iptables", "-F", "INPUT"])?;
                    run("ip", &["netns", "exec", &ns, "iptables", "-F", "OUTPUT"])?;
                }
                PartitionTool::LinkDown => {}
            }
            self.isolated[i] = false;
        }
        if self.link_cut[i] {
            run(
                "ip",
                &["-n", &self.hub, "link", "set", &self.hub_veths[i], "up"],
            )?;
            self.link_cut[i] = false;
        }
        Ok(())
    }

    /// Whether the test process can still reach node `i`.
    pub fn reachable(&self, i: usize) -> bool {
        !self.link_cut[i]
    }
}

impl Drop for NetnsNet {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veths in it, with their peers,
        // and its filters; the hub takes the bridge along.
        for ns in &self.namespaces {
            let _ = run("ip", &["netns", "del", ns]);
        }
        if self.created_hub {
            let _ = run("ip", &["netns", "del", &self.hub]);
        }
        if let Some(l) = &self.host_link {
            // Gone with the hub already, unless the hub was never made.
            let _ = run("ip", &["link", "del", l]);
        }
    }
}

/// Picks a third octet, starting from `seed`, whose /24 neither holds an
/// address of this machine nor appears in its routes.
fn pick_subnet(seed: u32) -> Result<u8, String> {
    let used = run("ip", &["-4", "-o", "addr", "show"]).unwrap_or_default()
        + &run("ip", &["-4", "route", "show", "table", "all"]).unwrap_or_default();
    for k in 0..250u32 {
        let y = ((seed.wrapping_add(k)) % 250) as u8 + 1;
        let prefix = format!("{}.{}.{y}.", NET_PREFIX.0, NET_PREFIX.1);
        if !used.contains(&prefix) {
            return Ok(y);
        }
    }
    Err(format!(
        "no free /24 in {}.{}.0.0/16",
        NET_PREFIX.0, NET_PREFIX.1
    ))
}

/// Removes namespaces of earlier test processes that are gone (killed
/// before their Drop ran); their veths and bridges go with them.
fn remove_leftovers() {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let owner_gone = rest
            .split('-')
            .next()
            .and_then(|p| u32::from_str_radix(p, 16).ok())
            .is_some_and(|pid| !pid_alive(pid));
        if owner_gone {
            let _ = run("ip", &["netns", "del", name]);
        }
    }
}

/// A [`TestCluster`] whose node `i` runs in namespace `i` of a
/// [`NetnsNet`] on `10.251.Y.<i+1>:port` (the same port for every node:
/// each namespace has its own ports).
pub struct NetnsCluster {
    // Declared first: the processes die before their namespaces go.
    pub cluster: TestCluster,
    pub net: NetnsNet,
}

impl NetnsCluster {
    /// Creates the namespaces and starts the cluster in them (`opts`'
    /// hosts, ports and wrappers are replaced).
    pub fn start(opts: ClusterOpts, port: u16) -> Result<NetnsCluster, String> {
        let net = NetnsNet::create(opts.nodes)?;
        let opts = ClusterOpts {
            hosts: (0..opts.nodes).map(|i| net.node_ip(i)).collect(),
            ports: vec![port; opts.nodes],
            wrappers: (0..opts.nodes).map(|i| net.exec_prefix(i)).collect(),
            ..opts
        };
        // On failure `net` is dropped here, after the nodes.
        let cluster = TestCluster::try_start(opts)?;
        Ok(NetnsCluster { cluster, net })
    }
}
