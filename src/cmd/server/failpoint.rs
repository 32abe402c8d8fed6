//! `DEBUG FAILPOINT`: fault injection for the fault-injection harness
//! (see docs/architecture/testing-under-faults.md).
//!
//! - `DEBUG FAILPOINT LIST`: each configured failpoint and its actions.
//! - `DEBUG FAILPOINT <name> <actions>`: configures one, in the `fail`
//!   crate's syntax, e.g. `sleep(100)` (a slow disk), `return` (the write
//!   fails: the node crashes, since an I/O error while persisting must
//!   never be ignored), `10%return`, `1*return->off`.
//! - `DEBUG FAILPOINT <name> OFF` / `DEBUG FAILPOINT OFF`: removes one / all.
//!
//! The sites ([`SITES`]) are the Raft log's write and fsync, the
//! engine's write and fsync (each costs one registry lookup per batch
//! while nothing is configured), and `migration-step`, checked before
//! each step of a slot migration (`return` pauses the migration there). Only reachable with
//! `--enable-debug-command`, as every DEBUG subcommand but DIGEST.

use bytes::Bytes;
use redraft_resp::Reply;

/// Every failpoint a node evaluates.
pub const SITES: &[&str] = &[
    "raft-log-write",
    "raft-log-fsync",
    "engine-write",
    "engine-fsync",
    "migration-step",
];

/// `args` are DEBUG's arguments after `FAILPOINT`.
pub fn debug_failpoint(args: &[Bytes]) -> Reply {
    let text: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    match text.as_slice() {
        [sub] if sub.eq_ignore_ascii_case("list") => Reply::Array(
            fail::list()
                .into_iter()
                .filter(|(name, _)| SITES.contains(&name.as_str()))
                .map(|(name, actions)| Reply::bulk(format!("{name}={actions}")))
                .collect(),
        ),
        [sub] if sub.eq_ignore_ascii_case("off") => {
            for site in SITES {
                fail::remove(site);
            }
            Reply::ok()
        }
        [name, actions] => {
            let Some(site) = SITES.iter().find(|s| s.eq_ignore_ascii_case(name)) else {
                return Reply::error(format!(
                    "ERR unknown failpoint '{name}' (known: {})",
                    SITES.join(", ")
                ));
            };
            if actions.eq_ignore_ascii_case("off") {
                fail::remove(site);
                return Reply::ok();
            }
            match fail::cfg(*site, actions) {
                Ok(()) => {
                    tracing::warn!(failpoint = site, actions = %actions, "failpoint configured");
                    Reply::ok()
                }
                Err(e) => Reply::error(format!("ERR invalid failpoint actions '{actions}': {e}")),
            }
        }
        _ => Reply::error("ERR DEBUG FAILPOINT wants LIST, OFF, <name> <actions> or <name> OFF"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &[&str]) -> Reply {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        debug_failpoint(&args)
    }

    #[test]
    fn configures_lists_and_removes_failpoints_and_rejects_bad_input() {
        assert_eq!(call(&["engine-fsync", "sleep(1)"]), Reply::ok());
        let Reply::Array(items) = call(&["LIST"]) else {
            panic!("LIST answers an array");
        };
        assert!(items.contains(&Reply::bulk("engine-fsync=sleep(1)")));
        assert_eq!(call(&["engine-fsync", "off"]), Reply::ok());
        assert_eq!(call(&["LIST"]), Reply::Array(vec![]));
        // The registry is global: one test, so nothing races with it.
        assert!(matches!(call(&["no-such-site", "return"]), Reply::Error(_)));
        assert!(matches!(
            call(&["engine-write", "bogus(("]),
            Reply::Error(_)
        ));
        assert!(matches!(call(&["engine-write"]), Reply::Error(_)));
        assert_eq!(call(&["LIST"]), Reply::Array(vec![]));
    }
}
