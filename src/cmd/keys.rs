//! Generic key commands: DEL, EXISTS, EXPIRE, TTL, SCAN, …

use bytes::Bytes;
use redraft_resp::Reply;

use super::flags::*;
use super::{ApplyCtx, CommandSpec, Handler};
use crate::keyspace;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "del",
    -2,
    &[WRITE],
    (1, -1, 1),
    &["keyspace", "write", "slow"],
    Handler::Write {
        check: |_| Ok(()),
        apply: del,
    },
)
.doc(
    "generic",
    "Deletes one or more keys.",
    "1.0.0",
    "O(N) where N is the number of keys that will be removed.",
)];

fn del(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let mut n = 0;
    for key in &args[1..] {
        match keyspace::delete_key(ctx.ov, key, ctx.now_ms) {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => return e.into(),
        }
    }
    Reply::Integer(n)
}
