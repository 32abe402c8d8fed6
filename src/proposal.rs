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
//! Several commands in one proposal (MULTI/EXEC) are applied atomically.

use bytes::Bytes;

const FORMAT: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub time_ms: u64,
    pub seed: u64,
    pub commands: Vec<Vec<Bytes>>,
}

impl Proposal {
    /// A proposal stamped now, with a fresh seed.
    pub fn new(commands: Vec<Vec<Bytes>>) -> Proposal {
        Proposal {
            time_ms: crate::clock::now_ms(),
            seed: rand::random(),
            commands,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self
            .commands
            .iter()
            .map(|c| 4 + c.iter().map(|a| 4 + a.len()).sum::<usize>())
            .sum();
        let mut v = Vec::with_capacity(21 + size);
        v.push(FORMAT);
        v.extend_from_slice(&self.time_ms.to_be_bytes());
        v.extend_from_slice(&self.seed.to_be_bytes());
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
        if r.u8()? != FORMAT {
            return None;
        }
        let time_ms = r.u64()?;
        let seed = r.u64()?;
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
        };
        assert_eq!(Proposal::decode(&p.encode()), Some(p.clone()));
        let mut bad = p.encode();
        bad.push(0);
        assert_eq!(Proposal::decode(&bad), None);
        assert_eq!(Proposal::decode(&[1, 2, 3]), None);
    }
}
