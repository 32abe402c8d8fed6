//! The client listener: accepts connections and serves each on its own task.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::node::{Node, Stats};

/// Accepts clients until the listener fails.
pub async fn run(node: Arc<Node>, listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        Stats::incr(&node.stats.connections_received, 1);
        if node.clients.len() >= node.settings.maxclients() {
            Stats::incr(&node.stats.rejected_connections, 1);
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        }
        tokio::spawn(crate::connection::serve(node.clone(), stream));
    }
}
