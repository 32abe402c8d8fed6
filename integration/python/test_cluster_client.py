"""redis-py's RedisCluster against a single redraft node.

Every test runs twice: against redraft, and against a real redis-server in
cluster mode that owns all 16384 slots (the reference). The `[redis]` runs
check that each expectation here is Redis's behaviour; the `[redraft]`
runs check redraft against it. Keys that share a `{hash tag}` live in one
slot, so multi-key commands are legal in cluster mode.

Replies whose exact structure matters (CLUSTER SLOTS/SHARDS/NODES, CLIENT
LIST) are read with the raw client in resp.py, since redis-py reshapes
them differently across versions.

This file goes through redis-py's own API for each command; the cases
named after Redis's test suite are in test_compat_*.py, which share the
fixtures defined here.
"""

from __future__ import annotations

import time

import pytest
import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

import harness
from resp import Err, Status

# -- fixtures ----------------------------------------------------------------


@pytest.fixture(params=["redraft", "redis"])
def server(request):
    """A fresh redraft per test, or the module's reference Redis Cluster node, flushed."""
    if request.param == "redraft":
        return request.getfixturevalue("fresh_redraft")
    srv = request.getfixturevalue("redis_cluster")
    with srv.conn() as c:
        assert c.call("FLUSHALL") == "OK"
    return srv


@pytest.fixture
def rc(server):
    # RESP2 explicitly: redis-py 8 defaults to RESP3 (HELLO 3), tested on its own below.
    client = RedisCluster(
        host=server.host, port=server.port, decode_responses=True, protocol=2
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def plain(server):
    """A plain (non-cluster) client: it never splits a multi-key command."""
    client = redis.Redis(host=server.host, port=server.port, decode_responses=True, protocol=2)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def raw(server):
    with server.conn() as c:
        yield c


def error_text(excinfo) -> str:
    """The error as the server wrote it, with the prefix redis-py strips."""
    e = excinfo.value
    code = getattr(e, "status_code", None)
    text = str(e)
    return f"{code} {text}" if code else text


# -- connection --------------------------------------------------------------


def test_ping_echo(rc, raw):
    assert rc.ping() is True
    assert rc.echo("hello world", target_nodes=rc.get_default_node()) == "hello world"
    assert raw.call("PING") == Status("PONG")
    assert raw.call("PING", "hi") == b"hi"
    assert raw.call("ECHO", b"\x00\xff") == b"\x00\xff"
    assert raw.call("ECHO") == Err("ERR wrong number of arguments for 'echo' command")


def test_hello_3(server):
    r = redis.Redis(host=server.host, port=server.port, protocol=3, decode_responses=True)
    try:
        hello = r.execute_command("HELLO", "3")
        assert hello["proto"] == 3
        assert hello["mode"] == "cluster"
        assert hello["role"] == "master"
        assert isinstance(hello["id"], int)
        assert {"server", "version", "modules"} <= set(hello)
        assert r.set("{h}k", "v") is True
        assert r.get("{h}k") == "v"
        assert r.get("{h}missing") is None
    finally:
        r.close()


def test_hello_raw_resp3_map(raw):
    reply = raw.call("HELLO", "3")
    assert isinstance(reply, dict), reply
    assert reply[b"proto"] == 3
    assert raw.call("HELLO", "4") == Err("NOPROTO unsupported protocol version")
    reply = raw.call("HELLO", "2")
    assert isinstance(reply, list) and b"proto" in reply


# -- strings -----------------------------------------------------------------


def test_set_get_basic(rc):
    assert rc.get("k") is None
    assert rc.set("k", "v") is True
    assert rc.get("k") == "v"
    assert rc.set("k", "w") is True
    assert rc.get("k") == "w"
    assert rc.set("empty", "") is True
    assert rc.get("empty") == ""


def test_set_nx_xx_get(rc):
    assert rc.set("k", "1", nx=True) is True
    assert rc.set("k", "2", nx=True) is None
    assert rc.get("k") == "1"
    assert rc.set("missing", "x", xx=True) is None
    assert rc.exists("missing") == 0
    assert rc.set("k", "3", xx=True) is True
    assert rc.set("k", "4", get=True) == "3"
    assert rc.set("new", "n", get=True) is None
    assert rc.get("new") == "n"
    # SET NX GET (allowed since 7.0): returns the old value, sets nothing.
    assert rc.set("k", "5", nx=True, get=True) == "4"
    assert rc.get("k") == "4"


def test_set_expire_options(rc):
    now = int(time.time())
    assert rc.set("ex", "v", ex=100) is True
    assert 98 <= rc.ttl("ex") <= 100
    assert rc.set("px", "v", px=100_000) is True
    assert 95_000 <= rc.pttl("px") <= 100_000
    assert rc.set("exat", "v", exat=now + 100) is True
    assert 95 <= rc.ttl("exat") <= 101
    assert rc.expiretime("exat") == now + 100
    assert rc.set("pxat", "v", pxat=(now + 100) * 1000) is True
    assert rc.pexpiretime("pxat") == (now + 100) * 1000
    # KEEPTTL keeps the expiry, a plain SET drops it.
    assert rc.set("ex", "w", keepttl=True) is True
    assert 98 <= rc.ttl("ex") <= 100
    assert rc.set("ex", "x") is True
    assert rc.ttl("ex") == -1
    # An expiry in the past deletes the key.
    assert rc.set("past", "v", pxat=1000) is True
    assert rc.get("past") is None


def test_set_errors(raw):
    assert raw.call("SET", "k", "v", "EX", "0") == Err("ERR invalid expire time in 'set' command")
    assert raw.call("SET", "k", "v", "PX", "-1") == Err("ERR invalid expire time in 'set' command")
    assert raw.call("SET", "k", "v", "EX", "x") == Err(
        "ERR value is not an integer or out of range"
    )
    assert raw.call("SET", "k", "v", "NX", "XX") == Err("ERR syntax error")
    assert raw.call("SET", "k", "v", "EX", "1", "PX", "1") == Err("ERR syntax error")
    assert raw.call("SET", "k", "v", "KEEPTTL", "EX", "1") == Err("ERR syntax error")
    assert raw.call("SET", "k", "v", "EX") == Err("ERR syntax error")
    assert raw.call("SET", "k", "v", "BOGUS") == Err("ERR syntax error")
    assert raw.call("SET", "k") == Err("ERR wrong number of arguments for 'set' command")
    assert raw.call("SET", "k", "v", "EX", "9223372036854775807") == Err(
        "ERR invalid expire time in 'set' command"
    )
    assert raw.call("EXISTS", "k") == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # redis-py 8 deprecates setex()
def test_setnx_setex_psetex(rc, raw):
    assert rc.setnx("k", "1") is True
    assert rc.setnx("k", "2") is False
    assert rc.get("k") == "1"
    assert rc.setex("k", 100, "ex") is True
    assert rc.get("k") == "ex"
    assert 98 <= rc.ttl("k") <= 100
    assert rc.psetex("p", 100_000, "px") is True
    assert 95_000 <= rc.pttl("p") <= 100_000
    assert raw.call("SETEX", "k", "0", "v") == Err("ERR invalid expire time in 'setex' command")
    assert raw.call("PSETEX", "k", "-5", "v") == Err(
        "ERR invalid expire time in 'psetex' command"
    )
    assert raw.call("SETEX", "k", "abc", "v") == Err(
        "ERR value is not an integer or out of range"
    )


def test_mset_mget_msetnx(rc, raw):
    assert rc.mset({"{u}a": "1", "{u}b": "2", "{u}c": "3"}) is True
    assert rc.mget("{u}a", "{u}b", "{u}missing", "{u}c") == ["1", "2", None, "3"]
    assert rc.msetnx({"{u}x": "x", "{u}y": "y"}) is True
    assert rc.msetnx({"{u}y": "Y", "{u}z": "z"}) is False
    assert rc.mget("{u}x", "{u}y", "{u}z") == ["x", "y", None]
    # The cluster client splits keys of different slots for MGET.
    rc.set("other", "o")
    assert rc.mget_nonatomic("{u}a", "other") == ["1", "o"]
    assert raw.call("MSET", "{u}a") == Err("ERR wrong number of arguments for 'mset' command")
    assert raw.call("MSET", "{u}a", "1", "{u}b") == Err(
        "ERR wrong number of arguments for 'mset' command"
    )


def test_crossslot(plain):
    # A plain client sends MSET as one command: the keys' slots differ.
    with pytest.raises(redis.ResponseError) as e:
        plain.mset({"a": "1", "b": "2"})
    assert error_text(e) == "CROSSSLOT Keys in request don't hash to the same slot"
    with pytest.raises(redis.ResponseError) as e:
        plain.mget("a", "b")
    assert error_text(e) == "CROSSSLOT Keys in request don't hash to the same slot"
    with pytest.raises(redis.ResponseError) as e:
        plain.rename("a", "b")
    assert error_text(e) == "CROSSSLOT Keys in request don't hash to the same slot"
    assert plain.exists("a") == 0
    assert plain.mset({"{a}1": "1", "{a}2": "2"}) is True


def test_getset_getdel_getex(rc):
    assert rc.getset("k", "1") is None
    assert rc.getset("k", "2") == "1"
    assert rc.getdel("k") == "2"
    assert rc.getdel("k") is None
    assert rc.exists("k") == 0
    rc.set("k", "v")
    assert rc.getex("k") == "v"
    assert rc.ttl("k") == -1
    assert rc.getex("k", ex=100) == "v"
    assert 98 <= rc.ttl("k") <= 100
    assert rc.getex("k", px=200_000) == "v"
    assert 195_000 <= rc.pttl("k") <= 200_000
    assert rc.getex("k", persist=True) == "v"
    assert rc.ttl("k") == -1
    now = int(time.time())
    assert rc.getex("k", exat=now + 100) == "v"
    assert rc.expiretime("k") == now + 100
    assert rc.getex("k", pxat=(now + 200) * 1000) == "v"
    assert rc.pexpiretime("k") == (now + 200) * 1000
    assert rc.getex("missing", ex=10) is None


def test_getex_errors(raw):
    raw.call("SET", "k", "v")
    assert raw.call("GETEX", "k", "EX", "0") == Err("ERR invalid expire time in 'getex' command")
    assert raw.call("GETEX", "k", "EX", "1", "PX", "1") == Err("ERR syntax error")
    assert raw.call("GETEX", "k", "PERSIST", "EX", "1") == Err("ERR syntax error")
    assert raw.call("GETEX", "k", "FOO") == Err("ERR syntax error")


def test_append_strlen(rc):
    assert rc.append("k", "Hello") == 5
    assert rc.append("k", " World") == 11
    assert rc.get("k") == "Hello World"
    assert rc.strlen("k") == 11
    assert rc.strlen("missing") == 0


def test_incr_decr(rc, raw):
    assert rc.incr("n") == 1
    assert rc.incrby("n", 10) == 11
    assert rc.decr("n") == 10
    assert rc.decrby("n", 20) == -10
    assert rc.get("n") == "-10"
    rc.set("n", "9223372036854775806")
    assert rc.incr("n") == 9223372036854775807
    assert raw.call("INCR", "n") == Err("ERR increment or decrement would overflow")
    raw.call("SET", "s", "abc")
    assert raw.call("INCR", "s") == Err("ERR value is not an integer or out of range")
    raw.call("SET", "s", " 1")
    assert raw.call("INCR", "s") == Err("ERR value is not an integer or out of range")
    assert raw.call("INCRBY", "n2", "1.5") == Err("ERR value is not an integer or out of range")
    assert raw.call("DECRBY", "n2", "-9223372036854775808") == Err(
        "ERR decrement would overflow"
    )


def test_incrbyfloat(rc, raw):
    rc.set("f", "10.50")
    assert rc.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert raw.call("GET", "f") == b"10.6"
    assert raw.call("INCRBYFLOAT", "f", "-5") == b"5.6"
    raw.call("SET", "f", "5.0e3")
    assert raw.call("INCRBYFLOAT", "f", "2.0e2") == b"5200"
    assert raw.call("INCRBYFLOAT", "new", "3") == b"3"
    assert raw.call("INCRBYFLOAT", "f", "abc") == Err("ERR value is not a valid float")
    assert raw.call("INCRBYFLOAT", "f", "inf") == Err(
        "ERR increment would produce NaN or Infinity"
    )
    raw.call("SET", "s", "xyz")
    assert raw.call("INCRBYFLOAT", "s", "1") == Err("ERR value is not a valid float")


def test_getrange_setrange(rc, raw):
    rc.set("k", "This is a string")
    assert rc.getrange("k", 0, 3) == "This"
    assert rc.getrange("k", -3, -1) == "ing"
    assert rc.getrange("k", 0, -1) == "This is a string"
    assert rc.getrange("k", 10, 100) == "string"
    assert rc.getrange("k", 5, 3) == ""
    assert rc.getrange("missing", 0, -1) == ""
    rc.set("h", "Hello World")
    assert rc.setrange("h", 6, "Redis") == 11
    assert rc.get("h") == "Hello Redis"
    assert rc.setrange("z", 6, "Redis") == 11
    assert raw.call("GET", "z") == b"\x00" * 6 + b"Redis"
    assert raw.call("SETRANGE", "z", "-1", "x") == Err("ERR offset is out of range")
    assert raw.call("SETRANGE", "z", "536870912", "x") == Err(
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    )
    assert raw.call("GETRANGE", "k", "a", "1") == Err(
        "ERR value is not an integer or out of range"
    )


# -- keys --------------------------------------------------------------------


def test_del_unlink_exists_type(rc):
    rc.mset({"{t}a": "1", "{t}b": "2", "{t}c": "3"})
    assert rc.exists("{t}a", "{t}a", "{t}missing") == 2
    assert rc.type("{t}a") == "string"
    assert rc.type("{t}missing") == "none"
    assert rc.delete("{t}a", "{t}missing") == 1
    assert rc.unlink("{t}b", "{t}c") == 2
    assert rc.exists("{t}a", "{t}b", "{t}c") == 0


def test_expire_family(rc, raw):
    rc.set("k", "v")
    assert rc.expire("k", 100) is True
    assert 98 <= rc.ttl("k") <= 100
    assert rc.pexpire("k", 200_000) is True
    assert 195_000 <= rc.pttl("k") <= 200_000
    now = int(time.time())
    assert rc.expireat("k", now + 300) is True
    assert rc.expiretime("k") == now + 300
    assert rc.pexpireat("k", (now + 400) * 1000) is True
    assert rc.pexpiretime("k") == (now + 400) * 1000
    assert rc.expire("missing", 100) is False
    # A non-positive expiry deletes the key.
    assert rc.expire("k", -1) is True
    assert rc.exists("k") == 0
    assert raw.call("EXPIRE", "k", "abc") == Err("ERR value is not an integer or out of range")
    raw.call("SET", "k", "v")
    assert raw.call("EXPIRE", "k", "9223372036854775807") == Err(
        "ERR invalid expire time in 'expire' command"
    )
    assert raw.call("PEXPIRE", "k", "9223372036854775807") == Err(
        "ERR invalid expire time in 'pexpire' command"
    )


def test_expire_nx_xx_gt_lt(rc, raw):
    rc.set("k", "v")
    assert rc.expire("k", 100, xx=True) is False  # no TTL yet
    assert rc.expire("k", 100, gt=True) is False  # no TTL counts as infinite
    assert rc.expire("k", 100, nx=True) is True
    assert rc.expire("k", 200, nx=True) is False
    assert rc.expire("k", 200, xx=True) is True
    assert rc.expire("k", 100, gt=True) is False
    assert rc.expire("k", 300, gt=True) is True
    assert rc.expire("k", 400, lt=True) is False
    assert rc.expire("k", 50, lt=True) is True
    assert 48 <= rc.ttl("k") <= 50
    rc.set("n", "v")
    assert rc.expire("n", 100, lt=True) is True  # infinite > 100
    assert raw.call("EXPIRE", "k", "10", "NX", "XX") == Err(
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    )
    assert raw.call("EXPIRE", "k", "10", "GT", "LT") == Err(
        "ERR GT and LT options at the same time are not compatible"
    )
    assert raw.call("EXPIRE", "k", "10", "FOO") == Err("ERR Unsupported option FOO")


def test_ttl_persist(rc):
    assert rc.ttl("missing") == -2
    assert rc.pttl("missing") == -2
    assert rc.expiretime("missing") == -2
    assert rc.pexpiretime("missing") == -2
    rc.set("k", "v")
    assert rc.ttl("k") == -1
    assert rc.pttl("k") == -1
    assert rc.expiretime("k") == -1
    assert rc.pexpiretime("k") == -1
    assert rc.persist("k") is False
    rc.expire("k", 100)
    assert rc.persist("k") is True
    assert rc.ttl("k") == -1
    assert rc.persist("missing") is False


def test_rename_renamenx(rc, raw):
    rc.set("{r}a", "1")
    rc.expire("{r}a", 100)
    assert rc.rename("{r}a", "{r}b") is True
    assert rc.get("{r}b") == "1"
    assert rc.exists("{r}a") == 0
    assert 98 <= rc.ttl("{r}b") <= 100  # the TTL moves with the value
    assert raw.call("RENAME", "{r}missing", "{r}x") == Err("ERR no such key")
    assert raw.call("RENAMENX", "{r}missing", "{r}x") == Err("ERR no such key")
    rc.set("{r}c", "3")
    assert rc.renamenx("{r}b", "{r}c") is False
    assert rc.renamenx("{r}b", "{r}d") is True
    assert rc.get("{r}d") == "1"
    assert raw.call("RENAME", "{r}d", "{r}d") == "OK"
    assert rc.get("{r}d") == "1"


def test_copy(rc, raw):
    rc.set("{c}src", "v")
    rc.expire("{c}src", 100)
    assert rc.copy("{c}src", "{c}dst") is True
    assert rc.get("{c}dst") == "v"
    assert 98 <= rc.ttl("{c}dst") <= 100
    rc.set("{c}src", "w")
    assert rc.copy("{c}src", "{c}dst") is False
    assert rc.copy("{c}src", "{c}dst", replace=True) is True
    assert rc.get("{c}dst") == "w"
    assert rc.copy("{c}missing", "{c}dst") is False
    assert raw.call("COPY", "{c}src", "{c}dst", "DB", "1") == Err(
        "ERR Copying to another database is not allowed in cluster mode"
    )


def test_touch(rc):
    rc.mset({"{t}a": "1", "{t}b": "2"})
    assert rc.touch("{t}a", "{t}b", "{t}missing") == 2


def test_keys_scan_randomkey_dbsize(rc, raw):
    assert rc.randomkey() is None
    assert rc.dbsize() == 0
    names = {f"user:{i}" for i in range(30)} | {"other1", "other2"}
    for n in names:
        rc.set(n, "v")
    assert rc.dbsize() == 32
    assert set(rc.keys("*")) == names
    assert set(rc.keys("user:1*")) == {"user:1"} | {f"user:1{i}" for i in range(10)}
    assert set(rc.keys("other?")) == {"other1", "other2"}
    assert set(rc.scan_iter(match="user:*", count=5)) == {f"user:{i}" for i in range(30)}
    assert set(rc.scan_iter(_type="string")) == names
    assert set(rc.scan_iter(_type="list")) == set()
    assert rc.randomkey() in names
    # One SCAN call: the cursor is a string and the page a list.
    cursor, page = raw.call("SCAN", "0", "COUNT", "1000")
    assert cursor == b"0" and len(page) == 32
    assert raw.call("SCAN", "abc") == Err("ERR invalid cursor")
    assert raw.call("SCAN", "0", "COUNT", "0") == Err("ERR syntax error")


# -- cluster -----------------------------------------------------------------


def test_cluster_keyslot(rc, raw):
    assert rc.cluster_keyslot("foo") == 12182
    assert rc.cluster_keyslot("{user1000}.following") == 3443
    assert raw.call("CLUSTER", "KEYSLOT", "foo{}{bar}") == 8363
    assert raw.call("CLUSTER", "KEYSLOT", "foo{{bar}}zap") == 4015
    assert raw.call("CLUSTER", "KEYSLOT", "foo{bar}{zap}") == 5061


def test_cluster_info(raw):
    info = raw.call("CLUSTER", "INFO").decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if line)
    assert fields["cluster_state"] == "ok"
    assert fields["cluster_slots_assigned"] == "16384"
    assert fields["cluster_slots_ok"] == "16384"
    assert fields["cluster_known_nodes"] == "1"
    assert fields["cluster_size"] == "1"


def test_cluster_myid_slots_shards_nodes(server, raw):
    myid = raw.call("CLUSTER", "MYID")
    assert isinstance(myid, bytes) and len(myid) == 40
    int(myid, 16)
    slots = raw.call("CLUSTER", "SLOTS")
    assert len(slots) == 1
    start, end, master = slots[0][0], slots[0][1], slots[0][2]
    assert (start, end) == (0, 16383)
    assert master[1] == server.port and master[2] == myid
    assert master[0] in (b"", b"127.0.0.1")
    shards = raw.call("CLUSTER", "SHARDS")
    assert len(shards) == 1
    shard = dict(zip(shards[0][::2], shards[0][1::2]))
    assert shard[b"slots"] == [0, 16383]
    (node,) = shard[b"nodes"]
    node = dict(zip(node[::2], node[1::2]))
    assert node[b"id"] == myid
    assert node[b"port"] == server.port
    assert node[b"role"] == b"master"
    assert node[b"health"] == b"online"
    nodes = raw.call("CLUSTER", "NODES").decode()
    (line,) = nodes.strip("\n").split("\n")
    parts = line.split(" ")
    assert parts[0] == myid.decode()
    assert parts[1].split("@")[0].endswith(f":{server.port}")
    assert parts[2] == "myself,master"
    assert parts[3] == "-"
    assert parts[7] == "connected"
    assert parts[8] == "0-16383"


def test_cluster_countkeysinslot_getkeysinslot(rc, raw):
    slot = rc.cluster_keyslot("{s}a")
    assert rc.cluster_countkeysinslot(slot) == 0
    rc.mset({"{s}a": "1", "{s}b": "2", "{s}c": "3"})
    assert rc.cluster_countkeysinslot(slot) == 3
    keys = raw.call("CLUSTER", "GETKEYSINSLOT", slot, 10)
    assert sorted(keys) == [b"{s}a", b"{s}b", b"{s}c"]
    assert len(raw.call("CLUSTER", "GETKEYSINSLOT", slot, 2)) == 2
    assert raw.call("CLUSTER", "COUNTKEYSINSLOT", 16384) == Err("ERR Invalid slot")
    assert raw.call("CLUSTER", "GETKEYSINSLOT", 1, -1) == Err(
        "ERR Invalid slot or number of keys"
    )


# -- server ------------------------------------------------------------------


def test_dbsize_time(rc, raw):
    assert raw.call("DBSIZE") == 0
    rc.set("a", "1")
    assert raw.call("DBSIZE") == 1
    secs, micros = raw.call("TIME")
    assert abs(int(secs) - time.time()) < 5
    assert 0 <= int(micros) < 1_000_000


def test_info(raw):
    info = raw.call("INFO").decode()
    assert "# Server" in info and "# Keyspace" in info
    server = raw.call("INFO", "server").decode()
    assert "redis_version:" in server
    assert "redis_mode:cluster" in server
    cluster = raw.call("INFO", "cluster").decode()
    assert "cluster_enabled:1" in cluster
    assert "# Keyspace" not in raw.call("INFO", "server").decode()


def test_config_get(server, raw):
    assert raw.call("CONFIG", "GET", "port") == [b"port", str(server.port).encode()]
    assert raw.call("CONFIG", "GET", "maxclients") == [b"maxclients", b"10000"]
    assert raw.call("CONFIG", "GET", "proto-max-bulk-len") == [
        b"proto-max-bulk-len",
        b"536870912",
    ]
    assert raw.call("CONFIG", "GET", "no-such-parameter") == []
    pairs = raw.call("CONFIG", "GET", "save", "appendonly")
    assert pairs[0::2] == [b"save", b"appendonly"] or sorted(pairs[0::2]) == [
        b"appendonly",
        b"save",
    ]


def test_client_commands(server, raw):
    cid = raw.call("CLIENT", "ID")
    assert isinstance(cid, int) and cid > 0
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.call("CLIENT", "SETNAME", "myname") == "OK"
    assert raw.call("CLIENT", "GETNAME") == b"myname"
    assert raw.call("CLIENT", "SETNAME", "bad name") == Err(
        "ERR Client names cannot contain spaces, newlines or special characters."
    )
    info = raw.call("CLIENT", "INFO").decode()
    assert info.startswith(f"id={cid} ")
    assert " name=myname " in info
    with server.conn() as other:
        other_id = other.call("CLIENT", "ID")
        assert other_id != cid
        listing = raw.call("CLIENT", "LIST").decode()
    ids = {int(line.split(" ")[0][3:]) for line in listing.strip("\n").split("\n")}
    assert {cid, other_id} <= ids
    assert f"id={cid} " in listing and "name=myname" in listing
    assert raw.call("CLIENT", "SETNAME", "") == "OK"
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.call("CLIENT", "NOSUCH") == Err(
        "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."
    )


# -- the RedisCluster API for the remaining commands ----------------------


def test_cluster_client_server_commands(server, rc):
    """INFO, DBSIZE, TIME, CONFIG GET/SET, FLUSHDB/FLUSHALL as redis-py sends them."""
    info = rc.info()
    assert info["redis_version"] == "7.0.15" and info["cluster_enabled"] == 1
    assert rc.info("server")["tcp_port"] == server.port
    assert rc.info("replication")["role"] == "master"
    rc.mset({"{f}a": "1", "{f}b": "2"})
    rc.set("other", "3", ex=100)
    assert rc.dbsize() == 3
    assert rc.info("keyspace")["db0"]["keys"] == 3
    assert rc.info("keyspace")["db0"]["expires"] == 1
    secs, micros = rc.time()
    assert abs(secs - time.time()) < 5 and 0 <= micros < 1_000_000
    assert rc.config_get("maxclients") == {"maxclients": "10000"}
    assert rc.config_set("timeout", 7) is True
    try:
        assert rc.config_get("timeout") == {"timeout": "7"}
    finally:
        rc.config_set("timeout", 0)
    assert rc.flushdb() is True
    assert rc.dbsize() == 0
    rc.set("k", "v")
    assert rc.flushall() is True
    assert rc.keys("*") == []
    assert rc.flushall(asynchronous=True) is True
    assert rc.flushdb(asynchronous=True) is True


def test_cluster_client_command_commands(rc):
    """COMMAND, COMMAND COUNT and COMMAND GETKEYS through redis-py (its cluster
    client itself reads COMMAND to learn where keys are)."""
    table = rc.command()
    assert rc.command_count() == len(table)
    get = table["get"]
    assert (get["arity"], get["first_key_pos"], get["last_key_pos"], get["step_count"]) == (2, 1, 1, 1)
    assert get["flags"] == ["readonly", "fast"]
    mset = table["mset"]
    assert (mset["arity"], mset["first_key_pos"], mset["last_key_pos"], mset["step_count"]) == (-3, 1, -1, 2)
    assert rc.command_getkeys("MSET", "a", "1", "b", "2") == ["a", "b"]
    assert rc.command_getkeys("SET", "k", "v", "EX", 10) == ["k"]
    assert rc.command_getkeys("COPY", "{x}a", "{x}b") == ["{x}a", "{x}b"]


def test_cluster_client_connection_commands(server, rc):
    """PING, ECHO, CLIENT ID/SETNAME/GETNAME/LIST/INFO/KILL, READONLY/READWRITE."""
    node = rc.get_default_node()
    assert rc.ping() is True
    assert rc.echo("hi", target_nodes=node) == "hi"
    cid = rc.client_id()
    assert isinstance(cid, int) and cid > 0
    assert rc.client_getname() is None
    assert rc.client_setname("rc-name") is True
    assert rc.client_getname() == "rc-name"
    assert rc.client_info()["name"] == "rc-name"
    assert any(c["name"] == "rc-name" for c in rc.client_list())
    assert rc.readonly() is True
    assert rc.readwrite() is True
    assert rc.set("k", "v") is True
    other = redis.Redis(host=server.host, port=server.port, decode_responses=True, protocol=2)
    try:
        other_id = other.client_id()
        assert rc.client_kill_filter(_id=other_id) == 1
        assert rc.client_kill_filter(_id=other_id) == 0
        assert all(int(c["id"]) != other_id for c in rc.client_list())
    finally:
        other.close()


def test_cluster_client_cluster_commands(server, rc):
    """CLUSTER SLOTS/SHARDS/NODES/MYID/INFO/COUNTKEYSINSLOT/GETKEYSINSLOT as redis-py parses them."""
    node = rc.get_default_node()
    myid = rc.cluster_myid(node)
    assert len(myid) == 40
    slots = rc.cluster_slots(target_nodes=node)
    assert list(slots) == [(0, 16383)]
    assert slots[(0, 16383)]["primary"][1] == server.port
    assert slots[(0, 16383)]["replicas"] == []
    (shard,) = rc.cluster_shards(target_nodes=node)
    assert shard["slots"] == [(0, 16383)] or shard["slots"] == [0, 16383]
    (shard_node,) = shard["nodes"]
    assert shard_node["id"] == myid and shard_node["port"] == server.port
    (entry,) = rc.cluster_nodes().values()
    assert entry["node_id"] == myid
    assert entry["flags"] == "myself,master"
    assert entry["slots"] == [["0", "16383"]]
    assert entry["connected"] is True
    assert rc.cluster_info()["cluster_state"] == "ok"
    slot = rc.cluster_keyslot("{g}")
    rc.mset({"{g}1": "a", "{g}2": "b"})
    assert rc.cluster_countkeysinslot(slot) == 2
    assert sorted(rc.cluster_get_keys_in_slot(slot, 10)) == ["{g}1", "{g}2"]


def test_cluster_client_resp3(server):
    """redis-py with protocol=3 (its default from 8.0) sends HELLO 3 on every
    connection; replies arrive as RESP3 types."""
    client = RedisCluster(host=server.host, port=server.port, decode_responses=True, protocol=3)
    try:
        assert client.set("k", "v") is True
        assert client.get("k") == "v"
        assert client.get("missing") is None
        assert client.incrbyfloat("f", 1.5) == 1.5
        assert client.config_get("maxclients") == {"maxclients": "10000"}
        assert client.info("server")["redis_mode"] == "cluster"
        assert client.ttl("k") == -1
    finally:
        client.close()


def test_cluster_client_with_password():
    """A requirepass node: RedisCluster without a password cannot even read the
    slots (NOAUTH); with it (AUTH in RESP2, HELLO 3 AUTH in RESP3) it works."""
    for start in (harness.start_redraft, _start_redis_cluster):
        srv = start()
        try:
            with srv.conn() as c:
                assert c.call("CONFIG", "SET", "requirepass", "pw") == "OK"
            with pytest.raises((redis.RedisError, RedisClusterException)) as e:
                RedisCluster(host=srv.host, port=srv.port, protocol=2)
            assert "Authentication required" in str(e.value) or "NOAUTH" in str(e.value), e.value
            for proto in (2, 3):
                client = RedisCluster(
                    host=srv.host, port=srv.port, password="pw", protocol=proto, decode_responses=True
                )
                try:
                    assert client.set("{a}k", "v") is True
                    assert client.mget("{a}k", "{a}j") == ["v", None]
                finally:
                    client.close()
        finally:
            srv.stop()


def _start_redis_cluster():
    if harness.redis_server_bin() is None:
        pytest.skip("redis-server is not installed")
    return harness.start_redis(cluster=True)


def test_plain_client_select_quit_reset(server):
    """The commands a cluster client cannot route, with redis-py's plain client:
    SELECT (db=1 fails on connect), QUIT, RESET."""
    with pytest.raises(redis.ResponseError) as e:
        redis.Redis(host=server.host, port=server.port, db=1, protocol=2).ping()
    assert error_text(e) == "ERR SELECT is not allowed in cluster mode"
    r = redis.Redis(host=server.host, port=server.port, db=0, protocol=2, decode_responses=True)
    try:
        assert r.ping() is True
        assert r.select(0) is True
        assert r.client_setname("plain") is True
        assert r.reset() == "RESET"
        assert r.client_getname() is None
        assert r.quit() is True
    finally:
        r.close()
