//! Per-connection state, and the registry CLIENT LIST/KILL read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use redraft_resp::Protocol;
use tokio::sync::Notify;

/// Connection flags other connections see in CLIENT LIST (`flags=`).
pub mod client_flags {
    /// READONLY: reads may be served by a replica (`r`).
    pub const READONLY: u32 = 1;
    /// CLIENT NO-EVICT ON (`e`).
    pub const NO_EVICT: u32 = 1 << 1;
    /// CLIENT NO-TOUCH ON (`T`).
    pub const NO_TOUCH: u32 = 1 << 2;
}

/// The part of a client other connections may see (CLIENT LIST, KILL).
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    /// The socket's file descriptor, or -1 when unknown.
    pub fd: AtomicI64,
    pub created: Instant,
    pub name: Mutex<Option<Bytes>>,
    pub lib_name: Mutex<Option<Bytes>>,
    pub lib_ver: Mutex<Option<Bytes>>,
    /// Lowercase name of the last command run.
    pub last_cmd: Mutex<String>,
    /// Milliseconds since `created` at the last command.
    pub last_active_ms: AtomicU64,
    pub resp: AtomicU64,
    /// [`client_flags`], mirrored from the session.
    pub flags: AtomicU32,
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

    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags.load(Ordering::Relaxed) & flag != 0
    }

    /// Seconds since the connection was accepted.
    pub fn age_secs(&self) -> u64 {
        self.created.elapsed().as_secs()
    }

    /// Seconds since the last command (or since the connection was
    /// accepted, before any).
    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
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
            fd: AtomicI64::new(-1),
            created: Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            last_cmd: Mutex::new("NULL".into()),
            last_active_ms: AtomicU64::new(0),
            resp: AtomicU64::new(2),
            flags: AtomicU32::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        });
        self.clients.lock().insert(id, h.clone());
        h
    }

    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// Connected clients, by id. A killed client is gone at once, as in
    /// Redis, though its task may not have unregistered it yet.
    pub fn list(&self) -> Vec<Arc<ClientHandle>> {
        let mut v: Vec<_> = self
            .clients
            .lock()
            .values()
            .filter(|c| !c.is_killed())
            .cloned()
            .collect();
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
    /// CLIENT REPLY OFF: no replies until CLIENT REPLY ON.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: how many more replies to drop (the SKIP
    /// command's own and the next command's).
    pub skip_replies: u8,
    /// CLIENT NO-EVICT ON.
    pub no_evict: bool,
    /// CLIENT NO-TOUCH ON: reads do not update access times.
    pub no_touch: bool,
    /// MULTI: the commands queued for EXEC.
    pub tx: Option<Transaction>,
    /// WATCHed keys with their state when watched.
    pub watched: Vec<crate::keyspace::Watch>,
}

/// An open MULTI block.
#[derive(Default)]
pub struct Transaction {
    pub commands: Vec<Vec<Bytes>>,
    /// A command failed to queue: EXEC answers EXECABORT.
    pub aborted: bool,
    /// A WATCHed key was seen changed while queueing: EXEC answers nil.
    /// From then on, as from `aborted`, commands are answered but not kept.
    pub touched: bool,
    /// The slot of the first kept command that has keys.
    pub slot: Option<redraft_cluster::Slot>,
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
            reply_off: false,
            skip_replies: 0,
            no_evict: false,
            no_touch: false,
            tx: None,
            watched: Vec::new(),
        }
    }

    pub fn id(&self) -> u64 {
        self.handle.id
    }

    /// Called once per command, after it ran: whether its reply must be
    /// dropped (CLIENT REPLY OFF/SKIP). The reply is still awaited so
    /// that ordering is kept, but never written.
    pub fn take_reply_silenced(&mut self) -> bool {
        if self.skip_replies > 0 {
            self.skip_replies -= 1;
            return true;
        }
        self.reply_off
    }

    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
        self.handle
            .resp
            .store(protocol.version() as u64, Ordering::Relaxed);
    }

    pub fn set_readonly(&mut self, on: bool) {
        self.readonly = on;
        self.set_flag(client_flags::READONLY, on);
    }

    pub fn set_no_evict(&mut self, on: bool) {
        self.no_evict = on;
        self.set_flag(client_flags::NO_EVICT, on);
    }

    pub fn set_no_touch(&mut self, on: bool) {
        self.no_touch = on;
        self.set_flag(client_flags::NO_TOUCH, on);
    }

    fn set_flag(&self, flag: u32, on: bool) {
        if on {
            self.handle.flags.fetch_or(flag, Ordering::Relaxed);
        } else {
            self.handle.flags.fetch_and(!flag, Ordering::Relaxed);
        }
    }

    /// RESET: back to a fresh connection's state (RESP2, no name, no
    /// READONLY/ASKING, replies on), authenticated again only if no
    /// password is required.
    pub fn reset(&mut self, password_required: bool) {
        self.set_protocol(Protocol::Resp2);
        *self.handle.name.lock() = None;
        self.set_readonly(false);
        self.asking = false;
        self.reply_off = false;
        self.skip_replies = 0;
        self.set_no_evict(false);
        self.set_no_touch(false);
        self.tx = None;
        self.watched.clear();
        self.authenticated = !password_required;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let reg = ClientRegistry::default();
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        Session::new(reg.register(a, a), true)
    }

    #[test]
    fn reply_skip_drops_two_replies() {
        let mut s = session();
        assert!(!s.take_reply_silenced());
        s.skip_replies = 2;
        assert!(s.take_reply_silenced());
        assert!(s.take_reply_silenced());
        assert!(!s.take_reply_silenced());
        s.reply_off = true;
        assert!(s.take_reply_silenced());
    }

    #[test]
    fn reset_clears_connection_state() {
        let mut s = session();
        s.set_protocol(Protocol::Resp3);
        s.set_readonly(true);
        s.set_no_evict(true);
        s.asking = true;
        *s.handle.name.lock() = Some(Bytes::from_static(b"n"));
        s.reset(true);
        assert_eq!(s.protocol, Protocol::Resp2);
        assert_eq!(s.handle.resp.load(Ordering::Relaxed), 2);
        assert!(!s.readonly && !s.asking && !s.authenticated);
        assert_eq!(s.handle.flags.load(Ordering::Relaxed), 0);
        assert!(s.handle.name.lock().is_none());
    }
}
