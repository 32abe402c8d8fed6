//! Hash commands: HSET, HGET, HMSET, HMGET, HGETALL, HDEL, HLEN, HEXISTS,
//! HINCRBY, HINCRBYFLOAT, HKEYS, HVALS, HSETNX, HSTRLEN, HSCAN, HRANDFIELD.
//!
//! Thin adapters over [`crate::keyspace::hash`]. A write's `check` rejects
//! what Redis rejects before looking at the key (an odd number of
//! field/value arguments, a malformed increment), so those cost no
//! proposal; `apply` checks again (a replica must not trust the leader's
//! check) and opens the hash, taking a new version only when it creates it.
//!
//! CAVEATS:
//! - Fields are listed in byte order (HGETALL, HKEYS, HVALS, HSCAN), not in
//!   Redis's insertion order; see the keyspace module.
//! - HRANDFIELD is a read: its randomness is the connection's, not the
//!   proposal's (nothing is replicated).

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::{int, is, parse_i64, scan_cursor, scan_options};
use super::error::{err_not_float, err_not_integer, err_syntax, err_wrong_args, reply};
use super::flags::*;
use super::{no_check, ApplyCtx, CommandSpec, Handler, ReadCtx};
use crate::keyspace::collection::Collection;
use crate::keyspace::hash::{self, Draw, Pair};
use crate::keyspace::longdouble::{self, LongDouble, Parsed};

const GROUP: &str = "hash";
const W_FAST: &[&str] = &["write", "hash", "fast"];
const R_FAST: &[&str] = &["read", "hash", "fast"];
const R_SLOW: &[&str] = &["read", "hash", "slow"];
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL_COMPLEXITY: &str = "O(N) where N is the size of the hash.";

const fn read(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    acl: &'static [&'static str],
    f: fn(&mut ReadCtx<'_>, &[Bytes]) -> Reply,
) -> CommandSpec {
    CommandSpec::read(name, arity, flags, ONE_KEY, acl, f)
}

const fn write(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    check: fn(&[Bytes]) -> Result<(), Reply>,
    apply: fn(&mut ApplyCtx<'_, '_>, &[Bytes]) -> Reply,
) -> CommandSpec {
    CommandSpec::new(
        name,
        arity,
        flags,
        ONE_KEY,
        W_FAST,
        Handler::Write { check, apply },
    )
}

pub static COMMANDS: &[CommandSpec] = &[
    write("hset", -4, &[WRITE, DENYOOM, FAST], check_hset, hset).doc(
        GROUP,
        "Set the string value of a hash field",
        "2.0.0",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
    ),
    write("hmset", -4, &[WRITE, DENYOOM, FAST], check_hmset, hmset).doc(
        GROUP,
        "Set multiple hash fields to multiple values",
        "2.0.0",
        "O(N) where N is the number of fields being set.",
    ),
    write("hsetnx", 4, &[WRITE, DENYOOM, FAST], no_check, hsetnx).doc(
        GROUP,
        "Set the value of a hash field, only if the field does not exist",
        "2.0.0",
        "O(1)",
    ),
    read("hget", 3, &[READONLY, FAST], R_FAST, hget).doc(
        GROUP,
        "Get the value of a hash field",
        "2.0.0",
        "O(1)",
    ),
    read("hmget", -3, &[READONLY, FAST], R_FAST, hmget).doc(
        GROUP,
        "Get the values of all the given hash fields",
        "2.0.0",
        "O(N) where N is the number of fields being requested.",
    ),
    read("hgetall", 2, &[READONLY], R_SLOW, hgetall).doc(
        GROUP,
        "Get all the fields and values in a hash",
        "2.0.0",
        ALL_COMPLEXITY,
    ),
    read("hkeys", 2, &[READONLY], R_SLOW, hkeys).doc(
        GROUP,
        "Get all the fields in a hash",
        "2.0.0",
        ALL_COMPLEXITY,
    ),
    read("hvals", 2, &[READONLY], R_SLOW, hvals).doc(
        GROUP,
        "Get all the values in a hash",
        "2.0.0",
        ALL_COMPLEXITY,
    ),
    write("hdel", -3, &[WRITE, FAST], no_check, hdel).doc(
        GROUP,
        "Delete one or more hash fields",
        "2.0.0",
        "O(N) where N is the number of fields to be removed.",
    ),
    read("hlen", 2, &[READONLY, FAST], R_FAST, hlen).doc(
        GROUP,
        "Get the number of fields in a hash",
        "2.0.0",
        "O(1)",
    ),
    read("hexists", 3, &[READONLY, FAST], R_FAST, hexists).doc(
        GROUP,
        "Determine if a hash field exists",
        "2.0.0",
        "O(1)",
    ),
    read("hstrlen", 3, &[READONLY, FAST], R_FAST, hstrlen).doc(
        GROUP,
        "Get the length of the value of a hash field",
        "3.2.0",
        "O(1)",
    ),
    write("hincrby", 4, &[WRITE, DENYOOM, FAST], check_hincrby, hincrby).doc(
        GROUP,
        "Increment the integer value of a hash field by the given number",
        "2.0.0",
        "O(1)",
    ),
    write(
        "hincrbyfloat",
        4,
        &[WRITE, DENYOOM, FAST],
        check_hincrbyfloat,
        hincrbyfloat,
    )
    .doc(
        GROUP,
        "Increment the float value of a hash field by the given amount",
        "2.6.0",
        "O(1)",
    ),
    read("hscan", -3, &[READONLY], R_SLOW, hscan).doc(
        GROUP,
        "Incrementally iterate hash fields and associated values",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    ),
    read("hrandfield", -2, &[READONLY], R_SLOW, hrandfield).doc(
        GROUP,
        "Get one or multiple random fields from a hash",
        "6.2.0",
        "O(N) where N is the number of fields returned",
    ),
];

fn kv<'a>(ctx: &ReadCtx<'a>) -> &'a dyn crate::keyspace::KvRead {
    ctx.kv
}

fn bulk_or_null(v: Option<Vec<u8>>) -> Reply {
    v.map_or(Reply::Null, Reply::bulk)
}

/// Opens the hash at `key` for a write: the live one, or a new empty one
/// with a fresh version (taken only when the hash is created).
fn open(ctx: &mut ApplyCtx<'_, '_>, key: &[u8]) -> Result<Collection, Reply> {
    match hash::open(&*ctx.ov, key, ctx.now_ms) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Ok(Collection::new(
            crate::keyspace::KeyType::Hash,
            ctx.new_version(),
        )),
        Err(e) => Err(e.into()),
    }
}

// ---- writes ----

/// HSET and HMSET take field/value pairs after the key.
fn check_pairs(args: &[Bytes], name: &str) -> Result<(), Reply> {
    if args.len() % 2 == 1 {
        return Err(err_wrong_args(name));
    }
    Ok(())
}

fn check_hset(args: &[Bytes]) -> Result<(), Reply> {
    check_pairs(args, "hset")
}

fn check_hmset(args: &[Bytes]) -> Result<(), Reply> {
    check_pairs(args, "hmset")
}

fn pairs(args: &[Bytes]) -> Vec<(&[u8], &[u8])> {
    args[2..]
        .chunks_exact(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect()
}

fn set_pairs(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Result<u64, Reply> {
    let c = open(ctx, &args[1])?;
    hash::set(ctx.ov, &args[1], c, &pairs(args)).map_err(Reply::from)
}

fn hset(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_hset(args) {
        return e;
    }
    match set_pairs(ctx, args) {
        Ok(n) => Reply::Integer(n as i64),
        Err(e) => e,
    }
}

fn hmset(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_hmset(args) {
        return e;
    }
    match set_pairs(ctx, args) {
        Ok(_) => Reply::ok(),
        Err(e) => e,
    }
}

fn hsetnx(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let c = match open(ctx, &args[1]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    reply(
        hash::setnx(ctx.ov, &args[1], c, &args[2], &args[3]),
        |set| Reply::Integer(set.into()),
    )
}

fn hdel(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let fields: Vec<&[u8]> = args[2..].iter().map(|f| &f[..]).collect();
    reply(hash::del(ctx.ov, &args[1], &fields, ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn check_hincrby(args: &[Bytes]) -> Result<(), Reply> {
    int(&args[3]).map(|_| ())
}

fn hincrby(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let delta = match int(&args[3]) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let c = match open(ctx, &args[1]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    reply(
        hash::incr_by(ctx.ov, &args[1], c, &args[2], delta),
        Reply::Integer,
    )
}

/// HINCRBYFLOAT's increment: a valid float, and finite (both checked
/// before the key, as Redis does).
fn float_increment(arg: &[u8]) -> Result<LongDouble, Reply> {
    match longdouble::parse(arg) {
        None => Err(err_not_float()),
        Some(Parsed::Infinite) => Err(Reply::error("ERR value is NaN or Infinity")),
        Some(Parsed::Finite(x)) => Ok(x),
    }
}

fn check_hincrbyfloat(args: &[Bytes]) -> Result<(), Reply> {
    float_increment(&args[3]).map(|_| ())
}

fn hincrbyfloat(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let incr = match float_increment(&args[3]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let c = match open(ctx, &args[1]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    reply(
        hash::incr_by_float(ctx.ov, &args[1], c, &args[2], incr),
        Reply::bulk,
    )
}

// ---- reads ----

fn hget(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(
        hash::get(kv(ctx), &args[1], &args[2], ctx.now_ms),
        bulk_or_null,
    )
}

fn hmget(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let fields: Vec<&[u8]> = args[2..].iter().map(|f| &f[..]).collect();
    reply(hash::mget(kv(ctx), &args[1], &fields, ctx.now_ms), |vs| {
        Reply::Array(vs.into_iter().map(bulk_or_null).collect())
    })
}

fn hlen(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(hash::len(kv(ctx), &args[1], ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn hexists(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(hash::exists(kv(ctx), &args[1], &args[2], ctx.now_ms), |b| {
        Reply::Integer(b.into())
    })
}

fn hstrlen(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(hash::strlen(kv(ctx), &args[1], &args[2], ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

/// HGETALL: a map in RESP3, a flat array in RESP2.
fn hgetall(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut out = Vec::new();
    let r = hash::for_each(kv(ctx), &args[1], ctx.now_ms, |f, v| {
        out.push((Reply::bulk(f.to_vec()), Reply::bulk(v)));
    });
    reply(r, |()| Reply::Map(out))
}

fn hkeys(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut out = Vec::new();
    let r = hash::for_each(kv(ctx), &args[1], ctx.now_ms, |f, _| {
        out.push(Reply::bulk(f.to_vec()));
    });
    reply(r, |()| Reply::Array(out))
}

fn hvals(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut out = Vec::new();
    let r = hash::for_each(kv(ctx), &args[1], ctx.now_ms, |_, v| {
        out.push(Reply::bulk(v));
    });
    reply(r, |()| Reply::Array(out))
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`. As in Redis 7.0 the
/// cursor is checked first, then the key (a missing key answers an empty
/// page without looking at the options), then the options.
fn hscan(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let Some(cursor) = scan_cursor(&args[2]) else {
        return Reply::error("ERR invalid cursor");
    };
    let empty = || Reply::Array(vec![Reply::bulk(&b"0"[..]), Reply::Array(Vec::new())]);
    match hash::open(kv(ctx), &args[1], ctx.now_ms) {
        Ok(Some(_)) => {}
        Ok(None) => return empty(),
        Err(e) => return e.into(),
    }
    let (pattern, count) = match scan_options(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    reply(
        hash::scan(kv(ctx), &args[1], cursor, count, pattern, ctx.now_ms),
        |page| {
            let mut items = Vec::with_capacity(page.pairs.len() * 2);
            for (f, v) in page.pairs {
                items.push(Reply::bulk(f));
                items.push(Reply::bulk(v));
            }
            Reply::Array(vec![
                Reply::bulk(page.cursor.to_string()),
                Reply::Array(items),
            ])
        },
    )
}

/// `HRANDFIELD key [count [WITHVALUES]]`: the count and options are
/// checked before the key, as in Redis 7.0.
fn hrandfield(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let mut rng = rand::rng();
    if args.len() == 2 {
        return reply(
            hash::random_fields(kv(ctx), &args[1], Draw::Distinct(1), &mut rng, now),
            |r| bulk_or_null(r.and_then(|v| v.into_iter().next()).map(|p| p.0)),
        );
    }
    let n = match parse_i64(&args[2]) {
        None => return err_not_integer(),
        Some(i64::MIN) => {
            return Reply::error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            )
        }
        Some(n) => n,
    };
    let with_values = match args.len() {
        3 => false,
        4 if is(&args[3], "WITHVALUES") => true,
        _ => return err_syntax(),
    };
    // Redis refuses a count whose reply length would overflow.
    if with_values && n.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Reply::error("ERR value is out of range");
    }
    let draw = if n >= 0 {
        Draw::Distinct(n as u64)
    } else {
        Draw::WithRepeats(n.unsigned_abs())
    };
    let r = hash::random_fields(kv(ctx), &args[1], draw, &mut rng, now);
    match r {
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(pairs)) => random_reply(pairs, with_values),
        Err(e) => e.into(),
    }
}

/// HRANDFIELD's reply with a count: fields, or fields and values (flat in
/// RESP2, `[field, value]` pairs in RESP3).
fn random_reply(pairs: Vec<Pair>, with_values: bool) -> Reply {
    if with_values {
        // Pairs in RESP3, flat in RESP2: the shape is chosen when written.
        return Reply::Pairs(
            pairs
                .into_iter()
                .map(|(f, v)| (Reply::bulk(f), Reply::bulk(v)))
                .collect(),
        );
    }
    Reply::Array(pairs.into_iter().map(|(f, _)| Reply::bulk(f)).collect())
}
