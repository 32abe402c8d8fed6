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

/// A reply now, a proposal whose outcome is awaited, or a read that may
/// run only once the leader confirmed it still leads (Raft ReadIndex).
pub enum Outcome {
    Reply(Reply),
    Pending(PendingWrite),
    /// Await the receiver, then run the read with [`dispatch_confirmed`].
    ReadIndex(oneshot::Receiver<Result<(), ProposeError>>, Vec<Bytes>),
}

impl Outcome {
    /// The reply, once any awaited write or read barrier resolved. For
    /// callers that handle one command at a time (tests, tools); a
    /// connection pipelines instead.
    pub async fn resolve(self, session: &mut Session, node: &Node) -> Reply {
        let reply = self.resolve_inner(session, node).await;
        // A blocking pop that would block answers as if it timed out at
        // once (callers here never wait for keys).
        if crate::blocking::is_would_block(&reply) {
            return crate::blocking::timeout_reply();
        }
        reply
    }

    async fn resolve_inner(self, session: &mut Session, node: &Node) -> Reply {
        match self {
            Outcome::Reply(r) => r,
            Outcome::Pending(p) => p.wait(node).await,
            Outcome::ReadIndex(rx, args) => match rx.await {
                Ok(Ok(())) => match dispatch_confirmed(session, node, args) {
                    Outcome::Reply(r) => r,
                    Outcome::Pending(p) => p.wait(node).await,
                    Outcome::ReadIndex(..) => read_retry_error(),
                },
                _ => read_retry_error(),
            },
        }
    }
}

/// The reply to a read whose ReadIndex round failed: leadership moved, or
/// no quorum answered; the client retries (and follows MOVED).
pub fn read_retry_error() -> Reply {
    Reply::error("TRYAGAIN Leadership changed during the read, retry")
}

/// A proposed write: one proposal, or one per shard for a keyless write
/// (FLUSHALL) that covers every shard of the node.
pub struct PendingWrite {
    pub rxs: Vec<oneshot::Receiver<Result<Reply, ProposeError>>>,
    pub slot: Slot,
    /// For EXEC: the replies answered on the connection (position, reply)
    /// and the block's length, put among the proposal's replies.
    pub splice: Option<(Vec<(usize, Reply)>, usize)>,
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
        let reply = first.unwrap_or_else(|| Reply::error("CLUSTERDOWN Hash slot not served"));
        let reply =
            crate::migration::ask_reply(reply, |s| node.leader_addr(s).map(|a| a.to_string()));
        match (reply, self.splice) {
            (Reply::Array(proposed), Some((local, total))) => {
                cmd::multi::splice(proposed, local, total)
            }
            (reply, _) => reply,
        }
    }
}

fn propose_error_reply(node: &Node, slot: Slot, e: &ProposeError) -> Reply {
    match e {
        ProposeError::NotLeader {
            leader: Some(leader),
            ..
        } if *leader != node.raft_id() => moved(node, slot, *leader),
        // TRYAGAIN: the entry lost its place in the log to a leader change;
        // it was not applied, so a retry cannot duplicate it.
        ProposeError::Dropped => {
            Reply::error("TRYAGAIN Write lost to a leader change and not applied, retry")
        }
        // The leader is handing the shard over and the new one has not
        // taken it yet: a MOVED now would send the client back and forth.
        ProposeError::Transferring { .. } => {
            Reply::error("TRYAGAIN Leadership of the shard is moving, retry")
        }
        // The entry's index was covered by a snapshot from a newer leader:
        // it may or may not have been applied. Never say it failed.
        ProposeError::Unknown => Reply::error(
            "ERR write outcome unknown (leadership changed while it was in flight); check before retrying",
        ),
        ProposeError::NotLeader { .. } | ProposeError::UnknownShard(_) | ProposeError::Stopped => {
            Reply::error("CLUSTERDOWN The cluster is down")
        }
        // Not an answer to a client's write (replica changes are admin
        // requests), but never a panic either.
        ProposeError::ChangeStalled(why) => Reply::error(format!("ERR {why}")),
    }
}

/// `-MOVED <slot> <ip>:<port>` to the node with Raft id `leader`.
fn moved(node: &Node, slot: Slot, leader: u64) -> Reply {
    match node.node_addr(leader) {
        Some(addr) => Reply::error(format!("MOVED {slot} {addr}")),
        None => Reply::error("CLUSTERDOWN The cluster is down"),
    }
}

/// Where a command for `shard` must go when this node cannot serve it:
/// MOVED to the shard's leader as this node knows it. With no leader known:
/// while this node can reach a quorum of the shard's replicas an election
/// is running, so CLUSTERDOWN (clients retry); when it cannot, it is the
/// one cut off, so MOVED to another replica, which a client that can still
/// reach it will find the new leader through (a client that stayed on the
/// cut-off node would otherwise retry here forever).
fn redirect(node: &Node, shard: ShardId, slot: Slot) -> Reply {
    let me = node.raft_id();
    let Some(info) = node.raft.shard_info(shard) else {
        // Not hosted here: the leader gossip names, else where the initial
        // placement put it.
        if let Some(l) = node.gossip.lead(shard).filter(|l| l.leader != me) {
            return moved(node, slot, l.leader);
        }
        // A shard just split off: where its parent's leader is.
        let known = node.known_shards();
        if let Some(l) = node
            .split_stand_ins(&known)
            .iter()
            .find(|i| i.shard == shard)
            .and_then(|i| i.leader)
        {
            return if l != me {
                moved(node, slot, l)
            } else {
                Reply::error("TRYAGAIN The slot's new shard is starting, retry")
            };
        }
        let guess = crate::node::placement(
            &node.nodes().iter().map(|n| n.id).collect::<Vec<_>>(),
            &[shard],
            node.replicas(),
        )
        .first()
        .and_then(|b| b.preferred_leader);
        return match guess {
            Some(l) if l != me => moved(node, slot, l),
            _ => Reply::error("CLUSTERDOWN The cluster is down"),
        };
    };
    match info.leader {
        Some(l) if l != me => moved(node, slot, l),
        _ => {
            let others: Vec<u64> = info.voters.iter().copied().filter(|&v| v != me).collect();
            let reachable = others.iter().filter(|&&v| node.peer_connected(v)).count();
            let quorum = info.voters.len() / 2 + 1;
            if !others.is_empty() && reachable + 1 < quorum {
                moved(node, slot, others[usize::from(slot) % others.len()])
            } else {
                Reply::error("CLUSTERDOWN The cluster is down")
            }
        }
    }
}

/// Runs one command for `session`.
pub fn dispatch(session: &mut Session, node: &Node, args: Vec<Bytes>) -> Outcome {
    run_with_asking(session, node, args, false)
}

/// Runs a read whose ReadIndex round (see [`Outcome::ReadIndex`])
/// confirmed that this node leads the key's shard.
pub fn dispatch_confirmed(session: &mut Session, node: &Node, args: Vec<Bytes>) -> Outcome {
    run_with_asking(session, node, args, true)
}

fn run_with_asking(
    session: &mut Session,
    node: &Node,
    args: Vec<Bytes>,
    confirmed: bool,
) -> Outcome {
    // ASKING covers only the next command, as in Redis (outside MULTI).
    let is_asking = args
        .first()
        .is_some_and(|a| a.eq_ignore_ascii_case(b"asking"));
    let outcome = run(session, node, args, confirmed);
    if !is_asking && !matches!(outcome, Outcome::ReadIndex(..)) {
        session.asking = false;
    }
    outcome
}

fn run(session: &mut Session, node: &Node, args: Vec<Bytes>, confirmed: bool) -> Outcome {
    let is = |name: &str| args[0].eq_ignore_ascii_case(name.as_bytes());
    if is("exec") {
        // EXEC refused before it runs (arity, auth) discards the block and
        // the WATCHes, inside MULTI or not, as Redis's execCommandAbort.
        if let Err(e) = prepare(session, node, &args) {
            session.tx = None;
            session.watched.clear();
            return Outcome::Reply(cmd::multi::err_execabort_because(&e));
        }
        if session.tx.is_some() {
            return exec(session, node);
        }
    }
    if session.tx.is_some() {
        // Run at once inside MULTI, as in Redis (WATCH and MULTI answer
        // their errors); everything else is queued.
        if !["multi", "discard", "watch", "quit", "reset"]
            .iter()
            .any(|n| is(n))
        {
            return Outcome::Reply(queue(session, node, args));
        }
        // Refused before it runs (arity, CROSSSLOT, a slot served
        // elsewhere): flags the block, as any command Redis rejects there.
        if let Err(e) = prepare(session, node, &args).and_then(|r| route_ok(node, &r)) {
            if let Some(tx) = session.tx.as_mut() {
                tx.aborted = true;
            }
            return Outcome::Reply(e);
        }
    } else if is("watch") {
        return watch(session, node, args, confirmed);
    }
    Outcome::Reply(match prepare(session, node, &args) {
        Err(reply) => reply,
        Ok(Route {
            spec,
            mut shard,
            slot,
            keyed,
        }) => {
            *session.handle.last_cmd.lock() = spec.name.to_string();
            // A migrating slot: after ASKING, the target shard serves it
            // (where this node leads the target).
            if let (Target::Shard(_), true, true) = (&shard, keyed, session.asking) {
                if let Some(to) = importing_here(node, slot) {
                    shard = Target::Shard(to);
                }
            }
            match spec.handler {
                Handler::Read(f) => {
                    if let (Target::Shard(s), true) = (&shard, keyed) {
                        let s = *s;
                        let local = confirmed
                            || ((session.readonly || node.config.unsafe_stale_reads)
                                && node.raft.hosts(s))
                            || node.raft.lease_read_ok(s);
                        if !local {
                            if node.raft.is_leader(s) {
                                return Outcome::ReadIndex(node.raft.read_index(s), args);
                            }
                            return Outcome::Reply(redirect(node, s, slot));
                        }
                        if let Some(redirect) = migrating_read(node, s, slot, spec, &args) {
                            return Outcome::Reply(redirect);
                        }
                    }
                    let mut ctx = ReadCtx {
                        kv: &node.engine,
                        now_ms: crate::clock::now_ms(),
                        node: Some(node),
                        readonly: session.readonly,
                    };
                    f(&mut ctx, &args)
                }
                Handler::Write { check, .. } => {
                    if let Err(reply) = check(&args) {
                        return Outcome::Reply(reply);
                    }
                    let targets = match shard {
                        Target::Shard(s) if node.raft.is_leader(s) => vec![s],
                        Target::Shard(s) => return Outcome::Reply(redirect(node, s, slot)),
                        Target::Every => {
                            // As on a Redis Cluster master: the shards (slots)
                            // this node serves.
                            let led: Vec<ShardId> = node
                                .slots
                                .read()
                                .shards()
                                .into_iter()
                                .filter(|&s| node.raft.is_leader(s))
                                .collect();
                            if led.is_empty() {
                                return Outcome::Reply(Reply::error(
                                    "READONLY You can't write against a read only replica.",
                                ));
                            }
                            led
                        }
                        Target::Unserved => {
                            return Outcome::Reply(Reply::error("CLUSTERDOWN Hash slot not served"))
                        }
                    };
                    let data = Proposal::new(vec![args]).encode();
                    let rxs = targets
                        .into_iter()
                        .map(|s| node.raft.propose(s, data.clone()))
                        .collect();
                    return Outcome::Pending(PendingWrite {
                        rxs,
                        slot,
                        splice: None,
                    });
                }
                Handler::Node(f) => f(session, node, &args),
                Handler::NodeAwait(f) => match f(session, node, &args) {
                    Ok(rx) => {
                        return Outcome::Pending(PendingWrite {
                            rxs: vec![rx],
                            slot: 0,
                            splice: None,
                        })
                    }
                    Err(reply) => reply,
                },
                Handler::Container => {
                    err_unknown_subcommand(spec.name, args.get(1).map_or(&b""[..], |a| a))
                }
            }
        }
    })
}

/// The shard led here that imports `slot` (its own applied state says
/// so; the map may not have told this node yet), for a command after
/// ASKING.
fn importing_here(node: &Node, slot: Slot) -> Option<ShardId> {
    let importing: Vec<ShardId> = node
        .migrations
        .read()
        .iter()
        .filter(|(_, st)| st.inc.is_some_and(|i| i.slot == slot))
        .map(|(s, _)| *s)
        .collect();
    importing.into_iter().find(|&s| node.raft.is_leader(s))
}

/// The redirect a read in a migrating slot gets from the local replica
/// of `shard` (which serves it): at the source, `-ASK` when its keys are
/// all gone and `-TRYAGAIN` when some are (or one is moving); at the
/// target, `-TRYAGAIN` for several keys not all imported yet. `None`: no
/// migration of `slot` here, or the read runs.
fn migrating_read(
    node: &Node,
    shard: ShardId,
    slot: Slot,
    spec: &cmd::CommandSpec,
    args: &[Bytes],
) -> Option<Reply> {
    let state = node.migrations.read().get(&shard).copied()?;
    let keys: Vec<&[u8]> = spec
        .key_indexes(args)
        .into_iter()
        .map(|i| &args[i][..])
        .collect();
    let now = crate::clock::now_ms();
    let verdict = if let Some(out) = state.out.filter(|o| o.slot == slot) {
        match crate::migration::source_verdict(&node.engine, slot, &keys, now) {
            Ok(crate::migration::Verdict::Ask) => {
                return Some(match node.leader_addr(out.to) {
                    Some(addr) => Reply::error(format!("ASK {slot} {addr}")),
                    None => {
                        Reply::error("TRYAGAIN The slot's target shard has no known leader, retry")
                    }
                })
            }
            Ok(v) => v,
            Err(_) => crate::migration::Verdict::TryAgain,
        }
    } else if state.inc.is_some_and(|i| i.slot == slot) {
        crate::migration::target_verdict(&node.engine, &keys, now)
            .unwrap_or(crate::migration::Verdict::TryAgain)
    } else {
        crate::migration::Verdict::Run
    };
    (verdict == crate::migration::Verdict::TryAgain).then(crate::migration::tryagain)
}

/// Whether a command may run (or be queued) here: its keys' slot is
/// served, and by a shard this node leads.
fn route_ok(node: &Node, route: &Route) -> Result<(), Reply> {
    match route.shard {
        Target::Unserved if route.keyed => Err(Reply::error("CLUSTERDOWN Hash slot not served")),
        Target::Shard(s) if route.keyed && !node.raft.is_leader(s) => {
            Err(redirect(node, s, route.slot))
        }
        _ => Ok(()),
    }
}

/// Validates a command sent inside MULTI and queues it; a failure flags
/// the block (EXEC then answers EXECABORT).
///
/// As in Redis, a command is answered QUEUED (or its error) whatever
/// happened before, but kept only while the block is neither flagged nor
/// known to fail its WATCH: EXEC's cluster check (CROSSSLOT, MOVED) looks
/// at the kept commands only, and then EXECABORT, or nil, is the answer.
fn queue(session: &mut Session, node: &Node, args: Vec<Bytes>) -> Reply {
    let checked = prepare(session, node, &args).and_then(|route| {
        if route.spec.has_flag(flags::NO_MULTI) {
            return Err(Reply::error("ERR Command not allowed inside a transaction"));
        }
        match route.shard {
            // Keys the arguments do not yield (a bad numkeys): Redis
            // queues it, and EXEC answers the command's own error.
            Target::Every if route.spec.names_keys() => Ok(None),
            Target::Every => Err(Reply::error(format!(
                "ERR '{}' inside MULTI is not supported by redraft",
                route.spec.name
            ))),
            _ => route_ok(node, &route).map(|()| route.keyed.then_some(route.slot)),
        }
    });
    // Whether a WATCHed key changed matters to the kept commands only when
    // this one brings a slot they lack (it could make EXEC's slot check
    // fail): otherwise keeping it changes no reply, and EXEC's apply finds
    // the change anyway. So the keys are read at most once per new slot.
    let touched = match (&session.tx, &checked) {
        (Some(tx), Ok(Some(slot))) if !tx.aborted && !tx.touched && tx.slot != Some(*slot) => {
            watch_touched(session, node)
        }
        _ => false,
    };
    let Some(tx) = session.tx.as_mut() else {
        return Reply::error("ERR EXEC without MULTI");
    };
    tx.touched |= touched;
    match checked {
        Ok(slot) => {
            if !tx.aborted && !tx.touched {
                tx.commands.push(args);
                tx.slot = tx.slot.or(slot);
            }
            Reply::Status(Bytes::from_static(b"QUEUED"))
        }
        Err(e) => {
            tx.aborted = true;
            e
        }
    }
}

/// Whether a WATCHed key already changed (as seen on this node): EXEC
/// will answer nil whatever follows, as in Redis once a watched key was
/// touched. Read on the connection, without a Raft round: a change this
/// node has not applied yet is found by EXEC's apply instead.
fn watch_touched(session: &Session, node: &Node) -> bool {
    let now = crate::clock::now_ms();
    session
        .watched
        .iter()
        .any(|w| w.changed(&node.engine, now).unwrap_or(false))
}

/// The row of a queued command (validated when queued).
fn spec_of(args: &[Bytes]) -> Option<&'static cmd::CommandSpec> {
    cmd::lookup(&args[0]).map(|top| cmd::table::resolve_subcommand(top, args))
}

/// EXEC: one proposal to the shard of the block's slot, or, for a block
/// without keys, every command on the connection. See [`cmd::multi`].
fn exec(session: &mut Session, node: &Node) -> Outcome {
    let tx = session.tx.take().unwrap_or_default();
    let watched = std::mem::take(&mut session.watched);
    // Redis's order: the cluster check over the kept commands (CROSSSLOT,
    // a slot served elsewhere), then EXECABORT, then a touched WATCH.
    let mut slot = None;
    for args in &tx.commands {
        let Some(spec) = spec_of(args) else { continue };
        for i in spec.key_indexes(args) {
            let s = key_slot(&args[i]);
            match slot {
                None => slot = Some(s),
                Some(prev) if prev != s => return Outcome::Reply(err_crossslot()),
                Some(_) => {}
            }
        }
    }
    if let Some(slot) = slot {
        let shard = node.slots.read().shard_of(slot);
        match shard {
            None => return Outcome::Reply(Reply::error("CLUSTERDOWN Hash slot not served")),
            Some(shard) if !node.raft.is_leader(shard) => {
                return Outcome::Reply(redirect(node, shard, slot))
            }
            Some(_) => {}
        }
    }
    if tx.aborted {
        return Outcome::Reply(cmd::multi::err_execabort());
    }
    if tx.touched {
        return Outcome::Reply(Reply::NullArray);
    }
    let Some(slot) = slot.or_else(|| watched.first().map(|w| key_slot(&w.key))) else {
        // No keys at all: nothing to make atomic with the keyspace.
        let replies = tx
            .commands
            .into_iter()
            .map(|args| match run(session, node, args, false) {
                Outcome::Reply(r) => r,
                _ => Reply::error("ERR command not supported inside MULTI by redraft"),
            })
            .collect();
        return Outcome::Reply(Reply::Array(replies));
    };
    let shard_of = |s: Slot| node.slots.read().shard_of(s);
    let Some(shard) = shard_of(slot) else {
        return Outcome::Reply(Reply::error("CLUSTERDOWN Hash slot not served"));
    };
    if watched
        .iter()
        .any(|w| shard_of(key_slot(&w.key)) != Some(shard))
    {
        return Outcome::Reply(err_crossslot());
    }
    if !node.raft.is_leader(shard) {
        return Outcome::Reply(redirect(node, shard, slot));
    }
    let total = tx.commands.len();
    let mut proposed = Vec::new();
    let mut local = Vec::new();
    for (i, args) in tx.commands.into_iter().enumerate() {
        match spec_of(&args).map(|s| s.handler) {
            Some(Handler::Write { check, .. }) => match check(&args) {
                Ok(()) => proposed.push(args),
                Err(e) => local.push((i, e)),
            },
            Some(Handler::Read(_)) => proposed.push(args),
            _ => {
                let reply = match run(session, node, args, false) {
                    Outcome::Reply(r) => r,
                    _ => Reply::error("ERR command not supported inside MULTI by redraft"),
                };
                local.push((i, reply));
            }
        }
    }
    if proposed.is_empty() && watched.is_empty() {
        return Outcome::Reply(cmd::multi::splice(Vec::new(), local, total));
    }
    let data = Proposal::transaction(proposed, watched).encode();
    Outcome::Pending(PendingWrite {
        rxs: vec![node.raft.propose(shard, data)],
        slot,
        splice: Some((local, total)),
    })
}

/// WATCH outside MULTI: routed like a read of its keys (this node must
/// lead their shard), then each key's state is recorded in the session.
fn watch(session: &mut Session, node: &Node, args: Vec<Bytes>, confirmed: bool) -> Outcome {
    let route = match prepare(session, node, &args) {
        Ok(r) => r,
        Err(e) => return Outcome::Reply(e),
    };
    match route.shard {
        Target::Shard(s) => {
            if !(confirmed || node.raft.lease_read_ok(s)) {
                if node.raft.is_leader(s) {
                    return Outcome::ReadIndex(node.raft.read_index(s), args);
                }
                return Outcome::Reply(redirect(node, s, route.slot));
            }
        }
        _ => return Outcome::Reply(Reply::error("CLUSTERDOWN Hash slot not served")),
    }
    let now = crate::clock::now_ms();
    // Read before the keys: a write racing with this read can only make
    // EXEC abort, never let a change pass.
    let since = match route.shard {
        Target::Shard(s) => crate::apply::read_applied(&node.engine, s),
        _ => 0,
    };
    for i in route.spec.key_indexes(&args) {
        match crate::keyspace::Watch::read(&node.engine, &args[i], now, since) {
            Ok(w) => {
                if !session.watched.iter().any(|x| x.key == w.key) {
                    session.watched.push(w);
                }
            }
            Err(e) => return Outcome::Reply(e.into()),
        }
    }
    Outcome::Reply(Reply::ok())
}

struct Route {
    spec: &'static cmd::CommandSpec,
    shard: Target,
    slot: Slot,
    /// Whether the command names keys (and so belongs to one slot).
    keyed: bool,
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
        keyed: slot.is_some(),
        slot: slot.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    //! MULTI/EXEC/WATCH as Redis 7.0 answers them (each expectation was
    //! checked against redis-server 7.0.15 in cluster mode).

    use std::time::{Duration, Instant};

    use redraft_resp::Reply;

    use crate::cmd::server::testing::TestNode;

    fn err(text: &str) -> Reply {
        Reply::error(text)
    }

    fn queued() -> Reply {
        Reply::status("QUEUED")
    }

    const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
    const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";

    #[test]
    fn exec_with_wrong_arity_discards_the_transaction() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let abort = err(
            "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' \
             command",
        );
        assert_eq!(t.call(&mut s, &["EXEC", "extra"]), abort);
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["SET", "{t}k", "1"]), queued());
        assert_eq!(t.call(&mut s, &["EXEC", "extra"]), abort);
        assert_eq!(t.call(&mut s, &["EXEC"]), err("ERR EXEC without MULTI"));
        assert_eq!(t.call(&mut s, &["GET", "{t}k"]), Reply::Null, "not run");
        // It also forgets the WATCHed keys.
        assert_eq!(t.call(&mut s, &["WATCH", "{t}k"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["EXEC", "extra"]), abort);
        assert_eq!(t.call(&mut s, &["SET", "{t}k", "2"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["PING"]), queued());
        assert_eq!(
            t.call(&mut s, &["EXEC"]),
            Reply::Array(vec![Reply::status("PONG")])
        );
    }

    #[test]
    fn wrong_arity_of_commands_run_inside_multi_flags_the_transaction() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        for bad in [&["DISCARD", "x"][..], &["MULTI", "x"], &["WATCH"]] {
            assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
            let name = bad[0].to_ascii_lowercase();
            assert_eq!(
                t.call(&mut s, bad),
                err(&format!(
                    "ERR wrong number of arguments for '{name}' command"
                ))
            );
            assert_eq!(t.call(&mut s, &["PING"]), queued());
            assert_eq!(t.call(&mut s, &["EXEC"]), err(EXECABORT), "{bad:?}");
        }
        // Their own errors do not flag it.
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(
            t.call(&mut s, &["MULTI"]),
            err("ERR MULTI calls can not be nested")
        );
        assert_eq!(
            t.call(&mut s, &["WATCH", "x"]),
            err("ERR WATCH inside MULTI is not allowed")
        );
        assert_eq!(t.call(&mut s, &["PING"]), queued());
        assert_eq!(
            t.call(&mut s, &["EXEC"]),
            Reply::Array(vec![Reply::status("PONG")])
        );
    }

    #[test]
    fn bad_key_counts_are_queued_and_fail_inside_exec() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let numkeys = || err("ERR numkeys should be greater than 0");
        let syntax = || err("ERR syntax error");
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        for c in [
            &["LMPOP", "0", "{t}k", "LEFT"][..],
            &["ZUNIONSTORE", "{t}d", "abc", "{t}k"],
            &["ZDIFFSTORE", "{t}d", "2", "{t}k"],
            &["ZMPOP", "0", "{t}k", "MIN"],
            &["BZMPOP", "0", "0", "{t}k", "MIN"],
            &["BLMPOP", "0", "5", "{t}k", "LEFT"],
        ] {
            assert_eq!(t.call(&mut s, c), queued(), "{c:?}");
        }
        assert_eq!(
            t.call(&mut s, &["EXEC"]),
            Reply::Array(vec![
                numkeys(),
                err("ERR value is not an integer or out of range"),
                syntax(),
                numkeys(),
                numkeys(),
                syntax(),
            ])
        );
        // With keys in the block too.
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["SET", "{t}k", "v"]), queued());
        assert_eq!(t.call(&mut s, &["LMPOP", "0", "{t}k", "LEFT"]), queued());
        assert_eq!(
            t.call(&mut s, &["EXEC"]),
            Reply::Array(vec![Reply::ok(), numkeys()])
        );
    }

    #[test]
    fn exec_checks_slots_of_kept_commands_before_execabort() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        // Queued before the error: kept, and they span two slots.
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["GET", "{t}a"]), queued());
        assert_eq!(t.call(&mut s, &["SET", "foo", "x"]), queued());
        assert_eq!(
            t.call(&mut s, &["ZCOUNT"]),
            err("ERR wrong number of arguments for 'zcount' command")
        );
        assert_eq!(t.call(&mut s, &["EXEC"]), err(CROSSSLOT));
        // Queued after it: not kept.
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(
            t.call(&mut s, &["ZCOUNT"]),
            err("ERR wrong number of arguments for 'zcount' command")
        );
        assert_eq!(t.call(&mut s, &["GET", "{t}a"]), queued());
        assert_eq!(t.call(&mut s, &["SET", "foo", "x"]), queued());
        assert_eq!(t.call(&mut s, &["EXEC"]), err(EXECABORT));
        // After a WATCHed key changed: not kept either, EXEC is nil.
        assert_eq!(t.call(&mut s, &["WATCH", "{t}k"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["SET", "{t}k", "v"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["GET", "{t}k"]), queued());
        assert_eq!(t.call(&mut s, &["GET", "foo"]), queued());
        assert_eq!(t.call(&mut s, &["EXEC"]), Reply::NullArray);
        assert_eq!(t.call(&mut s, &["GET", "foo"]), Reply::Null, "not run");
        // Unwatched, the same block is CROSSSLOT.
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["GET", "{t}k"]), queued());
        assert_eq!(t.call(&mut s, &["GET", "foo"]), queued());
        assert_eq!(t.call(&mut s, &["EXEC"]), err(CROSSSLOT));
    }

    /// Waits (bounded) until `key` no longer exists.
    fn wait_gone(t: &TestNode, s: &mut crate::session::Session, key: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while t.call(s, &["EXISTS", key]) != Reply::Integer(0) {
            assert!(Instant::now() < deadline, "{key} never expired");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn watched_stale_key_written_and_deleted_fails_exec() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        assert_eq!(
            t.call(&mut s, &["SET", "{t}k", "v", "PX", "1"]),
            Reply::ok()
        );
        wait_gone(&t, &mut s, "{t}k");
        assert_eq!(t.call(&mut s, &["WATCH", "{t}k"]), Reply::ok());
        assert_eq!(
            t.call(&mut s, &["ZADD", "{t}k", "0", "a"]),
            Reply::Integer(1)
        );
        assert_eq!(t.call(&mut s, &["DEL", "{t}k"]), Reply::Integer(1));
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["PING"]), queued());
        assert_eq!(t.call(&mut s, &["EXEC"]), Reply::NullArray);
    }

    /// Redis: "Delete WATCHed stale keys should not fail EXEC".
    #[test]
    fn delete_watched_stale_keys_should_not_fail_exec() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        assert_eq!(
            t.call(&mut s, &["SET", "{t}k", "v", "PX", "1"]),
            Reply::ok()
        );
        wait_gone(&t, &mut s, "{t}k");
        assert_eq!(t.call(&mut s, &["WATCH", "{t}k"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["DEL", "{t}k"]), Reply::Integer(0));
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["PING"]), queued());
        assert_eq!(
            t.call(&mut s, &["EXEC"]),
            Reply::Array(vec![Reply::status("PONG")])
        );
        // Nor does deleting another key of the slot written before.
        assert_eq!(t.call(&mut s, &["SET", "{t}o", "v"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["WATCH", "{t}k"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["DEL", "{t}o"]), Reply::Integer(1));
        assert_eq!(t.call(&mut s, &["MULTI"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["PING"]), queued());
        assert_eq!(
            t.call(&mut s, &["EXEC"]),
            Reply::Array(vec![Reply::status("PONG")])
        );
    }
}
