//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, CLIENT, QUIT, RESET.

use bytes::Bytes;
use redraft_resp::Reply;

use super::flags::*;
use super::{CommandSpec, Handler};
use crate::node::Node;
use crate::session::Session;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "ping",
        -1,
        &[FAST, STALE],
        (0, 0, 0),
        &["fast", "connection"],
        Handler::Node(ping),
    )
    .doc(
        "connection",
        "Returns the server's liveliness response.",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "quit",
        -1,
        &[ALLOW_BUSY, NOSCRIPT, LOADING, STALE, FAST, NO_AUTH],
        (0, 0, 0),
        &["fast", "connection"],
        Handler::Node(quit),
    )
    .doc("connection", "Closes the connection.", "1.0.0", "O(1)"),
];

fn ping(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    match args.len() {
        1 => Reply::status("PONG"),
        2 => Reply::bulk(args[1].clone()),
        _ => super::error::err_wrong_args("ping"),
    }
}

fn quit(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    s.close_after_reply = true;
    Reply::ok()
}
