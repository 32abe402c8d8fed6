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

pub struct PendingWrite {
    pub rx: oneshot::Receiver<Result<Reply, ProposeError>>,
    pub slot: Slot,
}

impl PendingWrite {
    /// Waits for the write's outcome and turns failures into the errors a
    /// cluster client understands.
    pub async fn wait(self, node: &Node) -> Reply {
        match self.rx.await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => propose_error_reply(node, self.slot, &e),
            Err(_) => Reply::error("CLUSTERDOWN The cluster is down"),
        }
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
                    let Some(shard) = shard else {
                        return Outcome::Reply(Reply::error("CLUSTERDOWN Hash slot not served"));
                    };
                    let data = Proposal::new(vec![args]).encode();
                    let rx = node.raft.propose(shard, data);
                    return Outcome::Pending(PendingWrite { rx, slot });
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
    shard: Option<ShardId>,
    slot: Slot,
}

fn prepare(session: &Session, node: &Node, args: &[Bytes]) -> Result<Route, Reply> {
    let Some(top) = cmd::lookup(&args[0]) else {
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
    let slot = slot.unwrap_or(0);
    let shard = node.slots.read().shard_of(slot);
    Ok(Route { spec, shard, slot })
}
