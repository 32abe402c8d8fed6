//! Gossip: every [`GOSSIP_INTERVAL`] each node exchanges what it knows of
//! every shard's leader with each peer (one unary push-pull `Gossip` call;
//! the callee answers with its own state). A node learns from the members
//! of a shard who leads it, so it can redirect to it and list it in
//! CLUSTER SLOTS without hosting a replica. What the node does with the
//! states is up to its [`super::BusInbox`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tonic::transport::Channel;
use tracing::debug;

use super::peer::{client, connect};
use super::proto;
use super::Shared;

/// How often a node gossips with each peer.
pub const GOSSIP_INTERVAL: Duration = Duration::from_millis(250);
/// A gossip call unanswered this long fails (and reconnects next time).
pub const GOSSIP_TIMEOUT: Duration = Duration::from_secs(1);

/// What one node knows of one shard's leadership.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardLead {
    pub shard: u64,
    /// The Raft term in which `leader` leads.
    pub term: u64,
    pub leader: u64,
    /// The shard's voters, sorted.
    pub voters: Vec<u64>,
    /// The log index of the configuration `voters` come from.
    pub conf_index: u64,
    /// The shard's learners, sorted.
    pub learners: Vec<u64>,
}

impl ShardLead {
    /// Whether the configuration names `node` (as a voter or a learner).
    pub fn names(&self, node: u64) -> bool {
        self.voters.contains(&node) || self.learners.contains(&node)
    }
}

/// One side of a gossip exchange.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GossipState {
    pub from_node: u64,
    pub leads: Vec<ShardLead>,
    /// The sender's cluster map, when it has one.
    pub map: Option<crate::meta::ClusterMap>,
    /// `(node, ms ago)`: when the sender last exchanged gossip with each
    /// node it heard from.
    pub heard: Vec<(u64, u64)>,
}

impl GossipState {
    pub(super) fn to_proto(&self) -> proto::GossipState {
        proto::GossipState {
            from_node: self.from_node,
            leads: self
                .leads
                .iter()
                .map(|l| proto::ShardLead {
                    shard: l.shard,
                    term: l.term,
                    leader: l.leader,
                    voters: l.voters.clone(),
                    conf_index: l.conf_index,
                    learners: l.learners.clone(),
                })
                .collect(),
            map: self
                .map
                .as_ref()
                .map(crate::meta::encode)
                .unwrap_or_default()
                .into(),
            heard: self
                .heard
                .iter()
                .map(|&(node, ms_ago)| proto::HeardNode { node, ms_ago })
                .collect(),
        }
    }

    /// Decodes a received state; entries without a leader, and a map that
    /// does not decode, are dropped.
    pub(super) fn from_proto(p: proto::GossipState) -> GossipState {
        GossipState {
            from_node: p.from_node,
            leads: p
                .leads
                .into_iter()
                .filter(|l| l.leader != 0)
                .map(|l| {
                    let mut voters = l.voters;
                    voters.sort_unstable();
                    voters.dedup();
                    let mut learners = l.learners;
                    learners.sort_unstable();
                    learners.dedup();
                    ShardLead {
                        shard: l.shard,
                        term: l.term,
                        leader: l.leader,
                        voters,
                        conf_index: l.conf_index,
                        learners,
                    }
                })
                .collect(),
            map: (!p.map.is_empty())
                .then(|| crate::meta::decode(&p.map))
                .flatten(),
            heard: p.heard.iter().map(|h| (h.node, h.ms_ago)).collect(),
        }
    }
}

/// Gossips with peer `id` until the bus shuts down (the task is aborted
/// when the peer is removed).
pub(super) async fn run(shared: Arc<Shared>, id: u64, mut addr_rx: watch::Receiver<SocketAddr>) {
    let mut shutdown = shared.shutdown_rx();
    let mut channel: Option<Channel> = None;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(GOSSIP_INTERVAL) => {}
        }
        if addr_rx.has_changed().unwrap_or(false) {
            channel = None;
        }
        let addr = *addr_rx.borrow_and_update();
        let ch = match &channel {
            Some(c) => c.clone(),
            None => match tokio::time::timeout(GOSSIP_TIMEOUT, connect(&shared, addr)).await {
                Ok(Ok(c)) => {
                    channel = Some(c.clone());
                    c
                }
                Ok(Err(e)) => {
                    debug!(peer = id, %addr, error = %e, "gossip: cannot connect");
                    continue;
                }
                Err(_) => continue,
            },
        };
        let mine = shared.local_gossip();
        let mut rpc = client(ch);
        let call = rpc.gossip(mine);
        match tokio::time::timeout(GOSSIP_TIMEOUT, call).await {
            Ok(Ok(reply)) => {
                let theirs = GossipState::from_proto(reply.into_inner());
                if theirs.from_node == id && !shared.is_shut_down() {
                    shared.inbox.on_gossip(theirs);
                }
            }
            Ok(Err(status)) => {
                debug!(peer = id, %status, "gossip call failed");
                channel = None;
            }
            Err(_) => {
                debug!(peer = id, "gossip call timed out");
                channel = None;
            }
        }
    }
}
