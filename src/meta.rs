//! The node's side of the cluster map (`redraft_cluster::meta`): the
//! metadata group's state machine (shard 0, applied by
//! [`crate::apply::KvStateMachine`]) and the map this node goes by.
//!
//! The map a node goes by is the newest (highest epoch) it has seen:
//! applied by the metadata group if it is a member, gossiped by its peers,
//! or answered to its join. It is kept in the engine (system key
//! `node-map`) so a restarted node knows its peers before it hears from
//! any of them.

use std::io;
use std::sync::Arc;

use parking_lot::RwLock;
use redraft_cluster::meta::{self, Applied, ClusterMap, MapCommand};
use redraft_resp::Reply;

use crate::apply::applied_key;
use crate::engine::{Engine, WriteBatch};
use crate::keyspace::system_key;

/// The newest cluster map this node has seen, shared by the metadata
/// state machine, gossip and the node's tasks.
pub struct MapView {
    map: RwLock<ClusterMap>,
}

impl MapView {
    pub fn new(map: ClusterMap) -> MapView {
        MapView {
            map: RwLock::new(map),
        }
    }

    /// The map (epoch 0: none yet).
    pub fn get(&self) -> ClusterMap {
        self.map.read().clone()
    }

    pub fn epoch(&self) -> u64 {
        self.map.read().epoch
    }

    /// Takes `map` if it is newer than the one held; returns whether it did.
    pub fn learn(&self, map: &ClusterMap) -> bool {
        let mut cur = self.map.write();
        if map.epoch <= cur.epoch {
            return false;
        }
        *cur = map.clone();
        true
    }
}

/// The system key of the metadata group's map (its state machine's state).
fn group_map_key() -> Vec<u8> {
    system_key(b"meta-map")
}

/// The system key of the map this node goes by.
fn node_map_key() -> Vec<u8> {
    system_key(b"node-map")
}

/// The map this node kept when it last ran (epoch 0 if none).
pub fn load_node_map(engine: &dyn Engine) -> io::Result<ClusterMap> {
    Ok(engine
        .get(&node_map_key())?
        .and_then(|b| meta::decode(&b))
        .unwrap_or_default())
}

/// Keeps `map` as the map this node goes by.
pub fn store_node_map(engine: &dyn Engine, map: &ClusterMap) -> io::Result<()> {
    let mut batch = WriteBatch::new();
    batch.put(node_map_key(), meta::encode(map));
    engine.write(batch)?;
    engine.sync()
}

/// The metadata group's state machine, on the node's engine.
pub struct MetaMachine {
    engine: Arc<dyn Engine>,
    view: Arc<MapView>,
}

impl MetaMachine {
    pub fn new(engine: Arc<dyn Engine>, view: Arc<MapView>) -> MetaMachine {
        MetaMachine { engine, view }
    }

    fn group_map(&self) -> ClusterMap {
        match self.engine.get(&group_map_key()) {
            Ok(b) => b.and_then(|b| meta::decode(&b)).unwrap_or_default(),
            Err(e) => panic!("cannot read the metadata group's map: {e}"),
        }
    }

    /// Applies committed commands of the metadata group.
    pub fn apply(&mut self, entries: &[(u64, &[u8])]) -> Vec<Reply> {
        let Some(&(last, _)) = entries.last() else {
            return Vec::new();
        };
        let mut map = self.group_map();
        let mut replies = Vec::with_capacity(entries.len());
        for &(_, data) in entries {
            if data.is_empty() {
                replies.push(Reply::Null);
                continue;
            }
            let reply = match meta::decode_command(data) {
                Some(cmd) => reply_of(meta::apply(&mut map, &cmd)),
                None => Reply::error("ERR corrupt cluster map command"),
            };
            replies.push(reply);
        }
        let mut batch = WriteBatch::new();
        batch.put(group_map_key(), meta::encode(&map));
        batch.put(applied_key(meta::META_SHARD), last.to_be_bytes().to_vec());
        if let Err(e) = self.engine.write(batch) {
            // Not deterministic: crash and replay rather than diverge.
            panic!("engine write failed while applying the cluster map: {e}");
        }
        self.view.learn(&map);
        replies
    }

    pub fn snapshot(&self, applied: u64) -> (u64, Vec<u8>) {
        (applied, meta::encode(&self.group_map()))
    }

    pub fn restore(
        &mut self,
        index: u64,
        meta_key: Vec<u8>,
        meta_bytes: &[u8],
        data: &[u8],
    ) -> io::Result<()> {
        let map = if data.is_empty() {
            ClusterMap::default()
        } else {
            meta::decode(data).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "corrupt cluster map snapshot")
            })?
        };
        let mut batch = WriteBatch::new();
        batch.put(group_map_key(), meta::encode(&map));
        batch.put(applied_key(meta::META_SHARD), index.to_be_bytes().to_vec());
        batch.put(meta_key, meta_bytes.to_vec());
        self.engine.write(batch)?;
        self.engine.sync()?;
        self.view.learn(&map);
        Ok(())
    }

    pub fn destroy(&mut self, meta_key: Vec<u8>) -> io::Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(group_map_key());
        batch.delete(applied_key(meta::META_SHARD));
        batch.delete(meta_key);
        self.engine.write(batch)?;
        self.engine.sync()
    }
}

/// The reply a proposer of a map command gets.
fn reply_of(applied: Applied) -> Reply {
    match applied {
        Applied::Initialized { epoch } => Reply::Integer(epoch as i64),
        Applied::Node { id, .. } | Applied::Shard { id, .. } => Reply::Integer(id as i64),
        Applied::Migration { slot, .. } => Reply::Integer(i64::from(slot)),
        Applied::Refused(why) => Reply::error(format!("ERR {why}")),
    }
}

/// The command that creates the map from the founding nodes' flags.
pub fn init_command(map: ClusterMap) -> Vec<u8> {
    meta::encode_command(&MapCommand {
        cmd: Some(meta::map_command::Cmd::Init(map)),
    })
}

/// The command that removes the drained node `id`.
pub fn remove_node_command(id: u64) -> Vec<u8> {
    meta::encode_command(&MapCommand {
        cmd: Some(meta::map_command::Cmd::RemoveNode(id)),
    })
}

/// The command that adds a node with client address `addr`.
pub fn add_node_command(addr: &str) -> Vec<u8> {
    meta::encode_command(&MapCommand {
        cmd: Some(meta::map_command::Cmd::AddNode(addr.to_string())),
    })
}
