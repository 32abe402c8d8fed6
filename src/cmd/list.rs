//! List commands: LPUSH/RPUSH(X), LPOP/RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP.
//!
//! Thin adapters over [`crate::keyspace::list`]. What Redis rejects before
//! looking at the key (malformed counts, directions, options) is rejected
//! in `check`, so it costs no proposal, and again in `apply` (the same
//! parser), which keeps apply self-contained. LINDEX and LSET read the key
//! before parsing the index, as Redis does, so a missing key wins over a
//! malformed index.
//!
//! The blocking variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) pop
//! like their plain forms at apply, or answer the would-block marker; the
//! connection waits and retries (see [`crate::blocking`]).

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::{int, is, parse_i64, ArgCursor};
use super::error::{err_syntax, reply};
use super::flags::*;
use super::{no_check, ApplyCtx, CommandSpec, ReadCtx};
use crate::blocking::{check_timeout, would_block};
use crate::keyspace::list::{self as lists, End};
use crate::keyspace::KsError;

const GROUP: &str = "list";
const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const W_FAST: &[&str] = &["write", "list", "fast"];
const W_SLOW: &[&str] = &["write", "list", "slow"];
const R_FAST: &[&str] = &["read", "list", "fast"];
const R_SLOW: &[&str] = &["read", "list", "slow"];
const W_BLOCK: &[&str] = &["write", "list", "slow", "blocking"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::write("lpush", -3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, no_check, lpush).doc(
        GROUP,
        "Prepend one or multiple elements to a list",
        "1.0.0",
        PUSH_COMPLEXITY,
    ),
    CommandSpec::write("rpush", -3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, no_check, rpush).doc(
        GROUP,
        "Append one or multiple elements to a list",
        "1.0.0",
        PUSH_COMPLEXITY,
    ),
    CommandSpec::write("lpushx", -3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, no_check, lpushx).doc(
        GROUP,
        "Prepend an element to a list, only if the list exists",
        "2.2.0",
        PUSH_COMPLEXITY,
    ),
    CommandSpec::write("rpushx", -3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, no_check, rpushx).doc(
        GROUP,
        "Append an element to a list, only if the list exists",
        "2.2.0",
        PUSH_COMPLEXITY,
    ),
    CommandSpec::write("lpop", -2, &[WRITE, FAST], ONE_KEY, W_FAST, check_pop, lpop).doc(
        GROUP,
        "Remove and get the first elements in a list",
        "1.0.0",
        "O(N) where N is the number of elements returned",
    ),
    CommandSpec::write("rpop", -2, &[WRITE, FAST], ONE_KEY, W_FAST, check_pop, rpop).doc(
        GROUP,
        "Remove and get the last elements in a list",
        "1.0.0",
        "O(N) where N is the number of elements returned",
    ),
    CommandSpec::read("llen", 2, &[READONLY, FAST], ONE_KEY, R_FAST, llen).doc(
        GROUP,
        "Get the length of a list",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::read("lrange", 4, &[READONLY], ONE_KEY, R_SLOW, lrange).doc(
        GROUP,
        "Get a range of elements from a list",
        "1.0.0",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
    ),
    CommandSpec::read("lindex", 3, &[READONLY], ONE_KEY, R_SLOW, lindex).doc(
        GROUP,
        "Get an element from a list by its index",
        "1.0.0",
        "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
    ),
    CommandSpec::write("lset", 4, &[WRITE, DENYOOM], ONE_KEY, W_SLOW, no_check, lset).doc(
        GROUP,
        "Set the value of an element in a list by its index",
        "1.0.0",
        "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
    ),
    CommandSpec::write("linsert", 5, &[WRITE, DENYOOM], ONE_KEY, W_SLOW, check_linsert, linsert).doc(
        GROUP,
        "Insert an element before or after another element in a list",
        "2.2.0",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
    ),
    CommandSpec::write("lrem", 4, &[WRITE], ONE_KEY, W_SLOW, check_lrem, lrem).doc(
        GROUP,
        "Remove elements from a list",
        "1.0.0",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
    ),
    CommandSpec::write("ltrim", 4, &[WRITE], ONE_KEY, W_SLOW, check_ltrim, ltrim).doc(
        GROUP,
        "Trim a list to the specified range",
        "1.0.0",
        "O(N) where N is the number of elements to be removed by the operation.",
    ),
    CommandSpec::read("lpos", -3, &[READONLY], ONE_KEY, R_SLOW, lpos).doc(
        GROUP,
        "Return the index of matching elements on a list",
        "6.0.6",
        "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
    ),
    CommandSpec::write("lmove", 5, &[WRITE, DENYOOM], (1, 2, 1), W_SLOW, check_lmove, lmove).doc(
        GROUP,
        "Pop an element from a list, push it to another list and return it",
        "6.2.0",
        "O(1)",
    ),
    CommandSpec::write("rpoplpush", 3, &[WRITE, DENYOOM], (1, 2, 1), W_SLOW, no_check, rpoplpush).doc(
        GROUP,
        "Remove the last element in a list, prepend it to another list and return it",
        "1.2.0",
        "O(1)",
    ),
    CommandSpec::write("lmpop", -4, &[WRITE, MOVABLEKEYS], (0, 0, 0), W_SLOW, check_lmpop, lmpop)
        .with_key_finder(lmpop_keys)
        .doc(
            GROUP,
            "Pop elements from a list",
            "7.0.0",
            "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        ),
    CommandSpec::write("blpop", -3, &[WRITE, NOSCRIPT, BLOCKING], (1, -2, 1), W_BLOCK, check_timeout, blpop).doc(
        GROUP,
        "Remove and get the first element in a list, or block until one is available",
        "2.0.0",
        "O(N) where N is the number of provided keys.",
    ),
    CommandSpec::write("brpop", -3, &[WRITE, NOSCRIPT, BLOCKING], (1, -2, 1), W_BLOCK, check_timeout, brpop).doc(
        GROUP,
        "Remove and get the last element in a list, or block until one is available",
        "2.0.0",
        "O(N) where N is the number of provided keys.",
    ),
    CommandSpec::write("brpoplpush", 4, &[WRITE, DENYOOM, NOSCRIPT, BLOCKING], (1, 2, 1), W_BLOCK, check_timeout, brpoplpush).doc(
        GROUP,
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "2.2.0",
        "O(1)",
    ),
    CommandSpec::write("blmove", 6, &[WRITE, DENYOOM, NOSCRIPT, BLOCKING], (1, 2, 1), W_BLOCK, check_blmove, blmove).doc(
        GROUP,
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "6.2.0",
        "O(1)",
    ),
    CommandSpec::write("blmpop", -5, &[WRITE, BLOCKING, MOVABLEKEYS], (0, 0, 0), W_BLOCK, check_blmpop, blmpop)
        .with_key_finder(blmpop_keys)
        .doc(
            GROUP,
            "Pop elements from a list, or block until one is available",
            "7.0.0",
            "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        ),
];

fn kv<'a>(ctx: &ReadCtx<'a>) -> &'a dyn crate::keyspace::KvRead {
    ctx.kv
}

fn bulks(items: Vec<Vec<u8>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::bulk).collect())
}

/// LEFT or RIGHT, else a syntax error.
fn end(arg: &[u8]) -> Result<End, Reply> {
    if is(arg, "left") {
        Ok(End::Left)
    } else if is(arg, "right") {
        Ok(End::Right)
    } else {
        Err(err_syntax())
    }
}

/// A strictly positive-or-zero count with a custom error for everything
/// else, as Redis's `getPositiveLongFromObjectOrReply` with a message.
fn non_negative(arg: &[u8], msg: &str) -> Result<u64, Reply> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(Reply::error(format!("ERR {msg}"))),
    }
}

fn ok_or<T>(r: Result<T, Reply>, f: impl FnOnce(T) -> Reply) -> Reply {
    match r {
        Ok(v) => f(v),
        Err(e) => e,
    }
}

// ---- pushes ----

fn push(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], end: End, only_if_exists: bool) -> Reply {
    let version = ctx.new_version();
    reply(
        lists::push(
            ctx.ov,
            &args[1],
            &args[2..],
            end,
            only_if_exists,
            ctx.now_ms,
            version,
        ),
        |n| Reply::Integer(n as i64),
    )
}

fn lpush(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Left, false)
}

fn rpush(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Right, false)
}

fn lpushx(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Left, true)
}

fn rpushx(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    push(ctx, args, End::Right, true)
}

// ---- pops ----

/// LPOP/RPOP's optional count: `None` without one.
fn pop_count(args: &[Bytes]) -> Result<Option<u64>, Reply> {
    match args.len() {
        2 => Ok(None),
        3 => non_negative(&args[2], "value is out of range, must be positive").map(Some),
        _ => Err(super::error::err_wrong_args(
            &String::from_utf8_lossy(&args[0]).to_ascii_lowercase(),
        )),
    }
}

fn check_pop(args: &[Bytes]) -> Result<(), Reply> {
    pop_count(args).map(drop)
}

fn pop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], end: End) -> Reply {
    let count = match pop_count(args) {
        Ok(c) => c,
        Err(e) => return e,
    };
    // A count of 0 pops nothing but still answers per the key's state.
    let r = lists::pop(ctx.ov, &args[1], end, count.unwrap_or(1), ctx.now_ms);
    reply(r, |items| match (items, count) {
        (None, None) => Reply::Null,
        (None, Some(_)) => Reply::NullArray,
        (Some(mut items), None) => items.pop().map_or(Reply::Null, Reply::bulk),
        (Some(items), Some(_)) => bulks(items),
    })
}

fn lpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    pop(ctx, args, End::Left)
}

fn rpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    pop(ctx, args, End::Right)
}

// ---- reads ----

fn llen(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(lists::len(kv(ctx), &args[1], ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn lrange(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (start, stop) = match (int(&args[2]), int(&args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    reply(
        lists::range(kv(ctx), &args[1], start, stop, ctx.now_ms),
        bulks,
    )
}

fn lindex(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    match lists::exists(kv(ctx), &args[1], ctx.now_ms) {
        Ok(false) => return Reply::Null,
        Ok(true) => {}
        Err(e) => return e.into(),
    }
    let i = match int(&args[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    reply(lists::index(kv(ctx), &args[1], i, ctx.now_ms), |v| {
        v.map_or(Reply::Null, Reply::bulk)
    })
}

/// LPOS's options: (rank, count if given, maxlen).
fn lpos_options(args: &[Bytes]) -> Result<(i64, Option<u64>, u64), Reply> {
    let mut rank = 1;
    let mut count = None;
    let mut maxlen = 0;
    let mut cur = ArgCursor::new(args, 3);
    while let Some(opt) = cur.next() {
        let value = cur.value()?;
        if is(opt, "rank") {
            rank = int(value)?;
            if rank == 0 {
                return Err(Reply::error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(opt, "count") {
            count = Some(non_negative(value, "COUNT can't be negative")?);
        } else if is(opt, "maxlen") {
            maxlen = non_negative(value, "MAXLEN can't be negative")?;
        } else {
            return Err(err_syntax());
        }
    }
    Ok((rank, count, maxlen))
}

fn lpos(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (rank, count, maxlen) = match lpos_options(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let r = lists::positions(
        kv(ctx),
        &args[1],
        &args[2],
        rank,
        count.unwrap_or(1),
        maxlen,
        ctx.now_ms,
    );
    reply(r, |found| {
        let found = found.unwrap_or_default();
        match count {
            Some(_) => Reply::Array(
                found
                    .into_iter()
                    .map(|i| Reply::Integer(i as i64))
                    .collect(),
            ),
            None => found
                .first()
                .map_or(Reply::Null, |&i| Reply::Integer(i as i64)),
        }
    })
}

// ---- in-place writes ----

fn lset(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    match lists::exists(&*ctx.ov, &args[1], ctx.now_ms) {
        Ok(true) => {}
        Ok(false) => return KsError::Command("ERR no such key".into()).into(),
        Err(e) => return e.into(),
    }
    let i = match int(&args[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    reply(
        lists::set(ctx.ov, &args[1], i, args[3].to_vec(), ctx.now_ms),
        |()| Reply::ok(),
    )
}

fn linsert_where(args: &[Bytes]) -> Result<bool, Reply> {
    if is(&args[2], "before") {
        Ok(true)
    } else if is(&args[2], "after") {
        Ok(false)
    } else {
        Err(err_syntax())
    }
}

fn check_linsert(args: &[Bytes]) -> Result<(), Reply> {
    linsert_where(args).map(drop)
}

fn linsert(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    ok_or(linsert_where(args), |before| {
        reply(
            lists::insert(
                ctx.ov,
                &args[1],
                before,
                &args[3],
                args[4].to_vec(),
                ctx.now_ms,
            ),
            Reply::Integer,
        )
    })
}

fn check_lrem(args: &[Bytes]) -> Result<(), Reply> {
    int(&args[2]).map(drop)
}

fn lrem(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    ok_or(int(&args[2]), |count| {
        reply(
            lists::remove(ctx.ov, &args[1], count, &args[3], ctx.now_ms),
            |n| Reply::Integer(n as i64),
        )
    })
}

fn trim_range(args: &[Bytes]) -> Result<(i64, i64), Reply> {
    Ok((int(&args[2])?, int(&args[3])?))
}

fn check_ltrim(args: &[Bytes]) -> Result<(), Reply> {
    trim_range(args).map(drop)
}

fn ltrim(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    ok_or(trim_range(args), |(start, stop)| {
        reply(
            lists::trim(ctx.ov, &args[1], start, stop, ctx.now_ms),
            |()| Reply::ok(),
        )
    })
}

// ---- moves ----

fn move_ends(args: &[Bytes]) -> Result<(End, End), Reply> {
    Ok((end(&args[3])?, end(&args[4])?))
}

fn check_lmove(args: &[Bytes]) -> Result<(), Reply> {
    move_ends(args).map(drop)
}

fn do_move(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], from: End, to: End) -> Reply {
    let version = ctx.new_version();
    reply(
        lists::lmove(ctx.ov, &args[1], &args[2], from, to, ctx.now_ms, version),
        |v| v.map_or(Reply::Null, Reply::bulk),
    )
}

fn lmove(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    match move_ends(args) {
        Ok((from, to)) => do_move(ctx, args, from, to),
        Err(e) => e,
    }
}

fn rpoplpush(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    do_move(ctx, args, End::Right, End::Left)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: the keys, the
/// end and the count.
fn lmpop_parse(args: &[Bytes]) -> Result<(&[Bytes], End, u64), Reply> {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    // The keys, then at least the direction.
    let rest = (args.len() - 2) as u64;
    if numkeys >= rest {
        return Err(err_syntax());
    }
    let keys_end = 2 + numkeys as usize;
    let dir = end(&args[keys_end])?;
    let mut count = None;
    let mut cur = ArgCursor::new(args, keys_end + 1);
    while let Some(opt) = cur.next() {
        if count.is_none() && is(opt, "count") {
            let v = cur.value()?;
            count = Some(match parse_i64(v) {
                Some(n) if n > 0 => n as u64,
                _ => return Err(Reply::error("ERR count should be greater than 0")),
            });
        } else {
            return Err(err_syntax());
        }
    }
    Ok((&args[2..keys_end], dir, count.unwrap_or(1)))
}

fn lmpop_keys(args: &[Bytes]) -> Vec<usize> {
    match args.get(1).and_then(|a| parse_i64(a)) {
        // As Redis's keynum key spec: no keys at all when the last would
        // fall past the arguments (the command then answers a syntax error).
        Some(n) if n > 0 && (n as u64) + 2 <= args.len() as u64 => (2..2 + n as usize).collect(),
        _ => Vec::new(),
    }
}

fn check_lmpop(args: &[Bytes]) -> Result<(), Reply> {
    lmpop_parse(args).map(drop)
}

fn lmpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let (keys, dir, count) = match lmpop_parse(args) {
        Ok(p) => p,
        Err(e) => return e,
    };
    for key in keys {
        match lists::pop(ctx.ov, key, dir, count, ctx.now_ms) {
            Ok(None) => continue,
            Ok(Some(items)) => {
                return Reply::Array(vec![Reply::bulk(key.clone()), bulks(items)]);
            }
            Err(e) => return e.into(),
        }
    }
    Reply::NullArray
}

// ---- blocking forms ----

/// BLPOP/BRPOP: `[key, element]` from the first non-empty key.
fn bpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], dir: End) -> Reply {
    if let Err(e) = check_timeout(args) {
        return e;
    }
    for key in &args[1..args.len() - 1] {
        match lists::pop(ctx.ov, key, dir, 1, ctx.now_ms) {
            Ok(Some(mut items)) if !items.is_empty() => {
                let v = items.remove(0);
                return Reply::Array(vec![Reply::bulk(key.clone()), Reply::bulk(v)]);
            }
            Ok(_) => continue,
            Err(e) => return e.into(),
        }
    }
    would_block()
}

fn blpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    bpop(ctx, args, End::Left)
}

fn brpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    bpop(ctx, args, End::Right)
}

fn blocking_move(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], from: End, to: End) -> Reply {
    match do_move(ctx, args, from, to) {
        Reply::Null => would_block(),
        r => r,
    }
}

fn brpoplpush(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_timeout(args) {
        return e;
    }
    blocking_move(ctx, args, End::Right, End::Left)
}

fn check_blmove(args: &[Bytes]) -> Result<(), Reply> {
    move_ends(args)?;
    check_timeout(args)
}

fn blmove(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    match check_blmove(args).and_then(|()| move_ends(args)) {
        Ok((from, to)) => blocking_move(ctx, args, from, to),
        Err(e) => e,
    }
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: LMPOP's
/// syntax after the timeout. As in Redis, the timeout is judged last.
fn check_blmpop(args: &[Bytes]) -> Result<(), Reply> {
    lmpop_parse(&args[1..])?;
    check_timeout(args)
}

fn blmpop_keys(args: &[Bytes]) -> Vec<usize> {
    match args.get(1..) {
        Some(rest) => lmpop_keys(rest).into_iter().map(|i| i + 1).collect(),
        None => Vec::new(),
    }
}

fn blmpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_blmpop(args) {
        return e;
    }
    match lmpop(ctx, &args[1..]) {
        Reply::NullArray => would_block(),
        r => r,
    }
}
