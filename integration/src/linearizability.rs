//! A linearizability checker for recorded histories ([`crate::history`]),
//! with models of a register (SET/GET/compare-and-set) and a counter
//! (INCR/GET).
//!
//! # What it decides
//!
//! A history is *linearizable* (Herlihy & Wing 1990) if every operation
//! can be given one instant inside its interval `[invoke, complete]` at
//! which it took effect, such that running the operations one at a time
//! in the order of those instants on a sequential model of the object
//! gives exactly the results the clients saw. Operations that failed
//! ([`Outcome::Fail`]) are left out; indeterminate ones
//! ([`Outcome::Info`]) may be given an instant anywhere after their
//! invoke, or none at all, and their result is not checked. An
//! indeterminate read is dropped: it changes nothing and its result is
//! unknown.
//!
//! # How
//!
//! Keys are independent objects, and a history is linearizable exactly
//! when its restriction to each key is (linearizability is *local*,
//! Herlihy & Wing; Horn & Kroening 2015 call exploiting this
//! P-compositionality), so each key is checked on its own, keys in
//! parallel.
//!
//! For one key, the search is Wing & Gong's (1993) backtracking search as
//! improved by Lowe (2017, "Testing for linearizability") and used by
//! Porcupine: the calls and returns of the answered operations are laid
//! out as one list in time order. Walking the list from its start, the
//! search tries to *linearize* each call it meets — apply the operation
//! to the current model state and check its result — and on success
//! removes that operation (call and return) from the list and starts
//! over from the list's start. Meeting a *return* means that operation
//! had to take effect by now and could not in the state reached, so the
//! last choice is undone (the operation is put back, the previous state
//! restored) and the walk goes on with the call after it. The history is
//! linearizable once every answered operation has been placed; it is not
//! if undoing runs out of choices.
//!
//! Memoization (Lowe): a pair (set of operations placed so far, model
//! state) that was reached once and led nowhere leads nowhere again, so
//! every pair is kept in a cache and a step to a pair already in it is
//! not taken. This turns the factorial search into one bounded by the
//! number of distinct pairs, which for real histories (a handful of
//! clients, so a handful of operations open at any time) is small.
//!
//! Three further cuts, each keeping the answer exact:
//!
//! - An open operation that changes nothing (a read, a compare-and-set
//!   that answered "no") and whose result fits the current state is
//!   placed at once, with no alternative tried: any linearization can be
//!   rearranged to place it there, since it changes no state another
//!   operation sees. Wrongly ordered reads are most of what the plain
//!   search undoes; this removes them.
//! - Indeterminate operations (no return, so they never force an undo)
//!   are tried only where the answered ones cannot go on: at a return
//!   that cannot be placed, each indeterminate operation invoked by then
//!   is tried before undoing. Once only they remain the search is done:
//!   those left out never happened.
//! - The cache keeps, for each (answered operations placed, state), the
//!   sets of indeterminate operations placed on the way; a node that
//!   placed a superset of one of those has fewer options left and is cut
//!   (an unread write placed and then overwritten leaves such a node).
//!
//! And three that keep indeterminate operations from multiplying the
//! search:
//!
//! - One whose step would leave the state as it is is not placed:
//!   leaving it out of a linearization gives another one.
//! - Those with equal inputs (say `INCR k 1`) are interchangeable, so only
//!   the earliest invoked of them not yet placed may be placed next;
//!   otherwise each subset of them would be searched separately.
//! - Register values that no answered operation ever compares with (no
//!   read returned them, no compare-and-set expected them) behave alike,
//!   so they are one value to the model ([`RegVal::Unseen`]): a key with
//!   many indeterminate writes of never-read values costs little more
//!   than one with a single one.
//!
//! A first pass places at most one indeterminate operation between two
//! answered ones, which finds a linearization of nearly every real
//! history quickly; only if it does not is the complete search run (a
//! violation is only ever reported by the complete search).
//!
//! The search is still exponential in the worst case (the problem is
//! NP-complete, Gibbons & Korach 1997), so it is bounded by
//! [`CheckOptions::max_steps_per_key`] and
//! [`CheckOptions::time_limit_per_key`]; a key that runs out gets
//! [`Verdict::Unknown`], which is not a pass and not a violation.
//!
//! # Using it
//!
//! Record a [`History`] of [`RegisterOp`]/[`RegisterRet`] (or
//! [`CounterOp`]/`i64`) with a [`crate::history::Recorder`], then call
//! [`check_register`] (or [`check_counter`]) and look at
//! [`LinReport::status`]; `Display` of the report prints what went wrong.
//! Any other sequential object can be checked by implementing [`Model`]
//! and calling [`check`].
//!
//! Compare-and-set over Redis is WATCH, GET, then MULTI/SET/EXEC when the
//! value matches. Record `Ok(Cas(false))` only when the GET showed a value
//! other than the expected one (that GET is the instant it took effect);
//! record an aborted EXEC (nil reply) as [`Outcome::Fail`]: nothing ran,
//! and WATCH may abort for reasons other than a changed value.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::history::{History, Nanos, Op, Outcome, INFINITY};

/// A sequential specification of one object (one key).
pub trait Model: Sync {
    /// What an operation asks (must be hashable: equal indeterminate
    /// inputs are treated as interchangeable).
    type Input: Clone + Eq + Hash + fmt::Debug + Send + Sync;
    type Output: Clone + fmt::Debug + Send + Sync;
    type State: Clone + Eq + Hash + fmt::Debug;

    /// The state of a key nobody wrote.
    fn init(&self) -> Self::State;

    /// Runs `input` in `state`. With `Some(output)` (an answered
    /// operation) returns the next state if the model gives exactly that
    /// output, else `None`. With `None` (indeterminate: any output) it
    /// returns the next state, or `None` if the input cannot run at all.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Whether the input never changes the state (an indeterminate one
    /// is dropped).
    fn is_read_only(&self, input: &Self::Input) -> bool;

    /// Whether an answered op with this input and output leaves the
    /// state unchanged in every state it can run in (a read; a
    /// compare-and-set that answered "no"). The search places such an op
    /// as soon as it fits, trying no alternative, which is what keeps it
    /// fast; answering `false` is always safe, only slower.
    fn is_read_only_answer(&self, input: &Self::Input, _output: &Self::Output) -> bool {
        self.is_read_only(input)
    }

    /// Rejects an answered operation whose output cannot belong to its
    /// input (a write answered like a read), a bug in the recording.
    fn check_op(&self, _input: &Self::Input, _output: &Self::Output) -> Result<(), String> {
        Ok(())
    }
}

/// Bounds on the search; a key that exceeds one is [`Verdict::Unknown`].
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// List entries visited per key (each costs about one model step).
    pub max_steps_per_key: u64,
    /// Wall-clock time per key.
    pub time_limit_per_key: Option<Duration>,
    /// Keys checked at once; 0: one per available CPU.
    pub threads: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_steps_per_key: 10_000_000,
            time_limit_per_key: Some(Duration::from_secs(10)),
            threads: 0,
        }
    }
}

/// The answer for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No linearization exists.
    Violation(Violation),
    /// The search ran out of steps or time: neither a pass nor a failure.
    Unknown(String),
    /// The history of this key is malformed (a recording bug).
    Invalid(String),
}

/// Why a key's history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The operation that could not be placed, where the search got
    /// furthest.
    pub op: String,
    /// The model state it could not be placed in.
    pub state: String,
    /// A few sentences for a human, with the operations placed just
    /// before and the ones still open.
    pub explanation: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explanation)
    }
}

/// The result for one key, with what was checked and what it cost.
#[derive(Clone, Debug)]
pub struct KeyReport {
    pub verdict: Verdict,
    /// Answered operations checked.
    pub completed: usize,
    /// Indeterminate writes considered.
    pub indeterminate: usize,
    /// Failed operations and indeterminate reads left out.
    pub dropped: usize,
    /// List entries the search visited.
    pub steps: u64,
    pub elapsed: Duration,
}

/// The worst verdict over all keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Linearizable,
    Unknown,
    Invalid,
    Violation,
}

/// Per-key results of [`check`].
#[derive(Clone, Debug, Default)]
pub struct LinReport {
    pub keys: BTreeMap<String, KeyReport>,
}

impl LinReport {
    /// The worst verdict: any violation, else any invalid key, else any
    /// unknown one, else linearizable.
    pub fn status(&self) -> Status {
        self.keys
            .values()
            .map(|k| match k.verdict {
                Verdict::Linearizable => Status::Linearizable,
                Verdict::Unknown(_) => Status::Unknown,
                Verdict::Invalid(_) => Status::Invalid,
                Verdict::Violation(_) => Status::Violation,
            })
            .max()
            .unwrap_or(Status::Linearizable)
    }

    /// Every key linearizable (none unknown).
    pub fn is_linearizable(&self) -> bool {
        self.status() == Status::Linearizable
    }

    pub fn violations(&self) -> Vec<(&str, &Violation)> {
        self.keys
            .iter()
            .filter_map(|(k, r)| match &r.verdict {
                Verdict::Violation(v) => Some((k.as_str(), v)),
                _ => None,
            })
            .collect()
    }

    /// Keys whose search ran out of budget.
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.keys
            .iter()
            .filter(|(_, r)| matches!(r.verdict, Verdict::Unknown(_)))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// One line: counts of keys per verdict, operations, steps.
    pub fn summary(&self) -> String {
        let mut counts = [0usize; 4];
        let (mut ops, mut info, mut steps) = (0, 0, 0);
        for r in self.keys.values() {
            let i = match r.verdict {
                Verdict::Linearizable => 0,
                Verdict::Violation(_) => 1,
                Verdict::Unknown(_) => 2,
                Verdict::Invalid(_) => 3,
            };
            counts[i] += 1;
            ops += r.completed;
            info += r.indeterminate;
            steps += r.steps;
        }
        format!(
            "{} keys: {} linearizable, {} violation, {} unknown, {} invalid; \
             {ops} answered + {info} indeterminate ops checked in {steps} steps",
            self.keys.len(),
            counts[0],
            counts[1],
            counts[2],
            counts[3]
        )
    }
}

impl fmt::Display for LinReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for (k, r) in &self.keys {
            match &r.verdict {
                Verdict::Linearizable => {}
                Verdict::Violation(v) => writeln!(f, "key {k:?}: VIOLATION: {v}")?,
                Verdict::Unknown(why) => writeln!(f, "key {k:?}: UNKNOWN: {why}")?,
                Verdict::Invalid(why) => writeln!(f, "key {k:?}: INVALID: {why}")?,
            }
        }
        Ok(())
    }
}

/// An operation of a model's history.
type OpOf<M> = Op<<M as Model>::Input, <M as Model>::Output>;

/// Checks every key of `history` against `model`.
pub fn check<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    opts: &CheckOptions,
) -> LinReport {
    let groups: Vec<(&str, Vec<&OpOf<M>>)> = history.by_key().into_iter().collect();
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, groups.len().max(1));
    let results: Mutex<Vec<(usize, KeyReport)>> = Mutex::new(Vec::with_capacity(groups.len()));
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some((_, ops)) = groups.get(i) else {
            return;
        };
        let r = check_key(model, ops, opts);
        results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((i, r));
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let mut keys = BTreeMap::new();
    for (i, r) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        keys.insert(groups[i].0.to_string(), r);
    }
    LinReport { keys }
}

/// One operation as the search sees it.
struct Prepared<'a, M: Model> {
    input: &'a M::Input,
    /// `None`: indeterminate.
    output: Option<&'a M::Output>,
    invoke: Nanos,
    complete: Nanos,
    orig: &'a Op<M::Input, M::Output>,
}

const NONE: u32 = u32::MAX;

/// Checks the operations of one key.
pub fn check_key<M: Model>(
    model: &M,
    ops: &[&Op<M::Input, M::Output>],
    opts: &CheckOptions,
) -> KeyReport {
    let started = Instant::now();
    let mut report = KeyReport {
        verdict: Verdict::Linearizable,
        completed: 0,
        indeterminate: 0,
        dropped: 0,
        steps: 0,
        elapsed: Duration::ZERO,
    };
    let mut kept: Vec<Prepared<M>> = Vec::with_capacity(ops.len());
    for op in ops {
        if op.invoke == INFINITY || (!op.outcome.is_info() && op.complete < op.invoke) {
            report.verdict = Verdict::Invalid(format!("bad times: {op}"));
            return report;
        }
        match &op.outcome {
            Outcome::Fail => report.dropped += 1,
            Outcome::Info if model.is_read_only(&op.input) => report.dropped += 1,
            Outcome::Info => {
                report.indeterminate += 1;
                kept.push(Prepared {
                    input: &op.input,
                    output: None,
                    invoke: op.invoke,
                    complete: INFINITY,
                    orig: op,
                });
            }
            Outcome::Ok(out) => {
                if let Err(e) = model.check_op(&op.input, out) {
                    report.verdict = Verdict::Invalid(format!("{e}: {op}"));
                    return report;
                }
                report.completed += 1;
                kept.push(Prepared {
                    input: &op.input,
                    output: Some(out),
                    invoke: op.invoke,
                    complete: op.complete,
                    orig: op,
                });
            }
        }
    }
    if kept.len() >= NONE as usize / 2 {
        report.verdict = Verdict::Invalid(format!("too many operations ({})", kept.len()));
        return report;
    }
    kept.sort_by_key(|p| (p.invoke, p.orig.process));
    let mut search = Search::new(model, &kept, opts, started);
    report.verdict = search.run();
    report.steps = search.steps;
    report.elapsed = started.elapsed();
    report
}

/// The state of one key's search.
///
/// Two lists, both Knuth's dancing links over arrays (a removed node
/// keeps its neighbours, so putting nodes back in the reverse order of
/// removal restores the list): the calls and returns of the answered
/// operations in time order, and the indeterminate operations that may
/// be placed next. The state that changes as the search goes is in
/// [`Walk`] and the undo stack.
struct Search<'a, 'o, M: Model> {
    model: &'a M,
    ops: &'a [Prepared<'o, M>],
    opts: &'a CheckOptions,
    started: Instant,
    /// The event list of answered operations; `head`/`tail` sentinels.
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per node: its operation, and whether it is the call.
    node_op: Vec<u32>,
    node_is_call: Vec<bool>,
    node_time: Vec<Nanos>,
    call_node: Vec<u32>,
    ret_node: Vec<u32>,
    head: u32,
    tail: u32,
    /// The list of indeterminate operations that may be placed next,
    /// indexed by op (`n` and `n + 1` are its sentinels). Indeterminate
    /// ops with equal inputs form a class placed in invoke order, so the
    /// list holds one op per class, the earliest not placed: placing it
    /// puts the next of its class in its place.
    info_next: Vec<u32>,
    info_prev: Vec<u32>,
    info_head: u32,
    info_tail: u32,
    /// For an indeterminate op: the next op of its class (or `NONE`).
    succ: Vec<u32>,
    zobrist: Vec<u64>,
    steps: u64,
    best: Option<Deepest<M::State>>,
}

/// Where the search got furthest, for the explanation.
struct Deepest<S> {
    placed_ok: usize,
    blocked: u32,
    state: S,
    last_placed: Vec<u32>,
    open: Vec<u32>,
}

/// Where the walk is: at a node of the answered list, or, once that
/// reached the return node `stuck`, at an indeterminate op that could be
/// placed before it.
#[derive(Clone, Copy)]
enum Cursor {
    /// At a node just reached.
    Start,
    Answered(u32),
    Indeterminate {
        at: u32,
        stuck: u32,
    },
    /// Every child of the node was tried: undo the last placement.
    Undo,
}

/// What one pass of the search changes as it goes.
struct Walk<S> {
    state: S,
    remaining_ok: usize,
    /// Answered and indeterminate ops placed, each set indexed by the
    /// op's rank among its kind.
    ok_bits: Vec<u64>,
    info_bits: Vec<u64>,
    ok_ord: Vec<u32>,
    info_ord: Vec<u32>,
    /// Zobrist hash of `ok_bits`.
    ok_hash: u64,
    cache: Cache<S>,
}

impl<S> Walk<S> {
    fn new<M: Model<State = S>>(ops: &[Prepared<'_, M>], state: S) -> Walk<S> {
        let n = ops.len();
        let mut ok_ord = vec![NONE; n];
        let mut info_ord = vec![NONE; n];
        let (mut total_ok, mut total_info) = (0usize, 0usize);
        for (i, p) in ops.iter().enumerate() {
            if p.output.is_some() {
                ok_ord[i] = total_ok as u32;
                total_ok += 1;
            } else {
                info_ord[i] = total_info as u32;
                total_info += 1;
            }
        }
        Walk {
            state,
            remaining_ok: total_ok,
            ok_bits: vec![0u64; total_ok.div_ceil(64).max(1)],
            info_bits: vec![0u64; total_info.div_ceil(64).max(1)],
            ok_ord,
            info_ord,
            ok_hash: 0,
            cache: HashMap::default(),
        }
    }
}

struct Frame<S> {
    op: u32,
    /// The state before the op was placed.
    state: S,
    /// For an indeterminate op: the return node the walk was stuck at
    /// when it was placed (the walk goes on from there when it is undone).
    stuck: Option<u32>,
    /// Indeterminate ops placed in a row, ending with this one.
    chain: u32,
    /// Placed with no alternative tried (see [`Cursor::Start`] in
    /// `search`): undoing it undoes its node too.
    forced: bool,
}

/// A set of operation indices, stored by whichever of two forms is
/// smaller (the choice depends only on the set, so equal sets compare
/// equal): the indices *not* in the set below its highest member, or the
/// bits. The placed set is almost always "everything up to some point,
/// except a few".
#[derive(Clone, PartialEq, Eq)]
enum SetRepr {
    Holes { len: u32, holes: Box<[u32]> },
    Bits(Box<[u64]>),
}

fn set_repr(bits: &[u64]) -> SetRepr {
    let Some(top) = bits.iter().rposition(|&w| w != 0) else {
        return SetRepr::Holes {
            len: 0,
            holes: Box::new([]),
        };
    };
    let len = top as u32 * 64 + (64 - bits[top].leading_zeros());
    let ones: u32 = bits[..=top].iter().map(|w| w.count_ones()).sum();
    let zeros = len - ones;
    if u64::from(zeros) * 32 <= u64::from(len) {
        let mut holes = Vec::with_capacity(zeros as usize);
        for (wi, &w) in bits[..=top].iter().enumerate() {
            let mut inv = !w;
            if wi == top {
                let used = len - top as u32 * 64;
                if used < 64 {
                    inv &= (1u64 << used) - 1;
                }
            }
            while inv != 0 {
                let b = inv.trailing_zeros();
                holes.push(wi as u32 * 64 + b);
                inv &= inv - 1;
            }
        }
        SetRepr::Holes {
            len,
            holes: holes.into_boxed_slice(),
        }
    } else {
        SetRepr::Bits(bits[..=top].into())
    }
}

/// The cache is keyed by a hash already mixed (Zobrist hash of the set
/// xor the state's hash), so its map need not hash it again.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Per (answered ops placed, state): the sets of indeterminate ops
/// placed with which the search reached it.
struct CacheEntry<S> {
    ok: SetRepr,
    state: S,
    infos: Vec<Box<[u64]>>,
}

type Cache<S> = HashMap<u64, Vec<CacheEntry<S>>, BuildHasherDefault<PassThrough>>;

/// Whether every member of `a` is in `b` (same length).
fn is_subset(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x & !y == 0)
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn flip(bits: &mut [u64], i: usize) {
    bits[i / 64] ^= 1u64 << (i % 64);
}

impl<'a, 'o, M: Model> Search<'a, 'o, M> {
    fn new(
        model: &'a M,
        ops: &'a [Prepared<'o, M>],
        opts: &'a CheckOptions,
        started: Instant,
    ) -> Self {
        let n = ops.len();
        // Events of answered ops: (time, 0 = call / 1 = return, op). At
        // equal times calls come first: touching intervals overlap.
        let mut events: Vec<(Nanos, u8, u32)> = Vec::with_capacity(2 * n);
        for (i, p) in ops.iter().enumerate() {
            if p.output.is_some() {
                events.push((p.invoke, 0, i as u32));
                events.push((p.complete, 1, i as u32));
            }
        }
        events.sort_unstable();
        let m = events.len();
        let (head, tail) = (m as u32, m as u32 + 1);
        let mut next = vec![NONE; m + 2];
        let mut prev = vec![NONE; m + 2];
        let mut node_op = vec![NONE; m];
        let mut node_is_call = vec![false; m];
        let mut node_time = vec![0; m];
        let mut call_node = vec![NONE; n];
        let mut ret_node = vec![NONE; n];
        let mut last = head;
        for (node, &(time, kind, op)) in events.iter().enumerate() {
            let node = node as u32;
            node_op[node as usize] = op;
            node_is_call[node as usize] = kind == 0;
            node_time[node as usize] = time;
            if kind == 0 {
                call_node[op as usize] = node;
            } else {
                ret_node[op as usize] = node;
            }
            next[last as usize] = node;
            prev[node as usize] = last;
            last = node;
        }
        next[last as usize] = tail;
        prev[tail as usize] = last;

        // `ops` is in invoke order, so each class is too.
        let (info_head, info_tail) = (n as u32, n as u32 + 1);
        let mut info_next = vec![NONE; n + 2];
        let mut info_prev = vec![NONE; n + 2];
        let mut last = info_head;
        let mut succ = vec![NONE; n];
        let mut last_of_input: HashMap<&M::Input, u32> = HashMap::new();
        for (i, p) in ops.iter().enumerate() {
            if p.output.is_none() {
                match last_of_input.insert(p.input, i as u32) {
                    Some(prev_i) => succ[prev_i as usize] = i as u32,
                    None => {
                        info_next[last as usize] = i as u32;
                        info_prev[i] = last;
                        last = i as u32;
                    }
                }
            }
        }
        info_next[last as usize] = info_tail;
        info_prev[info_tail as usize] = last;
        let zobrist = (0..n as u64).map(|i| splitmix64(i ^ 0x5eed)).collect();
        Search {
            model,
            ops,
            opts,
            started,
            next,
            prev,
            node_op,
            node_is_call,
            node_time,
            call_node,
            ret_node,
            head,
            tail,
            info_next,
            info_prev,
            info_head,
            info_tail,
            succ,
            zobrist,
            steps: 0,
            best: None,
        }
    }

    fn unlink(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = x;
        self.prev[n as usize] = x;
    }

    /// Takes op `i` out of its list (an answered one: call, then return;
    /// an indeterminate one is replaced by the next of its class).
    fn lift(&mut self, i: u32) {
        if self.ops[i as usize].output.is_none() {
            let (p, n) = (self.info_prev[i as usize], self.info_next[i as usize]);
            let s = self.succ[i as usize];
            if s == NONE {
                self.info_next[p as usize] = n;
                self.info_prev[n as usize] = p;
            } else {
                self.info_next[p as usize] = s;
                self.info_prev[n as usize] = s;
                self.info_prev[s as usize] = p;
                self.info_next[s as usize] = n;
            }
            return;
        }
        self.unlink(self.call_node[i as usize]);
        self.unlink(self.ret_node[i as usize]);
    }

    /// Puts op `i` back (the reverse of [`Search::lift`]).
    fn unlift(&mut self, i: u32) {
        if self.ops[i as usize].output.is_none() {
            let (p, n) = (self.info_prev[i as usize], self.info_next[i as usize]);
            self.info_next[p as usize] = i;
            self.info_prev[n as usize] = i;
            return;
        }
        self.relink(self.ret_node[i as usize]);
        self.relink(self.call_node[i as usize]);
    }

    /// The search: a quick pass that places at most one indeterminate op
    /// between two answered ones (enough for nearly every real history),
    /// and, if that finds no linearization, the complete search with what
    /// is left of the budget. Only the complete search can report a
    /// violation.
    fn run(&mut self) -> Verdict {
        let budget = self.opts.max_steps_per_key;
        let has_info = self.ops.iter().any(|p| p.output.is_none());
        if has_info {
            if let Verdict::Linearizable = self.run_pass(1, budget / 4) {
                return Verdict::Linearizable;
            }
            self.best = None;
        }
        self.run_pass(u32::MAX, budget)
    }

    /// One pass of the search, placing at most `max_chain` indeterminate
    /// ops in a row, until `self.steps` reaches `budget`.
    ///
    /// The children of a search node are tried in this order: the
    /// answered calls before the first return not placed yet, in time
    /// order; then the indeterminate operations (first of their class)
    /// invoked by that return's time. Answered operations first, because
    /// most indeterminate ones never matter: they are tried only where the
    /// answered ones alone cannot go on. The order changes how fast an
    /// answer comes, never the answer.
    ///
    /// The cache keeps, per (answered ops placed, state), the sets of
    /// indeterminate ops placed with which that pair was reached; a node
    /// whose set contains one of those is not visited again: it has
    /// fewer ops left to place, so it can do no better (a write nobody
    /// read, placed and then overwritten, leaves such a node).
    fn run_pass(&mut self, max_chain: u32, budget: u64) -> Verdict {
        let mut stack = Vec::new();
        let verdict = self.search(max_chain, budget, &mut stack);
        // Put the lists back as they were, for the next pass.
        while let Some(frame) = stack.pop() {
            self.unlift(frame.op);
        }
        verdict
    }

    fn search(&mut self, max_chain: u32, budget: u64, stack: &mut Vec<Frame<M::State>>) -> Verdict {
        let mut w = Walk::new(self.ops, self.model.init());
        let total_ok = w.remaining_ok;
        let deadline = self.opts.time_limit_per_key.map(|d| self.started + d);
        let mut cursor = Cursor::Start;
        loop {
            if w.remaining_ok == 0 {
                return Verdict::Linearizable;
            }
            self.steps += 1;
            if self.steps > budget {
                return Verdict::Unknown(format!(
                    "search budget exceeded ({} steps; {} of {} answered ops placed at best)",
                    self.opts.max_steps_per_key,
                    self.best.as_ref().map_or(0, |b| b.placed_ok),
                    total_ok
                ));
            }
            if self.steps.is_multiple_of(4096) {
                if let Some(d) = deadline {
                    if Instant::now() >= d {
                        return Verdict::Unknown(format!(
                            "time limit exceeded ({:?}, {} steps; {} of {} answered ops \
                             placed at best)",
                            self.opts.time_limit_per_key.unwrap_or_default(),
                            self.steps,
                            self.best.as_ref().map_or(0, |b| b.placed_ok),
                            total_ok
                        ));
                    }
                }
            }
            cursor = match cursor {
                Cursor::Start => {
                    // An open answered op that changes nothing (a read)
                    // and fits the state is placed now, with no
                    // alternative tried: any linearization from here can
                    // be changed to start with it, since moving it
                    // forward changes no state any other op sees, and it
                    // is open, so nothing must come before it.
                    let mut e = self.next[self.head as usize];
                    let mut found = None;
                    while e != self.tail && self.node_is_call[e as usize] {
                        self.steps += 1;
                        let i = self.node_op[e as usize];
                        let p = &self.ops[i as usize];
                        if let Some(out) = p.output {
                            if self.model.is_read_only_answer(p.input, out) {
                                if let Some(s) = self.model.step(&w.state, p.input, Some(out)) {
                                    if s == w.state {
                                        found = Some((i, s));
                                        break;
                                    }
                                }
                            }
                        }
                        e = self.next[e as usize];
                    }
                    match found {
                        None => Cursor::Answered(self.next[self.head as usize]),
                        Some((i, s)) => {
                            if self.place(&mut w, stack, i, s, None, true) {
                                Cursor::Start
                            } else {
                                // Reached before, and it led nowhere: so
                                // does this node.
                                Cursor::Undo
                            }
                        }
                    }
                }
                Cursor::Answered(e) if e != self.tail && self.node_is_call[e as usize] => {
                    let i = self.node_op[e as usize];
                    let p = &self.ops[i as usize];
                    let placed = match self.model.step(&w.state, p.input, p.output) {
                        Some(s) => self.place(&mut w, stack, i, s, None, false),
                        None => false,
                    };
                    if placed {
                        Cursor::Start
                    } else {
                        Cursor::Answered(self.next[e as usize])
                    }
                }
                Cursor::Answered(e) => {
                    // A return (the end only defensively): its op had to
                    // take effect by now. Try indeterminate ops first,
                    // unless this pass placed enough of them in a row.
                    let chain = stack.last().map_or(0, |f| f.chain);
                    Cursor::Indeterminate {
                        at: if chain >= max_chain {
                            self.info_tail
                        } else {
                            self.info_next[self.info_head as usize]
                        },
                        stuck: e,
                    }
                }
                Cursor::Indeterminate { at, stuck } if at == self.info_tail => {
                    // Nothing can go before the return.
                    self.note_deepest(stuck, total_ok - w.remaining_ok, &w.state, stack);
                    Cursor::Undo
                }
                Cursor::Indeterminate { at, stuck } => {
                    let limit = if stuck == self.tail {
                        INFINITY
                    } else {
                        self.node_time[stuck as usize]
                    };
                    let p = &self.ops[at as usize];
                    let placed = p.invoke <= limit
                        && match self.model.step(&w.state, p.input, None) {
                            // One that changes nothing is left out.
                            Some(s) if s != w.state => {
                                self.place(&mut w, stack, at, s, Some(stuck), false)
                            }
                            _ => false,
                        };
                    if placed {
                        Cursor::Start
                    } else {
                        Cursor::Indeterminate {
                            at: self.info_next[at as usize],
                            stuck,
                        }
                    }
                }
                Cursor::Undo => {
                    let Some(frame) = stack.pop() else {
                        return Verdict::Violation(self.explain(total_ok));
                    };
                    let i = frame.op as usize;
                    w.state = frame.state;
                    self.unlift(frame.op);
                    match frame.stuck {
                        Some(stuck) => {
                            flip(&mut w.info_bits, w.info_ord[i] as usize);
                            Cursor::Indeterminate {
                                at: self.info_next[i],
                                stuck,
                            }
                        }
                        None => {
                            flip(&mut w.ok_bits, w.ok_ord[i] as usize);
                            w.ok_hash ^= self.zobrist[i];
                            w.remaining_ok += 1;
                            if frame.forced {
                                Cursor::Undo
                            } else {
                                Cursor::Answered(self.next[self.call_node[i] as usize])
                            }
                        }
                    }
                }
            };
        }
    }

    /// Places op `i`, taking the state to `next`, unless the cache says
    /// the node it leads to (or one that can do at least as much) was
    /// reached before. Returns whether it placed it.
    fn place(
        &mut self,
        w: &mut Walk<M::State>,
        stack: &mut Vec<Frame<M::State>>,
        op: u32,
        next: M::State,
        stuck: Option<u32>,
        forced: bool,
    ) -> bool {
        let i = op as usize;
        let answered = self.ops[i].output.is_some();
        let next_ok_hash = if answered {
            w.ok_hash ^ self.zobrist[i]
        } else {
            w.ok_hash
        };
        let (bit, bits) = if answered {
            (w.ok_ord[i] as usize, &mut w.ok_bits)
        } else {
            (w.info_ord[i] as usize, &mut w.info_bits)
        };
        flip(bits, bit);
        let h = next_ok_hash ^ hash_of(&next);
        let ok_repr = set_repr(&w.ok_bits);
        let bucket = w.cache.entry(h).or_default();
        let fresh = match bucket
            .iter_mut()
            .find(|e| e.ok == ok_repr && e.state == next)
        {
            Some(e) if e.infos.iter().any(|s| is_subset(s, &w.info_bits)) => false,
            Some(e) => {
                e.infos.push(w.info_bits.as_slice().into());
                true
            }
            None => {
                bucket.push(CacheEntry {
                    ok: ok_repr,
                    state: next.clone(),
                    infos: vec![w.info_bits.as_slice().into()],
                });
                true
            }
        };
        if !fresh {
            if answered {
                flip(&mut w.ok_bits, bit);
            } else {
                flip(&mut w.info_bits, bit);
            }
            return false;
        }
        let chain = if answered {
            w.ok_hash = next_ok_hash;
            w.remaining_ok -= 1;
            0
        } else {
            stack.last().map_or(0, |f| f.chain) + 1
        };
        stack.push(Frame {
            op,
            state: std::mem::replace(&mut w.state, next),
            stuck,
            chain,
            forced,
        });
        self.lift(op);
        true
    }

    fn note_deepest(
        &mut self,
        entry: u32,
        placed_ok: usize,
        state: &M::State,
        stack: &[Frame<M::State>],
    ) {
        if entry == self.tail || self.best.as_ref().is_some_and(|b| b.placed_ok >= placed_ok) {
            return;
        }
        let mut open = Vec::new();
        let mut e = self.next[self.head as usize];
        while e != entry && e != self.tail && open.len() < 8 {
            if self.node_is_call[e as usize] {
                open.push(self.node_op[e as usize]);
            }
            e = self.next[e as usize];
        }
        self.best = Some(Deepest {
            placed_ok,
            blocked: self.node_op[entry as usize],
            state: state.clone(),
            last_placed: stack.iter().rev().take(5).rev().map(|f| f.op).collect(),
            open,
        });
    }

    fn explain(&self, total_ok: usize) -> Violation {
        let Some(best) = &self.best else {
            return Violation {
                op: String::new(),
                state: String::new(),
                explanation: "no linearization exists".into(),
            };
        };
        let op = self.ops[best.blocked as usize].orig.to_string();
        let state = format!("{:?}", best.state);
        let mut text = format!(
            "no linearization exists. The furthest the search got placed {} of {} answered \
             operations; then this one could not take effect anywhere in its interval: \
             {op}; the state was {state} and no open operation could be placed before it \
             to explain its result.",
            best.placed_ok, total_ok
        );
        if !best.last_placed.is_empty() {
            text.push_str(" Last placed:");
            for &i in &best.last_placed {
                text.push_str(&format!(" [{}]", self.ops[i as usize].orig));
            }
            text.push('.');
        }
        let open: Vec<u32> = best
            .open
            .iter()
            .copied()
            .filter(|&i| i != best.blocked)
            .collect();
        if !open.is_empty() {
            text.push_str(" Open then:");
            for i in open {
                text.push_str(&format!(" [{}]", self.ops[i as usize].orig));
            }
            text.push('.');
        }
        Violation {
            op,
            state,
            explanation: text,
        }
    }
}

// ---------------------------------------------------------------------
// Register

/// An operation on a register (a string key: SET, GET, compare-and-set).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp<V> {
    /// `SET k v`.
    Write(V),
    /// `GET k`.
    Read,
    /// Sets `new` if the value is `expected` (`None`: the key is
    /// missing); answered with whether it did.
    Cas { expected: Option<V>, new: V },
}

/// The answer to a [`RegisterOp`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterRet<V> {
    /// `+OK` to a write.
    Written,
    /// A read's value (`None`: the key was missing).
    Read(Option<V>),
    /// Whether a compare-and-set wrote.
    Cas(bool),
}

/// A register value as the model sees it: one that some answered
/// operation compares with ([`RegVal::Seen`]), or one none does
/// ([`RegVal::Unseen`], all of which are equal, since no operation can
/// tell them apart). The payload of an unseen value is kept for reports.
#[derive(Clone)]
pub enum RegVal<V> {
    Seen(V),
    Unseen(V),
}

impl<V: PartialEq> PartialEq for RegVal<V> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (RegVal::Seen(a), RegVal::Seen(b)) => a == b,
            (RegVal::Unseen(_), RegVal::Unseen(_)) => true,
            _ => false,
        }
    }
}

impl<V: Eq> Eq for RegVal<V> {}

impl<V: Hash> Hash for RegVal<V> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            RegVal::Seen(v) => {
                0u8.hash(h);
                v.hash(h);
            }
            RegVal::Unseen(_) => 1u8.hash(h),
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for RegVal<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegVal::Seen(v) => write!(f, "{v:?}"),
            RegVal::Unseen(v) => write!(f, "{v:?} (never read)"),
        }
    }
}

/// The register's sequential specification; the state is the value
/// (`None`: missing).
pub struct RegisterModel<V>(PhantomData<fn() -> V>);

impl<V> Default for RegisterModel<V> {
    fn default() -> Self {
        RegisterModel(PhantomData)
    }
}

impl<V> Model for RegisterModel<V>
where
    V: Clone + Eq + Hash + fmt::Debug + Send + Sync,
{
    type Input = RegisterOp<RegVal<V>>;
    type Output = RegisterRet<RegVal<V>>;
    type State = Option<RegVal<V>>;

    fn init(&self) -> Self::State {
        None
    }

    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State> {
        match (input, output) {
            (RegisterOp::Write(v), None | Some(RegisterRet::Written)) => Some(Some(v.clone())),
            (RegisterOp::Read, None) => Some(state.clone()),
            (RegisterOp::Read, Some(RegisterRet::Read(r))) => (r == state).then(|| state.clone()),
            (RegisterOp::Cas { expected, new }, out) => {
                let matches = expected == state;
                match out {
                    None => Some(if matches {
                        Some(new.clone())
                    } else {
                        state.clone()
                    }),
                    Some(RegisterRet::Cas(true)) => matches.then(|| Some(new.clone())),
                    Some(RegisterRet::Cas(false)) => (!matches).then(|| state.clone()),
                    Some(_) => None,
                }
            }
            _ => None,
        }
    }

    fn is_read_only(&self, input: &Self::Input) -> bool {
        matches!(input, RegisterOp::Read)
    }

    fn is_read_only_answer(&self, input: &Self::Input, output: &Self::Output) -> bool {
        matches!(
            (input, output),
            (RegisterOp::Read, _) | (RegisterOp::Cas { .. }, RegisterRet::Cas(false))
        )
    }

    fn check_op(&self, input: &Self::Input, output: &Self::Output) -> Result<(), String> {
        match (input, output) {
            (RegisterOp::Write(_), RegisterRet::Written)
            | (RegisterOp::Read, RegisterRet::Read(_))
            | (RegisterOp::Cas { .. }, RegisterRet::Cas(_)) => Ok(()),
            _ => Err("answer does not fit the operation".into()),
        }
    }
}

/// Checks a register history: every key a register that starts missing.
///
/// Written values that no answered read returned and no compare-and-set
/// expected become [`RegVal::Unseen`] first (see the module docs); the
/// answer is the same, the search much smaller when many writes are
/// indeterminate.
pub fn check_register<V>(
    history: &History<RegisterOp<V>, RegisterRet<V>>,
    opts: &CheckOptions,
) -> LinReport
where
    V: Clone + Eq + Hash + fmt::Debug + Send + Sync,
{
    let mut seen: std::collections::HashSet<(&str, &V)> = std::collections::HashSet::new();
    for op in &history.ops {
        if let Outcome::Ok(RegisterRet::Read(Some(v))) = &op.outcome {
            seen.insert((op.key.as_str(), v));
        }
        if let RegisterOp::Cas {
            expected: Some(e), ..
        } = &op.input
        {
            if !op.outcome.is_fail() {
                seen.insert((op.key.as_str(), e));
            }
        }
    }
    let canon = |key: &str, v: &V| {
        if seen.contains(&(key, v)) {
            RegVal::Seen(v.clone())
        } else {
            RegVal::Unseen(v.clone())
        }
    };
    let ops = history
        .ops
        .iter()
        .map(|op| Op {
            process: op.process,
            key: op.key.clone(),
            invoke: op.invoke,
            complete: op.complete,
            input: match &op.input {
                RegisterOp::Write(v) => RegisterOp::Write(canon(&op.key, v)),
                RegisterOp::Read => RegisterOp::Read,
                RegisterOp::Cas { expected, new } => RegisterOp::Cas {
                    expected: expected.as_ref().map(|e| RegVal::Seen(e.clone())),
                    new: canon(&op.key, new),
                },
            },
            outcome: match &op.outcome {
                Outcome::Ok(RegisterRet::Written) => Outcome::Ok(RegisterRet::Written),
                Outcome::Ok(RegisterRet::Cas(b)) => Outcome::Ok(RegisterRet::Cas(*b)),
                Outcome::Ok(RegisterRet::Read(r)) => Outcome::Ok(RegisterRet::Read(
                    r.as_ref().map(|v| RegVal::Seen(v.clone())),
                )),
                Outcome::Fail => Outcome::Fail,
                Outcome::Info => Outcome::Info,
            },
        })
        .collect();
    check(&RegisterModel::default(), &History { ops }, opts)
}

// ---------------------------------------------------------------------
// Counter

/// An operation on a counter: `INCRBY k by` (answered with the new
/// value) or `GET k` (answered with the value; a missing key is 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CounterOp {
    Incr(i64),
    Read,
}

/// The counter's sequential specification: the state is the value, the
/// output of both operations the value after them.
#[derive(Clone, Copy, Debug, Default)]
pub struct CounterModel;

impl Model for CounterModel {
    type Input = CounterOp;
    type Output = i64;
    type State = i64;

    fn init(&self) -> i64 {
        0
    }

    fn step(&self, state: &i64, input: &CounterOp, output: Option<&i64>) -> Option<i64> {
        let next = match input {
            CounterOp::Incr(by) => state.checked_add(*by)?,
            CounterOp::Read => *state,
        };
        match output {
            Some(v) if *v != next => None,
            _ => Some(next),
        }
    }

    fn is_read_only(&self, input: &CounterOp) -> bool {
        matches!(input, CounterOp::Read)
    }
}

/// Checks a counter history: every key a counter starting at 0.
pub fn check_counter(history: &History<CounterOp, i64>, opts: &CheckOptions) -> LinReport {
    check(&CounterModel, history, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    type RegOp = Op<RegisterOp<u64>, RegisterRet<u64>>;

    fn write(p: u64, inv: Nanos, comp: Nanos, v: u64) -> RegOp {
        Op::ok(
            p,
            "k",
            RegisterOp::Write(v),
            inv,
            comp,
            RegisterRet::Written,
        )
    }

    fn read(p: u64, inv: Nanos, comp: Nanos, v: Option<u64>) -> RegOp {
        Op::ok(p, "k", RegisterOp::Read, inv, comp, RegisterRet::Read(v))
    }

    fn cas(p: u64, inv: Nanos, comp: Nanos, e: Option<u64>, n: u64, ok: bool) -> RegOp {
        Op::ok(
            p,
            "k",
            RegisterOp::Cas {
                expected: e,
                new: n,
            },
            inv,
            comp,
            RegisterRet::Cas(ok),
        )
    }

    fn info_write(p: u64, inv: Nanos, v: u64) -> RegOp {
        Op::info(p, "k", RegisterOp::Write(v), inv)
    }

    fn reg(ops: Vec<RegOp>) -> LinReport {
        check_register(&History::from_ops(ops), &CheckOptions::default())
    }

    fn assert_lin(r: &LinReport) {
        assert_eq!(r.status(), Status::Linearizable, "{r}");
    }

    fn assert_violation(r: &LinReport) -> Violation {
        assert_eq!(r.status(), Status::Violation, "{r}");
        r.violations()[0].1.clone()
    }

    #[test]
    fn sequential_writes_and_reads_pass() {
        assert_lin(&reg(vec![
            read(0, 0, 1, None),
            write(0, 2, 3, 1),
            read(1, 4, 5, Some(1)),
            write(1, 6, 7, 2),
            read(0, 8, 9, Some(2)),
        ]));
    }

    #[test]
    fn stale_read_after_an_acked_write_is_a_violation() {
        let v = assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            write(0, 20, 30, 2),
            read(1, 40, 50, Some(1)),
        ]));
        assert!(v.op.contains("Read"), "{v}");
        assert!(v.state.contains("Some(2"), "state named: {v}");
        assert!(v.explanation.contains(&v.state), "{v}");
    }

    #[test]
    fn lost_acked_write_is_a_violation() {
        // The write of 2 was acknowledged, then a read sees the key as if
        // it never happened.
        assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            write(1, 20, 30, 2),
            read(2, 40, 50, Some(1)),
            read(2, 60, 70, Some(1)),
        ]));
        assert_violation(&reg(vec![write(0, 0, 10, 1), read(1, 20, 30, None)]));
    }

    #[test]
    fn concurrent_ops_linearizable_in_one_order_only_pass() {
        // w1 and w2 overlap; reads after both see 1, so w2 must go first.
        assert_lin(&reg(vec![
            write(0, 0, 100, 1),
            write(1, 10, 90, 2),
            read(2, 50, 60, Some(2)),
            read(2, 110, 120, Some(1)),
        ]));
        // Same, but now the read of 2 starts after the read of 1 ended:
        // no order explains both.
        assert_violation(&reg(vec![
            write(0, 0, 100, 1),
            write(1, 10, 90, 2),
            read(2, 110, 120, Some(1)),
            read(2, 130, 140, Some(2)),
        ]));
    }

    #[test]
    fn indeterminate_write_that_must_have_happened_passes() {
        // The write of 7 timed out, yet a later read sees 7 — long after
        // the client gave up: it happened late.
        assert_lin(&reg(vec![
            write(0, 0, 10, 1),
            info_write(1, 20, 7),
            read(2, 30, 40, Some(1)),
            write(0, 50, 60, 2),
            read(2, 1_000, 1_010, Some(7)),
        ]));
        // Never seen: fine too.
        assert_lin(&reg(vec![
            write(0, 0, 10, 1),
            info_write(1, 20, 7),
            read(2, 30, 40, Some(1)),
        ]));
    }

    #[test]
    fn read_of_a_value_never_written_is_a_violation() {
        let v = assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            info_write(1, 20, 7),
            read(2, 30, 40, Some(8)),
        ]));
        assert!(v.op.contains("Some(8)"), "{v}");
    }

    #[test]
    fn failed_write_seen_by_a_read_is_a_violation() {
        assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            Op::fail(1, "k", RegisterOp::Write(7), 20, 25),
            read(2, 30, 40, Some(7)),
        ]));
    }

    #[test]
    fn indeterminate_reads_are_ignored() {
        assert_lin(&reg(vec![
            write(0, 0, 10, 1),
            Op::info(1, "k", RegisterOp::Read, 20),
            read(2, 30, 40, Some(1)),
        ]));
    }

    #[test]
    fn cas_cases() {
        // Successful CAS, then a read of its value.
        assert_lin(&reg(vec![
            write(0, 0, 10, 1),
            cas(1, 20, 30, Some(1), 2, true),
            read(2, 40, 50, Some(2)),
        ]));
        // A CAS reporting success although the value was not the one
        // expected.
        assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            cas(1, 20, 30, Some(5), 2, true),
        ]));
        // A CAS reporting failure although the value was the one expected
        // throughout.
        assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            cas(1, 20, 30, Some(1), 2, false),
        ]));
        // Two concurrent CAS from the same value: only one may win.
        assert_lin(&reg(vec![
            write(0, 0, 10, 1),
            cas(1, 20, 40, Some(1), 2, true),
            cas(2, 25, 45, Some(1), 3, false),
            read(0, 50, 60, Some(2)),
        ]));
        assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            cas(1, 20, 40, Some(1), 2, true),
            cas(2, 25, 45, Some(1), 3, true),
        ]));
        // A failed CAS explained only by an indeterminate write having
        // happened before it.
        assert_lin(&reg(vec![
            info_write(0, 0, 9),
            cas(1, 20, 30, None, 2, false),
            read(1, 40, 50, Some(9)),
        ]));
        assert_lin(&reg(vec![
            info_write(0, 0, 9),
            cas(1, 20, 30, None, 2, false),
        ]));
        // Set-if-missing on a missing key, then a read.
        assert_lin(&reg(vec![
            cas(1, 0, 10, None, 4, true),
            read(1, 20, 30, Some(4)),
        ]));
        // An indeterminate CAS whose effect was seen.
        assert_lin(&reg(vec![
            write(0, 0, 10, 1),
            Op::info(
                1,
                "k",
                RegisterOp::Cas {
                    expected: Some(1),
                    new: 3,
                },
                20,
            ),
            read(2, 100, 110, Some(3)),
        ]));
        // ...but it cannot have applied if the value was no longer 1.
        assert_violation(&reg(vec![
            write(0, 0, 10, 1),
            write(0, 15, 18, 2),
            Op::info(
                1,
                "k",
                RegisterOp::Cas {
                    expected: Some(1),
                    new: 3,
                },
                20,
            ),
            read(2, 100, 110, Some(3)),
        ]));
    }

    #[test]
    fn keys_are_checked_independently() {
        let mut ops = vec![write(0, 0, 10, 1), read(1, 20, 30, Some(1))];
        let mut bad = read(1, 20, 30, Some(5));
        bad.key = "other".into();
        ops.push(bad);
        let r = reg(ops);
        assert_eq!(r.status(), Status::Violation);
        assert!(matches!(r.keys["k"].verdict, Verdict::Linearizable));
        assert!(matches!(r.keys["other"].verdict, Verdict::Violation(_)));
        let text = r.to_string();
        assert!(text.contains("key \"other\": VIOLATION"), "{text}");
    }

    #[test]
    fn malformed_ops_are_invalid_not_a_crash() {
        let r = reg(vec![write(0, 10, 5, 1)]);
        assert_eq!(r.status(), Status::Invalid, "{r}");
        let r = reg(vec![Op::ok(
            0,
            "k",
            RegisterOp::Write(1),
            0,
            1,
            RegisterRet::Cas(true),
        )]);
        assert_eq!(r.status(), Status::Invalid, "{r}");
        assert_lin(&reg(vec![]));
    }

    fn ctr(p: u64, inv: Nanos, comp: Nanos, op: CounterOp, v: i64) -> Op<CounterOp, i64> {
        Op::ok(p, "c", op, inv, comp, v)
    }

    fn counter(ops: Vec<Op<CounterOp, i64>>) -> LinReport {
        check_counter(&History::from_ops(ops), &CheckOptions::default())
    }

    #[test]
    fn counter_cases() {
        use CounterOp::{Incr, Read};
        assert_lin(&counter(vec![
            ctr(0, 0, 10, Incr(1), 1),
            ctr(1, 5, 15, Incr(1), 2),
            ctr(2, 20, 30, Read, 2),
        ]));
        // Concurrent increments both claiming the same new value.
        assert_violation(&counter(vec![
            ctr(0, 0, 10, Incr(1), 1),
            ctr(1, 5, 15, Incr(1), 1),
        ]));
        // An indeterminate increment that must have happened.
        assert_lin(&counter(vec![
            ctr(0, 0, 10, Incr(1), 1),
            Op::info(1, "c", Incr(1), 20),
            ctr(2, 30, 40, Incr(1), 3),
            ctr(2, 50, 60, Read, 3),
        ]));
        // ...or did not.
        assert_lin(&counter(vec![
            ctr(0, 0, 10, Incr(1), 1),
            Op::info(1, "c", Incr(1), 20),
            ctr(2, 30, 40, Read, 1),
        ]));
        // One indeterminate increment cannot explain two missing units.
        assert_violation(&counter(vec![
            ctr(0, 0, 10, Incr(1), 1),
            Op::info(1, "c", Incr(1), 20),
            ctr(2, 30, 40, Read, 3),
        ]));
        // A lost acknowledged increment.
        assert_violation(&counter(vec![
            ctr(0, 0, 10, Incr(1), 1),
            ctr(1, 20, 30, Incr(1), 2),
            ctr(2, 40, 50, Read, 1),
        ]));
        // Many interchangeable indeterminate increments stay cheap, and a
        // read needing more of them than exist is still a violation.
        let mut ops = vec![ctr(0, 0, 10, Incr(1), 1)];
        for p in 0..40 {
            ops.push(Op::info(p + 10, "c", Incr(1), 20 + p));
        }
        ops.push(ctr(1, 100, 110, Read, 31));
        ops.push(ctr(1, 120, 130, Read, 41));
        assert_lin(&counter(ops.clone()));
        ops.push(ctr(1, 140, 150, Read, 42));
        let r = counter(ops);
        assert_violation(&r);
        assert!(r.keys["c"].steps < 100_000, "steps {}", r.keys["c"].steps);
    }

    #[test]
    fn budget_exhaustion_is_unknown_not_violation() {
        let mut ops = Vec::new();
        for i in 0..30 {
            ops.push(write(i, 0, 1_000, i));
        }
        ops.push(read(99, 2_000, 2_010, Some(999)));
        let opts = CheckOptions {
            max_steps_per_key: 50,
            ..CheckOptions::default()
        };
        let r = check_register(&History::from_ops(ops), &opts);
        assert_eq!(r.status(), Status::Unknown, "{r}");
        assert_eq!(r.unknown_keys(), vec!["k"]);
        assert!(r.to_string().contains("budget exceeded"), "{r}");
    }

    #[test]
    fn many_indeterminate_unread_writes_stay_cheap() {
        // 200 indeterminate writes nobody read, interleaved with reads of
        // acknowledged writes, and a final stale read: the unread values
        // collapse into one, so the violation is found quickly.
        let mut ops = Vec::new();
        let mut t = 0;
        for i in 0..200u64 {
            ops.push(info_write(100 + i, t, 10_000 + i));
            ops.push(write(0, t + 1, t + 5, i));
            ops.push(read(1, t + 6, t + 9, Some(i)));
            t += 10;
        }
        ops.push(read(1, t, t + 5, Some(3)));
        let r = reg(ops);
        assert_violation(&r);
        assert!(r.keys["k"].steps < 1_000_000, "steps {}", r.keys["k"].steps);
    }

    // -----------------------------------------------------------------
    // Randomized: histories of a real linearizable register.

    #[derive(Clone, Copy, PartialEq)]
    enum Fate {
        Ok,
        /// Applied, but the client saw a timeout.
        InfoApplied,
        /// Not applied, and the client saw a timeout.
        InfoLost,
        Fail,
    }

    /// Per-client sequential ops with random overlapping intervals; each
    /// applied op gets a random instant inside its interval (an
    /// indeterminate one possibly after the client gave up), and the ops
    /// run on a sequential register in the order of those instants, which
    /// gives their results. Linearizable by construction.
    fn simulate_register(
        rng: &mut StdRng,
        key: &str,
        clients: u64,
        ops_per_client: usize,
        fault_rate: f64,
        next_value: &mut u64,
    ) -> Vec<RegOp> {
        struct Gen {
            process: u64,
            invoke: Nanos,
            complete: Nanos,
            at: Option<Nanos>,
            fate: Fate,
            kind: u8,
        }
        let mut gens = Vec::new();
        for process in 0..clients {
            let mut t: Nanos = rng.random_range(0..1_000);
            for _ in 0..ops_per_client {
                let invoke = t + rng.random_range(1..500);
                let complete = invoke + rng.random_range(1..2_000);
                let fate = if rng.random_bool(fault_rate) {
                    match rng.random_range(0..3) {
                        0 => Fate::InfoApplied,
                        1 => Fate::InfoLost,
                        _ => Fate::Fail,
                    }
                } else {
                    Fate::Ok
                };
                let at = match fate {
                    Fate::Ok => Some(rng.random_range(invoke..=complete)),
                    Fate::InfoApplied => Some(rng.random_range(invoke..=complete + 5_000)),
                    Fate::InfoLost | Fate::Fail => None,
                };
                gens.push(Gen {
                    process,
                    invoke,
                    complete,
                    at,
                    fate,
                    kind: rng.random_range(0..10),
                });
                t = complete;
            }
        }
        let mut order: Vec<usize> = (0..gens.len()).collect();
        order.sort_by_key(|&i| (gens[i].at.unwrap_or(INFINITY), i));
        let mut state: Option<u64> = None;
        let mut ops = Vec::with_capacity(gens.len());
        for i in order {
            let g = &gens[i];
            let applied = g.at.is_some();
            let (input, output) = match g.kind {
                0..=3 => {
                    *next_value += 1;
                    let v = *next_value;
                    if applied {
                        state = Some(v);
                    }
                    (RegisterOp::Write(v), RegisterRet::Written)
                }
                4..=7 => (RegisterOp::Read, RegisterRet::Read(state)),
                _ => {
                    *next_value += 1;
                    let new = *next_value;
                    let expected = if rng.random_bool(0.6) {
                        state
                    } else {
                        Some(*next_value + 1_000_000)
                    };
                    let hit = expected == state;
                    if applied && hit {
                        state = Some(new);
                    }
                    (RegisterOp::Cas { expected, new }, RegisterRet::Cas(hit))
                }
            };
            let outcome = match g.fate {
                Fate::Ok => Outcome::Ok(output),
                Fate::InfoApplied | Fate::InfoLost => Outcome::Info,
                Fate::Fail => Outcome::Fail,
            };
            ops.push(Op {
                process: g.process,
                key: key.to_string(),
                input,
                invoke: g.invoke,
                complete: g.complete,
                outcome,
            });
        }
        ops
    }

    /// Makes one read return a value that was overwritten, in real time,
    /// before the read began. Returns whether it found such a read.
    fn make_stale(ops: &mut [RegOp], rng: &mut StdRng) -> bool {
        let writes: Vec<(u64, Nanos, Nanos)> = ops
            .iter()
            .filter_map(|o| match (&o.input, &o.outcome) {
                (RegisterOp::Write(v), Outcome::Ok(_)) => Some((*v, o.invoke, o.complete)),
                _ => None,
            })
            .collect();
        let mut reads: Vec<usize> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o.outcome, Outcome::Ok(RegisterRet::Read(_))))
            .map(|(i, _)| i)
            .collect();
        reads.shuffle(rng);
        for r in reads {
            let r_inv = ops[r].invoke;
            // w1 entirely before w2, w2 entirely before the read.
            for &(v1, _, c1) in &writes {
                if writes.iter().any(|&(_, i2, c2)| i2 > c1 && c2 < r_inv) {
                    ops[r].outcome = Outcome::Ok(RegisterRet::Read(Some(v1)));
                    return true;
                }
            }
        }
        false
    }

    #[test]
    fn randomized_register_histories_pass_and_mutations_fail() {
        let mut rng = StdRng::seed_from_u64(0x11e4);
        let opts = CheckOptions::default();
        let mut stale_checked = 0;
        for round in 0..150 {
            let clients = rng.random_range(1..6);
            let per = rng.random_range(1..25);
            let fault = [0.0, 0.1, 0.3][round % 3];
            let mut next_value = 0;
            let ops = simulate_register(&mut rng, "k", clients, per, fault, &mut next_value);
            let r = check_register(&History::from_ops(ops.clone()), &opts);
            assert_eq!(r.status(), Status::Linearizable, "round {round}: {r}");
            // A budget cut anywhere (in either pass) gives Unknown, never
            // a violation.
            for max_steps in [5, 40, 300] {
                let small = CheckOptions {
                    max_steps_per_key: max_steps,
                    ..CheckOptions::default()
                };
                let r = check_register(&History::from_ops(ops.clone()), &small);
                assert_ne!(
                    r.status(),
                    Status::Violation,
                    "round {round}, {max_steps}: {r}"
                );
            }

            let reads: Vec<usize> = ops
                .iter()
                .enumerate()
                .filter(|(_, o)| matches!(o.outcome, Outcome::Ok(RegisterRet::Read(_))))
                .map(|(i, _)| i)
                .collect();
            if !reads.is_empty() {
                let mut bad = ops.clone();
                let i = reads[rng.random_range(0..reads.len())];
                bad[i].outcome = Outcome::Ok(RegisterRet::Read(Some(next_value + 77)));
                let r = check_register(&History::from_ops(bad), &opts);
                assert_eq!(r.status(), Status::Violation, "round {round}: {r}");
            }
            let mut stale = ops.clone();
            if make_stale(&mut stale, &mut rng) {
                stale_checked += 1;
                let r = check_register(&History::from_ops(stale), &opts);
                assert_eq!(r.status(), Status::Violation, "round {round} (stale): {r}");
            }
        }
        assert!(stale_checked > 30, "only {stale_checked} stale mutations");
    }

    /// Counter histories from a real sequential counter, as above; a read
    /// made smaller than one that finished before it began must fail.
    fn simulate_counter(
        rng: &mut StdRng,
        key: &str,
        clients: u64,
        ops_per_client: usize,
        fault_rate: f64,
    ) -> Vec<Op<CounterOp, i64>> {
        let mut gens = Vec::new();
        for process in 0..clients {
            let mut t: Nanos = rng.random_range(0..1_000);
            for _ in 0..ops_per_client {
                let invoke = t + rng.random_range(1..500);
                let complete = invoke + rng.random_range(1..2_000);
                let faulty = rng.random_bool(fault_rate);
                let applied = !faulty || rng.random_bool(0.5);
                let at = if applied {
                    Some(rng.random_range(invoke..=complete + if faulty { 5_000 } else { 0 }))
                } else {
                    None
                };
                let input = if rng.random_bool(0.6) {
                    CounterOp::Incr(rng.random_range(1..4))
                } else {
                    CounterOp::Read
                };
                gens.push((process, invoke, complete, at, faulty, input));
                t = complete;
            }
        }
        gens.sort_by_key(|g| g.3.unwrap_or(INFINITY));
        let mut value = 0i64;
        gens.into_iter()
            .map(|(process, invoke, complete, at, faulty, input)| {
                if at.is_some() {
                    if let CounterOp::Incr(by) = input {
                        value += by;
                    }
                }
                Op {
                    process,
                    key: key.to_string(),
                    input,
                    invoke,
                    complete,
                    outcome: if faulty {
                        Outcome::Info
                    } else {
                        Outcome::Ok(value)
                    },
                }
            })
            .collect()
    }

    #[test]
    fn randomized_counter_histories_pass_and_mutations_fail() {
        let mut rng = StdRng::seed_from_u64(0xc0c0);
        let opts = CheckOptions::default();
        let mut mutated = 0;
        for round in 0..150 {
            let clients = rng.random_range(1..6);
            let per = rng.random_range(1..25);
            let fault = [0.0, 0.1, 0.3][round % 3];
            let ops = simulate_counter(&mut rng, "c", clients, per, fault);
            let r = check_counter(&History::from_ops(ops.clone()), &opts);
            assert_eq!(r.status(), Status::Linearizable, "round {round}: {r}");
            // A read going below one that ended before it began.
            let reads: Vec<usize> = ops
                .iter()
                .enumerate()
                .filter(|(_, o)| o.input == CounterOp::Read && o.outcome.is_ok())
                .map(|(i, _)| i)
                .collect();
            'find: for &a in &reads {
                for &b in &reads {
                    let va = *ops[a].outcome.ok().unwrap();
                    if ops[a].complete < ops[b].invoke && va > 0 {
                        let mut bad = ops.clone();
                        bad[b].outcome = Outcome::Ok(va - 1);
                        let r = check_counter(&History::from_ops(bad), &opts);
                        assert_eq!(r.status(), Status::Violation, "round {round}: {r}");
                        mutated += 1;
                        break 'find;
                    }
                }
            }
        }
        assert!(mutated > 30, "only {mutated} mutations");
    }

    /// Brute force: is there an order of the answered ops plus some of
    /// the indeterminate writes, respecting real time, under which a
    /// sequential object (`step`: state, input, output → next state)
    /// gives every answered op its output? Straight from the definition,
    /// for histories of a few ops.
    fn brute_force<I, O, S: Clone>(
        ops: &[Op<I, O>],
        init: S,
        is_read: impl Fn(&I) -> bool,
        step: &impl Fn(&S, &I, Option<&O>) -> Option<S>,
    ) -> bool {
        let kept: Vec<&Op<I, O>> = ops
            .iter()
            .filter(|o| match o.outcome {
                Outcome::Ok(_) => true,
                Outcome::Info => !is_read(&o.input),
                Outcome::Fail => false,
            })
            .collect();
        let info: Vec<usize> = (0..kept.len())
            .filter(|&i| kept[i].outcome.is_info())
            .collect();
        fn go<I, O, S: Clone>(
            kept: &[&Op<I, O>],
            used: &mut Vec<bool>,
            state: S,
            step: &impl Fn(&S, &I, Option<&O>) -> Option<S>,
        ) -> bool {
            if used.iter().all(|&u| u) {
                return true;
            }
            for i in 0..kept.len() {
                if used[i] {
                    continue;
                }
                // Every op not yet placed must not have to come first.
                let blocked = (0..kept.len())
                    .any(|j| !used[j] && j != i && kept[j].effective_complete() < kept[i].invoke);
                if blocked {
                    continue;
                }
                if let Some(next) = step(&state, &kept[i].input, kept[i].outcome.ok()) {
                    used[i] = true;
                    if go(kept, used, next, step) {
                        return true;
                    }
                    used[i] = false;
                }
            }
            false
        }
        (0u32..1 << info.len()).any(|mask| {
            // Indeterminate ops outside `mask` never happened.
            let mut used: Vec<bool> = vec![false; kept.len()];
            for (b, &i) in info.iter().enumerate() {
                used[i] = mask & (1 << b) == 0;
            }
            go(&kept, &mut used, init.clone(), step)
        })
    }

    fn random_interval(rng: &mut StdRng) -> (Nanos, Nanos) {
        let a = rng.random_range(0..20);
        (a, a + rng.random_range(0..8))
    }

    fn random_outcome<O>(rng: &mut StdRng, out: O) -> Outcome<O> {
        match rng.random_range(0..10) {
            0..=6 => Outcome::Ok(out),
            7..=8 => Outcome::Info,
            _ => Outcome::Fail,
        }
    }

    /// Small random register histories (values from a tiny range, so
    /// they repeat; results random, so many are not linearizable): the
    /// checker agrees with the brute force on every one.
    #[test]
    fn register_checker_agrees_with_brute_force() {
        let mut rng = StdRng::seed_from_u64(7);
        let step = |s: &Option<u64>, i: &RegisterOp<u64>, o: Option<&RegisterRet<u64>>| match (i, o)
        {
            (RegisterOp::Write(v), _) => Some(Some(*v)),
            (RegisterOp::Read, Some(RegisterRet::Read(r))) => (r == s).then_some(*s),
            (RegisterOp::Read, _) => Some(*s),
            (RegisterOp::Cas { expected, new }, o) => {
                let hit = expected == s;
                match o {
                    Some(RegisterRet::Cas(b)) if *b != hit => None,
                    _ => Some(if hit { Some(*new) } else { *s }),
                }
            }
        };
        let (mut yes, mut no) = (0, 0);
        for round in 0..2000 {
            let n = rng.random_range(1..8);
            let ops: Vec<RegOp> = (0..n)
                .map(|p| {
                    let (inv, comp) = random_interval(&mut rng);
                    let v = |rng: &mut StdRng| rng.random_range(1..4u64);
                    let (input, out) = match rng.random_range(0..3) {
                        0 => (RegisterOp::Write(v(&mut rng)), RegisterRet::Written),
                        1 => {
                            let r = if rng.random_bool(0.2) {
                                None
                            } else {
                                Some(v(&mut rng))
                            };
                            (RegisterOp::Read, RegisterRet::Read(r))
                        }
                        _ => {
                            let expected = if rng.random_bool(0.2) {
                                None
                            } else {
                                Some(v(&mut rng))
                            };
                            let new = v(&mut rng);
                            let ok = rng.random_bool(0.5);
                            (RegisterOp::Cas { expected, new }, RegisterRet::Cas(ok))
                        }
                    };
                    let outcome = random_outcome(&mut rng, out);
                    Op {
                        process: p,
                        key: "k".into(),
                        input,
                        invoke: inv,
                        complete: comp,
                        outcome,
                    }
                })
                .collect();
            let expect = brute_force(&ops, None, |i| *i == RegisterOp::Read, &step);
            let r = check_register(&History::from_ops(ops.clone()), &CheckOptions::default());
            let want = if expect {
                Status::Linearizable
            } else {
                Status::Violation
            };
            assert_eq!(r.status(), want, "round {round}: {ops:#?}\n{r}");
            if expect {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(yes > 200 && no > 200, "{yes} linearizable, {no} not");
    }

    /// The same for counters.
    #[test]
    fn counter_checker_agrees_with_brute_force() {
        let mut rng = StdRng::seed_from_u64(8);
        let step = |s: &i64, i: &CounterOp, o: Option<&i64>| {
            let next = match i {
                CounterOp::Incr(by) => s + by,
                CounterOp::Read => *s,
            };
            match o {
                Some(v) if *v != next => None,
                _ => Some(next),
            }
        };
        let (mut yes, mut no) = (0, 0);
        for round in 0..2000 {
            let n = rng.random_range(1..8);
            let ops: Vec<Op<CounterOp, i64>> = (0..n)
                .map(|p| {
                    let (inv, comp) = random_interval(&mut rng);
                    let input = if rng.random_bool(0.6) {
                        CounterOp::Incr(rng.random_range(1..3))
                    } else {
                        CounterOp::Read
                    };
                    let out = rng.random_range(0..6);
                    let outcome = random_outcome(&mut rng, out);
                    Op {
                        process: p,
                        key: "c".into(),
                        input,
                        invoke: inv,
                        complete: comp,
                        outcome,
                    }
                })
                .collect();
            let expect = brute_force(&ops, 0, |i| *i == CounterOp::Read, &step);
            let r = check_counter(&History::from_ops(ops.clone()), &CheckOptions::default());
            let want = if expect {
                Status::Linearizable
            } else {
                Status::Violation
            };
            assert_eq!(r.status(), want, "round {round}: {ops:#?}\n{r}");
            if expect {
                yes += 1;
            } else {
                no += 1;
            }
        }
        assert!(yes > 200 && no > 200, "{yes} linearizable, {no} not");
    }

    /// `keys` register keys and `keys` counter keys of 2,000 ops each
    /// (10 clients, 2% indeterminate or failed), checked as recorded and
    /// with a stale read put into a few register keys; prints how long
    /// each check takes (no timing assertion).
    fn timing_run(keys: usize) {
        let mut rng = StdRng::seed_from_u64(42);
        let mut next_value = 0;
        let per_key: Vec<Vec<RegOp>> = (0..keys)
            .map(|k| {
                simulate_register(&mut rng, &format!("reg{k}"), 10, 200, 0.02, &mut next_value)
            })
            .collect();
        let history = History::from_ops(per_key.concat());
        let t = Instant::now();
        let r = check_register(&history, &CheckOptions::default());
        let took = t.elapsed();
        assert_eq!(r.status(), Status::Linearizable, "{r}");
        println!("register: {} in {took:?}", r.summary());

        let mut stale = per_key.clone();
        let mut bad_keys = Vec::new();
        for (k, ops) in stale.iter_mut().enumerate().take(5) {
            if make_stale(ops, &mut rng) {
                bad_keys.push(format!("reg{k}"));
            }
        }
        let history = History::from_ops(stale.concat());
        let t = Instant::now();
        let r = check_register(&history, &CheckOptions::default());
        let took = t.elapsed();
        let mut found: Vec<String> = r.violations().iter().map(|(k, _)| k.to_string()).collect();
        found.sort();
        bad_keys.sort();
        assert_eq!(found, bad_keys, "{r}");
        assert!(r.unknown_keys().is_empty(), "{r}");
        println!(
            "register, {} stale reads: {} in {took:?}",
            bad_keys.len(),
            r.summary()
        );
        if let Some((k, v)) = r.violations().first() {
            println!("for example, key {k:?}: {v}");
        }

        let ops: Vec<_> = (0..keys)
            .flat_map(|k| simulate_counter(&mut rng, &format!("ctr{k}"), 10, 200, 0.02))
            .collect();
        let history = History::from_ops(ops);
        let t = Instant::now();
        let r = check_counter(&history, &CheckOptions::default());
        let took = t.elapsed();
        assert_eq!(r.status(), Status::Linearizable, "{r}");
        println!("counter: {} in {took:?}", r.summary());
    }

    /// A small run of [`timing_run`], part of the normal suite.
    #[test]
    fn timing_1_key_of_2000_ops() {
        timing_run(1);
    }

    /// The full size; in a debug build it takes a minute or so, so run
    /// it in release: `cargo test --release -p redraft-integration --lib
    /// -- --ignored timing_50 --nocapture`.
    #[test]
    #[ignore = "slow in debug builds; run with --release --ignored"]
    fn timing_50_keys_of_2000_ops() {
        timing_run(50);
    }
}
