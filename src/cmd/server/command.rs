//! COMMAND and its subcommands: the command table as Redis 7.0 describes
//! itself to clients.
//!
//! What: `COMMAND`, `COMMAND INFO`, `COUNT`, `DOCS`, `GETKEYS`, `LIST` and
//! `HELP`, answered from the one command table (`crate::cmd::TABLE`):
//! only the commands redraft has are listed, with the table's arity,
//! flags, key positions, ACL categories and documentation.
//!
//! Why a second file of data: Redis also serves, per command, request
//! `tips`, `key_specs` and the long `COMMAND DOCS` fields (arguments,
//! history, …) that a command table need not carry. Those come from
//! [`super::command_meta`], generated from a real redis-server 7.0.15 by
//! `scripts/gen_command_meta.py`, looked up by name for the rows the table
//! has. The generated file also holds Redis's own arity/flags/keys/ACL and
//! summaries; those are *reference values* read only by the consistency
//! test at the bottom, never served: the table stays the single source.
//!
//! Invariants:
//! - flags and ACL categories come out in Redis's order (its flag and
//!   category bit order), whatever order a row lists them in;
//!   `may_replicate` is never shown, as in Redis;
//! - internal commands (`__…`, proposed by the node itself) are invisible.
//!
//! CAVEATS:
//! - `COMMAND`, `COMMAND INFO` and `COMMAND LIST` list commands in name
//!   order; Redis uses its hash table's order (which clients must not rely
//!   on: these commands carry the `nondeterministic_output_order` tip).
//! - `COMMAND GETKEYSANDFLAGS` is not offered yet.
//! - The bare `COMMAND` row has subcommands but runs on its own when called
//!   without one, which the generic container dispatch does not do; its
//!   handler resolves the subcommand itself (see [`command`]).

use bytes::Bytes;
use redraft_resp::Reply;

use crate::cmd::args::is;
use crate::cmd::error::{err_syntax, err_unknown_subcommand, err_wrong_args};
use crate::cmd::flags::{self, *};
use crate::cmd::{help_reply, lookup, table, CommandSpec, Handler, TABLE};
use crate::keyspace::glob::glob_match_with;
use crate::node::Node;
use crate::session::Session;

/// A reply value in the generated metadata (`command_meta.rs`), with the
/// RESP3 type Redis gives it.
pub enum V {
    /// A simple string (`+`).
    S(&'static str),
    /// A bulk string.
    B(&'static str),
    I(i64),
    A(&'static [V]),
    /// A map with string keys, in order.
    M(&'static [(&'static str, V)]),
    /// A set (`~`).
    T(&'static [V]),
}

impl V {
    fn to_reply(&self) -> Reply {
        match self {
            V::S(s) => Reply::status(s),
            V::B(s) => Reply::bulk(Bytes::from_static(s.as_bytes())),
            V::I(i) => Reply::Integer(*i),
            V::A(items) => Reply::Array(items.iter().map(V::to_reply).collect()),
            V::T(items) => Reply::Set(items.iter().map(V::to_reply).collect()),
            V::M(pairs) => Reply::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (static_bulk(k), v.to_reply()))
                    .collect(),
            ),
        }
    }
}

/// What Redis 7.0.15 says about one command, beyond the table.
pub struct Meta {
    /// Full name: `get`, `config|get`.
    pub name: &'static str,
    /// Redis's own values for what the table carries; tests only.
    #[cfg_attr(not(test), allow(dead_code))]
    pub reference: Reference,
    /// `COMMAND INFO`'s tips (`request_policy:all_shards`, …).
    pub tips: &'static [&'static str],
    /// `COMMAND INFO`'s key specs, each a map.
    pub key_specs: &'static [V],
    /// `COMMAND DOCS` fields after summary/since/group/complexity, in
    /// Redis's order.
    pub docs: &'static [(&'static str, V)],
}

/// Redis's arity, flags, key positions, ACL categories and doc strings of a
/// command: what the consistency test compares the table's rows with.
#[cfg_attr(not(test), allow(dead_code))]
pub struct Reference {
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub keys: (i32, i32, i32),
    pub acl: &'static [&'static str],
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
}

/// The generated metadata of `name` (a full name), if Redis 7.0.15 has
/// the command.
pub fn meta(name: &str) -> Option<&'static Meta> {
    let all = super::command_meta::COMMANDS;
    all.binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &all[i])
}

/// ACL categories in the order `COMMAND INFO` lists them (Redis's category
/// bit order).
const ACL_ORDER: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

const ACL: &[&str] = &["slow", "connection"];
const FLAGS: &[&str] = &[LOADING, STALE];

/// The subcommand rows of COMMAND.
pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "command|count",
        2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(count),
    )
    .doc(
        "server",
        "Get total number of Redis commands",
        "2.8.13",
        "O(1)",
    ),
    CommandSpec::new(
        "command|docs",
        -2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(docs),
    )
    .doc(
        "server",
        "Get array of specific Redis command documentation",
        "7.0.0",
        "O(N) where N is the number of commands to look up",
    ),
    CommandSpec::new(
        "command|getkeys",
        -4,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(getkeys),
    )
    .doc(
        "server",
        "Extract keys given a full Redis command",
        "2.8.13",
        "O(N) where N is the number of arguments to the command",
    ),
    CommandSpec::new(
        "command|help",
        2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(help),
    )
    .doc(
        "server",
        "Show helpful text about the different subcommands",
        "5.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "command|info",
        -2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(info),
    )
    .doc(
        "server",
        "Get array of specific Redis command details, or all when no argument is given.",
        "2.8.13",
        "O(N) where N is the number of commands to look up",
    ),
    CommandSpec::new(
        "command|list",
        -2,
        FLAGS,
        (0, 0, 0),
        ACL,
        Handler::Node(list),
    )
    .doc(
        "server",
        "Get an array of Redis command names",
        "7.0.0",
        "O(N) where N is the total number of Redis commands",
    ),
];

/// `COMMAND [subcommand …]`: every command's details when bare, else the
/// subcommand (resolved here: see the module's CAVEATS).
pub fn command(s: &mut Session, n: &Node, args: &[Bytes]) -> Reply {
    if args.len() == 1 {
        return Reply::Array(visible().map(info_entry).collect());
    }
    let Some(sub) = SUBCOMMANDS
        .iter()
        .find(|c| sub_name(c).eq_ignore_ascii_case(&args[1]))
    else {
        return err_unknown_subcommand("command", &args[1]);
    };
    if !sub.arity_ok(args.len()) {
        return err_wrong_args(sub.name);
    }
    *s.handle.last_cmd.lock() = sub.name.to_string();
    match sub.handler {
        Handler::Node(f) => f(s, n, args),
        _ => Reply::error("ERR command cannot run here"),
    }
}

fn sub_name(c: &CommandSpec) -> &[u8] {
    c.name.split_once('|').map_or(c.name, |(_, s)| s).as_bytes()
}

/// The top-level commands clients may see, in name order.
fn visible() -> impl Iterator<Item = &'static CommandSpec> {
    TABLE.all.iter().copied().filter(|c| !c.is_internal())
}

/// A command by full name (`get`, `config|get`), as COMMAND INFO and DOCS
/// accept it.
fn by_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = lookup(parts.next()?).filter(|c| !c.is_internal())?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top
            .subcommands
            .iter()
            .find(|c| sub_name(c).eq_ignore_ascii_case(sub)),
    }
}

fn static_bulk(s: &'static str) -> Reply {
    Reply::bulk(Bytes::from_static(s.as_bytes()))
}

/// `flags` in Redis's order, without the hidden ones.
fn ordered_flags(spec: &CommandSpec) -> Vec<Reply> {
    flags::ORDER
        .iter()
        .filter(|f| **f != MAY_REPLICATE && spec.has_flag(f))
        .map(|f| Reply::status(f))
        .collect()
}

/// ACL categories in Redis's order, `@`-prefixed.
fn ordered_acl(spec: &CommandSpec) -> Vec<Reply> {
    let mut cats: Vec<&str> = spec.acl.to_vec();
    cats.sort_by_key(|c| ACL_ORDER.iter().position(|o| o == c).unwrap_or(usize::MAX));
    cats.into_iter()
        .map(|c| Reply::Status(Bytes::from(format!("@{c}"))))
        .collect()
}

/// One `COMMAND INFO` entry: name, arity, flags, first key, last key,
/// step, ACL categories, tips, key specs, subcommands.
pub fn info_entry(spec: &CommandSpec) -> Reply {
    let meta = meta(spec.name);
    Reply::Array(vec![
        static_bulk(spec.name),
        Reply::Integer(i64::from(spec.arity)),
        Reply::Set(ordered_flags(spec)),
        Reply::Integer(i64::from(spec.first_key)),
        Reply::Integer(i64::from(spec.last_key)),
        Reply::Integer(i64::from(spec.step)),
        Reply::Set(ordered_acl(spec)),
        Reply::Set(
            meta.map(|m| m.tips.iter().map(|t| static_bulk(t)).collect())
                .unwrap_or_default(),
        ),
        Reply::Set(
            meta.map(|m| m.key_specs.iter().map(V::to_reply).collect())
                .unwrap_or_default(),
        ),
        Reply::Set(spec.subcommands.iter().map(info_entry).collect()),
    ])
}

/// One `COMMAND DOCS` entry: summary, since, group, complexity (each when
/// set), the generated fields, then the subcommands' entries.
pub fn docs_entry(spec: &CommandSpec) -> Reply {
    let mut map = Vec::new();
    for (key, value) in [
        ("summary", spec.summary),
        ("since", spec.since),
        ("group", spec.group),
        ("complexity", spec.complexity),
    ] {
        // Redis always names the group; the others only when known.
        if !value.is_empty() || key == "group" {
            map.push((static_bulk(key), static_bulk(value)));
        }
    }
    if let Some(m) = meta(spec.name) {
        map.extend(m.docs.iter().map(|(k, v)| (static_bulk(k), v.to_reply())));
    }
    if !spec.subcommands.is_empty() {
        map.push((
            static_bulk("subcommands"),
            Reply::Map(
                spec.subcommands
                    .iter()
                    .map(|c| (static_bulk(c.name), docs_entry(c)))
                    .collect(),
            ),
        ));
    }
    Reply::Map(map)
}

fn count(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::Integer(visible().count() as i64)
}

/// `COMMAND INFO [name …]`: every command when no name is given; a null
/// for each unknown name.
fn info(s: &mut Session, n: &Node, args: &[Bytes]) -> Reply {
    if args.len() == 2 {
        return command(s, n, &args[..1]);
    }
    Reply::Array(
        args[2..]
            .iter()
            .map(|name| by_full_name(name).map_or(Reply::Null, info_entry))
            .collect(),
    )
}

/// `COMMAND DOCS [name …]`: a map from each known name to its docs.
fn docs(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    let specs: Vec<&CommandSpec> = if args.len() == 2 {
        visible().collect()
    } else {
        args[2..].iter().filter_map(|a| by_full_name(a)).collect()
    };
    Reply::Map(
        specs
            .into_iter()
            .map(|c| (static_bulk(c.name), docs_entry(c)))
            .collect(),
    )
}

/// `COMMAND GETKEYS command arg …`: the key arguments, found with the
/// same key spec dispatch uses.
fn getkeys(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    let argv = &args[2..];
    match keys_of(argv) {
        Ok(idx) => Reply::Array(
            idx.into_iter()
                .map(|i| Reply::bulk(argv[i].clone()))
                .collect(),
        ),
        Err(e) => Reply::error(e),
    }
}

/// Key indexes of the full command `argv`, or GETKEYS's error text.
fn keys_of(argv: &[Bytes]) -> Result<Vec<usize>, &'static str> {
    let top = lookup(&argv[0])
        .filter(|c| !c.is_internal())
        .ok_or("ERR Invalid command specified")?;
    let spec = if top.subcommands.is_empty() || argv.len() < 2 {
        top
    } else {
        let sub = if matches!(top.handler, Handler::Container) {
            table::find_subcommand(top, &argv[1])
        } else {
            top.subcommands
                .iter()
                .find(|c| sub_name(c).eq_ignore_ascii_case(&argv[1]))
        };
        sub.ok_or("ERR Invalid command specified")?
    };
    if spec.first_key <= 0 && spec.key_finder.is_none() {
        return Err("ERR The command has no key arguments");
    }
    if !spec.arity_ok(argv.len()) {
        return Err("ERR Invalid number of arguments specified for command");
    }
    let keys = spec.key_indexes(argv);
    if keys.is_empty() && !spec.has_flag(NO_MANDATORY_KEYS) {
        return Err("ERR Invalid arguments specified for command");
    }
    Ok(keys)
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]`:
/// command and subcommand names.
fn list(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match args.len() {
        2 => Box::new(|_| true),
        5 if is(&args[2], "FILTERBY") => {
            let value = args[4].clone();
            if is(&args[3], "MODULE") {
                // No modules: nothing comes from one.
                Box::new(|_| false)
            } else if is(&args[3], "ACLCAT") {
                Box::new(move |c| {
                    c.acl
                        .iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(&value))
                })
            } else if is(&args[3], "PATTERN") {
                Box::new(move |c| glob_match_with(&value, c.name.as_bytes(), true))
            } else {
                return err_syntax();
            }
        }
        _ => return err_syntax(),
    };
    let mut names = Vec::new();
    for c in visible() {
        for spec in std::iter::once(c).chain(c.subcommands.iter()) {
            if keep(spec) {
                names.push(static_bulk(spec.name));
            }
        }
    }
    Reply::Array(names)
}

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about every command.",
    "COUNT",
    "    Return the number of commands.",
    "LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <pattern>)]",
    "    Return the names of the commands and subcommands, optionally filtered.",
    "INFO [<command-name> ...]",
    "    Return details about the named commands, or every command when none is",
    "    named.",
    "DOCS [<command-name> ...]",
    "    Return the documentation of the named commands, or of every command when",
    "    none is named.",
    "GETKEYS <full-command>",
    "    Return the key arguments of a full command.",
    "HELP",
    "    Print this help.",
];

fn help(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    help_reply("command", HELP)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{wire, TestNode};
    use super::*;
    use redraft_resp::Protocol;

    /// Every row of the table, subcommands included, with its container.
    fn all_rows() -> Vec<&'static CommandSpec> {
        visible()
            .flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()))
            .collect()
    }

    #[test]
    fn generated_metadata_is_sorted_and_found() {
        let all = super::super::command_meta::COMMANDS;
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
        assert!(meta("get").is_some() && meta("config|get").is_some());
        assert!(meta("nosuch").is_none());
    }

    /// Position of each of `items` in `order`, which must list them all.
    fn positions(items: &[&str], order: &[&str], what: &str, name: &str) -> Vec<usize> {
        items
            .iter()
            .map(|i| {
                order
                    .iter()
                    .position(|o| o == i)
                    .unwrap_or_else(|| panic!("{name}: {what} {i} is not in the order list"))
            })
            .collect()
    }

    /// The order lists reproduce the order Redis 7.0.15 shows for every
    /// one of its commands.
    #[test]
    fn flag_and_category_orders_match_redis() {
        for m in super::super::command_meta::COMMANDS {
            let f = positions(m.reference.flags, flags::ORDER, "flag", m.name);
            assert!(f.windows(2).all(|w| w[0] < w[1]), "{}: flag order", m.name);
            let a = positions(m.reference.acl, ACL_ORDER, "category", m.name);
            assert!(
                a.windows(2).all(|w| w[0] < w[1]),
                "{}: category order",
                m.name
            );
        }
    }

    /// Every row of the table agrees with Redis 7.0.15 (the generated
    /// reference values) on arity, flags, key positions, ACL categories
    /// and docs, except the commands Redis 7.0 does not have.
    #[test]
    fn table_rows_match_redis_7_0() {
        let sorted = |v: &[&'static str]| {
            let mut v: Vec<&str> = v.iter().copied().filter(|f| *f != MAY_REPLICATE).collect();
            v.sort_unstable();
            v
        };
        let mut diffs = Vec::new();
        for spec in all_rows() {
            let Some(m) = meta(spec.name) else {
                // Redis 7.2 additions redraft offers, and redraft's own.
                assert!(
                    [
                        "client|setinfo",
                        "client|no-touch",
                        "cluster|drain",
                        "cluster|split",
                        "cluster|migrate"
                    ]
                    .contains(&spec.name),
                    "{}: not a Redis 7.0.15 command",
                    spec.name
                );
                continue;
            };
            let r = &m.reference;
            let mut check = |what: &str, ours: String, redis: String| {
                if ours != redis {
                    diffs.push(format!(
                        "{} {what}: table {ours} / redis {redis}",
                        spec.name
                    ));
                }
            };
            check("arity", spec.arity.to_string(), r.arity.to_string());
            check(
                "flags",
                format!("{:?}", sorted(spec.flags)),
                format!("{:?}", sorted(r.flags)),
            );
            check(
                "keys",
                format!("{:?}", (spec.first_key, spec.last_key, spec.step)),
                format!("{:?}", r.keys),
            );
            check(
                "acl",
                format!("{:?}", sorted(spec.acl)),
                format!("{:?}", sorted(r.acl)),
            );
            check("summary", spec.summary.into(), r.summary.into());
            check("since", spec.since.into(), r.since.into());
            check("group", spec.group.into(), r.group.into());
            check("complexity", spec.complexity.into(), r.complexity.into());
        }
        assert!(
            diffs.is_empty(),
            "rows differ from Redis 7.0.15:\n{}",
            diffs.join("\n")
        );
    }

    fn call(t: &TestNode, args: &[&str]) -> Reply {
        let mut s = t.session();
        t.call(&mut s, args)
    }

    /// Byte-for-byte what redis-server 7.0.15 answers to `COMMAND INFO
    /// echo` and `COMMAND DOCS echo`, in RESP2 and RESP3.
    #[test]
    fn info_and_docs_bytes_match_redis() {
        let t = TestNode::start(&[]);
        let info = call(&t, &["COMMAND", "INFO", "echo"]);
        assert_eq!(
            wire(&info, Protocol::Resp2),
            "*1\r\n*10\r\n$4\r\necho\r\n:2\r\n*3\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n\
             :0\r\n*2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n"
        );
        assert_eq!(
            wire(&info, Protocol::Resp3),
            "*1\r\n*10\r\n$4\r\necho\r\n:2\r\n~3\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n\
             :0\r\n~2\r\n+@fast\r\n+@connection\r\n~0\r\n~0\r\n~0\r\n"
        );
        let docs = call(&t, &["COMMAND", "DOCS", "ECHO"]);
        assert_eq!(
            wire(&docs, Protocol::Resp2),
            "*2\r\n$4\r\necho\r\n*10\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n\
             $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\n\
             complexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$7\r\n\
             message\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
        );
        assert_eq!(
            wire(&docs, Protocol::Resp3),
            "%1\r\n$4\r\necho\r\n%5\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n\
             $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\n\
             complexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$7\r\n\
             message\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
        );
        // HELLO's docs: a history set and nested argument blocks.
        let hello = wire(&call(&t, &["COMMAND", "DOCS", "hello"]), Protocol::Resp3);
        assert!(hello.starts_with(
            "%1\r\n$5\r\nhello\r\n%6\r\n$7\r\nsummary\r\n$20\r\nHandshake with Redis\r\n"
        ));
        assert!(hello.contains("$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n6.2.0\r\n"));
        assert!(hello.ends_with("$7\r\nSETNAME\r\n$5\r\nflags\r\n~1\r\n+optional\r\n"));
    }

    #[test]
    fn info_of_containers_and_unknown_names() {
        let t = TestNode::start(&[]);
        let Reply::Array(entries) =
            call(&t, &["COMMAND", "INFO", "config", "nosuch", "CONFIG|GET"])
        else {
            panic!("COMMAND INFO is an array")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1], Reply::Null);
        let Reply::Array(config) = &entries[0] else {
            panic!()
        };
        assert_eq!(config[0], Reply::bulk("config"));
        assert_eq!(config[2], Reply::Set(vec![]));
        let Reply::Set(subs) = &config[9] else {
            panic!()
        };
        assert_eq!(subs.len(), 5);
        let Reply::Array(get) = &entries[2] else {
            panic!()
        };
        assert_eq!(get[0], Reply::bulk("config|get"));
        assert_eq!(get[1], Reply::Integer(-3));
        assert_eq!(
            get[6],
            Reply::Set(vec![
                Reply::status("@admin"),
                Reply::status("@slow"),
                Reply::status("@dangerous")
            ])
        );
        // COMMAND and COMMAND INFO list every command, once.
        let Reply::Array(all) = call(&t, &["COMMAND"]) else {
            panic!()
        };
        assert_eq!(all.len(), visible().count());
        assert_eq!(call(&t, &["COMMAND", "INFO"]), Reply::Array(all));
        assert_eq!(
            call(&t, &["COMMAND", "COUNT"]),
            Reply::Integer(visible().count() as i64)
        );
        // Docs: unknown names are left out.
        assert_eq!(call(&t, &["COMMAND", "DOCS", "nosuch"]), Reply::Map(vec![]));
        let Reply::Map(docs) = call(&t, &["COMMAND", "DOCS"]) else {
            panic!()
        };
        assert_eq!(docs.len(), visible().count());
    }

    #[test]
    fn getkeys_like_redis() {
        let t = TestNode::start(&[]);
        assert_eq!(
            call(&t, &["COMMAND", "GETKEYS", "GET", "a"]),
            Reply::Array(vec![Reply::bulk("a")])
        );
        assert_eq!(
            call(&t, &["command", "getkeys", "set", "k", "v", "EX", "10"]),
            Reply::Array(vec![Reply::bulk("k")])
        );
        for (args, e) in [
            (
                &["GET", "a", "b"][..],
                "ERR Invalid number of arguments specified for command",
            ),
            (
                &["SET", "a"][..],
                "ERR Invalid number of arguments specified for command",
            ),
            (&["nosuch", "a"][..], "ERR Invalid command specified"),
            (&["PING", "x"][..], "ERR The command has no key arguments"),
            (
                &["CONFIG", "GET"][..],
                "ERR The command has no key arguments",
            ),
            (&["CONFIG", "nosuch"][..], "ERR Invalid command specified"),
        ] {
            let mut argv = vec!["COMMAND", "GETKEYS"];
            argv.extend_from_slice(args);
            assert_eq!(call(&t, &argv), Reply::error(e), "{args:?}");
        }
        assert_eq!(
            call(&t, &["COMMAND", "GETKEYS", "PING"]),
            Reply::error("ERR wrong number of arguments for 'command|getkeys' command")
        );
    }

    fn names(r: Reply) -> Vec<String> {
        let Reply::Array(items) = r else {
            panic!("{r:?}")
        };
        items
            .into_iter()
            .map(|i| match i {
                Reply::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn list_and_filters() {
        let t = TestNode::start(&[]);
        let all = names(call(&t, &["COMMAND", "LIST"]));
        assert!(all.contains(&"get".to_string()) && all.contains(&"config|get".to_string()));
        assert!(all.iter().all(|n| !n.starts_with("__")));
        let conn = names(call(
            &t,
            &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "CONNECTION"],
        ));
        assert!(conn.contains(&"ping".to_string()) && conn.contains(&"client|id".to_string()));
        assert!(!conn.contains(&"client".to_string()) && !conn.contains(&"get".to_string()));
        let cfg = names(call(
            &t,
            &["COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG*"],
        ));
        assert_eq!(
            cfg,
            [
                "config",
                "config|get",
                "config|help",
                "config|resetstat",
                "config|rewrite",
                "config|set"
            ]
        );
        assert!(names(call(&t, &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"])).is_empty());
        assert!(names(call(
            &t,
            &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"]
        ))
        .is_empty());
        for args in [
            &["FILTERBY", "PATTERN"][..],
            &["FILTERBY", "PATTERN", "a", "b"][..],
            &["FILTERBY", "foo", "x"][..],
            &["x"][..],
        ] {
            let mut argv = vec!["COMMAND", "LIST"];
            argv.extend_from_slice(args);
            assert_eq!(call(&t, &argv), err_syntax(), "{args:?}");
        }
    }

    #[test]
    fn subcommand_dispatch_and_help() {
        let t = TestNode::start(&[]);
        assert_eq!(
            call(&t, &["COMMAND", "NOSUCH"]),
            Reply::error("ERR unknown subcommand 'NOSUCH'. Try COMMAND HELP.")
        );
        assert_eq!(
            call(&t, &["COMMAND", "COUNT", "x"]),
            Reply::error("ERR wrong number of arguments for 'command|count' command")
        );
        let Reply::Array(help) = call(&t, &["COMMAND", "HELP"]) else {
            panic!()
        };
        for sub in SUBCOMMANDS {
            let name = sub.name.split_once('|').unwrap().1.to_ascii_uppercase();
            assert!(
                help.iter()
                    .any(|l| matches!(l, Reply::Status(t) if t.starts_with(name.as_bytes()))),
                "COMMAND HELP lacks {name}"
            );
        }
    }
}
