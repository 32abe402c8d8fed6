//! Hash slots, exactly as Redis Cluster computes them.
//!
//! `slot = CRC16-XMODEM(hashed part of key) mod 16384`, where the hashed
//! part is the text between the first `{` and the next `}` when that text
//! is non-empty, else the whole key.

use std::fmt;

/// Number of hash slots in the keyspace.
pub const SLOT_COUNT: u16 = 16384;

/// A hash slot, `0..16384`.
pub type Slot = u16;

/// The slot a key belongs to.
pub fn key_slot(key: &[u8]) -> Slot {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16::State::<crc16::XMODEM>::calculate(hashed) & (SLOT_COUNT - 1)
}

/// The `{tag}` part of a key that is hashed instead of the whole key.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let close = key[open + 1..].iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

/// An inclusive range of slots, as CLUSTER SLOTS and CLUSTER SHARDS show
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlotRange {
    pub start: Slot,
    pub end: Slot,
}

impl SlotRange {
    pub const ALL: SlotRange = SlotRange {
        start: 0,
        end: SLOT_COUNT - 1,
    };

    pub fn new(start: Slot, end: Slot) -> SlotRange {
        debug_assert!(start <= end && end < SLOT_COUNT);
        SlotRange { start, end }
    }

    pub fn contains(&self, slot: Slot) -> bool {
        self.start <= slot && slot <= self.end
    }

    pub fn len(&self) -> usize {
        usize::from(self.end - self.start) + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Splits `0..16384` into `n` contiguous ranges of near-equal size.
    pub fn split_even(n: u16) -> Vec<SlotRange> {
        let n = n.clamp(1, SLOT_COUNT);
        (0..n)
            .map(|i| {
                let start = (u32::from(SLOT_COUNT) * u32::from(i) / u32::from(n)) as u16;
                let end = (u32::from(SLOT_COUNT) * (u32::from(i) + 1) / u32::from(n)) as u16 - 1;
                SlotRange::new(start, end)
            })
            .collect()
    }
}

impl fmt::Display for SlotRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// `ranges` without the slots of `remove` (both ordered and disjoint).
pub fn subtract_ranges(ranges: &[SlotRange], remove: &[SlotRange]) -> Vec<SlotRange> {
    let mut out = Vec::new();
    for r in ranges {
        let mut start = u32::from(r.start);
        let end = u32::from(r.end);
        for x in remove {
            let (xs, xe) = (u32::from(x.start), u32::from(x.end));
            if xe < start || xs > end {
                continue;
            }
            if xs > start {
                out.push(SlotRange::new(start as u16, (xs - 1) as u16));
            }
            start = xe + 1;
        }
        if start <= end {
            out.push(SlotRange::new(start as u16, end as u16));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b""), 0);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    #[test]
    fn even_split_covers_everything() {
        for n in [1u16, 3, 7, 16384] {
            let ranges = SlotRange::split_even(n);
            assert_eq!(ranges.len(), n as usize);
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges.last().unwrap().end, SLOT_COUNT - 1);
            for w in ranges.windows(2) {
                assert_eq!(w[0].end + 1, w[1].start);
            }
        }
    }
}
