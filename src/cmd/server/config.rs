//! CONFIG GET/SET/RESETSTAT/REWRITE/HELP over the node's runtime settings.
//!
//! The parameters, their validation and Redis's error texts live in
//! `crate::settings`; this file only adapts arguments and replies.
//!
//! CAVEATS:
//! - CONFIG REWRITE answers Redis's error for a server started without a
//!   config file: redraft has only command-line flags.
//! - CONFIG GET lists matches in the settings' order; Redis's is its hash
//!   table's (clients must not rely on it).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use redraft_resp::Reply;

use crate::cmd::error::err_syntax;
use crate::cmd::flags::*;
use crate::cmd::{help_reply, CommandSpec, Handler};
use crate::node::Node;
use crate::session::Session;

const FLAGS: &[&str] = &[ADMIN, NOSCRIPT, LOADING, STALE];
const ACL: &[&str] = &["admin", "slow", "dangerous"];
const PARAMS_COMPLEXITY: &str = "O(N) when N is the number of configuration parameters provided";

/// The subcommand rows of CONFIG.
pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("config|get", -3, FLAGS, (0, 0, 0), ACL, Handler::Node(get)).doc(
        "server",
        "Get the values of configuration parameters",
        "2.0.0",
        PARAMS_COMPLEXITY,
    ),
    CommandSpec::new(
        "config|help",
        2,
        &[LOADING, STALE],
        (0, 0, 0),
        &["slow"],
        Handler::Node(help),
    )
    .doc(
        "server",
        "Show helpful text about the different subcommands",
        "5.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "config|resetstat",
        2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(resetstat),
    )
    .doc(
        "server",
        "Reset the stats returned by INFO",
        "2.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "config|rewrite",
        2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(rewrite),
    )
    .doc(
        "server",
        "Rewrite the configuration file with the in memory configuration",
        "2.8.0",
        "O(1)",
    ),
    CommandSpec::new("config|set", -4, FLAGS, (0, 0, 0), ACL, Handler::Node(set)).doc(
        "server",
        "Set configuration parameters to the given values",
        "2.0.0",
        PARAMS_COMPLEXITY,
    ),
];

/// `CONFIG GET pattern …`: a map of parameter names to values.
fn get(_s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    Reply::Map(
        node.settings
            .matching(&args[2..])
            .into_iter()
            .map(|(name, value)| (Reply::bulk(name), Reply::bulk(value)))
            .collect(),
    )
}

/// `CONFIG SET name value [name value …]`: all or nothing.
fn set(_s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    let rest = &args[2..];
    if !rest.len().is_multiple_of(2) {
        return err_syntax();
    }
    let pairs: Vec<(Bytes, Bytes)> = rest
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    match node.settings.set(&pairs) {
        Ok(()) => Reply::ok(),
        Err(text) => Reply::Error(text),
    }
}

/// `CONFIG RESETSTAT`: zeroes the counters INFO stats reports.
fn resetstat(_s: &mut Session, node: &Node, _args: &[Bytes]) -> Reply {
    let st = &node.stats;
    let counters: [&AtomicU64; 9] = [
        &st.connections_received,
        &st.rejected_connections,
        &st.commands_processed,
        &st.keyspace_hits,
        &st.keyspace_misses,
        &st.expired_keys,
        &st.net_input_bytes,
        &st.net_output_bytes,
        &st.error_replies,
    ];
    for c in counters {
        c.store(0, Ordering::Relaxed);
    }
    Reply::ok()
}

fn rewrite(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::error("ERR The server is running without a config file")
}

const HELP: &[&str] = &[
    "GET <pattern> [<pattern> ...]",
    "    Return the parameters matching the glob-like patterns, with their values.",
    "SET <directive> <value> [<directive> <value> ...]",
    "    Set each directive to its value, all of them or none.",
    "RESETSTAT",
    "    Reset the statistics INFO reports.",
    "REWRITE",
    "    Rewrite the configuration file (redraft has none: an error).",
    "HELP",
    "    Print this help.",
];

fn help(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    help_reply("config", HELP)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{wire, TestNode};
    use redraft_resp::{Protocol, Reply};

    #[test]
    fn config_get_set_like_redis() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let r = t.call(&mut s, &["CONFIG", "GET", "PORT"]);
        assert_eq!(
            wire(&r, Protocol::Resp2),
            "*2\r\n$4\r\nPORT\r\n$4\r\n7000\r\n"
        );
        assert_eq!(
            wire(&r, Protocol::Resp3),
            "%1\r\n$4\r\nPORT\r\n$4\r\n7000\r\n"
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "GET", "nosuch"]),
            Reply::Map(vec![])
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "GET"]),
            Reply::error("ERR wrong number of arguments for 'config|get' command")
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "SET", "hz", "10", "x"]),
            Reply::error("ERR syntax error")
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "SET", "maxmemory", "1mb"]),
            Reply::ok()
        );
        assert_eq!(
            wire(
                &t.call(&mut s, &["CONFIG", "GET", "maxmemory"]),
                Protocol::Resp2
            ),
            "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "SET", "nosuch", "1"]),
            Reply::error("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "REWRITE"]),
            Reply::error("ERR The server is running without a config file")
        );
        assert_eq!(
            t.call(&mut s, &["CONFIG", "NOSUCH"]),
            Reply::error("ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.")
        );
        let Reply::Array(help) = t.call(&mut s, &["CONFIG", "HELP"]) else {
            panic!("HELP is an array")
        };
        assert_eq!(
            help[0],
            Reply::status("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
        );
        for sub in ["GET", "SET", "RESETSTAT", "REWRITE", "HELP"] {
            assert!(help
                .iter()
                .any(|l| matches!(l, Reply::Status(t) if t.starts_with(sub.as_bytes()))));
        }
    }

    #[test]
    fn resetstat_zeroes_counters() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        t.node
            .stats
            .commands_processed
            .store(42, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(t.call(&mut s, &["CONFIG", "RESETSTAT"]), Reply::ok());
        assert_eq!(
            t.node
                .stats
                .commands_processed
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
