//! The cluster bus's security, with real processes: mutual TLS between
//! nodes with certificates from `redraft certs`, a node whose certificate
//! another CA signed kept out, and the warning a plaintext bus logs.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use redraft_integration::raw::{frame_text, Frame, RawConn};
use redraft_integration::{free_port_pair, redraft_bin, wait_until, NodeOpts, TestNode};

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// `redraft certs` into `dir` for nodes node1..node3 on 127.0.0.1.
fn make_certs(dir: &Path) {
    let out = Command::new(redraft_bin())
        .args(["certs", "--out"])
        .arg(dir)
        .output()
        .expect("run redraft certs");
    assert!(
        out.status.success(),
        "redraft certs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "ca.pem",
        "ca-key.pem",
        "node1.pem",
        "node1-key.pem",
        "node3.pem",
    ] {
        assert!(dir.join(f).exists(), "{f} not written");
    }
}

fn tls_args(dir: &Path, name: &str) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        dir.join(format!("{name}.pem")).display().to_string(),
        "--tls-key".into(),
        dir.join(format!("{name}-key.pem")).display().to_string(),
        "--tls-ca".into(),
        dir.join("ca.pem").display().to_string(),
    ]
}

/// Starts three nodes; `extra(i)` gives node `i`'s extra flags.
fn start_three(extra: impl Fn(usize) -> Vec<String>) -> Vec<TestNode> {
    let ports: Vec<u16> = (0..3).map(|_| free_port_pair(10_000)).collect();
    let peers = (0..3)
        .map(|i| format!("{}={}", i + 1, SocketAddr::new(LOOPBACK, ports[i])))
        .collect::<Vec<_>>()
        .join(",");
    (0..3)
        .map(|i| {
            let mut args = vec![
                "--raft-id".to_string(),
                (i + 1).to_string(),
                "--peers".to_string(),
                peers.clone(),
            ];
            args.extend(extra(i));
            TestNode::start(NodeOpts::new().redraft_only().port(ports[i]).args(args))
        })
        .collect()
}

fn cmd(node: &TestNode, args: &[&str]) -> Result<Frame, String> {
    let mut c = RawConn::connect(node.socket_addr()).map_err(|e| e.to_string())?;
    c.set_timeout(Duration::from_secs(3))
        .map_err(|e| e.to_string())?;
    c.cmd(args).map_err(|e| e.to_string())
}

fn cluster_ok(node: &TestNode) -> bool {
    cmd(node, &["CLUSTER", "INFO"]).is_ok_and(|f| frame_text(&f).contains("cluster_state:ok"))
}

/// SET through whichever node leads the key's shard (following MOVED).
fn set_anywhere(nodes: &[TestNode], key: &str, value: &str) -> Result<(), String> {
    let mut last = String::new();
    for node in nodes {
        match cmd(node, &["SET", key, value]) {
            Ok(Frame::SimpleString(s)) if s == b"OK" => return Ok(()),
            Ok(other) => last = frame_text(&other),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[test]
fn bus_with_mutual_tls_serves_writes_and_logs_no_plaintext_warning() {
    let certs = tempfile::tempdir().expect("temp dir");
    make_certs(certs.path());
    let nodes = start_three(|i| tls_args(certs.path(), &format!("node{}", i + 1)));
    let deadline = Instant::now() + Duration::from_secs(30);
    assert!(
        wait_until(deadline, || nodes.iter().all(cluster_ok)),
        "TLS cluster never became ready:\n{}",
        nodes[0].log_tail(30)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    assert!(
        wait_until(deadline, || (0..10).all(|k| set_anywhere(
            &nodes,
            &format!("tls:{k}"),
            "v"
        )
        .is_ok())),
        "writes over a TLS bus failed"
    );
    for n in &nodes {
        assert!(
            !n.log().contains("PLAINTEXT"),
            "a TLS node warned about plaintext:\n{}",
            n.log_tail(20)
        );
    }
}

#[test]
fn plaintext_bus_logs_a_warning() {
    let nodes = start_three(|_| Vec::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    assert!(wait_until(deadline, || nodes.iter().all(cluster_ok)));
    for n in &nodes {
        let log = n.log();
        assert!(
            log.contains("WARN") && log.contains("PLAINTEXT"),
            "no plaintext warning in:\n{}",
            n.log_tail(20)
        );
    }
}

#[test]
fn a_node_whose_certificate_another_ca_signed_is_kept_out() {
    let good = tempfile::tempdir().expect("temp dir");
    let foreign = tempfile::tempdir().expect("temp dir");
    make_certs(good.path());
    make_certs(foreign.path());
    // Node 3 presents (and trusts) the other CA's certificate.
    let nodes = start_three(|i| {
        let dir = if i == 2 { foreign.path() } else { good.path() };
        tls_args(dir, &format!("node{}", i + 1))
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    assert!(
        wait_until(deadline, || cluster_ok(&nodes[0]) && cluster_ok(&nodes[1])),
        "nodes 1 and 2 (same CA) never formed the cluster:\n{}",
        nodes[0].log_tail(30)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    assert!(
        wait_until(deadline, || (0..10).all(|k| set_anywhere(
            &nodes[..2],
            &format!("ca:{k}"),
            "v"
        )
        .is_ok())),
        "the two trusted nodes did not accept writes"
    );
    // Node 3 never gets anything from the others: no leader, no data.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert!(
            !cluster_ok(&nodes[2]),
            "the foreign node joined the cluster"
        );
        let info = cmd(&nodes[2], &["INFO", "replication"]).map(|f| frame_text(&f));
        let info = info.expect("INFO on node 3");
        assert!(
            info.lines()
                .filter(|l| l.starts_with("shard"))
                // 5: the empty snapshot every shard starts from
                // (INIT_INDEX); nothing applied beyond it.
                .all(|l| l.contains("applied=5,")),
            "the foreign node applied entries:\n{info}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let digest = |n: &TestNode| cmd(n, &["DEBUG", "DIGEST"]).map(|f| frame_text(&f));
    assert_ne!(digest(&nodes[0]), digest(&nodes[2]));
}
