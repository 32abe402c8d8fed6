//! Replica anti-entropy: a periodic check that every replica of a shard
//! holds the same data, and the repair of one that does not.
//!
//! Raft guarantees the replicas apply the same entries; it cannot see a
//! replica whose stored data changed under it (a disk or engine bug, a
//! bad restore, an operator's mistake). This module compares digests of
//! the data itself. See `docs/architecture/anti-entropy.md` for the whole
//! design and its caveats; in short:
//!
//! 1. The leader proposes a **check** entry (every `anti_entropy_interval`).
//! 2. Every replica, when it applies that entry, asks the state machine
//!    for a [`DigestJob`] (point-in-time at exactly that index, so the
//!    digests of correct replicas are equal whatever writes follow) and
//!    runs it on the anti-entropy thread, off the store loop.
//! 3. Each replica proposes a **report** entry with its digest (a follower's
//!    proposal is forwarded to the leader by raft-rs), so every replica
//!    sees every report in the same log order and reaches the same
//!    verdicts ([`Checks`]).
//! 4. Once a strict majority of the voters reported the same root, every
//!    reporter with another root is **divergent**. A divergent follower
//!    asks the leader for a snapshot (raft-rs `request_snapshot`) and
//!    installs it, replacing its data; a divergent leader first hands
//!    leadership to a replica of the majority. Without a majority nothing
//!    is repaired (nobody knows which copy is right); it is reported.
//!
//! Entries of this module are told apart from the state machine's own by
//! the Raft entry's `context` ([`CHECK_CONTEXT`], [`REPORT_CONTEXT`]); the
//! state machine gets them with empty data (like Raft's no-op entries), so
//! its applied index still advances by one per entry.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use super::ShardId;

/// Entry context of a check: replicas digest their data at its index.
pub(crate) const CHECK_CONTEXT: &[u8] = b"redraft-ae-check";
/// Entry context of a report: one replica's digest at a check's index.
pub(crate) const REPORT_CONTEXT: &[u8] = b"redraft-ae-report";

/// Report data format version.
const REPORT_FORMAT: u8 = 1;

/// Checks whose verdict is still open, per shard, at most. Older ones are
/// forgotten (a replica that skipped reports by installing a snapshot, or
/// a voter that is down, leaves a check open forever otherwise).
const OPEN_CHECKS: usize = 16;

/// A replica's digest of one shard: a hash per non-empty *part* (a hash
/// slot, for redraft's state machine), sorted by part. The root
/// ([`Digest::root`]) is a hash over all of them: equal roots mean equal
/// data (up to hash collisions); different roots are narrowed down to the
/// parts that differ by comparing the part hashes ([`Digest::diff`]). A
/// two-level Merkle tree, with every leaf carried in the report, so the
/// divergent slots are named without a second round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub parts: Vec<(u32, u64)>,
}

impl Digest {
    /// The root hash over every part and its hash, in part order.
    pub fn root(&self) -> u128 {
        let mut buf = Vec::with_capacity(self.parts.len() * 12);
        for (part, hash) in &self.parts {
            buf.extend_from_slice(&part.to_be_bytes());
            buf.extend_from_slice(&hash.to_be_bytes());
        }
        xxh3_128(&buf)
    }

    /// The parts whose hash differs between `self` and `other` (present in
    /// one only, or with another hash), ascending.
    pub fn diff(&self, other: &Digest) -> Vec<u32> {
        let a: BTreeMap<u32, u64> = self.parts.iter().copied().collect();
        let b: BTreeMap<u32, u64> = other.parts.iter().copied().collect();
        let mut out: BTreeSet<u32> = BTreeSet::new();
        for (p, h) in &a {
            if b.get(p) != Some(h) {
                out.insert(*p);
            }
        }
        for p in b.keys() {
            if !a.contains_key(p) {
                out.insert(*p);
            }
        }
        out.into_iter().collect()
    }
}

/// Hashes one part's `(key, value)` pairs, fed in key order. The hash is
/// XXH3 (a fixed, specified function), so nodes running different builds
/// still agree; each key and value is prefixed with its length so that
/// `("ab", "c")` and `("a", "bc")` differ.
#[derive(Default)]
pub struct PartHasher {
    h: Xxh3,
    pairs: u64,
}

impl PartHasher {
    pub fn new() -> PartHasher {
        PartHasher::default()
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        self.h.update(&(key.len() as u64).to_be_bytes());
        self.h.update(key);
        self.h.update(&(value.len() as u64).to_be_bytes());
        self.h.update(value);
        self.pairs += 1;
    }

    /// Pairs added so far.
    pub fn pairs(&self) -> u64 {
        self.pairs
    }

    pub fn finish(&self) -> u64 {
        self.h.digest()
    }
}

/// Computes a shard's digest, off the store thread. Built by
/// [`super::StateMachine::digest`] on the store thread right after the
/// check entry was applied; it must read the state of that moment (a
/// point-in-time engine snapshot), however long it runs.
pub type DigestJob = Box<dyn FnOnce() -> io::Result<Digest> + Send>;

/// A report entry's data: `[format: u8][check index: u64][node: u64]
/// [parts: u32]` then per part `[part: u32][hash: u64]`, big-endian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    pub check: u64,
    pub node: u64,
    pub digest: Digest,
}

impl Report {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(21 + self.digest.parts.len() * 12);
        v.push(REPORT_FORMAT);
        v.extend_from_slice(&self.check.to_be_bytes());
        v.extend_from_slice(&self.node.to_be_bytes());
        v.extend_from_slice(&(self.digest.parts.len() as u32).to_be_bytes());
        for (part, hash) in &self.digest.parts {
            v.extend_from_slice(&part.to_be_bytes());
            v.extend_from_slice(&hash.to_be_bytes());
        }
        v
    }

    /// `None` for data that is not a well-formed report (skipped the same
    /// way on every replica).
    pub fn decode(data: &[u8]) -> Option<Report> {
        let (&format, rest) = data.split_first()?;
        if format != REPORT_FORMAT || rest.len() < 20 {
            return None;
        }
        let u64_at = |b: &[u8], at: usize| -> Option<u64> {
            Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
        };
        let check = u64_at(rest, 0)?;
        let node = u64_at(rest, 8)?;
        let n = u32::from_be_bytes(rest.get(16..20)?.try_into().ok()?) as usize;
        let body = &rest[20..];
        if body.len() != n.checked_mul(12)? {
            return None;
        }
        let parts = body
            .chunks_exact(12)
            .map(|c| {
                let part = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                let hash = u64::from_be_bytes(c[4..12].try_into().unwrap_or_default());
                (part, hash)
            })
            .collect::<Vec<_>>();
        // Parts must be strictly ascending: a digest has one hash per part.
        if parts.windows(2).any(|w| w[0].0 >= w[1].0) {
            return None;
        }
        Some(Report {
            check,
            node,
            digest: Digest { parts },
        })
    }
}

/// What applying a report taught every replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `node`'s digest at `check` equals the majority's.
    Agrees { check: u64, node: u64 },
    /// `node`'s digest at `check` differs from the one a strict majority of
    /// the voters (`majority`) reported; `parts` are the parts that differ.
    Diverges {
        check: u64,
        node: u64,
        majority: Vec<u64>,
        parts: Vec<u32>,
    },
    /// Every voter reported for `check` and no root has a strict majority:
    /// nobody knows which copy is right.
    Unresolved {
        check: u64,
        /// The reporters grouped by root, sorted.
        groups: Vec<Vec<u64>>,
    },
}

#[derive(Default)]
struct Check {
    reports: BTreeMap<u64, (u128, Digest)>,
    /// The root a strict majority reported, once known.
    majority: Option<u128>,
    judged: BTreeSet<u64>,
}

/// The open checks of one replica, fed the report entries it applies.
/// Every replica applies the same reports in the same order and so reaches
/// the same verdicts (as long as it applied them all: one that skipped some
/// by installing a snapshot just learns less).
#[derive(Default)]
pub(crate) struct Checks {
    open: BTreeMap<u64, Check>,
    /// Recently decided checks: a late or repeated report for one of them
    /// changes nothing (rather than opening the check again).
    closed: BTreeSet<u64>,
}

impl Checks {
    /// Records `report` (the first report of a node for a check counts;
    /// one from a node outside `voters` is ignored) and returns what it
    /// decided.
    pub fn on_report(&mut self, report: Report, voters: &[u64]) -> Vec<Verdict> {
        if !voters.contains(&report.node) {
            return Vec::new();
        }
        let check_index = report.check;
        if self.closed.contains(&check_index) {
            return Vec::new();
        }
        let check = self.open.entry(check_index).or_default();
        if check.reports.contains_key(&report.node) {
            return Vec::new();
        }
        let root = report.digest.root();
        check.reports.insert(report.node, (root, report.digest));
        let mut verdicts = Vec::new();
        if check.majority.is_none() {
            let mut counts: BTreeMap<u128, usize> = BTreeMap::new();
            for (r, _) in check.reports.values() {
                *counts.entry(*r).or_default() += 1;
            }
            check.majority = counts
                .into_iter()
                .find(|&(_, n)| n * 2 > voters.len())
                .map(|(r, _)| r);
        }
        if let Some(majority) = check.majority {
            let majority_nodes: Vec<u64> = check
                .reports
                .iter()
                .filter(|(_, (r, _))| *r == majority)
                .map(|(&n, _)| n)
                .collect();
            let reference = check
                .reports
                .values()
                .find(|(r, _)| *r == majority)
                .map(|(_, d)| d.clone())
                .unwrap_or_default();
            for (&node, (root, digest)) in &check.reports {
                if !check.judged.insert(node) {
                    continue;
                }
                verdicts.push(if *root == majority {
                    Verdict::Agrees {
                        check: check_index,
                        node,
                    }
                } else {
                    Verdict::Diverges {
                        check: check_index,
                        node,
                        majority: majority_nodes.clone(),
                        parts: digest.diff(&reference),
                    }
                });
            }
            if voters.iter().all(|v| check.judged.contains(v)) {
                self.close(check_index);
            }
        } else if voters.iter().all(|v| check.reports.contains_key(v)) {
            let mut groups: BTreeMap<u128, Vec<u64>> = BTreeMap::new();
            for (&node, (root, _)) in &check.reports {
                groups.entry(*root).or_default().push(node);
            }
            let mut groups: Vec<Vec<u64>> = groups.into_values().collect();
            groups.sort();
            verdicts.push(Verdict::Unresolved {
                check: check_index,
                groups,
            });
            self.close(check_index);
        }
        while self.open.len() > OPEN_CHECKS {
            self.open.pop_first();
        }
        verdicts
    }

    fn close(&mut self, check: u64) {
        self.open.remove(&check);
        self.closed.insert(check);
        while self.closed.len() > OPEN_CHECKS {
            self.closed.pop_first();
        }
    }
}

/// One replica's anti-entropy state, kept by the store loop.
#[derive(Default)]
pub(crate) struct PeerAntiEntropy {
    pub checks: Checks,
    /// Voters the last verdict about them found divergent: the leader does
    /// not hand leadership to them (to balance leaders) until a later check
    /// finds them agreeing again.
    pub suspects: HashSet<u64>,
    /// This replica was found divergent and is not repaired yet.
    pub repair: Option<Repair>,
    /// A digest of this shard is being computed (at most one at a time).
    pub digest_running: bool,
    /// When this replica, as leader, proposes its next check.
    pub next_check: Option<std::time::Instant>,
}

/// A pending repair of this replica.
#[derive(Clone, Debug)]
pub(crate) struct Repair {
    /// The check that found this replica divergent.
    pub check: u64,
    /// The voters whose digest was the majority's.
    pub majority: Vec<u64>,
    /// Logged once when leadership is handed over / a snapshot requested.
    pub announced: bool,
}

/// A finished digest job.
pub(crate) struct DigestDone {
    pub shard: ShardId,
    pub index: u64,
    pub result: io::Result<Digest>,
    pub seconds: f64,
}

/// The anti-entropy thread: runs digest jobs one at a time and sends the
/// results back to the store loop. It ends when the loop drops its sender.
pub(crate) struct DigestWorker {
    tx: Sender<(ShardId, u64, DigestJob)>,
    pub done: Receiver<DigestDone>,
    _handle: JoinHandle<()>,
}

impl DigestWorker {
    pub fn start() -> io::Result<DigestWorker> {
        let (tx, rx) = crossbeam_channel::unbounded::<(ShardId, u64, DigestJob)>();
        let (done_tx, done) = crossbeam_channel::unbounded();
        let handle = std::thread::Builder::new()
            .name("anti-entropy".into())
            .spawn(move || {
                for (shard, index, job) in rx {
                    let started = std::time::Instant::now();
                    // A panicking job must not take the thread (and every
                    // later check) with it.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                        .unwrap_or_else(|_| Err(io::Error::other("digest job panicked")));
                    let done = DigestDone {
                        shard,
                        index,
                        result,
                        seconds: started.elapsed().as_secs_f64(),
                    };
                    if done_tx.send(done).is_err() {
                        return;
                    }
                }
            })?;
        Ok(DigestWorker {
            tx,
            done,
            _handle: handle,
        })
    }

    /// Queues a job; false if the thread is gone.
    pub fn run(&self, shard: ShardId, index: u64, job: DigestJob) -> bool {
        self.tx.send((shard, index, job)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(parts: &[(u32, u64)]) -> Digest {
        Digest {
            parts: parts.to_vec(),
        }
    }

    fn report(check: u64, node: u64, parts: &[(u32, u64)]) -> Report {
        Report {
            check,
            node,
            digest: digest(parts),
        }
    }

    #[test]
    fn report_round_trip_and_rejects_garbage() {
        let r = report(42, 3, &[(0, 7), (5, u64::MAX), (16383, 1)]);
        assert_eq!(Report::decode(&r.encode()), Some(r.clone()));
        let empty = report(1, 1, &[]);
        assert_eq!(Report::decode(&empty.encode()), Some(empty));
        let mut long = r.encode();
        long.push(0);
        assert_eq!(Report::decode(&long), None);
        let mut short = r.encode();
        short.pop();
        assert_eq!(Report::decode(&short), None);
        assert_eq!(Report::decode(&[]), None);
        assert_eq!(Report::decode(&[9; 40]), None);
        let unsorted = report(1, 1, &[(5, 1), (2, 1)]);
        assert_eq!(Report::decode(&unsorted.encode()), None);
        // A huge part count does not overflow or allocate.
        let mut huge = report(1, 1, &[]).encode();
        huge[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Report::decode(&huge), None);
    }

    #[test]
    fn roots_and_diffs() {
        let a = digest(&[(1, 10), (2, 20), (3, 30)]);
        assert_eq!(a.root(), a.clone().root());
        assert_eq!(a.diff(&a), Vec::<u32>::new());
        let changed = digest(&[(1, 10), (2, 21), (3, 30)]);
        assert_ne!(a.root(), changed.root());
        assert_eq!(a.diff(&changed), vec![2]);
        let missing = digest(&[(1, 10), (3, 30)]);
        assert_eq!(a.diff(&missing), vec![2]);
        assert_eq!(missing.diff(&a), vec![2]);
        let extra = digest(&[(0, 1), (1, 10), (2, 20), (3, 30)]);
        assert_eq!(a.diff(&extra), vec![0]);
        assert_ne!(Digest::default().root(), a.root());
    }

    #[test]
    fn part_hasher_separates_keys_from_values() {
        let mut a = PartHasher::new();
        a.add(b"ab", b"c");
        let mut b = PartHasher::new();
        b.add(b"a", b"bc");
        assert_ne!(a.finish(), b.finish());
        assert_eq!(a.pairs(), 1);
        let mut c = PartHasher::new();
        c.add(b"ab", b"c");
        assert_eq!(a.finish(), c.finish());
    }

    #[test]
    fn a_minority_report_is_divergent_once_a_majority_agrees() {
        let voters = [1, 2, 3];
        let good = [(7, 70), (9, 90)];
        let bad = [(7, 70), (9, 91), (11, 1)];
        let mut c = Checks::default();
        // The divergent report first: nothing is known yet.
        assert!(c.on_report(report(5, 2, &bad), &voters).is_empty());
        assert!(c.on_report(report(5, 1, &good), &voters).is_empty());
        let v = c.on_report(report(5, 3, &good), &voters);
        assert_eq!(
            v,
            vec![
                Verdict::Agrees { check: 5, node: 1 },
                Verdict::Diverges {
                    check: 5,
                    node: 2,
                    majority: vec![1, 3],
                    parts: vec![9, 11],
                },
                Verdict::Agrees { check: 5, node: 3 },
            ]
        );
        // Decided and closed: a repeated report changes nothing.
        assert!(c.on_report(report(5, 2, &good), &voters).is_empty());
        assert!(c.open.is_empty());
    }

    #[test]
    fn a_late_reporter_is_judged_against_the_known_majority() {
        let voters = [1, 2, 3];
        let mut c = Checks::default();
        assert!(c.on_report(report(8, 1, &[(1, 1)]), &voters).is_empty());
        let v = c.on_report(report(8, 3, &[(1, 1)]), &voters);
        assert_eq!(v.len(), 2);
        let v = c.on_report(report(8, 2, &[(1, 2)]), &voters);
        assert_eq!(
            v,
            vec![Verdict::Diverges {
                check: 8,
                node: 2,
                majority: vec![1, 3],
                parts: vec![1],
            }]
        );
        // A duplicate report of an already judged node is ignored.
        assert!(c.on_report(report(8, 1, &[(1, 5)]), &voters).is_empty());
    }

    #[test]
    fn no_majority_is_unresolved_and_outsiders_are_ignored() {
        let voters = [1, 2];
        let mut c = Checks::default();
        assert!(c.on_report(report(3, 9, &[(1, 1)]), &voters).is_empty());
        assert!(c.on_report(report(3, 1, &[(1, 1)]), &voters).is_empty());
        let v = c.on_report(report(3, 2, &[(1, 2)]), &voters);
        assert_eq!(
            v,
            vec![Verdict::Unresolved {
                check: 3,
                groups: vec![vec![1], vec![2]],
            }]
        );
        assert!(c.open.is_empty());
    }

    #[test]
    fn open_checks_are_bounded() {
        let voters = [1, 2, 3];
        let mut c = Checks::default();
        for check in 0..100 {
            c.on_report(report(check, 1, &[]), &voters);
        }
        assert_eq!(c.open.len(), OPEN_CHECKS);
        assert_eq!(c.open.keys().next(), Some(&(100 - OPEN_CHECKS as u64)));
    }
}
