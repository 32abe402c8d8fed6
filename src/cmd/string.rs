//! String commands: GET, SET and friends.

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::{int, is, ArgCursor};
use super::error::{err_syntax, reply};
use super::flags::*;
use super::{ApplyCtx, CommandSpec, Handler, ReadCtx};
use crate::keyspace;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, &[READONLY, FAST], (1, 1, 1), &["read", "string", "fast"], Handler::Read(get))
        .doc("string", "Returns the string value of a key.", "1.0.0", "O(1)"),
    CommandSpec::new(
        "set",
        -3,
        &[WRITE, DENYOOM],
        (1, 1, 1),
        &["write", "string", "slow"],
        Handler::Write { check: |a| SetOptions::parse(a).map(|_| ()), apply: set },
    )
    .doc(
        "string",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        "1.0.0",
        "O(1)",
    ),
];

fn get(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(
        keyspace::get_string(
            ctx.node.engine.as_ref() as &dyn crate::engine::Engine,
            &args[1],
            ctx.now_ms,
        ),
        |v| match v {
            Some(v) => Reply::bulk(v),
            None => Reply::Null,
        },
    )
}

/// SET's options.
#[derive(Default)]
struct SetOptions {
    /// Relative (EX/PX) or absolute (EXAT/PXAT) expiry, in milliseconds.
    expire: Option<Expire>,
    nx: bool,
    xx: bool,
    keepttl: bool,
    get: bool,
}

#[derive(Clone, Copy)]
enum Expire {
    In(i64),
    At(i64),
}

impl SetOptions {
    fn parse(args: &[Bytes]) -> Result<SetOptions, Reply> {
        let mut o = SetOptions::default();
        let mut cur = ArgCursor::new(args, 3);
        while let Some(a) = cur.next() {
            if is(a, "NX") && !o.xx {
                o.nx = true;
            } else if is(a, "XX") && !o.nx {
                o.xx = true;
            } else if is(a, "GET") {
                o.get = true;
            } else if is(a, "KEEPTTL") && o.expire.is_none() {
                o.keepttl = true;
            } else if (is(a, "EX") || is(a, "PX") || is(a, "EXAT") || is(a, "PXAT"))
                && o.expire.is_none()
                && !o.keepttl
            {
                let n = int(cur.value()?)?;
                if n <= 0 {
                    return Err(Reply::error("ERR invalid expire time in 'set' command"));
                }
                let ms = if is(a, "EX") || is(a, "EXAT") {
                    n.checked_mul(1000)
                } else {
                    Some(n)
                };
                let ms =
                    ms.ok_or_else(|| Reply::error("ERR invalid expire time in 'set' command"))?;
                o.expire = Some(if is(a, "EX") || is(a, "PX") {
                    Expire::In(ms)
                } else {
                    Expire::At(ms)
                });
            } else {
                return Err(err_syntax());
            }
        }
        Ok(o)
    }
}

fn set(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let o = match SetOptions::parse(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let key = &args[1];
    let old = match keyspace::read_meta(&*ctx.ov, key, ctx.now_ms) {
        Ok(m) => m,
        Err(e) => return e.into(),
    };
    if o.get {
        if let Some(m) = &old {
            if m.ty != keyspace::KeyType::String {
                return super::error::err_wrong_type();
            }
        }
    }
    let old_value = old.as_ref().map(|m| m.payload.clone());
    let exists = old.is_some();
    if (o.nx && exists) || (o.xx && !exists) {
        return if o.get {
            old_value.map_or(Reply::Null, Reply::bulk)
        } else {
            Reply::Null
        };
    }
    let expire_at = match o.expire {
        Some(Expire::In(ms)) => ctx.now_ms as i64 + ms,
        Some(Expire::At(ms)) => ms,
        None if o.keepttl => old.as_ref().map_or(0, |m| m.expire_at_ms as i64),
        None => 0,
    };
    keyspace::set_string(ctx.ov, key, args[2].to_vec(), expire_at.max(0) as u64);
    if o.get {
        old_value.map_or(Reply::Null, Reply::bulk)
    } else {
        Reply::ok()
    }
}
