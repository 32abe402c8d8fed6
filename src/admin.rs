//! `redraft drain`: the admin client that drains a node through any node
//! of the cluster (over the client port, with `CLUSTER DRAIN`), follows
//! `-REDIRECT` to the metadata group's leader, and waits until the node
//! has left the cluster map (watching `CLUSTER NODES`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use redis_protocol::resp2::types::{OwnedFrame as Frame, Resp2Frame};

/// One command over a fresh connection; the reply as a frame.
fn call(addr: SocketAddr, args: &[&str]) -> io::Result<Frame> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let frame = Frame::Array(
        args.iter()
            .map(|a| Frame::BulkString(a.as_bytes().to_vec()))
            .collect(),
    );
    let mut out = vec![0u8; frame.encode_len(false)];
    redis_protocol::resp2::encode::encode(&mut out, &frame, false).map_err(io::Error::other)?;
    stream.write_all(&out)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some((frame, _)) =
            redis_protocol::resp2::decode::decode(&buf).map_err(io::Error::other)?
        {
            return Ok(frame);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the reply",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::SimpleString(s) | Frame::BulkString(s) => String::from_utf8_lossy(s).into_owned(),
        Frame::Error(e) => e.clone(),
        other => format!("{other:?}"),
    }
}

/// Whether `CLUSTER NODES` on `addr` lists a node whose id or Raft id is
/// `node` (the 40-hex id is derived from the Raft id).
fn lists(addr: SocketAddr, node: &str) -> io::Result<bool> {
    let nodes = text(&call(addr, &["CLUSTER", "NODES"])?);
    let wanted = match node.parse::<u64>() {
        Ok(id) => crate::node::redis_node_id(id),
        Err(_) => node.to_ascii_lowercase(),
    };
    Ok(nodes.lines().any(|l| l.starts_with(&wanted)))
}

/// Drains `node` through the cluster node at `via`; returns once the node
/// left the map, or fails after `timeout`.
pub fn drain(via: SocketAddr, node: &str, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut target = via;
    let mut asked: Option<Instant> = None;
    let mut watch = via;
    loop {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "node {node} still in the cluster after {} s",
                    timeout.as_secs()
                ),
            ));
        }
        // Ask (again every 5 s: asking is idempotent, and a proposal can
        // be lost to a leader change).
        if asked.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
            match call(target, &["CLUSTER", "DRAIN", node]) {
                Ok(Frame::Error(e)) => {
                    if let Some(addr) = e.strip_prefix("REDIRECT ") {
                        target = addr
                            .trim()
                            .parse()
                            .map_err(|_| io::Error::other(format!("bad redirect '{addr}'")))?;
                        continue;
                    }
                    if e.starts_with("ERR Unknown node") && asked.is_some() {
                        // Removed meanwhile: done.
                        return Ok(());
                    }
                    if !e.starts_with("CLUSTERDOWN") {
                        return Err(io::Error::other(e));
                    }
                }
                Ok(_) => {
                    if asked.is_none() {
                        eprintln!("draining node {node} (via {target})");
                    }
                    asked = Some(Instant::now());
                    watch = target;
                }
                Err(e) => {
                    eprintln!("{target}: {e}; retrying through {via}");
                    target = via;
                }
            }
        }
        if asked.is_some() {
            match lists(watch, node) {
                Ok(false) => {
                    eprintln!("node {node} left the cluster");
                    return Ok(());
                }
                Ok(true) => {}
                // The node watched may be the one drained, gone now.
                Err(_) => watch = if watch == target { via } else { target },
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
