//! # redraft-resp: the Redis wire format, and nothing else
//!
//! This crate turns bytes from a client into requests and replies into bytes.
//! It knows nothing about commands, keys, slots or the cluster.
//!
//! - [`parse_request`] reads one request from a buffer: a RESP multibulk
//!   (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or an inline command (`PING\r\n`), with
//!   the same limits and the same `Protocol error: …` texts as redis-server
//!   7.0's `processMultibulkBuffer` / `processInlineBuffer`.
//! - [`Reply`] is a reply value; [`Reply::encode`] writes it for the
//!   connection's protocol version ([`Protocol::Resp2`] or
//!   [`Protocol::Resp3`]), downgrading RESP3-only types exactly as Redis does
//!   for RESP2 clients.
//!
//! Why requests are parsed here rather than by `redis-protocol`'s decoder:
//! a Redis server accepts only arrays of bulk strings and inline lines, and
//! reports each malformation with a specific text (`expected '$', got 'x'`,
//! `invalid bulk length`, …) before the frame is complete. Clients and
//! tests depend on those texts. The crate's decoder accepts every RESP type
//! and reports its own errors, so it is used as the independent *client-side*
//! decoder in this crate's tests (every reply we encode must decode there).
//! Simple leaf frames are encoded through `redis-protocol`'s encoder.
//!
//! ## Invariants
//! - The parser never allocates in proportion to a length the client
//!   announced but has not sent (a `*2147483647` header costs nothing).
//! - A protocol error is final for the connection: the caller must send the
//!   error reply and close, as Redis does.
//!
//! ## CAVEATS
//! - RESP3 attributes and streamed (chunked) aggregates are never produced.

mod reply;
mod request;

pub use reply::{format_double, Protocol, Reply};
pub use request::{parse_request, Limits, ProtocolError, Request};
