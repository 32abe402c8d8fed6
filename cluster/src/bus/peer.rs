//! The sending side: one task per peer for the `Raft` stream, one task
//! per snapshot transfer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tracing::{debug, warn};

use super::proto::bus_client::BusClient;
use super::proto::{Envelope, RaftBatch, SnapshotChunk};
use super::{
    DropReason, Shared, BACKOFF_MAX, BACKOFF_MIN, CONNECTION_WINDOW, CONNECT_TIMEOUT,
    KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, MAX_BATCH_BYTES, MAX_GRPC_MESSAGE_BYTES,
    PEER_QUEUE_MESSAGES, SNAPSHOT_CHUNK_BYTES, SNAPSHOT_TIMEOUT, STREAM_WINDOW,
};

/// Messages taken from the queue per wake-up.
const MAX_BATCH_MSGS: usize = 1024;
/// Batches buffered in the gRPC request stream.
const STREAM_BUFFER: usize = 4;
/// A stream that stayed up this long resets the reconnect backoff.
const STABLE_AFTER: Duration = Duration::from_secs(1);

const CONNECTING: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// One peer: its address, queue and sender task.
pub(super) struct Peer {
    id: u64,
    addr_tx: watch::Sender<SocketAddr>,
    queue: mpsc::Sender<(u64, Message)>,
    state: AtomicU8,
    last_unreachable: AtomicU64,
    task: parking_lot::Mutex<Option<JoinHandle<()>>>,
    gossip: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl Peer {
    /// Creates the peer and starts its sender task.
    pub(super) fn spawn(shared: &Arc<Shared>, id: u64, addr: SocketAddr) -> Arc<Peer> {
        let (addr_tx, addr_rx) = watch::channel(addr);
        let (queue, rx) = mpsc::channel(PEER_QUEUE_MESSAGES);
        let peer = Arc::new(Peer {
            id,
            addr_tx,
            queue,
            state: AtomicU8::new(CONNECTING),
            last_unreachable: AtomicU64::new(0),
            task: parking_lot::Mutex::new(None),
            gossip: parking_lot::Mutex::new(None),
        });
        let gossip = shared
            .rt
            .spawn(super::gossip::run(shared.clone(), id, addr_rx.clone()));
        *peer.gossip.lock() = Some(gossip);
        let task = shared
            .rt
            .spawn(run(shared.clone(), peer.clone(), rx, addr_rx));
        *peer.task.lock() = Some(task);
        peer
    }

    pub(super) fn set_addr(&self, addr: SocketAddr) {
        self.addr_tx.send_if_modified(|a| {
            let changed = *a != addr;
            *a = addr;
            changed
        });
    }

    pub(super) fn addr(&self) -> SocketAddr {
        *self.addr_tx.borrow()
    }

    pub(super) fn is_up(&self) -> bool {
        self.state.load(Ordering::Relaxed) == UP
    }

    pub(super) fn stop(&self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
        if let Some(task) = self.gossip.lock().take() {
            task.abort();
        }
    }

    /// Queues `msgs`; see [`super::Bus::send`].
    pub(super) fn send(self: &Arc<Self>, shared: &Arc<Shared>, msgs: Vec<(u64, Message)>) {
        let down = self.state.load(Ordering::Relaxed) == DOWN;
        let mut dropped = 0;
        let mut reason = DropReason::PeerDown;
        for (shard, msg) in msgs {
            if msg.get_msg_type() == MessageType::MsgSnapshot {
                let addr = self.addr();
                shared
                    .rt
                    .spawn(send_snapshot(shared.clone(), self.id, addr, shard, msg));
                continue;
            }
            if down {
                dropped += 1;
                continue;
            }
            if self.queue.try_send((shard, msg)).is_err() {
                dropped += 1;
                reason = DropReason::QueueFull;
            }
        }
        if dropped > 0 {
            shared.count_dropped(dropped, reason);
            shared.report_unreachable(self.id, &self.last_unreachable);
        }
    }
}

/// Why a connected stream ended.
enum StreamEnd {
    Shutdown,
    AddrChanged,
    Broken(String),
}

async fn shutdown_signal(rx: &mut watch::Receiver<bool>) {
    // An error means the bus is gone: also a shutdown.
    let _ = rx.wait_for(|s| *s).await;
}

async fn addr_changed(rx: &mut watch::Receiver<SocketAddr>) {
    if rx.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Opens a connection (TCP, TLS when configured, HTTP/2) to `addr`.
pub(super) async fn connect(shared: &Shared, addr: SocketAddr) -> Result<Channel, String> {
    connect_with(shared.client_tls.as_ref(), addr).await
}

/// Connects to the bus at `addr`, over TLS with `client_tls` if given.
pub(super) async fn connect_with(
    client_tls: Option<&ClientTlsConfig>,
    addr: SocketAddr,
) -> Result<Channel, String> {
    let scheme = if client_tls.is_some() {
        "https"
    } else {
        "http"
    };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    if let Some(tls) = client_tls {
        endpoint = endpoint
            .tls_config(tls.clone())
            .map_err(|e| format!("{e:?}"))?;
    }
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

pub(super) fn client(channel: Channel) -> BusClient<Channel> {
    BusClient::new(channel)
        .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES)
}

/// The sender task of one peer: connect, stream, reconnect with backoff.
async fn run(
    shared: Arc<Shared>,
    peer: Arc<Peer>,
    mut rx: mpsc::Receiver<(u64, Message)>,
    mut addr_rx: watch::Receiver<SocketAddr>,
) {
    let mut shutdown = shared.shutdown_rx();
    let mut backoff = BACKOFF_MIN;
    loop {
        if shared.is_shut_down() {
            return;
        }
        let addr = *addr_rx.borrow_and_update();
        let started = Instant::now();
        let connected = tokio::select! {
            biased;
            _ = shutdown_signal(&mut shutdown) => return,
            _ = addr_changed(&mut addr_rx) => continue,
            r = connect(&shared, addr) => r,
        };
        let why = match connected {
            Ok(channel) => {
                peer.state.store(UP, Ordering::Relaxed);
                debug!(peer = peer.id, %addr, "cluster bus connected");
                match stream(&shared, channel, &mut rx, &mut addr_rx, &mut shutdown).await {
                    StreamEnd::Shutdown => return,
                    StreamEnd::AddrChanged => {
                        backoff = BACKOFF_MIN;
                        continue;
                    }
                    StreamEnd::Broken(why) => why,
                }
            }
            Err(why) => why,
        };
        if peer.state.swap(DOWN, Ordering::Relaxed) != DOWN {
            warn!(peer = peer.id, %addr, error = %why, "cluster bus: peer unreachable");
        } else {
            debug!(peer = peer.id, %addr, error = %why, "cluster bus: reconnect failed");
        }
        // What was queued for the dead stream is stale; Raft resends.
        let mut stale = 0;
        while rx.try_recv().is_ok() {
            stale += 1;
        }
        shared.count_dropped(stale, DropReason::PeerDown);
        shared.report_unreachable(peer.id, &peer.last_unreachable);

        if started.elapsed() >= STABLE_AFTER {
            backoff = BACKOFF_MIN;
        }
        tokio::select! {
            biased;
            _ = shutdown_signal(&mut shutdown) => return,
            _ = addr_changed(&mut addr_rx) => {
                backoff = BACKOFF_MIN;
                continue;
            }
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Streams the queue to a connected peer until the stream breaks, the
/// address changes or the bus shuts down.
async fn stream(
    shared: &Shared,
    channel: Channel,
    rx: &mut mpsc::Receiver<(u64, Message)>,
    addr_rx: &mut watch::Receiver<SocketAddr>,
    shutdown: &mut watch::Receiver<bool>,
) -> StreamEnd {
    let mut client = client(channel);
    let (stx, srx) = mpsc::channel::<RaftBatch>(STREAM_BUFFER);
    let call = client.raft(ReceiverStream::new(srx));
    tokio::pin!(call);
    let mut pending: VecDeque<RaftBatch> = VecDeque::new();
    let mut buf = Vec::with_capacity(MAX_BATCH_MSGS);
    loop {
        if pending.is_empty() {
            tokio::select! {
                biased;
                _ = shutdown_signal(shutdown) => return StreamEnd::Shutdown,
                _ = addr_changed(addr_rx) => return StreamEnd::AddrChanged,
                r = &mut call => return StreamEnd::Broken(ended(r)),
                n = rx.recv_many(&mut buf, MAX_BATCH_MSGS) => {
                    if n == 0 {
                        return StreamEnd::Shutdown;
                    }
                    encode_batches(shared, buf.drain(..), &mut pending);
                }
            }
        } else {
            tokio::select! {
                biased;
                _ = shutdown_signal(shutdown) => return StreamEnd::Shutdown,
                _ = addr_changed(addr_rx) => return StreamEnd::AddrChanged,
                r = &mut call => return StreamEnd::Broken(ended(r)),
                permit = stx.reserve() => match permit {
                    Ok(permit) => {
                        let batch = pending.pop_front().expect("pending is not empty");
                        shared.count_sent(batch.msgs.len());
                        permit.send(batch);
                    }
                    Err(_) => return StreamEnd::Broken("request stream closed".into()),
                },
            }
        }
    }
}

fn ended<T>(r: Result<T, tonic::Status>) -> String {
    match r {
        Ok(_) => "peer ended the stream".to_string(),
        Err(status) => format!("{}: {}", status.code(), status.message()),
    }
}

/// Encodes messages into batches of at most [`MAX_BATCH_BYTES`] (a single
/// bigger message gets a batch of its own).
fn encode_batches(
    shared: &Shared,
    msgs: impl Iterator<Item = (u64, Message)>,
    out: &mut VecDeque<RaftBatch>,
) {
    let mut batch = RaftBatch {
        from_node: shared.node_id,
        msgs: Vec::new(),
    };
    let mut size = 0;
    for (shard, msg) in msgs {
        let bytes = match msg.write_to_bytes() {
            Ok(b) => b,
            Err(e) => {
                warn!(shard, error = %e, "cluster bus: cannot encode a Raft message; dropped");
                shared.count_dropped(1, DropReason::EncodeError);
                continue;
            }
        };
        if !batch.msgs.is_empty() && size + bytes.len() > MAX_BATCH_BYTES {
            out.push_back(std::mem::replace(
                &mut batch,
                RaftBatch {
                    from_node: shared.node_id,
                    msgs: Vec::new(),
                },
            ));
            size = 0;
        }
        size += bytes.len();
        batch.msgs.push(Envelope {
            shard,
            msg: Bytes::from(bytes),
        });
    }
    if !batch.msgs.is_empty() {
        out.push_back(batch);
    }
}

/// Sends one `MsgSnapshot` on its own connection and reports the outcome
/// with `snapshot_status`.
async fn send_snapshot(
    shared: Arc<Shared>,
    to: u64,
    addr: SocketAddr,
    shard: u64,
    mut msg: Message,
) {
    let mut shutdown = shared.shutdown_rx();
    let transfer = async {
        let _slot = shared
            .snapshot_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(
            SNAPSHOT_TIMEOUT,
            transfer_snapshot(&shared, addr, shard, &mut msg),
        )
        .await
        .map_err(|_| format!("timed out after {SNAPSHOT_TIMEOUT:?}"))?
    };
    let result = tokio::select! {
        biased;
        _ = shutdown_signal(&mut shutdown) => return,
        r = transfer => r,
    };
    let ok = match result {
        Ok(len) => {
            shared.count_snapshot_sent();
            debug!(shard, peer = to, bytes = len, "cluster bus: snapshot sent");
            true
        }
        Err(why) => {
            warn!(shard, peer = to, %addr, error = %why, "cluster bus: snapshot transfer failed");
            false
        }
    };
    if !shared.is_shut_down() {
        shared.inbox.snapshot_status(shard, to, ok);
    }
}

async fn transfer_snapshot(
    shared: &Shared,
    addr: SocketAddr,
    shard: u64,
    msg: &mut Message,
) -> Result<usize, String> {
    let data = msg.mut_snapshot().take_data();
    let header = msg
        .write_to_bytes()
        .map_err(|e| format!("cannot encode the snapshot message: {e}"))?;
    let chunks = snapshot_chunks(shared.node_id, shard, Bytes::from(header), data.clone());
    let channel = connect(shared, addr).await?;
    let result = client(channel)
        .snapshot(tokio_stream::iter(chunks))
        .await
        .map(|_| data.len())
        .map_err(|s| format!("{}: {}", s.code(), s.message()));
    msg.mut_snapshot().set_data(data);
    result
}

/// Splits a snapshot into the chunks of one `Snapshot` call.
fn snapshot_chunks(from_node: u64, shard: u64, header: Bytes, data: Bytes) -> Vec<SnapshotChunk> {
    let total = data.len();
    let mut chunks = Vec::with_capacity(total / SNAPSHOT_CHUNK_BYTES + 1);
    let first_end = total.min(SNAPSHOT_CHUNK_BYTES);
    chunks.push(SnapshotChunk {
        from_node,
        shard,
        msg: header,
        data: data.slice(..first_end),
        total_len: total as u64,
    });
    let mut off = first_end;
    while off < total {
        let end = (off + SNAPSHOT_CHUNK_BYTES).min(total);
        chunks.push(SnapshotChunk {
            data: data.slice(off..end),
            ..Default::default()
        });
        off = end;
    }
    chunks
}
