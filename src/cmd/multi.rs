//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! While a MULTI block is open, [`crate::dispatch`] validates each command
//! (name, arity, CROSSSLOT, this node leading the slot) and queues it; a
//! failure flags the block and EXEC answers EXECABORT, as in Redis. So do
//! MULTI, DISCARD and WATCH refused there (wrong arity), and an EXEC
//! refused anywhere discards the block and the WATCHes with an EXECABORT
//! that says why. As in Redis, once the block is flagged, or a WATCHed key
//! is seen changed, later commands are answered but not kept: EXEC's
//! cluster check (CROSSSLOT, MOVED) covers the kept ones, before its
//! EXECABORT (or nil). A command whose arguments yield no keys (a bad
//! numkeys) is queued, and answers its own error in EXEC's array.
//!
//! EXEC turns the block into **one** Raft proposal to the shard owning the
//! block's slot (the slot of its keys, else of its WATCHed keys): every
//! keyspace command, reads included, with the watched keys' states. Apply
//! checks the watched keys, then runs the commands in order over one
//! overlay, so a read sees the block's earlier writes, and nothing else
//! runs in between on any replica.
//!
//! Not keyspace commands (PING, ECHO, CLIENT …, `Node` handlers) run on
//! the connection when EXEC is received, before the proposal, and their
//! replies take their places in EXEC's array; they run even when a
//! watched key aborts the block. A write's argument check (syntax errors)
//! also runs then: its error takes the command's place and the command is
//! not proposed (nothing is lost: it would have failed at apply).
//!
//! Not supported inside MULTI: keyless writes (FLUSHALL, FLUSHDB: they
//! span every shard), rejected when queued; keyless reads over the served
//! slots (KEYS, SCAN, RANDOMKEY, DBSIZE) and reads that need the node's
//! settings (LCS, OBJECT FREQ/IDLETIME/REFCOUNT) answer an error in
//! EXEC's array when the block has keys (a block without any keys runs
//! entirely on the connection, where they work).
//!
//! WATCH records each key's modification stamp (see [`crate::keyspace`])
//! and the shard's applied index, read on the shard's leader (lease or
//! ReadIndex, like a read).

use bytes::Bytes;
use redraft_resp::Reply;

use super::flags::*;
use super::{CommandSpec, Handler};
use crate::node::Node;
use crate::session::{Session, Transaction};

const TX_FLAGS: &[&str] = &[NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY];
const TX_ACL: &[&str] = &["fast", "transaction"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "multi",
        1,
        TX_FLAGS,
        (0, 0, 0),
        TX_ACL,
        Handler::Node(multi),
    )
    .doc(
        "transactions",
        "Mark the start of a transaction block",
        "1.2.0",
        "O(1)",
    ),
    CommandSpec::new(
        "exec",
        1,
        &[NOSCRIPT, LOADING, STALE, SKIP_SLOWLOG],
        (0, 0, 0),
        &["slow", "transaction"],
        Handler::Node(exec_without_multi),
    )
    .doc(
        "transactions",
        "Execute all commands issued after MULTI",
        "1.2.0",
        "Depends on commands in the transaction",
    ),
    CommandSpec::new(
        "discard",
        1,
        TX_FLAGS,
        (0, 0, 0),
        TX_ACL,
        Handler::Node(discard),
    )
    .doc(
        "transactions",
        "Discard all commands issued after MULTI",
        "2.0.0",
        "O(N), when N is the number of queued commands",
    ),
    CommandSpec::new(
        "watch",
        -2,
        TX_FLAGS,
        (1, -1, 1),
        TX_ACL,
        Handler::Node(watch_in_multi),
    )
    .doc(
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "2.2.0",
        "O(1) for every key.",
    ),
    CommandSpec::new(
        "unwatch",
        1,
        TX_FLAGS,
        (0, 0, 0),
        TX_ACL,
        Handler::Node(unwatch),
    )
    .doc(
        "transactions",
        "Forget about all watched keys",
        "2.2.0",
        "O(1)",
    ),
];

/// The reply to EXEC when a command failed to queue.
pub fn err_execabort() -> Reply {
    Reply::error("EXECABORT Transaction discarded because of previous errors.")
}

/// The reply to an EXEC refused before it runs (wrong arity, NOAUTH): the
/// block is discarded, and the error says why, without its `ERR ` prefix
/// (Redis's `execCommandAbort`).
pub fn err_execabort_because(e: &Reply) -> Reply {
    let why = match e {
        Reply::Error(text) => text.strip_prefix("ERR ").unwrap_or(text),
        _ => "",
    };
    Reply::error(format!("EXECABORT Transaction discarded because of: {why}"))
}

fn multi(session: &mut Session, _node: &Node, _args: &[Bytes]) -> Reply {
    if session.tx.is_some() {
        return Reply::error("ERR MULTI calls can not be nested");
    }
    session.tx = Some(Transaction::default());
    Reply::ok()
}

/// EXEC reaches its handler only outside MULTI: dispatch runs a block.
fn exec_without_multi(_session: &mut Session, _node: &Node, _args: &[Bytes]) -> Reply {
    Reply::error("ERR EXEC without MULTI")
}

fn discard(session: &mut Session, _node: &Node, _args: &[Bytes]) -> Reply {
    if session.tx.take().is_none() {
        return Reply::error("ERR DISCARD without MULTI");
    }
    session.watched.clear();
    Reply::ok()
}

/// WATCH reaches its handler only inside MULTI: dispatch runs it outside.
fn watch_in_multi(_session: &mut Session, _node: &Node, _args: &[Bytes]) -> Reply {
    Reply::error("ERR WATCH inside MULTI is not allowed")
}

fn unwatch(session: &mut Session, _node: &Node, _args: &[Bytes]) -> Reply {
    session.watched.clear();
    Reply::ok()
}

/// Puts the locally answered replies of a block (`local`: position and
/// reply, ascending) among the replies of its proposal (`proposed`, in
/// order): `total` replies in all.
pub fn splice(proposed: Vec<Reply>, local: Vec<(usize, Reply)>, total: usize) -> Reply {
    let mut out = Vec::with_capacity(total);
    let mut proposed = proposed.into_iter();
    let mut local = local.into_iter().peekable();
    for i in 0..total {
        match local.next_if(|(j, _)| *j == i) {
            Some((_, r)) => out.push(r),
            None => out.push(proposed.next().unwrap_or(Reply::Null)),
        }
    }
    Reply::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_keeps_command_order() {
        let r = splice(
            vec![Reply::Integer(1), Reply::Integer(2)],
            vec![(0, Reply::bulk("a")), (2, Reply::bulk("b"))],
            4,
        );
        assert_eq!(
            r,
            Reply::Array(vec![
                Reply::bulk("a"),
                Reply::Integer(1),
                Reply::bulk("b"),
                Reply::Integer(2)
            ])
        );
    }
}
