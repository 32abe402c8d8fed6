//! String commands: GET, SET and its variants, MGET/MSET, INCR*, APPEND,
//! GETRANGE/SETRANGE, LCS.
//!
//! Thin adapters over [`crate::keyspace::string`]: each parses its
//! arguments, calls one typed operation and shapes the reply. A write's
//! `check` rejects what Redis rejects before looking at the key (syntax,
//! malformed integers, SET's expire time), so those cost no proposal; what
//! Redis checks only after reading the key (GETEX's expire time,
//! INCRBYFLOAT's increment) is checked in `apply`, in Redis's order.
//!
//! CAVEATS:
//! - SET's and SETEX's expire time is checked for overflow against the
//!   wall clock in `check` and again against the proposal's time in
//!   `apply`; the two can only disagree for times within milliseconds of
//!   `i64::MAX`, and then `apply`'s answer is the one given.
//! - Option names are compared as whole arguments; Redis compares C
//!   strings, so it also takes `NX\0anything` as `NX`.

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::{int, is};
use super::error::{err_syntax, err_wrong_args, reply};
use super::flags::*;
use super::{no_check, ApplyCtx, CommandSpec, Handler, ReadCtx};
use crate::keyspace::string::{self as strings, Condition, Ttl};
use crate::keyspace::{self, KsError};

const GROUP: &str = "string";
const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";

/// A row whose `check` accepts anything the arity allows.
const fn write(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    acl: &'static [&'static str],
    apply: fn(&mut ApplyCtx<'_, '_>, &[Bytes]) -> Reply,
) -> CommandSpec {
    CommandSpec::new(
        name,
        arity,
        flags,
        keys,
        acl,
        Handler::Write {
            check: no_check,
            apply,
        },
    )
}

const W_FAST: &[&str] = &["write", "string", "fast"];
const W_SLOW: &[&str] = &["write", "string", "slow"];
const R_FAST: &[&str] = &["read", "string", "fast"];
const R_SLOW: &[&str] = &["read", "string", "slow"];
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, &[READONLY, FAST], ONE_KEY, R_FAST, Handler::Read(get))
        .doc(GROUP, "Get the value of a key", "1.0.0", "O(1)"),
    CommandSpec::write("set", -3, &[WRITE, DENYOOM], ONE_KEY, W_SLOW, check_set, set)
        .doc(GROUP, "Set the string value of a key", "1.0.0", "O(1)"),
    write("setnx", 3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, setnx).doc(
        GROUP,
        "Set the value of a key, only if the key does not exist",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::write("setex", 4, &[WRITE, DENYOOM], ONE_KEY, W_SLOW, check_setex, setex)
        .doc(GROUP, "Set the value and expiration of a key", "2.0.0", "O(1)"),
    CommandSpec::write("psetex", 4, &[WRITE, DENYOOM], ONE_KEY, W_SLOW, check_psetex, psetex).doc(
        GROUP,
        "Set the value and expiration in milliseconds of a key",
        "2.6.0",
        "O(1)",
    ),
    write("getset", 3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, getset).doc(
        GROUP,
        "Set the string value of a key and return its old value",
        "1.0.0",
        "O(1)",
    ),
    write("getdel", 2, &[WRITE, FAST], ONE_KEY, W_FAST, getdel).doc(
        GROUP,
        "Get the value of a key and delete the key",
        "6.2.0",
        "O(1)",
    ),
    CommandSpec::write("getex", -2, &[WRITE, FAST], ONE_KEY, W_FAST, check_getex, getex).doc(
        GROUP,
        "Get the value of a key and optionally set its expiration",
        "6.2.0",
        "O(1)",
    ),
    CommandSpec::new("mget", -2, &[READONLY, FAST], (1, -1, 1), R_FAST, Handler::Read(mget)).doc(
        GROUP,
        "Get the values of all the given keys",
        "1.0.0",
        "O(N) where N is the number of keys to retrieve.",
    ),
    CommandSpec::write("mset", -3, &[WRITE, DENYOOM], (1, -1, 2), W_SLOW, check_mset, mset).doc(
        GROUP,
        "Set multiple keys to multiple values",
        "1.0.1",
        "O(N) where N is the number of keys to set.",
    ),
    CommandSpec::write("msetnx", -3, &[WRITE, DENYOOM], (1, -1, 2), W_SLOW, check_msetnx, msetnx)
        .doc(
            GROUP,
            "Set multiple keys to multiple values, only if none of the keys exist",
            "1.0.1",
            "O(N) where N is the number of keys to set.",
        ),
    write("append", 3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, append).doc(
        GROUP,
        "Append a value to a key",
        "2.0.0",
        "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
    ),
    CommandSpec::new("strlen", 2, &[READONLY, FAST], ONE_KEY, R_FAST, Handler::Read(strlen)).doc(
        GROUP,
        "Get the length of the value stored in a key",
        "2.2.0",
        "O(1)",
    ),
    write("incr", 2, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, incr).doc(
        GROUP,
        "Increment the integer value of a key by one",
        "1.0.0",
        "O(1)",
    ),
    write("decr", 2, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, decr).doc(
        GROUP,
        "Decrement the integer value of a key by one",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::write("incrby", 3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, check_incrby, incrby)
        .doc(
            GROUP,
            "Increment the integer value of a key by the given amount",
            "1.0.0",
            "O(1)",
        ),
    CommandSpec::write("decrby", 3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, check_decrby, decrby)
        .doc(
            GROUP,
            "Decrement the integer value of a key by the given number",
            "1.0.0",
            "O(1)",
        ),
    write("incrbyfloat", 3, &[WRITE, DENYOOM, FAST], ONE_KEY, W_FAST, incrbyfloat).doc(
        GROUP,
        "Increment the float value of a key by the given amount",
        "2.6.0",
        "O(1)",
    ),
    CommandSpec::new("getrange", 4, &[READONLY], ONE_KEY, R_SLOW, Handler::Read(getrange)).doc(
        GROUP,
        "Get a substring of the string stored at a key",
        "2.4.0",
        RANGE_COMPLEXITY,
    ),
    CommandSpec::new("substr", 4, &[READONLY], ONE_KEY, R_SLOW, Handler::Read(getrange)).doc(
        GROUP,
        "Get a substring of the string stored at a key",
        "1.0.0",
        RANGE_COMPLEXITY,
    ),
    CommandSpec::write("setrange", 4, &[WRITE, DENYOOM], ONE_KEY, W_SLOW, check_setrange, setrange)
        .doc(
            GROUP,
            "Overwrite part of a string at key starting at the specified offset",
            "2.2.0",
            "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
        ),
    CommandSpec::new("lcs", -3, &[READONLY], (1, 2, 1), R_SLOW, Handler::Read(lcs)).doc(
        GROUP,
        "Find longest common substring",
        "7.0.0",
        "O(N*M) where N and M are the lengths of s1 and s2, respectively",
    ),
];

fn kv<'a>(ctx: &ReadCtx<'a>) -> &'a dyn crate::keyspace::KvRead {
    ctx.kv
}

fn bulk_or_null(v: Option<Vec<u8>>) -> Reply {
    v.map_or(Reply::Null, Reply::bulk)
}

// ---- expiry options (SET, SETEX, PSETEX, GETEX) ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// An expiry as given: its unit and its not yet validated value.
#[derive(Clone, Copy)]
struct ExpireArg<'a> {
    unit: Unit,
    value: &'a [u8],
}

impl ExpireArg<'_> {
    /// The absolute expiry in Unix milliseconds, validated as Redis does:
    /// an integer, positive, and not overflowing once in milliseconds and
    /// (for EX/PX) once `now` is added.
    fn resolve(&self, now_ms: u64, command: &str) -> Result<u64, Reply> {
        let n = int(self.value)?;
        let invalid = || Reply::error(format!("ERR invalid expire time in '{command}' command"));
        let seconds = matches!(self.unit, Unit::Ex | Unit::ExAt);
        if n <= 0 || (seconds && n > i64::MAX / 1000) {
            return Err(invalid());
        }
        let ms = if seconds { n * 1000 } else { n };
        let at = match self.unit {
            Unit::Ex | Unit::Px => ms.checked_add(now_ms as i64).ok_or_else(invalid)?,
            Unit::ExAt | Unit::PxAt => ms,
        };
        Ok(at as u64)
    }
}

/// SET's and GETEX's options, with Redis's rules on which go together.
#[derive(Default)]
struct Options<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<ExpireArg<'a>>,
}

impl<'a> Options<'a> {
    /// Parses `args[start..]`; `for_set` selects SET's options (NX, XX,
    /// GET, KEEPTTL), otherwise GETEX's (PERSIST). Repeating an option is
    /// allowed (the last expiry wins); conflicting ones are a syntax error.
    fn parse(args: &'a [Bytes], start: usize, for_set: bool) -> Result<Options<'a>, Reply> {
        let mut o = Options::default();
        let mut i = start;
        while i < args.len() {
            let a = &args[i];
            let unit = [
                ("EX", Unit::Ex),
                ("PX", Unit::Px),
                ("EXAT", Unit::ExAt),
                ("PXAT", Unit::PxAt),
            ]
            .into_iter()
            .find(|(name, _)| is(a, name))
            .map(|(_, u)| u);
            if for_set && is(a, "NX") && !o.xx {
                o.nx = true;
            } else if for_set && is(a, "XX") && !o.nx {
                o.xx = true;
            } else if for_set && is(a, "GET") {
                o.get = true;
            } else if for_set && is(a, "KEEPTTL") && o.expire.is_none() {
                o.keepttl = true;
            } else if !for_set && is(a, "PERSIST") && o.expire.is_none() {
                o.persist = true;
            } else if let (Some(unit), Some(value)) = (unit, args.get(i + 1)) {
                if o.keepttl || o.persist || o.expire.is_some_and(|e| e.unit != unit) {
                    return Err(err_syntax());
                }
                o.expire = Some(ExpireArg { unit, value });
                i += 1;
            } else {
                return Err(err_syntax());
            }
            i += 1;
        }
        Ok(o)
    }

    fn resolve(&self, now_ms: u64, command: &str) -> Result<Option<u64>, Reply> {
        self.expire.map(|e| e.resolve(now_ms, command)).transpose()
    }
}

// ---- GET / SET family ----

fn get(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(
        keyspace::get_string(kv(ctx), &args[1], ctx.now_ms),
        bulk_or_null,
    )
}

fn check_set(args: &[Bytes]) -> Result<(), Reply> {
    Options::parse(args, 3, true)?.resolve(crate::clock::now_ms(), "set")?;
    Ok(())
}

fn set(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let (o, at) = match Options::parse(args, 3, true)
        .and_then(|o| o.resolve(ctx.now_ms, "set").map(|at| (o, at)))
    {
        Ok(v) => v,
        Err(e) => return e,
    };
    let cond = if o.nx {
        Condition::IfAbsent
    } else if o.xx {
        Condition::IfPresent
    } else {
        Condition::Always
    };
    let ttl = match at {
        Some(at) => Ttl::At(at),
        None if o.keepttl => Ttl::Keep,
        None => Ttl::Clear,
    };
    let r = strings::set(
        ctx.ov,
        &args[1],
        args[2].to_vec(),
        cond,
        ttl,
        o.get,
        ctx.now_ms,
    );
    reply(r, |out| {
        if o.get {
            bulk_or_null(out.old)
        } else if out.written {
            Reply::ok()
        } else {
            Reply::Null
        }
    })
}

fn setnx(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let r = strings::set(
        ctx.ov,
        &args[1],
        args[2].to_vec(),
        Condition::IfAbsent,
        Ttl::Clear,
        false,
        ctx.now_ms,
    );
    reply(r, |out| Reply::Integer(out.written.into()))
}

fn setex_expire(args: &[Bytes], unit: Unit) -> ExpireArg<'_> {
    ExpireArg {
        unit,
        value: &args[2],
    }
}

fn check_setex(args: &[Bytes]) -> Result<(), Reply> {
    setex_expire(args, Unit::Ex)
        .resolve(crate::clock::now_ms(), "setex")
        .map(|_| ())
}

fn check_psetex(args: &[Bytes]) -> Result<(), Reply> {
    setex_expire(args, Unit::Px)
        .resolve(crate::clock::now_ms(), "psetex")
        .map(|_| ())
}

fn setex(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    set_with_expiry(ctx, args, Unit::Ex, "setex")
}

fn psetex(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    set_with_expiry(ctx, args, Unit::Px, "psetex")
}

/// SETEX and PSETEX: `name key time value`.
fn set_with_expiry(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], unit: Unit, name: &str) -> Reply {
    let at = match setex_expire(args, unit).resolve(ctx.now_ms, name) {
        Ok(at) => at,
        Err(e) => return e,
    };
    let r = strings::set(
        ctx.ov,
        &args[1],
        args[3].to_vec(),
        Condition::Always,
        Ttl::At(at),
        false,
        ctx.now_ms,
    );
    reply(r, |_| Reply::ok())
}

fn getset(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let r = strings::set(
        ctx.ov,
        &args[1],
        args[2].to_vec(),
        Condition::Always,
        Ttl::Clear,
        true,
        ctx.now_ms,
    );
    reply(r, |out| bulk_or_null(out.old))
}

fn getdel(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    reply(strings::getdel(ctx.ov, &args[1], ctx.now_ms), bulk_or_null)
}

fn check_getex(args: &[Bytes]) -> Result<(), Reply> {
    Options::parse(args, 2, false).map(|_| ())
}

/// GETEX: a missing key answers nil and a key of another type WRONGTYPE
/// before the expire time is validated, as in Redis.
fn getex(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let o = match Options::parse(args, 2, false) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let value = match keyspace::get_string(&*ctx.ov, &args[1], ctx.now_ms) {
        Ok(Some(v)) => v,
        Ok(None) => return Reply::Null,
        Err(e) => return e.into(),
    };
    let ttl = match o.resolve(ctx.now_ms, "getex") {
        Ok(Some(at)) => Ttl::At(at),
        Ok(None) if o.persist => Ttl::Clear,
        Ok(None) => Ttl::Keep,
        Err(e) => return e,
    };
    reply(strings::set_ttl(ctx.ov, &args[1], ttl, ctx.now_ms), |()| {
        Reply::bulk(value)
    })
}

// ---- multi-key ----

fn mget(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in &args[1..] {
        out.push(match keyspace::get_string(kv(ctx), key, ctx.now_ms) {
            Ok(v) => bulk_or_null(v),
            // MGET answers nil for a key of another type.
            Err(KsError::WrongType) => Reply::Null,
            Err(e) => return e.into(),
        });
    }
    Reply::Array(out)
}

/// MSET and MSETNX take key/value pairs.
fn check_pairs(args: &[Bytes], name: &str) -> Result<(), Reply> {
    if args.len().is_multiple_of(2) {
        return Err(err_wrong_args(name));
    }
    Ok(())
}

fn check_mset(args: &[Bytes]) -> Result<(), Reply> {
    check_pairs(args, "mset")
}

fn check_msetnx(args: &[Bytes]) -> Result<(), Reply> {
    check_pairs(args, "msetnx")
}

fn pairs(args: &[Bytes]) -> Vec<(&[u8], &[u8])> {
    args[1..]
        .chunks_exact(2)
        .map(|p| (&p[0][..], &p[1][..]))
        .collect()
}

fn mset(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_mset(args) {
        return e;
    }
    strings::mset(ctx.ov, &pairs(args));
    Reply::ok()
}

fn msetnx(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_msetnx(args) {
        return e;
    }
    reply(strings::msetnx(ctx.ov, &pairs(args), ctx.now_ms), |set| {
        Reply::Integer(set.into())
    })
}

// ---- in-place updates ----

fn append(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    reply(
        strings::append(ctx.ov, &args[1], &args[2], ctx.now_ms),
        |n| Reply::Integer(n as i64),
    )
}

fn strlen(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(strings::strlen(kv(ctx), &args[1], ctx.now_ms), |n| {
        Reply::Integer(n as i64)
    })
}

fn incr_reply(ctx: &mut ApplyCtx<'_, '_>, key: &[u8], delta: i64) -> Reply {
    reply(
        strings::incr_by(ctx.ov, key, delta, ctx.now_ms),
        Reply::Integer,
    )
}

fn incr(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    incr_reply(ctx, &args[1], 1)
}

fn decr(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    incr_reply(ctx, &args[1], -1)
}

fn check_incrby(args: &[Bytes]) -> Result<(), Reply> {
    int(&args[2]).map(|_| ())
}

/// DECRBY's delta, negated; `i64::MIN` cannot be.
fn decrby_delta(args: &[Bytes]) -> Result<i64, Reply> {
    int(&args[2])?
        .checked_neg()
        .ok_or_else(|| Reply::error("ERR decrement would overflow"))
}

fn check_decrby(args: &[Bytes]) -> Result<(), Reply> {
    decrby_delta(args).map(|_| ())
}

fn incrby(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    match int(&args[2]) {
        Ok(d) => incr_reply(ctx, &args[1], d),
        Err(e) => e,
    }
}

fn decrby(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    match decrby_delta(args) {
        Ok(d) => incr_reply(ctx, &args[1], d),
        Err(e) => e,
    }
}

/// The increment is validated in apply: Redis checks the key's type first.
fn incrbyfloat(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    reply(
        strings::incr_by_float(ctx.ov, &args[1], &args[2], ctx.now_ms),
        Reply::bulk,
    )
}

/// GETRANGE and SUBSTR: the indexes are validated before the key is read.
fn getrange(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (start, end) = match (int(&args[2]), int(&args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    reply(
        strings::getrange(kv(ctx), &args[1], start, end, ctx.now_ms),
        Reply::bulk,
    )
}

fn setrange_offset(args: &[Bytes]) -> Result<u64, Reply> {
    let offset = int(&args[2])?;
    u64::try_from(offset).map_err(|_| Reply::error("ERR offset is out of range"))
}

fn check_setrange(args: &[Bytes]) -> Result<(), Reply> {
    setrange_offset(args).map(|_| ())
}

fn setrange(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let offset = match setrange_offset(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    reply(
        strings::setrange(ctx.ov, &args[1], offset, &args[3], ctx.now_ms),
        |n| Reply::Integer(n as i64),
    )
}

// ---- LCS ----

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`. Redis
/// checks the keys' types before the options, and bounds the table's
/// memory by `proto-max-bulk-len`.
fn lcs(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut values = Vec::with_capacity(2);
    for key in &args[1..3] {
        match keyspace::get_string(kv(ctx), key, ctx.now_ms) {
            Ok(v) => values.push(v.unwrap_or_default()),
            Err(KsError::WrongType) => {
                return Reply::error("ERR The specified keys must contain string values")
            }
            Err(e) => return e.into(),
        }
    }
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if is(a, "IDX") {
            want_idx = true;
        } else if is(a, "LEN") {
            want_len = true;
        } else if is(a, "WITHMATCHLEN") {
            with_match_len = true;
        } else if is(a, "MINMATCHLEN") && i + 1 < args.len() {
            match int(&args[i + 1]) {
                Ok(n) => min_match_len = n.max(0),
                Err(e) => return e,
            }
            i += 1;
        } else {
            return err_syntax();
        }
        i += 1;
    }
    if want_idx && want_len {
        return Reply::error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let (a, b) = (&values[0], &values[1]);
    let bytes = strings::lcs_cells(a.len(), b.len()) * 4;
    let max = match ctx.node() {
        Ok(node) => node.settings.proto_max_bulk_len(),
        Err(e) => return e,
    };
    if bytes > u128::from(max) {
        return Reply::error(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        );
    }
    let found = strings::lcs(a, b);
    if want_len {
        return Reply::Integer(found.subsequence.len() as i64);
    }
    if !want_idx {
        return Reply::bulk(found.subsequence);
    }
    let range = |(s, e): (usize, usize)| {
        Reply::Array(vec![Reply::Integer(s as i64), Reply::Integer(e as i64)])
    };
    let matches = found
        .matches
        .iter()
        .filter(|m| m.len() as i64 >= min_match_len)
        .map(|m| {
            let mut entry = vec![range(m.a), range(m.b)];
            if with_match_len {
                entry.push(Reply::Integer(m.len() as i64));
            }
            Reply::Array(entry)
        })
        .collect();
    Reply::Map(vec![
        (Reply::bulk(&b"matches"[..]), Reply::Array(matches)),
        (
            Reply::bulk(&b"len"[..]),
            Reply::Integer(found.subsequence.len() as i64),
        ),
    ])
}
