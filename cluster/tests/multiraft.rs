//! In-process tests of the multi-raft store.
//!
//! Several [`RaftStore`]s run in this process, each with its own data
//! directory, wired by an in-memory transport: a shared table of routers
//! by node id, where `send` is a `deliver` on the destination's router.
//! Links can be cut one direction at a time (partitions, a node whose
//! answers are lost) and a node can be stopped and restarted from the
//! same directory.
//!
//! The state machine is a small durable KV map per shard ("SET k v"),
//! written whole to one file per shard (write to a temporary file, then
//! rename) together with its applied index, so a restarted node resumes
//! exactly where it stopped. It also checks that the store applies every
//! index exactly once, in order.
//!
//! Nothing here sleeps to synchronize: every wait polls a condition until a
//! deadline. The clusters run one at a time (they are timing-sensitive:
//! elections and leases) and are stopped on drop, also when a test fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use raft::eraftpb::{Message, MessageType};
use redraft_cluster::{
    Digest, DigestJob, PartHasher, ProposeError, RaftConfig, RaftRouter, RaftStore, ShardBootstrap,
    ShardId, ShardRole, StateMachine, StoreStats, Transport, INIT_INDEX,
};
use tokio::sync::oneshot;

/// One cluster at a time: elections and leases depend on timing, and
/// several clusters fighting for a couple of cores make them flaky.
static SERIAL: Mutex<()> = parking_lot::const_mutex(());

/// The longest any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------
// The state machine
// ---------------------------------------------------------------------

/// What a proposer gets back: the entry's index and the key's previous value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Applied {
    index: u64,
    prev: Option<String>,
}

/// One shard's state, as the state machine holds and persists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ShardData {
    applied: u64,
    /// The Raft metadata of the last restored snapshot.
    meta: Option<Vec<u8>>,
    map: BTreeMap<String, String>,
}

/// The state of every shard of one node, shared with the test so it can
/// look at what was applied.
type View = Arc<Mutex<HashMap<ShardId, ShardData>>>;

/// Contract violations seen by any state machine (applied out of order,
/// twice, ...). A panic on the store thread would only show up as
/// timeouts, so they are collected and checked by the test instead.
type Faults = Arc<Mutex<Vec<String>>>;

struct KvMachine {
    node: u64,
    dir: PathBuf,
    data: View,
    faults: Faults,
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_be_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u64(&mut self) -> io::Result<u64> {
        if self.buf.len() < 8 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "truncated"));
        }
        let (a, rest) = self.buf.split_at(8);
        self.buf = rest;
        let mut n = [0u8; 8];
        n.copy_from_slice(a);
        Ok(u64::from_be_bytes(n))
    }

    fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let len = usize::try_from(self.u64()?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "length"))?;
        if self.buf.len() < len {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "truncated"));
        }
        let (a, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(a)
    }

    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "utf-8"))
    }
}

fn encode_map(out: &mut Vec<u8>, map: &BTreeMap<String, String>) {
    out.extend_from_slice(&(map.len() as u64).to_be_bytes());
    for (k, v) in map {
        put_bytes(out, k.as_bytes());
        put_bytes(out, v.as_bytes());
    }
}

fn decode_map(r: &mut Reader<'_>) -> io::Result<BTreeMap<String, String>> {
    let n = r.u64()?;
    let mut map = BTreeMap::new();
    for _ in 0..n {
        let k = r.string()?;
        let v = r.string()?;
        map.insert(k, v);
    }
    Ok(map)
}

/// File format: applied index, metadata flag (+ bytes), the map.
fn encode_shard(sd: &ShardData) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&sd.applied.to_be_bytes());
    match &sd.meta {
        Some(m) => {
            out.push(1);
            put_bytes(&mut out, m);
        }
        None => out.push(0),
    }
    encode_map(&mut out, &sd.map);
    out
}

fn decode_shard(buf: &[u8]) -> io::Result<ShardData> {
    let mut r = Reader { buf };
    let applied = r.u64()?;
    let (flag, rest) = r
        .buf
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "truncated"))?;
    r.buf = rest;
    let meta = if *flag == 1 {
        Some(r.bytes()?.to_vec())
    } else {
        None
    };
    let map = decode_map(&mut r)?;
    Ok(ShardData { applied, meta, map })
}

/// Runs one command. Unknown commands change nothing (deterministically).
fn execute(map: &mut BTreeMap<String, String>, cmd: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(cmd).ok()?;
    let mut parts = text.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("SET"), Some(k), Some(v)) => map.insert(k.to_owned(), v.to_owned()),
        _ => None,
    }
}

impl KvMachine {
    /// Opens (or creates) the state machine of `node` stored under `dir`.
    fn open(node: u64, dir: &Path, faults: Faults) -> io::Result<KvMachine> {
        fs::create_dir_all(dir)?;
        let mut data = HashMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix("shard-")
                .and_then(|s| s.strip_suffix(".kv"))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            data.insert(id, decode_shard(&fs::read(entry.path())?)?);
        }
        Ok(KvMachine {
            node,
            dir: dir.to_owned(),
            data: Arc::new(Mutex::new(data)),
            faults,
        })
    }

    fn path(&self, shard: ShardId) -> PathBuf {
        self.dir.join(format!("shard-{shard}.kv"))
    }

    /// Writes the shard's whole state atomically (temporary file + rename).
    fn persist(&self, shard: ShardId, sd: &ShardData) -> io::Result<()> {
        let tmp = self.dir.join(format!("shard-{shard}.kv.tmp"));
        fs::write(&tmp, encode_shard(sd))?;
        fs::rename(&tmp, self.path(shard))
    }

    fn fault(&self, what: String) {
        self.faults
            .lock()
            .push(format!("node {}: {what}", self.node));
    }
}

impl StateMachine for KvMachine {
    type Response = Applied;

    fn applied_index(&self, shard: ShardId) -> u64 {
        self.data.lock().get(&shard).map_or(0, |s| s.applied)
    }

    fn apply(&mut self, shard: ShardId, entries: &[(u64, &[u8])]) -> Vec<Applied> {
        let mut data = self.data.lock();
        let sd = data.entry(shard).or_default();
        let mut out = Vec::with_capacity(entries.len());
        let mut faults = Vec::new();
        for &(index, cmd) in entries {
            if index != sd.applied + 1 {
                faults.push(format!(
                    "shard {shard}: applied index {index} after {}",
                    sd.applied
                ));
            }
            let prev = execute(&mut sd.map, cmd);
            sd.applied = index;
            out.push(Applied { index, prev });
        }
        let snapshot = sd.clone();
        drop(data);
        for f in faults {
            self.fault(f);
        }
        // An I/O failure must not let replicas diverge: crash the store.
        self.persist(shard, &snapshot)
            .unwrap_or_else(|e| panic!("persist shard {shard}: {e}"));
        out
    }

    fn sync(&mut self) -> io::Result<()> {
        let shards: Vec<ShardId> = self.data.lock().keys().copied().collect();
        for shard in shards {
            fs::File::open(self.path(shard))?.sync_all()?;
        }
        fs::File::open(&self.dir)?.sync_all()
    }

    fn snapshot(&self, shard: ShardId) -> io::Result<(u64, Vec<u8>)> {
        let data = self.data.lock();
        let sd = data.get(&shard).cloned().unwrap_or_default();
        let mut out = Vec::new();
        encode_map(&mut out, &sd.map);
        Ok((sd.applied, out))
    }

    fn restore(&mut self, shard: ShardId, index: u64, meta: &[u8], data: &[u8]) -> io::Result<()> {
        let map = if data.is_empty() {
            BTreeMap::new()
        } else {
            decode_map(&mut Reader { buf: data })?
        };
        let sd = ShardData {
            applied: index,
            meta: Some(meta.to_vec()),
            map,
        };
        self.persist(shard, &sd)?;
        fs::File::open(self.path(shard))?.sync_all()?;
        self.data.lock().insert(shard, sd);
        Ok(())
    }

    fn snapshot_metadata(&self, shard: ShardId) -> Option<Vec<u8>> {
        self.data.lock().get(&shard).and_then(|s| s.meta.clone())
    }

    fn destroy(&mut self, shard: ShardId) -> io::Result<()> {
        match fs::remove_file(self.path(shard)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        fs::File::open(&self.dir)?.sync_all()?;
        self.data.lock().remove(&shard);
        Ok(())
    }

    /// One part per first byte of the keys; the map is copied now (the
    /// point-in-time view) and hashed by the job.
    fn digest(&self, shard: ShardId) -> Option<DigestJob> {
        let map = self
            .data
            .lock()
            .get(&shard)
            .map(|s| s.map.clone())
            .unwrap_or_default();
        Some(Box::new(move || {
            let mut parts: BTreeMap<u32, PartHasher> = BTreeMap::new();
            for (k, v) in &map {
                let part = u32::from(k.as_bytes().first().copied().unwrap_or(0));
                parts
                    .entry(part)
                    .or_default()
                    .add(k.as_bytes(), v.as_bytes());
            }
            Ok(Digest {
                parts: parts.into_iter().map(|(p, h)| (p, h.finish())).collect(),
            })
        }))
    }
}

// ---------------------------------------------------------------------
// The in-memory network
// ---------------------------------------------------------------------

type Router = RaftRouter<Applied>;
type Outcome = Result<Applied, ProposeError>;

/// A batch a held link carried: destination and messages.
type HeldBatch = (u64, Vec<(ShardId, Message)>);

#[derive(Default)]
struct Net {
    /// The running nodes.
    routers: Mutex<HashMap<u64, Router>>,
    /// Cut links, `(from, to)`.
    cut: Mutex<HashSet<(u64, u64)>>,
    /// Links whose messages are kept, `(from, to)`, until released: a
    /// slow network, or a receiver that does not read its socket.
    held: Mutex<HashSet<(u64, u64)>>,
    /// What the held links carried, in order.
    held_msgs: Mutex<Vec<HeldBatch>>,
}

impl Net {
    fn router(&self, id: u64) -> Option<Router> {
        self.routers.lock().get(&id).cloned()
    }
}

struct MemTransport {
    from: u64,
    net: Arc<Net>,
}

impl Transport for MemTransport {
    fn send(&self, to: u64, msgs: Vec<(ShardId, Message)>) {
        if self.net.held.lock().contains(&(self.from, to)) {
            self.net.held_msgs.lock().push((to, msgs));
            return;
        }
        let src = self.net.router(self.from);
        let dst = self
            .net
            .router(to)
            .filter(|_| !self.net.cut.lock().contains(&(self.from, to)));
        let snapshots: Vec<ShardId> = msgs
            .iter()
            .filter(|(_, m)| m.get_msg_type() == MessageType::MsgSnapshot)
            .map(|(s, _)| *s)
            .collect();
        let delivered = match dst {
            Some(dst) => {
                dst.deliver(msgs);
                true
            }
            None => false,
        };
        // Report like a real bus would (the sender may not be registered
        // yet during its first Ready cycles).
        if let Some(src) = src {
            if !delivered {
                src.report_unreachable(to);
            }
            for shard in snapshots {
                src.report_snapshot(shard, to, delivered);
            }
        }
    }
}

// ---------------------------------------------------------------------
// The cluster harness
// ---------------------------------------------------------------------

struct Node {
    router: Router,
    handle: JoinHandle<()>,
    view: View,
}

struct Cluster {
    net: Arc<Net>,
    dir: tempfile::TempDir,
    cfg: RaftConfig,
    boots: Vec<ShardBootstrap>,
    nodes: HashMap<u64, Node>,
    faults: Faults,
    _serial: parking_lot::MutexGuard<'static, ()>,
}

/// Ticks fast so elections take a fraction of a second.
fn fast_cfg() -> RaftConfig {
    RaftConfig {
        node_id: 0,
        tick_ms: 10,
        election_ticks: 10,
        heartbeat_ticks: 2,
        compact_log_entries: 10_000,
        compact_log_bytes: 16 << 20,
        max_batch: 1024,
        sync_log: true,
        anti_entropy_interval: None,
        stray_replica_ticks: 300,
        change_timeout: Duration::from_secs(20),
    }
}

fn shard(id: ShardId, voters: &[u64], preferred: Option<u64>) -> ShardBootstrap {
    ShardBootstrap {
        shard: id,
        voters: voters.to_vec(),
        preferred_leader: preferred,
    }
}

fn set(k: &str, v: &str) -> Vec<u8> {
    format!("SET {k} {v}").into_bytes()
}

/// Polls `f` every couple of milliseconds until it returns `Some`.
fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The outcome of a proposal or read, if known yet.
fn try_outcome<T>(
    rx: &mut oneshot::Receiver<Result<T, ProposeError>>,
) -> Option<Result<T, ProposeError>> {
    match rx.try_recv() {
        Ok(r) => Some(r),
        Err(oneshot::error::TryRecvError::Empty) => None,
        Err(oneshot::error::TryRecvError::Closed) => Some(Err(ProposeError::Stopped)),
    }
}

fn wait_outcome<T>(
    what: &str,
    rx: &mut oneshot::Receiver<Result<T, ProposeError>>,
) -> Result<T, ProposeError> {
    poll(what, WAIT, || try_outcome(rx))
}

/// Watches `rx` for `dur` and fails if it resolves with `Ok`. Returns the
/// outcome if it resolved with an error meanwhile.
fn never_ok_for<T: std::fmt::Debug>(
    what: &str,
    rx: &mut oneshot::Receiver<Result<T, ProposeError>>,
    dur: Duration,
) -> Option<ProposeError> {
    let until = Instant::now() + dur;
    while Instant::now() < until {
        match try_outcome(rx) {
            Some(Ok(v)) => panic!("{what} acknowledged while it must not be: {v:?}"),
            Some(Err(e)) => return Some(e),
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    None
}

impl Cluster {
    fn new(ids: &[u64], boots: Vec<ShardBootstrap>, cfg: RaftConfig) -> Cluster {
        let serial = SERIAL.lock();
        let mut c = Cluster {
            net: Arc::default(),
            dir: tempfile::tempdir().expect("temp dir"),
            cfg,
            boots,
            nodes: HashMap::new(),
            faults: Arc::default(),
            _serial: serial,
        };
        for &id in ids {
            c.start(id);
        }
        c
    }

    fn node_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node{id}"))
    }

    /// Starts node `id` (again) from its directory.
    fn start(&mut self, id: u64) {
        assert!(!self.nodes.contains_key(&id), "node {id} already runs");
        let dir = self.node_dir(id);
        let sm = KvMachine::open(id, &dir.join("sm"), self.faults.clone()).expect("open sm");
        let view = sm.data.clone();
        let cfg = RaftConfig {
            node_id: id,
            ..self.cfg.clone()
        };
        let transport = Arc::new(MemTransport {
            from: id,
            net: self.net.clone(),
        });
        let (router, handle) =
            RaftStore::start(cfg, &dir.join("raft"), &self.boots, sm, transport).expect("start");
        self.net.routers.lock().insert(id, router.clone());
        self.nodes.insert(
            id,
            Node {
                router,
                handle,
                view,
            },
        );
    }

    /// Stops node `id` and waits for its thread; nothing reaches it after.
    fn stop(&mut self, id: u64) {
        self.net.routers.lock().remove(&id);
        let node = self.nodes.remove(&id).expect("node runs");
        node.router.stop();
        poll(&format!("node {id} to stop"), WAIT, || {
            node.handle.is_finished().then_some(())
        });
        node.handle.join().expect("store thread panicked");
    }

    fn router(&self, id: u64) -> &Router {
        &self.nodes.get(&id).expect("node runs").router
    }

    /// Cuts every link between `id` and the other nodes, both ways.
    fn isolate(&self, id: u64, others: &[u64]) {
        let mut cut = self.net.cut.lock();
        for &o in others {
            cut.insert((id, o));
            cut.insert((o, id));
        }
    }

    fn cut(&self, from: u64, to: u64) {
        self.net.cut.lock().insert((from, to));
    }

    fn hold(&self, from: u64, to: u64) {
        self.net.held.lock().insert((from, to));
    }

    /// Stops holding every link and delivers what was held, in order.
    fn release_held(&self) {
        self.net.held.lock().clear();
        let msgs = std::mem::take(&mut *self.net.held_msgs.lock());
        for (to, batch) in msgs {
            if let Some(dst) = self.net.router(to) {
                dst.deliver(batch);
            }
        }
    }

    fn heal_all(&self) {
        self.net.cut.lock().clear();
    }

    fn data(&self, id: u64, shard: ShardId) -> ShardData {
        self.nodes[&id]
            .view
            .lock()
            .get(&shard)
            .cloned()
            .unwrap_or_default()
    }

    /// The node all of `among` agree leads `shard`, if any.
    fn agreed_leader(&self, shard: ShardId, among: &[u64]) -> Option<u64> {
        let infos: Vec<_> = among
            .iter()
            .map(|&id| self.router(id).shard_info(shard).expect("hosted"))
            .collect();
        let leader = infos.first()?.leader?;
        let all_agree = infos.iter().all(|i| i.leader == Some(leader));
        let leader_knows = among
            .iter()
            .zip(&infos)
            .any(|(&id, i)| id == leader && i.role == ShardRole::Leader && i.term == infos[0].term);
        let same_term = infos.iter().all(|i| i.term == infos[0].term);
        (all_agree && leader_knows && same_term).then_some(leader)
    }

    fn wait_leader(&self, shard: ShardId, among: &[u64]) -> u64 {
        poll(
            &format!("a leader of shard {shard} among {among:?}"),
            WAIT,
            || self.agreed_leader(shard, among),
        )
    }

    /// Waits until all of `among` agree that `who` leads `shard`; on
    /// timeout, fails with what each of them published.
    fn wait_led_by(&self, shard: ShardId, among: &[u64], who: u64) {
        let deadline = Instant::now() + WAIT;
        while self.agreed_leader(shard, among) != Some(who) {
            if Instant::now() >= deadline {
                let infos: Vec<_> = among
                    .iter()
                    .map(|&id| (id, self.router(id).shard_info(shard)))
                    .collect();
                panic!("timed out waiting for node {who} to lead shard {shard}: {infos:#?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Any node of `among` that thinks it leads `shard` (highest term).
    fn some_leader(&self, shard: ShardId, among: &[u64]) -> Option<u64> {
        among
            .iter()
            .filter_map(|&id| {
                let i = self.router(id).shard_info(shard)?;
                (i.role == ShardRole::Leader).then_some((i.term, id))
            })
            .max()
            .map(|(_, id)| id)
    }

    fn propose(&self, id: u64, shard: ShardId, cmd: Vec<u8>) -> oneshot::Receiver<Outcome> {
        self.router(id).propose(shard, cmd)
    }

    /// Writes through whichever node of `among` leads, retrying lost
    /// proposals (SET is idempotent) until the deadline.
    fn put(&self, shard: ShardId, among: &[u64], k: &str, v: &str) -> Applied {
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(
                Instant::now() < deadline,
                "put {k} on shard {shard} timed out"
            );
            let Some(leader) = self.some_leader(shard, among) else {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            };
            let mut rx = self.propose(leader, shard, set(k, v));
            match wait_outcome("a put", &mut rx) {
                Ok(a) => return a,
                Err(e) if e.is_retryable() => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => panic!("put {k}: {e}"),
            }
        }
    }

    /// Waits until every node of `ids` has applied the same entries (at
    /// least up to what any of them knew committed when called) and holds
    /// the same map; returns that state.
    fn wait_converged(&self, shard: ShardId, ids: &[u64]) -> ShardData {
        let commit = ids
            .iter()
            .map(|&id| {
                self.router(id)
                    .shard_info(shard)
                    .expect("hosted")
                    .commit_index
            })
            .max()
            .unwrap_or(0);
        poll(
            &format!("replicas {ids:?} of shard {shard} to converge"),
            WAIT,
            || {
                let first = self.data(ids[0], shard);
                let same = ids.iter().all(|&id| {
                    let d = self.data(id, shard);
                    d.applied == first.applied && d.map == first.map
                });
                (same && first.applied >= commit).then_some(first)
            },
        )
    }

    /// Makes `voters` the voters of `shard`, asking whichever node of
    /// `among` leads (again after a leader hands over), and writes
    /// `key:N` through the leader meanwhile. Returns the keys written.
    fn change_replicas_under_writes(
        &self,
        shard: ShardId,
        among: &[u64],
        voters: &[u64],
        key: &str,
    ) -> Vec<String> {
        let deadline = Instant::now() + WAIT * 2;
        let mut written = Vec::new();
        let mut asked: Option<oneshot::Receiver<Result<(), ProposeError>>> = None;
        loop {
            assert!(
                Instant::now() < deadline,
                "replica change of shard {shard} to {voters:?} timed out"
            );
            if asked.is_none() {
                let Some(leader) = self.some_leader(shard, among) else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                asked = Some(self.router(leader).change_replicas(shard, voters.to_vec()));
            }
            if let Some(outcome) = asked.as_mut().and_then(try_outcome) {
                match outcome {
                    Ok(()) => return written,
                    Err(ProposeError::NotLeader { .. }) => asked = None,
                    Err(e) => panic!("replica change of shard {shard} to {voters:?}: {e}"),
                }
            }
            let k = format!("{key}:{}", written.len());
            self.put(shard, among, &k, "v");
            written.push(k);
        }
    }

    fn assert_no_faults(&self) {
        let faults = self.faults.lock();
        assert!(
            faults.is_empty(),
            "state machine contract violated: {faults:?}"
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.net.routers.lock().clear();
        for (_, node) in self.nodes.drain() {
            node.router.stop();
            let deadline = Instant::now() + WAIT;
            while !node.handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if node.handle.is_finished() {
                let _ = node.handle.join();
            }
        }
    }
}

// ---------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------

const ALL: [u64; 3] = [1, 2, 3];

/// One shard led by node 1, with a first write committed.
fn one_shard_led_by_1(cfg: RaftConfig) -> Cluster {
    let c = Cluster::new(&ALL, vec![shard(1, &ALL, Some(1))], cfg);
    c.wait_led_by(1, &ALL, 1);
    c.put(1, &[1], "init", "0");
    c
}

#[test]
fn three_shards_elect_their_preferred_leaders_and_replicate() {
    let boots = (1..=3).map(|s| shard(s, &ALL, Some(s))).collect();
    let c = Cluster::new(&ALL, boots, fast_cfg());
    for s in 1..=3 {
        c.wait_led_by(s, &ALL, s);
        for id in ALL {
            let info = c.router(id).shard_info(s).expect("hosted");
            assert_eq!(info.voters, ALL.to_vec());
        }
    }
    let mut indexes = Vec::new();
    for s in 1..=3 {
        let mut rx = c.propose(s, s, set(&format!("k{s}"), &format!("v{s}")));
        let applied = wait_outcome("a write on its leader", &mut rx).expect("write applied");
        assert_eq!(applied.prev, None);
        indexes.push(applied.index);
    }
    for s in 1..=3u64 {
        let state = c.wait_converged(s, &ALL);
        assert!(state.applied >= indexes[s as usize - 1]);
        let mut expected = BTreeMap::new();
        expected.insert(format!("k{s}"), format!("v{s}"));
        for id in ALL {
            assert_eq!(c.data(id, s).map, expected, "node {id} shard {s}");
        }
    }
    // The same key again returns the previous value.
    let mut rx = c.propose(2, 2, set("k2", "w2"));
    let applied = wait_outcome("an overwrite", &mut rx).expect("overwrite applied");
    assert_eq!(applied.prev.as_deref(), Some("v2"));
    c.assert_no_faults();
}

/// Leadership moved away from a shard's preferred node goes back to it,
/// every time, whatever the phase of the new leader's election timer
/// relative to the balance tick.
#[test]

fn leadership_returns_to_the_preferred_node_after_each_move() {
    let boots = (1..=3).map(|s| shard(s, &ALL, Some(s))).collect();
    let c = Cluster::new(&ALL, boots, fast_cfg());
    for s in 1..=3 {
        c.wait_led_by(s, &ALL, s);
    }
    let tick = Duration::from_millis(fast_cfg().tick_ms);
    for round in 0..10u32 {
        // Not a synchronization: starts each round's moves at another
        // phase of the tick cycle (the stores' tick counters run roughly
        // in step), so the new leaders' election timers take every phase
        // relative to the balance tick.
        std::thread::sleep(tick * round + tick / 3);
        let mut terms = Vec::new();
        for s in 1..=3u64 {
            terms.push(c.router(s).shard_info(s).expect("hosted").term);
            c.router(s).transfer_leader(s, s % 3 + 1);
        }
        for s in 1..=3u64 {
            // A move away and one back: two elections, two terms.
            let want = terms[s as usize - 1] + 2;
            let deadline = Instant::now() + WAIT;
            loop {
                let info = c.router(s).shard_info(s).expect("hosted");
                if c.agreed_leader(s, &ALL) == Some(s) && info.term >= want {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "round {round}: shard {s} did not come back to node {s}: {:#?}",
                    ALL.map(|id| c.router(id).shard_info(s))
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    c.assert_no_faults();
}

#[test]
fn follower_rejects_proposals_with_the_leader_hint() {
    let c = one_shard_led_by_1(fast_cfg());
    for id in [2, 3] {
        let mut rx = c.propose(id, 1, set("k", "v"));
        assert_eq!(
            wait_outcome("a proposal on a follower", &mut rx),
            Err(ProposeError::NotLeader {
                shard: 1,
                leader: Some(1)
            })
        );
    }
    let mut rx = c.propose(1, 99, set("k", "v"));
    assert_eq!(
        wait_outcome("a proposal to an unknown shard", &mut rx),
        Err(ProposeError::UnknownShard(99))
    );
    // Nothing of the rejected proposals was applied anywhere.
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.get("k"), None);
    c.assert_no_faults();
}

#[test]
fn leader_failover_then_the_old_leader_restarts_and_catches_up() {
    let mut c = one_shard_led_by_1(fast_cfg());
    c.stop(1);
    let new_leader = c.wait_leader(1, &[2, 3]);
    assert_ne!(new_leader, 1);
    for i in 0..20 {
        c.put(1, &[2, 3], &format!("k{i}"), &format!("v{i}"));
    }
    c.start(1);
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.len(), 21, "{:?}", state.map);
    for i in 0..20 {
        assert_eq!(state.map.get(&format!("k{i}")), Some(&format!("v{i}")));
    }
    c.put(1, &ALL, "after", "restart");
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.get("after").map(String::as_str), Some("restart"));
    c.assert_no_faults();
}

#[test]
fn lagging_follower_catches_up_by_snapshot_and_keeps_it_across_restart() {
    let cfg = RaftConfig {
        compact_log_entries: 20,
        ..fast_cfg()
    };
    let mut c = one_shard_led_by_1(cfg);
    c.isolate(3, &[1, 2]);
    let stale_last = c.router(3).shard_info(1).expect("hosted").last_log_index;
    let mut pending: Vec<_> = (0..200)
        .map(|i| c.propose(1, 1, set(&format!("k{i}"), &format!("v{i}"))))
        .collect();
    for rx in &mut pending {
        wait_outcome("a write with node 3 away", rx).expect("write applied by 1 and 2");
    }
    // The published state trails the answers by one Ready cycle: poll.
    poll("the leader to compact its log past node 3", WAIT, || {
        let info = c.router(1).shard_info(1).expect("hosted");
        (info.first_log_index > stale_last + 1).then_some(())
    });
    assert_eq!(
        c.router(3)
            .stats()
            .snapshots_received
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    c.heal_all();
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.len(), 201);
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    assert!(load(&c.router(3).stats().snapshots_received) > 0);
    assert!(load(&c.router(1).stats().snapshots_generated) > 0);
    assert!(load(&c.router(1).stats().snapshots_sent) > 0);
    assert!(c.data(3, 1).meta.is_some(), "node 3 restored no snapshot");

    // The snapshot (data and Raft log reset) survives a restart.
    let before = c.data(3, 1);
    c.stop(3);
    c.start(3);
    let reloaded = c.data(3, 1);
    assert_eq!(
        (reloaded.applied, &reloaded.map),
        (before.applied, &before.map),
        "state after restart differs"
    );
    let info = c.router(3).shard_info(1).expect("hosted");
    assert!(info.first_log_index > stale_last + 1, "{info:?}");
    c.put(1, &ALL, "after", "restart");
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.len(), 202);

    // The leader, whose log was compacted, restarts from it too.
    c.stop(1);
    c.put(1, &[2, 3], "leader", "away");
    c.start(1);
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.len(), 203);
    c.assert_no_faults();
}

#[test]
fn read_index_and_leases() {
    let c = one_shard_led_by_1(fast_cfg());
    let election = c.router(1).election_timeout();
    poll("a lease on node 1", WAIT, || {
        c.router(1).lease_read_ok(1).then_some(())
    });
    for id in [2, 3] {
        assert!(!c.router(id).lease_read_ok(1), "follower {id} has a lease");
    }
    let mut rx = c.router(1).read_index(1);
    assert_eq!(wait_outcome("a read index on the leader", &mut rx), Ok(()));
    for id in [2, 3] {
        let mut rx = c.router(id).read_index(1);
        assert_eq!(
            wait_outcome("a read index on a follower", &mut rx),
            Err(ProposeError::NotLeader {
                shard: 1,
                leader: Some(1)
            })
        );
    }

    // Cut node 1 off: its lease runs out, and nothing it is asked is
    // acknowledged.
    c.isolate(1, &[2, 3]);
    let cut_at = Instant::now();
    let mut write = c.propose(1, 1, set("lost", "1"));
    let mut read = c.router(1).read_index(1);
    poll("node 1's lease to end", WAIT, || {
        (!c.router(1).lease_read_ok(1)).then_some(())
    });
    let lease_lasted = cut_at.elapsed();
    assert!(
        lease_lasted < election * 5,
        "lease outlived the partition by {lease_lasted:?}"
    );
    // No other leader may exist while node 1 could still serve reads.
    poll("a new leader among 2 and 3", WAIT, || {
        let l = c.agreed_leader(1, &[2, 3]);
        if l.is_some() {
            assert!(!c.router(1).lease_read_ok(1), "two leaders may serve reads");
        }
        l
    });
    let read_outcome = wait_outcome("the read on the cut-off leader", &mut read);
    assert!(read_outcome.is_err(), "{read_outcome:?}");
    let early = never_ok_for("a write on a cut-off leader", &mut write, election * 3);
    assert!(!c.router(1).lease_read_ok(1));
    c.put(1, &[2, 3], "new", "leader");
    c.heal_all();
    // The cut-off leader stepped down with the write in flight: its
    // outcome is unknown to it (or, if it heard later, dropped).
    let outcome = match early {
        Some(e) => Err(e),
        None => wait_outcome("the cut-off write after healing", &mut write),
    };
    assert!(
        matches!(outcome, Err(ProposeError::Dropped | ProposeError::Unknown)),
        "{outcome:?}"
    );
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map.get("lost"), None);
    assert_eq!(state.map.get("new").map(String::as_str), Some("leader"));
    c.assert_no_faults();
}

#[test]
fn pending_proposal_on_isolated_leader_resolves_after_heal() {
    let c = one_shard_led_by_1(fast_cfg());
    let election = c.router(1).election_timeout();
    c.isolate(1, &[2, 3]);
    let mut pending = c.propose(1, 1, set("p", "1"));
    let mut early = None;
    poll("a new leader among 2 and 3", WAIT, || {
        if early.is_none() {
            early = never_ok_for("the isolated proposal", &mut pending, Duration::ZERO);
        }
        c.agreed_leader(1, &[2, 3])
    });
    for i in 0..5 {
        c.put(1, &[2, 3], &format!("k{i}"), "x");
    }
    if early.is_none() {
        early = never_ok_for("the isolated proposal", &mut pending, election * 3);
    }
    c.heal_all();
    let outcome = match early {
        Some(e) => Err(e),
        None => wait_outcome("the isolated proposal after healing", &mut pending),
    };
    let state = c.wait_converged(1, &ALL);
    match outcome {
        Ok(a) => assert_eq!(
            state.map.get("p").map(String::as_str),
            Some("1"),
            "acked at {a:?}"
        ),
        Err(ProposeError::Dropped) => assert_eq!(state.map.get("p"), None),
        // Stepping down with it in flight: either state is allowed.
        Err(ProposeError::Unknown) => {}
        Err(e) => panic!("unexpected outcome {e:?}"),
    }
    c.assert_no_faults();
}

#[test]
fn single_voter_is_elected_at_once_and_survives_restart() {
    let cfg = RaftConfig {
        // An election by timeout would take 10 s: a quick leader proves
        // the single voter campaigned at once.
        election_ticks: 1000,
        ..fast_cfg()
    };
    let mut c = Cluster::new(&[1], vec![shard(1, &[1], None), shard(2, &[], None)], cfg);
    let quick = Duration::from_secs(3);
    for s in [1, 2] {
        poll("the single voter to lead", quick, || {
            (c.agreed_leader(s, &[1]) == Some(1)).then_some(())
        });
        assert_eq!(c.router(1).shard_info(s).expect("hosted").voters, vec![1]);
    }
    let mut last = 0;
    for i in 0..10 {
        let mut rx = c.propose(1, 1, set("k", &i.to_string()));
        let a = wait_outcome("a single-voter write", &mut rx).expect("applied");
        assert!(a.index > last);
        last = a.index;
        assert_eq!(a.prev, (i > 0).then(|| (i - 1).to_string()));
    }
    let mut rx = c.router(1).read_index(1);
    assert_eq!(wait_outcome("a single-voter read index", &mut rx), Ok(()));
    assert!(c.router(1).lease_read_ok(1));

    c.stop(1);
    c.start(1);
    assert_eq!(c.data(1, 1).map.get("k").map(String::as_str), Some("9"));
    poll("the single voter to lead after restart", quick, || {
        (c.agreed_leader(1, &[1]) == Some(1)).then_some(())
    });
    let mut rx = c.propose(1, 1, set("k", "10"));
    let a = wait_outcome("a write after restart", &mut rx).expect("applied");
    assert!(a.index > last);
    assert_eq!(a.prev.as_deref(), Some("9"));
    c.assert_no_faults();
}

/// A leader cut off with several proposals is replaced, learns the new
/// leader's shorter log, then leads again (its preferred shard) and
/// proposes at an index one of its old, lost proposals had. Every new
/// proposal must be acknowledged: each was applied.
#[test]

fn new_proposal_at_the_index_of_an_old_lost_one_is_acknowledged() {
    let c = one_shard_led_by_1(fast_cfg());
    c.isolate(1, &[2, 3]);
    let mut old: Vec<_> = (0..3)
        .map(|i| c.propose(1, 1, set(&format!("old{i}"), "x")))
        .collect();
    let new_leader = c.wait_leader(1, &[2, 3]);
    let new_term = c.router(new_leader).shard_info(1).expect("hosted").term;
    poll("the new leader to commit its first entry", WAIT, || {
        let i = c.router(new_leader).shard_info(1).expect("hosted");
        (i.applied_index == i.last_log_index && i.term == new_term).then_some(())
    });
    c.heal_all();
    // Balancing hands the shard back to node 1.
    c.wait_led_by(1, &ALL, 1);
    let mut new: Vec<_> = (0..3)
        .map(|i| c.propose(1, 1, set(&format!("new{i}"), "y")))
        .collect();
    // The old ones resolve once their indexes are applied.
    for (i, rx) in old.iter_mut().enumerate() {
        let outcome = wait_outcome("an old proposal", rx);
        assert!(
            matches!(outcome, Err(ProposeError::Dropped | ProposeError::Unknown)),
            "old{i}: {outcome:?}"
        );
    }
    let outcomes: Vec<_> = new
        .iter_mut()
        .map(|rx| wait_outcome("a new proposal", rx))
        .collect();
    let state = c.wait_converged(1, &ALL);
    for (i, o) in outcomes.iter().enumerate() {
        let key = format!("new{i}");
        let applied = state.map.contains_key(&key);
        assert!(
            o.is_ok() == applied,
            "{key}: outcome {o:?} but applied = {applied}; state {state:?}"
        );
        assert!(o.is_ok(), "{key}: {o:?}");
    }
    for i in 0..3 {
        assert_eq!(state.map.get(&format!("old{i}")), None);
    }
    c.assert_no_faults();
}

/// A proposal that reached one follower before its leader was cut off is
/// committed by the next leader; the old leader then catches up through
/// a snapshot. It must not be told `Dropped` (not applied): it was.
#[test]

fn proposal_committed_elsewhere_is_not_reported_dropped_after_a_snapshot() {
    let cfg = RaftConfig {
        compact_log_entries: 20,
        ..fast_cfg()
    };
    let c = one_shard_led_by_1(cfg);
    // Node 1 can still send to node 2, but hears nothing back.
    c.cut(2, 1);
    c.cut(3, 1);
    c.cut(1, 3);
    let before = c.router(1).shard_info(1).expect("hosted").last_log_index;
    let mut p = c.propose(1, 1, set("p", "1"));
    let p_index = poll("node 1 to append p", WAIT, || {
        let last = c.router(1).shard_info(1).expect("hosted").last_log_index;
        (last > before).then_some(last)
    });
    poll("node 2 to append p", WAIT, || {
        (c.router(2).shard_info(1).expect("hosted").last_log_index >= p_index).then_some(())
    });
    c.isolate(1, &[2, 3]);
    let new_leader = c.wait_leader(1, &[2, 3]);
    assert_eq!(new_leader, 2, "only node 2 has p, only it can win");
    for i in 0..60 {
        c.put(1, &[2, 3], &format!("k{i}"), "x");
    }
    assert_eq!(c.data(2, 1).map.get("p").map(String::as_str), Some("1"));
    poll("node 2 to compact its log past p", WAIT, || {
        let info = c.router(2).shard_info(1).expect("hosted");
        (info.first_log_index > p_index + 1).then_some(())
    });
    c.heal_all();
    let outcome = wait_outcome("p after healing", &mut p);
    let state = c.wait_converged(1, &ALL);
    assert!(
        c.router(1)
            .stats()
            .snapshots_received
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert_eq!(state.map.get("p").map(String::as_str), Some("1"));
    assert_ne!(
        outcome,
        Err(ProposeError::Dropped),
        "p was applied everywhere but its proposer was told it was dropped"
    );
    c.assert_no_faults();
}

/// While a leader hands its shard over, the new leader may commit writes
/// before the old one hears of it: the old one must stop serving lease
/// reads as soon as the transfer starts.
#[test]

fn no_lease_reads_while_leadership_is_being_transferred() {
    let cfg = RaftConfig {
        tick_ms: 20,
        election_ticks: 25,
        ..fast_cfg()
    };
    let c = one_shard_led_by_1(cfg);
    // Node 2 must be caught up for the transfer to start at once.
    c.wait_converged(1, &ALL);
    poll("a lease on node 1", WAIT, || {
        c.router(1).lease_read_ok(1).then_some(())
    });
    // Node 1 keeps sending but hears nothing back (its answers are slow).
    c.cut(2, 1);
    c.cut(3, 1);
    c.router(1).transfer_leader(1, 2);
    poll("node 2 to lead", WAIT, || {
        let l = c.agreed_leader(1, &[2, 3]);
        if l == Some(2) {
            assert!(
                !c.router(1).lease_read_ok(1),
                "old leader still has a lease"
            );
        }
        (l == Some(2)).then_some(())
    });
    let mut rx = c.propose(2, 1, set("k", "new"));
    wait_outcome("a write on the new leader", &mut rx).expect("applied");
    assert!(
        !c.router(1).lease_read_ok(1),
        "the old leader could serve a stale read of k"
    );
    c.heal_all();
    c.wait_converged(1, &ALL);
    c.assert_no_faults();
}

/// A leader that reads its followers' answers late (as after a SIGSTOP:
/// they sat in its socket while it was stopped) must not count its lease
/// from when it read them. Node 1 is cut off for longer than a lease, so
/// the others may elect a new leader an election timeout after they last
/// heard from it; when the old answers finally arrive, they must not renew
/// the lease (a regression: it used to, and served stale reads while the
/// nemesis' new leader took writes).
#[test]
fn late_answers_do_not_renew_a_lease() {
    let c = one_shard_led_by_1(fast_cfg());
    let election = c.router(1).election_timeout();
    poll("a lease on node 1", WAIT, || {
        c.router(1).lease_read_ok(1).then_some(())
    });
    // Node 1's followers answer, but node 1 does not read their answers
    // (they are held) ...
    for f in [2, 3] {
        c.hold(f, 1);
    }
    poll("answers from both followers held", WAIT, || {
        let held = c.net.held_msgs.lock();
        [2, 3]
            .iter()
            .all(|&f| {
                held.iter().any(|(_, batch)| {
                    batch.iter().any(|(_, m)| {
                        m.from == f && m.get_msg_type() == MessageType::MsgHeartbeatResponse
                    })
                })
            })
            .then_some(())
    });
    // ... and then stops sending: the followers last hear from it now.
    for f in [2, 3] {
        c.cut(1, f);
    }
    let cut_at = Instant::now();
    poll("node 1's lease to end", WAIT, || {
        (!c.router(1).lease_read_ok(1)).then_some(())
    });
    // The fault lasts past the lease (half an election timeout), then the
    // old answers arrive while node 1 still cannot reach anyone.
    let past_lease = election * 3 / 4;
    if let Some(left) = past_lease.checked_sub(cut_at.elapsed()) {
        std::thread::sleep(left);
    }
    c.release_held();
    let released_at = Instant::now();
    while released_at.elapsed() < election / 2 {
        assert!(
            !c.router(1).lease_read_ok(1),
            "answers read {:?} after they were sent renewed the lease",
            cut_at.elapsed()
        );
        std::thread::yield_now();
    }
    c.heal_all();
    poll("a lease again after healing", WAIT, || {
        let l = c.agreed_leader(1, &ALL)?;
        c.router(l).lease_read_ok(1).then_some(())
    });
    c.assert_no_faults();
}

// ---------------------------------------------------------------------
// Anti-entropy
// ---------------------------------------------------------------------

/// Checks every 100 ms (10 ticks).
fn ae_cfg() -> RaftConfig {
    RaftConfig {
        anti_entropy_interval: Some(Duration::from_millis(100)),
        ..fast_cfg()
    }
}

fn stat(c: &Cluster, id: u64, f: impl Fn(&StoreStats) -> &std::sync::atomic::AtomicU64) -> u64 {
    f(c.router(id).stats()).load(std::sync::atomic::Ordering::Relaxed)
}

/// Changes node `id`'s copy of shard 1 behind Raft's back: one value
/// changed, one key removed, one added.
fn corrupt(c: &Cluster, id: u64) {
    let mut view = c.nodes[&id].view.lock();
    let sd = view.get_mut(&1).expect("shard 1 data");
    sd.map.insert("k1".into(), "corrupted".into());
    sd.map.remove("k2");
    sd.map.insert("stray".into(), "x".into());
}

/// Writes `k0..k{n}` and returns what every replica must hold.
fn put_keys(c: &Cluster, n: usize) -> BTreeMap<String, String> {
    let mut expected = c.data(1, 1).map;
    for i in 0..n {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        c.put(1, &ALL, &k, &v);
        expected.insert(k, v);
    }
    expected
}

fn corrupted_replica_is_repaired(victim: u64) {
    let c = one_shard_led_by_1(ae_cfg());
    let mut expected = put_keys(&c, 20);
    c.wait_converged(1, &ALL);
    corrupt(&c, victim);
    poll("the victim to be repaired", WAIT, || {
        (stat(&c, victim, |s| &s.anti_entropy_repairs) >= 1).then_some(())
    });
    // Writes still go through, and the repaired replica gets them.
    for i in 20..30 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        c.put(1, &ALL, &k, &v);
        expected.insert(k, v);
    }
    let state = c.wait_converged(1, &ALL);
    assert_eq!(state.map, expected, "an acknowledged write was lost");
    for id in ALL {
        assert!(
            stat(&c, id, |s| &s.anti_entropy_divergent) >= 1,
            "node {id}"
        );
        assert_eq!(stat(&c, id, |s| &s.anti_entropy_unresolved), 0, "node {id}");
        let local = stat(&c, id, |s| &s.anti_entropy_local_divergent);
        if id == victim {
            assert!(local >= 1, "node {id} never found itself divergent");
        } else {
            assert_eq!(local, 0, "node {id} was not corrupted");
        }
    }
    c.assert_no_faults();
}

#[test]
fn anti_entropy_repairs_a_corrupted_follower_by_snapshot() {
    corrupted_replica_is_repaired(3);
}

#[test]
fn anti_entropy_moves_leadership_off_a_corrupted_leader_and_repairs_it() {
    corrupted_replica_is_repaired(1);
}

#[test]
fn anti_entropy_finds_nothing_while_writes_go_on() {
    let c = one_shard_led_by_1(ae_cfg());
    let before: Vec<u64> = ALL
        .iter()
        .map(|&id| stat(&c, id, |s| &s.anti_entropy_checks))
        .collect();
    // Writes until every node took part in 5 more checks (bounded).
    let mut n = 0;
    while ALL
        .iter()
        .zip(&before)
        .any(|(&id, b)| stat(&c, id, |s| &s.anti_entropy_checks) < b + 5)
    {
        assert!(n < 20_000, "checks did not run while writing");
        c.put(1, &ALL, &format!("w{}", n % 50), &n.to_string());
        n += 1;
    }
    c.wait_converged(1, &ALL);
    for id in ALL {
        for (what, v) in [
            ("divergent", stat(&c, id, |s| &s.anti_entropy_divergent)),
            ("unresolved", stat(&c, id, |s| &s.anti_entropy_unresolved)),
            ("repairs", stat(&c, id, |s| &s.anti_entropy_repairs)),
        ] {
            assert_eq!(v, 0, "node {id}: {what} after {n} writes");
        }
    }
    c.assert_no_faults();
}

#[test]
fn anti_entropy_reports_but_does_not_repair_without_a_majority() {
    let c = Cluster::new(&[1, 2], vec![shard(1, &[1, 2], Some(1))], ae_cfg());
    c.wait_led_by(1, &[1, 2], 1);
    c.put(1, &[1, 2], "k", "v");
    c.wait_converged(1, &[1, 2]);
    c.nodes[&2]
        .view
        .lock()
        .get_mut(&1)
        .expect("shard 1 data")
        .map
        .insert("k".into(), "other".into());
    poll("an unresolved check", WAIT, || {
        [1, 2]
            .iter()
            .all(|&id| stat(&c, id, |s| &s.anti_entropy_unresolved) >= 1)
            .then_some(())
    });
    for id in [1, 2] {
        assert_eq!(stat(&c, id, |s| &s.anti_entropy_repairs), 0, "node {id}");
        assert_eq!(stat(&c, id, |s| &s.anti_entropy_divergent), 0, "node {id}");
    }
    c.assert_no_faults();
}

// ---------------------------------------------------------------------
// Replica moves

#[test]
fn a_replica_moves_to_a_new_node_under_writes_and_the_old_one_is_deleted() {
    // Node 4 hosts nothing at first: shard 1 is bootstrapped on 1, 2, 3.
    let mut c = Cluster::new(
        &[1, 2, 3, 4],
        vec![shard(1, &[1, 2, 3], Some(1))],
        fast_cfg(),
    );
    assert!(
        c.router(4).shard_info(1).is_none(),
        "node 4 bootstrapped a shard it is not a voter of"
    );
    c.wait_leader(1, &[1, 2, 3]);
    for i in 0..50 {
        c.put(1, &[1, 2, 3], &format!("before:{i}"), "v");
    }
    let written = c.change_replicas_under_writes(1, &[1, 2, 3, 4], &[1, 2, 4], "during");
    assert!(!written.is_empty(), "no write went on during the move");

    // Node 4 is a voter with every key; node 3 deleted its replica.
    let info = c.router(4).shard_info(1).expect("node 4 hosts shard 1");
    assert_eq!(info.voters, vec![1, 2, 4]);
    poll("node 3 to delete its replica of shard 1", WAIT, || {
        (c.router(3).shard_info(1).is_none() && !c.nodes[&3].view.lock().contains_key(&1))
            .then_some(())
    });
    let leader = c.wait_leader(1, &[1, 2, 4]);
    let info = c.router(leader).shard_info(1).expect("leader");
    assert_eq!(info.voters, vec![1, 2, 4]);
    assert!(
        info.learners.is_empty(),
        "learners left: {:?}",
        info.learners
    );
    c.put(1, &[1, 2, 4], "after", "v");
    let state = c.wait_converged(1, &[1, 2, 4]);
    for k in (0..50)
        .map(|i| format!("before:{i}"))
        .chain(written)
        .chain(["after".to_string()])
    {
        assert_eq!(
            state.map.get(&k).map(String::as_str),
            Some("v"),
            "{k} lost by the move"
        );
    }

    // A restart of node 3 does not bootstrap the shard again (tombstone).
    c.stop(3);
    c.start(3);
    assert!(
        c.router(3).shard_info(1).is_none(),
        "node 3 brought its removed replica back"
    );
    assert!(!c.nodes[&3].view.lock().contains_key(&1));
    // Node 4 keeps its replica across a restart.
    c.stop(4);
    c.start(4);
    c.put(1, &[1, 2, 4], "after-restart", "v");
    let state = c.wait_converged(1, &[1, 2, 4]);
    assert_eq!(
        state.map.get("after-restart").map(String::as_str),
        Some("v")
    );
    c.assert_no_faults();
}

/// Four nodes; shard 1 on 1, 2, 3, led by node 1, with key `k` written.
fn shard_1_on_three_of_four_nodes() -> Cluster {
    let c = Cluster::new(
        &[1, 2, 3, 4],
        vec![shard(1, &[1, 2, 3], Some(1))],
        fast_cfg(),
    );
    c.wait_led_by(1, &[1, 2, 3], 1);
    c.put(1, &[1, 2, 3], "k", "v");
    c
}

#[test]
fn a_leader_leaving_its_group_hands_leadership_over_first() {
    let c = shard_1_on_three_of_four_nodes();
    let written = c.change_replicas_under_writes(1, &[1, 2, 3, 4], &[2, 3, 4], "during");
    let leader = c.wait_leader(1, &[2, 3, 4]);
    assert_ne!(leader, 1);
    for id in [2, 3, 4] {
        let info = c.router(id).shard_info(1).expect("hosted");
        assert_eq!(info.voters, vec![2, 3, 4], "node {id}");
    }
    poll("node 1 to delete its replica of shard 1", WAIT, || {
        c.router(1).shard_info(1).is_none().then_some(())
    });
    let state = c.wait_converged(1, &[2, 3, 4]);
    for k in written.iter().chain([&"k".to_string()]) {
        assert_eq!(
            state.map.get(k).map(String::as_str),
            Some("v"),
            "{k} lost by the move"
        );
    }
    c.assert_no_faults();
}

#[test]
fn a_leaving_leader_hands_over_to_a_live_voter_when_the_first_one_is_down() {
    // Shard 1 on 1, 2, 3, led by 3, moves to 1, 2, 4 while node 1 is
    // down: the leader must hand over to 2, not to the first staying
    // voter (1), which would never take over (found by the membership
    // test: the move was retried until the node-down drain).
    let mut c = Cluster::new(
        &[1, 2, 3, 4],
        vec![shard(1, &[1, 2, 3], Some(3))],
        fast_cfg(),
    );
    c.wait_led_by(1, &[1, 2, 3], 3);
    c.put(1, &[1, 2, 3], "k", "v");
    c.stop(1);
    // Asked again and again, as the placement driver does, and without
    // writes (so node 1 never lags far enough to look unfit): a leader
    // that picked the dead node would hand over to it at every request.
    poll("the move to finish with node 1 down", WAIT, || {
        if let Some(leader) = c.some_leader(1, &[2, 3, 4]) {
            let mut rx = c.router(leader).change_replicas(1, vec![1, 2, 4]);
            let _ = wait_outcome("a replica change", &mut rx);
        }
        let info = c.router(2).shard_info(1)?;
        (info.voters == [1, 2, 4] && info.learners.is_empty()).then_some(())
    });
    c.put(1, &[2, 4], "after", "v");
    let leader = c.wait_leader(1, &[2, 4]);
    assert_ne!(leader, 3);
    let state = c.wait_converged(1, &[2, 4]);
    for k in ["k", "after"] {
        assert_eq!(state.map.get(k).map(String::as_str), Some("v"), "{k}");
    }
    c.assert_no_faults();
}

#[test]
fn a_replica_change_to_an_unreachable_node_stalls_and_changes_no_voter() {
    let cfg = RaftConfig {
        change_timeout: Duration::from_secs(2),
        ..fast_cfg()
    };
    // Node 9 never runs: it can be added as a learner but never catches up.
    let c = Cluster::new(&[1, 2, 3], vec![shard(1, &[1, 2, 3], Some(1))], cfg);
    c.wait_led_by(1, &[1, 2, 3], 1);
    let mut rx = c.router(1).change_replicas(1, vec![1, 2, 9]);
    match wait_outcome("a stalled replica change", &mut rx) {
        Err(ProposeError::ChangeStalled(why)) => assert!(why.contains("9"), "{why}"),
        other => panic!("expected the change to stall, got {other:?}"),
    }
    let info = c.router(1).shard_info(1).expect("hosted");
    assert_eq!(
        info.voters,
        vec![1, 2, 3],
        "a voter changed for a node that never caught up"
    );
    assert_eq!(info.learners, vec![9]);
    // Asking for the old voters again removes the learner.
    let mut rx = c.router(1).change_replicas(1, vec![1, 2, 3]);
    wait_outcome("undoing the change", &mut rx).expect("undo");
    let info = c.router(1).shard_info(1).expect("hosted");
    assert_eq!((info.voters, info.learners), (vec![1, 2, 3], vec![]));
    c.put(1, &[1, 2, 3], "k", "v");
    c.assert_no_faults();
}

#[test]
fn a_replica_created_by_a_stray_message_removes_itself() {
    let cfg = RaftConfig {
        stray_replica_ticks: 30,
        ..fast_cfg()
    };
    let mut c = Cluster::new(&[1, 2, 3], vec![shard(1, &[1, 2, 3], Some(1))], cfg);
    c.wait_led_by(1, &[1, 2, 3], 1);
    // A heartbeat for shard 7, which no node hosts, "from" node 2.
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgHeartbeat);
    m.from = 2;
    m.to = 3;
    m.term = 8;
    c.router(3).deliver(vec![(7, m)]);
    let info = poll("node 3 to create a replica of shard 7", WAIT, || {
        c.router(3).shard_info(7)
    });
    assert!(
        info.voters.is_empty(),
        "an uninitialised replica has voters: {info:?}"
    );
    assert!(
        !c.router(3).hosts(7),
        "an uninitialised replica counts as hosted"
    );
    assert!(c.router(3).shards().iter().all(|i| i.shard != 7));
    poll("node 3 to remove the stray replica", WAIT, || {
        c.router(3).shard_info(7).is_none().then_some(())
    });
    // Nothing of it comes back on a restart; shard 1 is untouched.
    c.stop(3);
    c.start(3);
    assert!(c.router(3).shard_info(7).is_none());
    c.put(1, &[1, 2, 3], "k", "v");
    c.wait_converged(1, &[1, 2, 3]);
    c.assert_no_faults();
}

#[test]
fn a_replica_added_after_a_snapshot_was_taken_gets_a_fresh_one() {
    // The first move parks a snapshot whose configuration names node 4;
    // the log is not compacted, so it stays usable for node 4, but node 5
    // (added next) would refuse it.
    let c = Cluster::new(
        &[1, 2, 3, 4, 5],
        vec![shard(1, &[1, 2, 3], Some(1))],
        fast_cfg(),
    );
    c.wait_led_by(1, &[1, 2, 3], 1);
    c.put(1, &[1, 2, 3], "k", "v");
    c.change_replicas_under_writes(1, &[1, 2, 3, 4, 5], &[1, 2, 4], "first");
    c.change_replicas_under_writes(1, &[1, 2, 3, 4, 5], &[1, 4, 5], "second");
    let state = c.wait_converged(1, &[1, 4, 5]);
    assert_eq!(state.map.get("k").map(String::as_str), Some("v"));
    c.assert_no_faults();
}

/// Four nodes; shard 1 started on 1, 2, 3 (key `k` written), then moved
/// to 1, 2, 4: node 3 deleted its replica.
fn shard_moved_off_node_3() -> Cluster {
    let c = shard_1_on_three_of_four_nodes();
    c.change_replicas_under_writes(1, &[1, 2, 3, 4], &[1, 2, 4], "move");
    poll("node 3 to delete its replica", WAIT, || {
        c.router(3).shard_info(1).is_none().then_some(())
    });
    c
}

#[test]
fn a_late_message_to_a_removed_replica_does_not_bring_it_back() {
    let c = shard_moved_off_node_3();
    // What the leader sent node 3 just before it applied the removal: a
    // heartbeat committing entries the removed replica had.
    let term = c.router(1).shard_info(1).expect("leader").term;
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgHeartbeat);
    m.from = 1;
    m.to = 3;
    m.term = term;
    m.commit = 20;
    c.router(3).deliver(vec![(1, m)]);
    // Node 3 may create an empty replica for it, but must not be told to
    // commit entries it lacks (raft-rs would panic and the node abort),
    // must not count as hosting the shard, and drops it by itself.
    poll("node 3 to take the message", WAIT, || {
        c.router(3).shard_info(1).map(|_| ())
    });
    assert!(!c.router(3).hosts(1), "the removed replica came back");
    poll("node 3 to drop the stray replica", WAIT, || {
        c.router(3).shard_info(1).is_none().then_some(())
    });
    c.put(1, &[1, 2, 4], "after", "v");
    c.assert_no_faults();
}

#[test]
fn a_node_removed_from_a_shard_can_be_added_back() {
    let c = shard_moved_off_node_3();
    let written = c.change_replicas_under_writes(1, &[1, 2, 3, 4], &[1, 2, 3], "back");
    let state = c.wait_converged(1, &[1, 2, 3]);
    for k in written.iter().chain([&"k".to_string()]) {
        assert_eq!(state.map.get(k).map(String::as_str), Some("v"), "{k}");
    }
    assert_eq!(
        c.router(3).shard_info(1).expect("back").voters,
        vec![1, 2, 3]
    );
    c.assert_no_faults();
}

#[test]
fn a_replica_moved_out_while_its_node_was_down_is_removed_when_told() {
    let mut c = shard_1_on_three_of_four_nodes();
    c.stop(3);
    c.change_replicas_under_writes(1, &[1, 2, 4], &[1, 2, 4], "away");
    c.wait_converged(1, &[1, 2, 4]);
    let newer = c.router(1).shard_info(1).expect("leader").conf_index;
    c.start(3);
    // Back, node 3 never applied its removal: no leader sends to it.
    let stale = c.router(3).shard_info(1).expect("the old replica");
    assert_eq!(stale.voters, vec![1, 2, 3]);
    assert!(
        stale.conf_index >= INIT_INDEX && stale.conf_index < newer,
        "the configuration's index is not kept across the restart: {} (newest {newer})",
        stale.conf_index
    );
    // Told of a configuration no newer than its own: kept. (A request
    // behind it on the same queue answers once it was handled.)
    c.router(3).remove_stale_replica(1, stale.conf_index);
    let mut rx = c.router(3).change_replicas(1, vec![1, 2, 3]);
    let _ = wait_outcome("a change asked of a follower", &mut rx);
    assert!(
        c.router(3).hosts(1),
        "a replica as new as the news was removed"
    );
    // Told of the newer one: removed, and not back after a restart.
    c.router(3).remove_stale_replica(1, newer);
    poll("node 3 to remove its stale replica", WAIT, || {
        c.router(3).shard_info(1).is_none().then_some(())
    });
    c.stop(3);
    c.start(3);
    assert!(c.router(3).shard_info(1).is_none());
    c.put(1, &[1, 2, 4], "after", "v");
    c.assert_no_faults();
}
