//! # Sets: members as subkeys of a collection
//!
//! A set is a [`collection`] record of type `Set` whose `size` is the
//! member count, plus one subkey per member: `sub` = the member's bytes,
//! value empty. Point operations (SADD, SREM, SISMEMBER, SMOVE) touch only
//! the record and the subkeys of the members named; nothing loads a whole
//! set unless the command's answer is the whole set (SMEMBERS, the
//! algebra commands) or Redis's own cost is linear anyway.
//!
//! Invariants:
//! - `size` equals the number of subkeys under the record's version; the
//!   write removing the last member deletes the record ([`collection::save`]).
//! - Every function answers `WrongType` for a key holding another type,
//!   checking every key a command names before answering (as Redis 7.0
//!   does, so `SINTER missing wrongtype` is an error, not an empty set).
//! - Randomness comes from the caller: the proposal-seeded rng in apply,
//!   so every replica pops the same members.
//!
//! CAVEATS:
//! - Members come back in byte order (the subkey order), not in Redis's
//!   hash-table order; Redis leaves that order unspecified.
//! - Picking a random member walks the subkeys up to the drawn position
//!   (O(N) worst case; Redis is O(1)). SPOP/SRANDMEMBER with a count walk
//!   once up to the largest drawn position.
//! - SSCAN returns every (matching) member in one page with cursor 0, as
//!   Redis does for small sets; a huge set comes back in one reply.

use std::collections::BTreeSet;

use rand::Rng;

use super::collection::{self, Collection};
use super::glob::glob_match;
use super::{delete_key, KeyType, KsError, KsResult, KvRead, Overlay};

/// The most members SRANDMEMBER with a negative count may return: a guard
/// against a reply that cannot be allocated (Redis would stream it).
pub const MAX_RANDOM_WITH_REPEATS: u64 = 1 << 22;

/// Reads `key` as a set (`None` when absent or expired).
pub fn read(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<Collection>> {
    collection::read(kv, key, KeyType::Set, now_ms)
}

fn contains(
    kv: &(impl KvRead + ?Sized),
    c: &Collection,
    key: &[u8],
    member: &[u8],
) -> KsResult<bool> {
    Ok(kv.get(&c.subkey(key, member))?.is_some())
}

/// Every member of the stored set `c`, in byte order.
fn all_members(kv: &(impl KvRead + ?Sized), c: &Collection, key: &[u8]) -> KsResult<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(usize::try_from(c.size).unwrap_or(0).min(1 << 16));
    for pair in kv.scan(c.subkey_range(key)) {
        let (k, _) = pair?;
        out.push(c.sub_of(key, &k).to_vec());
    }
    Ok(out)
}

/// The members at the (sorted, distinct) positions `at`, in one walk.
fn members_at(
    kv: &(impl KvRead + ?Sized),
    c: &Collection,
    key: &[u8],
    at: &[usize],
) -> KsResult<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(at.len());
    let mut want = at.iter().peekable();
    for (i, pair) in kv.scan(c.subkey_range(key)).enumerate() {
        let Some(&&next) = want.peek() else { break };
        let (k, _) = pair?;
        if i == next {
            out.push(c.sub_of(key, &k).to_vec());
            want.next();
        }
    }
    if out.len() != at.len() {
        return Err(corrupt());
    }
    Ok(out)
}

fn corrupt() -> KsError {
    KsError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "set size does not match its members",
    ))
}

/// `count` distinct positions below `size`, sorted.
fn distinct_positions(rng: &mut impl Rng, size: u64, count: u64) -> Vec<usize> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let count = usize::try_from(count).unwrap_or(usize::MAX).min(size);
    let mut at = rand::seq::index::sample(rng, size, count).into_vec();
    at.sort_unstable();
    at
}

/// Redis 7.0's `set-max-intset-entries` default: an all-integer set up to
/// this size is an "intset".
const INTSET_MAX_ENTRIES: u64 = 512;
/// `extra[0]` of a set's record: set once the set became a "hashtable" in
/// Redis's terms (a non-integer member, or too many members); like Redis,
/// it never goes back.
const HASHTABLE: u8 = 1;

/// Keeps the encoding flag as Redis's `setTypeAdd` would after `member`
/// was added (with `c.size` already counting it).
fn note_added(c: &mut Collection, member: &[u8]) {
    let is_int = crate::cmd::args::parse_i64(member).is_some();
    if c.extra.first() != Some(&HASHTABLE) && (!is_int || c.size > INTSET_MAX_ENTRIES) {
        c.extra = vec![HASHTABLE];
    }
}

/// OBJECT ENCODING of a set record: "intset" or "hashtable", as Redis 7.0.
pub fn encoding_of(meta: &crate::keyspace::Meta) -> &'static str {
    if meta.payload.get(8) == Some(&HASHTABLE) {
        "hashtable"
    } else {
        "intset"
    }
}

/// SADD: adds `members`; returns how many were new. `version` is used
/// only when the set is created.
pub fn add(
    ov: &mut Overlay<'_>,
    key: &[u8],
    members: &[impl AsRef<[u8]>],
    now_ms: u64,
    version: u64,
) -> KsResult<u64> {
    let mut c = collection::read_or_new(ov, key, KeyType::Set, now_ms, || version)?;
    let mut added = 0;
    for m in members {
        let sk = c.subkey(key, m.as_ref());
        if ov.get(&sk)?.is_none() {
            ov.put(sk, Vec::new());
            added += 1;
            c.size += 1;
            note_added(&mut c, m.as_ref());
        }
    }
    if added > 0 {
        collection::save(ov, key, &c);
    }
    Ok(added)
}

/// SREM: removes `members`; returns how many were there.
pub fn remove(
    ov: &mut Overlay<'_>,
    key: &[u8],
    members: &[impl AsRef<[u8]>],
    now_ms: u64,
) -> KsResult<u64> {
    let Some(mut c) = read(ov, key, now_ms)? else {
        return Ok(0);
    };
    let mut removed = 0;
    for m in members {
        let sk = c.subkey(key, m.as_ref());
        if ov.get(&sk)?.is_some() {
            ov.delete(sk);
            removed += 1;
        }
    }
    if removed > 0 {
        c.size = c.size.saturating_sub(removed);
        collection::save(ov, key, &c);
    }
    Ok(removed)
}

/// SCARD.
pub fn card(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<u64> {
    Ok(read(kv, key, now_ms)?.map_or(0, |c| c.size))
}

/// SMISMEMBER (and SISMEMBER with one member).
pub fn are_members(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    members: &[impl AsRef<[u8]>],
    now_ms: u64,
) -> KsResult<Vec<bool>> {
    match read(kv, key, now_ms)? {
        None => Ok(vec![false; members.len()]),
        Some(c) => members
            .iter()
            .map(|m| contains(kv, &c, key, m.as_ref()))
            .collect(),
    }
}

/// SMEMBERS, in byte order.
pub fn members(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Vec<Vec<u8>>> {
    match read(kv, key, now_ms)? {
        None => Ok(Vec::new()),
        Some(c) => all_members(kv, &c, key),
    }
}

/// SPOP: removes and returns up to `count` random members (one when
/// `count` is `None`); `None` when the key is absent.
pub fn pop(
    ov: &mut Overlay<'_>,
    key: &[u8],
    count: Option<u64>,
    now_ms: u64,
    rng: &mut impl Rng,
) -> KsResult<Option<Vec<Vec<u8>>>> {
    let Some(mut c) = read(ov, key, now_ms)? else {
        return Ok(None);
    };
    let want = count.unwrap_or(1);
    if want == 0 {
        return Ok(Some(Vec::new()));
    }
    let popped = if want >= c.size {
        all_members(ov, &c, key)?
    } else {
        let at = distinct_positions(rng, c.size, want);
        members_at(ov, &c, key, &at)?
    };
    for m in &popped {
        ov.delete(c.subkey(key, m));
    }
    c.size = c.size.saturating_sub(popped.len() as u64);
    collection::save(ov, key, &c);
    Ok(Some(popped))
}

/// SRANDMEMBER: `count` `None` answers one member (or `None` when the key
/// is absent, as a one-element vector otherwise); a positive count answers
/// distinct members, a negative one `-count` draws with repetition.
pub fn random_members(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    count: Option<i64>,
    now_ms: u64,
    rng: &mut impl Rng,
) -> KsResult<Option<Vec<Vec<u8>>>> {
    let Some(c) = read(kv, key, now_ms)? else {
        return Ok(None);
    };
    match count {
        None => {
            let at = [rng.random_range(0..c.size) as usize];
            members_at(kv, &c, key, &at).map(Some)
        }
        Some(n) if n >= 0 => {
            let n = n as u64;
            if n >= c.size {
                all_members(kv, &c, key).map(Some)
            } else {
                members_at(kv, &c, key, &distinct_positions(rng, c.size, n)).map(Some)
            }
        }
        Some(n) => {
            let n = n.unsigned_abs();
            if n > MAX_RANDOM_WITH_REPEATS {
                return Err(KsError::Command("ERR count is too large".into()));
            }
            let draws: Vec<usize> = (0..n)
                .map(|_| rng.random_range(0..c.size) as usize)
                .collect();
            let mut at = draws.clone();
            at.sort_unstable();
            at.dedup();
            let found = members_at(kv, &c, key, &at)?;
            Ok(Some(
                draws
                    .iter()
                    .map(|d| found[at.binary_search(d).unwrap_or(0)].clone())
                    .collect(),
            ))
        }
    }
}

/// SMOVE: moves `member` from `src` to `dst`; whether it was moved (or,
/// when `src` is `dst`, whether it is a member).
pub fn smove(
    ov: &mut Overlay<'_>,
    src: &[u8],
    dst: &[u8],
    member: &[u8],
    now_ms: u64,
    version: u64,
) -> KsResult<bool> {
    let Some(mut s) = read(ov, src, now_ms)? else {
        return Ok(false);
    };
    read(ov, dst, now_ms)?; // WRONGTYPE before any change.
    if !contains(ov, &s, src, member)? {
        return Ok(false);
    }
    if src == dst {
        return Ok(true);
    }
    ov.delete(s.subkey(src, member));
    s.size = s.size.saturating_sub(1);
    collection::save(ov, src, &s);
    add(ov, dst, &[member], now_ms, version)?;
    Ok(true)
}

/// Which set algebra.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Inter,
    Union,
    Diff,
}

/// SINTER/SUNION/SDIFF over `keys` (absent keys are empty sets), in byte
/// order; `limit` (> 0) stops an intersection early (SINTERCARD).
pub fn combine(
    kv: &(impl KvRead + ?Sized),
    keys: &[impl AsRef<[u8]>],
    op: Op,
    now_ms: u64,
    limit: Option<u64>,
) -> KsResult<Vec<Vec<u8>>> {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(read(kv, k.as_ref(), now_ms)?.map(|c| (k.as_ref(), c)));
    }
    match op {
        Op::Union => {
            let mut all = BTreeSet::new();
            for (k, c) in sets.iter().flatten() {
                all.extend(all_members(kv, c, k)?);
            }
            Ok(all.into_iter().collect())
        }
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(Vec::new());
            }
            let sets: Vec<_> = sets.into_iter().flatten().collect();
            let Some(small) = sets.iter().min_by_key(|(_, c)| c.size) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for pair in kv.scan(small.1.subkey_range(small.0)) {
                let (sk, _) = pair?;
                let m = small.1.sub_of(small.0, &sk);
                let mut everywhere = true;
                for (k, c) in &sets {
                    if !contains(kv, c, k, m)? {
                        everywhere = false;
                        break;
                    }
                }
                if everywhere {
                    out.push(m.to_vec());
                    if limit.is_some_and(|l| out.len() as u64 >= l) {
                        break;
                    }
                }
            }
            Ok(out)
        }
        Op::Diff => {
            let Some(Some((k0, c0))) = sets.first() else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for m in all_members(kv, c0, k0)? {
                let mut elsewhere = false;
                for (k, c) in sets[1..].iter().flatten() {
                    if contains(kv, c, k, &m)? {
                        elsewhere = true;
                        break;
                    }
                }
                if !elsewhere {
                    out.push(m);
                }
            }
            Ok(out)
        }
    }
}

/// The STORE forms: replaces `dst` (whatever it held, TTL included) with a
/// set of `members` (sorted, distinct), or deletes it when there are none.
/// Returns the new size.
pub fn store(
    ov: &mut Overlay<'_>,
    dst: &[u8],
    members: &[Vec<u8>],
    now_ms: u64,
    version: u64,
) -> KsResult<u64> {
    delete_key(ov, dst, now_ms)?;
    if members.is_empty() {
        return Ok(0);
    }
    let mut c = Collection::new(KeyType::Set, version);
    for m in members {
        ov.put(c.subkey(dst, m), Vec::new());
        c.size += 1;
        note_added(&mut c, m);
    }
    collection::save(ov, dst, &c);
    Ok(c.size)
}

/// SSCAN: every member matching `pattern`, in one page (see CAVEATS).
pub fn scan(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    pattern: Option<&[u8]>,
    now_ms: u64,
) -> KsResult<Vec<Vec<u8>>> {
    let mut all = members(kv, key, now_ms)?;
    if let Some(p) = pattern {
        all.retain(|m| glob_match(p, m));
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::{set_string, Meta};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const NOW: u64 = 1_000_000;

    fn is_wrongtype<T: std::fmt::Debug>(r: KsResult<T>) -> bool {
        matches!(r, Err(KsError::WrongType))
    }

    #[test]
    fn add_remove_card_and_membership() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        assert_eq!(add(&mut ov, b"s", &[b"b", b"a", b"b"], NOW, 1).unwrap(), 2);
        assert_eq!(add(&mut ov, b"s", &[b"a", b"c"], NOW, 2).unwrap(), 1);
        assert_eq!(card(&ov, b"s", NOW).unwrap(), 3);
        assert_eq!(read(&ov, b"s", NOW).unwrap().unwrap().version, 1);
        assert_eq!(
            are_members(&ov, b"s", &[b"a", b"z"], NOW).unwrap(),
            vec![true, false]
        );
        assert_eq!(
            members(&ov, b"s", NOW).unwrap(),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(remove(&mut ov, b"s", &[b"a", b"z"], NOW).unwrap(), 1);
        assert_eq!(remove(&mut ov, b"s", &[b"b", b"c"], NOW).unwrap(), 2);
        assert_eq!(read(&ov, b"s", NOW).unwrap(), None, "empty set is deleted");
        assert_eq!(card(&ov, b"s", NOW).unwrap(), 0);
        // Recreated under a new version: the old members do not come back.
        add(&mut ov, b"s", &[b"x"], NOW, 9).unwrap();
        assert_eq!(members(&ov, b"s", NOW).unwrap(), vec![b"x".to_vec()]);
    }

    #[test]
    fn wrong_type_everywhere() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        set_string(&mut ov, b"str", b"v".to_vec(), 0);
        add(&mut ov, b"s", &[b"a"], NOW, 1).unwrap();
        assert!(is_wrongtype(add(&mut ov, b"str", &[b"a"], NOW, 2)));
        assert!(is_wrongtype(remove(&mut ov, b"str", &[b"a"], NOW)));
        assert!(is_wrongtype(card(&ov, b"str", NOW)));
        assert!(is_wrongtype(members(&ov, b"str", NOW)));
        assert!(is_wrongtype(combine(
            &ov,
            &[&b"missing"[..], b"str"],
            Op::Inter,
            NOW,
            None
        )));
        assert!(is_wrongtype(combine(
            &ov,
            &[&b"missing"[..], b"str"],
            Op::Diff,
            NOW,
            None
        )));
        assert!(is_wrongtype(smove(&mut ov, b"s", b"str", b"zz", NOW, 3)));
        // An absent source answers 0 before the destination's type is looked at.
        assert!(!smove(&mut ov, b"missing", b"str", b"a", NOW, 3).unwrap());
    }

    #[test]
    fn expired_set_is_absent() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        add(&mut ov, b"s", &[b"a"], NOW, 1).unwrap();
        let mut c = read(&ov, b"s", NOW).unwrap().unwrap();
        c.expire_at_ms = NOW;
        collection::save(&mut ov, b"s", &c);
        assert_eq!(card(&ov, b"s", NOW).unwrap(), 0);
        assert_eq!(add(&mut ov, b"s", &[b"b"], NOW, 2).unwrap(), 1);
        assert_eq!(members(&ov, b"s", NOW).unwrap(), vec![b"b".to_vec()]);
    }

    #[test]
    fn pop_is_deterministic_for_a_seed_and_keeps_size() {
        let run = |seed| {
            let e = MemoryEngine::new();
            let mut ov = Overlay::new(&e as &dyn Engine);
            let ms: Vec<Vec<u8>> = (0..50).map(|i| format!("m{i}").into_bytes()).collect();
            add(&mut ov, b"s", &ms, NOW, 1).unwrap();
            let mut rng = StdRng::seed_from_u64(seed);
            let popped = pop(&mut ov, b"s", Some(10), NOW, &mut rng)
                .unwrap()
                .unwrap();
            let one = pop(&mut ov, b"s", None, NOW, &mut rng).unwrap().unwrap();
            assert_eq!((popped.len(), one.len()), (10, 1));
            assert_eq!(card(&ov, b"s", NOW).unwrap(), 39);
            for m in popped.iter().chain(&one) {
                assert_eq!(are_members(&ov, b"s", &[m], NOW).unwrap(), vec![false]);
            }
            assert_eq!(members(&ov, b"s", NOW).unwrap().len(), 39);
            (popped, one)
        };
        assert_eq!(run(7), run(7));
        // Popping more than there is empties and deletes the set.
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        add(&mut ov, b"s", &[b"a", b"b"], NOW, 1).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            pop(&mut ov, b"s", Some(0), NOW, &mut rng).unwrap(),
            Some(vec![])
        );
        assert_eq!(
            pop(&mut ov, b"s", Some(5), NOW, &mut rng)
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(read(&ov, b"s", NOW).unwrap(), None);
        assert_eq!(pop(&mut ov, b"s", Some(5), NOW, &mut rng).unwrap(), None);
    }

    #[test]
    fn random_members_counts() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        add(&mut ov, b"s", &[b"a", b"b", b"c"], NOW, 1).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let mut r = |n| {
            random_members(&ov, b"s", n, NOW, &mut rng)
                .unwrap()
                .unwrap()
        };
        assert_eq!(r(None).len(), 1);
        assert_eq!(r(Some(10)).len(), 3);
        let two = r(Some(2));
        assert!(two.len() == 2 && two[0] != two[1]);
        let many = r(Some(-20));
        assert_eq!(many.len(), 20);
        assert!(many
            .iter()
            .all(|m| [b"a", b"b", b"c"].iter().any(|x| x[..] == m[..])));
        assert_eq!(
            random_members(&ov, b"nokey", Some(3), NOW, &mut rng).unwrap(),
            None
        );
    }

    #[test]
    fn algebra_and_store() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        add(&mut ov, b"{t}a", &[b"1", b"2", b"3", b"4"], NOW, 1).unwrap();
        add(&mut ov, b"{t}b", &[b"2", b"3", b"5"], NOW, 2).unwrap();
        let v = |xs: &[&str]| xs.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        let keys = [&b"{t}a"[..], b"{t}b"];
        assert_eq!(
            combine(&ov, &keys, Op::Inter, NOW, None).unwrap(),
            v(&["2", "3"])
        );
        assert_eq!(
            combine(&ov, &keys, Op::Inter, NOW, Some(1)).unwrap(),
            v(&["2"])
        );
        assert_eq!(
            combine(&ov, &keys, Op::Union, NOW, None).unwrap(),
            v(&["1", "2", "3", "4", "5"])
        );
        assert_eq!(
            combine(&ov, &keys, Op::Diff, NOW, None).unwrap(),
            v(&["1", "4"])
        );
        let with_missing = [&b"{t}a"[..], b"{t}none"];
        assert!(combine(&ov, &with_missing, Op::Inter, NOW, None)
            .unwrap()
            .is_empty());
        assert_eq!(
            combine(&ov, &with_missing, Op::Diff, NOW, None)
                .unwrap()
                .len(),
            4
        );
        // STORE over a string with a TTL replaces it; an empty result deletes.
        ov.put(
            crate::keyspace::meta_key(b"{t}d"),
            Meta::string(b"x".to_vec(), NOW + 100).encode(),
        );
        let inter = combine(&ov, &keys, Op::Inter, NOW, None).unwrap();
        assert_eq!(store(&mut ov, b"{t}d", &inter, NOW, 3).unwrap(), 2);
        let d = read(&ov, b"{t}d", NOW).unwrap().unwrap();
        assert_eq!((d.size, d.expire_at_ms), (2, 0));
        assert_eq!(members(&ov, b"{t}d", NOW).unwrap(), v(&["2", "3"]));
        assert_eq!(store(&mut ov, b"{t}d", &[], NOW, 4).unwrap(), 0);
        assert_eq!(crate::keyspace::read_meta(&ov, b"{t}d", NOW).unwrap(), None);
    }

    #[test]
    fn encoding_follows_redis_intset_rules() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e);
        let enc = |ov: &Overlay<'_>, k: &[u8]| {
            encoding_of(&crate::keyspace::read_meta(ov, k, 0).unwrap().unwrap())
        };
        add(&mut ov, b"i", &[&b"1"[..], b"-2", b"300"], 0, 1 << 20).unwrap();
        assert_eq!(enc(&ov, b"i"), "intset");
        add(&mut ov, b"i", &[b"01"], 0, 2 << 20).unwrap(); // not canonical
        assert_eq!(enc(&ov, b"i"), "hashtable");
        remove(&mut ov, b"i", &[b"01"], 0).unwrap();
        assert_eq!(enc(&ov, b"i"), "hashtable", "never converts back");
        let many: Vec<Vec<u8>> = (0..513).map(|i| i.to_string().into_bytes()).collect();
        add(&mut ov, b"big", &many[..512], 0, 3 << 20).unwrap();
        assert_eq!(enc(&ov, b"big"), "intset");
        add(&mut ov, b"big", &many[512..], 0, 4 << 20).unwrap();
        assert_eq!(enc(&ov, b"big"), "hashtable");
        store(&mut ov, b"st", &many[..3], 0, 5 << 20).unwrap();
        assert_eq!(enc(&ov, b"st"), "intset");
    }

    #[test]
    fn smove_moves_once() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        add(&mut ov, b"{t}a", &[b"x", b"y"], NOW, 1).unwrap();
        assert!(smove(&mut ov, b"{t}a", b"{t}b", b"x", NOW, 2).unwrap());
        assert!(!smove(&mut ov, b"{t}a", b"{t}b", b"x", NOW, 3).unwrap());
        assert!(smove(&mut ov, b"{t}a", b"{t}a", b"y", NOW, 4).unwrap());
        assert_eq!(card(&ov, b"{t}a", NOW).unwrap(), 1);
        assert!(smove(&mut ov, b"{t}a", b"{t}b", b"y", NOW, 5).unwrap());
        assert_eq!(read(&ov, b"{t}a", NOW).unwrap(), None);
        assert_eq!(
            members(&ov, b"{t}b", NOW).unwrap(),
            vec![b"x".to_vec(), b"y".to_vec()]
        );
        assert_eq!(
            scan(&ov, b"{t}b", Some(b"y*"), NOW).unwrap(),
            vec![b"y".to_vec()]
        );
    }
}
