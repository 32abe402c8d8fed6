//! DUMP, RESTORE and RESTORE-ASKING: values in Redis's serialization
//! format ([`crate::keyspace::rdb`]), so that redis-cli, migration tools
//! and a real redis-server can move keys to and from redraft.
//!
//! DUMP is a read. RESTORE is a write: `check` validates the options on
//! the connection; `apply` decodes the payload on every replica (decoding
//! is deterministic) and answers Redis's errors in Redis's order: syntax,
//! BUSYKEY, TTL, version/checksum, data format.
//!
//! CAVEATS:
//! - IDLETIME and FREQ are validated as Redis does, then ignored: redraft
//!   keeps no per-key access data (OBJECT IDLETIME answers 0, OBJECT FREQ
//!   0).

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::parse_i64;
use super::error::{err_not_integer, err_syntax, reply};
use super::flags::*;
use super::{ApplyCtx, CommandSpec, ReadCtx};
use crate::keyspace::{self, rdb};

const KEYS: (i32, i32, i32) = (1, 1, 1);
const W_ACL: &[&str] = &["keyspace", "write", "slow", "dangerous"];
const RESTORE_CX: &str = "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::read("dump", 2, &[READONLY], KEYS, &["keyspace", "read", "slow"], dump).doc(
        "generic",
        "Return a serialized version of the value stored at the specified key.",
        "2.6.0",
        "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
    ),
    CommandSpec::write(
        "restore",
        -4,
        &[WRITE, DENYOOM],
        KEYS,
        W_ACL,
        check_restore,
        restore,
    )
    .doc(
        "generic",
        "Create a key using the provided serialized value, previously obtained using DUMP.",
        "2.6.0",
        RESTORE_CX,
    ),
    CommandSpec::write(
        "restore-asking",
        -4,
        &[WRITE, DENYOOM, ASKING],
        KEYS,
        W_ACL,
        check_restore,
        restore,
    )
    .doc(
        "server",
        "An internal command for migrating keys in a cluster",
        "3.0.0",
        RESTORE_CX,
    ),
];

fn dump(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let kv = ctx.kv;
    reply(rdb::read_object(kv, &args[1], ctx.now_ms), |o| {
        o.map_or(Reply::Null, |o| Reply::bulk(rdb::encode(&o)))
    })
}

/// RESTORE's options after `key ttl payload`.
#[derive(Debug, Default, PartialEq, Eq)]
struct RestoreOpts {
    replace: bool,
    absttl: bool,
}

/// Parses the options as Redis's `restoreCommand` does: IDLETIME and FREQ
/// exclude each other (the second one is a syntax error).
fn parse_opts(args: &[Bytes]) -> Result<RestoreOpts, Reply> {
    let mut o = RestoreOpts::default();
    let (mut idle, mut freq) = (false, false);
    let mut j = 4;
    while j < args.len() {
        let a = &args[j];
        let more = j + 1 < args.len();
        if a.eq_ignore_ascii_case(b"replace") {
            o.replace = true;
        } else if a.eq_ignore_ascii_case(b"absttl") {
            o.absttl = true;
        } else if a.eq_ignore_ascii_case(b"idletime") && more && !freq {
            let v = parse_i64(&args[j + 1]).ok_or_else(err_not_integer)?;
            if v < 0 {
                return Err(Reply::error("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = true;
            j += 1;
        } else if a.eq_ignore_ascii_case(b"freq") && more && !idle {
            let v = parse_i64(&args[j + 1]).ok_or_else(err_not_integer)?;
            if !(0..=255).contains(&v) {
                return Err(Reply::error(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = true;
            j += 1;
        } else {
            return Err(err_syntax());
        }
        j += 1;
    }
    Ok(o)
}

fn check_restore(args: &[Bytes]) -> Result<(), Reply> {
    parse_opts(args).map(drop)
}

fn restore(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    let opts = match parse_opts(args) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let key = &args[1];
    let now = ctx.now_ms;
    if !opts.replace {
        match keyspace::read_meta(&*ctx.ov, key, now) {
            Ok(Some(_)) => return Reply::error("BUSYKEY Target key name already exists."),
            Ok(None) => {}
            Err(e) => return e.into(),
        }
    }
    let Some(ttl) = parse_i64(&args[2]) else {
        return err_not_integer();
    };
    if ttl < 0 {
        return Reply::error("ERR Invalid TTL value, must be >= 0");
    }
    let obj = match rdb::decode(&args[3]) {
        Ok(o) => o,
        Err(e) => return Reply::error(e.text()),
    };
    let expire_at = match (ttl, opts.absttl) {
        (0, _) => 0,
        (t, true) => t as u64,
        (t, false) => (t as u64).saturating_add(now),
    };
    if expire_at != 0 && expire_at <= now {
        // Already expired: nothing is created, and REPLACE still deletes.
        if opts.replace {
            if let Err(e) = keyspace::delete_key(ctx.ov, key, now) {
                return e.into();
            }
        }
        return Reply::ok();
    }
    let version = ctx.new_version();
    reply(
        rdb::write_object(ctx.ov, key, &obj, expire_at, now, version),
        |()| Reply::ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<Bytes> {
        a.iter().map(|s| Bytes::from(s.to_string())).collect()
    }

    fn err(r: Result<RestoreOpts, Reply>) -> String {
        match r {
            Err(Reply::Error(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_as_redis_7() {
        let p = |a: &[&str]| parse_opts(&args(a));
        assert_eq!(
            p(&["restore", "k", "0", "x", "REPLACE", "absttl"]).unwrap(),
            RestoreOpts {
                replace: true,
                absttl: true
            }
        );
        assert!(p(&["restore", "k", "0", "x", "idletime", "5", "replace"]).is_ok());
        assert!(p(&["restore", "k", "0", "x", "freq", "255"]).is_ok());
        assert_eq!(
            err(p(&["restore", "k", "0", "x", "idletime", "1", "freq", "1"])),
            "ERR syntax error"
        );
        assert_eq!(
            err(p(&["restore", "k", "0", "x", "idletime"])),
            "ERR syntax error"
        );
        assert_eq!(
            err(p(&["restore", "k", "0", "x", "bogus"])),
            "ERR syntax error"
        );
        assert_eq!(
            err(p(&["restore", "k", "0", "x", "idletime", "-1"])),
            "ERR Invalid IDLETIME value, must be >= 0"
        );
        assert_eq!(
            err(p(&["restore", "k", "0", "x", "freq", "256"])),
            "ERR Invalid FREQ value, must be >= 0 and <= 255"
        );
        assert_eq!(
            err(p(&["restore", "k", "0", "x", "freq", "x"])),
            "ERR value is not an integer or out of range"
        );
    }
}
