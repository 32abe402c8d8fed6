//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, CLIENT, QUIT,
//! RESET, with redis-server 7.0's replies and error texts (cluster mode).
//!
//! What they change is the [`Session`] (protocol, name, authentication,
//! reply mode, flags) and, for CLIENT KILL, other connections through the
//! node's client registry. None touches the keyspace.
//!
//! Authentication: redraft has one user, `default`, whose password is the
//! `requirepass` setting (command line or CONFIG SET). With no password the
//! default user accepts any password, as Redis's `nopass` user does; any
//! other user name is refused with WRONGPASS. A failed AUTH leaves the
//! connection as authenticated as it was.
//!
//! Redis answers as a cluster node: HELLO reports `mode` `cluster`, and
//! SELECT of any database but 0 is refused.
//!
//! CAVEATS:
//! - CLIENT LIST/INFO report no buffer sizes (`qbuf`, `omem`, `tot-mem`, …
//!   are 0): the connection does not publish them.
//! - CLIENT SETINFO and CLIENT NO-TOUCH come from Redis 7.2 (clients send
//!   SETINFO on connect); CLIENT LIST shows `lib-name`/`lib-ver` as 7.2
//!   does. CLIENT NO-TOUCH is recorded but access times are not kept.
//! - No CLIENT PAUSE/UNPAUSE/TRACKING/CACHING/UNBLOCK: no blocking commands
//!   or client-side caching yet.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use redraft_resp::{Protocol, Reply};

use super::args::{is, parse_i64};
use super::error::{err_not_integer, err_syntax, err_wrong_args};
use super::flags::*;
use super::{help_reply, CommandSpec, Handler};
use crate::node::Node;
use crate::session::{client_flags, ClientHandle, Session};

/// HELLO, AUTH, QUIT and RESET run before authentication and whatever the
/// server is doing.
const ALWAYS: &[&str] = &[NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY];
const FAST_ACL: &[&str] = &["fast", "connection"];
const CLIENT_FLAGS: &[&str] = &[NOSCRIPT, LOADING, STALE];
const CLIENT_ACL: &[&str] = &["slow", "connection"];
const CLIENT_ADMIN_FLAGS: &[&str] = &[ADMIN, NOSCRIPT, LOADING, STALE];
const CLIENT_ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous", "connection"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("auth", -2, ALWAYS, (0, 0, 0), FAST_ACL, Handler::Node(auth)).doc(
        "connection",
        "Authenticate to the server",
        "1.0.0",
        "O(N) where N is the number of passwords defined for the user",
    ),
    CommandSpec::new("client", -2, &[], (0, 0, 0), &["slow"], Handler::Container)
        .doc(
            "connection",
            "A container for client connection commands",
            "2.4.0",
            "Depends on subcommand.",
        )
        .with_subcommands(CLIENT_SUBCOMMANDS),
    CommandSpec::new(
        "echo",
        2,
        &[LOADING, STALE, FAST],
        (0, 0, 0),
        FAST_ACL,
        Handler::Node(echo),
    )
    .doc("connection", "Echo the given string", "1.0.0", "O(1)"),
    CommandSpec::new(
        "hello",
        -1,
        ALWAYS,
        (0, 0, 0),
        FAST_ACL,
        Handler::Node(hello),
    )
    .doc("connection", "Handshake with Redis", "6.0.0", "O(1)"),
    CommandSpec::new(
        "ping",
        -1,
        &[FAST],
        (0, 0, 0),
        FAST_ACL,
        Handler::Node(ping),
    )
    .doc("connection", "Ping the server", "1.0.0", "O(1)"),
    CommandSpec::new("quit", -1, ALWAYS, (0, 0, 0), FAST_ACL, Handler::Node(quit)).doc(
        "connection",
        "Close the connection",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "reset",
        1,
        ALWAYS,
        (0, 0, 0),
        FAST_ACL,
        Handler::Node(reset),
    )
    .doc("connection", "Reset the connection", "6.2.0", "O(1)"),
    CommandSpec::new(
        "select",
        2,
        &[LOADING, STALE, FAST],
        (0, 0, 0),
        FAST_ACL,
        Handler::Node(select),
    )
    .doc(
        "connection",
        "Change the selected database for the current connection",
        "1.0.0",
        "O(1)",
    ),
];

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "client|getname",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_getname),
    )
    .doc(
        "connection",
        "Get the current connection name",
        "2.6.9",
        "O(1)",
    ),
    CommandSpec::new(
        "client|help",
        2,
        &[LOADING, STALE],
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_help),
    )
    .doc(
        "connection",
        "Show helpful text about the different subcommands",
        "5.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|id",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_id),
    )
    .doc(
        "connection",
        "Returns the client ID for the current connection",
        "5.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|info",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_info),
    )
    .doc(
        "connection",
        "Returns information about the current client connection.",
        "6.2.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|kill",
        -3,
        CLIENT_ADMIN_FLAGS,
        (0, 0, 0),
        CLIENT_ADMIN_ACL,
        Handler::Node(client_kill),
    )
    .doc(
        "connection",
        "Kill the connection of a client",
        "2.4.0",
        "O(N) where N is the number of client connections",
    ),
    CommandSpec::new(
        "client|list",
        -2,
        CLIENT_ADMIN_FLAGS,
        (0, 0, 0),
        CLIENT_ADMIN_ACL,
        Handler::Node(client_list),
    )
    .doc(
        "connection",
        "Get the list of client connections",
        "2.4.0",
        "O(N) where N is the number of client connections",
    ),
    CommandSpec::new(
        "client|no-evict",
        3,
        CLIENT_ADMIN_FLAGS,
        (0, 0, 0),
        CLIENT_ADMIN_ACL,
        Handler::Node(client_no_evict),
    )
    .doc(
        "connection",
        "Set client eviction mode for the current connection",
        "7.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|no-touch",
        3,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_no_touch),
    )
    .doc(
        "connection",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys",
        "7.2.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|reply",
        3,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_reply),
    )
    .doc(
        "connection",
        "Instruct the server whether to reply to commands",
        "3.2.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|setinfo",
        4,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_setinfo),
    )
    .doc(
        "connection",
        "Set client or connection specific info",
        "7.2.0",
        "O(1)",
    ),
    CommandSpec::new(
        "client|setname",
        3,
        CLIENT_FLAGS,
        (0, 0, 0),
        CLIENT_ACL,
        Handler::Node(client_setname),
    )
    .doc(
        "connection",
        "Set the current connection name",
        "2.6.9",
        "O(1)",
    ),
];

fn ping(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    match args.len() {
        1 => Reply::status("PONG"),
        2 => Reply::bulk(args[1].clone()),
        _ => err_wrong_args("ping"),
    }
}

fn echo(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    Reply::bulk(args[1].clone())
}

fn quit(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    s.close_after_reply = true;
    Reply::ok()
}

fn reset(s: &mut Session, node: &Node, _args: &[Bytes]) -> Reply {
    s.reset(node.settings.requirepass().is_some());
    Reply::status("RESET")
}

/// `SELECT index`: only database 0 exists in cluster mode.
fn select(_s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    let Some(db) = parse_i64(&args[1]) else {
        return err_not_integer();
    };
    if i32::try_from(db).is_err() {
        return Reply::error(format!(
            "ERR value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        ));
    }
    if db != 0 {
        return Reply::error("ERR SELECT is not allowed in cluster mode");
    }
    Reply::ok()
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Whether `user`/`password` are valid credentials (see the module docs).
fn credentials_ok(node: &Node, user: &[u8], password: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match node.settings.requirepass() {
        None => true,
        Some(p) => constant_time_eq(p.as_bytes(), password),
    }
}

/// Compares without an early exit, so the time taken does not reveal how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// `AUTH [username] password`.
fn auth(s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    let (user, password): (&[u8], &[u8]) = match args {
        [_, password] => {
            if node.settings.requirepass().is_none() {
                return Reply::error(
                    "ERR AUTH <password> called without any password configured for the \
                     default user. Are you sure your configuration is correct?",
                );
            }
            (b"default", password)
        }
        [_, user, password] => (user, password),
        _ => return err_syntax(),
    };
    if credentials_ok(node, user, password) {
        s.authenticated = true;
        Reply::ok()
    } else {
        Reply::error(WRONGPASS)
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
fn hello(s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    let mut protocol = None;
    if let Some(v) = args.get(1) {
        let Some(v) = parse_i64(v) else {
            return Reply::error("ERR Protocol version is not an integer or out of range");
        };
        protocol = Some(match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Reply::error("NOPROTO unsupported protocol version"),
        });
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "AUTH") && more >= 2 {
            credentials = Some((&args[i + 1], &args[i + 2]));
            i += 3;
        } else if is(&args[i], "SETNAME") && more >= 1 {
            if let Err(e) = validate_name(&args[i + 1]) {
                return e;
            }
            name = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Reply::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            ));
        }
    }
    if let Some((user, password)) = credentials {
        if !credentials_ok(node, user, password) {
            return Reply::error(WRONGPASS);
        }
        s.authenticated = true;
    }
    if !s.authenticated {
        return Reply::error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time",
        );
    }
    if let Some(name) = name {
        set_name(s, name);
    }
    if let Some(p) = protocol {
        s.set_protocol(p);
    }
    hello_reply(s)
}

/// HELLO's map, in Redis's order.
fn hello_reply(s: &Session) -> Reply {
    let text = |t: &'static str| Reply::bulk(Bytes::from_static(t.as_bytes()));
    Reply::Map(vec![
        (text("server"), text("redis")),
        (text("version"), text(crate::info::REDIS_VERSION)),
        (text("proto"), Reply::Integer(s.protocol.version())),
        (text("id"), Reply::Integer(s.id() as i64)),
        (text("mode"), text("cluster")),
        (text("role"), text("master")),
        (text("modules"), Reply::Array(Vec::new())),
    ])
}

/// Client names (and SETINFO values) are printable ASCII without spaces,
/// so CLIENT LIST stays parseable.
fn is_clean(value: &[u8]) -> bool {
    value.iter().all(|b| (b'!'..=b'~').contains(b))
}

fn validate_name(name: &[u8]) -> Result<(), Reply> {
    if is_clean(name) {
        Ok(())
    } else {
        Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

/// Sets the connection's name; the empty name clears it.
fn set_name(s: &Session, name: Bytes) {
    *s.handle.name.lock() = (!name.is_empty()).then_some(name);
}

fn client_id(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    Reply::Integer(s.id() as i64)
}

fn client_getname(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    s.handle
        .name
        .lock()
        .clone()
        .map_or(Reply::Null, Reply::bulk)
}

fn client_setname(s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    if let Err(e) = validate_name(&args[2]) {
        return e;
    }
    set_name(s, args[2].clone());
    Reply::ok()
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value` (Redis 7.2).
fn client_setinfo(s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    let attr = &args[2];
    let slot = if is(attr, "LIB-NAME") {
        &s.handle.lib_name
    } else if is(attr, "LIB-VER") {
        &s.handle.lib_ver
    } else {
        return Reply::error(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        ));
    };
    if !is_clean(&args[3]) {
        return Reply::error(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        ));
    }
    *slot.lock() = (!args[3].is_empty()).then(|| args[3].clone());
    Reply::ok()
}

/// `ON`/`OFF` of CLIENT NO-EVICT and NO-TOUCH.
fn on_off(arg: &[u8]) -> Result<bool, Reply> {
    if is(arg, "ON") {
        Ok(true)
    } else if is(arg, "OFF") {
        Ok(false)
    } else {
        Err(err_syntax())
    }
}

fn client_no_evict(s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    match on_off(&args[2]) {
        Ok(on) => {
            s.set_no_evict(on);
            Reply::ok()
        }
        Err(e) => e,
    }
}

fn client_no_touch(s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    match on_off(&args[2]) {
        Ok(on) => {
            s.set_no_touch(on);
            Reply::ok()
        }
        Err(e) => e,
    }
}

/// `CLIENT REPLY ON|OFF|SKIP`. OFF and SKIP silence their own reply too;
/// the connection drops silenced replies (`Session::take_reply_silenced`).
fn client_reply(s: &mut Session, _n: &Node, args: &[Bytes]) -> Reply {
    if is(&args[2], "ON") {
        s.reply_off = false;
        s.skip_replies = 0;
    } else if is(&args[2], "OFF") {
        s.reply_off = true;
    } else if is(&args[2], "SKIP") {
        // This reply and the next command's.
        s.skip_replies = 2;
    } else {
        return err_syntax();
    }
    Reply::ok()
}

/// A client type of CLIENT LIST/KILL TYPE. Every redraft client is
/// `normal`: there are no replica links or pub/sub clients yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Other,
}

fn client_type(name: &[u8]) -> Result<ClientType, Reply> {
    if is(name, "normal") {
        Ok(ClientType::Normal)
    } else if ["master", "replica", "slave", "pubsub"]
        .iter()
        .any(|t| is(name, t))
    {
        Ok(ClientType::Other)
    } else {
        Err(Reply::error(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(name)
        )))
    }
}

/// One CLIENT LIST line, with its newline, in Redis 7.0's field order.
pub fn client_line(c: &ClientHandle) -> String {
    let mut flags = String::new();
    if c.has_flag(client_flags::READONLY) {
        flags.push('r');
    }
    if c.has_flag(client_flags::NO_EVICT) {
        flags.push('e');
    }
    if c.has_flag(client_flags::NO_TOUCH) {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let text = |v: &Option<Bytes>| {
        v.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db=0 sub=0 psub=0 \
         ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 \
         omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} \
         lib-ver={}\n",
        c.id,
        c.addr,
        c.laddr,
        c.fd.load(Ordering::Relaxed),
        text(&c.name.lock()),
        c.age_secs(),
        c.idle_secs(),
        c.last_cmd.lock(),
        c.resp.load(Ordering::Relaxed),
        text(&c.lib_name.lock()),
        text(&c.lib_ver.lock()),
    )
}

fn verbatim(text: String) -> Reply {
    Reply::Verbatim("txt", Bytes::from(text))
}

fn client_info(s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    verbatim(client_line(&s.handle))
}

/// `CLIENT LIST [TYPE type | ID id [id …]]`.
fn client_list(_s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    let clients = node.clients.list();
    let mut out = String::new();
    if args.len() == 2 {
        clients.iter().for_each(|c| out.push_str(&client_line(c)));
    } else if args.len() == 4 && is(&args[2], "TYPE") {
        match client_type(&args[3]) {
            Ok(ClientType::Normal) => clients.iter().for_each(|c| out.push_str(&client_line(c))),
            Ok(ClientType::Other) => {}
            Err(e) => return e,
        }
    } else if args.len() >= 4 && is(&args[2], "ID") {
        // Redis lists the named ids in the order given.
        for a in &args[3..] {
            let Some(id) = parse_i64(a) else {
                return Reply::error("ERR Invalid client ID");
            };
            if let Some(c) = clients.iter().find(|c| c.id as i64 == id) {
                out.push_str(&client_line(c));
            }
        }
    } else {
        return err_syntax();
    }
    verbatim(out)
}

/// What CLIENT KILL's new form matches; every filter given must match.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    skip_me: bool,
}

impl KillFilter {
    fn parse(args: &[Bytes]) -> Result<KillFilter, Reply> {
        let mut f = KillFilter {
            skip_me: true,
            ..KillFilter::default()
        };
        let mut i = 0;
        while i < args.len() {
            let (opt, Some(value)) = (&args[i], args.get(i + 1)) else {
                return Err(err_syntax());
            };
            if is(opt, "ID") {
                let id = parse_i64(value)
                    .filter(|&n| n > 0)
                    .ok_or_else(|| Reply::error("ERR client-id should be greater than 0"))?;
                f.id = Some(id as u64);
            } else if is(opt, "TYPE") {
                f.kind = Some(client_type(value)?);
            } else if is(opt, "USER") {
                if value.as_ref() != b"default" {
                    return Err(Reply::error(format!(
                        "ERR No such user '{}'",
                        String::from_utf8_lossy(value)
                    )));
                }
            } else if is(opt, "ADDR") {
                f.addr = Some(value.clone());
            } else if is(opt, "LADDR") {
                f.laddr = Some(value.clone());
            } else if is(opt, "SKIPME") {
                f.skip_me = match value.as_ref() {
                    v if is(v, "YES") => true,
                    v if is(v, "NO") => false,
                    _ => return Err(err_syntax()),
                };
            } else {
                return Err(err_syntax());
            }
            i += 2;
        }
        Ok(f)
    }

    fn matches(&self, c: &ClientHandle, me: u64) -> bool {
        let addr_is = |want: &Option<Bytes>, addr: SocketAddr| {
            want.as_ref()
                .is_none_or(|w| w.as_ref() == addr.to_string().as_bytes())
        };
        !(self.skip_me && c.id == me)
            && self.id.is_none_or(|id| id == c.id)
            && self.kind.is_none_or(|k| k == ClientType::Normal)
            && addr_is(&self.addr, c.addr)
            && addr_is(&self.laddr, c.laddr)
    }
}

/// `CLIENT KILL addr:port` (old form: OK or an error) or `CLIENT KILL
/// filter value …` (new form: how many were killed). The caller's own
/// connection closes after this reply.
fn client_kill(s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    let me = s.id();
    let mut kill = |c: &ClientHandle| {
        if c.id == me {
            s.close_after_reply = true;
        } else {
            c.kill();
        }
    };
    let clients = node.clients.list();
    if args.len() == 3 {
        let target = args[2].as_ref();
        return match clients
            .iter()
            .find(|c| c.addr.to_string().as_bytes() == target)
        {
            Some(c) => {
                kill(c);
                Reply::ok()
            }
            None => Reply::error("ERR No such client"),
        };
    }
    let filter = match KillFilter::parse(&args[2..]) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut killed = 0;
    for c in clients.iter().filter(|c| filter.matches(c, me)) {
        kill(c);
        killed += 1;
    }
    Reply::Integer(killed)
}

const CLIENT_HELP: &[&str] = &[
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the id of the current connection.",
    "INFO",
    "    Return information about the current connection.",
    "KILL <ip:port>",
    "    Close the connection from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Close the connections matching every option. Options are:",
    "    * ID <client-id>",
    "      The connection with this id.",
    "    * ADDR <ip:port>",
    "      The connection from this address.",
    "    * LADDR <ip:port>",
    "      Connections to this local address.",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Connections of this type.",
    "    * USER <username>",
    "      Connections authenticated as this user.",
    "    * SKIPME (YES|NO)",
    "      Whether to spare the current connection (default: yes).",
    "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB) | ID <client-id> [<client-id> ...]]",
    "    Return information about the connections, one line each.",
    "NO-EVICT (ON|OFF)",
    "    Protect the current connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Whether the current connection's commands update keys' access times.",
    "REPLY (ON|OFF|SKIP)",
    "    Turn the replies to this connection on or off, or skip the next one.",
    "SETINFO (LIB-NAME|LIB-VER) <value>",
    "    Record the client library's name or version.",
    "SETNAME <name>",
    "    Name the current connection.",
    "HELP",
    "    Print this help.",
];

fn client_help(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    help_reply("client", CLIENT_HELP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::server::testing::{wire, TestNode};

    fn err(text: &str) -> Reply {
        Reply::error(text)
    }

    #[test]
    fn ping_echo_select() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        assert_eq!(t.call(&mut s, &["PING"]), Reply::status("PONG"));
        assert_eq!(t.call(&mut s, &["ping", "hi"]), Reply::bulk("hi"));
        assert_eq!(
            t.call(&mut s, &["PING", "a", "b"]),
            err("ERR wrong number of arguments for 'ping' command")
        );
        assert_eq!(t.call(&mut s, &["ECHO", ""]), Reply::bulk(""));
        assert_eq!(
            t.call(&mut s, &["ECHO"]),
            err("ERR wrong number of arguments for 'echo' command")
        );
        assert_eq!(t.call(&mut s, &["SELECT", "0"]), Reply::ok());
        let not_allowed = err("ERR SELECT is not allowed in cluster mode");
        assert_eq!(t.call(&mut s, &["SELECT", "1"]), not_allowed);
        assert_eq!(t.call(&mut s, &["SELECT", "-1"]), not_allowed);
        assert_eq!(
            t.call(&mut s, &["SELECT", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.call(&mut s, &["SELECT", "99999999999"]),
            err("ERR value is out of range, value must between -2147483648 and 2147483647")
        );
    }

    #[test]
    fn hello_replies_like_redis_cluster() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let id = s.id();
        let r = t.call(&mut s, &["HELLO", "3"]);
        assert_eq!(s.protocol, Protocol::Resp3);
        let expected = format!(
            "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n\
             $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$7\r\ncluster\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
             $7\r\nmodules\r\n*0\r\n"
        );
        assert_eq!(wire(&r, Protocol::Resp3), expected);
        let r = t.call(&mut s, &["HELLO"]);
        assert_eq!(wire(&r, Protocol::Resp3), expected);
        let r = t.call(&mut s, &["HELLO", "2", "SETNAME", "n"]);
        assert_eq!(s.protocol, Protocol::Resp2);
        assert!(wire(&r, Protocol::Resp2).starts_with("*14\r\n$6\r\nserver\r\n"));
        assert_eq!(s.handle.name.lock().as_deref(), Some(&b"n"[..]));
        assert_eq!(
            t.call(&mut s, &["HELLO", "4"]),
            err("NOPROTO unsupported protocol version")
        );
        assert_eq!(
            t.call(&mut s, &["HELLO", "x"]),
            err("ERR Protocol version is not an integer or out of range")
        );
        assert_eq!(
            t.call(&mut s, &["HELLO", "3", "foo"]),
            err("ERR Syntax error in HELLO option 'foo'")
        );
        assert_eq!(
            t.call(&mut s, &["HELLO", "3", "AUTH", "default"]),
            err("ERR Syntax error in HELLO option 'AUTH'")
        );
        assert_eq!(
            t.call(&mut s, &["HELLO", "3", "SETNAME", "a b"]),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(
            s.protocol,
            Protocol::Resp2,
            "a failed HELLO changes nothing"
        );
        assert_eq!(
            t.call(&mut s, &["HELLO", "2", "AUTH", "bob", "x"]),
            err(WRONGPASS)
        );
        // The nopass default user accepts any password.
        assert!(!t
            .call(&mut s, &["HELLO", "2", "AUTH", "default", "x"])
            .is_error());
    }

    #[test]
    fn auth_without_password() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        assert_eq!(
            t.call(&mut s, &["AUTH", "x"]),
            err(
                "ERR AUTH <password> called without any password configured for the default \
                 user. Are you sure your configuration is correct?"
            )
        );
        assert_eq!(t.call(&mut s, &["AUTH", "default", "x"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["AUTH", "bob", "x"]), err(WRONGPASS));
        assert_eq!(
            t.call(&mut s, &["AUTH", "a", "b", "c"]),
            err("ERR syntax error")
        );
    }

    #[test]
    fn auth_with_requirepass() {
        let t = TestNode::start(&["--requirepass", "pw"]);
        let mut s = t.session();
        assert_eq!(
            t.call(&mut s, &["PING"]),
            err("NOAUTH Authentication required.")
        );
        assert!(matches!(
            t.call(&mut s, &["HELLO", "3"]),
            Reply::Error(e) if e.starts_with("NOAUTH HELLO must be called with the client already authenticated")
        ));
        assert_eq!(t.call(&mut s, &["AUTH", "bad"]), err(WRONGPASS));
        assert_eq!(
            t.call(&mut s, &["PING"]),
            err("NOAUTH Authentication required.")
        );
        assert_eq!(t.call(&mut s, &["AUTH", "pw"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["PING"]), Reply::status("PONG"));
        assert_eq!(t.call(&mut s, &["RESET"]), Reply::status("RESET"));
        assert_eq!(
            t.call(&mut s, &["PING"]),
            err("NOAUTH Authentication required.")
        );
        assert!(!t
            .call(&mut s, &["HELLO", "3", "AUTH", "default", "pw"])
            .is_error());
        assert_eq!(s.protocol, Protocol::Resp3);
        assert_eq!(t.call(&mut s, &["PING"]), Reply::status("PONG"));
        // CONFIG SET requirepass takes effect for the next AUTH.
        assert_eq!(
            t.call(&mut s, &["CONFIG", "SET", "requirepass", "new"]),
            Reply::ok()
        );
        assert_eq!(t.call(&mut s, &["AUTH", "pw"]), err(WRONGPASS));
        assert_eq!(t.call(&mut s, &["AUTH", "default", "new"]), Reply::ok());
    }

    #[test]
    fn quit_and_reset() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        t.call(&mut s, &["HELLO", "3", "SETNAME", "x"]);
        t.call(&mut s, &["CLIENT", "NO-EVICT", "on"]);
        assert_eq!(t.call(&mut s, &["RESET"]), Reply::status("RESET"));
        assert_eq!(s.protocol, Protocol::Resp2);
        assert!(s.handle.name.lock().is_none() && !s.no_evict && s.authenticated);
        assert!(!s.close_after_reply);
        assert_eq!(t.call(&mut s, &["QUIT"]), Reply::ok());
        assert!(s.close_after_reply);
    }

    #[test]
    fn client_names_and_info() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let id = s.id();
        assert_eq!(t.call(&mut s, &["CLIENT", "ID"]), Reply::Integer(id as i64));
        assert_eq!(t.call(&mut s, &["CLIENT", "GETNAME"]), Reply::Null);
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETNAME", "myname"]),
            Reply::ok()
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "GETNAME"]),
            Reply::bulk("myname")
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETNAME", "a\nb"]),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETNAME"]),
            err("ERR wrong number of arguments for 'client|setname' command")
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETINFO", "lib-name", "redis-py"]),
            Reply::ok()
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETINFO", "LIB-VER", "5.0"]),
            Reply::ok()
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETINFO", "lib-foo", "x"]),
            err("ERR Unrecognized option 'lib-foo'")
        );
        assert_eq!(
            t.call(&mut s, &["CLIENT", "SETINFO", "lib-name", "a b"]),
            err("ERR lib-name cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(t.call(&mut s, &["CLIENT", "NO-EVICT", "ON"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["CLIENT", "NO-TOUCH", "on"]), Reply::ok());
        assert_eq!(
            t.call(&mut s, &["CLIENT", "NO-EVICT", "maybe"]),
            err("ERR syntax error")
        );
        let Reply::Verbatim("txt", line) = t.call(&mut s, &["CLIENT", "INFO"]) else {
            panic!("CLIENT INFO is verbatim text")
        };
        let line = String::from_utf8(line.to_vec()).unwrap();
        assert!(line.starts_with(&format!(
            "id={id} addr=127.0.0.1:40000 laddr=127.0.0.1:7000 fd=-1 name=myname age="
        )));
        assert!(line.contains(" flags=eT db=0 "), "{line}");
        assert!(
            line.contains(" cmd=client|info user=default redir=-1 resp=2 "),
            "{line}"
        );
        assert!(line.ends_with(" lib-name=redis-py lib-ver=5.0\n"), "{line}");
        assert_eq!(t.call(&mut s, &["CLIENT", "SETNAME", ""]), Reply::ok());
        assert_eq!(t.call(&mut s, &["CLIENT", "GETNAME"]), Reply::Null);
        assert_eq!(
            t.call(&mut s, &["CLIENT", "NOSUCH"]),
            err("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.")
        );
        let Reply::Array(help) = t.call(&mut s, &["CLIENT", "HELP"]) else {
            panic!("HELP is an array")
        };
        for sub in CLIENT_SUBCOMMANDS {
            let name = sub.name.split_once('|').unwrap().1.to_ascii_uppercase();
            assert!(
                help.iter()
                    .any(|l| matches!(l, Reply::Status(t) if t.starts_with(name.as_bytes()))),
                "CLIENT HELP lacks {name}"
            );
        }
    }

    fn listed_ids(r: Reply) -> Vec<u64> {
        let Reply::Verbatim(_, text) = r else {
            panic!("CLIENT LIST is verbatim text: {r:?}")
        };
        String::from_utf8(text.to_vec())
            .unwrap()
            .lines()
            .map(|l| l.split(' ').next().unwrap()[3..].parse().unwrap())
            .collect()
    }

    #[test]
    fn client_list_filters() {
        let t = TestNode::start(&[]);
        let mut a = t.session();
        let b = t.session();
        let (ia, ib) = (a.id(), b.id());
        assert_eq!(listed_ids(t.call(&mut a, &["CLIENT", "LIST"])), [ia, ib]);
        assert_eq!(
            listed_ids(t.call(&mut a, &["CLIENT", "LIST", "TYPE", "NORMAL"])),
            [ia, ib]
        );
        assert!(listed_ids(t.call(&mut a, &["CLIENT", "LIST", "TYPE", "pubsub"])).is_empty());
        let ids = [ib.to_string(), "0".into(), ia.to_string()];
        let mut argv = vec!["CLIENT", "LIST", "ID"];
        argv.extend(ids.iter().map(String::as_str));
        assert_eq!(listed_ids(t.call(&mut a, &argv)), [ib, ia]);
        assert_eq!(
            t.call(&mut a, &["CLIENT", "LIST", "TYPE", "bad"]),
            err("ERR Unknown client type 'bad'")
        );
        assert_eq!(
            t.call(&mut a, &["CLIENT", "LIST", "ID", "x"]),
            err("ERR Invalid client ID")
        );
        assert_eq!(
            t.call(&mut a, &["CLIENT", "LIST", "ID"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.call(&mut a, &["CLIENT", "LIST", "foo"]),
            err("ERR syntax error")
        );
    }

    #[test]
    fn client_kill_forms() {
        let t = TestNode::start(&[]);
        let mut a = t.session();
        let b = t.session();
        let c = t.session();
        assert_eq!(
            t.call(&mut a, &["CLIENT", "KILL", "1.2.3.4:5"]),
            err("ERR No such client")
        );
        for (args, e) in [
            (&["ID", "0"][..], "ERR client-id should be greater than 0"),
            (&["ID", "x"][..], "ERR client-id should be greater than 0"),
            (&["TYPE", "bad"][..], "ERR Unknown client type 'bad'"),
            (&["USER", "nobody"][..], "ERR No such user 'nobody'"),
            (&["SKIPME", "maybe"][..], "ERR syntax error"),
            (&["foo", "bar"][..], "ERR syntax error"),
            (&["ID", "1", "TYPE"][..], "ERR syntax error"),
        ] {
            let mut argv = vec!["CLIENT", "KILL"];
            argv.extend_from_slice(args);
            assert_eq!(t.call(&mut a, &argv), err(e), "{args:?}");
        }
        let bid = b.id().to_string();
        assert_eq!(
            t.call(&mut a, &["CLIENT", "KILL", "ID", &bid, "TYPE", "master"]),
            Reply::Integer(0)
        );
        assert_eq!(
            t.call(&mut a, &["CLIENT", "KILL", "ID", &bid]),
            Reply::Integer(1)
        );
        assert!(b.handle.is_killed() && !c.handle.is_killed());
        let caddr = c.handle.addr.to_string();
        assert_eq!(t.call(&mut a, &["CLIENT", "KILL", &caddr]), Reply::ok());
        assert!(c.handle.is_killed());
        t.node.clients.unregister(b.id());
        t.node.clients.unregister(c.id());
        // SKIPME yes (the default) spares the caller.
        let d = t.session();
        assert_eq!(
            t.call(&mut a, &["CLIENT", "KILL", "USER", "default"]),
            Reply::Integer(1)
        );
        assert!(d.handle.is_killed() && !a.close_after_reply);
        t.node.clients.unregister(d.id());
        // The caller is not killed at once: it closes after this reply.
        let aaddr = a.handle.addr.to_string();
        assert_eq!(
            t.call(&mut a, &["CLIENT", "KILL", "ADDR", &aaddr, "SKIPME", "no"]),
            Reply::Integer(1)
        );
        assert!(a.close_after_reply && !a.handle.is_killed());
    }

    #[test]
    fn client_reply_modes() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        assert_eq!(
            t.call(&mut s, &["CLIENT", "REPLY", "maybe"]),
            err("ERR syntax error")
        );
        assert!(!s.take_reply_silenced());
        t.call(&mut s, &["CLIENT", "REPLY", "SKIP"]);
        assert!(s.take_reply_silenced(), "SKIP's own reply");
        t.call(&mut s, &["PING"]);
        assert!(s.take_reply_silenced(), "the next command's");
        t.call(&mut s, &["PING"]);
        assert!(!s.take_reply_silenced());
        t.call(&mut s, &["CLIENT", "REPLY", "OFF"]);
        assert!(s.take_reply_silenced());
        t.call(&mut s, &["PING"]);
        assert!(s.take_reply_silenced());
        assert_eq!(t.call(&mut s, &["CLIENT", "REPLY", "ON"]), Reply::ok());
        assert!(!s.take_reply_silenced());
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
