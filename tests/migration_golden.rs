//! The slot migration golden script (`tests/golden/migration.txt`): the
//! steps of a slot migration applied to the source's and the target's
//! state machines, with the replies clients get at each point (see
//! `src/migration.rs`).

#[path = "../cluster/tests/golden_runner/mod.rs"]
mod golden_runner;

use bytes::Bytes;
use redraft::keyspace;
use redraft::migration::{moving, State, COMMAND};
use redraft::proposal::Proposal;
use redraft_cluster::{key_slot, ShardId, Slot};
use redraft_resp::Reply;

use std::sync::Arc;

use parking_lot::RwLock;
use redraft_cluster::StateMachine;

use redraft::apply::{stored_ranges, KvStateMachine};
use redraft::engine::memory::MemoryEngine;
use redraft::engine::Engine;
use redraft::node::SlotMap;

/// One shard's replica in the golden script: its state machine on its
/// own engine (the shards of a migration are on different nodes).
struct Replica {
    shard: ShardId,
    engine: Arc<dyn Engine>,
    sm: KvStateMachine,
    index: u64,
}

impl Replica {
    fn new(shard: ShardId) -> Replica {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
        let mut sm = KvStateMachine::new(
            engine.clone(),
            Arc::new(RwLock::new(SlotMap::even(2))),
            Arc::default(),
            Arc::new(redraft::meta::MapView::new(Default::default())),
        );
        sm.restore(shard, 5, b"m", &[]).expect("bootstrap");
        Replica {
            shard,
            engine,
            sm,
            index: 5,
        }
    }

    fn apply(&mut self, args: Vec<Bytes>) -> Reply {
        self.index += 1;
        let data = Proposal {
            time_ms: 1_000_000,
            seed: 7,
            commands: vec![args],
            tx: None,
        }
        .encode();
        self.sm
            .apply(self.shard, &[(self.index, &data[..])])
            .pop()
            .expect("a reply")
    }

    fn describe(&self, slot: Slot) -> String {
        let state = State::read(self.engine.as_ref(), self.shard).expect("state");
        let ranges: Vec<String> = stored_ranges(&self.engine, self.shard)
            .unwrap_or_default()
            .iter()
            .map(|r| r.to_string())
            .collect();
        let keys =
            keyspace::keys_in_slot(self.engine.as_ref(), slot, 1_000_000, 1000).expect("keys");
        let keys: Vec<String> = keys
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        let moving: Vec<String> = moving(self.engine.as_ref(), slot)
            .expect("moving")
            .iter()
            .map(|(k, b, _, _)| format!("{}@{b}", String::from_utf8_lossy(k)))
            .collect();
        format!(
            "shard {}: slots {} | out {:?} | in {:?} | keys [{}] | moving [{}]",
            self.shard,
            ranges.join(","),
            state.out.map(|o| (o.slot, o.to)),
            state.inc.map(|i| (i.slot, i.from, i.last_batch)),
            keys.join(" "),
            moving.join(" ")
        )
    }
}

fn show(r: &Reply) -> String {
    match r {
        Reply::Status(s) => format!("+{}", String::from_utf8_lossy(s)),
        Reply::Error(e) => format!("-{e}"),
        Reply::Integer(n) => format!(":{n}"),
        Reply::Bulk(b) => format!("\"{}\"", String::from_utf8_lossy(b)),
        Reply::Null => "(nil)".into(),
        Reply::Array(items) => {
            let v: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", v.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// The migration golden script (`tests/golden/migration.txt`): the
/// steps of a slot migration applied to the source's and the target's
/// state machines, with the replies clients get at each point.
///
/// Commands: `source|target <command> <args…>` applies a client
/// command (or a migration step: `STEP <name> <args…>`, the driver's
/// entry) to that shard and prints its reply; `ship [again]` imports
/// the source's oldest moving batch into the target (twice with
/// `again`) and `ack` drops it at the source, as the driver does; `state`
/// prints both
/// shards' slots, migration state, keys and moving records of the
/// migrating slot. The source is shard 2 (slots 8192-16383, slot 15627
/// of `{m}` among them), the target shard 1.
#[test]
fn migration_golden_script() {
    let slot = key_slot(b"m");
    let mut source = Replica::new(2);
    let mut target = Replica::new(1);
    golden_runner::run_golden("migration.txt", |command| {
        let words: Vec<&str> = command.split_whitespace().collect();
        if words[0] == "state" {
            return format!("{}\n{}\n", source.describe(slot), target.describe(slot));
        }
        if words[0] == "ack" {
            // The driver's ACK of the oldest moving batch, at the source.
            let records = moving(source.engine.as_ref(), slot).expect("moving");
            let Some(batch) = records.iter().map(|r| r.1).min() else {
                return "nothing moving\n".into();
            };
            let args = vec![
                Bytes::from_static(COMMAND),
                Bytes::from_static(b"ACK"),
                Bytes::from(slot.to_string()),
                Bytes::from(batch.to_string()),
            ];
            return format!("batch {batch}: {}\n", show(&source.apply(args)));
        }
        if words[0] == "ship" {
            // The driver's IMPORT: the source's moving records of the
            // oldest batch, to the target.
            let records = moving(source.engine.as_ref(), slot).expect("moving");
            let Some(batch) = records.iter().map(|r| r.1).min() else {
                return "nothing moving\n".into();
            };
            let mut args = vec![
                Bytes::from_static(COMMAND),
                Bytes::from_static(b"IMPORT"),
                Bytes::from(slot.to_string()),
                Bytes::from(batch.to_string()),
            ];
            for (key, _, expire, payload) in records.into_iter().filter(|r| r.1 == batch) {
                args.push(key.into());
                args.push(expire.to_string().into());
                args.push(payload.into());
            }
            let again = words.get(1) == Some(&"again");
            let mut out = format!("batch {batch}: {}\n", show(&target.apply(args.clone())));
            if again {
                out.push_str(&format!("again: {}\n", show(&target.apply(args))));
            }
            return out;
        }
        let replica = match words[0] {
            "source" => &mut source,
            "target" => &mut target,
            other => panic!("unknown replica {other:?}"),
        };
        let args: Vec<Bytes> = if words[1] == "STEP" {
            let mut a = vec![Bytes::from_static(COMMAND)];
            a.extend(words[2..].iter().map(|w| Bytes::from(w.to_string())));
            a
        } else {
            words[1..]
                .iter()
                .map(|w| Bytes::from(w.to_string()))
                .collect()
        };
        let reply = replica.apply(args);
        format!("{}\n", show(&reply))
    });
}
