//! # The keyspace: Redis types over an ordered key/value engine
//!
//! Typed operations (get a string, set an expiry, delete a key, …) over any
//! [`KvRead`] view. Commands are thin adapters over these functions; nothing
//! here knows RESP.
//!
//! ## Byte layout (kvrocks-style; these numbers never change)
//!
//! ```text
//! metadata key   [slot: u16 BE][0x00][user key]
//! metadata value [type: u8][expire_at_ms: u64 BE, 0 = none][version: u64 BE][payload]
//!                  string:      payload = the value; version = how it was written
//!                               (OBJECT ENCODING: `string::Encoding`, 0 = from the value)
//!                  collections: payload = [size: u64 BE] (elements live in subkeys)
//! subkey         [slot: u16 BE][0x01][user key len: u32 BE][user key][version: u64 BE][sub…]
//! stamp          [slot: u16 BE][0x02][user key]  → [raft index: u64 BE]
//! slot deletion  [slot: u16 BE][0x03]            → [raft index: u64 BE] (greatest stamp deleted)
//! system key     [0xFF][name…]           (outside the slot space: slots are < 0x4000)
//! ```
//!
//! Stamps serve WATCH: the apply overlay writes a key's stamp whenever its
//! metadata record, or a subkey of its live version, is written, and
//! removes it with the record; deleting a record also raises the slot's
//! deletion stamp to the deleted record's stamp (its last write).
//! They live inside the slot's range, so snapshots and FLUSHALL carry them,
//! and after the subkeys, so every walk over metadata records or subkeys
//! (SCAN, KEYS, DBSIZE, COUNTKEYSINSLOT, sweeps) passes them by.
//!
//! Type tags: string = 1, hash = 2, list = 3, set = 4, zset = 5.
//!
//! Every data key starts with its slot, so one slot is one contiguous range
//! (`COUNTKEYSINSLOT`, `GETKEYSINSLOT`, migration and snapshots are range
//! scans). A collection's subkeys carry the version of the metadata record
//! that created them: deleting or overwriting the key writes a new metadata
//! record (or none) and the old subkeys become unreachable at once, so DEL of
//! a large collection is O(1); stale subkeys are swept later.
//!
//! Expiry: a metadata record whose `expire_at_ms` is at or before "now" is
//! treated as absent. "Now" is the wall clock for reads and the proposal's
//! timestamp during Raft apply, so every replica decides the same way.

pub mod collection;
pub mod generic;
pub mod glob;
pub mod hash;
pub mod list;
pub mod longdouble;
pub mod overlay;
pub mod rdb;
pub mod scan;
pub mod served;
pub mod set;
pub mod string;
pub mod zset;

use std::io;
use std::ops::Bound;

use redraft_cluster::{key_slot, Slot};

use crate::engine::{Engine, KeyRange, KvIter};
pub use overlay::Overlay;

/// Namespace byte after the slot: metadata records.
pub const NS_META: u8 = 0x00;
/// Namespace byte after the slot: collection subkeys.
pub const NS_SUB: u8 = 0x01;
/// Namespace byte after the slot: a key's modification stamp, the Raft
/// index of the entry that last wrote it (WATCH). Written by the apply
/// [`Overlay`]; removed with the key.
pub const NS_STAMP: u8 = 0x02;
/// Namespace byte after the slot: the slot's deletion stamp, the greatest
/// stamp (last write) of the records deleted from the slot (WATCH of keys
/// absent at EXEC: was one written after the WATCH, then deleted?).
pub const NS_SLOT_DEL: u8 = 0x03;
/// First byte of system keys (applied indexes, node identity).
pub const SYSTEM_PREFIX: u8 = 0xFF;

/// The type of a user key, with its stored tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum KeyType {
    String = 1,
    Hash = 2,
    List = 3,
    Set = 4,
    ZSet = 5,
}

impl KeyType {
    pub fn from_tag(tag: u8) -> Option<KeyType> {
        Some(match tag {
            1 => KeyType::String,
            2 => KeyType::Hash,
            3 => KeyType::List,
            4 => KeyType::Set,
            5 => KeyType::ZSet,
            _ => return None,
        })
    }

    /// The name TYPE replies with.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Hash => "hash",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
        }
    }
}

/// A decoded metadata record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub ty: KeyType,
    /// Absolute expiry in Unix milliseconds; 0 when the key is persistent.
    pub expire_at_ms: u64,
    pub version: u64,
    /// The string value, or the encoded size of a collection.
    pub payload: Vec<u8>,
}

const META_HEADER: usize = 1 + 8 + 8;

impl Meta {
    pub fn string(value: Vec<u8>, expire_at_ms: u64) -> Meta {
        Meta {
            ty: KeyType::String,
            expire_at_ms,
            version: 0,
            payload: value,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(META_HEADER + self.payload.len());
        v.push(self.ty as u8);
        v.extend_from_slice(&self.expire_at_ms.to_be_bytes());
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.payload);
        v
    }

    pub fn decode(raw: &[u8]) -> io::Result<Meta> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "corrupt metadata record");
        if raw.len() < META_HEADER {
            return Err(bad());
        }
        let ty = KeyType::from_tag(raw[0]).ok_or_else(bad)?;
        let expire_at_ms = u64::from_be_bytes(raw[1..9].try_into().map_err(|_| bad())?);
        let version = u64::from_be_bytes(raw[9..17].try_into().map_err(|_| bad())?);
        Ok(Meta {
            ty,
            expire_at_ms,
            version,
            payload: raw[META_HEADER..].to_vec(),
        })
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && self.expire_at_ms <= now_ms
    }
}

/// The metadata key of `key`.
pub fn meta_key(key: &[u8]) -> Vec<u8> {
    meta_key_in(key_slot(key), key)
}

pub fn meta_key_in(slot: Slot, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + key.len());
    k.extend_from_slice(&slot.to_be_bytes());
    k.push(NS_META);
    k.extend_from_slice(key);
    k
}

/// The user key of a metadata key, if it is one.
pub fn user_key_of(meta_key: &[u8]) -> Option<&[u8]> {
    (meta_key.len() >= 3 && meta_key[0] < SYSTEM_PREFIX && meta_key[2] == NS_META)
        .then(|| &meta_key[3..])
}

/// The range holding every metadata record of `slot`.
pub fn slot_meta_range(slot: Slot) -> KeyRange {
    let mut start = slot.to_be_bytes().to_vec();
    start.push(NS_META);
    let mut end = slot.to_be_bytes().to_vec();
    end.push(NS_META + 1);
    (Bound::Included(start), Bound::Excluded(end))
}

/// The range holding every key (metadata and subkeys) of `slot`.
pub fn slot_range(slot: Slot) -> KeyRange {
    let start = slot.to_be_bytes().to_vec();
    let end = (u32::from(slot) + 1) as u16;
    (
        Bound::Included(start),
        Bound::Excluded(end.to_be_bytes().to_vec()),
    )
}

/// The engine keys of every slot in `range`: every data key starts with its
/// slot (two bytes, big-endian), so the slots `start..=end` are the keys
/// from `[start]` up to, excluding, `[end + 1]` (16384 fits in two bytes).
pub fn slots_key_range(range: redraft_cluster::SlotRange) -> KeyRange {
    let end = u32::from(range.end) + 1;
    (
        Bound::Included(range.start.to_be_bytes().to_vec()),
        Bound::Excluded((end as u16).to_be_bytes().to_vec()),
    )
}

/// The range holding all user data (every slot), excluding system keys.
pub fn all_data_range() -> KeyRange {
    (Bound::Unbounded, Bound::Excluded(vec![SYSTEM_PREFIX]))
}

/// Whether a key of the data range is bookkeeping rather than data: WATCH
/// stamps and slot deletion stamps (namespaces after [`NS_SUB`]). Digests
/// (`DEBUG DIGEST`, anti-entropy) leave them out.
pub fn is_bookkeeping(key: &[u8]) -> bool {
    key.len() >= 3 && key[2] > NS_SUB
}

/// A system key: `[0xFF][name]`.
pub fn system_key(name: &[u8]) -> Vec<u8> {
    let mut k = vec![SYSTEM_PREFIX];
    k.extend_from_slice(name);
    k
}

/// Read access to keys: an engine, or an engine with pending writes on top.
pub trait KvRead {
    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>>;
    fn scan(&self, range: KeyRange) -> KvIter<'_>;
    fn scan_rev(&self, range: KeyRange) -> KvIter<'_>;
}

impl KvRead for dyn Engine {
    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        Engine::get(self, key)
    }
    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        Engine::scan(self, range)
    }
    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        Engine::scan_rev(self, range)
    }
}

/// The node's shared engine handle, usable where a `&dyn KvRead` is wanted.
impl KvRead for std::sync::Arc<dyn Engine> {
    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        Engine::get(self.as_ref(), key)
    }
    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        Engine::scan(self.as_ref(), range)
    }
    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        Engine::scan_rev(self.as_ref(), range)
    }
}

/// The stamp key of the metadata key `meta_key` (`[slot][0x00][key]`).
pub fn stamp_key_of_meta(meta_key: &[u8]) -> Vec<u8> {
    let mut k = meta_key.to_vec();
    k[2] = NS_STAMP;
    k
}

/// The deletion stamp key of `slot`.
pub fn slot_del_key(slot: Slot) -> Vec<u8> {
    let mut k = slot.to_be_bytes().to_vec();
    k.push(NS_SLOT_DEL);
    k
}

fn read_u64(kv: &(impl KvRead + ?Sized), key: &[u8]) -> io::Result<u64> {
    Ok(kv
        .get(key)?
        .and_then(|v| v.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0))
}

/// What a key looked like when WATCH saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WatchedAs {
    Absent = 0,
    Live = 1,
    /// Present but already expired: deleting it later is no change.
    Expired = 2,
}

/// One WATCHed key: its state when watched, checked again at EXEC's apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub key: Vec<u8>,
    /// The key's stamp (0: none).
    pub stamp: u64,
    pub seen: WatchedAs,
    /// The applied index of the key's shard, read before the key: every
    /// write to the key after the WATCH has a greater stamp.
    pub since: u64,
}

/// A key's state now: what it looks like, and its stamp.
fn watch_state(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<(WatchedAs, u64)> {
    let mk = meta_key(key);
    let seen = match kv.get(&mk)? {
        None => WatchedAs::Absent,
        Some(raw) if Meta::decode(&raw)?.is_expired(now_ms) => WatchedAs::Expired,
        Some(_) => WatchedAs::Live,
    };
    Ok((seen, read_u64(kv, &stamp_key_of_meta(&mk))?))
}

impl Watch {
    /// Reads `key`'s watch state at `now_ms`; `since` is the applied index
    /// of its shard, read before this.
    pub fn read(
        kv: &(impl KvRead + ?Sized),
        key: &[u8],
        now_ms: u64,
        since: u64,
    ) -> KsResult<Watch> {
        let (seen, stamp) = watch_state(kv, key, now_ms)?;
        Ok(Watch {
            key: key.to_vec(),
            stamp,
            seen,
            since,
        })
    }

    /// Whether the key changed since it was watched, as Redis judges it: any
    /// write to it, its expiry (a live key that expired), or a FLUSH that
    /// removed it; not the deletion of a key already expired when watched
    /// (Redis: "Delete WATCHed stale keys should not fail EXEC"), though a
    /// key written after it was watched, and deleted again, did change.
    /// A key absent now is judged by the slot's deletion stamp: whether a
    /// record written after the WATCH was deleted since. That record may
    /// be another key of the slot: a conservative abort.
    pub fn changed(&self, kv: &(impl KvRead + ?Sized), now_ms: u64) -> KsResult<bool> {
        let (seen, stamp) = watch_state(kv, &self.key, now_ms)?;
        let deleted_since = || -> KsResult<bool> {
            Ok(read_u64(kv, &slot_del_key(key_slot(&self.key)))? > self.since)
        };
        Ok(match (self.seen, seen) {
            (WatchedAs::Live, WatchedAs::Live) => stamp != self.stamp,
            // Deleted, or expired since.
            (WatchedAs::Live, _) => true,
            (WatchedAs::Absent, WatchedAs::Absent) => deleted_since()?,
            // Created since.
            (WatchedAs::Absent, _) => true,
            // The stale record is gone: changed only if the key was
            // written (and deleted again) after the WATCH.
            (WatchedAs::Expired, WatchedAs::Absent) => deleted_since()?,
            // The stale record, or one written after the WATCH.
            (WatchedAs::Expired, _) => stamp != self.stamp,
        })
    }
}

/// Errors of typed keyspace operations. Each becomes a RESP reply in one
/// place: `crate::cmd::error`.
#[derive(Debug, thiserror::Error)]
pub enum KsError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// A command error with its full Redis text (`ERR …`).
    #[error("{0}")]
    Command(String),
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

pub type KsResult<T> = Result<T, KsError>;

/// Reads the live (not expired) metadata record of `key`.
pub fn read_meta(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<Meta>> {
    match kv.get(&meta_key(key))? {
        None => Ok(None),
        Some(raw) => {
            let meta = Meta::decode(&raw)?;
            Ok((!meta.is_expired(now_ms)).then_some(meta))
        }
    }
}

/// Reads a string value; `WrongType` if the key holds another type.
pub fn get_string(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    now_ms: u64,
) -> KsResult<Option<Vec<u8>>> {
    match read_meta(kv, key, now_ms)? {
        None => Ok(None),
        Some(m) if m.ty == KeyType::String => Ok(Some(m.payload)),
        Some(_) => Err(KsError::WrongType),
    }
}

/// Writes `key` as a string, replacing whatever it held.
pub fn set_string(ov: &mut Overlay<'_>, key: &[u8], value: Vec<u8>, expire_at_ms: u64) {
    ov.put(meta_key(key), Meta::string(value, expire_at_ms).encode());
}

/// Deletes `key` (any type); returns whether a live key was deleted.
pub fn delete_key(ov: &mut Overlay<'_>, key: &[u8], now_ms: u64) -> KsResult<bool> {
    let mk = meta_key(key);
    match ov.get(&mk)? {
        None => Ok(false),
        Some(raw) => {
            let live = !Meta::decode(&raw)?.is_expired(now_ms);
            ov.delete(mk);
            Ok(live)
        }
    }
}

/// Up to `limit` live (not expired) user keys of `slot`, in key order
/// (CLUSTER GETKEYSINSLOT).
pub fn keys_in_slot(
    kv: &(impl KvRead + ?Sized),
    slot: Slot,
    now_ms: u64,
    limit: usize,
) -> KsResult<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    for pair in kv.scan(slot_meta_range(slot)) {
        if keys.len() >= limit {
            break;
        }
        let (k, v) = pair?;
        if !Meta::decode(&v)?.is_expired(now_ms) {
            if let Some(user) = user_key_of(&k) {
                keys.push(user.to_vec());
            }
        }
    }
    Ok(keys)
}

/// How many live (not expired) user keys `slot` holds
/// (CLUSTER COUNTKEYSINSLOT).
pub fn count_keys_in_slot(kv: &(impl KvRead + ?Sized), slot: Slot, now_ms: u64) -> KsResult<u64> {
    let mut n = 0;
    for pair in kv.scan(slot_meta_range(slot)) {
        let (_, v) = pair?;
        if !Meta::decode(&v)?.is_expired(now_ms) {
            n += 1;
        }
    }
    Ok(n)
}
