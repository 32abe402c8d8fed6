//! Sorted set commands: ZADD, ZINCRBY, ZSCORE, ZMSCORE, ZCARD, ZREM,
//! ZCOUNT, ZLEXCOUNT, ZRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZREVRANGE,
//! ZRANGEBYLEX, ZREVRANGEBYLEX, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX,
//! ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX, ZRANGESTORE, ZUNION,
//! ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZINTERCARD, ZSCAN,
//! ZRANDMEMBER, ZMPOP.
//!
//! Thin adapters over [`crate::keyspace::zset`]. Option and range parsing
//! happens before the key is looked at (as in Redis); a write's `check`
//! runs that parsing on the connection and `apply` runs it again.
//!
//! CAVEATS:
//! - ZSCAN answers every match in one page with cursor 0, whatever the
//!   set's size (Redis pages a large skiplist-encoded set).
//! - Scores and score-range bounds are parsed with Rust's float parser,
//!   not `strtod`: hexadecimal scores (`0x10`) and leading blanks in range
//!   bounds are refused where Redis accepts them.

use bytes::Bytes;
use redraft_resp::{format_double, Reply};

use super::args::{int, is, parse_f64, parse_i64, scan_cursor, scan_options};
use super::error::{err_not_float, err_not_integer, err_syntax, reply};
use super::flags::*;
use super::{no_check, ApplyCtx, CommandSpec, Handler, ReadCtx};
use crate::blocking::{check_timeout, would_block};
use crate::keyspace::collection::Collection;
use crate::keyspace::glob::glob_match;
use crate::keyspace::hash::Draw;
use crate::keyspace::zset::{
    self, AddFlags, Aggregate, Entry, LexBound, LexRange, ScoreRange, Select, SetOp,
};

const GROUP: &str = "sorted-set";
const R_FAST: &[&str] = &["read", "sortedset", "fast"];
const R_SLOW: &[&str] = &["read", "sortedset", "slow"];
const W_FAST: &[&str] = &["write", "sortedset", "fast"];
const W_SLOW: &[&str] = &["write", "sortedset", "slow"];
const W_FAST_BLOCK: &[&str] = &["write", "sortedset", "fast", "blocking"];
const W_SLOW_BLOCK: &[&str] = &["write", "sortedset", "slow", "blocking"];
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const UNION_CX: &str = "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";
const UNION_RO_CX: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";
const INTER_CX: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF_CX: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.";
const RANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const BY_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).";
const REMRANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";

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
    acl: &'static [&'static str],
    check: fn(&[Bytes]) -> Result<(), Reply>,
    apply: fn(&mut ApplyCtx<'_, '_>, &[Bytes]) -> Reply,
) -> CommandSpec {
    CommandSpec::new(
        name,
        arity,
        flags,
        ONE_KEY,
        acl,
        Handler::Write { check, apply },
    )
}

pub static COMMANDS: &[CommandSpec] = &[
    write("zadd", -4, &[WRITE, DENYOOM, FAST], W_FAST, check_zadd, zadd).doc(
        GROUP,
        "Add one or more members to a sorted set, or update its score if it already exists",
        "1.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    ),
    write("zincrby", 4, &[WRITE, DENYOOM, FAST], W_FAST, check_zincrby, zincrby).doc(
        GROUP,
        "Increment the score of a member in a sorted set",
        "1.2.0",
        "O(log(N)) where N is the number of elements in the sorted set.",
    ),
    write("zrem", -3, &[WRITE, FAST], W_FAST, no_check, zrem).doc(
        GROUP,
        "Remove one or more members from a sorted set",
        "1.2.0",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
    ),
    write("zpopmin", -2, &[WRITE, FAST], W_FAST, check_pop, zpopmin).doc(
        GROUP,
        "Remove and return members with the lowest scores in a sorted set",
        "5.0.0",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    ),
    write("zpopmax", -2, &[WRITE, FAST], W_FAST, check_pop, zpopmax).doc(
        GROUP,
        "Remove and return members with the highest scores in a sorted set",
        "5.0.0",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    ),
    write("zremrangebyscore", 4, &[WRITE], W_SLOW, check_remrange_score, zremrangebyscore).doc(
        GROUP,
        "Remove all members in a sorted set within the given scores",
        "1.2.0",
        REMRANGE_CX,
    ),
    write("zremrangebyrank", 4, &[WRITE], W_SLOW, check_remrange_rank, zremrangebyrank).doc(
        GROUP,
        "Remove all members in a sorted set within the given indexes",
        "2.0.0",
        REMRANGE_CX,
    ),
    write("zremrangebylex", 4, &[WRITE], W_SLOW, check_remrange_lex, zremrangebylex).doc(
        GROUP,
        "Remove all members in a sorted set between the given lexicographical range",
        "2.8.9",
        REMRANGE_CX,
    ),
    CommandSpec::new(
        "zrangestore",
        -5,
        &[WRITE, DENYOOM],
        (1, 2, 1),
        W_SLOW,
        Handler::Write {
            check: check_zrangestore,
            apply: zrangestore,
        },
    )
    .doc(
        GROUP,
        "Store a range of members from sorted set into another key",
        "6.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
    ),
    CommandSpec::new(
        "zunionstore",
        -4,
        &[WRITE, DENYOOM, MOVABLEKEYS],
        ONE_KEY,
        W_SLOW,
        Handler::Write {
            check: check_store_numkeys,
            apply: zunionstore,
        },
    )
    .with_key_finder(store_keys)
    .doc(
        GROUP,
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        "2.0.0",
        UNION_CX,
    ),
    CommandSpec::new(
        "zinterstore",
        -4,
        &[WRITE, DENYOOM, MOVABLEKEYS],
        ONE_KEY,
        W_SLOW,
        Handler::Write {
            check: check_store_numkeys,
            apply: zinterstore,
        },
    )
    .with_key_finder(store_keys)
    .doc(
        GROUP,
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        "2.0.0",
        INTER_CX,
    ),
    CommandSpec::new(
        "zdiffstore",
        -4,
        &[WRITE, DENYOOM, MOVABLEKEYS],
        ONE_KEY,
        W_SLOW,
        Handler::Write {
            check: check_store_numkeys,
            apply: zdiffstore,
        },
    )
    .with_key_finder(store_keys)
    .doc(
        GROUP,
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        "6.2.0",
        DIFF_CX,
    ),
    CommandSpec::new(
        "zunion",
        -3,
        &[READONLY, MOVABLEKEYS],
        (0, 0, 0),
        R_SLOW,
        Handler::Read(zunion),
    )
    .with_key_finder(read_keys)
    .doc(GROUP, "Add multiple sorted sets", "6.2.0", UNION_RO_CX),
    CommandSpec::new(
        "zinter",
        -3,
        &[READONLY, MOVABLEKEYS],
        (0, 0, 0),
        R_SLOW,
        Handler::Read(zinter),
    )
    .with_key_finder(read_keys)
    .doc(GROUP, "Intersect multiple sorted sets", "6.2.0", INTER_CX),
    CommandSpec::new(
        "zdiff",
        -3,
        &[READONLY, MOVABLEKEYS],
        (0, 0, 0),
        R_SLOW,
        Handler::Read(zdiff),
    )
    .with_key_finder(read_keys)
    .doc(GROUP, "Subtract multiple sorted sets", "6.2.0", DIFF_CX),
    CommandSpec::new(
        "zintercard",
        -3,
        &[READONLY, MOVABLEKEYS],
        (0, 0, 0),
        R_SLOW,
        Handler::Read(zintercard),
    )
    .with_key_finder(read_keys)
    .doc(
        GROUP,
        "Intersect multiple sorted sets and return the cardinality of the result",
        "7.0.0",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
    ),
    read("zscan", -3, &[READONLY], R_SLOW, zscan).doc(
        GROUP,
        "Incrementally iterate sorted sets elements and associated scores",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    ),
    read("zrandmember", -2, &[READONLY], R_SLOW, zrandmember).doc(
        GROUP,
        "Get one or multiple random elements from a sorted set",
        "6.2.0",
        "O(N) where N is the number of elements returned",
    ),
    CommandSpec::new(
        "zmpop",
        -4,
        &[WRITE, MOVABLEKEYS],
        (0, 0, 0),
        W_SLOW,
        Handler::Write {
            check: check_zmpop,
            apply: zmpop,
        },
    )
    .with_key_finder(zmpop_keys)
    .doc(
        GROUP,
        "Remove and return members with scores in a sorted set",
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
    ),
    CommandSpec::write("bzpopmin", -3, &[WRITE, NOSCRIPT, FAST, BLOCKING], (1, -2, 1), W_FAST_BLOCK, check_timeout, bzpopmin).doc(
        GROUP,
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    CommandSpec::write("bzpopmax", -3, &[WRITE, NOSCRIPT, FAST, BLOCKING], (1, -2, 1), W_FAST_BLOCK, check_timeout, bzpopmax).doc(
        GROUP,
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    CommandSpec::write("bzmpop", -5, &[WRITE, BLOCKING, MOVABLEKEYS], (0, 0, 0), W_SLOW_BLOCK, check_bzmpop, bzmpop)
        .with_key_finder(bzmpop_keys)
        .doc(
            GROUP,
            "Remove and return members with scores in a sorted set or block until one is available",
            "7.0.0",
            "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        ),
    read("zscore", 3, &[READONLY, FAST], R_FAST, zscore).doc(
        GROUP,
        "Get the score associated with the given member in a sorted set",
        "1.2.0",
        "O(1)",
    ),
    read("zmscore", -3, &[READONLY, FAST], R_FAST, zmscore).doc(
        GROUP,
        "Get the score associated with the given members in a sorted set",
        "6.2.0",
        "O(N) where N is the number of members being requested.",
    ),
    read("zcard", 2, &[READONLY, FAST], R_FAST, zcard).doc(
        GROUP,
        "Get the number of members in a sorted set",
        "1.2.0",
        "O(1)",
    ),
    read("zcount", 4, &[READONLY, FAST], R_FAST, zcount).doc(
        GROUP,
        "Count the members in a sorted set with scores within the given values",
        "2.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    read("zlexcount", 4, &[READONLY, FAST], R_FAST, zlexcount).doc(
        GROUP,
        "Count the number of members in a sorted set between a given lexicographical range",
        "2.8.9",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    read("zrank", 3, &[READONLY, FAST], R_FAST, zrank).doc(
        GROUP,
        "Determine the index of a member in a sorted set",
        "2.0.0",
        "O(log(N))",
    ),
    read("zrevrank", 3, &[READONLY, FAST], R_FAST, zrevrank).doc(
        GROUP,
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        "2.0.0",
        "O(log(N))",
    ),
    read("zrange", -4, &[READONLY], R_SLOW, zrange).doc(
        GROUP,
        "Return a range of members in a sorted set",
        "1.2.0",
        RANGE_CX,
    ),
    read("zrevrange", -4, &[READONLY], R_SLOW, zrevrange).doc(
        GROUP,
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        "1.2.0",
        RANGE_CX,
    ),
    read("zrangebyscore", -4, &[READONLY], R_SLOW, zrangebyscore).doc(
        GROUP,
        "Return a range of members in a sorted set, by score",
        "1.0.5",
        BY_CX,
    ),
    read("zrevrangebyscore", -4, &[READONLY], R_SLOW, zrevrangebyscore).doc(
        GROUP,
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        "2.2.0",
        BY_CX,
    ),
    read("zrangebylex", -4, &[READONLY], R_SLOW, zrangebylex).doc(
        GROUP,
        "Return a range of members in a sorted set, by lexicographical range",
        "2.8.9",
        BY_CX,
    ),
    read("zrevrangebylex", -4, &[READONLY], R_SLOW, zrevrangebylex).doc(
        GROUP,
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        "2.8.9",
        BY_CX,
    ),
];

fn kv<'a>(ctx: &ReadCtx<'a>) -> &'a dyn crate::keyspace::KvRead {
    ctx.kv
}

/// Opens the sorted set at `key` for a write, taking a new version only
/// when it is created.
fn open(ctx: &mut ApplyCtx<'_, '_>, key: &[u8]) -> Result<Collection, Reply> {
    match zset::open(&*ctx.ov, key, ctx.now_ms) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Ok(Collection::new(
            crate::keyspace::KeyType::ZSet,
            ctx.new_version(),
        )),
        Err(e) => Err(e.into()),
    }
}

macro_rules! tryr {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
}

// ---- parsing ----

/// A score interval end: `(x` exclusive, `x` inclusive, `-inf`/`+inf`.
fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (rest, ex) = match arg.strip_prefix(b"(") {
        Some(rest) => (rest, true),
        None => (arg, false),
    };
    // Redis reads bounds with a bare strtod: an empty string is 0.
    if rest.is_empty() {
        return Some((0.0, ex));
    }
    parse_f64(rest).map(|v| (v, ex))
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    match (score_bound(min), score_bound(max)) {
        (Some((min, min_ex)), Some((max, max_ex))) => Ok(ScoreRange {
            min,
            min_ex,
            max,
            max_ex,
        }),
        _ => Err(Reply::error("ERR min or max is not a float")),
    }
}

fn lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Some(LexBound::NegInf),
        Some(b'+') if arg.len() == 1 => Some(LexBound::PosInf),
        Some(b'[') => Some(LexBound::Incl(arg[1..].to_vec())),
        Some(b'(') => Some(LexBound::Excl(arg[1..].to_vec())),
        _ => None,
    }
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, Reply> {
    match (lex_bound(min), lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(Reply::error("ERR min or max not valid string range item")),
    }
}

/// A ZADD/ZINCRBY score as Redis's `getDoubleFromObject` reads it: a
/// value that overflows to an infinity or underflows to zero (strtod's
/// ERANGE) is "not a valid float"; `inf` spelled out is fine.
fn score_of(arg: &[u8]) -> Result<f64, Reply> {
    let v = parse_f64(arg).ok_or_else(err_not_float)?;
    let lower = arg.to_ascii_lowercase();
    let unsigned = lower
        .strip_prefix(b"+")
        .or_else(|| lower.strip_prefix(b"-"));
    let unsigned = unsigned.unwrap_or(&lower);
    let spelled_inf = unsigned == b"inf" || unsigned == b"infinity";
    let mantissa = unsigned.split(|&b| b == b'e').next().unwrap_or_default();
    let nonzero = mantissa.iter().any(|b| (b'1'..=b'9').contains(b));
    if (v.is_infinite() && !spelled_inf) || (v == 0.0 && nonzero) {
        return Err(err_not_float());
    }
    Ok(v)
}

/// ZADD's options and elements.
/// ZADD's flags, whether CH was given, and its score/member pairs.
type ZaddArgs<'a> = (AddFlags, bool, Vec<(f64, &'a [u8])>);

fn parse_zadd(args: &[Bytes]) -> Result<ZaddArgs<'_>, Reply> {
    let mut f = AddFlags::default();
    let mut ch = false;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "nx") {
            f.nx = true;
        } else if is(a, "xx") {
            f.xx = true;
        } else if is(a, "gt") {
            f.gt = true;
        } else if is(a, "lt") {
            f.lt = true;
        } else if is(a, "ch") {
            ch = true;
        } else if is(a, "incr") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || rest.len() % 2 == 1 {
        return Err(err_syntax());
    }
    if f.nx && f.xx {
        return Err(Reply::error(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(Reply::error(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(Reply::error(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let elems = rest
        .chunks_exact(2)
        .map(|p| Ok((score_of(&p[0])?, &p[1][..])))
        .collect::<Result<_, Reply>>()?;
    Ok((f, ch, elems))
}

fn check_zadd(args: &[Bytes]) -> Result<(), Reply> {
    parse_zadd(args).map(drop)
}

fn do_add(
    ctx: &mut ApplyCtx<'_, '_>,
    key: &[u8],
    f: AddFlags,
    ch: bool,
    elems: &[(f64, &[u8])],
) -> Reply {
    // XX on a missing key creates nothing.
    let c = tryr!(open(ctx, key));
    let r = tryr!(zset::add(ctx.ov, key, c, f, elems).map_err(Reply::from));
    if f.incr {
        r.score.map_or(Reply::Null, Reply::Double)
    } else if ch {
        Reply::Integer((r.added + r.updated) as i64)
    } else {
        Reply::Integer(r.added as i64)
    }
}

fn zadd(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let (f, ch, elems) = tryr!(parse_zadd(args));
    do_add(ctx, &args[1], f, ch, &elems)
}

fn check_zincrby(args: &[Bytes]) -> Result<(), Reply> {
    score_of(&args[2]).map(drop)
}

fn zincrby(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let incr = tryr!(score_of(&args[2]));
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    do_add(ctx, &args[1], f, false, &[(incr, &args[3][..])])
}

fn zrem(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let members: Vec<&[u8]> = args[2..].iter().map(|m| &m[..]).collect();
    reply(zset::rem(ctx.ov, &args[1], &members, ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn pop_count(args: &[Bytes]) -> Result<Option<u64>, Reply> {
    match args.len() {
        2 => Ok(None),
        // Redis answers the same error for a negative count and for one
        // that is not an integer.
        3 => match parse_i64(&args[2]) {
            Some(n) if n >= 0 => Ok(Some(n as u64)),
            _ => Err(Reply::error("ERR value is out of range, must be positive")),
        },
        _ => Err(err_syntax()),
    }
}

fn check_pop(args: &[Bytes]) -> Result<(), Reply> {
    pop_count(args).map(drop)
}

/// ZPOPMIN/ZPOPMAX: without a count a flat `[member, score]`; with one,
/// pairs (nested in RESP3, flat in RESP2, as Redis 7.0 replies).
fn pop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], max: bool) -> Reply {
    let count = tryr!(pop_count(args));
    reply(
        zset::pop(ctx.ov, &args[1], max, count.unwrap_or(1), ctx.now_ms),
        |v| match count {
            None => entries_flat(v),
            Some(_) => entries_pairs(v),
        },
    )
}

fn zpopmin(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    pop(ctx, args, false)
}

fn zpopmax(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    pop(ctx, args, true)
}

fn rank_sel(args: &[Bytes]) -> Result<Select, Reply> {
    Ok(Select::Rank(int(&args[2])?, int(&args[3])?))
}

fn score_sel(args: &[Bytes]) -> Result<Select, Reply> {
    score_range(&args[2], &args[3]).map(Select::Score)
}

fn lex_sel(args: &[Bytes]) -> Result<Select, Reply> {
    lex_range(&args[2], &args[3]).map(Select::Lex)
}

fn check_remrange_rank(args: &[Bytes]) -> Result<(), Reply> {
    rank_sel(args).map(drop)
}

fn check_remrange_score(args: &[Bytes]) -> Result<(), Reply> {
    score_sel(args).map(drop)
}

fn check_remrange_lex(args: &[Bytes]) -> Result<(), Reply> {
    lex_sel(args).map(drop)
}

fn remrange(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], sel: Result<Select, Reply>) -> Reply {
    let sel = tryr!(sel);
    reply(zset::rem_range(ctx.ov, &args[1], &sel, ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn zremrangebyrank(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    remrange(ctx, args, rank_sel(args))
}

fn zremrangebyscore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    remrange(ctx, args, score_sel(args))
}

fn zremrangebylex(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    remrange(ctx, args, lex_sel(args))
}

// ---- reads ----

fn entries_flat(v: Vec<Entry>) -> Reply {
    Reply::Array(
        v.into_iter()
            .flat_map(|(m, s)| [Reply::bulk(m), Reply::Double(s)])
            .collect(),
    )
}

/// Member/score pairs: nested in RESP3, flat in RESP2 (the encoder
/// decides, so apply need not know the client's protocol).
fn entries_pairs(v: Vec<Entry>) -> Reply {
    Reply::Pairs(
        v.into_iter()
            .map(|(m, s)| (Reply::bulk(m), Reply::Double(s)))
            .collect(),
    )
}

fn zscore(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(zset::score(kv(ctx), &args[1], &args[2], ctx.now_ms), |s| {
        s.map_or(Reply::Null, Reply::Double)
    })
}

fn zmscore(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let members: Vec<&[u8]> = args[2..].iter().map(|m| &m[..]).collect();
    reply(zset::mscore(kv(ctx), &args[1], &members, ctx.now_ms), |v| {
        Reply::Array(
            v.into_iter()
                .map(|s| s.map_or(Reply::Null, Reply::Double))
                .collect(),
        )
    })
}

fn zcard(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(zset::card(kv(ctx), &args[1], ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn counted(ctx: &mut ReadCtx<'_>, args: &[Bytes], sel: Result<Select, Reply>) -> Reply {
    let sel = tryr!(sel);
    reply(zset::count(kv(ctx), &args[1], &sel, ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn zcount(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    counted(ctx, args, score_sel(args))
}

fn zlexcount(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    counted(ctx, args, lex_sel(args))
}

fn ranked(ctx: &mut ReadCtx<'_>, args: &[Bytes], rev: bool) -> Reply {
    reply(
        zset::rank(kv(ctx), &args[1], &args[2], rev, ctx.now_ms),
        |r| r.map_or(Reply::Null, |r| Reply::Integer(r as i64)),
    )
}

fn zrank(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    ranked(ctx, args, false)
}

fn zrevrank(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    ranked(ctx, args, true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
struct RangeReq {
    sel: Select,
    rev: bool,
    withscores: bool,
    offset: i64,
    count: i64,
}

/// Parses the ZRANGE family: `min`/`max` at `args[at]`, `args[at + 1]`,
/// options after them; `by` fixed by the command (or `Auto` for ZRANGE and
/// ZRANGESTORE, whose options choose), `rev` given by the command name;
/// `store` (ZRANGESTORE) refuses WITHSCORES.
fn parse_range(
    args: &[Bytes],
    at: usize,
    by: By,
    rev: bool,
    store: bool,
) -> Result<RangeReq, Reply> {
    let auto = by == By::Auto;
    let mut by = if auto { By::Rank } else { by };
    let mut rev = rev;
    let mut withscores = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut j = at + 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            limit = Some((int(&args[j + 1])?, int(&args[j + 2])?));
            j += 2;
        } else if auto && is(a, "byscore") {
            by = By::Score;
        } else if auto && is(a, "bylex") {
            by = By::Lex;
        } else if auto && is(a, "rev") {
            rev = true;
        } else {
            return Err(err_syntax());
        }
        j += 1;
    }
    // As Redis 7.0: only a LIMIT count other than -1 is refused by rank.
    if limit.is_some_and(|(_, count)| count != -1) && by == By::Rank {
        return Err(Reply::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && by == By::Lex {
        return Err(Reply::error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // Reversed score and lex ranges name the max first.
    let (a, b) = if rev && by != By::Rank {
        (&args[at + 1], &args[at])
    } else {
        (&args[at], &args[at + 1])
    };
    let sel = match by {
        By::Rank => Select::Rank(int(a)?, int(b)?),
        By::Score => Select::Score(score_range(a, b)?),
        _ => Select::Lex(lex_range(a, b)?),
    };
    let (offset, count) = limit.unwrap_or((0, -1));
    Ok(RangeReq {
        sel,
        rev,
        withscores,
        offset,
        count,
    })
}

/// The ZRANGE family's reads.
fn generic_range(ctx: &mut ReadCtx<'_>, args: &[Bytes], by: By, rev: bool) -> Reply {
    let q = tryr!(parse_range(args, 2, by, rev, false));
    let withscores = q.withscores;
    reply(
        zset::range(
            kv(ctx),
            &args[1],
            &q.sel,
            q.rev,
            q.offset,
            q.count,
            ctx.now_ms,
        ),
        |v| entries_reply(v, withscores),
    )
}

/// Members, or members with scores (pairs nested in RESP3, as Redis 7.0).
fn entries_reply(v: Vec<Entry>, withscores: bool) -> Reply {
    if !withscores {
        Reply::Array(v.into_iter().map(|(m, _)| Reply::bulk(m)).collect())
    } else {
        entries_pairs(v)
    }
}

fn check_zrangestore(args: &[Bytes]) -> Result<(), Reply> {
    parse_range(args, 3, By::Auto, false, true).map(drop)
}

/// ZRANGESTORE dst src min max [...]: replaces `dst` with the range.
fn zrangestore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let q = tryr!(parse_range(args, 3, By::Auto, false, true));
    let version = ctx.new_version();
    let result = zset::range(
        &*ctx.ov, &args[2], &q.sel, q.rev, q.offset, q.count, ctx.now_ms,
    )
    .and_then(|v| zset::store(ctx.ov, &args[1], &v, ctx.now_ms, version));
    reply(result, |n| Reply::Integer(n as i64))
}

fn zrange(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    generic_range(ctx, args, By::Auto, false)
}

fn zrevrange(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    generic_range(ctx, args, By::Rank, true)
}

fn zrangebyscore(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    generic_range(ctx, args, By::Score, false)
}

fn zrevrangebyscore(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    generic_range(ctx, args, By::Score, true)
}

fn zrangebylex(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    generic_range(ctx, args, By::Lex, false)
}

fn zrevrangebylex(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    generic_range(ctx, args, By::Lex, true)
}

// ---- ZUNION / ZINTER / ZDIFF ----

/// The number of input keys at `args[at]`, checked as Redis does.
fn numkeys(args: &[Bytes], at: usize) -> Result<usize, Reply> {
    let n = int(&args[at])?;
    if n < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        return Err(Reply::error(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if n as u64 > (args.len() - at - 1) as u64 {
        return Err(err_syntax());
    }
    Ok(n as usize)
}

fn check_store_numkeys(args: &[Bytes]) -> Result<(), Reply> {
    numkeys(args, 2).map(drop)
}

fn store_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() < 4 {
        return Vec::new();
    }
    numkeys(args, 2).map_or_else(
        |_| Vec::new(),
        |n| [1].into_iter().chain(3..3 + n).collect(),
    )
}

fn read_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() < 3 {
        return Vec::new();
    }
    numkeys(args, 1).map_or_else(|_| Vec::new(), |n| (2..2 + n).collect())
}

/// Parses and runs a set operation whose numkeys is at `args[at]`: keys are
/// type-checked before the options are parsed, as in Redis. Returns the
/// result and whether WITHSCORES was given.
fn set_op(
    kv: &(impl crate::keyspace::KvRead + ?Sized),
    args: &[Bytes],
    at: usize,
    op: SetOp,
    form: Form,
    now_ms: u64,
) -> Result<(Vec<Entry>, bool, u64), Reply> {
    let n = numkeys(args, at)?;
    let keys: Vec<&[u8]> = args[at + 1..at + 1 + n].iter().map(|k| &k[..]).collect();
    for k in &keys {
        if let Ok(Some(m)) = crate::keyspace::read_meta(kv, k, now_ms) {
            use crate::keyspace::KeyType;
            if m.ty != KeyType::ZSet && m.ty != KeyType::Set {
                return Err(crate::keyspace::KsError::WrongType.into());
            }
        }
    }
    let mut weights = vec![1.0; n];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0;
    let mut j = at + 1 + n;
    while j < args.len() {
        let left = args.len() - j;
        let a = &args[j];
        if form == Form::Card {
            if is(a, "limit") && left >= 2 {
                limit = match parse_i64(&args[j + 1]) {
                    Some(l) if l >= 0 => l as u64,
                    _ => return Err(Reply::error("ERR LIMIT can't be negative")),
                };
                j += 2;
                continue;
            }
            return Err(err_syntax());
        }
        if op != SetOp::Diff && is(a, "weights") && left > n {
            for (i, w) in weights.iter_mut().enumerate() {
                *w = parse_f64(&args[j + 1 + i])
                    .ok_or_else(|| Reply::error("ERR weight value is not a float"))?;
            }
            j += n;
        } else if op != SetOp::Diff && is(a, "aggregate") && left >= 2 {
            let v = &args[j + 1];
            agg = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(err_syntax());
            };
            j += 1;
        } else if form == Form::Read && is(a, "withscores") {
            withscores = true;
        } else {
            return Err(err_syntax());
        }
        j += 1;
    }
    let out = zset::combine(kv, &keys, &weights, agg, op, now_ms).map_err(Reply::from)?;
    Ok((out, withscores, limit))
}

/// Which command form a set operation has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// ZUNIONSTORE & co.: no WITHSCORES.
    Store,
    /// ZUNION & co.: WITHSCORES allowed.
    Read,
    /// ZINTERCARD: only LIMIT.
    Card,
}

fn zintercard(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (out, _, limit) = tryr!(set_op(
        kv(ctx),
        args,
        1,
        SetOp::Inter,
        Form::Card,
        ctx.now_ms
    ));
    let n = out.len() as u64;
    Reply::Integer(if limit > 0 { n.min(limit) } else { n } as i64)
}

/// ZSCAN: one page holding every match, cursor 0 (as SSCAN; see the
/// keyspace module). Scores are bulk strings in every protocol, as Redis.
fn zscan(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    if scan_cursor(&args[2]).is_none() {
        return Reply::error("ERR invalid cursor");
    }
    // Redis looks the key up before it parses the options.
    match zset::open(kv(ctx), &args[1], ctx.now_ms) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]),
        Ok(Some(_)) => {}
    }
    let (pattern, _count) = match scan_options(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let sel = Select::Rank(0, -1);
    reply(
        zset::range(kv(ctx), &args[1], &sel, false, 0, -1, ctx.now_ms),
        |v| {
            let items = v
                .into_iter()
                .filter(|(m, _)| pattern.is_none_or(|p| glob_match(p, m)))
                .flat_map(|(m, s)| [Reply::bulk(m), Reply::bulk(format_double(s))])
                .collect();
            Reply::Array(vec![Reply::bulk("0"), Reply::Array(items)])
        },
    )
}

fn op_store(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], op: SetOp) -> Reply {
    let (out, _, _) = tryr!(set_op(&*ctx.ov, args, 2, op, Form::Store, ctx.now_ms));
    let version = ctx.new_version();
    reply(
        zset::store(ctx.ov, &args[1], &out, ctx.now_ms, version),
        |n| Reply::Integer(n as i64),
    )
}

fn zunionstore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    op_store(ctx, args, SetOp::Union)
}

fn zinterstore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    op_store(ctx, args, SetOp::Inter)
}

fn zdiffstore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    op_store(ctx, args, SetOp::Diff)
}

fn op_read(ctx: &mut ReadCtx<'_>, args: &[Bytes], op: SetOp) -> Reply {
    let (out, withscores, _) = tryr!(set_op(kv(ctx), args, 1, op, Form::Read, ctx.now_ms));
    entries_reply(out, withscores)
}

fn zunion(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    op_read(ctx, args, SetOp::Union)
}

fn zinter(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    op_read(ctx, args, SetOp::Inter)
}

fn zdiff(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    op_read(ctx, args, SetOp::Diff)
}

/// ZRANDMEMBER key [count [WITHSCORES]] (as HRANDFIELD: the randomness is
/// the connection's, nothing is replicated).
fn zrandmember(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let mut rng = rand::rng();
    if args.len() == 2 {
        return reply(
            zset::random_members(kv(ctx), &args[1], Draw::Distinct(1), &mut rng, now),
            |r| {
                r.and_then(|v| v.into_iter().next())
                    .map_or(Reply::Null, |e| Reply::bulk(e.0))
            },
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
    let withscores = match args.len() {
        3 => false,
        4 if is(&args[3], "WITHSCORES") => true,
        _ => return err_syntax(),
    };
    if withscores && n.unsigned_abs() > (i64::MAX / 2) as u64 {
        return Reply::error("ERR value is out of range");
    }
    let draw = if n >= 0 {
        Draw::Distinct(n as u64)
    } else {
        Draw::WithRepeats(n.unsigned_abs())
    };
    match zset::random_members(kv(ctx), &args[1], draw, &mut rng, now) {
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(v)) => entries_reply(v, withscores),
        Err(e) => e.into(),
    }
}

/// ZMPOP's keys, whether it pops the highest, and its count.
fn parse_zmpop(args: &[Bytes]) -> Result<(usize, bool, u64), Reply> {
    let n = match parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Reply::error("ERR numkeys should be greater than 0")),
    };
    if n >= (args.len() - 2) as u64 {
        return Err(err_syntax());
    }
    let n = n as usize;
    let max = match &args[2 + n] {
        a if is(a, "min") => false,
        a if is(a, "max") => true,
        _ => return Err(err_syntax()),
    };
    let mut count = None;
    let mut j = 3 + n;
    while j < args.len() {
        if count.is_none() && is(&args[j], "count") && j + 1 < args.len() {
            count = Some(match parse_i64(&args[j + 1]) {
                Some(c) if c >= 1 => c as u64,
                _ => return Err(Reply::error("ERR count should be greater than 0")),
            });
            j += 2;
        } else {
            return Err(err_syntax());
        }
    }
    Ok((n, max, count.unwrap_or(1)))
}

fn check_zmpop(args: &[Bytes]) -> Result<(), Reply> {
    parse_zmpop(args).map(drop)
}

/// ZMPOP's keys from numkeys alone, as Redis finds them (so a numkeys that
/// swallows MIN/MAX still names them as keys).
fn zmpop_keys(args: &[Bytes]) -> Vec<usize> {
    match args.get(1).and_then(|a| parse_i64(a)) {
        Some(n) if n >= 1 && n as u64 <= (args.len() - 2) as u64 => (2..2 + n as usize).collect(),
        _ => Vec::new(),
    }
}

/// ZMPOP: pops from the first non-empty key; `[key, [[member, score]…]]`,
/// or a null array when every key is empty.
fn zmpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let (n, max, count) = tryr!(parse_zmpop(args));
    for key in &args[2..2 + n] {
        let popped = tryr!(zset::pop(ctx.ov, key, max, count, ctx.now_ms).map_err(Reply::from));
        if !popped.is_empty() {
            let items = popped
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::bulk(m), Reply::Double(s)]))
                .collect();
            return Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)]);
        }
    }
    Reply::NullArray
}

/// BZPOPMIN/BZPOPMAX: `[key, member, score]` from the first non-empty key.
fn bzpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], max: bool) -> Reply {
    tryr!(check_timeout(args));
    for key in &args[1..args.len() - 1] {
        let popped = tryr!(zset::pop(ctx.ov, key, max, 1, ctx.now_ms).map_err(Reply::from));
        if let Some((m, s)) = popped.into_iter().next() {
            return Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::bulk(m),
                Reply::Double(s),
            ]);
        }
    }
    would_block()
}

fn bzpopmin(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    bzpop(ctx, args, false)
}

fn bzpopmax(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    bzpop(ctx, args, true)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]. As in
/// Redis, the timeout is judged last.
fn check_bzmpop(args: &[Bytes]) -> Result<(), Reply> {
    parse_zmpop(&args[1..])?;
    check_timeout(args)
}

fn bzmpop_keys(args: &[Bytes]) -> Vec<usize> {
    match args.get(1..) {
        Some(rest) if !rest.is_empty() => zmpop_keys(rest).into_iter().map(|i| i + 1).collect(),
        _ => Vec::new(),
    }
}

fn bzmpop(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    tryr!(check_bzmpop(args));
    match zmpop(ctx, &args[1..]) {
        Reply::NullArray => would_block(),
        r => r,
    }
}
