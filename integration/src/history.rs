//! Histories of operations recorded by concurrent clients, for the
//! checkers in [`crate::linearizability`] and [`crate::workload_checks`].
//!
//! A history is what the clients *saw*, nothing more: for every operation
//! the client that ran it, the key, what it asked for (the *input*), when
//! it was sent (*invoke*), when its answer arrived (*complete*), and what
//! the answer was (the [`Outcome`]). This is the model of Jepsen, Knossos
//! and Porcupine:
//!
//! - [`Outcome::Ok`]: the server answered; the operation took effect at
//!   one instant between invoke and complete, and returned that result.
//! - [`Outcome::Fail`]: the operation *certainly did not* take effect (an
//!   error reply the server only gives before it applies anything, such
//!   as `MOVED` or `TRYAGAIN`). Checkers drop it.
//! - [`Outcome::Info`]: *indeterminate* — a timeout, a dropped
//!   connection, `ERR write outcome unknown`. The operation may have taken
//!   effect or not, and if it did, at any instant after its invoke: even
//!   after the client gave up, since the request may still sit in a queue
//!   or a Raft log. Its completion is therefore taken as +infinity,
//!   whatever [`Op::complete`] says (that field then only records when
//!   the client gave up, for reports). An indeterminate read tells
//!   nothing and checkers drop it.
//!
//! Times are nanoseconds since one shared epoch ([`Clock`]), taken from a
//! monotonic clock, so that invoke and complete times of different
//! clients compare. Real-time order is strict: operation `a` precedes `b`
//! only if `a.complete < b.invoke`; equal times count as concurrent,
//! which can only make a checker more lenient, never report a false
//! violation.
//!
//! Recording: a [`Recorder`] is cloned into every client task; each task
//! takes its own [`ClientLog`] (a plain `Vec`, no lock per operation) and
//! the log moves its operations into the recorder when it is dropped, so
//! a task that panics or is cancelled still hands in what it recorded.
//! An operation whose outcome was never recorded (the task was dropped
//! while awaiting the reply) stays [`Outcome::Info`], which is exactly
//! what it is.
//!
//! ```
//! use redraft_integration::history::{Recorder, Outcome};
//! use redraft_integration::linearizability::{RegisterOp, RegisterRet};
//!
//! let rec: Recorder<RegisterOp<u64>, RegisterRet<u64>> = Recorder::new();
//! let mut log = rec.client();
//! let p = log.invoke("k", RegisterOp::Write(1));
//! // ... send SET k 1, get +OK ...
//! log.ok(p, RegisterRet::Written);
//! let p = log.invoke("k", RegisterOp::Read);
//! // ... the GET times out ...
//! log.info(p);
//! drop(log);
//! let history = rec.take_history();
//! assert_eq!(history.ops.len(), 2);
//! assert!(matches!(history.ops[1].outcome, Outcome::Info));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Nanoseconds since a [`Clock`]'s epoch.
pub type Nanos = u64;

/// The completion time checkers give an indeterminate operation.
pub const INFINITY: Nanos = Nanos::MAX;

/// A monotonic clock shared by all clients of one run: every time is
/// nanoseconds since the same [`Instant`], so times of different clients
/// compare. `Copy`, so each task can hold its own.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// A clock with the given epoch.
    pub fn with_epoch(epoch: Instant) -> Clock {
        Clock { epoch }
    }

    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Nanoseconds since the epoch (saturating; 584 years fit).
    pub fn now(&self) -> Nanos {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(INFINITY - 1)
    }

    /// The time of `t` on this clock (0 if `t` is before the epoch).
    pub fn at(&self, t: Instant) -> Nanos {
        u64::try_from(t.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(INFINITY - 1)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// How an operation ended, as far as its client knows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome<O> {
    /// Answered with this result: it happened, once, in its interval.
    Ok(O),
    /// Certainly did not happen.
    Fail,
    /// May or may not have happened, at any time after its invoke.
    Info,
}

impl<O> Outcome<O> {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail)
    }

    pub fn is_info(&self) -> bool {
        matches!(self, Outcome::Info)
    }

    /// The result of an `Ok` outcome.
    pub fn ok(&self) -> Option<&O> {
        match self {
            Outcome::Ok(o) => Some(o),
            _ => None,
        }
    }
}

/// One operation of one client on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op<I, O> {
    /// The client (process) that ran it. Only for reports: checkers order
    /// operations by their times, not by client.
    pub process: u64,
    pub key: String,
    /// What was asked (a write of some value, a read, …).
    pub input: I,
    /// When the request was sent.
    pub invoke: Nanos,
    /// When the answer arrived (or, for [`Outcome::Info`], when the
    /// client gave up; [`INFINITY`] if it never recorded an outcome).
    /// Checkers read [`Op::effective_complete`].
    pub complete: Nanos,
    pub outcome: Outcome<O>,
}

impl<I, O> Op<I, O> {
    /// An answered operation.
    pub fn ok(
        process: u64,
        key: impl Into<String>,
        input: I,
        invoke: Nanos,
        complete: Nanos,
        output: O,
    ) -> Op<I, O> {
        Op {
            process,
            key: key.into(),
            input,
            invoke,
            complete,
            outcome: Outcome::Ok(output),
        }
    }

    /// An operation that certainly did not happen.
    pub fn fail(
        process: u64,
        key: impl Into<String>,
        input: I,
        invoke: Nanos,
        complete: Nanos,
    ) -> Op<I, O> {
        Op {
            process,
            key: key.into(),
            input,
            invoke,
            complete,
            outcome: Outcome::Fail,
        }
    }

    /// An indeterminate operation.
    pub fn info(process: u64, key: impl Into<String>, input: I, invoke: Nanos) -> Op<I, O> {
        Op {
            process,
            key: key.into(),
            input,
            invoke,
            complete: INFINITY,
            outcome: Outcome::Info,
        }
    }

    /// The completion time checkers use: [`INFINITY`] for an
    /// indeterminate operation, else [`Op::complete`].
    pub fn effective_complete(&self) -> Nanos {
        match self.outcome {
            Outcome::Info => INFINITY,
            _ => self.complete,
        }
    }
}

impl<I: fmt::Debug, O: fmt::Debug> fmt::Display for Op<I, O> {
    /// `process 3, Write(5) -> ok Written, [1.200ms .. 1.350ms]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {}, {:?} -> ", self.process, self.input)?;
        match &self.outcome {
            Outcome::Ok(o) => write!(f, "ok {o:?}")?,
            Outcome::Fail => write!(f, "fail")?,
            Outcome::Info => write!(f, "info (indeterminate)")?,
        }
        write!(
            f,
            ", [{} .. {}]",
            fmt_nanos(self.invoke),
            fmt_nanos(self.effective_complete())
        )
    }
}

/// `12.345ms` (since the epoch), or `inf` for [`INFINITY`].
pub fn fmt_nanos(t: Nanos) -> String {
    if t == INFINITY {
        "inf".to_string()
    } else {
        format!("{}.{:03}ms", t / 1_000_000, (t / 1_000) % 1_000)
    }
}

/// All operations of a run (every client, every key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History<I, O> {
    pub ops: Vec<Op<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History { ops: Vec::new() }
    }
}

impl<I, O> History<I, O> {
    pub fn new() -> History<I, O> {
        History::default()
    }

    /// A history of these operations, ordered by invoke time (then
    /// client), which reports read more easily; checkers do not depend on
    /// the order.
    pub fn from_ops(mut ops: Vec<Op<I, O>>) -> History<I, O> {
        ops.sort_by_key(|o| (o.invoke, o.process));
        History { ops }
    }

    pub fn push(&mut self, op: Op<I, O>) {
        self.ops.push(op);
    }

    /// Operations grouped by key (keys in order), each group in the order
    /// of [`History::ops`].
    pub fn by_key(&self) -> BTreeMap<&str, Vec<&Op<I, O>>> {
        let mut m: BTreeMap<&str, Vec<&Op<I, O>>> = BTreeMap::new();
        for op in &self.ops {
            m.entry(op.key.as_str()).or_default().push(op);
        }
        m
    }

    /// How many operations are `(ok, fail, info)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for op in &self.ops {
            match op.outcome {
                Outcome::Ok(_) => c.0 += 1,
                Outcome::Fail => c.1 += 1,
                Outcome::Info => c.2 += 1,
            }
        }
        c
    }

    /// Checks what every checker assumes: an answered or failed operation
    /// does not complete before it was invoked, and no time is
    /// [`INFINITY`] but an indeterminate completion.
    pub fn validate(&self) -> Result<(), String>
    where
        I: fmt::Debug,
        O: fmt::Debug,
    {
        for op in &self.ops {
            if op.invoke == INFINITY {
                return Err(format!("key {:?}: invoked at infinity: {op}", op.key));
            }
            if !op.outcome.is_info() && op.complete < op.invoke {
                return Err(format!(
                    "key {:?}: completes before it was invoked: {op}",
                    op.key
                ));
            }
        }
        Ok(())
    }
}

/// The shared end of a recording: clone it into every client task.
pub struct Recorder<I, O> {
    clock: Clock,
    shared: Arc<Shared<I, O>>,
}

struct Shared<I, O> {
    ops: Mutex<Vec<Op<I, O>>>,
    next_process: AtomicU64,
}

impl<I, O> Clone for Recorder<I, O> {
    fn clone(&self) -> Self {
        Recorder {
            clock: self.clock,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<I, O> Default for Recorder<I, O> {
    fn default() -> Self {
        Recorder::with_clock(Clock::new())
    }
}

impl<I, O> Recorder<I, O> {
    /// A recorder whose clock starts now.
    pub fn new() -> Recorder<I, O> {
        Recorder::default()
    }

    /// A recorder on a given clock (to share one epoch between several
    /// recorders, say one per workload).
    pub fn with_clock(clock: Clock) -> Recorder<I, O> {
        Recorder {
            clock,
            shared: Arc::new(Shared {
                ops: Mutex::new(Vec::new()),
                next_process: AtomicU64::new(0),
            }),
        }
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// A log for one client, with the next free process id (0, 1, 2, …).
    pub fn client(&self) -> ClientLog<I, O> {
        let id = self.shared.next_process.fetch_add(1, Ordering::Relaxed);
        self.client_with_id(id)
    }

    /// A log for one client with a chosen process id (ids are only used
    /// in reports; two logs may share one).
    pub fn client_with_id(&self, process: u64) -> ClientLog<I, O> {
        ClientLog {
            process,
            clock: self.clock,
            ops: Vec::new(),
            shared: Arc::clone(&self.shared),
        }
    }

    /// Takes every operation handed in so far (by dropped or finished
    /// [`ClientLog`]s) as one history ordered by invoke time. Logs still
    /// alive are not included: drop them (or [`ClientLog::finish`]) first.
    pub fn take_history(&self) -> History<I, O> {
        let ops = std::mem::take(&mut *self.shared.ops.lock().unwrap_or_else(|e| e.into_inner()));
        History::from_ops(ops)
    }
}

/// Proof that an operation was invoked; hand it back to
/// [`ClientLog::ok`], [`ClientLog::fail`] or [`ClientLog::info`] with the
/// outcome. Dropping it leaves the operation indeterminate.
#[must_use = "record the outcome with ok/fail/info (dropping it leaves the op indeterminate)"]
#[derive(Debug)]
pub struct Pending {
    process: u64,
    index: usize,
}

/// One client's operations, recorded without locking; handed to the
/// [`Recorder`] on drop.
pub struct ClientLog<I, O> {
    process: u64,
    clock: Clock,
    ops: Vec<Op<I, O>>,
    shared: Arc<Shared<I, O>>,
}

impl<I, O> ClientLog<I, O> {
    pub fn process(&self) -> u64 {
        self.process
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Records that an operation is being sent now. Until an outcome is
    /// recorded it is indeterminate.
    pub fn invoke(&mut self, key: impl Into<String>, input: I) -> Pending {
        let invoke = self.clock.now();
        self.ops.push(Op::info(self.process, key, input, invoke));
        Pending {
            process: self.process,
            index: self.ops.len() - 1,
        }
    }

    /// The answer arrived: the operation happened and returned `output`.
    pub fn ok(&mut self, p: Pending, output: O) {
        self.resolve(p, Outcome::Ok(output));
    }

    /// The operation certainly did not happen.
    pub fn fail(&mut self, p: Pending) {
        self.resolve(p, Outcome::Fail);
    }

    /// The outcome is unknown (timeout, dropped connection, …).
    pub fn info(&mut self, p: Pending) {
        self.resolve(p, Outcome::Info);
    }

    /// Records the outcome the client derived for a pending operation.
    pub fn resolve(&mut self, p: Pending, outcome: Outcome<O>) {
        let now = self.clock.now();
        assert!(
            p.process == self.process && p.index < self.ops.len(),
            "Pending of process {} resolved on the log of process {}",
            p.process,
            self.process
        );
        let op = &mut self.ops[p.index];
        op.complete = now.max(op.invoke);
        op.outcome = outcome;
    }

    /// Operations recorded so far.
    pub fn ops(&self) -> &[Op<I, O>] {
        &self.ops
    }

    /// Hands the operations to the recorder now (same as dropping).
    pub fn finish(self) {}
}

impl<I, O> Drop for ClientLog<I, O> {
    fn drop(&mut self) {
        let ops = std::mem::take(&mut self.ops);
        if !ops.is_empty() {
            self.shared
                .ops
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(ops);
        }
    }
}

/// How to record an operation that got an error instead of a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Certainly not applied: record [`Outcome::Fail`].
    Fail,
    /// Maybe applied: record [`Outcome::Info`].
    Info,
}

/// Classifies an error reply by its code (its first word): `Fail` only
/// for codes a server gives before it applies anything; everything else
/// is `Info`, since calling an applied write "failed" makes a checker
/// report a violation that is not one, while calling a failed write
/// "indeterminate" only makes the check weaker.
///
/// - `Fail`: `MOVED`, `ASK` (redirected before running), `TRYAGAIN`
///   (redraft: a write that lost its log position to a leader change and
///   was not applied; a read that did not run), `CROSSSLOT`,
///   `WRONGTYPE`, `EXECABORT` (a transaction with a bad command runs
///   nothing), `NOSCRIPT`, `NOAUTH`, `NOPERM`, `READONLY`, `LOADING`,
///   `MASTERDOWN`, `BUSY`.
/// - `Info`: everything else, notably `ERR write outcome unknown`, any
///   other `ERR`, and `CLUSTERDOWN`: redraft answers a write whose entry
///   was already in the Raft log with `CLUSTERDOWN` when the node's Raft
///   store stops (or its reply channel is dropped), and another replica
///   may still commit that entry.
///
/// Only writes need this: an errored read is dropped either way.
pub fn classify_error_reply(reply: &str) -> ErrorClass {
    let reply = reply.strip_prefix('-').unwrap_or(reply).trim_start();
    let code = reply.split_ascii_whitespace().next().unwrap_or("");
    match code {
        "MOVED" | "ASK" | "TRYAGAIN" | "CROSSSLOT" | "WRONGTYPE" | "EXECABORT" | "NOSCRIPT"
        | "NOAUTH" | "NOPERM" | "READONLY" | "LOADING" | "MASTERDOWN" | "BUSY" => ErrorClass::Fail,
        _ => ErrorClass::Info,
    }
}

/// [`classify_error_reply`] for a `redis` crate error: a server error by
/// its code; any other error (I/O, timeout, dropped connection, parse
/// error, a client-side error after sending) is `Info`.
pub fn classify_redis_error(e: &redis::RedisError) -> ErrorClass {
    match e.code() {
        Some(code) => classify_error_reply(code),
        None => ErrorClass::Info,
    }
}

impl ErrorClass {
    /// The outcome to record.
    pub fn outcome<O>(self) -> Outcome<O> {
        match self {
            ErrorClass::Fail => Outcome::Fail,
            ErrorClass::Info => Outcome::Info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_logs_merge_into_one_history_ordered_by_invoke() {
        let rec: Recorder<&'static str, u32> = Recorder::new();
        let mut a = rec.client();
        let mut b = rec.client();
        let pa = a.invoke("k", "a1");
        let pb = b.invoke("k", "b1");
        b.ok(pb, 2);
        a.fail(pa);
        let pa2 = a.invoke("j", "a2");
        let _dropped = pa2; // outcome never recorded
        drop(b);
        a.finish();
        let h = rec.take_history();
        assert_eq!(h.ops.len(), 3);
        assert!(h.ops.windows(2).all(|w| w[0].invoke <= w[1].invoke));
        let a2 = h.ops.iter().find(|o| o.input == "a2").unwrap();
        assert_eq!(a2.outcome, Outcome::Info);
        assert_eq!(a2.effective_complete(), INFINITY);
        let b1 = h.ops.iter().find(|o| o.input == "b1").unwrap();
        assert_eq!(b1.outcome, Outcome::Ok(2));
        assert!(b1.complete >= b1.invoke);
        assert_ne!(a2.process, b1.process);
        assert_eq!(h.counts(), (1, 1, 1));
        assert!(h.validate().is_ok());
        assert!(rec.take_history().ops.is_empty(), "taken once");
    }

    #[test]
    fn a_log_dropped_by_a_panicking_task_still_hands_in_its_ops() {
        let rec: Recorder<u8, u8> = Recorder::new();
        let r = rec.clone();
        let res = std::thread::spawn(move || {
            let mut log = r.client_with_id(7);
            let _p = log.invoke("k", 1);
            panic!("client task dies mid-operation");
        })
        .join();
        assert!(res.is_err());
        let h = rec.take_history();
        assert_eq!(h.ops.len(), 1);
        assert_eq!(h.ops[0].process, 7);
        assert!(h.ops[0].outcome.is_info());
    }

    #[test]
    fn validate_rejects_an_op_completing_before_its_invoke() {
        let h: History<u8, u8> = History::from_ops(vec![Op::ok(0, "k", 1, 10, 5, 1)]);
        let e = h.validate().unwrap_err();
        assert!(e.contains("completes before"), "{e}");
    }

    #[test]
    fn error_replies_are_fail_only_when_known_not_applied() {
        for r in [
            "MOVED 3999 127.0.0.1:6381",
            "-ASK 1 127.0.0.1:1",
            "TRYAGAIN Write lost to a leader change and not applied, retry",
            "CROSSSLOT Keys in request don't hash to the same slot",
            "EXECABORT Transaction discarded because of previous errors.",
        ] {
            assert_eq!(classify_error_reply(r), ErrorClass::Fail, "{r}");
        }
        for r in [
            "ERR write outcome unknown (leadership changed while it was in flight); check before retrying",
            "CLUSTERDOWN The cluster is down",
            "ERR something else",
            "",
        ] {
            assert_eq!(classify_error_reply(r), ErrorClass::Info, "{r}");
        }
        let io = redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "timed out",
        ));
        assert_eq!(classify_redis_error(&io), ErrorClass::Info);
    }
}
