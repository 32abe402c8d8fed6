//! # The shared engine test suite
//!
//! Every test here is a generic function over a [`Subject`]: one engine plus
//! how to open, restart and crash it. [`engine_suite!`] instantiates them all
//! for fjall, sled and memory (`engine::suite::<engine>::<test>`), so every
//! engine is held to the same contract (the `engine` module docs) and a new
//! engine gets the whole suite from one more line.
//!
//! What it covers:
//! - point reads, puts, deletes, empty values, binary and maximum-length
//!   keys, reads of keys no engine could store;
//! - batches: applied in order (last op on a key wins), all-or-nothing; an
//!   invalid batch (empty or over-long key, over-long value) is refused whole
//!   with `InvalidInput`;
//! - `scan`/`scan_rev` over every combination of bounds, inverted and empty
//!   ranges included, and writes made while a scan is open;
//! - scans and snapshots racing a writer: every pair yielded is committed,
//!   keys come strictly ordered, untouched keys are all there; snapshots (and
//!   fjall's scans) see each batch wholly or not at all;
//! - `sync`, reopening after a clean close, large values (sled's blobs);
//! - the **model test**: random operation sequences (puts, deletes, batches,
//!   invalid batches, gets, scans, snapshots, syncs, restarts, crashes)
//!   compared with a `BTreeMap` model;
//! - for the disk engines, a process killed with SIGKILL while writing
//!   recovers exactly a prefix of its batches, every synced one included.
//!
//! ## Restarts and crashes
//! A *restart* syncs, closes the engine and reopens it (for memory: keeps the
//! synced image); the state must equal the model. A *crash* skips the sync:
//! the memory engine's [`MemoryEngine::crash_keeping`] keeps a chosen number
//! of unsynced batches and the state must equal exactly that prefix; a disk
//! engine is dropped unsynced and reopened, and its state must equal *some*
//! prefix (synced data plus the first k unsynced batches).
//!
//! ## Seeds
//! The model test runs `REDRAFT_MODEL_SEEDS` seeds (default 4) of
//! `REDRAFT_MODEL_OPS` operations (default 300); `REDRAFT_MODEL_SEED=N` runs
//! seed N alone. A failure prints its seed and the operation that failed.
//!
//! ## CAVEATS
//! - No test cuts the power: a dropped or killed process leaves the OS's
//!   buffers behind, so these tests check atomicity and the prefix property,
//!   not fsync. The fsync reasoning is in each engine's module docs.
//! - A value of exactly `MAX_VALUE_LEN` (4 GiB) is never written; the
//!   over-limit test allocates lazily zeroed memory and is skipped where the
//!   system refuses the allocation.

use super::fjall_engine::FjallEngine;
use super::memory::MemoryEngine;
use super::sled_engine::SledEngine;
use super::{BatchOp, Engine, KeyRange, KvPair, WriteBatch, MAX_KEY_LEN, MAX_VALUE_LEN};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use tempfile::TempDir;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// One engine under test, with what it takes to restart and crash it.
pub(super) trait Subject: Sized {
    /// Whether [`Engine::scan`] is point-in-time, like [`Engine::snapshot`].
    const SCAN_IS_POINT_IN_TIME: bool;

    /// A new, empty engine.
    fn create() -> Self;

    fn engine(&self) -> &dyn Engine;

    /// Syncs, closes and reopens the engine: everything must be there.
    fn restart(&mut self);

    /// Reopens the engine without syncing first. Returns how many of the
    /// batches written since the last sync survived when the subject decides
    /// that (the memory engine keeps `keep` of them), `None` when the engine
    /// decides (any prefix is allowed).
    fn crash(&mut self, keep: usize) -> Option<usize>;
}

/// A disk engine the suite can open in a folder.
pub(super) trait OpenAt: Engine + Sized {
    const SCAN_IS_POINT_IN_TIME: bool;
    fn open_at(dir: &Path) -> io::Result<Self>;
}

impl OpenAt for FjallEngine {
    const SCAN_IS_POINT_IN_TIME: bool = true;
    fn open_at(dir: &Path) -> io::Result<Self> {
        FjallEngine::open(dir)
    }
}

impl OpenAt for SledEngine {
    const SCAN_IS_POINT_IN_TIME: bool = false;
    fn open_at(dir: &Path) -> io::Result<Self> {
        SledEngine::open(dir)
    }
}

/// A disk engine in a temporary folder. `engine` is declared first so it is
/// dropped before the folder is removed.
pub(super) struct OnDisk<E> {
    engine: Option<E>,
    dir: TempDir,
}

impl<E: OpenAt> OnDisk<E> {
    fn reopen(&mut self) {
        // Close first: both engines lock their folder.
        self.engine = None;
        self.engine = Some(E::open_at(self.dir.path()).expect("reopen the engine"));
    }
}

impl<E: OpenAt> Subject for OnDisk<E> {
    const SCAN_IS_POINT_IN_TIME: bool = E::SCAN_IS_POINT_IN_TIME;

    fn create() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let engine = E::open_at(dir.path()).expect("open the engine");
        OnDisk {
            engine: Some(engine),
            dir,
        }
    }

    fn engine(&self) -> &dyn Engine {
        self.engine.as_ref().expect("engine is open")
    }

    fn restart(&mut self) {
        self.engine().sync().expect("sync before restart");
        self.reopen();
    }

    fn crash(&mut self, _keep: usize) -> Option<usize> {
        self.reopen();
        None
    }
}

impl Subject for MemoryEngine {
    const SCAN_IS_POINT_IN_TIME: bool = false;

    fn create() -> Self {
        MemoryEngine::new()
    }

    fn engine(&self) -> &dyn Engine {
        self
    }

    fn restart(&mut self) {
        self.sync().expect("sync before restart");
        *self = self.crash_and_reopen();
    }

    fn crash(&mut self, keep: usize) -> Option<usize> {
        let kept = keep.min(self.unsynced_batches());
        *self = self.crash_keeping(keep);
        Some(kept)
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn all(engine: &dyn Engine) -> Vec<KvPair> {
    collect(engine.scan((Bound::Unbounded, Bound::Unbounded)))
}

fn collect<'a>(iter: impl Iterator<Item = io::Result<KvPair>> + 'a) -> Vec<KvPair> {
    iter.collect::<io::Result<Vec<_>>>().expect("scan")
}

fn pairs(map: &Map) -> Vec<KvPair> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn in_range(range: &KeyRange, key: &[u8]) -> bool {
    let above = match &range.0 {
        Bound::Included(start) => key >= start.as_slice(),
        Bound::Excluded(start) => key > start.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match &range.1 {
        Bound::Included(end) => key <= end.as_slice(),
        Bound::Excluded(end) => key < end.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// What `scan` (or `scan_rev`) over `range` must yield from `map`. Written
/// without `BTreeMap::range`, which panics on inverted ranges.
fn expected_scan(map: &Map, range: &KeyRange, rev: bool) -> Vec<KvPair> {
    let mut out: Vec<KvPair> = map
        .iter()
        .filter(|(k, _)| in_range(range, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if rev {
        out.reverse();
    }
    out
}

fn apply_ops(map: &mut Map, ops: &[BatchOp]) {
    for op in ops {
        match op {
            BatchOp::Put(k, v) => {
                map.insert(k.clone(), v.clone());
            }
            BatchOp::Delete(k) => {
                map.remove(k);
            }
        }
    }
}

fn batch(ops: Vec<BatchOp>) -> WriteBatch {
    WriteBatch { ops }
}

fn put(engine: &dyn Engine, key: &[u8], value: &[u8]) {
    let mut b = WriteBatch::new();
    b.put(key, value);
    engine.write(b).expect("put");
}

fn delete(engine: &dyn Engine, key: &[u8]) {
    let mut b = WriteBatch::new();
    b.delete(key);
    engine.write(b).expect("delete");
}

fn get(engine: &dyn Engine, key: &[u8]) -> Option<Vec<u8>> {
    engine.get(key).expect("get")
}

fn assert_invalid_input(result: io::Result<()>, what: &str) {
    match result {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{what}: {e}"),
        Ok(()) => panic!("{what}: the batch was accepted"),
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

// ---------------------------------------------------------------------------
// Point operations

pub(super) fn get_put_delete<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    assert_eq!(get(e, b"k"), None);
    put(e, b"k", b"v1");
    assert_eq!(get(e, b"k"), Some(b"v1".to_vec()));
    put(e, b"k", b"v2");
    assert_eq!(get(e, b"k"), Some(b"v2".to_vec()), "overwrite");
    put(e, b"other", b"x");
    delete(e, b"k");
    assert_eq!(get(e, b"k"), None, "deleted");
    assert_eq!(get(e, b"other"), Some(b"x".to_vec()), "untouched neighbour");
    delete(e, b"never-written");
    assert_eq!(get(e, b"never-written"), None);
    assert_eq!(all(e), vec![(b"other".to_vec(), b"x".to_vec())]);
}

pub(super) fn empty_values_and_extreme_keys<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    put(e, b"empty", b"");
    assert_eq!(
        get(e, b"empty"),
        Some(Vec::new()),
        "an empty value is not absent"
    );

    let longest = vec![0xabu8; MAX_KEY_LEN];
    put(e, &longest, b"long");
    assert_eq!(get(e, &longest), Some(b"long".to_vec()));
    let single = [0x00u8];
    put(e, &single, b"zero");
    let top = [0xffu8];
    put(e, &top, b"ff");
    assert_eq!(get(e, &single), Some(b"zero".to_vec()));

    // Reads accept keys no batch could store.
    assert_eq!(get(e, b""), None);
    assert_eq!(get(e, &vec![0xabu8; MAX_KEY_LEN + 1]), None);

    let keys: Vec<Vec<u8>> = all(e).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![
            single.to_vec(),
            b"empty".to_vec(),
            longest.clone(),
            top.to_vec()
        ]
    );
    // Bounds may be empty or longer than any key.
    let from_empty = collect(e.scan((Bound::Included(Vec::new()), Bound::Unbounded)));
    assert_eq!(from_empty.len(), 4);
    let past_longest: Vec<Vec<u8>> = collect(e.scan((
        Bound::Excluded(vec![0xabu8; MAX_KEY_LEN + 1]),
        Bound::Unbounded,
    )))
    .into_iter()
    .map(|(k, _)| k)
    .collect();
    assert_eq!(past_longest, vec![top.to_vec()]);
}

pub(super) fn keys_sort_bytewise<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    let keys: [&[u8]; 8] = [
        b"b", b"a\x00", b"\xff", b"a", b"ab", b"\x00", b"a\xff", b"\x7f",
    ];
    for (i, k) in keys.iter().enumerate() {
        put(e, k, &[i as u8]);
    }
    let mut sorted: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    sorted.sort();
    let got: Vec<Vec<u8>> = all(e).into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, sorted);
    let rev: Vec<Vec<u8>> = collect(e.scan_rev((Bound::Unbounded, Bound::Unbounded)))
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    sorted.reverse();
    assert_eq!(rev, sorted);
}

// ---------------------------------------------------------------------------
// Batches

pub(super) fn batch_applies_ops_in_order<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    put(e, b"old", b"1");
    let mut b = WriteBatch::new();
    b.put(b"a", b"first");
    b.put(b"a", b"second");
    b.put(b"b", b"gone");
    b.delete(b"b");
    b.delete(b"old");
    b.put(b"old", b"back");
    b.delete(b"c");
    b.put(b"c", b"1");
    b.put(b"c", b"2");
    e.write(b).expect("write");
    let expected: Vec<KvPair> = vec![
        (b"a".to_vec(), b"second".to_vec()),
        (b"c".to_vec(), b"2".to_vec()),
        (b"old".to_vec(), b"back".to_vec()),
    ];
    assert_eq!(all(e), expected, "the last op on a key wins");
    e.write(WriteBatch::new()).expect("an empty batch");
    assert_eq!(all(e), expected, "an empty batch changes nothing");
}

pub(super) fn invalid_batch_is_rejected_whole<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    put(e, b"keep", b"v");
    let over_long = vec![b'k'; MAX_KEY_LEN + 1];
    let bad_ops = [
        ("empty key put", BatchOp::Put(Vec::new(), b"v".to_vec())),
        ("empty key delete", BatchOp::Delete(Vec::new())),
        (
            "over-long key put",
            BatchOp::Put(over_long.clone(), b"v".to_vec()),
        ),
        ("over-long key delete", BatchOp::Delete(over_long)),
    ];
    for (what, bad) in bad_ops {
        // The bad op last, so every valid op before it would be applied by a
        // careless engine.
        let ops = vec![
            BatchOp::Put(b"new".to_vec(), b"v".to_vec()),
            BatchOp::Delete(b"keep".to_vec()),
            BatchOp::Put(b"keep2".to_vec(), b"v".to_vec()),
            bad,
        ];
        assert_invalid_input(e.write(batch(ops)), what);
        assert_eq!(
            all(e),
            vec![(b"keep".to_vec(), b"v".to_vec())],
            "{what}: nothing applied"
        );
    }
    // The engine is still usable.
    put(e, b"after", b"ok");
    assert_eq!(get(e, b"after"), Some(b"ok".to_vec()));
}

/// A zero-filled vector of `len` bytes that the OS maps lazily, or `None`
/// when the allocation is refused.
fn lazily_zeroed(len: usize) -> Option<Vec<u8>> {
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    // SAFETY: `layout` has a non-zero size; a null pointer is handled.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` comes from the global allocator with `layout` (len
    // bytes, align 1) and all of its bytes are initialized (zeroed).
    Some(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

pub(super) fn oversize_value_is_rejected_whole<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    let Ok(len) = usize::try_from(MAX_VALUE_LEN + 1) else {
        return; // 32-bit: no such value can exist.
    };
    let Some(value) = lazily_zeroed(len) else {
        eprintln!("skipped: cannot reserve {len} bytes of address space");
        return;
    };
    let ops = vec![
        BatchOp::Put(b"a".to_vec(), b"v".to_vec()),
        BatchOp::Put(b"huge".to_vec(), value),
    ];
    assert_invalid_input(e.write(batch(ops)), "value over MAX_VALUE_LEN");
    assert_eq!(all(e), Vec::<KvPair>::new(), "nothing applied");
}

// ---------------------------------------------------------------------------
// Scans

/// Every bound a range side can take over the fixed data set: keys present,
/// absent between keys, before all and after all, and the empty key.
fn bounds() -> Vec<Bound<Vec<u8>>> {
    let mut points: Vec<Vec<u8>> = [&b""[..], b"a", b"b", b"bb", b"c", b"e", b"f"]
        .iter()
        .map(|p| p.to_vec())
        .collect();
    // Bounds longer than any storable key: one between "b" and "bb", one
    // just above the longest stored key (see `longest_scan_key`).
    points.push([&b"b"[..], &[0u8; MAX_KEY_LEN]].concat());
    points.push([longest_scan_key(), vec![0]].concat());
    let mut out = vec![Bound::Unbounded];
    for p in points {
        out.push(Bound::Included(p.clone()));
        out.push(Bound::Excluded(p));
    }
    out
}

/// A stored key of the maximum length, between "c" and "d".
fn longest_scan_key() -> Vec<u8> {
    [&b"c"[..], &[0xffu8; MAX_KEY_LEN - 1]].concat()
}

pub(super) fn scan_every_bound_combination<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    let mut model = Map::new();
    let longest = longest_scan_key();
    for k in [&b"a"[..], b"b", b"c", &longest, b"d", b"e"] {
        let v = [&k[..k.len().min(2)], b"-value"].concat();
        put(e, k, &v);
        model.insert(k.to_vec(), v);
    }
    let mut nonempty = 0;
    for start in bounds() {
        for end in bounds() {
            let range: KeyRange = (start.clone(), end.clone());
            for rev in [false, true] {
                let got = if rev {
                    collect(e.scan_rev(range.clone()))
                } else {
                    collect(e.scan(range.clone()))
                };
                let want = expected_scan(&model, &range, rev);
                assert_eq!(got, want, "range {range:?}, rev {rev}");
                nonempty += usize::from(!want.is_empty());
            }
            let snap = collect(e.snapshot(range.clone()).expect("snapshot"));
            assert_eq!(
                snap,
                expected_scan(&model, &range, false),
                "snapshot {range:?}"
            );
        }
    }
    // The combinations include inverted and empty ranges, and plenty of
    // non-empty ones.
    assert!(nonempty > 300, "only {nonempty} non-empty scans");
}

pub(super) fn writes_while_a_scan_is_open<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    for i in 0..10u8 {
        put(e, &[b'k', i], &[i]);
    }
    for rev in [false, true] {
        let full = (Bound::Unbounded, Bound::Unbounded);
        let mut iter = if rev { e.scan_rev(full) } else { e.scan(full) };
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(iter.next().expect("a pair").expect("scan").0);
        }
        // Writes from the scanning thread must not deadlock, and what the
        // scan yields afterwards stays ordered.
        put(e, b"k\x05x", b"new");
        delete(e, &[b'k', 7]);
        put(e, &[b'k', 7], &[7]);
        for pair in iter {
            seen.push(pair.expect("scan").0);
        }
        let ordered = seen
            .windows(2)
            .all(|w| if rev { w[0] > w[1] } else { w[0] < w[1] });
        assert!(ordered, "rev {rev}: {seen:?}");
        for i in [0u8, 1, 2, 8, 9] {
            assert!(seen.contains(&vec![b'k', i]), "rev {rev}: k{i} missing");
        }
        delete(e, b"k\x05x");
    }
}

// ---------------------------------------------------------------------------
// Concurrency: a writer racing scans and snapshots

/// Keys nobody writes during the race.
const STABLE_KEYS: usize = 40;
/// Keys every racing batch rewrites together, all with the batch's number.
const GROUP_KEYS: usize = 8;
/// Keys racing batches put and delete.
const CHURN_KEYS: u64 = 16;

fn stable_key(i: usize) -> Vec<u8> {
    format!("s{i:03}").into_bytes()
}

fn group_key(i: usize) -> Vec<u8> {
    format!("g{i}").into_bytes()
}

fn churn_key(i: u64) -> Vec<u8> {
    format!("c{i:02}").into_bytes()
}

/// The racing writer's batch number `n`: every group key gets `n`, one churn
/// key is put (its value names the key, so a torn value shows) and another
/// deleted.
fn race_batch(n: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    for i in 0..GROUP_KEYS {
        b.put(group_key(i), n.to_be_bytes().to_vec());
    }
    let c = churn_key(n % CHURN_KEYS);
    b.put(c.clone(), [c.as_slice(), b"=", &n.to_be_bytes()].concat());
    b.delete(churn_key((n + CHURN_KEYS / 2) % CHURN_KEYS));
    b
}

/// Checks one view of the racing data. `whole_batches`: the view must show
/// every batch wholly or not at all (all group keys equal).
fn check_race_view(view: &[KvPair], rev: bool, whole_batches: bool, what: &str) {
    let ordered = view.windows(2).all(|w| {
        if rev {
            w[0].0 > w[1].0
        } else {
            w[0].0 < w[1].0
        }
    });
    assert!(ordered, "{what}: keys out of order");
    let mut stable = 0;
    let mut groups = Vec::new();
    for (k, v) in view {
        match k[0] {
            b's' => {
                assert_eq!(v, k, "{what}: stable key {k:?} changed");
                stable += 1;
            }
            b'g' => groups.push(u64::from_be_bytes(
                v.as_slice().try_into().expect("group value"),
            )),
            b'c' => assert!(
                v.starts_with(k) && v.len() == k.len() + 9,
                "{what}: torn value {v:?}"
            ),
            _ => panic!("{what}: unexpected key {k:?}"),
        }
    }
    assert_eq!(stable, STABLE_KEYS, "{what}: a stable key is missing");
    assert_eq!(groups.len(), GROUP_KEYS, "{what}: a group key is missing");
    if whole_batches {
        assert!(
            groups.iter().all(|&g| g == groups[0]),
            "{what}: a batch is half-visible: {groups:?}"
        );
    }
}

/// Runs `reader` repeatedly while a writer thread commits `batches` racing
/// batches; returns how many times `reader` ran.
fn race(e: &dyn Engine, batches: u64, reader: impl Fn(usize)) -> usize {
    for i in 0..STABLE_KEYS {
        put(e, &stable_key(i), &stable_key(i));
    }
    e.write(race_batch(0)).expect("first race batch");
    let done = AtomicBool::new(false);
    let mut rounds = 0;
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for n in 1..=batches {
                e.write(race_batch(n)).expect("race batch");
            }
            done.store(true, Ordering::Release);
        });
        while !done.load(Ordering::Acquire) {
            reader(rounds);
            rounds += 1;
        }
        writer.join().expect("writer thread");
    });
    // After the race: the last batch is wholly there.
    for i in 0..GROUP_KEYS {
        assert_eq!(get(e, &group_key(i)), Some(batches.to_be_bytes().to_vec()));
    }
    rounds
}

pub(super) fn scans_during_concurrent_writes<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    let rounds = race(e, 3000, |round| {
        let rev = round % 2 == 1;
        let full = (Bound::Unbounded, Bound::Unbounded);
        let view = collect(if rev { e.scan_rev(full) } else { e.scan(full) });
        check_race_view(&view, rev, S::SCAN_IS_POINT_IN_TIME, "scan");
        // A point read sees a committed value too.
        let g = get(e, &group_key(round % GROUP_KEYS)).expect("group key present");
        assert_eq!(g.len(), 8);
    });
    assert!(rounds > 0);
}

pub(super) fn snapshots_during_concurrent_writes<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    let rounds = race(e, 3000, |_| {
        let snap = e
            .snapshot((Bound::Unbounded, Bound::Unbounded))
            .expect("snapshot");
        check_race_view(&collect(snap), false, true, "snapshot");
    });
    assert!(rounds > 0);
}

pub(super) fn snapshot_is_point_in_time<S: Subject>() {
    let s = S::create();
    let e = s.engine();
    for i in 0..100u32 {
        put(e, &i.to_be_bytes(), b"before");
    }
    let before = all(e);
    let whole = e
        .snapshot((Bound::Unbounded, Bound::Unbounded))
        .expect("snapshot");
    let part = e
        .snapshot((
            Bound::Included(10u32.to_be_bytes().to_vec()),
            Bound::Excluded(20u32.to_be_bytes().to_vec()),
        ))
        .expect("snapshot");
    let mut b = WriteBatch::new();
    for i in 0..100u32 {
        match i % 3 {
            0 => b.delete(i.to_be_bytes()),
            1 => b.put(i.to_be_bytes(), b"after"),
            _ => {}
        }
    }
    b.put(1000u32.to_be_bytes(), b"new");
    b.put(
        15u32
            .to_be_bytes()
            .iter()
            .chain(b"x")
            .copied()
            .collect::<Vec<u8>>(),
        b"new",
    );
    e.write(b).expect("write");
    assert_ne!(all(e), before, "the write changed the live data");
    assert_eq!(collect(whole), before, "a snapshot ignores later writes");
    assert_eq!(
        collect(part),
        before[10..20].to_vec(),
        "so does a ranged one"
    );
}

// ---------------------------------------------------------------------------
// Sync and reopen

pub(super) fn sync_then_restart_keeps_everything<S: Subject>() {
    let mut s = S::create();
    s.engine().sync().expect("sync of an empty engine");
    let mut model = Map::new();
    for i in 0..200u32 {
        let mut b = WriteBatch::new();
        b.put(i.to_be_bytes(), vec![i as u8; (i % 50) as usize]);
        if i % 7 == 0 && i > 0 {
            b.delete((i - 1).to_be_bytes());
        }
        apply_ops(&mut model, &b.ops);
        s.engine().write(b).expect("write");
        if i % 50 == 0 {
            s.engine().sync().expect("sync");
        }
    }
    s.restart();
    assert_eq!(all(s.engine()), pairs(&model), "after the first restart");
    // The reopened engine takes writes, and a second restart keeps them.
    put(s.engine(), b"after", b"restart");
    model.insert(b"after".to_vec(), b"restart".to_vec());
    s.restart();
    assert_eq!(all(s.engine()), pairs(&model), "after the second restart");
}

pub(super) fn large_values_survive_restart<S: Subject>() {
    let mut s = S::create();
    // Large enough for sled to keep each in a blob file of its own.
    let values: Vec<Vec<u8>> = (0..3u8)
        .map(|i| (0..300_000u32).map(|j| (j as u8) ^ i).collect())
        .collect();
    for (i, v) in values.iter().enumerate() {
        put(s.engine(), &[b'L', i as u8], v);
    }
    delete(s.engine(), b"L\x01");
    s.restart();
    assert_eq!(get(s.engine(), b"L\x00").as_ref(), Some(&values[0]));
    assert_eq!(get(s.engine(), b"L\x01"), None);
    assert_eq!(get(s.engine(), b"L\x02").as_ref(), Some(&values[2]));
    // Overwritten by a small value, across another restart.
    put(s.engine(), b"L\x00", b"small");
    s.restart();
    assert_eq!(get(s.engine(), b"L\x00"), Some(b"small".to_vec()));
    assert_eq!(all(s.engine()).len(), 2);
}

pub(super) fn disk_engine_reports_its_size<E: OpenAt>() {
    let s = OnDisk::<E>::create();
    let e = s.engine();
    for i in 0..100u32 {
        put(e, &i.to_be_bytes(), &[7u8; 100]);
    }
    e.sync().expect("sync");
    assert!(e.disk_size() > 0, "{} reports no disk use", e.name());
}

// ---------------------------------------------------------------------------
// The model test

#[derive(Clone, Debug)]
enum ModelOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Batch(Vec<BatchOp>),
    /// Valid ops with one invalid op among them: refused whole.
    InvalidBatch(Vec<BatchOp>),
    Get(Vec<u8>),
    Scan {
        range: KeyRange,
        rev: bool,
        limit: Option<usize>,
    },
    /// Takes a snapshot, writes the batch, then reads the snapshot.
    SnapshotThenWrite(KeyRange, Vec<BatchOp>),
    Sync,
    Restart,
    Crash {
        keep: usize,
    },
}

/// Bytes keys are made of: the extremes and a few in between, so ordering
/// by unsigned bytes is exercised.
const KEY_BYTES: [u8; 5] = [0x00, 0x01, b'a', 0x7f, 0xff];

/// A key of 1 to 3 bytes: few enough (155) for collisions.
fn model_key(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.random_range(0..10) {
        0..=2 => 1,
        3..=7 => 2,
        _ => 3,
    };
    (0..len)
        .map(|_| KEY_BYTES[rng.random_range(0..KEY_BYTES.len())])
        .collect()
}

fn model_bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
    match rng.random_range(0..10) {
        0 | 1 => Bound::Unbounded,
        2 => Bound::Included(Vec::new()),
        3..=6 => Bound::Included(model_key(rng)),
        _ => Bound::Excluded(model_key(rng)),
    }
}

fn model_value(rng: &mut StdRng) -> Vec<u8> {
    let len = if rng.random_bool(0.05) {
        rng.random_range(100..3000)
    } else {
        rng.random_range(0..8)
    };
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    v
}

fn model_batch_ops(rng: &mut StdRng) -> Vec<BatchOp> {
    (0..rng.random_range(1..8))
        .map(|_| {
            if rng.random_bool(0.7) {
                BatchOp::Put(model_key(rng), model_value(rng))
            } else {
                BatchOp::Delete(model_key(rng))
            }
        })
        .collect()
}

fn model_op(rng: &mut StdRng) -> ModelOp {
    match rng.random_range(0..100) {
        0..=24 => ModelOp::Put(model_key(rng), model_value(rng)),
        25..=34 => ModelOp::Delete(model_key(rng)),
        35..=49 => ModelOp::Batch(model_batch_ops(rng)),
        50..=52 => {
            let mut ops = model_batch_ops(rng);
            let bad = match rng.random_range(0..3) {
                0 => BatchOp::Put(Vec::new(), b"v".to_vec()),
                1 => BatchOp::Delete(Vec::new()),
                _ => BatchOp::Put(vec![b'x'; MAX_KEY_LEN + 1], b"v".to_vec()),
            };
            let at = rng.random_range(0..=ops.len());
            ops.insert(at, bad);
            ModelOp::InvalidBatch(ops)
        }
        53..=64 => ModelOp::Get(model_key(rng)),
        65..=79 => ModelOp::Scan {
            range: (model_bound(rng), model_bound(rng)),
            rev: rng.random_bool(0.5),
            limit: rng.random_bool(0.3).then(|| rng.random_range(0..5)),
        },
        80..=85 => {
            ModelOp::SnapshotThenWrite((model_bound(rng), model_bound(rng)), model_batch_ops(rng))
        }
        86..=91 => ModelOp::Sync,
        92..=95 => ModelOp::Restart,
        _ => ModelOp::Crash {
            keep: rng.random_range(0..6),
        },
    }
}

/// What the engine must hold: the live map, plus the synced image and the
/// batches since, for crashes.
#[derive(Default)]
struct Model {
    live: Map,
    synced: Map,
    unsynced: Vec<Vec<BatchOp>>,
}

impl Model {
    fn write(&mut self, ops: Vec<BatchOp>) {
        apply_ops(&mut self.live, &ops);
        self.unsynced.push(ops);
    }

    fn sync(&mut self) {
        for ops in self.unsynced.drain(..) {
            apply_ops(&mut self.synced, &ops);
        }
    }

    /// The synced image plus the first `n` unsynced batches.
    fn prefix(&self, n: usize) -> Map {
        let mut map = self.synced.clone();
        for ops in &self.unsynced[..n] {
            apply_ops(&mut map, ops);
        }
        map
    }

    /// After a crash: what survived is all there is, and it counts as synced.
    fn reset_to(&mut self, map: Map) {
        self.live = map.clone();
        self.synced = map;
        self.unsynced.clear();
    }
}

/// Prints the seed of a failing run (on drop during a panic).
struct SeedReport {
    engine: &'static str,
    seed: u64,
    step: usize,
    op: Option<ModelOp>,
}

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "model test failed: engine {}, seed {} (REDRAFT_MODEL_SEED={}), step {}, op {:?}",
                self.engine, self.seed, self.seed, self.step, self.op
            );
        }
    }
}

fn run_model<S: Subject>(seed: u64, ops: usize) -> [usize; 3] {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut s = S::create();
    let mut model = Model::default();
    let mut report = SeedReport {
        engine: s.engine().name(),
        seed,
        step: 0,
        op: None,
    };
    // Counts of restarts, crashes and non-empty scans, to show the run
    // exercised them.
    let mut counts = [0usize; 3];
    for step in 0..ops {
        let op = model_op(&mut rng);
        report.step = step;
        report.op = Some(op.clone());
        let e = s.engine();
        match op {
            ModelOp::Put(k, v) => {
                let ops = vec![BatchOp::Put(k, v)];
                e.write(batch(ops.clone())).expect("put");
                model.write(ops);
            }
            ModelOp::Delete(k) => {
                let ops = vec![BatchOp::Delete(k)];
                e.write(batch(ops.clone())).expect("delete");
                model.write(ops);
            }
            ModelOp::Batch(ops) => {
                e.write(batch(ops.clone())).expect("batch");
                model.write(ops);
            }
            ModelOp::InvalidBatch(ops) => {
                assert_invalid_input(e.write(batch(ops)), "invalid batch");
                assert_eq!(all(e), pairs(&model.live), "after an invalid batch");
            }
            ModelOp::Get(k) => {
                assert_eq!(get(e, &k), model.live.get(&k).cloned(), "get {k:?}");
            }
            ModelOp::Scan { range, rev, limit } => {
                let iter = if rev {
                    e.scan_rev(range.clone())
                } else {
                    e.scan(range.clone())
                };
                let mut want = expected_scan(&model.live, &range, rev);
                let got = match limit {
                    Some(n) => {
                        want.truncate(n);
                        collect(iter.take(n))
                    }
                    None => collect(iter),
                };
                counts[2] += usize::from(!want.is_empty());
                assert_eq!(got, want, "scan {range:?} rev {rev} limit {limit:?}");
            }
            ModelOp::SnapshotThenWrite(range, ops) => {
                let snap = e.snapshot(range.clone()).expect("snapshot");
                let want = expected_scan(&model.live, &range, false);
                e.write(batch(ops.clone())).expect("batch after snapshot");
                model.write(ops);
                assert_eq!(collect(snap), want, "snapshot {range:?}");
            }
            ModelOp::Sync => {
                e.sync().expect("sync");
                model.sync();
            }
            ModelOp::Restart => {
                s.restart();
                model.sync();
                counts[0] += 1;
                assert_eq!(all(s.engine()), pairs(&model.live), "after restart");
            }
            ModelOp::Crash { keep } => {
                let kept = s.crash(keep);
                counts[1] += 1;
                let state: Map = all(s.engine()).into_iter().collect();
                let survivors = match kept {
                    Some(n) => {
                        assert_eq!(state, model.prefix(n), "after a crash keeping {n}");
                        n
                    }
                    None => (0..=model.unsynced.len())
                        .rev()
                        .find(|&n| model.prefix(n) == state)
                        .unwrap_or_else(|| {
                            panic!(
                                "after a crash: not a prefix of the {} unsynced batches",
                                model.unsynced.len()
                            )
                        }),
                };
                assert!(survivors <= model.unsynced.len());
                model.reset_to(state);
            }
        }
        if step % 50 == 49 {
            assert_eq!(all(s.engine()), pairs(&model.live), "full check");
        }
    }
    s.restart();
    assert_eq!(all(s.engine()), pairs(&model.live), "at the end");
    report.op = None;
    counts
}

pub(super) fn model_with_restarts<S: Subject>() {
    let ops = env_usize("REDRAFT_MODEL_OPS").unwrap_or(300);
    let seeds: Vec<u64> = match env_usize("REDRAFT_MODEL_SEED") {
        Some(seed) => vec![seed as u64],
        None => (1..=env_usize("REDRAFT_MODEL_SEEDS").unwrap_or(4) as u64).collect(),
    };
    let mut totals = [0usize; 3];
    for seed in seeds {
        let counts = run_model::<S>(seed, ops);
        for (total, n) in totals.iter_mut().zip(counts) {
            *total += n;
        }
    }
    // Guards against a generator change that silently stops exercising the
    // interesting operations.
    if ops >= 300 {
        assert!(
            totals.iter().all(|&n| n > 0),
            "restarts, crashes, scans: {totals:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// A process killed while writing

/// Set in the child process: the folder to write in.
const KILL_CHILD_DIR: &str = "REDRAFT_ENGINE_KILL_CHILD_DIR";

/// The child syncs after every this many batches.
const KILL_SYNC_EVERY: u64 = 10;

/// The child's batch number `n`: a counter, a new key, the deletion of the
/// key from five batches back, and every 97th batch a value large enough
/// for sled to keep it in a blob file.
fn kill_batch(n: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.put(b"counter", n.to_be_bytes());
    let len = if n.is_multiple_of(97) {
        200_000
    } else {
        (n % 7 * 13) as usize
    };
    let value: Vec<u8> = (0..len).map(|i| (n as usize + i) as u8).collect();
    b.put(format!("k{n:08}"), value);
    if n > 5 {
        b.delete(format!("k{:08}", n - 5));
    }
    b
}

fn kill_model(n: u64) -> Vec<KvPair> {
    let mut map = Map::new();
    for i in 1..=n {
        apply_ops(&mut map, &kill_batch(i).ops);
    }
    pairs(&map)
}

fn read_counter(e: &dyn Engine) -> u64 {
    get(e, b"counter").map_or(0, |v| u64::from_be_bytes(v.try_into().expect("counter")))
}

/// The child: continues from the counter it finds, writing batches and
/// reporting `synced N` on stdout after each sync, until killed (or a
/// bound, so a lost parent does not leave it running for long).
pub(super) fn kill_child<E: OpenAt>() {
    let Some(dir) = std::env::var_os(KILL_CHILD_DIR) else {
        // Run without the parent: nothing to do.
        return;
    };
    let engine = E::open_at(Path::new(&dir)).expect("child open");
    let start = read_counter(&engine) + 1;
    for n in start..start + 200_000 {
        engine.write(kill_batch(n)).expect("child write");
        if n.is_multiple_of(KILL_SYNC_EVERY) {
            engine.sync().expect("child sync");
            println!("synced {n}");
        }
    }
}

/// The parent: runs the child (this test binary, filtered to `child_test`),
/// kills it with SIGKILL once it has synced enough, and checks that the
/// reopened engine holds exactly the first N batches for some N at least
/// the last one reported synced. Three rounds on the same folder.
pub(super) fn killed_process_recovers_a_prefix<E: OpenAt>(child_test: &str) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("temporary folder");
    let logs = tempfile::tempdir().expect("temporary folder");
    let exe = std::env::current_exe().expect("test binary");
    let mut recovered = 0;
    for round in 0..3 {
        let stderr_path = logs.path().join(format!("child-{round}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("child stderr file");
        let child_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let mut child = Command::new(&exe)
            .args([
                child_test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(KILL_CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the child");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line
                    .strip_prefix("synced ")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    if tx.send(n).is_err() {
                        break;
                    }
                }
            }
        });
        // Wait (with a deadline) until the child has synced 30 more batches
        // than it started from, then kill it mid-write.
        let target = recovered + 30 * KILL_SYNC_EVERY;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut synced = 0;
        while synced < target {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(n) => synced = n,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "round {round}: the child stopped or stalled at synced {synced}; its stderr:\n{}",
                        child_stderr()
                    );
                }
            }
        }
        child.kill().expect("kill the child");
        child.wait().expect("reap the child");
        reader.join().expect("reader thread");
        // Reports written before the kill.
        synced = rx.try_iter().fold(synced, u64::max);

        let engine = E::open_at(dir.path()).expect("reopen after kill");
        let n = read_counter(&engine);
        assert!(
            n >= synced,
            "round {round}: batch {synced} was synced, only {n} recovered"
        );
        assert_eq!(
            all(&engine),
            kill_model(n),
            "round {round}: not exactly the first {n} batches"
        );
        recovered = n;
    }
}

// ---------------------------------------------------------------------------
// Memory engine only

#[test]
fn memory_crash_keeps_the_chosen_prefix() {
    let engine = MemoryEngine::new();
    let mut model = Model::default();
    for n in 1..=8u64 {
        let ops = kill_batch(n).ops;
        engine.write(batch(ops.clone())).expect("write");
        model.write(ops);
        if n == 3 {
            engine.sync().expect("sync");
            model.sync();
        }
    }
    assert_eq!(engine.unsynced_batches(), 5);
    for keep in 0..=7 {
        let crashed = engine.crash_keeping(keep);
        assert_eq!(
            all(&crashed),
            pairs(&model.prefix(keep.min(5))),
            "keep {keep}"
        );
        assert_eq!(crashed.unsynced_batches(), 0);
    }
    assert_eq!(all(&engine.crash_and_reopen()), pairs(&model.synced));
    // Crashing leaves the original untouched.
    assert_eq!(all(&engine), pairs(&model.live));
}

// ---------------------------------------------------------------------------
// Instantiation

/// Instantiates every generic test above for one engine, in a module named
/// after it. `on_disk: E` adds the tests that need a folder.
macro_rules! engine_suite {
    ($module:ident, $subject:ty $(, on_disk: $engine:ty)?) => {
        mod $module {
            #[test]
            fn get_put_delete() {
                super::get_put_delete::<$subject>()
            }
            #[test]
            fn empty_values_and_extreme_keys() {
                super::empty_values_and_extreme_keys::<$subject>()
            }
            #[test]
            fn keys_sort_bytewise() {
                super::keys_sort_bytewise::<$subject>()
            }
            #[test]
            fn batch_applies_ops_in_order() {
                super::batch_applies_ops_in_order::<$subject>()
            }
            #[test]
            fn invalid_batch_is_rejected_whole() {
                super::invalid_batch_is_rejected_whole::<$subject>()
            }
            #[test]
            fn oversize_value_is_rejected_whole() {
                super::oversize_value_is_rejected_whole::<$subject>()
            }
            #[test]
            fn scan_every_bound_combination() {
                super::scan_every_bound_combination::<$subject>()
            }
            #[test]
            fn writes_while_a_scan_is_open() {
                super::writes_while_a_scan_is_open::<$subject>()
            }
            #[test]
            fn scans_during_concurrent_writes() {
                super::scans_during_concurrent_writes::<$subject>()
            }
            #[test]
            fn snapshots_during_concurrent_writes() {
                super::snapshots_during_concurrent_writes::<$subject>()
            }
            #[test]
            fn snapshot_is_point_in_time() {
                super::snapshot_is_point_in_time::<$subject>()
            }
            #[test]
            fn sync_then_restart_keeps_everything() {
                super::sync_then_restart_keeps_everything::<$subject>()
            }
            #[test]
            fn large_values_survive_restart() {
                super::large_values_survive_restart::<$subject>()
            }
            #[test]
            fn model_with_restarts() {
                super::model_with_restarts::<$subject>()
            }
            $(
                #[test]
                fn disk_engine_reports_its_size() {
                    super::disk_engine_reports_its_size::<$engine>()
                }
                #[test]
                fn killed_process_recovers_a_prefix() {
                    // The child's test name as libtest spells it: the
                    // module path without the crate name.
                    let path = module_path!();
                    let module = path.split_once("::").map_or(path, |(_, rest)| rest);
                    super::killed_process_recovers_a_prefix::<$engine>(&format!("{module}::kill_child"))
                }
                #[test]
                #[ignore = "the child of killed_process_recovers_a_prefix"]
                fn kill_child() {
                    super::kill_child::<$engine>()
                }
            )?
        }
    };
}

engine_suite!(fjall, super::OnDisk<super::FjallEngine>, on_disk: super::FjallEngine);
engine_suite!(sled, super::OnDisk<super::SledEngine>, on_disk: super::SledEngine);
engine_suite!(memory, super::MemoryEngine);
