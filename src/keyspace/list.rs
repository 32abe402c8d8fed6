//! # Lists: index-addressed elements in subkeys
//!
//! A list is a [`Collection`] of type `List` whose elements sit at
//! consecutive positions:
//!
//! ```text
//! record extra   [head: u64 BE][tail: u64 BE]     elements at head..tail (tail exclusive)
//! element        subkey sub = [position: u64 BE], value = the element
//! ```
//!
//! A new list starts with `head = tail = 2^63`, so pushes on either end
//! have 2^63 positions of room: LPUSH writes at `head - 1`, RPUSH at `tail`.
//! Index `i` (0-based from the head) lives at `head + i`, so LINDEX and LSET
//! are one point read, LPOP/RPOP one read and one delete, and LRANGE one
//! range scan. Positions sort as big-endian bytes, so scan order is list
//! order.
//!
//! Invariants:
//! - `size == tail - head`, and every position in `head..tail` holds an
//!   element (no holes): commands that remove from the middle (LREM,
//!   LINSERT) shift the elements after them, as Redis's are O(n) too.
//! - A list never exists empty: [`collection::save`] deletes the record when
//!   the last element goes.
//!
//! CAVEATS:
//! - LINSERT and LREM rewrite the shifted part of the list (LINSERT the
//!   shorter side); subkeys left beyond `head..tail` are deleted at once.

use super::collection::{self, Collection};
use super::{KeyType, KsError, KsResult, KvRead, Overlay};
use std::ops::Bound;

/// The position of a new list's head and tail.
const START: u64 = 1 << 63;

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

/// A live list's record with its head and tail decoded.
#[derive(Clone, Debug)]
struct List {
    c: Collection,
    head: u64,
    tail: u64,
}

impl List {
    fn from(c: Collection) -> KsResult<List> {
        if c.size == 0 {
            return Ok(List {
                c,
                head: START,
                tail: START,
            });
        }
        let bad = || {
            KsError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "corrupt list record",
            ))
        };
        let head = c.extra.get(..8).ok_or_else(bad)?;
        let tail = c.extra.get(8..16).ok_or_else(bad)?;
        let head = u64::from_be_bytes(head.try_into().map_err(|_| bad())?);
        let tail = u64::from_be_bytes(tail.try_into().map_err(|_| bad())?);
        Ok(List { c, head, tail })
    }

    fn len(&self) -> u64 {
        self.tail - self.head
    }

    fn sub(&self, key: &[u8], pos: u64) -> Vec<u8> {
        self.c.subkey(key, &pos.to_be_bytes())
    }

    /// Writes the record (or deletes it when empty).
    fn save(mut self, ov: &mut Overlay<'_>, key: &[u8]) {
        self.c.size = self.len();
        let mut extra = Vec::with_capacity(16);
        extra.extend_from_slice(&self.head.to_be_bytes());
        extra.extend_from_slice(&self.tail.to_be_bytes());
        self.c.extra = extra;
        collection::save(ov, key, &self.c);
    }

    /// Elements at positions `from..to`, in order.
    fn scan(
        &self,
        kv: &(impl KvRead + ?Sized),
        key: &[u8],
        from: u64,
        to: u64,
    ) -> KsResult<Vec<Vec<u8>>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let range = (
            Bound::Included(self.sub(key, from)),
            Bound::Excluded(self.sub(key, to)),
        );
        let mut out = Vec::with_capacity((to - from).min(1 << 16) as usize);
        for pair in kv.scan(range) {
            out.push(pair?.1);
        }
        Ok(out)
    }

    fn get(&self, kv: &(impl KvRead + ?Sized), key: &[u8], pos: u64) -> KsResult<Vec<u8>> {
        kv.get(&self.sub(key, pos))?.ok_or_else(|| {
            KsError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "missing list element",
            ))
        })
    }

    /// Replaces the whole content with `items`, starting at `head`.
    fn rewrite(&mut self, ov: &mut Overlay<'_>, key: &[u8], items: Vec<Vec<u8>>) {
        let old_tail = self.tail;
        self.tail = self.head + items.len() as u64;
        for (i, v) in items.into_iter().enumerate() {
            ov.put(self.sub(key, self.head + i as u64), v);
        }
        for pos in self.tail..old_tail {
            ov.delete(self.sub(key, pos));
        }
    }
}

fn read(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<Option<List>> {
    collection::read(kv, key, KeyType::List, now_ms)?
        .map(List::from)
        .transpose()
}

/// Redis's range normalisation (LRANGE, LTRIM): `None` for an empty range,
/// else the inclusive `(start, end)` within `0..len`.
pub fn normalize_range(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

/// The position of index `index` (negative counts from the tail), if in range.
fn position(l: &List, index: i64) -> Option<u64> {
    let len = l.len() as i64;
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then(|| l.head + i as u64)
}

/// LLEN: 0 when absent.
pub fn len(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<u64> {
    Ok(read(kv, key, now_ms)?.map_or(0, |l| l.len()))
}

/// LPUSH/RPUSH (and the X variants with `only_if_exists`): the length
/// after the push, 0 when `only_if_exists` and the key is absent.
/// `version` is used when the push creates the list.
pub fn push(
    ov: &mut Overlay<'_>,
    key: &[u8],
    items: &[impl AsRef<[u8]>],
    end: End,
    only_if_exists: bool,
    now_ms: u64,
    version: u64,
) -> KsResult<u64> {
    let mut l = match read(ov, key, now_ms)? {
        Some(l) => l,
        None if only_if_exists => return Ok(0),
        None => List::from(Collection::new(KeyType::List, version))?,
    };
    for item in items {
        let pos = match end {
            End::Left => {
                l.head -= 1;
                l.head
            }
            End::Right => {
                l.tail += 1;
                l.tail - 1
            }
        };
        ov.put(l.sub(key, pos), item.as_ref().to_vec());
    }
    let n = l.len();
    l.save(ov, key);
    Ok(n)
}

/// LPOP/RPOP: up to `count` elements from `end`; `None` when absent.
pub fn pop(
    ov: &mut Overlay<'_>,
    key: &[u8],
    end: End,
    count: u64,
    now_ms: u64,
) -> KsResult<Option<Vec<Vec<u8>>>> {
    let Some(mut l) = read(ov, key, now_ms)? else {
        return Ok(None);
    };
    let n = count.min(l.len());
    let (from, to) = match end {
        End::Left => (l.head, l.head + n),
        End::Right => (l.tail - n, l.tail),
    };
    let mut items = l.scan(ov, key, from, to)?;
    for pos in from..to {
        ov.delete(l.sub(key, pos));
    }
    match end {
        End::Left => l.head += n,
        End::Right => {
            l.tail -= n;
            items.reverse();
        }
    }
    l.save(ov, key);
    Ok(Some(items))
}

/// LRANGE.
pub fn range(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    start: i64,
    end: i64,
    now_ms: u64,
) -> KsResult<Vec<Vec<u8>>> {
    let Some(l) = read(kv, key, now_ms)? else {
        return Ok(Vec::new());
    };
    match normalize_range(start, end, l.len()) {
        None => Ok(Vec::new()),
        Some((s, e)) => l.scan(kv, key, l.head + s, l.head + e + 1),
    }
}

/// LINDEX.
pub fn index(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    index: i64,
    now_ms: u64,
) -> KsResult<Option<Vec<u8>>> {
    let Some(l) = read(kv, key, now_ms)? else {
        return Ok(None);
    };
    match position(&l, index) {
        None => Ok(None),
        Some(pos) => l.get(kv, key, pos).map(Some),
    }
}

/// Whether `key` is a live list (`WrongType` for another type); for
/// commands that check the key before parsing the rest (LINDEX, LSET).
pub fn exists(kv: &(impl KvRead + ?Sized), key: &[u8], now_ms: u64) -> KsResult<bool> {
    Ok(read(kv, key, now_ms)?.is_some())
}

/// LSET: "ERR no such key" / "ERR index out of range" as Redis.
pub fn set(
    ov: &mut Overlay<'_>,
    key: &[u8],
    index: i64,
    value: Vec<u8>,
    now_ms: u64,
) -> KsResult<()> {
    let Some(l) = read(ov, key, now_ms)? else {
        return Err(KsError::Command("ERR no such key".into()));
    };
    let Some(pos) = position(&l, index) else {
        return Err(KsError::Command("ERR index out of range".into()));
    };
    ov.put(l.sub(key, pos), value);
    Ok(())
}

/// LINSERT: the new length, 0 when absent, -1 when `pivot` is not found.
pub fn insert(
    ov: &mut Overlay<'_>,
    key: &[u8],
    before: bool,
    pivot: &[u8],
    item: Vec<u8>,
    now_ms: u64,
) -> KsResult<i64> {
    let Some(mut l) = read(ov, key, now_ms)? else {
        return Ok(0);
    };
    let items = l.scan(ov, key, l.head, l.tail)?;
    let Some(found) = items.iter().position(|v| v == pivot) else {
        return Ok(-1);
    };
    let at = found as u64 + u64::from(!before);
    let len = l.len();
    if at <= len / 2 {
        // Shift the first `at` elements one position left.
        for (i, v) in items.into_iter().take(at as usize).enumerate() {
            ov.put(l.sub(key, l.head - 1 + i as u64), v);
        }
        l.head -= 1;
    } else {
        // Shift the elements from `at` one position right.
        for (i, v) in items.into_iter().enumerate().skip(at as usize) {
            ov.put(l.sub(key, l.head + i as u64 + 1), v);
        }
        l.tail += 1;
    }
    ov.put(l.sub(key, l.head + at), item);
    let n = l.len();
    l.save(ov, key);
    Ok(n as i64)
}

/// LREM: removes up to |count| occurrences of `item` (all when 0; from the
/// tail when negative); the number removed.
pub fn remove(
    ov: &mut Overlay<'_>,
    key: &[u8],
    count: i64,
    item: &[u8],
    now_ms: u64,
) -> KsResult<u64> {
    let Some(mut l) = read(ov, key, now_ms)? else {
        return Ok(0);
    };
    let items = l.scan(ov, key, l.head, l.tail)?;
    let limit = if count == 0 {
        u64::MAX
    } else {
        count.unsigned_abs()
    };
    let mut drop = vec![false; items.len()];
    let mut removed = 0u64;
    let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
        Box::new((0..items.len()).rev())
    } else {
        Box::new(0..items.len())
    };
    for i in order {
        if removed == limit {
            break;
        }
        if items[i] == item {
            drop[i] = true;
            removed += 1;
        }
    }
    if removed == 0 {
        return Ok(0);
    }
    let kept: Vec<Vec<u8>> = items
        .into_iter()
        .zip(drop)
        .filter_map(|(v, d)| (!d).then_some(v))
        .collect();
    l.rewrite(ov, key, kept);
    l.save(ov, key);
    Ok(removed)
}

/// LTRIM: keeps the inclusive range `start..=end`.
pub fn trim(ov: &mut Overlay<'_>, key: &[u8], start: i64, end: i64, now_ms: u64) -> KsResult<()> {
    let Some(mut l) = read(ov, key, now_ms)? else {
        return Ok(());
    };
    let (keep_from, keep_to) = match normalize_range(start, end, l.len()) {
        None => (l.head, l.head),
        Some((s, e)) => (l.head + s, l.head + e + 1),
    };
    for pos in (l.head..keep_from).chain(keep_to..l.tail) {
        ov.delete(l.sub(key, pos));
    }
    l.head = keep_from;
    l.tail = keep_to;
    l.save(ov, key);
    Ok(())
}

/// LPOS: indexes of `item`, from the head (`rank > 0`) or the tail
/// (`rank < 0`), skipping the first |rank|-1 matches, at most `count`
/// (0 = all), comparing at most `maxlen` elements (0 = all). `None` when
/// the key is absent.
pub fn positions(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    item: &[u8],
    rank: i64,
    count: u64,
    maxlen: u64,
    now_ms: u64,
) -> KsResult<Option<Vec<u64>>> {
    let Some(l) = read(kv, key, now_ms)? else {
        return Ok(None);
    };
    let range = l.c.subkey_range(key);
    let iter = if rank < 0 {
        kv.scan_rev(range)
    } else {
        kv.scan(range)
    };
    // Redis negates i64::MIN to itself and then takes every match.
    let skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let len = l.len();
    let mut matches = 0u64;
    let mut out = Vec::new();
    for (seen, pair) in iter.enumerate() {
        let seen = seen as u64;
        if seen >= len || (maxlen != 0 && seen >= maxlen) {
            break;
        }
        let (_, v) = pair?;
        if v == item {
            matches += 1;
            if matches > skip {
                out.push(if rank < 0 { len - 1 - seen } else { seen });
                if count != 0 && out.len() as u64 >= count {
                    break;
                }
            }
        }
    }
    Ok(Some(out))
}

/// LMOVE/RPOPLPUSH: pops from `src`'s `from` end and pushes onto `dst`'s
/// `to` end; `None` when `src` is absent. `WrongType` for either key
/// before anything moves.
pub fn lmove(
    ov: &mut Overlay<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    now_ms: u64,
    version: u64,
) -> KsResult<Option<Vec<u8>>> {
    if read(ov, src, now_ms)?.is_none() {
        return Ok(None);
    }
    read(ov, dst, now_ms)?;
    let Some(mut items) = pop(ov, src, from, 1, now_ms)? else {
        return Ok(None);
    };
    let Some(item) = items.pop() else {
        return Ok(None);
    };
    push(ov, dst, &[&item], to, false, now_ms, version)?;
    Ok(Some(item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::Engine;
    use crate::keyspace::{set_string, KeyType};

    const NOW: u64 = 1_000;

    fn all(ov: &Overlay<'_>, k: &[u8]) -> Vec<String> {
        range(ov, k, 0, -1, NOW)
            .unwrap()
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    fn rpush(ov: &mut Overlay<'_>, k: &[u8], items: &[&str]) -> u64 {
        let items: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
        push(ov, k, &items, End::Right, false, NOW, 9).unwrap()
    }

    #[test]
    fn push_pop_index_and_delete_when_empty() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        assert_eq!(
            push(&mut ov, b"l", &[b"x"], End::Left, true, NOW, 1).unwrap(),
            0
        );
        assert_eq!(len(&ov, b"l", NOW).unwrap(), 0);
        assert_eq!(rpush(&mut ov, b"l", &["b", "c"]), 2);
        assert_eq!(
            push(&mut ov, b"l", &[b"a", b"z"], End::Left, false, NOW, 1).unwrap(),
            4
        );
        assert_eq!(all(&ov, b"l"), ["z", "a", "b", "c"]);
        assert_eq!(index(&ov, b"l", -1, NOW).unwrap(), Some(b"c".to_vec()));
        assert_eq!(index(&ov, b"l", 4, NOW).unwrap(), None);
        assert_eq!(index(&ov, b"l", i64::MIN, NOW).unwrap(), None);
        let popped = pop(&mut ov, b"l", End::Right, 2, NOW).unwrap().unwrap();
        assert_eq!(popped, [b"c".to_vec(), b"b".to_vec()]);
        let popped = pop(&mut ov, b"l", End::Left, 9, NOW).unwrap().unwrap();
        assert_eq!(popped, [b"z".to_vec(), b"a".to_vec()]);
        assert!(collection::read(&ov, b"l", KeyType::List, NOW)
            .unwrap()
            .is_none());
        assert_eq!(pop(&mut ov, b"l", End::Left, 1, NOW).unwrap(), None);
    }

    #[test]
    fn wrong_type_everywhere() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        set_string(&mut ov, b"s", b"v".to_vec(), 0);
        let wt = |r: KsResult<()>| assert!(matches!(r, Err(KsError::WrongType)));
        wt(len(&ov, b"s", NOW).map(drop));
        wt(push(&mut ov, b"s", &[b"x"], End::Left, false, NOW, 1).map(drop));
        wt(pop(&mut ov, b"s", End::Left, 1, NOW).map(drop));
        wt(range(&ov, b"s", 0, -1, NOW).map(drop));
        wt(insert(&mut ov, b"s", true, b"a", b"b".to_vec(), NOW).map(drop));
        wt(positions(&ov, b"s", b"a", 1, 0, 0, NOW).map(drop));
        rpush(&mut ov, b"l", &["a"]);
        wt(lmove(&mut ov, b"l", b"s", End::Left, End::Left, NOW, 1).map(drop));
        assert_eq!(all(&ov, b"l"), ["a"]);
    }

    #[test]
    fn set_insert_remove_trim() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        let err = |r: KsResult<()>| match r {
            Err(KsError::Command(t)) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(set(&mut ov, b"l", 0, b"x".to_vec(), NOW)),
            "ERR no such key"
        );
        rpush(&mut ov, b"l", &["a", "b", "c", "d"]);
        assert_eq!(
            err(set(&mut ov, b"l", 4, b"x".to_vec(), NOW)),
            "ERR index out of range"
        );
        set(&mut ov, b"l", -1, b"D".to_vec(), NOW).unwrap();
        assert_eq!(
            insert(&mut ov, b"l", true, b"b", b"1".to_vec(), NOW).unwrap(),
            5
        );
        assert_eq!(
            insert(&mut ov, b"l", false, b"c", b"2".to_vec(), NOW).unwrap(),
            6
        );
        assert_eq!(
            insert(&mut ov, b"l", true, b"zz", b"3".to_vec(), NOW).unwrap(),
            -1
        );
        assert_eq!(
            insert(&mut ov, b"nx", true, b"a", b"3".to_vec(), NOW).unwrap(),
            0
        );
        assert_eq!(all(&ov, b"l"), ["a", "1", "b", "c", "2", "D"]);
        rpush(&mut ov, b"r", &["x", "a", "x", "b", "x"]);
        assert_eq!(remove(&mut ov, b"r", -2, b"x", NOW).unwrap(), 2);
        assert_eq!(all(&ov, b"r"), ["x", "a", "b"]);
        assert_eq!(remove(&mut ov, b"r", 0, b"x", NOW).unwrap(), 1);
        assert_eq!(all(&ov, b"r"), ["a", "b"]);
        assert_eq!(len(&ov, b"r", NOW).unwrap(), 2);
        assert_eq!(remove(&mut ov, b"r", 0, b"a", NOW).unwrap(), 1);
        assert_eq!(remove(&mut ov, b"r", 0, b"b", NOW).unwrap(), 1);
        assert_eq!(len(&ov, b"r", NOW).unwrap(), 0);
        trim(&mut ov, b"l", 1, -2, NOW).unwrap();
        assert_eq!(all(&ov, b"l"), ["1", "b", "c", "2"]);
        trim(&mut ov, b"l", 5, 10, NOW).unwrap();
        assert_eq!(len(&ov, b"l", NOW).unwrap(), 0);
    }

    #[test]
    fn positions_rank_count_maxlen() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        rpush(&mut ov, b"l", &["a", "b", "c", "1", "2", "3", "c", "c"]);
        let p = |rank, count, maxlen| {
            positions(&ov, b"l", b"c", rank, count, maxlen, NOW)
                .unwrap()
                .unwrap()
        };
        assert_eq!(p(1, 0, 0), [2, 6, 7]);
        assert_eq!(p(2, 1, 0), [6]);
        assert_eq!(p(-1, 2, 0), [7, 6]);
        assert_eq!(p(1, 0, 3), [2]);
        assert_eq!(p(-1, 0, 1), [7]);
        assert_eq!(p(i64::MIN, 0, 0), [7, 6, 2]);
        assert!(positions(&ov, b"nx", b"c", 1, 0, 0, NOW).unwrap().is_none());
    }

    #[test]
    fn lmove_rotates_and_creates() {
        let e = MemoryEngine::new();
        let mut ov = Overlay::new(&e as &dyn Engine);
        rpush(&mut ov, b"l", &["a", "b", "c"]);
        let m = lmove(&mut ov, b"l", b"l", End::Right, End::Left, NOW, 1).unwrap();
        assert_eq!(m, Some(b"c".to_vec()));
        assert_eq!(all(&ov, b"l"), ["c", "a", "b"]);
        lmove(&mut ov, b"l", b"d", End::Left, End::Right, NOW, 2).unwrap();
        assert_eq!(all(&ov, b"d"), ["c"]);
        assert_eq!(
            lmove(&mut ov, b"nx", b"d", End::Left, End::Left, NOW, 3).unwrap(),
            None
        );
    }

    #[test]
    fn range_normalisation() {
        assert_eq!(normalize_range(0, -1, 3), Some((0, 2)));
        assert_eq!(normalize_range(-10, 10, 3), Some((0, 2)));
        assert_eq!(normalize_range(2, 1, 3), None);
        assert_eq!(normalize_range(3, 5, 3), None);
        assert_eq!(normalize_range(0, -10, 3), None);
        assert_eq!(normalize_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }
}
