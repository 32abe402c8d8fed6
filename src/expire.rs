//! # Active expiry: the sweeper
//!
//! Reads treat an expired key as absent, but its record stays on disk until
//! something deletes it. The sweeper does: a background task that, every
//! `--expire-sweep-ms` (0 turns it off), walks the metadata records of each
//! shard this node **leads** and proposes the deletion of the expired ones
//! through Raft, as Redis propagates a DEL for each key it expires. Every
//! replica applies the same deletions at the same log position.
//!
//! ## Why a conditional delete
//! Between the walk and the apply, a client may write the key again. So the
//! sweeper does not propose DEL but the internal command
//! `__expire-if-due key…` (`crate::cmd::keys`), which deletes a key only if
//! its record is still expired at the proposal's timestamp. Clients cannot
//! send it: dispatch answers "unknown command" to every `__` name.
//!
//! ## Cost
//! There is no secondary expiry index: the sweeper walks every metadata
//! record of the shard in turn, [`RECORDS_PER_STEP`] per step, resuming
//! where the last step stopped (in memory; a restart or a new leader starts
//! over, which is harmless). A full pass over a shard of N keys takes about
//! N / RECORDS_PER_STEP ticks, so an expired key is reclaimed within one
//! pass (about 20 s for a million keys per shard at the default 100 ms),
//! and the walk costs O(N) reads per pass whether or not keys expire. While
//! a step keeps finding expired keys, the sweeper runs more steps in the
//! same tick (up to [`STEPS_PER_TICK`]). An index keyed by expire time would
//! make this O(expired keys); it is left for when the pass time matters.
//!
//! The number of records removed is counted in `expired_keys` (INFO stats)
//! on the leader that proposed them.
//!
//! ## Stale subkeys
//! Deleting, overwriting or expiring a collection is O(1): its subkeys keep
//! the old version and become unreachable (`keyspace::collection`). The
//! same task also walks each led shard's subkeys, one `(key, version)`
//! group at a time ([`GROUPS_PER_STEP`] per tick), and proposes
//! `__sweep-subkeys key version…` for groups no live record owns; apply
//! checks again and deletes at most 10,000 subkeys per entry, so a huge
//! collection is reclaimed over several bounded entries.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redraft_cluster::{ProposeError, ShardId};
use redraft_resp::Reply;

use crate::cmd::keys::{EXPIRE_IF_DUE, SWEEP_SUBKEYS};
use crate::keyspace::collection::{stale_step, StaleStep};
use crate::keyspace::scan::{sweep_step, SweepPosition, SweepStep};
use crate::node::{Node, Stats};
use crate::proposal::Proposal;

/// Metadata records looked at per shard per step.
pub const RECORDS_PER_STEP: usize = 5_000;
/// Keys deleted by one proposal (one step), at most.
pub const KEYS_PER_STEP: usize = 1_000;
/// Steps per shard per tick while steps keep finding a full batch.
pub const STEPS_PER_TICK: usize = 8;
/// Subkey groups (and slots) looked at per shard per tick by the
/// stale-subkey walk.
pub const GROUPS_PER_STEP: usize = 2_000;
/// Stale groups proposed for deletion per shard per tick, at most.
pub const STALE_GROUPS_PER_STEP: usize = 200;

/// Most ticks skipped after sweeps that deleted nothing.
const MAX_IDLE_SKIP: u32 = 9;

/// Starts the sweeper on the current tokio runtime, unless
/// `expire_sweep_ms` is 0.
pub fn spawn(node: Arc<Node>) -> Option<tokio::task::JoinHandle<()>> {
    let ms = node.config.expire_sweep_ms;
    (ms > 0).then(|| tokio::spawn(run(node, Duration::from_millis(ms))))
}

async fn run(node: Arc<Node>, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweeper = Sweeper::default();
    // Ticks that delete nothing back off (1, 3, 7, then at most 9 ticks
    // skipped): an idle walk of every led shard costs real CPU, and an
    // expired key is already invisible to reads (checked on access), so a
    // later sweep only delays reclaiming its space.
    let mut idle = 0u32;
    let mut skip = 0u32;
    loop {
        ticker.tick().await;
        if skip > 0 {
            skip -= 1;
            continue;
        }
        match sweeper.tick(&node).await {
            Err(Stopped) => {
                tracing::debug!("expiry sweeper stops: the Raft store stopped");
                return;
            }
            Ok(0) => {
                idle = (idle + 1).min(4);
                skip = ((1u32 << idle) - 1).min(MAX_IDLE_SKIP);
            }
            Ok(_) => idle = 0,
        }
    }
}

/// The sweeper's state: where each led shard's walk resumes.
#[derive(Default)]
pub struct Sweeper {
    positions: HashMap<ShardId, SweepPosition>,
    /// Where each led shard's stale-subkey walk resumes.
    stale_positions: HashMap<ShardId, Option<Vec<u8>>>,
}

/// The Raft store is gone: the node is shutting down.
#[derive(Debug)]
pub struct Stopped;

impl Sweeper {
    /// One tick: some steps on every shard this node leads. Returns the
    /// number of expired keys and stale subkeys deleted: the idle backoff
    /// in `run` must not slow down the sweep of a deleted collection,
    /// which deletes subkeys only (a million of them take 100 ticks).
    pub async fn tick(&mut self, node: &Arc<Node>) -> Result<u64, Stopped> {
        let shards = node.slots.read().shards();
        let mut deleted = 0;
        for shard in shards {
            if !node.raft.is_leader(shard) {
                // Another node sweeps it; start over if we lead it again.
                self.positions.remove(&shard);
                self.stale_positions.remove(&shard);
                continue;
            }
            deleted += self.sweep_stale_subkeys(node, shard).await?;
            for _ in 0..STEPS_PER_TICK {
                let from = self.positions.get(&shard).cloned().flatten();
                let step = match walk(node, shard, from).await {
                    Ok(step) => step,
                    Err(e) => {
                        tracing::warn!(shard, "expiry sweep cannot read the engine: {e}");
                        break;
                    }
                };
                self.positions.insert(shard, step.next.clone());
                let full = step.expired.len() >= KEYS_PER_STEP;
                if !step.expired.is_empty() {
                    deleted += propose(node, shard, step.expired).await?;
                }
                if !full {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}

impl Sweeper {
    /// One step of the stale-subkey walk of `shard`, and the proposal of
    /// what it found. Returns the number of subkeys deleted.
    async fn sweep_stale_subkeys(
        &mut self,
        node: &Arc<Node>,
        shard: ShardId,
    ) -> Result<u64, Stopped> {
        let from = self.stale_positions.get(&shard).cloned().flatten();
        let walker = node.clone();
        let step = tokio::task::spawn_blocking(move || {
            let ranges = walker.slots.read().ranges_of(shard);
            stale_step(
                walker.engine.as_ref(),
                &ranges,
                &from,
                crate::clock::now_ms(),
                GROUPS_PER_STEP,
                STALE_GROUPS_PER_STEP,
            )
        })
        .await;
        let step: StaleStep = match step {
            Ok(Ok(step)) => step,
            Ok(Err(e)) => {
                tracing::warn!(shard, "subkey sweep cannot read the engine: {e}");
                return Ok(0);
            }
            Err(e) => {
                tracing::warn!(shard, "subkey sweep task failed: {e}");
                return Ok(0);
            }
        };
        self.stale_positions.insert(shard, step.next);
        if step.stale.is_empty() {
            return Ok(0);
        }
        let mut cmd = vec![Bytes::from_static(SWEEP_SUBKEYS.as_bytes())];
        for (key, version) in step.stale {
            cmd.push(Bytes::from(key));
            cmd.push(Bytes::from(version.to_string()));
        }
        let data = Proposal::new(vec![cmd]).encode();
        match node.raft.propose_wait(shard, data).await {
            Ok(Reply::Integer(n)) => {
                let n = n.max(0) as u64;
                metrics::counter!("redraft_stale_subkeys_swept_total").increment(n);
                Ok(n)
            }
            Ok(other) => {
                tracing::warn!(shard, "subkey sweep proposal answered {other:?}");
                Ok(0)
            }
            Err(ProposeError::Stopped) => Err(Stopped),
            Err(e) => {
                tracing::debug!(shard, "subkey sweep proposal failed: {e}");
                Ok(0)
            }
        }
    }
}

/// One step of the walk, off the async threads (engine reads block).
async fn walk(node: &Arc<Node>, shard: ShardId, from: SweepPosition) -> std::io::Result<SweepStep> {
    let node = node.clone();
    tokio::task::spawn_blocking(move || {
        let ranges = node.slots.read().ranges_of(shard);
        let now = crate::clock::now_ms();
        sweep_step(
            node.engine.as_ref(),
            &ranges,
            &from,
            now,
            RECORDS_PER_STEP,
            KEYS_PER_STEP,
        )
        .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Proposes the conditional deletion of `keys` to `shard` and waits for it;
/// returns how many records were removed.
async fn propose(node: &Arc<Node>, shard: ShardId, keys: Vec<Vec<u8>>) -> Result<u64, Stopped> {
    let mut cmd = Vec::with_capacity(keys.len() + 1);
    cmd.push(Bytes::from_static(EXPIRE_IF_DUE.as_bytes()));
    cmd.extend(keys.into_iter().map(Bytes::from));
    let data = Proposal::new(vec![cmd]).encode();
    match node.raft.propose_wait(shard, data).await {
        Ok(Reply::Integer(n)) => {
            let n = n.max(0) as u64;
            Stats::incr(&node.stats.expired_keys, n);
            metrics::counter!("redraft_expired_keys_total").increment(n);
            Ok(n)
        }
        Ok(other) => {
            tracing::warn!(shard, "expiry sweep proposal answered {other:?}");
            Ok(0)
        }
        Err(ProposeError::Stopped) => Err(Stopped),
        // Lost leadership or the entry: the next tick decides again.
        Err(e) => {
            tracing::debug!(shard, "expiry sweep proposal failed: {e}");
            Ok(0)
        }
    }
}

/// How many keys the sweeper has deleted on this node.
pub fn expired_keys(node: &Node) -> u64 {
    node.stats.expired_keys.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::Config;
    use crate::keyspace::{self, Overlay};

    fn open_node(dir: &std::path::Path) -> Arc<Node> {
        let dir = dir.to_str().unwrap();
        let config = Config::parse_from([
            "redraft",
            "--dir",
            dir,
            "--engine",
            "memory",
            "--shards",
            "3",
            "--raft-tick-ms",
            "10",
            "--expire-sweep-ms",
            "0",
        ]);
        Node::open(config).unwrap()
    }

    async fn wait_leading(node: &Node) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !node
            .slots
            .read()
            .shards()
            .iter()
            .all(|&s| node.raft.is_leader(s))
        {
            assert!(std::time::Instant::now() < deadline, "no leader after 20 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Writes records straight into the engine (as if applied long ago).
    fn put(node: &Node, keys: &[(String, u64)]) {
        let mut ov = Overlay::new(node.engine.as_ref());
        for (k, at) in keys {
            keyspace::set_string(&mut ov, k.as_bytes(), b"v".to_vec(), *at);
        }
        node.engine.write(ov.into_batch()).unwrap();
    }

    fn records(node: &Node) -> usize {
        node.engine
            .scan(keyspace::all_data_range())
            .filter(|r| {
                r.as_ref()
                    .is_ok_and(|(k, _)| keyspace::user_key_of(k).is_some())
            })
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sweeps_expired_records_of_every_led_shard() {
        let dir = tempfile::tempdir().unwrap();
        let node = open_node(dir.path());
        wait_leading(&node).await;
        let now = crate::clock::now_ms();
        let mut keys: Vec<(String, u64)> =
            (0..2_500).map(|i| (format!("dead:{i}"), now - 1)).collect();
        keys.extend((0..50).map(|i| (format!("live:{i}"), 0)));
        keys.extend((0..50).map(|i| (format!("later:{i}"), now + 3_600_000)));
        put(&node, &keys);
        assert_eq!(records(&node), 2_600);
        let mut sweeper = Sweeper::default();
        let mut deleted = 0;
        for _ in 0..10 {
            deleted += sweeper.tick(&node).await.unwrap();
            if records(&node) == 100 {
                break;
            }
        }
        assert_eq!(records(&node), 100, "only live keys remain");
        assert_eq!(deleted, 2_500);
        assert_eq!(expired_keys(&node), 2_500);
        node.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_written_again_is_not_swept() {
        let dir = tempfile::tempdir().unwrap();
        let node = open_node(dir.path());
        wait_leading(&node).await;
        let now = crate::clock::now_ms();
        put(&node, &[("k".to_string(), now - 1)]);
        // The sweeper saw `k` expired; then a client wrote it again, before
        // the sweeper's proposal reached the log.
        let shard = node.shard_of_key(b"k").unwrap();
        let data = Proposal::new(vec![vec![
            Bytes::from("SET"),
            Bytes::from("k"),
            Bytes::from("new"),
        ]])
        .encode();
        assert_eq!(
            node.raft.propose_wait(shard, data).await.unwrap(),
            Reply::ok()
        );
        assert_eq!(propose(&node, shard, vec![b"k".to_vec()]).await.unwrap(), 0);
        assert_eq!(
            keyspace::get_string(node.engine.as_ref(), b"k", crate::clock::now_ms()).unwrap(),
            Some(b"new".to_vec())
        );
        node.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sweeps_stale_subkeys_and_keeps_live_ones() {
        use crate::keyspace::collection::{save, Collection};
        use crate::keyspace::KeyType;
        let dir = tempfile::tempdir().unwrap();
        let node = open_node(dir.path());
        wait_leading(&node).await;
        let subkeys = |node: &Node| {
            node.engine
                .scan(keyspace::all_data_range())
                .filter(|r| r.as_ref().is_ok_and(|(k, _)| k[2] == keyspace::NS_SUB))
                .count()
        };
        // 40 collections of 300 members; every other one then deleted (its
        // record removed, as DEL does), across the three shards.
        let mut ov = Overlay::new(node.engine.as_ref());
        for i in 0..40u64 {
            let key = format!("set:{i}");
            let mut c = Collection::new(KeyType::Set, (i + 1) << 20);
            for m in 0..300 {
                ov.put(
                    c.subkey(key.as_bytes(), format!("{m}").as_bytes()),
                    Vec::new(),
                );
            }
            c.size = 300;
            if i % 2 == 0 {
                save(&mut ov, key.as_bytes(), &c);
            }
        }
        node.engine.write(ov.into_batch()).unwrap();
        assert_eq!(subkeys(&node), 12_000);
        let mut sweeper = Sweeper::default();
        let mut deleted = 0;
        for _ in 0..50 {
            deleted += sweeper.tick(&node).await.unwrap();
            if subkeys(&node) == 6_000 {
                break;
            }
        }
        assert_eq!(
            subkeys(&node),
            6_000,
            "only the live collections' subkeys remain"
        );
        assert_eq!(records(&node), 20);
        // Counted, so that the sweeper does not back off as if idle while
        // it still finds stale subkeys.
        assert_eq!(deleted, 6_000, "ticks report the subkeys they swept");
        node.shutdown();
    }
}
