//! MEMORY USAGE and MEMORY HELP.
//!
//! `MEMORY USAGE key` reports what redis-server 7.0 (jemalloc, cluster
//! mode) would use for the same key, not what redraft uses: tools such as
//! `redis-cli --memkeys` compare keys with it, and a Redis figure is what
//! their users expect. For a string that is Redis's own accounting: the
//! value object (an integer, an embedded string up to 44 bytes, or a
//! string object plus its buffer), the key's buffer and the hash table
//! entry with its cluster-mode metadata, each rounded up to jemalloc's
//! size class.
//!
//! CAVEATS:
//! - Strings only: redraft has no other types yet; a collection would be
//!   estimated from its metadata record alone.
//! - MEMORY DOCTOR/STATS/MALLOC-STATS/PURGE are not offered.

use bytes::Bytes;
use redraft_resp::Reply;

use crate::cmd::args::{int, is};
use crate::cmd::error::{err_syntax, reply};
use crate::cmd::flags::*;
use crate::cmd::{help_reply, CommandSpec, Handler, ReadCtx};
use crate::keyspace::{self, KeyType};
use crate::node::Node;
use crate::session::Session;

/// The subcommand rows of MEMORY.
pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "memory|help",
        2,
        &[LOADING, STALE],
        (0, 0, 0),
        &["slow"],
        Handler::Node(help),
    )
    .doc(
        "server",
        "Show helpful text about the different subcommands",
        "4.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "memory|usage",
        -3,
        &[READONLY],
        (2, 2, 1),
        &["read", "slow"],
        Handler::Read(usage),
    )
    .doc(
        "server",
        "Estimate the memory usage of a key",
        "4.0.0",
        "O(N) where N is the number of samples.",
    ),
];

/// `MEMORY USAGE key [SAMPLES count]`: bytes, or a null for a missing key.
fn usage(ctx: &mut ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "SAMPLES") && i + 1 < args.len() {
            // Validated as Redis does; nothing is sampled.
            match int(&args[i + 1]) {
                Ok(n) if n < 0 => return err_syntax(),
                Ok(_) => {}
                Err(e) => return e,
            }
            i += 2;
        } else {
            return err_syntax();
        }
    }
    reply(
        keyspace::read_meta(ctx.kv, &args[2], ctx.now_ms),
        |meta| match meta {
            None => Reply::Null,
            Some(m) => Reply::Integer(redis_usage(&args[2], m.ty, &m.payload) as i64),
        },
    )
}

/// Bytes redis-server 7.0 would use for `key` holding `payload`.
fn redis_usage(key: &[u8], ty: KeyType, payload: &[u8]) -> u64 {
    /// A dict entry (key, value, next pointers) plus the cluster-mode
    /// metadata of the slot's key list (two pointers).
    const DICT_ENTRY: u64 = 24 + 16;
    /// `robj`: type/encoding/LRU, refcount, pointer.
    const ROBJ: u64 = 16;
    let value = if ty != KeyType::String {
        ROBJ + jemalloc_size(sds_size(payload.len()))
    } else if payload.len() <= 20 && crate::cmd::args::parse_i64(payload).is_some() {
        // Integer encoding: the number lives in the object's pointer.
        ROBJ
    } else if payload.len() <= 44 {
        // Embedded: object and an 8-bit-header buffer in one allocation.
        jemalloc_size(ROBJ + 3 + payload.len() as u64 + 1)
    } else {
        ROBJ + jemalloc_size(sds_size(payload.len()))
    };
    value + jemalloc_size(sds_size(key.len())) + DICT_ENTRY
}

/// Bytes of a Redis dynamic string of `len` bytes: header (sized by the
/// length), data and the terminating NUL.
fn sds_size(len: usize) -> u64 {
    let header = match len {
        0..32 => 1,
        32..256 => 3,
        256..65536 => 5,
        _ if len as u64 <= u64::from(u32::MAX) => 9,
        _ => 17,
    };
    header + len as u64 + 1
}

/// jemalloc's size class for `n` bytes: 8, 16, then multiples of 16 up to
/// 128, then four classes between consecutive powers of two.
fn jemalloc_size(n: u64) -> u64 {
    match n {
        0..=8 => 8,
        9..=128 => n.div_ceil(16) * 16,
        _ => {
            let step = 1u64 << ((n - 1).ilog2() - 2);
            n.div_ceil(step) * step
        }
    }
}

const HELP: &[&str] = &[
    "USAGE <key> [SAMPLES <count>]",
    "    Return the bytes redis-server would use for <key> and its value.",
    "HELP",
    "    Print this help.",
];

fn help(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    help_reply("memory", HELP)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestNode;
    use super::*;

    #[test]
    fn size_classes() {
        let classes: Vec<u64> = [
            1, 8, 9, 16, 17, 23, 128, 129, 160, 161, 1006, 1024, 1025, 5000,
        ]
        .iter()
        .map(|&n| jemalloc_size(n))
        .collect();
        assert_eq!(
            classes,
            [8, 8, 16, 16, 32, 32, 128, 160, 160, 192, 1024, 1024, 1280, 5120]
        );
        assert_eq!(sds_size(3), 5);
        assert_eq!(sds_size(1000), 1006);
    }

    /// Values redis-server 7.0.15 (jemalloc, cluster mode) reports.
    #[test]
    fn usage_matches_redis_for_strings() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let a = |n: usize| "a".repeat(n);
        let long_key = "k".repeat(40);
        let cases = [
            ("foo", "bar".to_string(), 80),
            ("n", "123".to_string(), 64),
            ("kk", "12345678901234567890".to_string(), 96),
            ("kk", a(44), 112),
            ("kk", a(45), 128),
            ("kk", a(200), 288),
            ("big", a(1000), 1088),
            ("kk", a(40000), 41024),
            (long_key.as_str(), "v".to_string(), 120),
        ];
        let usage = |s: &mut Session, k: &str| t.call(s, &["MEMORY", "USAGE", k]);
        for (k, v, bytes) in &cases {
            assert_eq!(t.call(&mut s, &["SET", k, v]), Reply::ok());
            assert_eq!(
                usage(&mut s, k),
                Reply::Integer(*bytes),
                "{k} of {} bytes",
                v.len()
            );
        }
        assert_eq!(t.call(&mut s, &["SET", "foo", "bar"]), Reply::ok());
        assert_eq!(usage(&mut s, "nosuch"), Reply::Null);
        let call = |s: &mut Session, extra: &[&str]| {
            let mut argv = vec!["MEMORY", "USAGE", "foo"];
            argv.extend_from_slice(extra);
            t.call(s, &argv)
        };
        assert_eq!(call(&mut s, &["SAMPLES", "5"]), Reply::Integer(80));
        assert_eq!(
            call(&mut s, &["SAMPLES", "x"]),
            Reply::error("ERR value is not an integer or out of range")
        );
        assert_eq!(call(&mut s, &["SAMPLES", "-1"]), err_syntax());
        assert_eq!(call(&mut s, &["SAMPLES"]), err_syntax());
        assert_eq!(call(&mut s, &["bar"]), err_syntax());
    }
}
