//! # Slot migration between shards on different replicas
//!
//! `CLUSTER MIGRATE <slot> <shard>` moves one slot's keys from the shard
//! owning it (the source, `A`) to another shard (the target, `B`) while
//! clients keep working, with Redis Cluster's redirects: the source serves
//! the keys it still has and answers `-ASK` for the others, the target
//! serves the slot to a client that sent `ASKING` just before, a command
//! whose keys are partly moved gets `-TRYAGAIN`, and once the slot is the
//! target's every node answers `-MOVED` to it. The protocol and why it
//! looks this way are in `docs/architecture/migration.md`; in short:
//!
//! - The migration is recorded in the cluster map (`Migration`), and in
//!   both shards' own logs: `OUT` in the source's, `IN` in the target's.
//!   So every replica decides redirects the same way, at apply.
//! - Keys move in batches. `KEYS` (source's log) serializes the batch's
//!   keys (DUMP format) into *moving* records inside the slot (namespace
//!   [`NS_MOVING`], carried by snapshots) and deletes them; `IMPORT`
//!   (target's log) writes them, once per batch (a batch id at or below
//!   the last imported one changes nothing, so a driver that lost its
//!   leadership cannot import an old batch over newer writes); `ACK`
//!   (source's log) drops the batch's moving records. A key whose record
//!   is moving gets `-TRYAGAIN` at the source until its batch is acked,
//!   and `-ASK` after.
//! - The source never creates a key in the migrating slot: a command
//!   whose keys are all absent gets `-ASK`. So its keys only go, and when
//!   none is left (and nothing is moving) the map gives the slot to the
//!   target and `DONE` ends the migration in both logs.
//! - Both shards' engines are on different nodes (the command refuses
//!   shards that share one, and replicas of shards in a migration do not
//!   move until it ends): one node's engine never holds both shards' keys
//!   of the slot.
//!
//! The entries are a command that is not in the command table
//! ([`COMMAND`]): clients cannot send it; the migration driver (on the
//! source's leader, `crate::membership`) proposes it, to the target
//! through the cluster bus.

use std::io;

use bytes::Bytes;
use redraft_cluster::{key_slot, ShardId, Slot, SlotRange};
use redraft_resp::Reply;

use crate::engine::KeyRange;
use crate::keyspace::{self, rdb, system_key, KvRead, Overlay};
use crate::proposal::Proposal;

/// The migration entries' command name (`__redraft.migrate <step> …`).
pub const COMMAND: &[u8] = b"__redraft.migrate";

/// Namespace byte after the slot: a key being moved (its serialized value,
/// until the target imported it). See the module docs.
pub const NS_MOVING: u8 = 0x04;

/// The source side: this shard's keys of `slot` go to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub slot: Slot,
    pub to: ShardId,
}

/// The target side: `slot` comes from `from`; `last_batch` is the last
/// batch imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub slot: Slot,
    pub from: ShardId,
    pub last_batch: u64,
}

/// A shard's part in migrations: replicated state (applied from its log,
/// carried by its snapshots).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub out: Option<Outgoing>,
    pub inc: Option<Incoming>,
}

/// The system key holding a shard's [`State`].
pub fn state_key(shard: ShardId) -> Vec<u8> {
    let mut name = b"migration/".to_vec();
    name.extend_from_slice(&shard.to_be_bytes());
    system_key(&name)
}

impl State {
    pub fn is_empty(&self) -> bool {
        self.out.is_none() && self.inc.is_none()
    }

    /// `[has out][slot][to][has in][slot][from][last batch]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(30);
        let out = self.out.unwrap_or(Outgoing { slot: 0, to: 0 });
        v.push(u8::from(self.out.is_some()));
        v.extend_from_slice(&out.slot.to_be_bytes());
        v.extend_from_slice(&out.to.to_be_bytes());
        let inc = self.inc.unwrap_or(Incoming {
            slot: 0,
            from: 0,
            last_batch: 0,
        });
        v.push(u8::from(self.inc.is_some()));
        v.extend_from_slice(&inc.slot.to_be_bytes());
        v.extend_from_slice(&inc.from.to_be_bytes());
        v.extend_from_slice(&inc.last_batch.to_be_bytes());
        v
    }

    pub fn decode(b: &[u8]) -> Option<State> {
        if b.len() != 30 {
            return None;
        }
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u64_at = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Some(State {
            out: (b[0] == 1).then(|| Outgoing {
                slot: u16_at(1),
                to: u64_at(3),
            }),
            inc: (b[11] == 1).then(|| Incoming {
                slot: u16_at(12),
                from: u64_at(14),
                last_batch: u64_at(22),
            }),
        })
    }

    /// The state of `shard` as stored (empty if none).
    pub fn read(kv: &(impl KvRead + ?Sized), shard: ShardId) -> io::Result<State> {
        Ok(kv
            .get(&state_key(shard))?
            .and_then(|v| State::decode(&v))
            .unwrap_or_default())
    }
}

/// The local shards' non-empty migration states, as applied (shared by
/// the state machine with the node's request path).
pub type Shared = std::sync::Arc<parking_lot::RwLock<std::collections::HashMap<ShardId, State>>>;

/// Records `shard`'s state as applied.
pub fn publish(shared: &Shared, shard: ShardId, state: &State) {
    if shared.read().get(&shard) == Some(state).filter(|s| !s.is_empty()) {
        return;
    }
    let mut map = shared.write();
    if state.is_empty() {
        map.remove(&shard);
    } else {
        map.insert(shard, *state);
    }
}

/// The moving record of `key` in `slot`.
pub fn moving_key(slot: Slot, key: &[u8]) -> Vec<u8> {
    let mut k = slot.to_be_bytes().to_vec();
    k.push(NS_MOVING);
    k.extend_from_slice(key);
    k
}

/// Every moving record of `slot`.
pub fn moving_range(slot: Slot) -> KeyRange {
    let mut start = slot.to_be_bytes().to_vec();
    start.push(NS_MOVING);
    let mut end = slot.to_be_bytes().to_vec();
    end.push(NS_MOVING + 1);
    (
        std::ops::Bound::Included(start),
        std::ops::Bound::Excluded(end),
    )
}

/// A moving record's value: `[batch][expire_at_ms][DUMP payload]`.
fn moving_value(batch: u64, expire_at_ms: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + payload.len());
    v.extend_from_slice(&batch.to_be_bytes());
    v.extend_from_slice(&expire_at_ms.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// One moving record: `(user key, batch, expire_at_ms, payload)`.
pub type Moving = (Vec<u8>, u64, u64, Vec<u8>);

/// The moving records of `slot`, in key order.
pub fn moving(kv: &(impl KvRead + ?Sized), slot: Slot) -> io::Result<Vec<Moving>> {
    let mut out = Vec::new();
    for pair in kv.scan(moving_range(slot)) {
        let (k, v) = pair?;
        if v.len() < 16 || k.len() < 3 {
            continue;
        }
        let batch = u64::from_be_bytes(v[..8].try_into().unwrap_or_default());
        let expire = u64::from_be_bytes(v[8..16].try_into().unwrap_or_default());
        out.push((k[3..].to_vec(), batch, expire, v[16..].to_vec()));
    }
    Ok(out)
}

/// What a command in a migrating slot gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Run it here.
    Run,
    /// `-ASK`: its keys are all gone to the target.
    Ask,
    /// `-TRYAGAIN`: some keys moved and some not, or one is moving now.
    TryAgain,
}

/// At the source: run while every key is here, ASK when none is, and
/// TRYAGAIN when some are or one is being moved.
pub fn source_verdict(
    kv: &(impl KvRead + ?Sized),
    slot: Slot,
    keys: &[&[u8]],
    now_ms: u64,
) -> io::Result<Verdict> {
    let (mut here, mut gone) = (0, 0);
    for key in keys {
        if kv.get(&moving_key(slot, key))?.is_some() {
            return Ok(Verdict::TryAgain);
        }
        match keyspace::read_meta(kv, key, now_ms) {
            Ok(Some(_)) => here += 1,
            Ok(None) => gone += 1,
            Err(keyspace::KsError::Io(e)) => return Err(e),
            Err(_) => here += 1,
        }
    }
    Ok(match (here, gone) {
        (_, 0) => Verdict::Run,
        (0, _) => Verdict::Ask,
        _ => Verdict::TryAgain,
    })
}

/// At the target (after ASKING): a command naming several keys runs only
/// when all of them are here, as Redis answers TRYAGAIN for an importing
/// slot; a single key always runs.
pub fn target_verdict(
    kv: &(impl KvRead + ?Sized),
    keys: &[&[u8]],
    now_ms: u64,
) -> io::Result<Verdict> {
    if keys.len() < 2 {
        return Ok(Verdict::Run);
    }
    for key in keys {
        match keyspace::read_meta(kv, key, now_ms) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(Verdict::TryAgain),
            Err(keyspace::KsError::Io(e)) => return Err(e),
            Err(_) => {}
        }
    }
    Ok(Verdict::Run)
}

/// The keys `args` names (by the command table), all of them.
pub fn keys_of(args: &[Bytes]) -> Vec<Bytes> {
    crate::cmd::lookup(&args[0])
        .map(|spec| {
            let spec = crate::cmd::table::resolve_subcommand(spec, args);
            spec.key_indexes(args)
                .into_iter()
                .map(|i| args[i].clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The reply a source's apply gives for ASK: the dispatcher turns `@shard`
/// into the target leader's address ([`ask_reply`]).
fn ask_marker(slot: Slot, to: ShardId) -> Reply {
    Reply::error(format!("ASK {slot} @{to}"))
}

/// TRYAGAIN as Redis words it for a slot being migrated.
pub fn tryagain() -> Reply {
    Reply::error("TRYAGAIN Multiple keys request during rehashing of slot")
}

/// `-ASK <slot> <addr>` for an ASK marker from apply, given the address of
/// a shard's leader; other replies pass unchanged.
pub fn ask_reply(reply: Reply, addr_of: impl Fn(ShardId) -> Option<String>) -> Reply {
    let Reply::Error(text) = &reply else {
        return reply;
    };
    let Some(rest) = text.strip_prefix("ASK ") else {
        return reply;
    };
    let Some((slot, shard)) = rest.split_once(" @") else {
        return reply;
    };
    match shard.parse().ok().and_then(&addr_of) {
        Some(addr) => Reply::error(format!("ASK {slot} {addr}")),
        None => Reply::error("TRYAGAIN The slot's target shard has no known leader, retry"),
    }
}

/// Whether a proposal is a migration entry.
pub fn is_entry(p: &Proposal) -> bool {
    p.tx.is_none()
        && p.commands.len() == 1
        && p.commands[0]
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(COMMAND))
}

/// The redirect a client command gets at apply from the shard's migration
/// state, or `None` to run it.
pub fn check(
    kv: &(impl KvRead + ?Sized),
    state: &State,
    p: &Proposal,
) -> io::Result<Option<Reply>> {
    if state.is_empty() {
        return Ok(None);
    }
    let keys: Vec<Bytes> = p.commands.iter().flat_map(|c| keys_of(c)).collect();
    let inside = |slot: Slot| -> Vec<&[u8]> {
        keys.iter()
            .filter(|k| key_slot(k) == slot)
            .map(|k| &k[..])
            .collect()
    };
    if let Some(out) = state.out {
        let inside = inside(out.slot);
        if !inside.is_empty() {
            return Ok(match source_verdict(kv, out.slot, &inside, p.time_ms)? {
                Verdict::Run => None,
                Verdict::Ask => Some(ask_marker(out.slot, out.to)),
                Verdict::TryAgain => Some(tryagain()),
            });
        }
    }
    if let Some(inc) = state.inc {
        let inside = inside(inc.slot);
        if target_verdict(kv, &inside, p.time_ms)? == Verdict::TryAgain {
            return Ok(Some(tryagain()));
        }
    }
    Ok(None)
}

fn arg_u64(args: &[Bytes], i: usize) -> Option<u64> {
    std::str::from_utf8(args.get(i)?).ok()?.parse().ok()
}

fn arg_slot(args: &[Bytes], i: usize) -> Option<Slot> {
    arg_u64(args, i)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|&s| s < redraft_cluster::SLOT_COUNT)
}

fn owns(ranges: &[SlotRange], slot: Slot) -> bool {
    ranges.iter().any(|r| r.contains(slot))
}

/// Applies a migration entry of `shard` at `index` (see the module docs
/// for the steps). Changes `state` and `ranges`, which the caller stores
/// with the batch. Deterministic.
pub fn apply(
    ov: &mut Overlay<'_>,
    state: &mut State,
    ranges: &mut Vec<SlotRange>,
    index: u64,
    now_ms: u64,
    args: &[Bytes],
) -> Reply {
    let step = args
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_uppercase())
        .unwrap_or_default();
    let Some(slot) = arg_slot(args, 2) else {
        return Reply::error("ERR migration entry without a slot");
    };
    match step.as_str() {
        "OUT" => {
            let Some(to) = arg_u64(args, 3) else {
                return Reply::error("ERR OUT without a target");
            };
            match state.out {
                Some(o) if o == (Outgoing { slot, to }) => Reply::ok(),
                Some(o) => Reply::error(format!("ERR slot {} is already migrating", o.slot)),
                None if !owns(ranges, slot) => {
                    Reply::error(format!("ERR slot {slot} is not this shard's"))
                }
                None => {
                    state.out = Some(Outgoing { slot, to });
                    Reply::ok()
                }
            }
        }
        "IN" => {
            let Some(from) = arg_u64(args, 3) else {
                return Reply::error("ERR IN without a source");
            };
            match state.inc {
                Some(i) if i.slot == slot && i.from == from => Reply::ok(),
                Some(i) => Reply::error(format!("ERR slot {} is already importing", i.slot)),
                None => {
                    if !owns(ranges, slot) {
                        ranges.push(SlotRange::new(slot, slot));
                        ranges.sort();
                    }
                    state.inc = Some(Incoming {
                        slot,
                        from,
                        last_batch: 0,
                    });
                    Reply::ok()
                }
            }
        }
        "KEYS" => {
            if state.out.map(|o| o.slot) != Some(slot) {
                return Reply::error(format!("ERR slot {slot} is not migrating out"));
            }
            let mut moved = 0;
            for key in &args[3..] {
                if key_slot(key) != slot {
                    continue;
                }
                let r = (|| -> keyspace::KsResult<bool> {
                    if ov.get(&moving_key(slot, key))?.is_some() {
                        return Ok(false);
                    }
                    let Some(meta) = keyspace::read_meta(&*ov, key, now_ms)? else {
                        return Ok(false);
                    };
                    let Some(obj) = rdb::read_object(&*ov, key, now_ms)? else {
                        return Ok(false);
                    };
                    let payload = rdb::encode(&obj);
                    keyspace::delete_key(ov, key, now_ms)?;
                    ov.put(
                        moving_key(slot, key),
                        moving_value(index, meta.expire_at_ms, &payload),
                    );
                    Ok(true)
                })();
                match r {
                    Ok(true) => moved += 1,
                    Ok(false) => {}
                    Err(e) => return e.into(),
                }
            }
            Reply::Integer(moved)
        }
        "IMPORT" => {
            let (Some(inc), Some(batch)) = (state.inc, arg_u64(args, 3)) else {
                return Reply::error(format!("ERR slot {slot} is not importing"));
            };
            if inc.slot != slot {
                return Reply::error(format!("ERR slot {slot} is not importing"));
            }
            if batch <= inc.last_batch {
                // Already imported (a retry, or an old driver): nothing.
                return Reply::Integer(0);
            }
            let mut n = 0u64;
            for (i, triple) in args[4..].chunks_exact(3).enumerate() {
                let (key, expire, payload) = (&triple[0], &triple[1], &triple[2]);
                let Some(expire) = std::str::from_utf8(expire)
                    .ok()
                    .and_then(|e| e.parse::<u64>().ok())
                else {
                    return Reply::error("ERR bad expiry in IMPORT");
                };
                if key_slot(key) != slot {
                    continue;
                }
                if expire != 0 && expire <= now_ms {
                    // Expired on the way: nothing to create.
                    if let Err(e) = keyspace::delete_key(ov, key, now_ms) {
                        return e.into();
                    }
                    continue;
                }
                let obj = match rdb::decode(payload) {
                    Ok(o) => o,
                    Err(e) => return Reply::error(e.text()),
                };
                let version = (index << 20) | (i as u64 & 0xF_FFFF);
                if let Err(e) = rdb::write_object(ov, key, &obj, expire, now_ms, version) {
                    return e.into();
                }
                n += 1;
            }
            state.inc = Some(Incoming {
                last_batch: batch,
                ..inc
            });
            Reply::Integer(n as i64)
        }
        "ACK" => {
            let Some(batch) = arg_u64(args, 3) else {
                return Reply::error("ERR ACK without a batch");
            };
            let records = match moving(&*ov, slot) {
                Ok(r) => r,
                Err(e) => return keyspace::KsError::from(e).into(),
            };
            let mut n = 0;
            for (key, b, _, _) in records {
                if b == batch {
                    ov.delete(moving_key(slot, &key));
                    n += 1;
                }
            }
            Reply::Integer(n)
        }
        "DONE" => {
            if state.out.map(|o| o.slot) == Some(slot) {
                let left = keyspace::count_keys_in_slot(&*ov, slot, now_ms)
                    .map_err(Reply::from)
                    .and_then(|n| {
                        moving(&*ov, slot)
                            .map(|m| n + m.len() as u64)
                            .map_err(|e| keyspace::KsError::from(e).into())
                    });
                match left {
                    Ok(0) => {}
                    Ok(n) => return Reply::error(format!("ERR {n} keys of slot {slot} left")),
                    Err(e) => return e,
                }
                // Expired records and bookkeeping go with the slot.
                let range = SlotRange::new(slot, slot);
                if let Err(e) = ov.delete_range(keyspace::slots_key_range(range)) {
                    return keyspace::KsError::from(e).into();
                }
                *ranges = redraft_cluster::slots::subtract_ranges(ranges, &[range]);
                state.out = None;
            }
            if state.inc.map(|i| i.slot) == Some(slot) {
                state.inc = None;
            }
            Reply::ok()
        }
        _ => Reply::error(format!("ERR unknown migration step '{step}'")),
    }
}

/// A migration entry for a shard's log.
pub fn entry(step: &str, slot: Slot, rest: Vec<Bytes>) -> Vec<u8> {
    let mut args = vec![
        Bytes::from_static(COMMAND),
        Bytes::from(step.to_string()),
        Bytes::from(slot.to_string()),
    ];
    args.extend(rest);
    Proposal::new(vec![args]).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        for s in [
            State::default(),
            State {
                out: Some(Outgoing { slot: 7, to: 9 }),
                inc: None,
            },
            State {
                out: Some(Outgoing { slot: 16383, to: 2 }),
                inc: Some(Incoming {
                    slot: 5,
                    from: 3,
                    last_batch: 77,
                }),
            },
        ] {
            assert_eq!(State::decode(&s.encode()), Some(s));
        }
        assert_eq!(State::decode(b"short"), None);
    }

    #[test]
    fn ask_markers_become_addresses() {
        let addr = |s: ShardId| (s == 4).then(|| "127.0.0.1:7004".to_string());
        assert_eq!(
            ask_reply(ask_marker(12, 4), addr),
            Reply::error("ASK 12 127.0.0.1:7004")
        );
        assert!(matches!(
            ask_reply(ask_marker(12, 5), addr),
            Reply::Error(e) if e.starts_with("TRYAGAIN")
        ));
        assert_eq!(ask_reply(Reply::ok(), addr), Reply::ok());
    }
}
