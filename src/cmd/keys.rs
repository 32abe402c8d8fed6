//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE and TTL
//! families, PERSIST, RENAME, RENAMENX, COPY, TOUCH, KEYS, SCAN, RANDOMKEY,
//! OBJECT, and the sweeper's internal `__expire-if-due`.
//!
//! Thin adapters over `keyspace::generic` and `keyspace::scan`: parse with
//! Redis 7.0's error texts and order of checks, call the keyspace, shape the
//! reply. Writes parse in `check` on the connection (a bad argument costs no
//! proposal) and again in `apply`, where "now" is the proposal's time.
//!
//! CAVEATS:
//! - Redis 7.0 in cluster mode still has 16 databases for COPY's `DB`
//!   argument (any but 0 is refused with the cluster-mode error); these
//!   replies are kept.
//! - OBJECT ENCODING of a collection is its general encoding (`hashtable`,
//!   `quicklist`, `skiplist`), never a compact one (`listpack`, `intset`).
//!   Access times and LFU counters are not tracked: IDLETIME answers 0 and
//!   FREQ (under an LFU policy) answers 0.

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::{int, is, parse_i64};
use super::error::{err_syntax, reply};
use super::flags::*;
use super::{ApplyCtx, CommandSpec, Handler, ReadCtx};
use crate::keyspace::generic::{self, ExpireIf, Expiry};
use crate::keyspace::scan::{self, KeyFilter};
use crate::keyspace::string::Encoding;
use crate::keyspace::{self, KeyType, Meta};
use crate::node::Node;
use crate::session::Session;

/// The internal command the expiry sweeper proposes (see `crate::expire`);
/// dispatch answers "unknown command" to clients for `__` names.
pub const EXPIRE_IF_DUE: &str = "__expire-if-due";

/// The internal command that removes stale collection subkeys (see
/// `keyspace::collection`): `__sweep-subkeys key version [key version …]`.
pub const SWEEP_SUBKEYS: &str = "__sweep-subkeys";

/// Subkeys one `__sweep-subkeys` proposal deletes at most, so that a huge
/// stale collection is removed over several bounded entries.
pub const SUBKEYS_PER_SWEEP: usize = 10_000;

const W: &[&str] = &["keyspace", "write", "fast"];
const R: &[&str] = &["keyspace", "read", "fast"];

macro_rules! expire_row {
    ($name:literal, $unit_ms:expr, $relative:expr, $summary:literal, $since:literal) => {
        CommandSpec::new(
            $name,
            -3,
            &[WRITE, FAST],
            (1, 1, 1),
            W,
            Handler::Write {
                check: |a| {
                    parse_expire(a, $name, $unit_ms, $relative, crate::clock::now_ms()).map(|_| ())
                },
                apply: |c, a| expire(c, a, $name, $unit_ms, $relative),
            },
        )
        .doc("generic", $summary, $since, "O(1)")
    };
}

macro_rules! ttl_row {
    ($name:literal, $kind:expr, $summary:literal, $since:literal) => {
        CommandSpec::new(
            $name,
            2,
            &[READONLY, FAST],
            (1, 1, 1),
            R,
            Handler::Read(|c, a| ttl(c, a, $kind)),
        )
        .doc("generic", $summary, $since, "O(1)")
    };
}

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "del",
        -2,
        &[WRITE],
        (1, -1, 1),
        &["keyspace", "write", "slow"],
        Handler::Write { check: |_| Ok(()), apply: del },
    )
    .doc(
        "generic",
        "Delete a key",
        "1.0.0",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
    ),
    CommandSpec::new(
        "unlink",
        -2,
        &[WRITE, FAST],
        (1, -1, 1),
        W,
        Handler::Write { check: |_| Ok(()), apply: del },
    )
    .doc(
        "generic",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        "4.0.0",
        "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
    ),
    CommandSpec::new("exists", -2, &[READONLY, FAST], (1, -1, 1), R, Handler::Read(exists))
        .doc("generic", "Determine if a key exists", "1.0.0", "O(N) where N is the number of keys to check."),
    CommandSpec::new("touch", -2, &[READONLY, FAST], (1, -1, 1), R, Handler::Read(exists)).doc(
        "generic",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        "3.2.1",
        "O(N) where N is the number of keys that will be touched.",
    ),
    CommandSpec::new("type", 2, &[READONLY, FAST], (1, 1, 1), R, Handler::Read(type_))
        .doc("generic", "Determine the type stored at key", "1.0.0", "O(1)"),
    expire_row!("expire", 1000, true, "Set a key's time to live in seconds", "1.0.0"),
    expire_row!("pexpire", 1, true, "Set a key's time to live in milliseconds", "2.6.0"),
    expire_row!("expireat", 1000, false, "Set the expiration for a key as a UNIX timestamp", "1.2.0"),
    expire_row!(
        "pexpireat",
        1,
        false,
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        "2.6.0"
    ),
    ttl_row!("ttl", TtlKind::Seconds, "Get the time to live for a key in seconds", "1.0.0"),
    ttl_row!("pttl", TtlKind::Millis, "Get the time to live for a key in milliseconds", "2.6.0"),
    ttl_row!("expiretime", TtlKind::AtSeconds, "Get the expiration Unix timestamp for a key", "7.0.0"),
    ttl_row!(
        "pexpiretime",
        TtlKind::AtMillis,
        "Get the expiration Unix timestamp for a key in milliseconds",
        "7.0.0"
    ),
    CommandSpec::new(
        "persist",
        2,
        &[WRITE, FAST],
        (1, 1, 1),
        W,
        Handler::Write { check: |_| Ok(()), apply: persist },
    )
    .doc("generic", "Remove the expiration from a key", "2.2.0", "O(1)"),
    CommandSpec::new(
        "rename",
        3,
        &[WRITE],
        (1, 2, 1),
        &["keyspace", "write", "slow"],
        Handler::Write { check: |_| Ok(()), apply: |c, a| rename(c, a, false) },
    )
    .doc("generic", "Rename a key", "1.0.0", "O(1)"),
    CommandSpec::new(
        "renamenx",
        3,
        &[WRITE, FAST],
        (1, 2, 1),
        W,
        Handler::Write { check: |_| Ok(()), apply: |c, a| rename(c, a, true) },
    )
    .doc("generic", "Rename a key, only if the new key does not exist", "1.0.0", "O(1)"),
    CommandSpec::new(
        "copy",
        -3,
        &[WRITE, DENYOOM],
        (1, 2, 1),
        &["keyspace", "write", "slow"],
        Handler::Write { check: |a| parse_copy(a).map(|_| ()), apply: copy },
    )
    .doc(
        "generic",
        "Copy a key",
        "6.2.0",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
    ),
    CommandSpec::new(
        "keys",
        2,
        &[READONLY],
        (0, 0, 0),
        &["keyspace", "read", "slow", "dangerous"],
        Handler::Read(keys),
    )
    .doc(
        "generic",
        "Find all keys matching the given pattern",
        "1.0.0",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    ),
    CommandSpec::new(
        "scan",
        -2,
        &[READONLY],
        (0, 0, 0),
        &["keyspace", "read", "slow"],
        Handler::Read(scan),
    )
    .doc(
        "generic",
        "Incrementally iterate the keys space",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
    ),
    CommandSpec::new(
        "randomkey",
        1,
        &[READONLY],
        (0, 0, 0),
        &["keyspace", "read", "slow"],
        Handler::Read(randomkey),
    )
    .doc("generic", "Return a random key from the keyspace", "1.0.0", "O(1)"),
    CommandSpec::new("object", -2, &[], (0, 0, 0), &["slow"], Handler::Container)
        .doc("generic", "A container for object introspection commands", "2.2.3", "Depends on subcommand.")
        .with_subcommands(OBJECT_SUBCOMMANDS),
    CommandSpec::new(
        EXPIRE_IF_DUE,
        -2,
        &[WRITE],
        (1, -1, 1),
        W,
        Handler::Write { check: |_| Err(err_syntax()), apply: expire_if_due },
    )
    .doc(
        "generic",
        "Internal: delete the keys that are expired at the proposal's time (the expiry sweeper)",
        "0.1.0",
        "O(N) where N is the number of keys",
    ),
    CommandSpec::new(
        SWEEP_SUBKEYS,
        -3,
        &[WRITE],
        (1, -2, 2),
        W,
        Handler::Write { check: |_| Err(err_syntax()), apply: sweep_subkeys },
    )
    .doc(
        "generic",
        "Internal: delete subkeys of collections that no live record owns (the subkey sweeper)",
        "0.1.0",
        "O(N) where N is the number of subkeys deleted, at most 10000",
    ),
];

const OBJECT_R: &[&str] = &["keyspace", "read", "slow"];

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "object|encoding",
        3,
        &[READONLY],
        (2, 2, 1),
        OBJECT_R,
        Handler::Read(object_encoding),
    )
    .doc(
        "generic",
        "Inspect the internal encoding of a Redis object",
        "2.2.3",
        "O(1)",
    ),
    CommandSpec::new(
        "object|freq",
        3,
        &[READONLY],
        (2, 2, 1),
        OBJECT_R,
        Handler::Read(object_freq),
    )
    .doc(
        "generic",
        "Get the logarithmic access frequency counter of a Redis object",
        "4.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "object|help",
        2,
        &[LOADING, STALE],
        (0, 0, 0),
        &["keyspace", "slow"],
        Handler::Node(object_help),
    )
    .doc(
        "generic",
        "Show helpful text about the different subcommands",
        "6.2.0",
        "O(1)",
    ),
    CommandSpec::new(
        "object|idletime",
        3,
        &[READONLY],
        (2, 2, 1),
        OBJECT_R,
        Handler::Read(object_idletime),
    )
    .doc(
        "generic",
        "Get the time since a Redis object was last accessed",
        "2.2.3",
        "O(1)",
    ),
    CommandSpec::new(
        "object|refcount",
        3,
        &[READONLY],
        (2, 2, 1),
        OBJECT_R,
        Handler::Read(object_refcount),
    )
    .doc(
        "generic",
        "Get the number of references to the value of the key",
        "2.2.3",
        "O(1)",
    ),
];

fn engine<'a>(ctx: &ReadCtx<'a>) -> &'a dyn crate::keyspace::KvRead {
    ctx.kv
}

// -- DEL, EXISTS, TYPE ---------------------------------------------------------

fn del(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    count_deleted(ctx, &args[1..], keyspace::delete_key)
}

/// Runs `delete` on each key; replies with how many it deleted.
fn count_deleted(
    ctx: &mut ApplyCtx<'_, '_>,
    keys: &[Bytes],
    delete: fn(&mut keyspace::Overlay<'_>, &[u8], u64) -> keyspace::KsResult<bool>,
) -> Reply {
    let mut n = 0;
    for key in keys {
        match delete(ctx.ov, key, ctx.now_ms) {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => return e.into(),
        }
    }
    Reply::Integer(n)
}

/// EXISTS and TOUCH: how many of the keys (repeats counted) exist.
fn exists(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut n = 0;
    for key in &args[1..] {
        match generic::exists(engine(ctx), key, ctx.now_ms) {
            Ok(true) => n += 1,
            Ok(false) => {}
            Err(e) => return e.into(),
        }
    }
    Reply::Integer(n)
}

fn type_(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    reply(generic::key_type(engine(ctx), &args[1], ctx.now_ms), |t| {
        Reply::status(t.map_or("none", KeyType::name))
    })
}

// -- EXPIRE family -------------------------------------------------------------

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT arguments, checked in Redis 7.0's
/// order (options, then the number, then overflow), into an absolute time
/// in Unix milliseconds. `unit_ms`: 1000 for seconds; `relative`: the time
/// is counted from `now_ms`.
fn parse_expire(
    args: &[Bytes],
    name: &str,
    unit_ms: i64,
    relative: bool,
    now_ms: u64,
) -> Result<(i64, ExpireIf), Reply> {
    let mut cond = ExpireIf::default();
    for opt in &args[3..] {
        if is(opt, "NX") {
            cond.nx = true;
        } else if is(opt, "XX") {
            cond.xx = true;
        } else if is(opt, "GT") {
            cond.gt = true;
        } else if is(opt, "LT") {
            cond.lt = true;
        } else {
            // Error lines cannot hold CR or LF.
            let shown = String::from_utf8_lossy(opt).replace(['\r', '\n'], " ");
            return Err(Reply::error(format!("ERR Unsupported option {shown}")));
        }
    }
    if cond.nx && (cond.xx || cond.gt || cond.lt) {
        return Err(Reply::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if cond.gt && cond.lt {
        return Err(Reply::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let n = int(&args[2])?;
    let invalid = || Reply::error(format!("ERR invalid expire time in '{name}' command"));
    let when = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    let base = if relative { now_ms as i64 } else { 0 };
    let when = when.checked_add(base).ok_or_else(invalid)?;
    Ok((when, cond))
}

fn expire(
    ctx: &mut ApplyCtx<'_, '_>,
    args: &[Bytes],
    name: &str,
    unit_ms: i64,
    relative: bool,
) -> Reply {
    let (when, cond) = match parse_expire(args, name, unit_ms, relative, ctx.now_ms) {
        Ok(p) => p,
        Err(e) => return e,
    };
    reply(
        generic::expire_at(ctx.ov, &args[1], when, cond, ctx.now_ms),
        |done| Reply::Integer(i64::from(done)),
    )
}

#[derive(Clone, Copy)]
enum TtlKind {
    Seconds,
    Millis,
    AtSeconds,
    AtMillis,
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 without the key, -1 without an
/// expiry. Seconds are rounded to the nearest, as Redis does.
fn ttl(ctx: &mut ReadCtx<'_>, args: &[Bytes], kind: TtlKind) -> Reply {
    let now = ctx.now_ms;
    reply(generic::expiry(engine(ctx), &args[1], now), |e| {
        let at = match e {
            Expiry::Missing => return Reply::Integer(-2),
            Expiry::Persistent => return Reply::Integer(-1),
            Expiry::At(at) => i128::from(at),
        };
        let left = (at - i128::from(now)).max(0);
        let secs = |ms: i128| (ms + 500) / 1000;
        let v = match kind {
            TtlKind::Seconds => secs(left),
            TtlKind::Millis => left,
            TtlKind::AtSeconds => secs(at),
            TtlKind::AtMillis => at,
        };
        Reply::Integer(v as i64)
    })
}

fn persist(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    reply(generic::persist(ctx.ov, &args[1], ctx.now_ms), |done| {
        Reply::Integer(i64::from(done))
    })
}

// -- RENAME, COPY ----------------------------------------------------------------

fn rename(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes], nx: bool) -> Reply {
    let version = ctx.new_version();
    reply(
        generic::rename(ctx.ov, &args[1], &args[2], nx, ctx.now_ms, version),
        |moved| {
            if nx {
                Reply::Integer(i64::from(moved))
            } else {
                Reply::ok()
            }
        },
    )
}

/// Databases as Redis Cluster has them for COPY's `DB` (only 0 usable).
const DATABASES: i64 = 16;

/// COPY's options, in Redis 7.0's order of checks; returns REPLACE.
fn parse_copy(args: &[Bytes]) -> Result<bool, Reply> {
    let mut replace = false;
    let mut db = 0;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - j - 1;
        if is(&args[j], "REPLACE") {
            replace = true;
        } else if is(&args[j], "DB") && more >= 1 {
            let n = int(&args[j + 1])?;
            if n < i64::from(i32::MIN) || n > i64::from(i32::MAX) {
                return Err(Reply::error(
                    "ERR value is out of range, value must between -2147483648 and 2147483647",
                ));
            }
            if !(0..DATABASES).contains(&n) {
                return Err(Reply::error("ERR DB index is out of range"));
            }
            db = n;
            j += 1;
        } else {
            return Err(err_syntax());
        }
        j += 1;
    }
    if db != 0 {
        return Err(Reply::error(
            "ERR Copying to another database is not allowed in cluster mode",
        ));
    }
    if args[1] == args[2] {
        return Err(Reply::error(
            "ERR source and destination objects are the same",
        ));
    }
    Ok(replace)
}

fn copy(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let replace = match parse_copy(args) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let version = ctx.new_version();
    reply(
        generic::copy(ctx.ov, &args[1], &args[2], replace, ctx.now_ms, version),
        |done| Reply::Integer(i64::from(done)),
    )
}

// -- KEYS, SCAN, RANDOMKEY -------------------------------------------------------

fn keys(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let filter = KeyFilter {
        pattern: Some(&args[1]),
        type_name: None,
    };
    let view = match ctx.node() {
        Ok(node) => node.served_view(ctx.readonly),
        Err(e) => return e,
    };
    reply(scan::all_keys(&view, filter, ctx.now_ms), |keys| {
        Reply::Array(keys.into_iter().map(Reply::bulk).collect())
    })
}

/// A SCAN cursor as Redis reads it (`strtoul`): optional sign, decimal
/// digits, nothing else; no leading space; the empty string is 0; a
/// negative number wraps around; overflow is an error.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    // C strings end at the first NUL.
    let s = arg.split(|&b| b == 0).next().unwrap_or_default();
    if s.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

fn scan(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let Some(cursor) = parse_cursor(&args[1]) else {
        return Reply::error("ERR invalid cursor");
    };
    let mut count: i64 = 10;
    let mut filter = KeyFilter::default();
    let mut i = 2;
    while i < args.len() {
        let has_value = args.len() - i >= 2;
        if is(&args[i], "COUNT") && has_value {
            count = match parse_i64(&args[i + 1]) {
                Some(n) => n,
                None => return super::error::err_not_integer(),
            };
            if count < 1 {
                return err_syntax();
            }
        } else if is(&args[i], "MATCH") && has_value {
            filter.pattern = Some(&args[i + 1]);
        } else if is(&args[i], "TYPE") && has_value {
            filter.type_name = Some(&args[i + 1]);
        } else {
            return err_syntax();
        }
        i += 2;
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let view = match ctx.node() {
        Ok(node) => node.served_view(ctx.readonly),
        Err(e) => return e,
    };
    reply(
        scan::scan_page(&view, cursor, count, filter, ctx.now_ms),
        |page| {
            Reply::Array(vec![
                Reply::bulk(page.cursor.to_string()),
                Reply::Array(page.keys.into_iter().map(Reply::bulk).collect()),
            ])
        },
    )
}

fn randomkey(ctx: &mut ReadCtx<'_>, _args: &[Bytes]) -> Reply {
    let view = match ctx.node() {
        Ok(node) => node.served_view(ctx.readonly),
        Err(e) => return e,
    };
    reply(scan::random_key(&view, &mut rand::rng(), ctx.now_ms), |k| {
        k.map_or(Reply::Null, Reply::bulk)
    })
}

// -- OBJECT ------------------------------------------------------------------------

/// OBJECT's subcommands answer nil for a missing key.
fn with_meta(ctx: &ReadCtx<'_>, key: &[u8], f: impl FnOnce(Meta) -> Reply) -> Reply {
    reply(keyspace::read_meta(engine(ctx), key, ctx.now_ms), |m| {
        m.map_or(Reply::Null, f)
    })
}

/// A string value stored as a machine integer by Redis (`string2l`).
fn int_value(value: &[u8]) -> Option<i64> {
    parse_i64(value)
}

/// The encoding Redis would report: for a string, from its value and how
/// it was written ([`Encoding`]); for a collection, its general encoding.
fn encoding(meta: &Meta) -> &'static str {
    match meta.ty {
        KeyType::String => Encoding::of(meta).name(&meta.payload),
        KeyType::Hash => crate::keyspace::hash::encoding_of(meta),
        KeyType::Set => crate::keyspace::set::encoding_of(meta),
        KeyType::List => "quicklist",
        KeyType::ZSet => crate::keyspace::zset::encoding_of(meta),
    }
}

fn object_encoding(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    with_meta(ctx, &args[2], |m| Reply::bulk(encoding(&m)))
}

fn lfu_policy(node: &Node) -> bool {
    node.settings
        .maxmemory_policy()
        .to_ascii_lowercase()
        .contains("lfu")
}

fn object_freq(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let lfu = match ctx.node() {
        Ok(node) => lfu_policy(node),
        Err(e) => return e,
    };
    with_meta(ctx, &args[2], |_| {
        if lfu {
            Reply::Integer(0)
        } else {
            Reply::error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        }
    })
}

fn object_idletime(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let lfu = match ctx.node() {
        Ok(node) => lfu_policy(node),
        Err(e) => return e,
    };
    with_meta(ctx, &args[2], |_| {
        if lfu {
            Reply::error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        } else {
            Reply::Integer(0)
        }
    })
}

/// Redis shares one object for the integers 0..9999, reported with
/// `INT_MAX` references, unless an LRU/LFU policy with a memory limit
/// needs per-key access data.
fn object_refcount(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let s = match ctx.node() {
        Ok(node) => &node.settings,
        Err(e) => return e,
    };
    let policy = s.maxmemory_policy().to_ascii_lowercase();
    let shared_ok = s.maxmemory() == 0 || !(policy.contains("lru") || policy.contains("lfu"));
    with_meta(ctx, &args[2], |m| {
        let shared = encoding(&m) == "int"
            && Encoding::of(&m).may_share()
            && int_value(&m.payload).is_some_and(|v| (0..10_000).contains(&v));
        Reply::Integer(if shared && shared_ok {
            i64::from(i32::MAX)
        } else {
            1
        })
    })
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::Array(OBJECT_HELP.iter().copied().map(Reply::status).collect())
}

// -- the expiry sweeper's command --------------------------------------------------

/// `__expire-if-due key…`: deletes each key whose record is expired at the
/// proposal's time; a key written again since the sweeper saw it expired is
/// left alone. Replies with the number of records removed.
fn expire_if_due(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    count_deleted(ctx, &args[1..], generic::delete_if_expired)
}

/// Deletes the stale subkeys of each `key version` pair, up to
/// [`SUBKEYS_PER_SWEEP`] in all; answers how many were deleted.
fn sweep_subkeys(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let mut left = SUBKEYS_PER_SWEEP;
    for pair in args[1..].chunks(2) {
        let [key, version] = pair else {
            return err_syntax();
        };
        let Some(version) = std::str::from_utf8(version)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return err_syntax();
        };
        match crate::keyspace::collection::delete_stale(ctx.ov, key, version, ctx.now_ms, left) {
            Ok(n) => left -= n as usize,
            Err(e) => return e.into(),
        }
    }
    Reply::Integer((SUBKEYS_PER_SWEEP - left) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn err_text(r: Reply) -> String {
        match r {
            Reply::Error(e) => e,
            other => panic!("not an error: {other:?}"),
        }
    }

    #[test]
    fn expire_arguments_as_redis_7() {
        let p = |a: &[&str], name, unit, rel| parse_expire(&args(a), name, unit, rel, 1_000);
        assert_eq!(
            p(&["expire", "k", "10"], "expire", 1000, true).unwrap().0,
            11_000
        );
        assert_eq!(
            p(&["pexpireat", "k", "-5"], "pexpireat", 1, false)
                .unwrap()
                .0,
            -5
        );
        let (_, c) = p(&["expire", "k", "1", "xx", "Gt"], "expire", 1000, true).unwrap();
        assert!(c.xx && c.gt && !c.nx && !c.lt);
        // Options are checked before the number.
        assert_eq!(
            err_text(p(&["expire", "k", "abc", "nx", "xx"], "expire", 1000, true).unwrap_err()),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            err_text(p(&["expire", "k", "1", "gt", "lt"], "expire", 1000, true).unwrap_err()),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(
            err_text(p(&["expire", "k", "1", "foo", "bar"], "expire", 1000, true).unwrap_err()),
            "ERR Unsupported option foo"
        );
        assert_eq!(
            err_text(p(&["expire", "k", "abc"], "expire", 1000, true).unwrap_err()),
            "ERR value is not an integer or out of range"
        );
        for (a, name, unit, rel) in [
            ("9223372036854775807", "expire", 1000, true),
            ("-9223372036854775808", "expire", 1000, true),
            ("9223372036854775807", "pexpire", 1, true),
            ("9223372036854775807", "expireat", 1000, false),
        ] {
            assert_eq!(
                err_text(p(&[name, "k", a], name, unit, rel).unwrap_err()),
                format!("ERR invalid expire time in '{name}' command")
            );
        }
        assert_eq!(
            p(
                &["pexpireat", "k", "9223372036854775807"],
                "pexpireat",
                1,
                false
            )
            .unwrap()
            .0,
            i64::MAX
        );
    }

    #[test]
    fn copy_arguments_as_redis_7() {
        let p = |a: &[&str]| parse_copy(&args(a));
        assert!(!p(&["copy", "a", "b"]).unwrap());
        assert!(p(&["copy", "a", "b", "replace", "db", "0"]).unwrap());
        let e = |a: &[&str]| err_text(p(a).unwrap_err());
        assert_eq!(
            e(&["copy", "a", "b", "db", "1"]),
            "ERR Copying to another database is not allowed in cluster mode"
        );
        assert_eq!(
            e(&["copy", "a", "a", "db", "1"]),
            "ERR Copying to another database is not allowed in cluster mode"
        );
        assert_eq!(
            e(&["copy", "a", "b", "db", "16"]),
            "ERR DB index is out of range"
        );
        assert_eq!(
            e(&["copy", "a", "b", "db", "-1"]),
            "ERR DB index is out of range"
        );
        assert_eq!(
            e(&["copy", "a", "b", "db", "x"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            e(&["copy", "a", "b", "db", "99999999999"]),
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        assert_eq!(e(&["copy", "a", "b", "db"]), "ERR syntax error");
        assert_eq!(
            e(&["copy", "a", "b", "db", "1", "bogus"]),
            "ERR syntax error"
        );
        assert_eq!(
            e(&["copy", "a", "a"]),
            "ERR source and destination objects are the same"
        );
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        for bad in [&b" 5"[..], b"5 ", b"+", b"-", b"abc", b"1x"] {
            assert_eq!(
                parse_cursor(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn string_encodings() {
        let enc = |v: &str| encoding(&Meta::string(v.as_bytes().to_vec(), 0));
        assert_eq!(enc("123"), "int");
        assert_eq!(enc("-9223372036854775808"), "int");
        assert_eq!(enc("99999999999999999999"), "embstr");
        assert_eq!(enc("0123"), "embstr");
        assert_eq!(enc(" 12"), "embstr");
        assert_eq!(enc(&"x".repeat(44)), "embstr");
        assert_eq!(enc(&"x".repeat(45)), "raw");
    }

    #[test]
    fn string_encodings_remember_how_the_value_was_written() {
        let enc = |v: &str, how: u64| {
            let mut m = Meta::string(v.as_bytes().to_vec(), 0);
            m.version = how;
            encoding(&m)
        };
        // 1: grown in place (APPEND, SETRANGE); 2: INCRBYFLOAT's text.
        assert_eq!(enc("12", 1), "raw");
        assert_eq!(enc("ab", 1), "raw");
        assert_eq!(enc("3", 2), "embstr");
        assert_eq!(enc(&"1".repeat(45), 2), "raw");
    }

    #[test]
    fn the_sweeper_command_is_internal() {
        let spec = crate::cmd::lookup(EXPIRE_IF_DUE.as_bytes()).expect("in the table");
        assert!(spec.is_internal() && spec.is_write());
    }
}
