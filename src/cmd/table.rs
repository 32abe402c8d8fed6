//! The command table: every family's rows, indexed by name.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;

use super::{
    cluster, connection, dump, hash, keys, list, multi, server, set, string, zset, CommandSpec,
    Handler,
};

pub struct CommandTable {
    by_name: HashMap<&'static str, &'static CommandSpec>,
    /// Every top-level command, in a stable order.
    pub all: Vec<&'static CommandSpec>,
}

/// The one command table.
pub static TABLE: LazyLock<CommandTable> = LazyLock::new(|| {
    let families: [&'static [CommandSpec]; 11] = [
        string::COMMANDS,
        hash::COMMANDS,
        list::COMMANDS,
        set::COMMANDS,
        keys::COMMANDS,
        connection::COMMANDS,
        server::COMMANDS,
        cluster::COMMANDS,
        zset::COMMANDS,
        dump::COMMANDS,
        multi::COMMANDS,
    ];
    let mut all: Vec<&'static CommandSpec> = families.iter().flat_map(|f| f.iter()).collect();
    all.sort_by_key(|c| c.name);
    let by_name = all.iter().map(|c| (c.name, *c)).collect();
    CommandTable { by_name, all }
});

/// Finds a top-level command, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let s = std::str::from_utf8(lower).ok()?;
    TABLE.by_name.get(s).copied()
}

/// For a container, the subcommand row named by `args[1]`, else `spec`.
pub fn resolve_subcommand(spec: &'static CommandSpec, args: &[Bytes]) -> &'static CommandSpec {
    if !matches!(spec.handler, Handler::Container) {
        return spec;
    }
    find_subcommand(spec, args.get(1).map(|b| b.as_ref()).unwrap_or_default()).unwrap_or(spec)
}

/// The subcommand of `container` named `sub`, case-insensitively.
pub fn find_subcommand(
    container: &'static CommandSpec,
    sub: &[u8],
) -> Option<&'static CommandSpec> {
    container.subcommands.iter().find(|s| {
        s.name
            .split_once('|')
            .is_some_and(|(_, n)| n.as_bytes().eq_ignore_ascii_case(sub))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::flags;

    const KNOWN_FLAGS: &[&str] = flags::ORDER;

    fn check_row(spec: &CommandSpec, container: Option<&CommandSpec>) {
        let name = spec.name;
        assert_eq!(
            name,
            name.to_ascii_lowercase(),
            "{name}: names are lowercase"
        );
        assert!(spec.arity != 0, "{name}: arity 0 is never valid");
        for f in spec.flags {
            assert!(KNOWN_FLAGS.contains(f), "{name}: unknown flag {f}");
        }
        assert_eq!(
            spec.has_flag(flags::WRITE),
            spec.is_write(),
            "{name}: the write flag and the write handler go together"
        );
        if spec.is_write() {
            assert!(
                !spec.has_flag(flags::READONLY),
                "{name}: write and readonly"
            );
        }
        if matches!(spec.handler, Handler::Read(_)) {
            assert!(
                spec.has_flag(flags::READONLY),
                "{name}: keyspace reads are readonly"
            );
        }
        assert_eq!(
            spec.key_finder.is_some(),
            spec.has_flag(flags::MOVABLEKEYS),
            "{name}: movablekeys"
        );
        if spec.first_key == 0 {
            assert_eq!(
                (spec.last_key, spec.step),
                (0, 0),
                "{name}: no keys means 0,0,0"
            );
        } else {
            assert!(spec.first_key > 0 && spec.step > 0, "{name}: bad key spec");
            // The first key must fit in the minimum arity.
            assert!(
                spec.first_key < spec.arity.abs() || spec.key_finder.is_some(),
                "{name}: key beyond arity"
            );
            // WATCH reads stamps of its keys; the transaction code routes it.
            assert!(
                matches!(spec.handler, Handler::Read(_) | Handler::Write { .. })
                    || spec.name == "watch",
                "{name}: commands with keys touch the keyspace"
            );
        }
        for a in spec.acl {
            assert!(
                !a.starts_with('@'),
                "{name}: ACL categories are listed without @"
            );
        }
        assert!(
            !spec.group.is_empty() && !spec.summary.is_empty() && !spec.since.is_empty(),
            "{name}: docs"
        );
        match container {
            Some(c) => assert!(
                name.starts_with(&format!("{}|", c.name)),
                "{name}: subcommand naming"
            ),
            None => assert!(!name.contains('|'), "{name}: top-level names have no |"),
        }
        if matches!(spec.handler, Handler::Container) {
            assert!(
                !spec.subcommands.is_empty(),
                "{name}: container without subcommands"
            );
            assert_eq!(spec.arity, -2, "{name}: containers take a subcommand");
            for sub in spec.subcommands {
                check_row(sub, Some(spec));
            }
        } else if !spec.subcommands.is_empty() {
            // COMMAND: valid bare (arity -1), so a Node handler that
            // resolves its own subcommands.
            assert!(
                matches!(spec.handler, Handler::Node(_)) && spec.arity == -1,
                "{name}: subcommands need a container handler"
            );
            for sub in spec.subcommands {
                check_row(sub, Some(spec));
            }
        }
    }

    #[test]
    fn every_row_is_valid() {
        assert!(
            TABLE.all.len() > 50,
            "the table has the commands of the single-node issue"
        );
        for spec in &TABLE.all {
            check_row(spec, None);
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = TABLE.all.iter().map(|c| c.name).collect();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup(b"GeT").map(|c| c.name), Some("get"));
        assert!(lookup(b"nosuchcommand").is_none());
    }
}
