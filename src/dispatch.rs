//! From a parsed request to a reply: lookup, arity, auth, CROSSSLOT,
//! routing, then the handler. The only place that decides where a command
//! runs.

use bytes::Bytes;
use redraft_cluster::{key_slot, ProposeError, ShardId, Slot};
use redraft_resp::Reply;
use tokio::sync::oneshot;

use crate::cmd::error::{
    err_crossslot, err_unknown_command, err_unknown_subcommand, err_wrong_args,
};
use crate::cmd::{self, flags, Handler, ReadCtx};
use crate::node::Node;
use crate::proposal::Proposal;
use crate::session::Session;

/// A reply now, or a proposal whose outcome is awaited.
pub enum Outcome {
    Reply(Reply),
    Pending(PendingWrite),
}

/// A proposed write: one proposal, or one per shard for a keyless write
/// (FLUSHALL) that covers every shard of the node.
pub struct PendingWrite {
    pub rxs: Vec<oneshot::Receiver<Result<Reply, ProposeError>>>,
    pub slot: Slot,
}

impl PendingWrite {
    /// Waits for the write's outcome and turns failures into the errors a
    /// cluster client understands. For a write to several shards, the first
    /// failure wins; otherwise the replies agree and the first is returned.
    pub async fn wait(self, node: &Node) -> Reply {
        let mut first = None;
        for rx in self.rxs {
            let reply = match rx.await {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => propose_error_reply(node, self.slot, &e),
                Err(_) => Reply::error("CLUSTERDOWN The cluster is down"),
            };
            match &first {
                None => first = Some(reply),
                Some(r) if !r.is_error() && reply.is_error() => first = Some(reply),
                Some(_) => {}
            }
        }
        first.unwrap_or_else(|| Reply::error("CLUSTERDOWN Hash slot not served"))
    }
}

fn propose_error_reply(_node: &Node, _slot: Slot, e: &ProposeError) -> Reply {
    match e {
        // TRYAGAIN: the entry lost its place in the log to a leader change;
        // it was not applied, so a retry cannot duplicate it.
        ProposeError::Dropped => {
            Reply::error("TRYAGAIN Write lost to a leader change and not applied, retry")
        }
        ProposeError::NotLeader { .. } | ProposeError::UnknownShard(_) | ProposeError::Stopped => {
            Reply::error("CLUSTERDOWN The cluster is down")
        }
    }
}

/// Runs one command for `session`.
pub fn dispatch(session: &mut Session, node: &Node, args: Vec<Bytes>) -> Outcome {
    // ASKING covers only the next command, as in Redis (outside MULTI).
    let is_asking = args
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"asking"));
    let outcome = run(session, node, args);
    if !is_asking {
        session.asking = false;
    }
    outcome
}

fn run(session: &mut Session, node: &Node, args: Vec<Bytes>) -> Outcome {
    Outcome::Reply(match prepare(session, node, &args) {
        Err(reply) => reply,
        Ok(Route { spec, shard, slot }) => {
            *session.handle.last_cmd.lock() = spec.name.to_string();
            match spec.handler {
                Handler::Read(f) => {
                    let mut ctx = ReadCtx {
                        node,
                        session,
                        now_ms: crate::clock::now_ms(),
                    };
                    f(&mut ctx, &args)
                }
                Handler::Write { check, .. } => {
                    if let Err(reply) = check(&args) {
                        return Outcome::Reply(reply);
                    }
                    let targets = match shard {
                        Target::Shard(s) => vec![s],
                        Target::Every => node.slots.read().shards(),
                        Target::Unserved => {
                            return Outcome::Reply(Reply::error("CLUSTERDOWN Hash slot not served"))
                        }
                    };
                    let data = Proposal::new(vec![args]).encode();
                    let rxs = targets
                        .into_iter()
                        .map(|s| node.raft.propose(s, data.clone()))
                        .collect();
                    return Outcome::Pending(PendingWrite { rxs, slot });
                }
                Handler::Node(f) => f(session, node, &args),
                Handler::Container => {
                    err_unknown_subcommand(spec.name, args.get(1).map_or(&b""[..], |a| a))
                }
            }
        }
    })
}

struct Route {
    spec: &'static cmd::CommandSpec,
    shard: Target,
    slot: Slot,
}

/// Which shards a command goes to.
enum Target {
    /// The shard owning the keys' slot.
    Shard(ShardId),
    /// Keyless writes (FLUSHALL, FLUSHDB): every shard this node hosts.
    Every,
    /// The keys' slot is not assigned to any shard.
    Unserved,
}

fn prepare(session: &Session, node: &Node, args: &[Bytes]) -> Result<Route, Reply> {
    let Some(top) = cmd::lookup(&args[0]).filter(|c| !c.is_internal()) else {
        return Err(err_unknown_command(args));
    };
    if !top.arity_ok(args.len()) {
        return Err(err_wrong_args(top.name));
    }
    let spec = if matches!(top.handler, Handler::Container) {
        let sub = cmd::table::find_subcommand(top, &args[1])
            .ok_or_else(|| err_unknown_subcommand(top.name, &args[1]))?;
        if !sub.arity_ok(args.len()) {
            return Err(err_wrong_args(sub.name));
        }
        sub
    } else {
        top
    };
    if !session.authenticated && !spec.has_flag(flags::NO_AUTH) {
        return Err(Reply::error("NOAUTH Authentication required."));
    }
    let keys = spec.key_indexes(args);
    let mut slot = None;
    for &i in &keys {
        let s = key_slot(&args[i]);
        match slot {
            None => slot = Some(s),
            Some(prev) if prev != s => return Err(err_crossslot()),
            Some(_) => {}
        }
    }
    let shard = match slot {
        None if spec.is_write() => Target::Every,
        _ => match node.slots.read().shard_of(slot.unwrap_or(0)) {
            Some(s) => Target::Shard(s),
            None => Target::Unserved,
        },
    };
    Ok(Route {
        spec,
        shard,
        slot: slot.unwrap_or(0),
    })
}
