//! The receiving side: the `redraft.bus.Bus` gRPC service.

use std::sync::Arc;

use bytes::BytesMut;
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, warn};

use super::proto::bus_server::{Bus as BusRpc, BusServer};
use super::proto::{
    GossipState, JoinReply, JoinRequest, ProposeReply, ProposeRequest, RaftBatch, RaftDone,
    SnapshotChunk, SnapshotDone,
};
use super::{Shared, MAX_GRPC_MESSAGE_BYTES};

/// Preallocation cap for a snapshot's data (it grows past this as chunks
/// arrive), so a bogus `total_len` cannot make the receiver allocate.
const SNAPSHOT_PREALLOC_MAX: usize = 64 << 20;

pub(super) struct Service {
    shared: Arc<Shared>,
}

pub(super) fn service(shared: Arc<Shared>) -> BusServer<Service> {
    BusServer::new(Service { shared })
        .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_GRPC_MESSAGE_BYTES)
}

/// The next item of `stream`, or `Unavailable` once the bus shuts down.
async fn next<T>(
    stream: &mut Streaming<T>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Option<T>, Status> {
    tokio::select! {
        biased;
        _ = shutdown.wait_for(|s| *s) => Err(Status::unavailable("cluster bus shutting down")),
        item = stream.message() => item,
    }
}

impl Service {
    /// Decodes a batch and delivers what decodes; drops the rest.
    fn deliver_batch(&self, batch: RaftBatch) {
        let mut msgs = Vec::with_capacity(batch.msgs.len());
        for env in batch.msgs {
            match Message::parse_from_carllerche_bytes(&env.msg) {
                Ok(msg) => msgs.push((env.shard, msg)),
                Err(e) => {
                    warn!(
                        from = batch.from_node,
                        shard = env.shard,
                        error = %e,
                        "cluster bus: malformed Raft message dropped"
                    );
                    self.shared.count_malformed();
                }
            }
        }
        if msgs.is_empty() || self.shared.is_shut_down() {
            return;
        }
        self.shared.count_received(msgs.len());
        self.shared.inbox.deliver(batch.from_node, msgs);
    }

    fn malformed(&self, from: u64, shard: u64, why: String) -> Status {
        warn!(from, shard, error = %why, "cluster bus: malformed snapshot dropped");
        self.shared.count_malformed();
        Status::invalid_argument(why)
    }
}

#[tonic::async_trait]
impl BusRpc for Service {
    async fn raft(
        &self,
        request: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<RaftDone>, Status> {
        let remote = request.remote_addr();
        let mut stream = request.into_inner();
        let mut shutdown = self.shared.shutdown_rx();
        loop {
            match next(&mut stream, &mut shutdown).await {
                Ok(Some(batch)) => self.deliver_batch(batch),
                Ok(None) => return Ok(Response::new(RaftDone {})),
                Err(status) => {
                    debug!(?remote, %status, "cluster bus: inbound Raft stream ended");
                    return Err(status);
                }
            }
        }
    }

    async fn snapshot(
        &self,
        request: Request<Streaming<SnapshotChunk>>,
    ) -> Result<Response<SnapshotDone>, Status> {
        let mut stream = request.into_inner();
        let mut shutdown = self.shared.shutdown_rx();
        let Some(first) = next(&mut stream, &mut shutdown).await? else {
            return Err(self.malformed(0, 0, "empty snapshot stream".into()));
        };
        let (from, shard) = (first.from_node, first.shard);
        let mut msg = Message::parse_from_carllerche_bytes(&first.msg)
            .map_err(|e| self.malformed(from, shard, format!("undecodable message: {e}")))?;
        if msg.get_msg_type() != MessageType::MsgSnapshot {
            return Err(self.malformed(
                from,
                shard,
                format!("{:?} on the snapshot stream", msg.get_msg_type()),
            ));
        }
        let total = usize::try_from(first.total_len)
            .map_err(|_| self.malformed(from, shard, "snapshot too large".into()))?;
        let mut data = BytesMut::with_capacity(total.min(SNAPSHOT_PREALLOC_MAX));
        let mut chunk = first.data;
        loop {
            if data.len() + chunk.len() > total {
                return Err(self.malformed(
                    from,
                    shard,
                    format!("more snapshot data than the announced {total} bytes"),
                ));
            }
            data.extend_from_slice(&chunk);
            match next(&mut stream, &mut shutdown).await? {
                Some(c) => chunk = c.data,
                None => break,
            }
        }
        if data.len() != total {
            return Err(self.malformed(
                from,
                shard,
                format!("snapshot data is {} bytes, {total} announced", data.len()),
            ));
        }
        if self.shared.is_shut_down() {
            return Err(Status::unavailable("cluster bus shutting down"));
        }
        msg.mut_snapshot().set_data(data.freeze());
        self.shared.count_snapshot_received();
        self.shared.inbox.deliver(from, vec![(shard, msg)]);
        Ok(Response::new(SnapshotDone {}))
    }

    async fn gossip(&self, request: Request<GossipState>) -> Result<Response<GossipState>, Status> {
        if self.shared.is_shut_down() {
            return Err(Status::unavailable("cluster bus shutting down"));
        }
        let theirs = super::gossip::GossipState::from_proto(request.into_inner());
        if theirs.from_node != 0 && theirs.from_node != self.shared.node_id {
            self.shared.inbox.on_gossip(theirs);
        }
        Ok(Response::new(self.shared.local_gossip()))
    }

    async fn propose(
        &self,
        request: Request<ProposeRequest>,
    ) -> Result<Response<ProposeReply>, Status> {
        if self.shared.is_shut_down() {
            return Err(Status::unavailable("cluster bus shutting down"));
        }
        let req = request.into_inner();
        Ok(Response::new(
            self.shared
                .inbox
                .propose(req.shard, req.data.to_vec())
                .await,
        ))
    }

    async fn join(&self, request: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        if self.shared.is_shut_down() {
            return Err(Status::unavailable("cluster bus shutting down"));
        }
        let addr = request.into_inner().addr;
        Ok(Response::new(self.shared.inbox.join(addr).await))
    }
}
