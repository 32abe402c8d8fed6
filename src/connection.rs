//! One client connection: read, parse, dispatch, reply, in order.
//!
//! Pipelining: every complete request in the read buffer is handled before
//! the replies are flushed in one write. Consecutive writes are proposed
//! without waiting for each other (they commit together), but any other
//! command first waits for the writes before it, so a pipeline reads its
//! own writes and replies keep the order of requests.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::BytesMut;
use redraft_resp::{parse_request, Limits, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dispatch::{dispatch, dispatch_confirmed, Outcome, PendingWrite};
use crate::node::{Node, Stats};
use crate::session::Session;

/// Replies not yet written, in request order, each with whether it is
/// silenced (CLIENT REPLY OFF/SKIP: awaited for ordering, never written).
enum Slot {
    Ready(Reply, bool),
    Waiting(PendingWrite, bool),
}

pub async fn serve(node: Arc<Node>, mut stream: TcpStream) {
    let (Ok(addr), Ok(laddr)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let handle = node.clients.register(addr, laddr);
    handle.fd.store(
        std::os::fd::AsRawFd::as_raw_fd(&stream) as i64,
        std::sync::atomic::Ordering::Relaxed,
    );
    let mut session = Session::new(handle.clone(), node.settings.requirepass().is_none());
    let mut limits = Limits {
        max_bulk_len: node.settings.proto_max_bulk_len(),
        ..Limits::default()
    };
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut queue: VecDeque<Slot> = VecDeque::new();

    'conn: loop {
        let n = tokio::select! {
            // A kill wins over input that arrived at the same time: once
            // CLIENT KILL answered, this connection runs nothing more.
            biased;
            _ = handle.killed() => break 'conn,
            r = stream.read_buf(&mut inbuf) => match r {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => n,
            },
        };
        if handle.is_killed() {
            break 'conn;
        }
        Stats::incr(&node.stats.net_input_bytes, n as u64);
        loop {
            // Judged per request: one pipelined behind AUTH gets the
            // authenticated limits, as in Redis.
            limits.unauthenticated = !session.authenticated;
            match parse_request(&mut inbuf, &limits) {
                Ok(Some(req)) => {
                    Stats::incr(&node.stats.commands_processed, 1);
                    handle.last_active_ms.store(
                        handle.created.elapsed().as_millis() as u64,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    let spec = crate::cmd::lookup(&req.args[0]);
                    let is_write = spec.is_some_and(|c| c.is_write());
                    if !is_write {
                        drain(&node, &mut queue, &session, &mut out).await;
                    }
                    if session.tx.is_none()
                        && spec.is_some_and(|c| c.has_flag(crate::cmd::flags::BLOCKING))
                    {
                        // A blocking pop: later requests wait behind it, as
                        // in Redis; replies so far go out first.
                        drain(&node, &mut queue, &session, &mut out).await;
                        if !out.is_empty() {
                            Stats::incr(&node.stats.net_output_bytes, out.len() as u64);
                            if stream.write_all(&out).await.is_err() {
                                break 'conn;
                            }
                            out.clear();
                        }
                        let closed = async {
                            loop {
                                // Keeps reading pipelined requests (bounded)
                                // to notice the client closing.
                                if inbuf.len() > 1 << 20 {
                                    handle.killed().await;
                                    return;
                                }
                                tokio::select! {
                                    r = stream.read_buf(&mut inbuf) => match r {
                                        Ok(0) | Err(_) => return,
                                        Ok(_) => {}
                                    },
                                    _ = handle.killed() => return,
                                }
                            }
                        };
                        tokio::pin!(closed);
                        let reply =
                            crate::blocking::run(&mut session, &node, req.args, closed).await;
                        let Some(reply) = reply else { break 'conn };
                        let silent = session.take_reply_silenced();
                        queue.push_back(Slot::Ready(reply, silent));
                        continue;
                    }
                    let outcome = match dispatch(&mut session, &node, req.args) {
                        Outcome::ReadIndex(rx, args) => match rx.await {
                            Ok(Ok(())) => dispatch_confirmed(&mut session, &node, args),
                            // Leadership moved or the quorum round failed:
                            // the client retries (and follows MOVED).
                            _ => Outcome::Reply(crate::dispatch::read_retry_error()),
                        },
                        o => o,
                    };
                    let silent = session.take_reply_silenced();
                    match outcome {
                        Outcome::Reply(r) => queue.push_back(Slot::Ready(r, silent)),
                        Outcome::Pending(p) => queue.push_back(Slot::Waiting(p, silent)),
                        Outcome::ReadIndex(..) => queue
                            .push_back(Slot::Ready(crate::dispatch::read_retry_error(), silent)),
                    }
                    if session.close_after_reply {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    drain(&node, &mut queue, &session, &mut out).await;
                    Reply::error(format!("ERR {e}")).encode(session.protocol, &mut out);
                    session.close_after_reply = true;
                    break;
                }
            }
        }
        drain(&node, &mut queue, &session, &mut out).await;
        if !out.is_empty() {
            Stats::incr(&node.stats.net_output_bytes, out.len() as u64);
            if stream.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
        }
        if session.close_after_reply {
            break;
        }
    }
    let _ = stream.shutdown().await;
    node.clients.unregister(handle.id);
}

/// Resolves queued replies in order, encoding them into `out`.
async fn drain(node: &Node, queue: &mut VecDeque<Slot>, session: &Session, out: &mut BytesMut) {
    while let Some(slot) = queue.pop_front() {
        let (reply, silent) = match slot {
            Slot::Ready(r, silent) => (r, silent),
            Slot::Waiting(p, silent) => (p.wait(node).await, silent),
        };
        if reply.is_error() {
            Stats::incr(&node.stats.error_replies, 1);
        }
        if !silent {
            reply.encode(session.protocol, out);
        }
    }
}
