//! # Commands
//!
//! One static **command table** is the single source of truth for
//! `COMMAND`/`COMMAND INFO`/`COMMAND DOCS`/`COMMAND GETKEYS`, arity checks,
//! key extraction, the CROSSSLOT check and routing. Each family file
//! (`string.rs`, `keys.rs`, `connection.rs`, `server.rs`, `cluster.rs`)
//! declares its rows next to their handlers, so a command's parsing and
//! execution sit side by side.
//!
//! Handlers come in three kinds ([`Handler`]):
//! - `Read`: runs on the connection's task against the engine (lease reads:
//!   this node leads the shard).
//! - `Write`: `check` validates the arguments on the connection (a syntax
//!   error answers at once, without a proposal); the arguments are then
//!   proposed to the shard's Raft group and `apply` runs on every replica in
//!   log order, with the proposal's time and seed.
//! - `Node`: connection, server and cluster commands that read or change
//!   the session or the node, not the keyspace.
//!
//! Errors become replies in exactly one place: [`error`].

pub mod args;
pub mod cluster;
pub mod connection;
pub mod dump;
pub mod error;
pub mod hash;
pub mod keys;
pub mod list;
pub mod multi;
pub mod server;
pub mod set;
pub mod string;
pub mod table;
pub mod zset;

use bytes::Bytes;
use rand::rngs::StdRng;
use redraft_cluster::SlotRange;
use redraft_resp::Reply;

use crate::keyspace::{KvRead, Overlay};
use crate::node::Node;
use crate::session::Session;

pub use table::{lookup, CommandTable, TABLE};

/// Command flags as `COMMAND INFO` lists them.
pub mod flags {
    pub const WRITE: &str = "write";
    pub const READONLY: &str = "readonly";
    pub const DENYOOM: &str = "denyoom";
    pub const ADMIN: &str = "admin";
    pub const PUBSUB: &str = "pubsub";
    pub const NOSCRIPT: &str = "noscript";
    pub const BLOCKING: &str = "blocking";
    pub const LOADING: &str = "loading";
    pub const STALE: &str = "stale";
    pub const SKIP_MONITOR: &str = "skip_monitor";
    pub const SKIP_SLOWLOG: &str = "skip_slowlog";
    pub const ASKING: &str = "asking";
    pub const FAST: &str = "fast";
    pub const NO_AUTH: &str = "no_auth";
    pub const MAY_REPLICATE: &str = "may_replicate";
    pub const NO_MULTI: &str = "no_multi";
    pub const MOVABLEKEYS: &str = "movablekeys";
    pub const ALLOW_BUSY: &str = "allow_busy";
    pub const NO_MANDATORY_KEYS: &str = "no_mandatory_keys";
    pub const NO_ASYNC_LOADING: &str = "no_async_loading";

    /// Every flag, in the order `COMMAND INFO` lists them (Redis 7.0's bit
    /// order). `may_replicate` is accepted in rows but, as in Redis, never
    /// shown.
    pub const ORDER: &[&str] = &[
        WRITE,
        READONLY,
        DENYOOM,
        ADMIN,
        PUBSUB,
        NOSCRIPT,
        BLOCKING,
        LOADING,
        STALE,
        SKIP_MONITOR,
        SKIP_SLOWLOG,
        ASKING,
        FAST,
        NO_AUTH,
        MAY_REPLICATE,
        NO_MANDATORY_KEYS,
        NO_ASYNC_LOADING,
        NO_MULTI,
        MOVABLEKEYS,
        ALLOW_BUSY,
    ];
}

/// What runs a command.
#[derive(Clone, Copy)]
pub enum Handler {
    Read(fn(&mut ReadCtx<'_>, &[Bytes]) -> Reply),
    Write {
        check: fn(&[Bytes]) -> Result<(), Reply>,
        apply: fn(&mut ApplyCtx<'_, '_>, &[Bytes]) -> Reply,
    },
    Node(fn(&mut Session, &Node, &[Bytes]) -> Reply),
    /// A node command answered once something it proposed is applied
    /// (CLUSTER SPLIT): the receiver yields the reply (errors included).
    NodeAwait(fn(&mut Session, &Node, &[Bytes]) -> Result<AwaitedReply, Reply>),
    /// A container (`CLIENT`, `CONFIG`, …): dispatch on the subcommand.
    Container,
}

/// What a [`Handler::NodeAwait`] command answers, once it resolves.
pub type AwaitedReply =
    tokio::sync::oneshot::Receiver<Result<Reply, redraft_cluster::ProposeError>>;

/// Finds the key indexes of a command whose keys move (`numkeys`).
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

/// One row of the command table.
pub struct CommandSpec {
    /// Lowercase name; subcommands are `container|sub` as Redis names them.
    pub name: &'static str,
    /// Redis arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// Key positions: first key, last key (negative counts from the end),
    /// step; `(0, 0, 0)` for no keys.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// For commands whose keys move (`numkeys` arguments): the key indexes.
    pub key_finder: Option<KeyFinder>,
    /// ACL categories without the `@`.
    pub acl: &'static [&'static str],
    /// Documentation for `COMMAND DOCS`.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// Internal commands (named `__…`) are proposed by the node itself
    /// (the expiry sweeper); clients get "unknown command" for them.
    pub fn is_internal(&self) -> bool {
        self.name.starts_with("__")
    }

    pub fn is_write(&self) -> bool {
        matches!(self.handler, Handler::Write { .. })
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// Whether the command takes keys at all (even if some arguments yield
    /// none, as a bad numkeys does): FLUSHALL does not, LMPOP does.
    pub fn names_keys(&self) -> bool {
        self.key_finder.is_some() || self.first_key > 0
    }

    /// Indexes of the key arguments in `args` (`args[0]` is the name).
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        if let Some(find) = self.key_finder {
            return find(args).into_iter().filter(|&i| i < args.len()).collect();
        }
        if self.first_key <= 0 {
            return Vec::new();
        }
        let n = args.len() as i32;
        let last = if self.last_key < 0 {
            n + self.last_key
        } else {
            self.last_key.min(n - 1)
        };
        let step = self.step.max(1);
        (self.first_key..=last)
            .step_by(step as usize)
            .map(|i| i as usize)
            .collect()
    }
}

/// What a read handler sees.
pub struct ReadCtx<'a> {
    /// The keys it reads: the engine on the connection, or the apply
    /// overlay inside EXEC (so reads see the transaction's earlier writes).
    pub kv: &'a dyn KvRead,
    /// Wall-clock "now" for expiry, in Unix milliseconds (the proposal's
    /// time inside EXEC).
    pub now_ms: u64,
    /// The node, for reads that need more than the keys (keyless reads over
    /// the served slots, settings); `None` inside EXEC, at Raft apply.
    pub node: Option<&'a Node>,
    /// The session's READONLY flag (keyless reads on a replica).
    pub readonly: bool,
}

impl<'a> ReadCtx<'a> {
    /// The node, or the error a read that needs it answers inside EXEC.
    pub fn node(&self) -> Result<&'a Node, Reply> {
        self.node.ok_or_else(|| {
            Reply::error("ERR this command is not supported inside MULTI/EXEC by redraft")
        })
    }
}

/// What a write handler sees during Raft apply.
pub struct ApplyCtx<'a, 'e> {
    pub ov: &'a mut Overlay<'e>,
    /// The proposal's timestamp: "now" for TTLs on every replica.
    pub now_ms: u64,
    /// Seeded by the proposal: the same draws on every replica.
    pub rng: &'a mut StdRng,
    /// The slot ranges the shard being applied to owns (its replicated
    /// state), for the few writes that need them ([`ApplyCtx::ranges`]).
    pub ranges: &'a [SlotRange],
    pub shard: redraft_cluster::ShardId,
    /// The Raft index of the entry being applied.
    pub index: u64,
    /// How many versions this entry has handed out so far.
    pub versions: &'a mut u32,
}

impl ApplyCtx<'_, '_> {
    /// The slot ranges of the shard being applied to: what a keyless write
    /// (FLUSHALL, FLUSHDB) covers on this shard.
    pub fn ranges(&self) -> Vec<SlotRange> {
        self.ranges.to_vec()
    }

    /// A collection version no other record of this shard ever had or will
    /// have: `index << 20 | n`, where `n` counts the versions the entry
    /// already took. The same on every replica (and on replay), and never
    /// equal to the version of a deleted collection whose subkeys are not
    /// swept yet, so such subkeys can never come back to life.
    pub fn new_version(&mut self) -> u64 {
        let n = *self.versions;
        *self.versions = n.saturating_add(1);
        (self.index << 20) | u64::from(n & 0xF_FFFF)
    }
}

/// A container's HELP reply, as Redis lays it out: a usage line naming the
/// container, then `lines` (each subcommand, and indented what it does),
/// every line a status string.
pub fn help_reply(container: &str, lines: &[&str]) -> Reply {
    let usage = format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        container.to_ascii_uppercase()
    );
    Reply::Array(
        std::iter::once(usage)
            .chain(lines.iter().map(|l| l.to_string()))
            .map(|l| Reply::Status(Bytes::from(l)))
            .collect(),
    )
}

/// The `check` of a write whose arguments the arity alone validates (or
/// that can only be judged against the data, at apply).
pub fn no_check(_: &[Bytes]) -> Result<(), Reply> {
    Ok(())
}

/// Applies one proposed command. Unknown names cannot be proposed; a
/// replica that does not know one (a newer leader) answers an error
/// identically everywhere.
pub fn apply_write(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let Some(spec) = args.first().and_then(|n| lookup(n)) else {
        return Reply::error("ERR unknown command in proposal");
    };
    let spec = table::resolve_subcommand(spec, args);
    match spec.handler {
        Handler::Write { apply, .. } => apply(ctx, args),
        // A read inside a transaction: it sees the writes before it.
        Handler::Read(read) => read(
            &mut ReadCtx {
                kv: &*ctx.ov,
                now_ms: ctx.now_ms,
                node: None,
                readonly: false,
            },
            args,
        ),
        _ => Reply::error("ERR command cannot be applied"),
    }
}

impl CommandSpec {
    /// A row with its key spec; documentation is added with [`Self::doc`].
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: &'static [&'static str],
        keys: (i32, i32, i32),
        acl: &'static [&'static str],
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            first_key: keys.0,
            last_key: keys.1,
            step: keys.2,
            key_finder: None,
            acl,
            group: "",
            summary: "",
            since: "",
            complexity: "",
            handler,
            subcommands: &[],
        }
    }

    /// A keyspace read row.
    pub const fn read(
        name: &'static str,
        arity: i32,
        flags: &'static [&'static str],
        keys: (i32, i32, i32),
        acl: &'static [&'static str],
        f: fn(&mut ReadCtx<'_>, &[Bytes]) -> Reply,
    ) -> CommandSpec {
        CommandSpec::new(name, arity, flags, keys, acl, Handler::Read(f))
    }

    /// A write row: `check` on the connection, `apply` in Raft apply.
    pub const fn write(
        name: &'static str,
        arity: i32,
        flags: &'static [&'static str],
        keys: (i32, i32, i32),
        acl: &'static [&'static str],
        check: fn(&[Bytes]) -> Result<(), Reply>,
        apply: fn(&mut ApplyCtx<'_, '_>, &[Bytes]) -> Reply,
    ) -> CommandSpec {
        CommandSpec::new(
            name,
            arity,
            flags,
            keys,
            acl,
            Handler::Write { check, apply },
        )
    }

    /// Adds `COMMAND DOCS` fields: group, summary, since, complexity.
    pub const fn doc(
        mut self,
        group: &'static str,
        summary: &'static str,
        since: &'static str,
        complexity: &'static str,
    ) -> CommandSpec {
        self.group = group;
        self.summary = summary;
        self.since = since;
        self.complexity = complexity;
        self
    }

    /// Makes this row a container of `subcommands`.
    pub const fn with_subcommands(mut self, subcommands: &'static [CommandSpec]) -> CommandSpec {
        self.subcommands = subcommands;
        self
    }

    /// Sets a key finder for commands with moving keys.
    pub const fn with_key_finder(mut self, f: fn(&[Bytes]) -> Vec<usize>) -> CommandSpec {
        self.key_finder = Some(f);
        self
    }
}
