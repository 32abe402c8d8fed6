//! The checker for lists, sets, hashes and sorted sets: what their
//! writers were told, against what the node(s) hold afterwards.
//!
//! Every collection has one writer, with one command in flight at a time.
//! What it writes, and what the collection must hold afterwards:
//!
//! - *items*, each sent once and numbered 1, 2, 3, … in sending order
//!   ([`item`] names the collection and the number): list elements
//!   (RPUSH), set members (SADD), new hash fields (HSET, holding
//!   [`item_value`]) and new sorted-set members (ZADD, with score `n`).
//!   Every acknowledged item must be there; an indeterminate one (no reply,
//!   a broken connection, an error reply) may or may not be; an item never
//!   sent must not. A list holds each item once, in increasing number: one
//!   writer with one command in flight sends item `n + 1` only after item
//!   `n` was answered or given up on, so no order but the sending order can
//!   be applied.
//! - *registers*: hash fields HSET to [`field_register_value`] `1, 2, 3, …`
//!   and sorted-set members ZADDed with score `1, 2, 3, …`. They follow the
//!   rules of a string register ([`judge_register`]): the last acknowledged
//!   value, or an indeterminate one.
//! - *counters*: hash fields HINCRBYed and sorted-set members ZINCRBYed,
//!   by one each time. They follow the rules of a string counter
//!   ([`judge_counter`]): between the acknowledged and the attempted
//!   increments, and not below a value a reply reported.
//!
//! CAVEATS: as for strings, the checker trusts the history it is given;
//! the unit tests below feed it synthetic histories with a lost,
//! reordered, duplicated or phantom element, to show that it fails then.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    judge_counter, judge_register, parse_register_value, register_value, CounterHistory,
    RegisterHistory, RegisterVerdict, Violation, ViolationKind,
};

/// The four collection types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CollectionType {
    List,
    Set,
    Hash,
    ZSet,
}

impl CollectionType {
    pub const ALL: [CollectionType; 4] = [
        CollectionType::List,
        CollectionType::Set,
        CollectionType::Hash,
        CollectionType::ZSet,
    ];

    /// The name `TYPE` answers.
    pub fn name(self) -> &'static str {
        match self {
            CollectionType::List => "list",
            CollectionType::Set => "set",
            CollectionType::Hash => "hash",
            CollectionType::ZSet => "zset",
        }
    }

    /// Whether the collection is read back as field/value (member/score)
    /// pairs rather than as elements.
    pub fn has_pairs(self) -> bool {
        matches!(self, CollectionType::Hash | CollectionType::ZSet)
    }
}

/// The `n`-th item added to collection `key`: names both, so an item in
/// the wrong collection or a torn one shows.
pub fn item(key: &str, n: u64) -> String {
    format!("{n}|{key}")
}

/// The `n` of an [`item`] of `key`, if the bytes are exactly one.
pub fn parse_item(key: &str, bytes: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(bytes).ok()?;
    let n: u64 = s.split_once('|')?.0.parse().ok()?;
    (item(key, n) == s).then_some(n)
}

/// The value of hash field [`item`]`(key, n)`.
pub fn item_value(key: &str, n: u64) -> String {
    format!("v{n}|{key}")
}

/// The value hash field `field` of `key` holds after its `n`-th HSET as a
/// register.
pub fn field_register_value(key: &str, field: &str, n: u64) -> String {
    register_value(&format!("{key}#{field}"), n)
}

/// A sorted-set score as an integer, if it is one (Redis replies integral
/// scores without a fraction: `5`, not `5.0`).
pub fn parse_integral_score(bytes: &[u8]) -> Option<i64> {
    let f: f64 = std::str::from_utf8(bytes).ok()?.parse().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 2f64.powi(53)).then_some(f as i64)
}

/// Items sent once each, numbered from 1 in sending order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemHistory {
    /// Items sent: `1..=attempted`.
    pub attempted: u64,
    /// Items whose reply arrived.
    pub acked: BTreeSet<u64>,
}

impl ItemHistory {
    /// Records that the next item is about to be sent; returns its number.
    pub fn attempt(&mut self) -> u64 {
        self.attempted += 1;
        self.attempted
    }

    /// Records that item `n` was acknowledged.
    pub fn ack(&mut self, n: u64) {
        assert!(
            (1..=self.attempted).contains(&n),
            "ack of item #{n} never sent"
        );
        self.acked.insert(n);
    }

    /// Items whose outcome is unknown.
    pub fn indeterminate(&self) -> u64 {
        self.attempted - self.acked.len() as u64
    }
}

/// What the writer of one collection did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionHistory {
    pub ty: CollectionType,
    pub items: ItemHistory,
    /// Hash fields / sorted-set members written as registers, by name.
    pub registers: BTreeMap<String, RegisterHistory>,
    /// Hash fields / sorted-set members incremented, by name.
    pub counters: BTreeMap<String, CounterHistory>,
}

impl CollectionHistory {
    pub fn new(ty: CollectionType) -> CollectionHistory {
        CollectionHistory {
            ty,
            items: ItemHistory::default(),
            registers: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }

    /// Writes acknowledged.
    pub fn acked(&self) -> u64 {
        self.items.acked.len() as u64
            + self.registers.values().map(|r| r.acks).sum::<u64>()
            + self.counters.values().map(|c| c.acked).sum::<u64>()
    }

    /// Writes whose outcome is unknown.
    pub fn indeterminate(&self) -> u64 {
        self.items.indeterminate()
            + self
                .registers
                .values()
                .map(RegisterHistory::indeterminate)
                .sum::<u64>()
            + self
                .counters
                .values()
                .map(CounterHistory::indeterminate)
                .sum::<u64>()
    }
}

/// Counts for one type, for the test's printout (none is a failure).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeCounts {
    pub collections: u64,
    pub acked: u64,
    pub indeterminate: u64,
    /// Indeterminate writes that turned out to have happened: items
    /// present, increments counted, registers at an indeterminate value.
    pub indeterminate_applied: u64,
    /// Elements (members, fields) read back.
    pub read_back: u64,
}

/// The checker's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectionReport {
    pub violations: Vec<Violation>,
    pub counts: BTreeMap<CollectionType, TypeCounts>,
}

impl CollectionReport {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Checks every collection of `histories`. `read(key)` returns what the
/// collection holds: a list's elements in order (LRANGE 0 -1), a set's
/// members (SMEMBERS), a hash's fields and values (HGETALL) or a sorted
/// set's members and scores (ZRANGE 0 -1 WITHSCORES), flat as Redis
/// replies them; empty when the key is missing.
pub fn check(
    histories: &BTreeMap<String, CollectionHistory>,
    mut read: impl FnMut(&str) -> Vec<Vec<u8>>,
) -> CollectionReport {
    let mut report = CollectionReport::default();
    for (key, h) in histories {
        let got = read(key);
        let counts = report.counts.entry(h.ty).or_default();
        counts.collections += 1;
        counts.acked += h.acked();
        counts.indeterminate += h.indeterminate();
        let mut v = Checking {
            key,
            out: &mut report.violations,
        };
        if h.ty.has_pairs() {
            v.pairs(h, &got, counts);
        } else {
            v.elements(h, &got, counts);
        }
    }
    report
}

/// The violations of one collection.
struct Checking<'a> {
    key: &'a str,
    out: &'a mut Vec<Violation>,
}

impl Checking<'_> {
    fn push(&mut self, sub: Option<&str>, kind: ViolationKind, detail: String) {
        self.out.push(Violation {
            key: match sub {
                Some(s) => format!("{} {s}", self.key),
                None => self.key.to_string(),
            },
            kind,
            detail,
        });
    }

    /// Numbers an item: `None` (after reporting why) when it is not an
    /// item of this collection, was never sent or is there twice.
    fn item(
        &mut self,
        h: &CollectionHistory,
        bytes: &[u8],
        seen: &mut BTreeSet<u64>,
    ) -> Option<u64> {
        let Some(n) = parse_item(self.key, bytes) else {
            self.push(
                None,
                ViolationKind::Corrupt,
                format!(
                    "holds {:?}, not an item of this collection",
                    String::from_utf8_lossy(bytes)
                ),
            );
            return None;
        };
        if n == 0 || n > h.items.attempted {
            self.push(
                None,
                ViolationKind::Phantom,
                format!(
                    "holds item #{n}, but only #1..=#{} were sent",
                    h.items.attempted
                ),
            );
            return None;
        }
        if !seen.insert(n) {
            self.push(
                None,
                ViolationKind::Duplicate,
                format!("holds item #{n} twice"),
            );
            return None;
        }
        Some(n)
    }

    /// Reports acknowledged items missing from `seen`; counts the
    /// indeterminate ones present.
    fn lost_items(&mut self, h: &CollectionHistory, seen: &BTreeSet<u64>, counts: &mut TypeCounts) {
        let lost: Vec<u64> = h.items.acked.difference(seen).copied().collect();
        if let (Some(first), Some(last)) = (lost.first(), lost.last()) {
            self.push(
                None,
                ViolationKind::LostAck,
                format!(
                    "{} acknowledged items missing (#{first} … #{last}); {} of {} acknowledged \
                     ones present",
                    lost.len(),
                    h.items.acked.len() - lost.len(),
                    h.items.acked.len()
                ),
            );
        }
        counts.indeterminate_applied += seen.difference(&h.items.acked).count() as u64;
    }

    fn elements(&mut self, h: &CollectionHistory, got: &[Vec<u8>], counts: &mut TypeCounts) {
        counts.read_back += got.len() as u64;
        let mut seen = BTreeSet::new();
        let mut last = 0;
        let mut reordered = false;
        for e in got {
            let Some(n) = self.item(h, e, &mut seen) else {
                continue;
            };
            if h.ty == CollectionType::List && n < last && !reordered {
                // Reported once per list: one misplaced element would
                // otherwise be reported for each element after it.
                reordered = true;
                self.push(
                    None,
                    ViolationKind::Reordered,
                    format!("item #{n} comes after item #{last}"),
                );
            }
            last = last.max(n);
        }
        self.lost_items(h, &seen, counts);
    }

    fn pairs(&mut self, h: &CollectionHistory, got: &[Vec<u8>], counts: &mut TypeCounts) {
        if !got.len().is_multiple_of(2) {
            self.push(
                None,
                ViolationKind::Corrupt,
                format!("read back {} values, not pairs", got.len()),
            );
            return;
        }
        counts.read_back += got.len() as u64 / 2;
        let mut fields: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for pair in got.chunks(2) {
            let (f, v) = (&pair[0][..], &pair[1][..]);
            if fields.insert(f, v).is_some() {
                self.push(
                    Some(&String::from_utf8_lossy(f)),
                    ViolationKind::Duplicate,
                    "read back twice".into(),
                );
                continue;
            }
            let name = std::str::from_utf8(f).unwrap_or("");
            if h.registers.contains_key(name) || h.counters.contains_key(name) {
                continue; // judged below
            }
            if parse_item(self.key, f).is_none() {
                self.push(
                    Some(&String::from_utf8_lossy(f)),
                    ViolationKind::Phantom,
                    "no client wrote this field or member".into(),
                );
                continue;
            }
            let Some(n) = self.item(h, f, &mut seen) else {
                continue;
            };
            let expected = match h.ty {
                CollectionType::Hash => item_value(self.key, n).into_bytes() == v,
                _ => parse_integral_score(v) == Some(n as i64),
            };
            if !expected {
                self.push(
                    Some(name),
                    ViolationKind::Corrupt,
                    format!("item #{n} holds {:?}", String::from_utf8_lossy(v)),
                );
            }
        }
        self.lost_items(h, &seen, counts);
        for (name, rh) in &h.registers {
            let value = fields.get(name.as_bytes()).map(|v| {
                let n = match h.ty {
                    CollectionType::Hash => {
                        parse_register_value(&format!("{}#{name}", self.key), v)
                    }
                    _ => parse_integral_score(v).and_then(|s| u64::try_from(s).ok()),
                };
                n.ok_or_else(|| String::from_utf8_lossy(v).into_owned())
            });
            match judge_register(rh, value) {
                Ok(
                    RegisterVerdict::AtLaterIndeterminate | RegisterVerdict::AtEarlierIndeterminate,
                ) => counts.indeterminate_applied += 1,
                Ok(_) => {}
                Err((kind, detail)) => self.push(Some(name), kind, detail),
            }
        }
        for (name, ch) in &h.counters {
            let value = match fields.get(name.as_bytes()) {
                None => Ok(0),
                Some(v) => match h.ty {
                    CollectionType::Hash => {
                        std::str::from_utf8(v).ok().and_then(|s| s.parse().ok())
                    }
                    _ => parse_integral_score(v),
                }
                .ok_or_else(|| String::from_utf8_lossy(v).into_owned()),
            };
            match judge_counter(ch, value) {
                Ok(applied) => counts.indeterminate_applied += applied,
                Err((kind, detail)) => self.push(Some(name), kind, detail),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn b(s: impl AsRef<str>) -> Vec<u8> {
        s.as_ref().as_bytes().to_vec()
    }

    /// Items 1..=6 sent, 1, 2, 4, 5 acknowledged (3 and 6 indeterminate).
    fn items() -> ItemHistory {
        let mut h = ItemHistory::default();
        for n in 1..=6 {
            assert_eq!(h.attempt(), n);
            if n != 3 && n != 6 {
                h.ack(n);
            }
        }
        h
    }

    fn one(key: &str, h: CollectionHistory) -> BTreeMap<String, CollectionHistory> {
        BTreeMap::from([(key.to_string(), h)])
    }

    fn run(histories: &BTreeMap<String, CollectionHistory>, got: Vec<Vec<u8>>) -> CollectionReport {
        check(histories, |_| got.clone())
    }

    fn kinds(r: &CollectionReport) -> Vec<ViolationKind> {
        r.violations.iter().map(|v| v.kind).collect()
    }

    fn list_of(ns: &[u64]) -> Vec<Vec<u8>> {
        ns.iter().map(|&n| b(item("l", n))).collect()
    }

    #[test]
    fn items_round_trip() {
        assert_eq!(parse_item("k", item("k", 42).as_bytes()), Some(42));
        assert_eq!(parse_item("k", item("j", 42).as_bytes()), None);
        assert_eq!(parse_item("k", b"042|k"), None);
        assert_eq!(parse_item("k", b"42"), None);
        assert_eq!(parse_integral_score(b"5"), Some(5));
        assert_eq!(parse_integral_score(b"5.5"), None);
        assert_eq!(parse_integral_score(b"inf"), None);
    }

    #[test]
    fn a_list_with_every_acknowledged_element_in_order_passes() {
        let h = one(
            "l",
            CollectionHistory {
                items: items(),
                ..CollectionHistory::new(CollectionType::List)
            },
        );
        for got in [
            &[1, 2, 4, 5][..],
            &[1, 2, 3, 4, 5],
            &[1, 2, 4, 5, 6],
            &[1, 2, 3, 4, 5, 6],
        ] {
            let r = run(&h, list_of(got));
            assert!(r.ok(), "{got:?}: {:?}", r.violations);
            let c = &r.counts[&CollectionType::List];
            assert_eq!((c.acked, c.indeterminate), (4, 2));
            assert_eq!(c.indeterminate_applied, got.len() as u64 - 4);
        }
    }

    #[test]
    fn a_lost_reordered_duplicated_or_phantom_list_element_fails() {
        let h = one(
            "l",
            CollectionHistory {
                items: items(),
                ..CollectionHistory::new(CollectionType::List)
            },
        );
        // Acknowledged element 4 lost.
        assert_eq!(
            kinds(&run(&h, list_of(&[1, 2, 3, 5]))),
            [ViolationKind::LostAck]
        );
        // A missing list loses every acknowledged element.
        assert_eq!(kinds(&run(&h, vec![])), [ViolationKind::LostAck]);
        assert_eq!(
            kinds(&run(&h, list_of(&[1, 4, 2, 5]))),
            [ViolationKind::Reordered]
        );
        assert_eq!(
            kinds(&run(&h, list_of(&[1, 2, 2, 4, 5]))),
            [ViolationKind::Duplicate]
        );
        assert_eq!(
            kinds(&run(&h, list_of(&[1, 2, 4, 5, 7]))),
            [ViolationKind::Phantom]
        );
        let mut got = list_of(&[1, 2, 4, 5]);
        got.push(b(item("other", 3)));
        assert_eq!(kinds(&run(&h, got)), [ViolationKind::Corrupt]);
    }

    #[test]
    fn a_set_needs_its_acknowledged_members_in_any_order() {
        let h = one(
            "l",
            CollectionHistory {
                items: items(),
                ..CollectionHistory::new(CollectionType::Set)
            },
        );
        assert!(run(&h, list_of(&[5, 3, 1, 4, 2])).ok());
        assert_eq!(
            kinds(&run(&h, list_of(&[5, 3, 1, 2]))),
            [ViolationKind::LostAck]
        );
        assert_eq!(
            kinds(&run(&h, list_of(&[5, 1, 4, 2, 9]))),
            [ViolationKind::Phantom]
        );
    }

    /// A hash with items 1..=6 (3 and 6 indeterminate), register `r`
    /// written #1..=#4 (#4 indeterminate) and counter `c` incremented 5
    /// times (the last 2 indeterminate).
    fn hash_or_zset(ty: CollectionType) -> BTreeMap<String, CollectionHistory> {
        let mut h = CollectionHistory::new(ty);
        h.items = items();
        let mut r = RegisterHistory::default();
        for n in 1..=4 {
            r.attempt(n);
            if n < 4 {
                r.ack(n);
            }
        }
        h.registers.insert("r".into(), r);
        let mut c = CounterHistory::default();
        for i in 1..=5 {
            c.attempt();
            if i <= 3 {
                c.ack(i);
            }
        }
        h.counters.insert("c".into(), c);
        one("h", h)
    }

    /// The flat HGETALL / ZRANGE WITHSCORES reply for items `ns`, register
    /// `r` at `reg` and counter `c` at `ctr` (`None`: absent).
    fn fields(ty: CollectionType, ns: &[u64], reg: Option<u64>, ctr: Option<i64>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for &n in ns {
            out.push(b(item("h", n)));
            out.push(match ty {
                CollectionType::Hash => b(item_value("h", n)),
                _ => b(n.to_string()),
            });
        }
        if let Some(n) = reg {
            out.push(b("r"));
            out.push(match ty {
                CollectionType::Hash => b(field_register_value("h", "r", n)),
                _ => b(n.to_string()),
            });
        }
        if let Some(v) = ctr {
            out.push(b("c"));
            out.push(b(v.to_string()));
        }
        out
    }

    #[test]
    fn hashes_and_sorted_sets_pass_with_every_allowed_outcome() {
        for ty in [CollectionType::Hash, CollectionType::ZSet] {
            let h = hash_or_zset(ty);
            for reg in [3, 4] {
                for ctr in 3..=5 {
                    let r = run(&h, fields(ty, &[1, 2, 3, 4, 5], Some(reg), Some(ctr)));
                    assert!(r.ok(), "{ty:?} r={reg} c={ctr}: {:?}", r.violations);
                }
            }
            let r = run(&h, fields(ty, &[1, 2, 4, 5, 6], Some(4), Some(5)));
            assert_eq!(r.counts[&ty].indeterminate_applied, 1 + 1 + 2);
            assert_eq!(r.counts[&ty].acked, 4 + 3 + 3);
            assert_eq!(r.counts[&ty].indeterminate, 2 + 1 + 2);
        }
    }

    #[test]
    fn hashes_and_sorted_sets_report_lost_and_wrong_values() {
        for ty in [CollectionType::Hash, CollectionType::ZSet] {
            let h = hash_or_zset(ty);
            let ok = |ns: &[u64], reg, ctr| run(&h, fields(ty, ns, reg, ctr));
            // A lost acknowledged field (member).
            assert_eq!(
                kinds(&ok(&[1, 2, 5], Some(3), Some(3))),
                [ViolationKind::LostAck]
            );
            // The register back at an older acknowledged value, or gone.
            assert_eq!(
                kinds(&ok(&[1, 2, 4, 5], Some(2), Some(3))),
                [ViolationKind::LostAck]
            );
            assert_eq!(
                kinds(&ok(&[1, 2, 4, 5], None, Some(3))),
                [ViolationKind::LostAck]
            );
            // The counter below its acknowledged increments, or above the
            // attempted ones, or gone.
            assert_eq!(
                kinds(&ok(&[1, 2, 4, 5], Some(3), Some(2))),
                [ViolationKind::LostAck]
            );
            assert_eq!(
                kinds(&ok(&[1, 2, 4, 5], Some(3), Some(6))),
                [ViolationKind::Phantom]
            );
            assert_eq!(
                kinds(&ok(&[1, 2, 4, 5], Some(3), None)),
                [ViolationKind::LostAck]
            );
            // An item never sent, and a field nobody wrote.
            assert_eq!(
                kinds(&ok(&[1, 2, 4, 5, 8], Some(3), Some(3))),
                [ViolationKind::Phantom]
            );
            let mut got = fields(ty, &[1, 2, 4, 5], Some(3), Some(3));
            got.extend([b("stranger"), b("1")]);
            assert_eq!(kinds(&run(&h, got)), [ViolationKind::Phantom]);
            // An item with the wrong value (score).
            let mut got = fields(ty, &[1, 2, 4], Some(3), Some(3));
            got.extend([b(item("h", 5)), b("7")]);
            assert_eq!(kinds(&run(&h, got)), [ViolationKind::Corrupt]);
        }
    }

    /// Random histories of every type, with a random part of the
    /// indeterminate writes applied: the true final state passes, and the
    /// same state with one acknowledged write undone fails.
    #[test]
    fn random_histories_pass_and_one_undone_ack_fails() {
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(seed);
            let ty = CollectionType::ALL[seed as usize % 4];
            let mut h = CollectionHistory::new(ty);
            // The state a correct node holds: items applied, in order.
            let mut applied: Vec<u64> = Vec::new();
            let mut reg_applied = 0;
            let mut ctr_applied = 0i64;
            for _ in 0..rng.random_range(1..60) {
                let acked = rng.random_bool(0.8);
                let happened = acked || rng.random_bool(0.5);
                match rng.random_range(0..3) {
                    0 => {
                        let n = h.items.attempt();
                        if happened {
                            applied.push(n);
                        }
                        if acked {
                            h.items.ack(n);
                        }
                    }
                    1 if ty.has_pairs() => {
                        let r = h.registers.entry("r".into()).or_default();
                        let n = r.attempted_max + 1;
                        r.attempt(n);
                        if happened {
                            reg_applied = n;
                        }
                        if acked {
                            r.ack(n);
                        }
                    }
                    2 if ty.has_pairs() => {
                        let c = h.counters.entry("c".into()).or_default();
                        c.attempt();
                        if happened {
                            ctr_applied += 1;
                        }
                        if acked {
                            c.ack(ctr_applied);
                        }
                    }
                    _ => {}
                }
            }
            let state = |items: &[u64], reg: u64, ctr: i64| -> Vec<Vec<u8>> {
                if !ty.has_pairs() {
                    return items.iter().map(|&n| b(item("h", n))).collect();
                }
                let has_ctr = h.counters.contains_key("c");
                fields(
                    ty,
                    items,
                    (reg > 0).then_some(reg),
                    (has_ctr && ctr > 0).then_some(ctr),
                )
            };
            let hs = one("h", h.clone());
            let r = run(&hs, state(&applied, reg_applied, ctr_applied));
            assert!(r.ok(), "seed {seed} {ty:?}: {:?}", r.violations);

            // Undo one acknowledged write, if there is one.
            let acked_items: Vec<u64> = h.items.acked.iter().copied().collect();
            if !acked_items.is_empty() {
                let lost = acked_items[rng.random_range(0..acked_items.len())];
                let fewer: Vec<u64> = applied.iter().copied().filter(|&n| n != lost).collect();
                let r = run(&hs, state(&fewer, reg_applied, ctr_applied));
                assert_eq!(kinds(&r), [ViolationKind::LostAck], "seed {seed} {ty:?}");
            }
            if let Some(c) = h.counters.get("c").filter(|c| c.acked > 0) {
                let floor = c.max_reply.unwrap_or(0);
                let r = run(&hs, state(&applied, reg_applied, floor - 1));
                assert_eq!(kinds(&r), [ViolationKind::LostAck], "seed {seed} {ty:?}");
            }
            if let Some(a) = h.registers.get("r").and_then(|r| r.acked_max) {
                // Back to before the last acknowledged write: an older
                // acknowledged value, or nothing.
                let older = (1..a).rev().find(|n| !h.registers["r"].unacked.contains(n));
                let r = run(&hs, state(&applied, older.unwrap_or(0), ctr_applied));
                assert_eq!(kinds(&r), [ViolationKind::LostAck], "seed {seed} {ty:?}");
            }
        }
    }
}
