"""Transactions, case by case after Redis 7.0's tests/unit/multi.tcl.

Every test runs against redraft and against the reference one-node Redis
Cluster (the fixtures of test_cluster_client.py) through a raw RESP2
connection (`raw`), so exact replies and error texts are compared.
Cases that need DEBUG SET-ACTIVE-EXPIRE, SWAPDB, SELECT or the
replication stream are left out (not available in cluster mode).
"""

from __future__ import annotations

import time

from resp import Err, Status
from test_cluster_client import raw, server  # noqa: F401  (fixtures)

QUEUED = Status("QUEUED")
OK = Status("OK")
PONG = Status("PONG")
EXECABORT = Err("EXECABORT Transaction discarded because of previous errors.")
CROSSSLOT = Err("CROSSSLOT Keys in request don't hash to the same slot")


def wait_ms(ms: float) -> None:
    """Lets wall-clock time pass (the condition a TTL test waits for)."""
    deadline = time.monotonic() + ms / 1000
    while time.monotonic() < deadline:
        pass


def poll(cond, deadline_s: float = 5.0) -> None:
    end = time.monotonic() + deadline_s
    while not cond():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


def ping_exec(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("PING") == QUEUED
    return raw.call("EXEC")


def test_multi_exec_basics(raw):
    raw.call("DEL", "mylist")
    for x in "abc":
        raw.call("RPUSH", "mylist", x)
    assert raw.call("MULTI") == OK
    assert raw.call("LRANGE", "mylist", 0, -1) == QUEUED
    assert raw.call("PING") == QUEUED
    assert raw.call("EXEC") == [[b"a", b"b", b"c"], PONG]


def test_discard(raw):
    raw.call("DEL", "mylist")
    for x in "abc":
        raw.call("RPUSH", "mylist", x)
    assert raw.call("MULTI") == OK
    assert raw.call("DEL", "mylist") == QUEUED
    assert raw.call("DISCARD") == OK
    assert raw.call("LRANGE", "mylist", 0, -1) == [b"a", b"b", b"c"]


def test_nested_multi_are_not_allowed(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("MULTI") == Err("ERR MULTI calls can not be nested")
    assert raw.call("EXEC") == []


def test_multi_where_commands_alter_argc_argv(raw):
    raw.call("SADD", "myset", "a")
    assert raw.call("MULTI") == OK
    assert raw.call("SPOP", "myset") == QUEUED
    assert raw.call("EXEC") == [b"a"]
    assert raw.call("EXISTS", "myset") == 0


def test_watch_inside_multi_is_not_allowed(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("WATCH", "x") == Err("ERR WATCH inside MULTI is not allowed")
    assert raw.call("EXEC") == []


def test_exec_fails_if_there_are_errors_while_queueing_commands_1(raw):
    raw.call("DEL", "foo1{t}", "foo2{t}")
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "foo1{t}", "bar1") == QUEUED
    assert raw.call("non-existing-command") == Err(
        "ERR unknown command 'non-existing-command', with args beginning with: "
    )
    assert raw.call("SET", "foo2{t}", "bar2") == QUEUED
    assert raw.call("EXEC") == EXECABORT
    assert raw.call("EXISTS", "foo1{t}") == 0
    assert raw.call("EXISTS", "foo2{t}") == 0


def test_arity_error_while_queueing_aborts_exec(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "a{t}", "1") == QUEUED
    assert raw.call("SET", "a{t}") == Err("ERR wrong number of arguments for 'set' command")
    assert raw.call("INCR", "a{t}") == QUEUED
    assert raw.call("EXEC") == EXECABORT
    assert raw.call("GET", "a{t}") is None


def test_if_exec_aborts_the_client_multi_state_is_cleared(raw):
    raw.call("DEL", "foo1{t}", "foo2{t}")
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "foo1{t}", "bar1") == QUEUED
    assert isinstance(raw.call("non-existing-command"), Err)
    assert raw.call("SET", "foo2{t}", "bar2") == QUEUED
    assert raw.call("EXEC") == EXECABORT
    assert raw.call("PING") == PONG
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")


def test_exec_with_wrong_arity_discards_the_transaction(raw):
    abort = Err("EXECABORT Transaction discarded because of: wrong number of arguments for "
                "'exec' command")
    raw.call("DEL", "a{t}")
    assert raw.call("EXEC", "extra") == abort
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "a{t}", "1") == QUEUED
    assert raw.call("EXEC", "extra") == abort
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")
    assert raw.call("GET", "a{t}") is None
    # The WATCHed keys are forgotten too.
    assert raw.call("WATCH", "a{t}") == OK
    assert raw.call("EXEC", "extra") == abort
    assert raw.call("SET", "a{t}", "2") == OK
    assert ping_exec(raw) == [PONG]


def test_wrong_arity_of_multi_discard_watch_inside_multi_aborts_exec(raw):
    for bad in (["DISCARD", "x"], ["MULTI", "x"], ["WATCH"]):
        assert raw.call("MULTI") == OK
        assert raw.call(*bad) == Err(
            f"ERR wrong number of arguments for '{bad[0].lower()}' command")
        assert raw.call("PING") == QUEUED
        assert raw.call("EXEC") == EXECABORT


def test_bad_numkeys_is_queued_and_fails_inside_exec(raw):
    numkeys = Err("ERR numkeys should be greater than 0")
    syntax = Err("ERR syntax error")
    assert raw.call("MULTI") == OK
    for args in (["LMPOP", 0, "k{t}", "LEFT"], ["ZUNIONSTORE", "d{t}", "abc", "k{t}"],
                 ["ZDIFFSTORE", "d{t}", 2, "k{t}"], ["ZMPOP", 0, "k{t}", "MIN"],
                 ["BZMPOP", 0, 0, "k{t}", "MIN"], ["BLMPOP", 0, 5, "k{t}", "LEFT"]):
        assert raw.call(*args) == QUEUED
    assert raw.call("EXEC") == [
        numkeys, Err("ERR value is not an integer or out of range"), syntax, numkeys, numkeys,
        syntax]


def test_commands_queued_after_an_error_are_not_checked_for_crossslot(raw):
    zcount = Err("ERR wrong number of arguments for 'zcount' command")
    assert raw.call("MULTI") == OK
    assert raw.call("GET", "a{t}") == QUEUED
    assert raw.call("SET", "foo", "x") == QUEUED
    assert raw.call("ZCOUNT") == zcount
    assert raw.call("EXEC") == CROSSSLOT
    assert raw.call("MULTI") == OK
    assert raw.call("ZCOUNT") == zcount
    assert raw.call("GET", "a{t}") == QUEUED
    assert raw.call("SET", "foo", "x") == QUEUED
    assert raw.call("EXEC") == EXECABORT


def test_commands_queued_after_a_watched_key_changed_are_not_checked_for_crossslot(raw):
    assert raw.call("WATCH", "k{t}") == OK
    assert raw.call("SET", "k{t}", "v") == OK
    assert raw.call("MULTI") == OK
    assert raw.call("GET", "k{t}") == QUEUED
    assert raw.call("GET", "foo") == QUEUED
    assert raw.call("EXEC") is None


def test_exec_and_discard_without_multi(raw):
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")
    assert raw.call("DISCARD") == Err("ERR DISCARD without MULTI")


def test_exec_works_on_watched_key_not_modified(raw):
    assert raw.call("WATCH", "x{t}", "y{t}", "z{t}") == OK
    assert raw.call("WATCH", "k{t}") == OK
    assert ping_exec(raw) == [PONG]


def test_exec_fail_on_watched_key_modified_1_key_of_1_watched(raw):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 40)
    assert ping_exec(raw) is None


def test_exec_fail_on_watched_key_modified_1_key_of_5_watched(raw):
    raw.call("SET", "x{t}", 30)
    assert raw.call("WATCH", "a{t}", "b{t}", "x{t}", "k{t}", "z{t}") == OK
    raw.call("SET", "x{t}", 40)
    assert ping_exec(raw) is None


def test_exec_fail_on_watched_key_modified_by_another_client(raw, server):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    with server.conn() as other:
        assert other.call("SET", "x", 40) == OK
    assert raw.call("MULTI") == OK
    assert raw.call("INCR", "x") == QUEUED
    assert raw.call("EXEC") is None
    assert raw.call("GET", "x") == b"40"


def test_exec_fail_on_watched_absent_key_created_and_deleted(raw):
    raw.call("DEL", "x")
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 1)
    raw.call("DEL", "x")
    assert ping_exec(raw) is None


def test_exec_fail_on_watched_collection_member_changed(raw):
    raw.call("DEL", "h")
    raw.call("HSET", "h", "f", "1")
    assert raw.call("WATCH", "h") == OK
    raw.call("HSET", "h", "f", "2")
    assert ping_exec(raw) is None


def test_exec_fail_on_lazy_expired_watched_key(raw):
    raw.call("DEL", "key")
    assert raw.call("SET", "key", 1, "PX", 50) == OK
    assert raw.call("WATCH", "key") == OK
    wait_ms(60)
    assert raw.call("MULTI") == OK
    assert raw.call("INCR", "key") == QUEUED
    assert raw.call("EXEC") is None


def test_watch_stale_keys_should_not_fail_exec(raw):
    raw.call("DEL", "x")
    assert raw.call("SET", "x", "foo", "PX", 1) == OK
    wait_ms(3)
    assert raw.call("WATCH", "x") == OK
    assert ping_exec(raw) == [PONG]


def test_delete_watched_stale_keys_should_not_fail_exec(raw):
    raw.call("DEL", "x")
    assert raw.call("SET", "x", "foo", "PX", 1) == OK
    wait_ms(3)
    assert raw.call("WATCH", "x") == OK
    assert raw.call("EXISTS", "x") == 0
    assert raw.call("DEL", "x") == 0
    assert ping_exec(raw) == [PONG]


def test_exec_fail_on_watched_stale_key_written_and_deleted(raw):
    raw.call("DEL", "x")
    assert raw.call("SET", "x", "foo", "PX", 1) == OK
    wait_ms(3)
    assert raw.call("WATCH", "x") == OK
    assert raw.call("ZADD", "x", 0, "a") == 1
    assert raw.call("DEL", "x") == 1
    assert ping_exec(raw) is None


def test_flushdb_while_watching_stale_keys_should_not_fail_exec(raw):
    raw.call("DEL", "x")
    assert raw.call("SET", "x", "foo", "PX", 1) == OK
    wait_ms(3)
    assert raw.call("WATCH", "x") == OK
    assert raw.call("FLUSHDB") == OK
    assert ping_exec(raw) == [PONG]


def test_after_successful_exec_key_is_no_longer_watched(raw):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    assert ping_exec(raw) == [PONG]
    raw.call("SET", "x", 40)
    assert ping_exec(raw) == [PONG]


def test_after_failed_exec_key_is_no_longer_watched(raw):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 40)
    assert ping_exec(raw) is None
    raw.call("SET", "x", 40)
    assert ping_exec(raw) == [PONG]


def test_it_is_possible_to_unwatch(raw):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 40)
    assert raw.call("UNWATCH") == OK
    assert ping_exec(raw) == [PONG]


def test_unwatch_when_there_is_nothing_watched_works_as_expected(raw):
    assert raw.call("UNWATCH") == OK


def test_flushall_is_able_to_touch_the_watched_keys(raw):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    assert raw.call("FLUSHALL") == OK
    assert ping_exec(raw) is None


def test_flushall_does_not_touch_non_affected_keys(raw):
    raw.call("DEL", "x")
    assert raw.call("WATCH", "x") == OK
    assert raw.call("FLUSHALL") == OK
    assert ping_exec(raw) == [PONG]


def test_flushdb_is_able_to_touch_the_watched_keys(raw):
    raw.call("SET", "x", 30)
    assert raw.call("WATCH", "x") == OK
    assert raw.call("FLUSHDB") == OK
    assert ping_exec(raw) is None


def test_flushdb_does_not_touch_non_affected_keys(raw):
    raw.call("DEL", "x")
    assert raw.call("WATCH", "x") == OK
    assert raw.call("FLUSHDB") == OK
    assert ping_exec(raw) == [PONG]


def test_watch_will_consider_touched_keys_target_of_expire(raw):
    raw.call("DEL", "x")
    raw.call("SET", "x", "foo")
    assert raw.call("WATCH", "x") == OK
    assert raw.call("EXPIRE", "x", 10) == 1
    assert ping_exec(raw) is None


def test_watch_will_consider_touched_expired_keys(raw):
    raw.call("FLUSHALL")
    raw.call("SET", "x", "foo")
    raw.call("PEXPIRE", "x", 200)
    assert raw.call("WATCH", "x") == OK
    poll(lambda: raw.call("DBSIZE") == 0)
    assert ping_exec(raw) is None


def test_discard_should_clear_the_watch_dirty_flag_on_the_client(raw):
    raw.call("DEL", "x")
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 10)
    assert raw.call("MULTI") == OK
    assert raw.call("DISCARD") == OK
    assert raw.call("MULTI") == OK
    assert raw.call("INCR", "x") == QUEUED
    assert raw.call("EXEC") == [11]


def test_discard_should_unwatch_all_the_keys(raw):
    raw.call("DEL", "x")
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 10)
    assert raw.call("MULTI") == OK
    assert raw.call("DISCARD") == OK
    raw.call("SET", "x", 10)
    assert raw.call("MULTI") == OK
    assert raw.call("INCR", "x") == QUEUED
    assert raw.call("EXEC") == [11]


# -- beyond multi.tcl: replies and errors inside EXEC, cluster rules ---------


def test_reads_inside_exec_see_earlier_writes(raw):
    raw.call("DEL", "k{t}", "n{t}")
    assert raw.call("MULTI") == OK
    for cmd in (
        ("SET", "k{t}", "v"),
        ("GET", "k{t}"),
        ("INCR", "n{t}"),
        ("INCR", "n{t}"),
        ("EXISTS", "k{t}", "n{t}"),
        ("DEL", "k{t}"),
        ("GET", "k{t}"),
    ):
        assert raw.call(*cmd) == QUEUED
    assert raw.call("EXEC") == [OK, b"v", 1, 2, 2, 1, None]


def test_runtime_errors_are_replies_inside_the_exec_array(raw):
    raw.call("DEL", "a")
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "a", 1) == QUEUED
    assert raw.call("LPUSH", "a", "x") == QUEUED
    assert raw.call("SET", "a", 2, "BADOPTION") == QUEUED
    assert raw.call("GET", "a") == QUEUED
    assert raw.call("EXEC") == [
        OK,
        Err("WRONGTYPE Operation against a key holding the wrong kind of value"),
        Err("ERR syntax error"),
        b"1",
    ]


def test_keyless_commands_inside_multi(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("PING") == QUEUED
    assert raw.call("ECHO", "hi") == QUEUED
    assert raw.call("EXEC") == [PONG, b"hi"]
    assert raw.call("MULTI") == OK
    assert raw.call("EXEC") == []


def test_keyless_commands_mixed_with_keyed_ones(raw):
    raw.call("DEL", "k")
    assert raw.call("MULTI") == OK
    assert raw.call("ECHO", "a") == QUEUED
    assert raw.call("SET", "k", "1") == QUEUED
    assert raw.call("PING") == QUEUED
    assert raw.call("GET", "k") == QUEUED
    assert raw.call("EXEC") == [b"a", OK, PONG, b"1"]


def test_crossslot_between_queued_commands_fails_exec(raw):
    raw.call("DEL", "a")
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "a", 1) == QUEUED
    assert raw.call("SET", "b", 2) == QUEUED
    assert raw.call("EXEC") == CROSSSLOT
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")
    assert raw.call("EXISTS", "a") == 0


def test_crossslot_inside_a_queued_command_aborts_exec(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("MSET", "a", 1, "b", 2) == CROSSSLOT
    assert raw.call("EXEC") == EXECABORT


def test_watch_of_keys_in_different_slots(raw):
    assert raw.call("WATCH", "a", "b") == CROSSSLOT
    assert raw.call("WATCH", "a{t}", "b{t}") == OK
    assert raw.call("UNWATCH") == OK


def test_watched_transaction_applies_its_writes(raw):
    raw.call("SET", "w{t}", 1)
    assert raw.call("WATCH", "w{t}", "other{t}") == OK
    assert raw.call("MULTI") == OK
    assert raw.call("INCR", "w{t}") == QUEUED
    assert raw.call("SET", "other{t}", "x") == QUEUED
    assert raw.call("EXEC") == [2, OK]
    assert raw.call("GET", "other{t}") == b"x"


def test_exec_abort_replies_raw_resp2_and_resp3(raw):
    raw.call("SET", "x", 1)
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 2)
    assert raw.call("MULTI") == OK
    assert raw.call("PING") == QUEUED
    raw.send("EXEC")
    assert raw.read_line_raw() == b"*-1"
    raw.call("HELLO", "3")
    assert raw.call("WATCH", "x") == OK
    raw.call("SET", "x", 3)
    assert raw.call("MULTI") == OK
    assert raw.call("GET", "x") == QUEUED
    raw.send("EXEC")
    assert raw.read_line_raw() == b"_"
    assert raw.call("MULTI") == OK
    assert raw.call("GET", "x") == QUEUED
    assert raw.call("EXEC") == [b"3"]


def test_reset_clears_the_transaction(raw):
    assert raw.call("MULTI") == OK
    assert raw.call("SET", "r", 1) == QUEUED
    assert raw.call("RESET") == Status("RESET")
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")
    assert raw.call("EXISTS", "r") == 0
