"""Connection and server commands, case by case after Redis 7.0's test suite.

Named after the test cases of tests/unit/auth.tcl, introspection.tcl,
introspection-2.tcl, info.tcl, other.tcl and tracking.tcl where one
exists. Like test_cluster_client.py (whose fixtures these are), every test
runs against redraft and against a reference one-node Redis Cluster; the
`auth_server` fixture starts a fresh node of either kind and gives it a
password with CONFIG SET requirepass, as auth.tcl does.

Intended deviations are marked where a test branches on the server kind:
CLIENT SETINFO (Redis 7.2, which client libraries send on connect) and
`appendonly` (redraft is always durable).
"""

from __future__ import annotations

import time

import pytest
import redis
from redis.cluster import RedisCluster

import harness
from resp import Err, Status
from test_cluster_client import error_text, plain, raw, rc, server  # noqa: F401  (fixtures)

PW = "foobar"
NOAUTH = Err("NOAUTH Authentication required.")
WRONGPASS = Err("WRONGPASS invalid username-password pair or user is disabled.")
HELLO_NOAUTH = Err(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time"
)


@pytest.fixture(params=["redraft", "redis"])
def auth_server(request):
    """A fresh node of either kind whose default user needs the password PW."""
    if request.param == "redraft":
        srv = harness.start_redraft()
    else:
        if harness.redis_server_bin() is None:
            pytest.skip("redis-server is not installed")
        srv = harness.start_redis(cluster=True)
    try:
        with srv.conn() as c:
            assert c.call("CONFIG", "SET", "requirepass", PW) == "OK"
        yield srv
    finally:
        srv.stop()


def is_redraft(server) -> bool:
    return server.kind == "redraft"


def hello_fields(reply, proto: int) -> dict:
    """A HELLO reply as a dict, checking its type and Redis's field order."""
    if proto == 3:
        assert isinstance(reply, dict), reply
        items = list(reply.items())
    else:
        assert isinstance(reply, list), reply
        items = list(zip(reply[::2], reply[1::2]))
    assert [k for k, _ in items] == [
        b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"
    ]
    fields = dict(items)
    assert fields[b"proto"] == proto
    assert fields[b"server"] == b"redis" and fields[b"version"] == b"7.0.15"
    assert fields[b"mode"] == b"cluster" and fields[b"role"] == b"master"
    assert fields[b"modules"] == []
    return fields


# -- HELLO (tracking.tcl, protocol) ------------------------------------------


def test_hello_3_reply_is_correct(raw):
    cid = raw.call("CLIENT", "ID")
    assert hello_fields(raw.call("HELLO", "3"), 3)[b"id"] == cid


def test_hello_without_protover(raw):
    hello_fields(raw.call("HELLO"), 2)
    hello_fields(raw.call("HELLO", "3"), 3)
    hello_fields(raw.call("HELLO"), 3)
    hello_fields(raw.call("HELLO", "2"), 2)
    hello_fields(raw.call("HELLO"), 2)


def test_hello_errors(raw):
    assert raw.call("HELLO", "4") == Err("NOPROTO unsupported protocol version")
    assert raw.call("HELLO", "x") == Err("ERR Protocol version is not an integer or out of range")
    assert raw.call("HELLO", "3", "FOO") == Err("ERR Syntax error in HELLO option 'FOO'")
    assert raw.call("HELLO", "3", "AUTH", "a") == Err("ERR Syntax error in HELLO option 'AUTH'")
    assert raw.call("HELLO", "3", "SETNAME", "a b") == Err(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    hello_fields(raw.call("HELLO"), 2)


def test_hello_setname(raw):
    hello_fields(raw.call("HELLO", "3", "SETNAME", "hello-name"), 3)
    assert raw.call("CLIENT", "GETNAME") == b"hello-name"


# -- AUTH (auth.tcl) ---------------------------------------------------------


def test_auth_fails_if_there_is_no_password_configured_server_side(raw):
    assert raw.call("AUTH", "foo") == Err(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?"
    )


def test_arity_check_for_auth_command(raw):
    assert raw.call("AUTH", "a", "b", "c") == Err("ERR syntax error")
    assert raw.call("AUTH") == Err("ERR wrong number of arguments for 'auth' command")


def test_auth_with_requirepass(auth_server):
    """AUTH fails when a wrong password is given; Arbitrary command gives an
    error when AUTH is required; AUTH succeeds when the right password is
    given; Once AUTH succeeded we can actually send commands to the server."""
    with auth_server.conn() as c:
        assert c.call("AUTH", "wrong!") == WRONGPASS
        assert c.call("SET", "foo", "bar") == NOAUTH
        assert c.call("PING") == NOAUTH
        assert c.call("AUTH", PW) == "OK"
        assert c.call("SET", "foo", "100") == "OK"
        assert c.call("INCR", "foo") == 101
        assert c.call("AUTH", "default", PW) == "OK"
        assert c.call("AUTH", "bob", PW) == WRONGPASS
        # A failed AUTH does not log out.
        assert c.call("GET", "foo") == b"101"


def test_auth_succeeds_when_binary_password_is_correct(auth_server):
    """AUTH fails when binary password is wrong; AUTH succeeds when binary
    password is correct."""
    with auth_server.conn() as c:
        assert c.call("AUTH", PW) == "OK"
        assert c.call("CONFIG", "SET", "requirepass", b"abc\x00def") == "OK"
    with auth_server.conn() as c:
        assert c.call("AUTH", "abc") == WRONGPASS
        assert c.call("AUTH", b"abc\x00def") == "OK"


def test_hello_auth_with_requirepass(auth_server):
    with auth_server.conn() as c:
        assert c.call("HELLO", "3") == HELLO_NOAUTH
        assert c.call("HELLO") == HELLO_NOAUTH
        assert c.call("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
        assert c.call("HELLO", "3", "AUTH", "bob", PW) == WRONGPASS
        hello_fields(c.call("HELLO", "3", "AUTH", "default", PW, "SETNAME", "n"), 3)
        assert c.call("CLIENT", "GETNAME") == b"n"
        assert c.call("GET", "k") is None


def test_reset_clears_authenticated_state(auth_server):
    with auth_server.conn() as c:
        assert c.call("AUTH", PW) == "OK"
        assert c.call("SET", "x", "1") == "OK"
        assert c.call("RESET") == Status("RESET")
        assert c.call("GET", "x") == NOAUTH


def test_redis_py_clients_authenticate_with_password(auth_server):
    for proto in (2, 3):
        r = redis.Redis(
            host=auth_server.host, port=auth_server.port, password=PW, protocol=proto,
            decode_responses=True,
        )
        try:
            assert r.set("{p}k", "v") is True
            assert r.get("{p}k") == "v"
        finally:
            r.close()
        rc_auth = RedisCluster(
            host=auth_server.host, port=auth_server.port, password=PW, protocol=proto,
            decode_responses=True,
        )
        try:
            assert rc_auth.get("{p}k") == "v"
            assert rc_auth.dbsize() == 1
        finally:
            rc_auth.close()
    r = redis.Redis(host=auth_server.host, port=auth_server.port, password="wrong", protocol=2)
    try:
        with pytest.raises(redis.AuthenticationError):
            r.ping()
    finally:
        r.close()


# -- SELECT, QUIT, RESET -----------------------------------------------------


def test_select_in_cluster_mode(raw):
    assert raw.call("SELECT", "0") == "OK"
    assert raw.call("SELECT", "1") == Err("ERR SELECT is not allowed in cluster mode")
    assert raw.call("SELECT", "x") == Err("ERR value is not an integer or out of range")


def test_quit_closes_the_connection(server):
    with server.conn() as c:
        assert c.call("QUIT") == "OK"
        assert c.closed_by_server()
    with server.conn() as c:
        assert c.call("PING") == "PONG"


def test_reset_clears_client_state(raw):
    assert raw.call("CLIENT", "SETNAME", "foo") == "OK"
    hello_fields(raw.call("HELLO", "3"), 3)
    assert raw.call("READONLY") == "OK"
    assert raw.call("RESET") == Status("RESET")
    assert raw.call("CLIENT", "GETNAME") is None
    info = raw.call("CLIENT", "INFO").decode()
    assert " name= " in info and " flags=N " in info and " resp=2" in info


# -- CLIENT (introspection.tcl) ----------------------------------------------


def test_client_list_with_ids_and_client_info(raw):
    myid = raw.call("CLIENT", "ID")
    listing = raw.call("CLIENT", "LIST", "ID", myid).decode()
    assert listing.startswith(f"id={myid} ") and listing.count("\n") == 1
    info = raw.call("CLIENT", "INFO").decode()
    assert info.startswith(f"id={myid} addr=")
    for f in (" flags=N ", " db=0 ", " multi=-1 ", " cmd=client|info ", " user=default "):
        assert f in info, (f, info)


def test_client_getname_should_return_nil_if_name_is_not_assigned(raw):
    assert raw.call("CLIENT", "GETNAME") is None
    assert " name= " in raw.call("CLIENT", "LIST").decode()


def test_client_setname_does_not_accept_spaces_and_can_change_the_name(raw):
    assert raw.call("CLIENT", "SETNAME", "foo bar") == Err(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    assert raw.call("CLIENT", "SETNAME", "myname") == "OK"
    assert "name=myname" in raw.call("CLIENT", "LIST").decode()
    assert raw.call("CLIENT", "SETNAME", "someothername") == "OK"
    assert "name=someothername" in raw.call("CLIENT", "LIST").decode()


def test_after_client_setname_connection_can_still_be_closed(server, raw):
    with server.conn() as other:
        assert other.call("CLIENT", "SETNAME", "foobar") == "OK"
        assert "foobar" in raw.call("CLIENT", "LIST").decode()
    deadline = time.monotonic() + 10
    while "foobar" in raw.call("CLIENT", "LIST").decode():
        assert time.monotonic() < deadline, "closed client still listed"
        time.sleep(0.01)


def test_client_kill_with_illegal_arguments(raw):
    assert raw.call("CLIENT", "KILL") == Err(
        "ERR wrong number of arguments for 'client|kill' command"
    )
    assert raw.call("CLIENT", "KILL", "ID", "10", "wrong_arg") == Err("ERR syntax error")
    for bad in ("str", "-1", "0"):
        assert raw.call("CLIENT", "KILL", "ID", bad) == Err(
            "ERR client-id should be greater than 0"
        )
    assert raw.call("CLIENT", "KILL", "TYPE", "wrong_type") == Err(
        "ERR Unknown client type 'wrong_type'"
    )
    assert raw.call("CLIENT", "KILL", "USER", "wrong_user") == Err(
        "ERR No such user 'wrong_user'"
    )
    assert raw.call("CLIENT", "KILL", "SKIPME", "yes_or_no") == Err("ERR syntax error")
    assert raw.call("CLIENT", "KILL", "000.123.321.567:0") == Err("ERR No such client")


def test_client_kill_by_id_addr_and_old_form(server, raw):
    for form in ("ID", "ADDR", "old"):
        with server.conn() as victim:
            vid = victim.call("CLIENT", "ID")
            addr = next(
                f[5:] for f in victim.call("CLIENT", "INFO").decode().split(" ")
                if f.startswith("addr=")
            )
            if form == "ID":
                assert raw.call("CLIENT", "KILL", "ID", vid) == 1
            elif form == "ADDR":
                assert raw.call("CLIENT", "KILL", "ADDR", addr) == 1
            else:
                assert raw.call("CLIENT", "KILL", addr) == "OK"
            # Gone at once: a second kill finds nothing.
            assert raw.call("CLIENT", "KILL", "ID", vid) == 0
            assert victim.closed_by_server()
    assert raw.call("PING") == "PONG"


def test_client_setinfo(server, raw):
    """Intended deviation: CLIENT SETINFO is Redis 7.2's; redraft accepts it
    because client libraries send it on connect, 7.0 does not know it."""
    reply = raw.call("CLIENT", "SETINFO", "LIB-NAME", "mylib")
    if not is_redraft(server):
        assert reply == Err("ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.")
        return
    assert reply == "OK"
    assert raw.call("CLIENT", "SETINFO", "LIB-VER", "1.0") == "OK"
    assert raw.call("CLIENT", "INFO").decode().endswith(" lib-name=mylib lib-ver=1.0\n")
    assert raw.call("CLIENT", "SETINFO", "LIB-FOO", "x") == Err(
        "ERR Unrecognized option 'LIB-FOO'"
    )


# -- INFO (info.tcl) ---------------------------------------------------------

SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication", "cluster",
            "keyspace"]


def info_dict(text: bytes) -> dict:
    return dict(
        line.split(":", 1) for line in text.decode().split("\r\n") if line and line[0] != "#"
    )


def test_info_sections(server, raw):
    headers = [line for line in raw.call("INFO").decode().split("\r\n") if line.startswith("# ")]
    order = [h[2:].lower() for h in headers]
    assert [s for s in order if s in SECTIONS] == SECTIONS
    for section in SECTIONS:
        text = raw.call("INFO", section).decode()
        assert text.startswith(f"# {section.capitalize()}\r\n"), text
        assert [line for line in text.split("\r\n") if line.startswith("# ")] == [
            f"# {section.capitalize()}"
        ]
    fields = info_dict(raw.call("INFO", "everything"))
    assert fields["redis_version"] == "7.0.15"
    assert fields["redis_mode"] == "cluster"
    assert fields["tcp_port"] == str(server.port)
    assert int(fields["connected_clients"]) >= 1
    assert fields["loading"] == "0"
    assert fields["role"] == "master"
    assert fields["cluster_enabled"] == "1"
    for name in ("used_memory", "total_connections_received", "total_commands_processed",
                 "total_error_replies", "expired_keys", "uptime_in_seconds"):
        assert name in fields, name
    assert raw.call("INFO", "nosuchsection") == b""


def test_info_keyspace(rc, raw):
    assert raw.call("INFO", "keyspace") == b"# Keyspace\r\n"
    rc.set("a", 1)
    rc.set("b", 2, ex=1000)
    db0 = info_dict(raw.call("INFO", "keyspace"))["db0"]
    assert db0.startswith("keys=2,expires=1,avg_ttl="), db0


def test_stats_total_error_replies_counts_error_replies(raw):
    def errors() -> int:
        return int(info_dict(raw.call("INFO", "stats"))["total_error_replies"])

    before = errors()
    assert raw.call("GET") == Err("ERR wrong number of arguments for 'get' command")
    assert raw.call("NOSUCHCOMMAND") == Err(
        "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "
    )
    raw.call("SET", "k", "v")
    assert raw.call("INCR", "k") == Err("ERR value is not an integer or out of range")
    assert errors() - before == 3


# -- DBSIZE, TIME, CONFIG (introspection.tcl), FLUSH -------------------------


def test_dbsize_and_time(rc, raw):
    assert raw.call("DBSIZE") == 0
    rc.mset_nonatomic({f"k{i}": i for i in range(10)})
    assert raw.call("DBSIZE") == 10
    assert raw.call("DBSIZE", "x") == Err("ERR wrong number of arguments for 'dbsize' command")
    secs, micros = raw.call("TIME")
    assert abs(int(secs) - time.time()) < 5 and 0 <= int(micros) < 1_000_000


def test_config_get_multiple_args(raw):
    pairs = raw.call("CONFIG", "GET", "maxmemory", "timeout", "maxclients")
    assert dict(zip(pairs[::2], pairs[1::2])) == {
        b"maxmemory": b"0", b"timeout": b"0", b"maxclients": b"10000"
    }
    globbed = raw.call("CONFIG", "GET", "maxmemory*")
    assert {b"maxmemory", b"maxmemory-policy"} <= set(globbed[::2])


def test_config_get_what_redis_benchmark_asks(server, raw):
    assert raw.call("CONFIG", "GET", "save") == [b"save", b""]
    # Intended deviation: redraft is always durable.
    want = b"yes" if is_redraft(server) else b"no"
    assert raw.call("CONFIG", "GET", "appendonly") == [b"appendonly", want]


def test_config_set_and_errors(raw):
    try:
        assert raw.call("CONFIG", "SET", "maxmemory", "100mb", "timeout", "100") == "OK"
        assert raw.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"104857600"]
        assert raw.call("CONFIG", "GET", "timeout") == [b"timeout", b"100"]
        # CONFIG SET duplicate configs
        assert raw.call("CONFIG", "SET", "maxmemory", "10000001", "maxmemory", "10000002") == Err(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"
        )
        # CONFIG SET rollback on set error
        assert raw.call("CONFIG", "SET", "maxmemory", "10mb", "timeout", "abc") == Err(
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't "
            "be parsed into an integer"
        )
        assert raw.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"104857600"]
        # CONFIG SET set immutable
        assert raw.call("CONFIG", "SET", "cluster-enabled", "no") == Err(
            "ERR CONFIG SET failed (possibly related to argument 'cluster-enabled') - can't set "
            "immutable config"
        )
        assert raw.call("CONFIG", "SET", "nosuch", "1") == Err(
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        )
    finally:
        raw.call("CONFIG", "SET", "maxmemory", "0", "timeout", "0")


def test_flushall_and_flushdb(rc, raw):
    for flush in (("FLUSHALL",), ("FLUSHALL", "SYNC"), ("FLUSHALL", "ASYNC"), ("FLUSHDB",),
                  ("FLUSHDB", "ASYNC")):
        rc.mset_nonatomic({f"k{i}": i for i in range(10)})
        rc.set("t", "v", ex=100)
        assert raw.call(*flush) == "OK"
        assert raw.call("DBSIZE") == 0
        assert raw.call("KEYS", "*") == []
    assert raw.call("FLUSHALL", "BOGUS") == Err("ERR syntax error")


# -- COMMAND (introspection-2.tcl) ---------------------------------------------


def test_command_count_get_total_number_of_redis_commands(raw):
    count = raw.call("COMMAND", "COUNT")
    assert count > 0
    rows = raw.call("COMMAND")
    assert len(rows) == count
    assert len({r[0] for r in rows}) == count


def test_command_info_rows(raw):
    (get,) = raw.call("COMMAND", "INFO", "get")
    assert get[:7] == [b"get", 2, [Status("readonly"), Status("fast")], 1, 1, 1,
                       [Status("@read"), Status("@string"), Status("@fast")]]
    assert raw.call("COMMAND", "INFO", "nosuch") == [None]


def test_command_info_of_invalid_subcommands(raw):
    assert raw.call("COMMAND", "INFO", "get|key") == [None]
    assert raw.call("COMMAND", "INFO", "config|get|key") == [None]


@pytest.mark.parametrize("name", ["set", "get", "mset"])
def test_command_will_not_be_marked_with_movablekeys(raw, name):
    (row,) = raw.call("COMMAND", "INFO", name)
    assert Status("movablekeys") not in row[2]


def test_command_getkeys_get_and_more_than_256_keys(raw):
    assert raw.call("COMMAND", "GETKEYS", "GET", "key") == [b"key"]
    args = []
    for i in range(260):
        args += [f"key{i}", str(i)]
    keys = raw.call("COMMAND", "GETKEYS", "MSET", *args)
    assert len(keys) == 260 and keys[-1] == b"key259"
    assert raw.call("COMMAND", "GETKEYS", "PING", "x") == Err("ERR The command has no key arguments")
    assert raw.call("COMMAND", "GETKEYS", "NOSUCH", "a") == Err("ERR Invalid command specified")
    assert raw.call("COMMAND", "GETKEYS", "GET", "a", "b") == Err(
        "ERR Invalid number of arguments specified for command"
    )


def test_command_docs(raw):
    assert raw.call("COMMAND", "DOCS", "get") == [
        b"get",
        [b"summary", b"Get the value of a key", b"since", b"1.0.0", b"group", b"string",
         b"complexity", b"O(1)", b"arguments",
         [[b"name", b"key", b"type", b"key", b"key_spec_index", 0]]],
    ]
    assert raw.call("COMMAND", "DOCS", "nosuch") == []
    assert len(raw.call("COMMAND", "DOCS")) == 2 * raw.call("COMMAND", "COUNT")


# -- READONLY, READWRITE, ASKING ---------------------------------------------


def test_readonly_readwrite_asking(raw):
    assert raw.call("READONLY") == "OK"
    assert raw.call("SET", "k", "v") == "OK"
    assert raw.call("READWRITE") == "OK"
    assert raw.call("ASKING") == "OK"
    assert raw.call("GET", "k") == b"v"
    assert raw.call("ASKING", "x") == Err("ERR wrong number of arguments for 'asking' command")

