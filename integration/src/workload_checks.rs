//! Checks for workloads that need no linearizability search: grow-only
//! sets (SADD/SMEMBERS), append-only lists (RPUSH/LRANGE, in the style of
//! Elle's list-append), and bounds on counters (INCRBY). Each reads a
//! [`History`] recorded as in [`crate::history`] and returns a
//! [`WorkloadReport`] listing every [`Anomaly`] found.
//!
//! All of them rest on two things the workloads guarantee: every element
//! is added or appended by at most one operation (clients make them
//! unique, e.g. `"<client>-<n>"`), and nothing is ever removed. Then an
//! element's presence in a read names the one operation that put it
//! there, so lost, phantom and reordered writes show directly (Kingsbury
//! & Alvaro, "Elle", VLDB 2020, make the same use of unique appends).
//!
//! Real time: an answered add *a* took effect before its completion, so
//! a read invoked after that must contain it; an element one read showed
//! must be in every read invoked after that read completed (nothing is
//! removed). Checking each read against the earliest time each element
//! was known to be present covers both, and the *final* reads (invoked
//! after every answered or failed operation of the key completed) then
//! find every lost acknowledged write. Indeterminate adds may or may not
//! appear, at any time after their invoke.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::Hash;

use crate::history::{History, Nanos, Op, Outcome, INFINITY};
use crate::linearizability::CounterOp;

/// What kind of anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    /// An acknowledged write (or an element a read already showed) is
    /// missing from a read invoked after that was known.
    Lost,
    /// A read shows an element no operation tried to write.
    Phantom,
    /// A read shows an element whose only write failed.
    FailedButPresent,
    /// A read shows an element whose write began only after the read
    /// ended.
    FromTheFuture,
    /// A read shows an element twice.
    Duplicate,
    /// Two list reads disagree on the order: one is not a prefix of the
    /// longest.
    IncompatibleOrder,
    /// Append `a` ended before append `b` began, yet `b` comes first.
    RealTimeOrder,
    /// An append's reply (the list's new length) does not match where
    /// its element sits.
    WrongPosition,
    /// A reply that contradicts the workload (SADD of a fresh element
    /// answered 0).
    UnexpectedReply,
    /// A counter's final value is outside what the acknowledged and
    /// indeterminate increments allow.
    OutOfBounds,
}

/// One anomaly, with what shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub key: String,
    pub kind: AnomalyKind,
    pub detail: String,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {:?}: {:?}: {}", self.key, self.kind, self.detail)
    }
}

/// The result of one workload check.
#[derive(Clone, Debug, Default)]
pub struct WorkloadReport {
    /// The anomalies, at most [`WorkloadReport::MAX_PER_KIND`] per key and
    /// kind (the rest are only counted).
    pub anomalies: Vec<Anomaly>,
    /// Every anomaly, counted by kind.
    pub counts: BTreeMap<AnomalyKind, usize>,
    pub keys: usize,
    /// Answered reads checked.
    pub reads: usize,
    /// Answered writes.
    pub acked: usize,
    /// Indeterminate writes.
    pub indeterminate: usize,
    /// Keys with writes but no final read (so a lost write could go
    /// unseen): a harness should treat these as a failed check.
    pub keys_without_final_read: Vec<String>,
}

impl WorkloadReport {
    /// Anomalies stored per key and kind.
    pub const MAX_PER_KIND: usize = 20;

    /// No anomaly, and every key had a final read.
    pub fn is_ok(&self) -> bool {
        self.anomalies.is_empty() && self.keys_without_final_read.is_empty()
    }

    pub fn count(&self, kind: AnomalyKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    fn add(&mut self, stored: &mut HashMap<(String, AnomalyKind), usize>, a: Anomaly) {
        *self.counts.entry(a.kind).or_default() += 1;
        let n = stored.entry((a.key.clone(), a.kind)).or_default();
        *n += 1;
        if *n <= Self::MAX_PER_KIND {
            self.anomalies.push(a);
        }
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} keys, {} reads, {} acknowledged and {} indeterminate writes: ",
            self.keys, self.reads, self.acked, self.indeterminate
        );
        if self.counts.is_empty() {
            s.push_str("no anomalies");
        } else {
            let parts: Vec<String> = self
                .counts
                .iter()
                .map(|(k, n)| format!("{n} {k:?}"))
                .collect();
            s.push_str(&parts.join(", "));
        }
        if !self.keys_without_final_read.is_empty() {
            s.push_str(&format!(
                "; {} keys without a final read",
                self.keys_without_final_read.len()
            ));
        }
        s
    }
}

impl fmt::Display for WorkloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for a in &self.anomalies {
            writeln!(f, "  {a}")?;
        }
        if !self.keys_without_final_read.is_empty() {
            writeln!(f, "  no final read: {:?}", self.keys_without_final_read)?;
        }
        Ok(())
    }
}

/// An operation on a grow-only set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOp<E> {
    /// `SADD k e`.
    Add(E),
    /// `SMEMBERS k`.
    Read,
}

/// The answer to a [`SetOp`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetRet<E> {
    /// SADD's reply: how many elements were new (1 for a fresh one).
    Added(u64),
    /// SMEMBERS's reply, as returned (duplicates kept, to be found).
    Read(Vec<E>),
}

/// An operation on an append-only list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListOp<E> {
    /// `RPUSH k e`.
    Append(E),
    /// `LRANGE k 0 -1`.
    Read,
}

/// The answer to a [`ListOp`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ListRet<E> {
    /// RPUSH's reply: the list's length after the push.
    Appended(u64),
    Read(Vec<E>),
}

type ListOpOf<E> = Op<ListOp<E>, ListRet<E>>;

/// What is known about one element's writes.
struct Writes<'a, I, O> {
    attempts: Vec<&'a Op<I, O>>,
}

impl<I, O> Writes<'_, I, O> {
    /// Whether any attempt may have happened (not all failed).
    fn possible(&self) -> bool {
        self.attempts.iter().any(|o| !o.outcome.is_fail())
    }
    /// The earliest invoke among attempts that may have happened.
    fn earliest_invoke(&self) -> Nanos {
        self.attempts
            .iter()
            .filter(|o| !o.outcome.is_fail())
            .map(|o| o.invoke)
            .min()
            .unwrap_or(INFINITY)
    }
    /// By when it certainly happened: the earliest acknowledgement.
    fn acked_by(&self) -> Option<&Op<I, O>> {
        self.attempts
            .iter()
            .filter(|o| o.outcome.is_ok())
            .min_by_key(|o| o.complete)
            .copied()
    }
}

/// Checks shared by sets and lists on one key: per read, duplicates,
/// phantoms, failed or future elements, and lost ones (an element known
/// present before the read began, missing from it).
fn check_reads<'a, I, O, E>(
    key: &str,
    writes: &HashMap<&'a E, Writes<'a, I, O>>,
    reads: &[(&'a Op<I, O>, &'a [E])],
    report: &mut WorkloadReport,
    stored: &mut HashMap<(String, AnomalyKind), usize>,
) where
    I: fmt::Debug,
    O: fmt::Debug,
    E: Eq + Hash + fmt::Debug,
{
    let anomaly = |kind, detail| Anomaly {
        key: key.to_string(),
        kind,
        detail,
    };
    // Earliest time each element is known to be present, and why.
    let mut known: HashMap<&E, (Nanos, String)> = HashMap::new();
    for (e, w) in writes {
        if let Some(op) = w.acked_by() {
            known.insert(
                *e,
                (op.complete, format!("its write was acknowledged: [{op}]")),
            );
        }
    }
    // Only elements that may really have been written: a phantom or a
    // failed one is reported where it shows, not again where it is gone.
    for (op, items) in reads {
        for e in items
            .iter()
            .filter(|e| writes.get(e).is_some_and(|w| w.possible()))
        {
            let t = op.complete;
            if known.get(e).is_none_or(|(k, _)| t < *k) {
                known.insert(e, (t, format!("an earlier read showed it: [{op}]")));
            }
        }
    }
    let mut by_time: Vec<(&E, Nanos)> = known.iter().map(|(e, (t, _))| (*e, *t)).collect();
    by_time.sort_by_key(|&(_, t)| t);

    for (op, items) in reads {
        let mut present: HashSet<&E> = HashSet::with_capacity(items.len());
        for e in items.iter() {
            if !present.insert(e) {
                report.add(
                    stored,
                    anomaly(AnomalyKind::Duplicate, format!("{e:?} twice in [{op}]")),
                );
            }
            match writes.get(e) {
                None => report.add(
                    stored,
                    anomaly(
                        AnomalyKind::Phantom,
                        format!("{e:?} was never written, yet read by [{op}]"),
                    ),
                ),
                Some(w) if !w.possible() => report.add(
                    stored,
                    anomaly(
                        AnomalyKind::FailedButPresent,
                        format!("{e:?}: its write failed, yet read by [{op}]"),
                    ),
                ),
                Some(w) if w.earliest_invoke() > op.complete => report.add(
                    stored,
                    anomaly(
                        AnomalyKind::FromTheFuture,
                        format!(
                            "{e:?} read by [{op}], written only later: [{}]",
                            w.attempts[0]
                        ),
                    ),
                ),
                Some(_) => {}
            }
        }
        let upto = by_time.partition_point(|&(_, t)| t < op.invoke);
        for &(e, _) in &by_time[..upto] {
            if !present.contains(e) {
                let why = &known[e].1;
                report.add(
                    stored,
                    anomaly(
                        AnomalyKind::Lost,
                        format!("{e:?} missing from [{op}], though {why}"),
                    ),
                );
            }
        }
    }
}

/// Per key: writes by element, answered reads, and whether a final read
/// exists.
struct KeyData<'a, I, O, E> {
    writes: HashMap<&'a E, Writes<'a, I, O>>,
    reads: Vec<(&'a Op<I, O>, &'a [E])>,
    has_final_read: bool,
}

fn gather<'a, I, O, E: Eq + Hash>(
    ops: &[&'a Op<I, O>],
    written: impl Fn(&'a I) -> Option<&'a E>,
    read: impl Fn(&'a O) -> Option<&'a [E]>,
    report: &mut WorkloadReport,
) -> KeyData<'a, I, O, E> {
    let mut writes: HashMap<&E, Writes<I, O>> = HashMap::new();
    let mut reads = Vec::new();
    let mut last_done: Nanos = 0;
    for op in ops {
        if let Some(e) = written(&op.input) {
            writes
                .entry(e)
                .or_insert_with(|| Writes {
                    attempts: Vec::new(),
                })
                .attempts
                .push(op);
            match op.outcome {
                Outcome::Ok(_) => report.acked += 1,
                Outcome::Info => report.indeterminate += 1,
                Outcome::Fail => {}
            }
            if !op.outcome.is_info() {
                last_done = last_done.max(op.complete);
            }
        }
    }
    for op in ops {
        if let Outcome::Ok(out) = &op.outcome {
            if let Some(items) = read(out) {
                reads.push((*op, items));
            }
        }
    }
    report.reads += reads.len();
    let has_final_read = writes.is_empty() || reads.iter().any(|(op, _)| op.invoke > last_done);
    KeyData {
        writes,
        reads,
        has_final_read,
    }
}

/// Checks a grow-only set workload: every read free of duplicates,
/// phantoms, failed and future elements, and lost ones (acknowledged
/// before the read began, or shown by a read that ended before it
/// began); an SADD of a fresh element answered 1.
pub fn check_sets<E>(history: &History<SetOp<E>, SetRet<E>>) -> WorkloadReport
where
    E: Eq + Hash + fmt::Debug,
{
    let mut report = WorkloadReport::default();
    let mut stored = HashMap::new();
    for (key, ops) in history.by_key() {
        report.keys += 1;
        let data = gather(
            &ops,
            |i| match i {
                SetOp::Add(e) => Some(e),
                SetOp::Read => None,
            },
            |o| match o {
                SetRet::Read(v) => Some(v.as_slice()),
                SetRet::Added(_) => None,
            },
            &mut report,
        );
        if !data.has_final_read {
            report.keys_without_final_read.push(key.to_string());
        }
        for w in data.writes.values() {
            for op in &w.attempts {
                if let Outcome::Ok(SetRet::Added(n)) = op.outcome {
                    let earlier = w
                        .attempts
                        .iter()
                        .any(|o| !std::ptr::eq(*o, *op) && o.invoke < op.complete);
                    if n != 1 && !earlier {
                        report.add(
                            &mut stored,
                            Anomaly {
                                key: key.to_string(),
                                kind: AnomalyKind::UnexpectedReply,
                                detail: format!("fresh element, reply {n}: [{op}]"),
                            },
                        );
                    }
                }
            }
        }
        check_reads(key, &data.writes, &data.reads, &mut report, &mut stored);
    }
    report
}

/// Checks an append-only list workload (Elle's list-append without
/// transactions): all reads of a key are prefixes of its longest read
/// (one order every reader agrees on); no read has duplicates, phantoms,
/// failed or future elements, or misses an element known present before
/// it began (every acknowledged append is in the final read); appends
/// ordered in real time (one answered before the other was sent) are in
/// that order; and an append's reply, the list's new length, is its
/// element's position plus one.
pub fn check_lists<E>(history: &History<ListOp<E>, ListRet<E>>) -> WorkloadReport
where
    E: Eq + Hash + fmt::Debug,
{
    let mut report = WorkloadReport::default();
    let mut stored = HashMap::new();
    for (key, ops) in history.by_key() {
        report.keys += 1;
        let data = gather(
            &ops,
            |i| match i {
                ListOp::Append(e) => Some(e),
                ListOp::Read => None,
            },
            |o| match o {
                ListRet::Read(v) => Some(v.as_slice()),
                ListRet::Appended(_) => None,
            },
            &mut report,
        );
        if !data.has_final_read {
            report.keys_without_final_read.push(key.to_string());
        }
        let anomaly = |kind, detail| Anomaly {
            key: key.to_string(),
            kind,
            detail,
        };
        // The longest read fixes the order; every read must be a prefix.
        let longest: &[E] = data
            .reads
            .iter()
            .map(|(_, items)| *items)
            .max_by_key(|items| items.len())
            .unwrap_or(&[]);
        let longest_op = data
            .reads
            .iter()
            .find(|(_, items)| items.len() == longest.len())
            .map(|(op, _)| op.to_string())
            .unwrap_or_default();
        for (op, items) in &data.reads {
            if let Some(i) = items.iter().zip(longest).position(|(a, b)| a != b) {
                report.add(
                    &mut stored,
                    anomaly(
                        AnomalyKind::IncompatibleOrder,
                        format!(
                            "at index {i} [{op}] has {:?} where the longest read has {:?} \
                             ([{longest_op}])",
                            items[i], longest[i]
                        ),
                    ),
                );
            }
        }
        let mut pos: HashMap<&E, usize> = HashMap::with_capacity(longest.len());
        for (i, e) in longest.iter().enumerate() {
            pos.entry(e).or_insert(i);
        }
        // An append's reply is the new length.
        for (e, w) in &data.writes {
            for op in &w.attempts {
                if let (Outcome::Ok(ListRet::Appended(n)), Some(&p)) = (&op.outcome, pos.get(e)) {
                    if *n != p as u64 + 1 {
                        report.add(
                            &mut stored,
                            anomaly(
                                AnomalyKind::WrongPosition,
                                format!(
                                    "{e:?} is at index {p} of the longest read, but its \
                                     append answered length {n}: [{op}]"
                                ),
                            ),
                        );
                    }
                }
            }
        }
        // Real-time order: sweep appends by start time, keeping the
        // furthest position among those answered before it started.
        let mut done: Vec<(Nanos, usize, &ListOpOf<E>)> = Vec::new();
        let mut started: Vec<(Nanos, usize, &E)> = Vec::new();
        for (e, w) in &data.writes {
            let Some(&p) = pos.get(e) else { continue };
            if let Some(op) = w.acked_by() {
                done.push((op.complete, p, op));
            }
            started.push((w.earliest_invoke(), p, *e));
        }
        done.sort_by_key(|d| d.0);
        started.sort_by_key(|s| s.0);
        let mut j = 0;
        let mut furthest: Option<(usize, &ListOpOf<E>)> = None;
        for (t, p, e) in started {
            while j < done.len() && done[j].0 < t {
                if furthest.is_none_or(|(fp, _)| done[j].1 > fp) {
                    furthest = Some((done[j].1, done[j].2));
                }
                j += 1;
            }
            if let Some((fp, a)) = furthest {
                if fp > p {
                    let b = data.writes[e].attempts[0];
                    report.add(
                        &mut stored,
                        anomaly(
                            AnomalyKind::RealTimeOrder,
                            format!(
                                "[{a}] was answered before [{b}] was sent, yet it sits at \
                                 index {fp}, after index {p}"
                            ),
                        ),
                    );
                }
            }
        }
        check_reads(key, &data.writes, &data.reads, &mut report, &mut stored);
    }
    report
}

/// Checks counters' final values against their increments: the final
/// value must lie between the acknowledged increments' sum plus every
/// indeterminate decrement and that sum plus every indeterminate
/// increment (a missing key is 0: pass 0). When no increment is
/// negative, it must also be at least the largest value any answered
/// operation returned, since such a counter never goes down.
///
/// `finals` holds each key's value read after every client stopped;
/// keys of the history missing from it are listed in
/// [`WorkloadReport::keys_without_final_read`]. This check is implied by
/// [`crate::linearizability::check_counter`] on a history that includes
/// the final reads, but needs no search and so never runs out of budget.
pub fn check_counter_bounds(
    history: &History<CounterOp, i64>,
    finals: &BTreeMap<String, i64>,
) -> WorkloadReport {
    let mut report = WorkloadReport::default();
    let mut stored = HashMap::new();
    let by_key = history.by_key();
    let mut keys: Vec<&str> = by_key.keys().copied().collect();
    for k in finals.keys() {
        if !by_key.contains_key(k.as_str()) {
            keys.push(k);
        }
    }
    for key in keys {
        report.keys += 1;
        let ops = by_key.get(key).map_or(&[][..], |v| v.as_slice());
        let (mut acked, mut lo_extra, mut hi_extra) = (0i128, 0i128, 0i128);
        let mut monotonic = true;
        let mut max_seen: Option<(i64, &Op<CounterOp, i64>)> = None;
        for op in ops {
            if let CounterOp::Incr(by) = op.input {
                monotonic &= by >= 0;
                match op.outcome {
                    Outcome::Ok(_) => {
                        acked += i128::from(by);
                        report.acked += 1;
                    }
                    Outcome::Info => {
                        report.indeterminate += 1;
                        if by < 0 {
                            lo_extra += i128::from(by);
                        } else {
                            hi_extra += i128::from(by);
                        }
                    }
                    Outcome::Fail => {}
                }
            }
            if let Outcome::Ok(v) = op.outcome {
                if op.input == CounterOp::Read {
                    report.reads += 1;
                }
                if max_seen.is_none_or(|(m, _)| v > m) {
                    max_seen = Some((v, op));
                }
            }
        }
        let Some(&fin) = finals.get(key) else {
            report.keys_without_final_read.push(key.to_string());
            continue;
        };
        let (lo, hi) = (acked + lo_extra, acked + hi_extra);
        let f = i128::from(fin);
        if f < lo || f > hi {
            let detail = if f < lo {
                format!(
                    "final value {fin} is below {lo}: acknowledged increments are lost \
                     (acknowledged sum {acked})"
                )
            } else {
                format!(
                    "final value {fin} is above {hi}: more was added than was ever sent \
                     (acknowledged sum {acked}, indeterminate up to +{hi_extra})"
                )
            };
            report.add(
                &mut stored,
                Anomaly {
                    key: key.to_string(),
                    kind: AnomalyKind::OutOfBounds,
                    detail,
                },
            );
        }
        if let Some((m, op)) = max_seen.filter(|&(m, _)| monotonic && fin < m) {
            report.add(
                &mut stored,
                Anomaly {
                    key: key.to_string(),
                    kind: AnomalyKind::Lost,
                    detail: format!(
                        "final value {fin} is below {m}, which a client was shown: [{op}]"
                    ),
                },
            );
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    type SOp = Op<SetOp<u32>, SetRet<u32>>;

    fn add(p: u64, inv: Nanos, comp: Nanos, e: u32) -> SOp {
        Op::ok(p, "s", SetOp::Add(e), inv, comp, SetRet::Added(1))
    }

    fn sread(p: u64, inv: Nanos, comp: Nanos, v: &[u32]) -> SOp {
        Op::ok(p, "s", SetOp::Read, inv, comp, SetRet::Read(v.to_vec()))
    }

    fn sets(ops: Vec<SOp>) -> WorkloadReport {
        check_sets(&History::from_ops(ops))
    }

    #[test]
    fn set_with_every_add_present_passes() {
        let r = sets(vec![
            add(0, 0, 10, 1),
            add(1, 5, 15, 2),
            Op::info(2, "s", SetOp::Add(3), 6),
            Op::fail(2, "s", SetOp::Add(4), 20, 25),
            sread(3, 12, 14, &[1]),
            sread(3, 100, 110, &[2, 1, 3]),
        ]);
        assert!(r.is_ok(), "{r}");
        assert_eq!((r.acked, r.indeterminate, r.reads), (2, 1, 2));
    }

    #[test]
    fn set_with_a_lost_element_fails() {
        let r = sets(vec![
            add(0, 0, 10, 1),
            add(1, 5, 15, 2),
            sread(3, 100, 110, &[1]),
        ]);
        assert_eq!(r.count(AnomalyKind::Lost), 1, "{r}");
        assert!(r.anomalies[0].detail.contains('2'), "{r}");
        // Shown by one read, gone from a later one.
        let r = sets(vec![
            Op::info(0, "s", SetOp::Add(1), 0),
            sread(3, 10, 20, &[1]),
            sread(3, 30, 40, &[]),
        ]);
        assert_eq!(r.count(AnomalyKind::Lost), 1, "{r}");
    }

    #[test]
    fn set_phantom_failed_future_duplicate_and_reply() {
        let r = sets(vec![
            add(0, 0, 10, 1),
            Op::fail(1, "s", SetOp::Add(2), 0, 10),
            add(1, 200, 210, 3),
            Op::ok(1, "s", SetOp::Add(4), 20, 30, SetRet::Added(0)),
            sread(3, 100, 110, &[1, 1, 2, 3, 4, 9]),
            sread(3, 300, 310, &[1, 3, 4]),
        ]);
        assert_eq!(r.count(AnomalyKind::Duplicate), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::FailedButPresent), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::FromTheFuture), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::Phantom), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::UnexpectedReply), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::Lost), 0, "{r}");
        assert!(!r.is_ok());
    }

    #[test]
    fn set_without_final_read_is_flagged() {
        let r = sets(vec![add(0, 0, 10, 1), sread(3, 5, 8, &[])]);
        assert!(r.anomalies.is_empty(), "{r}");
        assert_eq!(r.keys_without_final_read, vec!["s".to_string()]);
        assert!(!r.is_ok());
    }

    type LOp = Op<ListOp<u32>, ListRet<u32>>;

    fn app(p: u64, inv: Nanos, comp: Nanos, e: u32, len: u64) -> LOp {
        Op::ok(p, "l", ListOp::Append(e), inv, comp, ListRet::Appended(len))
    }

    fn lread(p: u64, inv: Nanos, comp: Nanos, v: &[u32]) -> LOp {
        Op::ok(p, "l", ListOp::Read, inv, comp, ListRet::Read(v.to_vec()))
    }

    fn lists(ops: Vec<LOp>) -> WorkloadReport {
        check_lists(&History::from_ops(ops))
    }

    #[test]
    fn list_with_consistent_reads_passes() {
        let r = lists(vec![
            app(0, 0, 10, 1, 1),
            app(1, 5, 20, 2, 2),
            Op::info(2, "l", ListOp::Append(3), 8),
            lread(3, 12, 14, &[1]),
            lread(3, 30, 40, &[1, 2]),
            app(0, 50, 60, 4, 4),
            lread(3, 100, 110, &[1, 2, 3, 4]),
        ]);
        assert!(r.is_ok(), "{r}");
    }

    #[test]
    fn list_with_a_reordered_read_fails() {
        let r = lists(vec![
            app(0, 0, 10, 1, 1),
            app(1, 0, 10, 2, 2),
            lread(3, 20, 30, &[2, 1]),
            lread(3, 40, 50, &[1, 2, 5]),
            Op::info(2, "l", ListOp::Append(5), 35),
        ]);
        assert_eq!(r.count(AnomalyKind::IncompatibleOrder), 1, "{r}");
    }

    #[test]
    fn list_lost_append_and_real_time_order() {
        // 2 acknowledged, missing from the final read.
        let r = lists(vec![
            app(0, 0, 10, 1, 1),
            app(1, 20, 30, 2, 2),
            lread(3, 40, 50, &[1]),
        ]);
        assert_eq!(r.count(AnomalyKind::Lost), 1, "{r}");
        // 1 answered before 2 was sent, but 2 comes first (and the
        // lengths agree with that order, so only the real-time rule sees
        // it).
        let r = lists(vec![
            app(0, 0, 10, 1, 2),
            app(0, 20, 30, 2, 1),
            lread(3, 40, 50, &[2, 1]),
        ]);
        assert_eq!(r.count(AnomalyKind::RealTimeOrder), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::WrongPosition), 0, "{r}");
        // Concurrent appends may land in either order.
        let r = lists(vec![
            app(0, 0, 30, 1, 2),
            app(1, 10, 20, 2, 1),
            lread(3, 40, 50, &[2, 1]),
        ]);
        assert!(r.is_ok(), "{r}");
    }

    #[test]
    fn list_duplicates_phantoms_and_wrong_length() {
        let r = lists(vec![
            app(0, 0, 10, 1, 1),
            app(1, 20, 30, 2, 3),
            lread(3, 40, 50, &[1, 2, 2, 7]),
        ]);
        assert_eq!(r.count(AnomalyKind::Duplicate), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::Phantom), 1, "{r}");
        assert_eq!(r.count(AnomalyKind::WrongPosition), 1, "{r}");
    }

    #[test]
    fn counter_bounds() {
        use CounterOp::{Incr, Read};
        let h = History::from_ops(vec![
            Op::ok(0, "c", Incr(1), 0, 10, 1),
            Op::ok(1, "c", Incr(2), 5, 15, 3),
            Op::info(2, "c", Incr(5), 20),
            Op::fail(2, "c", Incr(100), 30, 40),
            Op::ok(3, "c", Read, 50, 60, 8),
        ]);
        let finals = |v: i64| BTreeMap::from([("c".to_string(), v)]);
        assert!(
            check_counter_bounds(&h, &finals(3)).anomalies.len() == 1,
            "below a read"
        );
        assert!(check_counter_bounds(&h, &finals(8)).is_ok());
        let r = check_counter_bounds(&h, &finals(2));
        assert_eq!(r.count(AnomalyKind::OutOfBounds), 1, "{r}");
        let r = check_counter_bounds(&h, &finals(9));
        assert_eq!(r.count(AnomalyKind::OutOfBounds), 1, "{r}");
        assert!(r.anomalies[0].detail.contains("above"), "{r}");
        let r = check_counter_bounds(&h, &BTreeMap::new());
        assert_eq!(r.keys_without_final_read, vec!["c".to_string()]);
        // A key only in finals: nothing was sent, so it must be 0.
        let r = check_counter_bounds(&History::new(), &BTreeMap::from([("z".to_string(), 1)]));
        assert_eq!(r.count(AnomalyKind::OutOfBounds), 1, "{r}");
    }
}
