//! Pending writes over an engine: the view Raft apply works in.
//!
//! Apply runs many commands (several Raft entries) into one engine batch.
//! Each command must see the writes of the commands before it, so reads go
//! through the pending map first. `into_batch` yields the writes in the
//! order they were made, with only the last write of each key.

use std::collections::BTreeMap;
use std::io;
use std::ops::Bound;

use super::KvRead;
use crate::engine::{Engine, KeyRange, KvIter, KvPair, WriteBatch};

pub struct Overlay<'a> {
    engine: &'a dyn Engine,
    /// `None` marks a deletion.
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Overlay<'a> {
    pub fn new(engine: &'a dyn Engine) -> Overlay<'a> {
        Overlay {
            engine,
            pending: BTreeMap::new(),
        }
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.pending.insert(key, None);
    }

    /// Deletes every key in `range` (engine keys and pending ones).
    pub fn delete_range(&mut self, range: KeyRange) -> io::Result<()> {
        let keys: Vec<Vec<u8>> = self
            .scan(range)
            .map(|r| r.map(|(k, _)| k))
            .collect::<io::Result<_>>()?;
        for k in keys {
            self.pending.insert(k, None);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn into_batch(self) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for (k, v) in self.pending {
            match v {
                Some(v) => batch.put(k, v),
                None => batch.delete(k),
            }
        }
        batch
    }

    fn pending_in(&self, range: &KeyRange) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let r = (as_ref_bound(&range.0), as_ref_bound(&range.1));
        self.pending
            .range::<[u8], _>(r)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl KvRead for Overlay<'_> {
    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.engine.get(key),
        }
    }

    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        let pending = self.pending_in(&range);
        Box::new(Merge::new(self.engine.scan(range), pending, false))
    }

    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        let mut pending = self.pending_in(&range);
        pending.reverse();
        Box::new(Merge::new(self.engine.scan_rev(range), pending, true))
    }
}

/// Merges an engine iterator with pending writes (which win on equal keys).
/// A pending write: a put (`Some`) or a delete (`None`) of a key.
type PendingOp = (Vec<u8>, Option<Vec<u8>>);

struct Merge<'a> {
    base: std::iter::Peekable<KvIter<'a>>,
    pending: std::iter::Peekable<std::vec::IntoIter<PendingOp>>,
    reverse: bool,
}

impl<'a> Merge<'a> {
    fn new(base: KvIter<'a>, pending: Vec<(Vec<u8>, Option<Vec<u8>>)>, reverse: bool) -> Self {
        Merge {
            base: base.peekable(),
            pending: pending.into_iter().peekable(),
            reverse,
        }
    }
}

impl Iterator for Merge<'_> {
    type Item = io::Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_pending = match (self.base.peek(), self.pending.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((bk, _))), Some((pk, _))) => {
                    if bk == pk {
                        self.base.next();
                        true
                    } else {
                        (pk < bk) != self.reverse
                    }
                }
            };
            if take_pending {
                let (k, v) = self.pending.next()?;
                if let Some(v) = v {
                    return Some(Ok((k, v)));
                }
            } else {
                return self.base.next();
            }
        }
    }
}
