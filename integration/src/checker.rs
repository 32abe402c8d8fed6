//! The crash test's checker: what clients were told, against what the
//! node holds after it comes back.
//!
//! Two kinds of keys, each written by one client at a time (its writes to
//! the key are sequential: one in flight at most):
//!
//! - a *register*, SET to `1, 2, 3, …` in that order (the value is
//!   [`register_value`]`(key, n)`, so every value is unique and names its
//!   key). A SET whose reply never came (the node died, the connection
//!   broke, an error reply) is *indeterminate*: it may or may not have
//!   happened, and — since it never completed — it may have taken effect
//!   at any point after it was sent. So the final value must be the last
//!   acknowledged one or an indeterminate one; the key may be missing
//!   only if no SET was acknowledged. An acknowledged value older than the
//!   last acknowledged one is a lost write.
//! - a *counter*, INCRed. The final value (a missing key is 0) must lie in
//!   `acked ..= attempted` (acknowledged plus indeterminate INCRs), and be
//!   at least the largest value an INCR reply reported (counters only go
//!   up, so a state a client was shown cannot be undone).
//!
//! CAVEATS: the checker trusts the history it is given: a client that
//! records an ack it did not receive hides a loss. The unit tests below
//! feed it synthetic histories with a lost write, to show it can fail.
//!
//! Lists, sets, hashes and sorted sets have their own checker in
//! [`collections`], built on the same register and counter rules
//! ([`judge_register`], [`judge_counter`]).

pub mod collections;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One register's history, as its writer saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterHistory {
    /// The highest value sent (values are sent as 1, 2, 3, …).
    pub attempted_max: u64,
    /// The highest value whose `+OK` arrived.
    pub acked_max: Option<u64>,
    /// How many SETs were acknowledged.
    pub acks: u64,
    /// Values sent whose `+OK` never arrived: indeterminate.
    pub unacked: BTreeSet<u64>,
}

impl RegisterHistory {
    /// Records that value `n` is about to be sent.
    pub fn attempt(&mut self, n: u64) {
        self.attempted_max = self.attempted_max.max(n);
        self.unacked.insert(n);
    }

    /// Records that the SET of value `n` was acknowledged.
    pub fn ack(&mut self, n: u64) {
        if self.unacked.remove(&n) {
            self.acked_max = Some(self.acked_max.map_or(n, |a| a.max(n)));
            self.acks += 1;
        }
    }

    /// SETs whose outcome is unknown.
    pub fn indeterminate(&self) -> u64 {
        self.unacked.len() as u64
    }
}

/// One counter's history, as its writer saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterHistory {
    /// INCRs sent (including those whose reply never came).
    pub attempted: u64,
    /// INCRs whose integer reply arrived.
    pub acked: u64,
    /// The largest value an INCR reply reported.
    pub max_reply: Option<i64>,
}

impl CounterHistory {
    /// Records that an INCR is about to be sent.
    pub fn attempt(&mut self) {
        self.attempted += 1;
    }

    /// Records an INCR's reply (the counter's new value).
    pub fn ack(&mut self, reply: i64) {
        self.acked += 1;
        self.max_reply = Some(self.max_reply.map_or(reply, |m| m.max(reply)));
    }

    /// INCRs whose outcome is unknown.
    pub fn indeterminate(&self) -> u64 {
        self.attempted - self.acked
    }
}

/// Everything the clients did.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub registers: BTreeMap<String, RegisterHistory>,
    pub counters: BTreeMap<String, CounterHistory>,
}

impl History {
    /// Adds another client's history (keys must not overlap).
    pub fn merge(&mut self, other: History) {
        self.registers.extend(other.registers);
        self.counters.extend(other.counters);
    }

    pub fn acked_sets(&self) -> u64 {
        self.registers.values().map(|r| r.acks).sum()
    }

    pub fn attempted_sets(&self) -> u64 {
        self.registers.values().map(|r| r.attempted_max).sum()
    }

    pub fn indeterminate_sets(&self) -> u64 {
        self.registers
            .values()
            .map(RegisterHistory::indeterminate)
            .sum()
    }

    pub fn acked_incrs(&self) -> u64 {
        self.counters.values().map(|c| c.acked).sum()
    }

    pub fn attempted_incrs(&self) -> u64 {
        self.counters.values().map(|c| c.attempted).sum()
    }

    pub fn indeterminate_incrs(&self) -> u64 {
        self.counters
            .values()
            .map(CounterHistory::indeterminate)
            .sum()
    }

    /// Every key the checker will read.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.registers.keys().chain(self.counters.keys())
    }
}

/// The value a register holds after its `n`-th SET: self-describing and
/// padded, so a torn or misplaced value shows.
pub fn register_value(key: &str, n: u64) -> String {
    format!("{n}|{key}|{}", "x".repeat(48))
}

/// The `n` of a [`register_value`] for `key`, if the bytes are exactly one.
pub fn parse_register_value(key: &str, value: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(value).ok()?;
    let n: u64 = s.split('|').next()?.parse().ok()?;
    (register_value(key, n) == s).then_some(n)
}

/// A broken promise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub key: String,
    pub kind: ViolationKind,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// An acknowledged write is missing or was overwritten by an older one.
    LostAck,
    /// The key holds a value no client ever sent.
    Phantom,
    /// The key holds bytes that are not a value of its kind.
    Corrupt,
    /// A collection holds an element twice that was sent once.
    Duplicate,
    /// A list holds one writer's elements out of the order they were sent.
    Reordered,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} on {}: {}", self.kind, self.key, self.detail)
    }
}

/// The checker's verdict, with how the indeterminate writes turned out
/// (for the test's printout; none of these counts is a failure).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub violations: Vec<Violation>,
    /// Registers holding their last acknowledged value.
    pub registers_at_last_ack: u64,
    /// Registers holding an indeterminate value newer than the last ack.
    pub registers_at_later_indeterminate: u64,
    /// Registers holding an indeterminate value older than the last ack
    /// (allowed: it never completed, so it may have landed last).
    pub registers_at_earlier_indeterminate: u64,
    /// Registers missing, none of whose SETs was acknowledged.
    pub registers_missing_unacked: u64,
    /// Indeterminate INCRs that turned out to have happened.
    pub indeterminate_incrs_applied: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Where a register's final value stands against its history (none of
/// these is a failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterVerdict {
    /// It holds its last acknowledged value.
    AtLastAck,
    /// It holds an indeterminate value newer than the last ack.
    AtLaterIndeterminate,
    /// It holds an indeterminate value older than the last ack.
    AtEarlierIndeterminate,
    /// It is missing, and none of its writes was acknowledged.
    MissingUnacked,
}

/// Judges one register's final state against its history: `read` is
/// `None` when it is missing, `Some(Err(text))` when it holds something
/// that is not one of its values, else the `n` it holds. Shared by
/// [`check`] (string registers) and [`collections`] (hash fields and
/// sorted-set scores).
pub fn judge_register(
    h: &RegisterHistory,
    read: Option<Result<u64, String>>,
) -> Result<RegisterVerdict, (ViolationKind, String)> {
    let n = match read {
        None => {
            return match h.acked_max {
                None => Ok(RegisterVerdict::MissingUnacked),
                Some(a) => Err((
                    ViolationKind::LostAck,
                    format!("missing, but write #{a} was acknowledged"),
                )),
            }
        }
        Some(Err(text)) => return Err((ViolationKind::Corrupt, format!("holds {text:?}"))),
        Some(Ok(n)) => n,
    };
    if n == 0 || n > h.attempted_max {
        Err((
            ViolationKind::Phantom,
            format!(
                "holds write #{n}, but only #1..=#{} were sent",
                h.attempted_max
            ),
        ))
    } else if Some(n) == h.acked_max {
        Ok(RegisterVerdict::AtLastAck)
    } else if h.unacked.contains(&n) {
        if h.acked_max.is_some_and(|a| n < a) {
            Ok(RegisterVerdict::AtEarlierIndeterminate)
        } else {
            Ok(RegisterVerdict::AtLaterIndeterminate)
        }
    } else {
        Err((
            ViolationKind::LostAck,
            format!(
                "holds write #{n}, but write #{} was acknowledged after it",
                h.acked_max.unwrap_or(0)
            ),
        ))
    }
}

/// Judges one counter's final value (a missing counter is 0; `Err(text)`
/// when it holds something that is not an integer) against its history;
/// returns how many indeterminate increments turned out to have happened.
pub fn judge_counter(
    h: &CounterHistory,
    value: Result<i64, String>,
) -> Result<u64, (ViolationKind, String)> {
    let value = value.map_err(|text| (ViolationKind::Corrupt, format!("holds {text:?}")))?;
    let floor = (h.acked as i64).max(h.max_reply.unwrap_or(0));
    if value < floor {
        Err((
            ViolationKind::LostAck,
            format!(
                "is {value}, but {} increments were acknowledged, the last ones reaching {}",
                h.acked,
                h.max_reply.unwrap_or(0)
            ),
        ))
    } else if value > h.attempted as i64 {
        Err((
            ViolationKind::Phantom,
            format!("is {value}, but only {} increments were sent", h.attempted),
        ))
    } else {
        Ok((value - h.acked as i64) as u64)
    }
}

/// Checks the final state. `read(key)` returns the key's value (`None`
/// when missing).
pub fn check(history: &History, mut read: impl FnMut(&str) -> Option<Vec<u8>>) -> Report {
    let mut report = Report::default();
    let mut out = Vec::new();
    let mut violation = |key: &str, (kind, detail): (ViolationKind, String)| {
        out.push(Violation {
            key: key.to_string(),
            kind,
            detail,
        })
    };
    for (key, h) in &history.registers {
        let value = read(key).map(|v| {
            parse_register_value(key, &v).ok_or_else(|| String::from_utf8_lossy(&v).into_owned())
        });
        match judge_register(h, value) {
            Ok(RegisterVerdict::AtLastAck) => report.registers_at_last_ack += 1,
            Ok(RegisterVerdict::AtLaterIndeterminate) => {
                report.registers_at_later_indeterminate += 1
            }
            Ok(RegisterVerdict::AtEarlierIndeterminate) => {
                report.registers_at_earlier_indeterminate += 1
            }
            Ok(RegisterVerdict::MissingUnacked) => report.registers_missing_unacked += 1,
            Err(v) => violation(key, v),
        }
    }
    for (key, h) in &history.counters {
        let value = match read(key) {
            None => Ok(0),
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| String::from_utf8_lossy(&v).into_owned()),
        };
        match judge_counter(h, value) {
            Ok(applied) => report.indeterminate_incrs_applied += applied,
            Err(v) => violation(key, v),
        }
    }
    report.violations = out;
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    fn history() -> History {
        let mut h = History::default();
        let mut r = RegisterHistory::default();
        for n in 1..=10 {
            r.attempt(n);
            if n <= 8 {
                r.ack(n);
            }
        }
        h.registers.insert("r".into(), r);
        // Sent, never acknowledged.
        let mut r0 = RegisterHistory::default();
        r0.attempt(1);
        h.registers.insert("r0".into(), r0);
        let mut c = CounterHistory::default();
        for i in 1..=7 {
            c.attempt();
            if i <= 5 {
                c.ack(i);
            }
        }
        h.counters.insert("c".into(), c);
        h
    }

    fn run(h: &History, state: &[(&str, &str)]) -> Report {
        let state: HashMap<String, Vec<u8>> = state
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        check(h, |k| state.get(k).cloned())
    }

    fn kinds(r: &Report) -> Vec<(String, ViolationKind)> {
        r.violations
            .iter()
            .map(|v| (v.key.clone(), v.kind))
            .collect()
    }

    #[test]
    fn values_round_trip() {
        assert_eq!(
            parse_register_value("k", register_value("k", 42).as_bytes()),
            Some(42)
        );
        assert_eq!(
            parse_register_value("k", register_value("j", 42).as_bytes()),
            None
        );
        assert_eq!(parse_register_value("k", b"42"), None);
    }

    #[test]
    fn accepts_every_allowed_outcome() {
        let h = history();
        // The last acknowledged value, or a later unacknowledged one.
        for n in 8..=10 {
            for c in 5..=7 {
                let r = register_value("r", n);
                let c = c.to_string();
                let rep = run(&h, &[("r", &r), ("c", &c)]);
                assert!(rep.ok(), "n={n} c={c}: {:?}", rep.violations);
            }
        }
        // The unacknowledged-only register may be missing or hold #1.
        let rep = run(
            &h,
            &[
                ("r", &register_value("r", 8)),
                ("r0", &register_value("r0", 1)),
                ("c", "6"),
            ],
        );
        assert!(rep.ok(), "{:?}", rep.violations);
        assert_eq!(
            (
                rep.registers_at_last_ack,
                rep.registers_at_later_indeterminate
            ),
            (1, 1)
        );
        assert_eq!(rep.indeterminate_incrs_applied, 1);
        let rep = run(&h, &[("r", &register_value("r", 9)), ("c", "5")]);
        assert_eq!(
            (
                rep.registers_at_later_indeterminate,
                rep.registers_missing_unacked
            ),
            (1, 1)
        );
    }

    #[test]
    fn an_older_indeterminate_set_may_land_last_but_an_older_acked_one_may_not() {
        let mut h = History::default();
        let mut r = RegisterHistory::default();
        for n in 1..=5 {
            r.attempt(n);
            if n != 3 {
                r.ack(n);
            }
        }
        h.registers.insert("r".into(), r);
        let rep = run(&h, &[("r", &register_value("r", 3))]);
        assert!(rep.ok(), "{:?}", rep.violations);
        assert_eq!(rep.registers_at_earlier_indeterminate, 1);
        let rep = run(&h, &[("r", &register_value("r", 4))]);
        assert_eq!(kinds(&rep), vec![("r".into(), ViolationKind::LostAck)]);
    }

    #[test]
    fn reports_a_lost_acknowledged_set() {
        let h = history();
        let rep = run(&h, &[("r", &register_value("r", 7)), ("c", "5")]);
        assert_eq!(kinds(&rep), vec![("r".into(), ViolationKind::LostAck)]);
        let rep = run(&h, &[("c", "5")]);
        assert_eq!(kinds(&rep), vec![("r".into(), ViolationKind::LostAck)]);
    }

    #[test]
    fn reports_a_lost_acknowledged_incr() {
        let h = history();
        let rep = run(&h, &[("r", &register_value("r", 8)), ("c", "4")]);
        assert_eq!(kinds(&rep), vec![("c".into(), ViolationKind::LostAck)]);
        // A missing counter is 0: every acknowledged INCR was lost.
        let rep = run(&h, &[("r", &register_value("r", 8))]);
        assert_eq!(kinds(&rep), vec![("c".into(), ViolationKind::LostAck)]);
        // Below a value a reply reported, though not below the ack count:
        // two indeterminate INCRs happened, then an acked one was lost.
        let mut c = CounterHistory::default();
        for _ in 0..3 {
            c.attempt();
        }
        c.ack(3);
        let mut h = History::default();
        h.counters.insert("c".into(), c);
        let rep = run(&h, &[("c", "2")]);
        assert_eq!(kinds(&rep), vec![("c".into(), ViolationKind::LostAck)]);
        assert!(run(&h, &[("c", "3")]).ok());
    }

    #[test]
    fn reports_phantoms_and_corruption() {
        let h = history();
        let rep = run(&h, &[("r", &register_value("r", 11)), ("c", "8")]);
        assert_eq!(
            kinds(&rep),
            vec![
                ("r".into(), ViolationKind::Phantom),
                ("c".into(), ViolationKind::Phantom)
            ]
        );
        let rep = run(&h, &[("r", "8|r|xx"), ("c", "five")]);
        assert_eq!(
            kinds(&rep),
            vec![
                ("r".into(), ViolationKind::Corrupt),
                ("c".into(), ViolationKind::Corrupt)
            ]
        );
    }

    #[test]
    fn counts_add_up() {
        let h = history();
        assert_eq!(
            (h.acked_sets(), h.attempted_sets(), h.indeterminate_sets()),
            (8, 11, 3)
        );
        assert_eq!(
            (
                h.acked_incrs(),
                h.attempted_incrs(),
                h.indeterminate_incrs()
            ),
            (5, 7, 2)
        );
    }

    /// A toy store with a durable part and a volatile part, standing in
    /// for a node. `ack_before_sync` is the bug `--unsafe-no-fsync` would
    /// be: writes acknowledged while only in memory.
    struct ToyNode {
        durable: HashMap<String, Vec<u8>>,
        volatile: HashMap<String, Vec<u8>>,
        ack_before_sync: bool,
    }

    impl ToyNode {
        fn get(&self, k: &str) -> Option<Vec<u8>> {
            self.volatile
                .get(k)
                .or_else(|| self.durable.get(k))
                .cloned()
        }

        /// Applies a write; returns whether the client hears back.
        fn write(&mut self, k: &str, v: Vec<u8>, rng: &mut StdRng) -> bool {
            self.volatile.insert(k.to_string(), v);
            if self.ack_before_sync {
                if rng.random_bool(0.3) {
                    self.sync();
                }
                true
            } else {
                self.sync();
                // The reply may still be lost on the way back.
                !rng.random_bool(0.05)
            }
        }

        fn sync(&mut self) {
            self.durable.extend(self.volatile.drain());
        }

        fn crash(&mut self) {
            self.volatile.clear();
        }
    }

    /// Random SET/INCR histories against a [`ToyNode`] with crashes.
    fn simulate(ack_before_sync: bool, seed: u64) -> Report {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut node = ToyNode {
            durable: HashMap::new(),
            volatile: HashMap::new(),
            ack_before_sync,
        };
        let mut h = History::default();
        for step in 0..2000 {
            if step % 97 == 96 {
                node.crash();
            }
            let i = rng.random_range(0..4);
            if rng.random_bool(0.5) {
                let key = format!("reg:{i}");
                let r = h.registers.entry(key.clone()).or_default();
                let n = r.attempted_max + 1;
                r.attempt(n);
                if node.write(&key, register_value(&key, n).into_bytes(), &mut rng) {
                    r.ack(n);
                }
            } else {
                let key = format!("ctr:{i}");
                let c = h.counters.entry(key.clone()).or_default();
                let cur: i64 = node
                    .get(&key)
                    .map_or(0, |v| String::from_utf8(v).unwrap().parse().unwrap());
                c.attempt();
                let next = cur + 1;
                if node.write(&key, next.to_string().into_bytes(), &mut rng) {
                    c.ack(next);
                }
            }
        }
        node.crash();
        check(&h, |k| node.get(k))
    }

    #[test]
    fn a_node_that_acknowledges_before_syncing_is_caught() {
        for seed in 0..5 {
            let rep = simulate(true, seed);
            assert!(
                rep.violations
                    .iter()
                    .any(|v| v.kind == ViolationKind::LostAck),
                "seed {seed}: lost writes went unnoticed"
            );
            assert!(rep
                .violations
                .iter()
                .all(|v| v.kind == ViolationKind::LostAck));
        }
    }

    #[test]
    fn a_node_that_syncs_before_acknowledging_passes() {
        for seed in 0..5 {
            let rep = simulate(false, seed);
            assert!(rep.ok(), "seed {seed}: {:?}", rep.violations);
        }
    }
}
