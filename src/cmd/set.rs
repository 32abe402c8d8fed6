//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
//! SRANDMEMBER, SMOVE, SINTER/SUNION/SDIFF and their STORE forms,
//! SINTERCARD, SSCAN.
//!
//! Thin adapters over [`crate::keyspace::set`]. A write's `check` rejects
//! what Redis rejects before looking at the key (SPOP's count), so a
//! syntax error costs no proposal. SPOP draws from the proposal-seeded rng,
//! so every replica pops the same members; SRANDMEMBER is a read and draws
//! from the thread's rng.
//!
//! CAVEATS (intended deviations from Redis 7.0):
//! - Members come back in byte order, not hash-table order (Redis leaves
//!   the order unspecified).
//! - SSCAN answers every matching member in one page with cursor 0 (what
//!   Redis does for small sets), whatever the cursor and COUNT.
//! - SRANDMEMBER with a negative count beyond 2^22 answers
//!   `ERR count is too large` instead of building a reply that size.

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::{is, parse_i64, scan_cursor, scan_options};
use super::error::{err_not_integer, err_syntax, reply};
use super::flags::*;
use super::{no_check, ApplyCtx, CommandSpec, ReadCtx};
use crate::keyspace::set::{self as sets, Op};

const GROUP: &str = "set";
const W_FAST: &[&str] = &["write", "set", "fast"];
const W_SLOW: &[&str] = &["write", "set", "slow"];
const R_FAST: &[&str] = &["read", "set", "fast"];
const R_SLOW: &[&str] = &["read", "set", "slow"];
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);
const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const UNION_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::write("sadd", -3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, no_check, sadd).doc(
        GROUP,
        "Add one or more members to a set",
        "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
    ),
    CommandSpec::write("srem", -3, &[WRITE, FAST], ONE_KEY, W_FAST, no_check, srem).doc(
        GROUP,
        "Remove one or more members from a set",
        "1.0.0",
        "O(N) where N is the number of members to be removed.",
    ),
    CommandSpec::read("smembers", 2, &[READONLY], ONE_KEY, R_SLOW, smembers).doc(
        GROUP,
        "Get all the members in a set",
        "1.0.0",
        "O(N) where N is the set cardinality.",
    ),
    CommandSpec::read("sismember", 3, &[READONLY, FAST], ONE_KEY, R_FAST, sismember).doc(
        GROUP,
        "Determine if a given value is a member of a set",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::read("smismember", -3, &[READONLY, FAST], ONE_KEY, R_FAST, smismember).doc(
        GROUP,
        "Returns the membership associated with the given elements for a set",
        "6.2.0",
        "O(N) where N is the number of elements being checked for membership",
    ),
    CommandSpec::read("scard", 2, &[READONLY, FAST], ONE_KEY, R_FAST, scard).doc(
        GROUP,
        "Get the number of members in a set",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::write("spop", -2, &[WRITE, FAST], ONE_KEY, W_FAST, check_spop, spop).doc(
        GROUP,
        "Remove and return one or multiple random members from a set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
    ),
    CommandSpec::read("srandmember", -2, &[READONLY], ONE_KEY, R_SLOW, srandmember).doc(
        GROUP,
        "Get one or multiple random members from a set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
    ),
    CommandSpec::write("smove", 4, &[WRITE, FAST], (1, 2, 1), W_FAST, no_check, smove).doc(
        GROUP,
        "Move a member from one set to another",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::read("sinter", -2, &[READONLY], ALL_KEYS, R_SLOW, sinter).doc(
        GROUP,
        "Intersect multiple sets",
        "1.0.0",
        INTER_COMPLEXITY,
    ),
    CommandSpec::read("sunion", -2, &[READONLY], ALL_KEYS, R_SLOW, sunion).doc(
        GROUP,
        "Add multiple sets",
        "1.0.0",
        UNION_COMPLEXITY,
    ),
    CommandSpec::read("sdiff", -2, &[READONLY], ALL_KEYS, R_SLOW, sdiff).doc(
        GROUP,
        "Subtract multiple sets",
        "1.0.0",
        UNION_COMPLEXITY,
    ),
    CommandSpec::write("sinterstore", -3, &[WRITE, DENYOOM], ALL_KEYS, W_SLOW, no_check, sinterstore).doc(
        GROUP,
        "Intersect multiple sets and store the resulting set in a key",
        "1.0.0",
        INTER_COMPLEXITY,
    ),
    CommandSpec::write("sunionstore", -3, &[WRITE, DENYOOM], ALL_KEYS, W_SLOW, no_check, sunionstore).doc(
        GROUP,
        "Add multiple sets and store the resulting set in a key",
        "1.0.0",
        UNION_COMPLEXITY,
    ),
    CommandSpec::write("sdiffstore", -3, &[WRITE, DENYOOM], ALL_KEYS, W_SLOW, no_check, sdiffstore).doc(
        GROUP,
        "Subtract multiple sets and store the resulting set in a key",
        "1.0.0",
        UNION_COMPLEXITY,
    ),
    CommandSpec::read("sintercard", -3, &[READONLY, MOVABLEKEYS], (0, 0, 0), R_SLOW, sintercard)
        .with_key_finder(sintercard_keys)
        .doc(
            GROUP,
            "Intersect multiple sets and return the cardinality of the result",
            "7.0.0",
            INTER_COMPLEXITY,
        ),
    CommandSpec::read("sscan", -3, &[READONLY], ONE_KEY, R_SLOW, sscan).doc(
        GROUP,
        "Incrementally iterate Set elements",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    ),
];

fn kv<'a>(ctx: &ReadCtx<'a>) -> &'a dyn crate::keyspace::KvRead {
    ctx.kv
}

fn bulks(members: Vec<Vec<u8>>) -> Vec<Reply> {
    members.into_iter().map(Reply::bulk).collect()
}

fn sadd(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let version = ctx.new_version();
    reply(
        sets::add(ctx.ov, &args[1], &args[2..], ctx.now_ms, version),
        |n| Reply::Integer(n as i64),
    )
}

fn srem(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    reply(
        sets::remove(ctx.ov, &args[1], &args[2..], ctx.now_ms),
        |n| Reply::Integer(n as i64),
    )
}

fn smembers(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(sets::members(kv(ctx), &args[1], ctx.now_ms), |m| {
        Reply::Set(bulks(m))
    })
}

fn sismember(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(
        sets::are_members(kv(ctx), &args[1], &args[2..3], ctx.now_ms),
        |v| Reply::Integer(i64::from(v[0])),
    )
}

fn smismember(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(
        sets::are_members(kv(ctx), &args[1], &args[2..], ctx.now_ms),
        |v| {
            Reply::Array(
                v.into_iter()
                    .map(|b| Reply::Integer(i64::from(b)))
                    .collect(),
            )
        },
    )
}

fn scard(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(sets::card(kv(ctx), &args[1], ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

/// SPOP's count: absent, or a non-negative integer.
fn spop_count(args: &[Bytes]) -> Result<Option<u64>, Reply> {
    match args.len() {
        2 => Ok(None),
        3 => match parse_i64(&args[2]) {
            Some(n) if n >= 0 => Ok(Some(n as u64)),
            _ => Err(Reply::error("ERR value is out of range, must be positive")),
        },
        _ => Err(err_syntax()),
    }
}

fn check_spop(args: &[Bytes]) -> Result<(), Reply> {
    spop_count(args).map(|_| ())
}

fn spop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let count = match spop_count(args) {
        Ok(c) => c,
        Err(e) => return e,
    };
    reply(
        sets::pop(ctx.ov, &args[1], count, ctx.now_ms, ctx.rng),
        |popped| match (count, popped) {
            (None, None) => Reply::Null,
            (None, Some(mut m)) => m.pop().map_or(Reply::Null, Reply::bulk),
            (Some(_), m) => Reply::Set(bulks(m.unwrap_or_default())),
        },
    )
}

fn srandmember(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let count = match args.len() {
        2 => None,
        3 => match parse_i64(&args[2]) {
            Some(i64::MIN) => {
                return Reply::error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                )
            }
            Some(n) => Some(n),
            None => return err_not_integer(),
        },
        _ => return err_syntax(),
    };
    reply(
        sets::random_members(kv(ctx), &args[1], count, ctx.now_ms, &mut rand::rng()),
        |m| match (count, m) {
            (None, None) => Reply::Null,
            (None, Some(mut m)) => m.pop().map_or(Reply::Null, Reply::bulk),
            (Some(_), m) => Reply::Array(bulks(m.unwrap_or_default())),
        },
    )
}

fn smove(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let version = ctx.new_version();
    reply(
        sets::smove(ctx.ov, &args[1], &args[2], &args[3], ctx.now_ms, version),
        |moved| Reply::Integer(i64::from(moved)),
    )
}

fn algebra(ctx: &ReadCtx<'_>, keys: &[Bytes], op: Op) -> Reply {
    reply(sets::combine(kv(ctx), keys, op, ctx.now_ms, None), |m| {
        Reply::Set(bulks(m))
    })
}

fn sinter(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    algebra(ctx, &args[1..], Op::Inter)
}

fn sunion(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    algebra(ctx, &args[1..], Op::Union)
}

fn sdiff(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    algebra(ctx, &args[1..], Op::Diff)
}

fn algebra_store(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], op: Op) -> Reply {
    let version = ctx.new_version();
    let result = sets::combine(&*ctx.ov, &args[2..], op, ctx.now_ms, None)
        .and_then(|m| sets::store(ctx.ov, &args[1], &m, ctx.now_ms, version));
    reply(result, |n| Reply::Integer(n as i64))
}

fn sinterstore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    algebra_store(ctx, args, Op::Inter)
}

fn sunionstore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    algebra_store(ctx, args, Op::Union)
}

fn sdiffstore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    algebra_store(ctx, args, Op::Diff)
}

/// SINTERCARD's numkeys, checked against the argument count.
fn sintercard_numkeys(args: &[Bytes]) -> Result<usize, Reply> {
    let n = match parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if n > (args.len() - 2) as u64 {
        return Err(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(n as usize)
}

fn sintercard_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() < 3 {
        return Vec::new();
    }
    sintercard_numkeys(args).map_or_else(|_| Vec::new(), |n| (2..2 + n).collect())
}

fn sintercard(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let n = match sintercard_numkeys(args) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let mut limit = 0;
    let mut i = 2 + n;
    while i < args.len() {
        if is(&args[i], "LIMIT") && i + 1 < args.len() {
            limit = match parse_i64(&args[i + 1]) {
                Some(l) if l >= 0 => l as u64,
                _ => return Reply::error("ERR LIMIT can't be negative"),
            };
            i += 2;
        } else {
            return err_syntax();
        }
    }
    let limit = (limit > 0).then_some(limit);
    reply(
        sets::combine(kv(ctx), &args[2..2 + n], Op::Inter, ctx.now_ms, limit),
        |m| Reply::Integer(m.len() as i64),
    )
}

fn empty_scan() -> Reply {
    Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())])
}

fn sscan(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    if scan_cursor(&args[2]).is_none() {
        return Reply::error("ERR invalid cursor");
    }
    // Redis looks the key up before it parses the options.
    match sets::read(kv(ctx), &args[1], ctx.now_ms) {
        Err(e) => return e.into(),
        Ok(None) => return empty_scan(),
        Ok(Some(_)) => {}
    }
    let (pattern, _count) = match scan_options(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    reply(sets::scan(kv(ctx), &args[1], pattern, ctx.now_ms), |m| {
        Reply::Array(vec![Reply::bulk("0"), Reply::Array(bulks(m))])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn spop_count_rules() {
        assert_eq!(spop_count(&args(&["spop", "s"])).unwrap(), None);
        assert_eq!(spop_count(&args(&["spop", "s", "3"])).unwrap(), Some(3));
        let out_of_range = Reply::error("ERR value is out of range, must be positive");
        assert_eq!(
            spop_count(&args(&["spop", "s", "-1"])).unwrap_err(),
            out_of_range
        );
        assert_eq!(
            spop_count(&args(&["spop", "s", "x"])).unwrap_err(),
            out_of_range
        );
        assert_eq!(
            spop_count(&args(&["spop", "s", "1", "2"])).unwrap_err(),
            err_syntax()
        );
    }

    #[test]
    fn sintercard_key_finder() {
        assert_eq!(
            sintercard_keys(&args(&["sintercard", "2", "a", "b", "LIMIT", "1"])),
            vec![2, 3]
        );
        assert!(sintercard_keys(&args(&["sintercard", "0", "a"])).is_empty());
        assert!(sintercard_keys(&args(&["sintercard", "3", "a", "b"])).is_empty());
        assert!(sintercard_keys(&args(&["sintercard", "x", "a"])).is_empty());
    }
}
