//! The crash test's checker: what clients were told, against what the
//! node holds after it comes back.
//!
//! Two kinds of keys, each written by one client at a time (its writes to
//! the key are sequential: one in flight at most):
//!
//! - a *register*, SET to `1, 2, 3, …` in that order (the value is
//!   [`register_value`]`(key, n)`). A write whose reply was lost (the node
//!   died first) may or may not have happened, so the final value must be
//!   one that was attempted and not older than the last acknowledged one:
//!   `acked_max <= n <= attempted_max`; the key may be missing only if no
//!   SET was acknowledged.
//! - a *counter*, INCRed. The final value (a missing key is 0) must lie in
//!   `acked ..= attempted`.

use std::collections::BTreeMap;
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
}

impl RegisterHistory {
    /// Records that value `n` is about to be sent.
    pub fn attempt(&mut self, n: u64) {
        self.attempted_max = self.attempted_max.max(n);
    }

    /// Records that the SET of value `n` was acknowledged.
    pub fn ack(&mut self, n: u64) {
        self.acked_max = Some(self.acked_max.map_or(n, |a| a.max(n)));
        self.acks += 1;
    }
}

/// One counter's history, as its writer saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterHistory {
    /// INCRs sent (including those whose reply never came).
    pub attempted: u64,
    /// INCRs whose integer reply arrived.
    pub acked: u64,
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

    pub fn acked_incrs(&self) -> u64 {
        self.counters.values().map(|c| c.acked).sum()
    }

    pub fn attempted_incrs(&self) -> u64 {
        self.counters.values().map(|c| c.attempted).sum()
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
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} on {}: {}", self.kind, self.key, self.detail)
    }
}

/// Checks the final state. `read(key)` returns the key's value (`None`
/// when missing). Returns every violation, empty when all is well.
pub fn check(history: &History, mut read: impl FnMut(&str) -> Option<Vec<u8>>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut violation = |key: &str, kind, detail: String| {
        out.push(Violation {
            key: key.to_string(),
            kind,
            detail,
        })
    };
    for (key, h) in &history.registers {
        match (read(key), h.acked_max) {
            (None, None) => {}
            (None, Some(a)) => violation(
                key,
                ViolationKind::LostAck,
                format!("missing, but SET #{a} was acknowledged"),
            ),
            (Some(v), acked) => match parse_register_value(key, &v) {
                None => violation(
                    key,
                    ViolationKind::Corrupt,
                    format!("holds {:?}", String::from_utf8_lossy(&v)),
                ),
                Some(n) if acked.is_some_and(|a| n < a) => violation(
                    key,
                    ViolationKind::LostAck,
                    format!("holds SET #{n}, but SET #{} was acknowledged", acked.unwrap_or(0)),
                ),
                Some(n) if n == 0 || n > h.attempted_max => violation(
                    key,
                    ViolationKind::Phantom,
                    format!("holds SET #{n}, but only #1..=#{} were sent", h.attempted_max),
                ),
                Some(_) => {}
            },
        }
    }
    for (key, h) in &history.counters {
        let value = match read(key) {
            None => 0,
            Some(v) => match std::str::from_utf8(&v).ok().and_then(|s| s.parse::<i64>().ok()) {
                Some(n) => n,
                None => {
                    violation(
                        key,
                        ViolationKind::Corrupt,
                        format!("holds {:?}", String::from_utf8_lossy(&v)),
                    );
                    continue;
                }
            },
        };
        if value < h.acked as i64 {
            violation(
                key,
                ViolationKind::LostAck,
                format!("is {value}, but {} INCRs were acknowledged", h.acked),
            );
        } else if value > h.attempted as i64 {
            violation(
                key,
                ViolationKind::Phantom,
                format!("is {value}, but only {} INCRs were sent", h.attempted),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
        h.registers.insert(
            "r0".into(),
            RegisterHistory {
                attempted_max: 1,
                acked_max: None,
                acks: 0,
            },
        );
        h.counters.insert(
            "c".into(),
            CounterHistory {
                attempted: 7,
                acked: 5,
            },
        );
        h
    }

    fn run(h: &History, state: &[(&str, &str)]) -> Vec<Violation> {
        let state: HashMap<String, Vec<u8>> = state
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        check(h, |k| state.get(k).cloned())
    }

    fn kinds(v: &[Violation]) -> Vec<(String, ViolationKind)> {
        v.iter().map(|v| (v.key.clone(), v.kind)).collect()
    }

    #[test]
    fn values_round_trip() {
        assert_eq!(parse_register_value("k", register_value("k", 42).as_bytes()), Some(42));
        assert_eq!(parse_register_value("k", register_value("j", 42).as_bytes()), None);
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
                assert!(run(&h, &[("r", &r), ("c", &c)]).is_empty(), "n={n} c={c}");
            }
        }
        // The unacknowledged-only register may be missing or hold #1.
        let ok = run(
            &h,
            &[("r", &register_value("r", 8)), ("r0", &register_value("r0", 1)), ("c", "5")],
        );
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn reports_a_lost_acknowledged_set() {
        let h = history();
        let v = run(&h, &[("r", &register_value("r", 7)), ("c", "5")]);
        assert_eq!(kinds(&v), vec![("r".into(), ViolationKind::LostAck)]);
        let v = run(&h, &[("c", "5")]);
        assert_eq!(kinds(&v), vec![("r".into(), ViolationKind::LostAck)]);
    }

    #[test]
    fn reports_a_lost_acknowledged_incr() {
        let h = history();
        let v = run(&h, &[("r", &register_value("r", 8)), ("c", "4")]);
        assert_eq!(kinds(&v), vec![("c".into(), ViolationKind::LostAck)]);
        // A missing counter is 0: every acknowledged INCR was lost.
        let v = run(&h, &[("r", &register_value("r", 8))]);
        assert_eq!(kinds(&v), vec![("c".into(), ViolationKind::LostAck)]);
    }

    #[test]
    fn reports_phantoms_and_corruption() {
        let h = history();
        let v = run(&h, &[("r", &register_value("r", 11)), ("c", "8")]);
        assert_eq!(
            kinds(&v),
            vec![("r".into(), ViolationKind::Phantom), ("c".into(), ViolationKind::Phantom)]
        );
        let v = run(&h, &[("r", "8|r|xx"), ("c", "five")]);
        assert_eq!(
            kinds(&v),
            vec![("r".into(), ViolationKind::Corrupt), ("c".into(), ViolationKind::Corrupt)]
        );
    }

    #[test]
    fn counts_add_up() {
        let h = history();
        assert_eq!((h.acked_sets(), h.attempted_sets()), (8, 11));
        assert_eq!((h.acked_incrs(), h.attempted_incrs()), (5, 7));
    }
}
