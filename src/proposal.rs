//! What a Raft entry of a data shard carries: commands, not effects.
//!
//! The leader stamps each proposal with its wall-clock time and a random
//! seed; apply uses those instead of the local clock and RNG, so every
//! replica computes the same result (TTLs, SPOP, SRANDMEMBER).
//!
//! ```text
//! [format: u8 = 1][time_ms: u64 BE][seed: u64 BE][commands: u32 BE]
//!   per command: [argc: u32 BE] then per arg [len: u32 BE][bytes]
//! ```
//! Several commands in one proposal are applied atomically.
//!
//! A transaction (EXEC) is format 2: the same, with its WATCHed keys
//! between the seed and the commands. Apply checks them first (nil reply,
//! nothing run, if one changed) and always answers an array.
//!
//! ```text
//! [format: u8 = 2][time_ms: u64 BE][seed: u64 BE][watches: u32 BE]
//!   per watch: [len: u32 BE][key][stamp: u64 BE][seen: u8][since: u64 BE]
//! [commands: u32 BE] … as above
//! ```

use bytes::Bytes;

use crate::keyspace::{Watch, WatchedAs};

const FORMAT: u8 = 1;
const FORMAT_TX: u8 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub time_ms: u64,
    pub seed: u64,
    pub commands: Vec<Vec<Bytes>>,
    /// A transaction (MULTI/EXEC) with its watched keys.
    pub tx: Option<Vec<Watch>>,
}

impl Proposal {
    /// A proposal stamped now, with a fresh seed.
    pub fn new(commands: Vec<Vec<Bytes>>) -> Proposal {
        Proposal {
            time_ms: crate::clock::now_ms(),
            seed: rand::random(),
            commands,
            tx: None,
        }
    }

    /// A transaction: `commands` run atomically if no key of `watches`
    /// changed.
    pub fn transaction(commands: Vec<Vec<Bytes>>, watches: Vec<Watch>) -> Proposal {
        Proposal {
            tx: Some(watches),
            ..Proposal::new(commands)
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .commands
            .iter()
            .map(|c| 4 + c.iter().map(|a| 4 + a.len()).sum::<usize>())
            .sum();
        let mut v = Vec::with_capacity(21 + size);
        v.push(if self.tx.is_some() { FORMAT_TX } else { FORMAT });
        v.extend_from_slice(&self.time_ms.to_be_bytes());
        v.extend_from_slice(&self.seed.to_be_bytes());
        if let Some(watches) = &self.tx {
            v.extend_from_slice(&(watches.len() as u32).to_be_bytes());
            for w in watches {
                v.extend_from_slice(&(w.key.len() as u32).to_be_bytes());
                v.extend_from_slice(&w.key);
                v.extend_from_slice(&w.stamp.to_be_bytes());
                v.push(w.seen as u8);
                v.extend_from_slice(&w.since.to_be_bytes());
            }
        }
        v.extend_from_slice(&(self.commands.len() as u32).to_be_bytes());
        for cmd in &self.commands {
            v.extend_from_slice(&(cmd.len() as u32).to_be_bytes());
            for arg in cmd {
                v.extend_from_slice(&(arg.len() as u32).to_be_bytes());
                v.extend_from_slice(arg);
            }
        }
        v
    }

    /// Decodes a proposal; `None` if the bytes are not one (a corrupt entry
    /// is skipped identically on every replica).
    pub fn decode(data: &[u8]) -> Option<Proposal> {
        let mut r = Reader { data, pos: 0 };
        let format = r.u8()?;
        if format != FORMAT && format != FORMAT_TX {
            return None;
        }
        let time_ms = r.u64()?;
        let seed = r.u64()?;
        let mut tx = None;
        if format == FORMAT_TX {
            let n = r.u32()? as usize;
            let mut watches = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let len = r.u32()? as usize;
                let key = r.take(len)?.to_vec();
                let stamp = r.u64()?;
                let seen = match r.u8()? {
                    0 => WatchedAs::Absent,
                    1 => WatchedAs::Live,
                    2 => WatchedAs::Expired,
                    _ => return None,
                };
                let since = r.u64()?;
                watches.push(Watch {
                    key,
                    stamp,
                    seen,
                    since,
                });
            }
            tx = Some(watches);
        }
        let n = r.u32()? as usize;
        let mut commands = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let argc = r.u32()? as usize;
            let mut args = Vec::with_capacity(argc.min(1024));
            for _ in 0..argc {
                let len = r.u32()? as usize;
                args.push(Bytes::copy_from_slice(r.take(len)?));
            }
            commands.push(args);
        }
        (r.pos == data.len()).then_some(Proposal {
            time_ms,
            seed,
            commands,
            tx,
        })
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Proposal {
            time_ms: 42,
            seed: 7,
            commands: vec![vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("")]],
            tx: None,
        };
        assert_eq!(Proposal::decode(&p.encode()), Some(p.clone()));
        let mut bad = p.encode();
        bad.push(0);
        assert_eq!(Proposal::decode(&bad), None);
        assert_eq!(Proposal::decode(&[1, 2, 3]), None);
    }

    #[test]
    fn transaction_round_trip() {
        let w = |key: &str, seen| Watch {
            key: key.as_bytes().to_vec(),
            stamp: 9,
            seen,
            since: 3,
        };
        let p = Proposal {
            time_ms: 1,
            seed: 2,
            commands: vec![vec![Bytes::from("GET"), Bytes::from("k")]],
            tx: Some(vec![w("a", WatchedAs::Live), w("", WatchedAs::Expired)]),
        };
        assert_eq!(Proposal::decode(&p.encode()), Some(p.clone()));
        let empty = Proposal::transaction(Vec::new(), Vec::new());
        assert_eq!(Proposal::decode(&empty.encode()), Some(empty));
        let mut bad = p.encode();
        bad.truncate(bad.len() - 1);
        assert_eq!(Proposal::decode(&bad), None);
    }
}
