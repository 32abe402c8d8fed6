//! Per-connection state, and the registry CLIENT LIST/KILL read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use redraft_resp::Protocol;
use tokio::sync::Notify;

/// The part of a client other connections may see (CLIENT LIST, KILL).
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub name: Mutex<Option<Bytes>>,
    pub lib_name: Mutex<Option<Bytes>>,
    pub lib_ver: Mutex<Option<Bytes>>,
    /// Lowercase name of the last command run.
    pub last_cmd: Mutex<String>,
    /// Milliseconds since `created` at the last command.
    pub last_active_ms: AtomicU64,
    pub resp: AtomicU64,
    killed: AtomicBool,
    kill: Notify,
}

impl ClientHandle {
    /// Asks the connection to close (CLIENT KILL).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Resolves once the client is killed.
    pub async fn killed(&self) {
        while !self.is_killed() {
            self.kill.notified().await;
        }
    }
}

/// Every connected client of this node.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<HashMap<u64, Arc<ClientHandle>>>,
}

impl ClientRegistry {
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let h = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            last_cmd: Mutex::new("NULL".into()),
            last_active_ms: AtomicU64::new(0),
            resp: AtomicU64::new(2),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        });
        self.clients.lock().insert(id, h.clone());
        h
    }

    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Connected clients, by id.
    pub fn list(&self) -> Vec<Arc<ClientHandle>> {
        let mut v: Vec<_> = self.clients.lock().values().cloned().collect();
        v.sort_by_key(|c| c.id);
        v
    }

    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One connection's state.
pub struct Session {
    pub handle: Arc<ClientHandle>,
    pub protocol: Protocol,
    pub authenticated: bool,
    /// READONLY: reads may be served by a replica.
    pub readonly: bool,
    /// ASKING: the next command may touch an importing slot.
    pub asking: bool,
    /// QUIT, or a protocol error: close once the reply is written.
    pub close_after_reply: bool,
}

impl Session {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Session {
        Session {
            handle,
            protocol: Protocol::Resp2,
            authenticated,
            readonly: false,
            asking: false,
            close_after_reply: false,
        }
    }

    pub fn id(&self) -> u64 {
        self.handle.id
    }
}
