//! A read view limited to the slots a node serves.
//!
//! What: [`ServedView`] wraps the engine and hides every data key outside
//! a set of slot ranges (system keys stay visible).
//!
//! Why: a node stores every shard it is a replica of, but, like a Redis
//! Cluster master, answers keyless reads (KEYS, SCAN, DBSIZE, RANDOMKEY)
//! about the slots it serves only, so a cluster client that asks every
//! master sees each key exactly once.

use std::cmp::Ordering;
use std::io;
use std::ops::Bound;

use redraft_cluster::SlotRange;

use super::{slots_key_range, KvRead, SYSTEM_PREFIX};
use crate::engine::{Engine, KeyRange, KvIter};

pub struct ServedView<'a> {
    inner: &'a dyn Engine,
    /// Disjoint key ranges, ascending; the system keys' range last.
    ranges: Vec<KeyRange>,
}

impl<'a> ServedView<'a> {
    /// A view of `inner` showing the keys of `slots` (merged, sorted slot
    /// ranges) and the system keys.
    pub fn new(inner: &'a dyn Engine, slots: &[SlotRange]) -> ServedView<'a> {
        let mut ranges: Vec<KeyRange> = slots.iter().map(|r| slots_key_range(*r)).collect();
        ranges.push((Bound::Included(vec![SYSTEM_PREFIX]), Bound::Unbounded));
        ServedView { inner, ranges }
    }

    fn covers(&self, key: &[u8]) -> bool {
        self.ranges
            .iter()
            .any(|(lo, hi)| lower_ok(lo, key) && upper_ok(hi, key))
    }

    fn parts(&self, range: &KeyRange) -> Vec<KeyRange> {
        self.ranges
            .iter()
            .filter_map(|r| intersect(r, range))
            .collect()
    }
}

fn lower_ok(lo: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match lo {
        Bound::Included(b) => key >= b.as_slice(),
        Bound::Excluded(b) => key > b.as_slice(),
        Bound::Unbounded => true,
    }
}

fn upper_ok(hi: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match hi {
        Bound::Included(b) => key <= b.as_slice(),
        Bound::Excluded(b) => key < b.as_slice(),
        Bound::Unbounded => true,
    }
}

/// The tighter of two lower bounds (`upper = false`) or upper bounds.
fn tighter(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>, upper: bool) -> Bound<Vec<u8>> {
    let key = |x: &Bound<Vec<u8>>| match x {
        Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
        Bound::Unbounded => None,
    };
    match (key(a), key(b)) {
        (None, _) => b.clone(),
        (_, None) => a.clone(),
        (Some(x), Some(y)) => match x.cmp(&y) {
            Ordering::Equal => {
                if matches!(a, Bound::Excluded(_)) {
                    a.clone()
                } else {
                    b.clone()
                }
            }
            Ordering::Less if upper => a.clone(),
            Ordering::Less => b.clone(),
            Ordering::Greater if upper => b.clone(),
            Ordering::Greater => a.clone(),
        },
    }
}

fn intersect(a: &KeyRange, b: &KeyRange) -> Option<KeyRange> {
    let lo = tighter(&a.0, &b.0, false);
    let hi = tighter(&a.1, &b.1, true);
    let empty = match (&lo, &hi) {
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Excluded(h) | Bound::Included(h)) => {
            l >= h
        }
        _ => false,
    };
    (!empty).then_some((lo, hi))
}

impl KvRead for ServedView<'_> {
    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        if self.covers(key) {
            self.inner.get(key)
        } else {
            Ok(None)
        }
    }

    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        let parts = self.parts(&range);
        Box::new(parts.into_iter().flat_map(move |r| self.inner.scan(r)))
    }

    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        let parts = self.parts(&range);
        Box::new(
            parts
                .into_iter()
                .rev()
                .flat_map(move |r| self.inner.scan_rev(r)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::WriteBatch;

    fn key(slot: u16, name: &str) -> Vec<u8> {
        let mut k = slot.to_be_bytes().to_vec();
        k.push(0);
        k.extend_from_slice(name.as_bytes());
        k
    }

    #[test]
    fn hides_unserved_slots_in_get_and_both_scans() {
        let e = MemoryEngine::default();
        let mut b = WriteBatch::new();
        for slot in [0u16, 5, 10, 100, 16383] {
            b.put(key(slot, "k"), b"v".to_vec());
        }
        b.put(vec![SYSTEM_PREFIX, b'x'], b"s".to_vec());
        e.write(b).unwrap();
        let v = ServedView::new(&e, &[SlotRange::new(5, 10), SlotRange::new(16383, 16383)]);
        assert_eq!(v.get(&key(5, "k")).unwrap(), Some(b"v".to_vec()));
        assert_eq!(v.get(&key(0, "k")).unwrap(), None);
        assert_eq!(v.get(&[SYSTEM_PREFIX, b'x']).unwrap(), Some(b"s".to_vec()));
        let all = (Bound::Unbounded, Bound::Excluded(vec![SYSTEM_PREFIX]));
        let fwd: Vec<Vec<u8>> = v.scan(all.clone()).map(|p| p.unwrap().0).collect();
        assert_eq!(fwd, vec![key(5, "k"), key(10, "k"), key(16383, "k")]);
        let rev: Vec<Vec<u8>> = v.scan_rev(all).map(|p| p.unwrap().0).collect();
        assert_eq!(rev, vec![key(16383, "k"), key(10, "k"), key(5, "k")]);
        let part = (Bound::Excluded(key(5, "k")), Bound::Included(key(100, "k")));
        let got: Vec<Vec<u8>> = v.scan(part).map(|p| p.unwrap().0).collect();
        assert_eq!(got, vec![key(10, "k")]);
    }
}
