//! Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP).
//!
//! A blocking command is an ordinary write: its apply tries the pop on the
//! first non-empty key and answers it, or answers the private marker
//! [`would_block`] when every key is empty (the marker never reaches a
//! client). The connection then waits in this node's [`Blocking`] registry:
//! waiters queue per key in arrival order and keep their place until they
//! leave. Every write applied through Raft wakes, for each key it touched,
//! the first waiter that is not proposing already; that one proposes its
//! command again. A served waiter's own pop is a write to the key, so it
//! wakes the next waiter: N pushed elements reach the first N waiters in
//! order. A write that applies while a waiter is proposing moves an epoch,
//! and the waiter retries instead of sleeping, so no wake-up is lost.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use redraft_resp::Reply;
use tokio::sync::Notify;

const MARKER: &str = "\0WOULDBLOCK";

/// The reply of a blocking command's apply when every key is empty.
pub fn would_block() -> Reply {
    Reply::error(MARKER)
}

pub fn is_would_block(r: &Reply) -> bool {
    matches!(r, Reply::Error(e) if e == MARKER)
}

/// Parses a blocking timeout in seconds as Redis 7.0 does
/// (`getTimeoutFromObjectOrReply`): the argument is read with `strtold`
/// (hex floats and infinities included; not NaN, nor what overflows or
/// underflows to zero a `long double`), then `ms = (long long) ceill(t *
/// 1000)` in x87 extended precision. A negative `ms` is refused, and so is
/// every value whose `ms` does not fit a `long long` (infinities too): the
/// conversion yields `LLONG_MIN`. `None` for `ms == 0`, block forever,
/// which `-0.0001` also gives (`ceill(-0.1)` is -0); a positive value under
/// a millisecond is 1 ms. Huge accepted values (`1e15`) are durations an
/// `Instant` may not reach: callers add them with `checked_add` and treat
/// an overflow as forever (Redis's own deadline overflows there too).
pub fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, Reply> {
    use crate::keyspace::longdouble::{parse, Parsed};
    let ms = match parse(arg) {
        None => return Err(Reply::error("ERR timeout is not a float or out of range")),
        Some(Parsed::Infinite) => i64::MIN,
        Some(Parsed::Finite(v)) => v
            .checked_mul_u64(1000)
            .map_or(i64::MIN, |p| p.ceil_to_i64()),
    };
    if ms < 0 {
        return Err(Reply::error("ERR timeout is negative"));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
}

/// Where a blocking command keeps its timeout.
pub fn timeout_arg(args: &[Bytes]) -> Option<&Bytes> {
    let name = args.first()?;
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("blmpop") || is("bzmpop") {
        args.get(1)
    } else if is("brpoplpush") {
        args.get(3)
    } else if is("blmove") {
        args.get(5)
    } else {
        args.last()
    }
}

/// `check` of a blocking command whose only free argument is the timeout.
pub fn check_timeout(args: &[Bytes]) -> Result<(), Reply> {
    match timeout_arg(args) {
        Some(t) => parse_timeout(t).map(drop),
        None => Ok(()),
    }
}

/// What a blocking command answers when its timeout expires: a null
/// array whatever the command (`*-1` in RESP2), as Redis 7.0 answers.
pub fn timeout_reply() -> Reply {
    Reply::NullArray
}

/// What a blocking command answers inside MULTI when every key is empty
/// (it never blocks there): its plain form's null.
pub fn multi_reply(args: &[Bytes]) -> Reply {
    let single = args.first().is_some_and(|n| {
        n.eq_ignore_ascii_case(b"blmove") || n.eq_ignore_ascii_case(b"brpoplpush")
    });
    if single {
        Reply::Null
    } else {
        Reply::NullArray
    }
}

struct Waiter {
    id: u64,
    wake: Arc<Wake>,
}

/// One blocked client's wake-up: its notify, and whether it is proposing
/// its command right now (then a write wakes the next waiter instead; the
/// client itself retries if a write applied while it was proposing).
#[derive(Default)]
pub struct Wake {
    notify: Notify,
    in_flight: std::sync::atomic::AtomicBool,
}

/// The node's blocked clients, queued per key.
#[derive(Default)]
pub struct Blocking {
    queues: Mutex<HashMap<Vec<u8>, VecDeque<Waiter>>>,
    /// Waiters registered: lets writes skip the lock when nobody waits.
    count: AtomicUsize,
    next_id: AtomicU64,
    /// Bumped by every write to a key someone waits on.
    epoch: AtomicU64,
    /// Clients inside a blocking command (INFO's `blocked_clients`).
    clients: AtomicUsize,
}

/// Counts a client as blocked while it lives.
struct BlockedGuard<'a>(&'a AtomicUsize);

impl Drop for BlockedGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Blocking {
    /// Clients blocked in a blocking command now.
    pub fn blocked_clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Queues waiter `id` at the tail of each of `keys`' queues, once.
    fn register(&self, id: u64, keys: &[Bytes], wake: &Arc<Wake>) {
        let mut q = self.queues.lock();
        for k in keys {
            let queue = q.entry(k.to_vec()).or_default();
            if queue.iter().all(|w| w.id != id) {
                queue.push_back(Waiter {
                    id,
                    wake: wake.clone(),
                });
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn unregister(&self, id: u64, keys: &[Bytes]) {
        let mut q = self.queues.lock();
        for k in keys {
            if let Some(queue) = q.get_mut(&k[..]) {
                let before = queue.len();
                queue.retain(|w| w.id != id);
                self.count
                    .fetch_sub(before - queue.len(), Ordering::Relaxed);
                if queue.is_empty() {
                    q.remove(&k[..]);
                }
            }
        }
    }

    /// Writes touched `keys`: wakes, for each, its first waiter that is not
    /// proposing already.
    pub fn notify<K: AsRef<[u8]>>(&self, keys: &[K]) {
        if self.count.load(Ordering::Relaxed) == 0 || keys.is_empty() {
            return;
        }
        let q = self.queues.lock();
        for k in keys {
            let Some(queue) = q.get(k.as_ref()) else {
                continue;
            };
            self.epoch.fetch_add(1, Ordering::SeqCst);
            if let Some(w) = queue
                .iter()
                .find(|w| !w.wake.in_flight.load(Ordering::SeqCst))
            {
                w.wake.notify.notify_one();
            }
        }
    }
}

/// What a blocked client is told when this node stops leading its keys'
/// shard: Redis's reply to clients blocked on a master that a failover
/// turned into a replica (`disconnectAllBlockedClients`).
pub const UNBLOCKED: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

/// How often a blocked client checks that this node still leads its
/// keys' shard (else it is answered [`UNBLOCKED`]).
const LEADER_POLL: Duration = Duration::from_millis(100);

/// Runs one blocking command for a connection to its reply: proposes it,
/// and while it would block waits for a write to its keys, its timeout,
/// the client closing (`closed` resolves) or a leadership change.
pub async fn run(
    session: &mut crate::session::Session,
    node: &crate::node::Node,
    args: Vec<Bytes>,
    mut closed: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Option<Reply> {
    use crate::dispatch::{dispatch, Outcome};
    let keys: Vec<Bytes> = crate::cmd::lookup(&args[0])
        .map(|s| {
            s.key_indexes(&args)
                .into_iter()
                .map(|i| args[i].clone())
                .collect()
        })
        .unwrap_or_default();
    let deadline = timeout_arg(&args)
        .and_then(|t| parse_timeout(t).ok().flatten())
        // Past what an Instant can hold: no deadline, as good as forever.
        .and_then(|d| Instant::now().checked_add(d));
    let shard = keys.first().and_then(|k| node.shard_of_key(k));
    let reg = &node.blocking;
    let id = reg.new_id();
    let wake = Arc::new(Wake::default());
    let mut guard = None;
    let leave = || {
        reg.unregister(id, &keys);
        // A wake-up it may have taken goes to the next waiter.
        reg.notify(&keys);
    };
    // Queued before the first proposal (as in flight: writes wake others),
    // so a write racing with it moves the epoch.
    wake.in_flight.store(true, Ordering::SeqCst);
    reg.register(id, &keys, &wake);
    loop {
        wake.in_flight.store(true, Ordering::SeqCst);
        let epoch = reg.epoch.load(Ordering::SeqCst);
        let reply = match dispatch(session, node, args.clone()) {
            Outcome::Reply(r) => r,
            Outcome::Pending(p) => p.wait(node).await,
            Outcome::ReadIndex(..) => crate::dispatch::read_retry_error(),
        };
        if !is_would_block(&reply) {
            reg.unregister(id, &keys);
            return Some(reply);
        }
        wake.in_flight.store(false, Ordering::SeqCst);
        if guard.is_none() {
            reg.clients.fetch_add(1, Ordering::Relaxed);
            guard = Some(BlockedGuard(&reg.clients));
        }
        if reg.epoch.load(Ordering::SeqCst) != epoch {
            // A write to a watched key applied while it was proposing.
            continue;
        }
        // Wait for a wake-up, the deadline, the client, or leadership.
        loop {
            let sleep = match deadline {
                Some(d) => LEADER_POLL.min(d.saturating_duration_since(Instant::now())),
                None => LEADER_POLL,
            };
            tokio::select! {
                _ = wake.notify.notified() => break,
                _ = tokio::time::sleep(sleep) => {}
                _ = closed.as_mut() => {
                    leave();
                    return None;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                leave();
                return Some(timeout_reply());
            }
            if shard.is_some_and(|s| !node.raft.is_leader(s)) {
                // As Redis does when a failover turns a master into a
                // replica: an error, and the connection closes after it.
                leave();
                session.close_after_reply = true;
                return Some(Reply::error(UNBLOCKED));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Result<Option<u64>, String> {
        parse_timeout(s.as_bytes())
            .map(|d| d.map(|d| d.as_millis() as u64))
            .map_err(|e| match e {
                Reply::Error(t) => t,
                other => format!("{other:?}"),
            })
    }

    const NOT_A_FLOAT: &str = "ERR timeout is not a float or out of range";
    const NEGATIVE: &str = "ERR timeout is negative";

    /// Each expectation was checked against redis-server 7.0.15 (BLPOP on
    /// a key holding data: popped, or the error).
    #[test]
    fn timeouts_parse_as_redis_does() {
        for (arg, want) in [
            ("0", None),
            ("0.0", None),
            ("-0", None),
            ("-0.0001", None),
            ("-0.0009", None),
            // x87 rounding: -0.001L * 1000 is just above -1, ceil -0.
            ("-1e-3", None),
            ("-0.00099999999999999999999", None),
            ("0.0001", Some(1)),
            ("1e-400", Some(1)),
            ("3.6e-4951", Some(1)),
            ("0x1p-16445", Some(1)),
            ("0.001", Some(1)),
            ("0.01", Some(10)),
            ("+.5", Some(500)),
            ("5.", Some(5000)),
            ("1.5e3", Some(1_500_000)),
            ("0x10", Some(16_000)),
            ("0X10", Some(16_000)),
            ("0x1p3", Some(8000)),
            ("0X1P3", Some(8000)),
            ("0x.8", Some(500)),
            ("1e15", Some(1_000_000_000_000_000_000)),
            ("9223372036854775", Some(9_223_372_036_854_775_000)),
            ("9223372036854775.807", Some(i64::MAX as u64)),
            ("9223372036854775.806", Some(9_223_372_036_854_775_806)),
        ] {
            assert_eq!(ms(arg), Ok(want), "{arg:?}");
        }
        for arg in [
            "-1",
            "-0.5",
            "-2e-3",
            "-0x10",
            "-0x1p-9",
            "inf",
            "-inf",
            "+inf",
            "INF",
            "infinity",
            "-Infinity",
            "1e400",
            "-1e400",
            "1e16",
            "9.3e15",
            "99999999999999999999",
            "9223372036854775807",
            "9223372036854775.8075",
            "1.18973149535723176502e4932",
        ] {
            assert_eq!(ms(arg), Err(NEGATIVE.into()), "{arg:?}");
        }
        for arg in [
            "",
            " 1",
            "1 ",
            "abc",
            "nan",
            "NaN",
            "-nan",
            "nan(123)",
            "1_0",
            "0x",
            "0x.",
            "1e",
            "1e+",
            "--1",
            "1.5.5",
            "1e5000",
            "1e-5000",
            "1e-4951",
            "1.8e-4951",
            "0x1p-16446",
            "1.18973149535723176508e4932",
            "1\0",
            "\0",
            "1\0x",
        ] {
            assert_eq!(ms(arg), Err(NOT_A_FLOAT.into()), "{arg:?}");
        }
    }

    #[test]
    fn huge_timeouts_have_no_deadline_instead_of_overflowing() {
        let d = parse_timeout(b"9223372036854775").unwrap().unwrap();
        // What `run` does with it: no panic, and either a far deadline or
        // none at all (block until data).
        let deadline = Instant::now().checked_add(d);
        assert!(deadline.is_none_or(|t| t > Instant::now() + Duration::from_secs(86400)));
    }

    #[test]
    fn timeout_positions() {
        let a = |v: &[&str]| {
            v.iter()
                .map(|s| Bytes::from(s.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            timeout_arg(&a(&["BLPOP", "k", "1"])).map(|b| &b[..]),
            Some(&b"1"[..])
        );
        assert_eq!(
            timeout_arg(&a(&["BLMPOP", "2", "1", "k", "LEFT"])).map(|b| &b[..]),
            Some(&b"2"[..])
        );
        assert_eq!(
            timeout_arg(&a(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "3"])).map(|b| &b[..]),
            Some(&b"3"[..])
        );
    }
}
