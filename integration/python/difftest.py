#!/usr/bin/env python3
"""Differential testing: the same random commands to redraft and to Redis.

Each sequence starts from an empty keyspace on both servers and sends the
same random string, generic-key, hash, set, list and sorted-set commands,
DUMP/RESTORE, transactions and blocking pops, with random options and
in-range and out-of-range arguments (negative, huge, non-numeric, float
strings), to redraft and to a reference redis-server, and compares the
replies exactly: kind (status, bulk, integer, array, nil, error) and
bytes, error texts in full.

The reference is a redis-server in cluster mode owning all 16384 slots,
because redraft always has cluster semantics: multi-key commands across
slots get CROSSSLOT on both, SELECT is refused on both. Most keys share
the hash tag `{t}` so multi-key commands usually run; a few keys live in
other slots and sometimes land in a multi-key command on purpose.

Each sequence runs on RESP2 or, for about a third of the seeds, on RESP3
(`HELLO 3` on both connections first); independently, about a third of the
sequences are sent in pipelined batches of 2-30 commands, so reads meet
writes that are still in flight. Replies are compared as the exact
bytes each server sent, except where DEVIATIONS says otherwise. Relative
TTLs are drawn without repeats from values at least 1000 s apart, so GT/LT
comparisons and expiries never depend on which server was a millisecond
slower; absolute times are sometimes repeated, so GT/LT also meet equal
expiries. A few steps give a key a 1 ms expiry and wait (polling PTTL,
with a deadline) until both servers report it gone, so later commands meet
keys that really expired.

Collections share the small keyspace with strings: in each sequence every
family (strings, hashes, sets, lists) prefers two of the `{t}` keys, but any
command now and then takes any key, and RENAME/COPY/SET move types around,
so WRONGTYPE replies, TYPE, OBJECT ENCODING, EXPIRE, DEL and SCAN's TYPE
filter all meet every type. Hash field / set member order and the random
commands (SPOP, SRANDMEMBER, HRANDFIELD) are compared loosely: see
DEVIATIONS.

Sorted sets get their own two keys too: ZADD with every flag combination,
scores with infinities and bad floats, every ZRANGE form (by rank, score,
lex; REV, LIMIT, WITHSCORES), the set operations with WEIGHTS/AGGREGATE,
the pops (exact: they are deterministic) and ZRANDMEMBER (random). DUMP
and RESTORE run as round trips: DUMP a key and RESTORE it under another
name on the same server, and *across* servers (redraft's DUMP restored
into redis-server, redis-server's into redraft), so later commands on the
restored key compare the two values; plus RESTORE with broken payloads,
BUSYKEY and bad TTLs, compared exactly.

Transactions: MULTI, 0-5 queued commands of the `{t}` slot (whose replies
come back exactly in EXEC's array), then EXEC or DISCARD; now and then a
queued command that makes EXEC fail (unknown command or wrong arity:
EXECABORT; a key of another slot: CROSSSLOT) or that is refused at once
(nested MULTI, WATCH inside MULTI). WATCH blocks: WATCH 1-3 keys, then
writes to them that change them or leave them as they were (no-op writes,
expiry changes, reads), on the same connection or on a second one (another
client, the same commands to both servers), or to other keys, sometimes
UNWATCH, then a transaction: EXEC runs or answers nil. A key that expires
while watched (SET PX 100 and WATCH pipelined, then polled until gone) makes
EXEC fail. Also EXEC/DISCARD without MULTI, WATCH refused (arity,
CROSSSLOT), UNWATCH alone.

Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
BZPOPMAX, BZMPOP) only in forms whose reply does not depend on timing, and
no step ever waits long: on keys that may be empty only short timeouts
(nil when they expire) or ones Redis refuses (the timeout error texts are
compared exactly); a long timeout or 0 only right after a push to one of
the pop's keys (it answers at once: data, or WRONGTYPE when the push
failed) or inside MULTI, where a pop never blocks (nil on empty keys). The
timeout pools (SHORT/SUB_MS/BAD/LONG_TIMEOUTS) hold Redis 7.0's parsing
edge cases; `every_timeout_steps` sends each of them to each pop (the
sub-millisecond ones on empty keys only there, see SUB_MS). Redis expires
blocking timeouts on its hz tick, so the run sets hz to 100 on both servers
(redraft accepts and ignores it) and a 10 ms timeout costs ~10 ms.
Transactions and blocking pops draw from a random stream of their own, so
the other commands' stream is the one it was before they were added.

CAVEATS:
- Scores are integers, halves and infinities, so sums are exact whatever
  order a server adds them in (see zset.rs CAVEATS on ZINTER's SUM).
- Collections are mostly small (8 fields, 10 members); now and then one
  step writes a few hundred fields/members/elements, around Redis's 512
  listpack/intset thresholds, and a 65-byte field or value converts a hash
  to `hashtable`; HSCAN/SSCAN compare a full iteration, so page sizes are
  not checked.

Library: `run_sequence`, `run_many`. CLI (see scripts/difftest.sh):

    python3 integration/python/difftest.py --seconds 60 [--seed S] [--length N]
    python3 integration/python/difftest.py --self-check   # redis vs redis
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field

from resp import RespConn, encode_command

TAG_KEYS = [b"{t}k%d" % i for i in range(10)]
# Other slots: single-key commands, and CROSSSLOT checks in multi-key ones.
OTHER_KEYS = [b"a", b"foo", b"user:1000"]
ALL_KEYS = TAG_KEYS + OTHER_KEYS

# Every place where replies are not compared byte for byte, and why.
DEVIATIONS = {
    "TIME": "excluded: two servers' clocks never agree to the microsecond",
    "CLIENT ID": "excluded: connection ids depend on each server's history",
    "INFO": "excluded: server-specific text (versions, memory, uptime)",
    "HELLO": "sent before a RESP3 sequence, reply not compared: it names the server, its "
    "version and the connection id",
    "OBJECT IDLETIME": "excluded: seconds since the last access, a matter of timing",
    "SELECT": "excluded: refused in cluster mode by both (one database)",
    "FLUSHALL/FLUSHDB": "only between sequences, as the reset",
    "KEYS": "compared as sorted lists: the order is unspecified",
    "SCAN": "a full cursor iteration per step, compared as a sorted list: cursors and page "
    "boundaries are implementation details; errors are compared exactly",
    "RANDOMKEY": "compared as 'both nil' or 'both return a key that exists'",
    "DBSIZE": "compared after an EXISTS of every key on both servers: redis-server still counts "
    "a key that SET/GETEX gave an absolute expiry in the past until its expiry cycle or an "
    "access reclaims it (a timing detail); redraft never counts it",
    "TTL/PTTL": "-1 and -2 exactly; positive values within 2 s / 2000 ms, since each server "
    "stamps relative expiries with its own clock",
    "EXPIRETIME/PEXPIRETIME": "-1 and -2 exactly; absolute times within 2 s / 2000 ms, for "
    "the same reason",
    "HGETALL/HKEYS/HVALS": "compared as sorted multisets (reply type exact): redraft returns "
    "fields in byte order, Redis in listpack insertion or hash-table order",
    "SMEMBERS/SINTER/SUNION/SDIFF": "compared as sorted multisets (reply type exact), for the "
    "same reason",
    "HSCAN/SSCAN": "a full cursor iteration per step, compared as a sorted multiset of "
    "fields/members (HSCAN: field-value pairs); errors are compared exactly",
    "SRANDMEMBER/HRANDFIELD": "random: compared by reply shape (types and lengths) and by "
    "each member/field (and value) being in the key on its own server",
    "SPOP": "random: compared by reply shape, each popped member having been in the set on "
    "its own server; the key is then deleted on both (not compared) so the keyspaces agree",
    "ZRANDMEMBER": "random: compared by reply shape and by each member (and score) being in "
    "the key on its own server",
    "lex ranges": "ZRANGEBYLEX & co. on a skiplist-encoded set whose scores differ: Redis's "
    "answer depends on its skiplist's random levels, so the reply is compared by kind only "
    "and the keys involved are deleted on both servers afterwards",
    "ZSCAN": "a full cursor iteration per step, compared as a sorted multiset of member-score "
    "pairs; errors are compared exactly",
    "DUMP": "exact for strings, intsets, listpack sorted sets and one-node lists whose "
    "bytes are not LZF-compressed; otherwise compared by reply kind only: hashes and plain "
    "sets list fields/members in each server's own order, and the lzf crate may choose other "
    "(equally valid) tokens than liblzf near the end of a compressed string (the values are "
    "compared by the RESTORE steps and the commands after them)",
    "RESTORE (round trips)": "the payload is each server's own DUMP of the source key (or, "
    "crossed, the other server's); the RESTORE replies are compared exactly",
    "EXEC after WATCH of an absent key": "redraft judges a watched key absent at EXEC by its "
    "slot's deletion stamp (the last write of the records deleted from the slot), so the "
    "deletion of *another* key of the slot that was written after the WATCH aborts EXEC (a "
    "conservative abort, see keyspace::Watch::changed) where Redis runs it. Tolerated only when redraft "
    "answered nil, Redis ran the transaction and a key of the WATCH did not exist (EXISTS "
    "just before it) on redraft; then the same queued commands are sent to redraft again in "
    "MULTI/EXEC without WATCH, and that EXEC must equal Redis's reply exactly (the keyspaces "
    "agree again). Counted in the summary",
    "MULTI with SCAN/KEYS/RANDOMKEY/DBSIZE, LCS, OBJECT FREQ/IDLETIME/REFCOUNT": "never "
    "queued: redraft refuses keyspace-wide commands inside MULTI (EXECABORT) and answers an "
    "error in EXEC's array for LCS and OBJECT FREQ/IDLETIME/REFCOUNT (see cmd/multi.rs); "
    "Redis runs them",
    "expiring WATCH": "if a server took longer than the key's 100 ms PX between SET and WATCH "
    "(PTTL right after WATCH says the key is gone), both UNWATCH, so EXEC runs on both. "
    "Counted in the summary",
    "HELLO/UNWATCH/CONFIG SET hz": "sent by the reset before each sequence (HELLO, UNWATCH) "
    "and once per run (CONFIG SET hz 100: timing only, see above); replies not compared",
}

TTL_TOLERANCE_S = 2
TTL_TOLERANCE_MS = 2000

INTS = [
    b"0", b"1", b"-1", b"7", b"42", b"-100", b"1000",
    b"9223372036854775807", b"-9223372036854775808", b"9223372036854775806",
]
BAD_INTS = [
    b"9223372036854775808", b"-9223372036854775809", b"1.5", b"abc", b"",
    b" 1", b"1 ", b"+1", b"01", b"1e3", b"-0",
]
FLOATS = [
    b"1.5", b"-0.25", b"0.1", b"10", b"1e2", b"-3.0e-2", b"5.0e3", b"3",
    b"-7", b"0", b"1.0000000000000002", b"123456789.123",
]
BAD_FLOATS = [b"inf", b"-inf", b"nan", b"abc", b"", b"1.5x", b" 1.5", b"1e400"]
VALUES = INTS + FLOATS[:6] + [
    b"", b"hello", b"world", b"x" * 40, b"\x00\xffbin\r\n", b"abc def", b"10.50",
    # LCS material, and OBJECT ENCODING's boundaries (44 bytes embstr, 20 digits int).
    b"ohmytext", b"mynewtext", b"y" * 44, b"z" * 45, b"12345678901234567890", b"-0", b"007",
    # Stored values that INCR* must refuse or parse with care.
    b" 1", b"+1", b"1e3", b"9223372036854775808", b"inf", b"-inf", b"nan", b" 1.5", b"1.5 ",
    b"0x10", b"1e400", b".5", b"5.", b"1_000",
]
PATTERNS = [
    b"*", b"{t}k*", b"{t}k[0-2]", b"{t}k[^0]", b"?", b"a*", b"*k?", b"[", b"\\*",
    b"user:*", b"{t}k?", b"f[a-z]o", b"nomatch*",
]
OFFSETS = [b"0", b"1", b"3", b"-1", b"-3", b"100", b"-100", b"9223372036854775807"]
# Cursors SCAN refuses. Not "" or "-1": Redis reads those as cursors (0 and
# 2^64-1), whose pages depend on its hash table.
BAD_CURSORS = [b"abc", b"1.5", b" 1", b"1x", b"18446744073709551616"]
# Hash fields: a few short ones, an empty one, a number, and one too long
# for a listpack (Redis converts to hashtable over 64 bytes).
FIELDS = [b"f1", b"f2", b"f3", b"f4", b"f5", b"", b"1", b"f" * 65]
HVALUES = [b"v", b"1", b"-3", b"2.5", b"", b"x" * 65, b"9223372036854775807", b"abc"]
# Set members and list elements: mostly small integers (intset), a few strings.
MEMBERS = [b"1", b"2", b"3", b"-5", b"100", b"a", b"b", b"c", b"hello", b""]
COUNTS = [b"0", b"1", b"2", b"3", b"5", b"-1", b"-2", b"-5", b"100"]
BAD_COUNTS = [b"abc", b"1.5", b"", b"9223372036854775808", b"-9223372036854775808"]
LIST_INDEXES = [b"0", b"1", b"2", b"-1", b"-2", b"-3", b"5", b"-100", b"100"]
FAMILIES = ("hash", "set", "list", "zset")
# Scores: integers, halves and infinities (sums exact in any order), and bad ones.
SCORES = [b"1", b"2", b"2.5", b"-3", b"0", b"10", b"-0.5", b"inf", b"-inf", b"+inf", b"1e3",
          b"3", b"-0"]
BAD_SCORES = [b"nan", b"abc", b"", b"1.5x", b"1e400", b" 1"]
ZMEMBERS = [b"a", b"b", b"c", b"d", b"e", b"1", b"2", b"", b"ab"]
SCORE_BOUNDS = [b"-inf", b"+inf", b"inf", b"0", b"(0", b"1", b"(1", b"2.5", b"(2.5", b"10",
                b"-3", b"(-inf", b"(+inf"]
BAD_SCORE_BOUNDS = [b"abc", b"(", b"nan", b"((1", b"1x"]
LEX_BOUNDS = [b"-", b"+", b"[a", b"(a", b"[b", b"(c", b"[e", b"(ab", b"[", b"(", b"[z"]
BAD_LEX_BOUNDS = [b"a", b"", b"*", b"--"]
WEIGHTS = [b"1", b"2", b"-1", b"0.5", b"0", b"inf", b"abc"]


def crc64_redis(data: bytes) -> int:
    """CRC-64/Jones as Redis checks DUMP payloads (reflected, no final xor)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x95AC9329AC4BC9B5 if crc & 1 else 0)
    return crc


def with_footer(body: bytes, rdb_version: int = 10) -> bytes:
    """`body` (type byte and object) with an RDB version and a valid checksum."""
    data = body + rdb_version.to_bytes(2, "little")
    return data + crc64_redis(data).to_bytes(8, "little")


# Payloads RESTORE must refuse: too short, a bad checksum, a newer RDB
# version, garbage or an empty collection behind a valid footer.
BAD_PAYLOADS = [
    b"", b"\x00\x03bar", with_footer(b"\x00\x03bar")[:-1] + b"\x00",
    with_footer(b"\x00\x03bar", 11), with_footer(b"\x07\x01\x02"),
    with_footer(b"\x02\x00"), with_footer(b"\x00\x05ab"),
]
# Blocking pops, and their timeouts (seconds) by what Redis 7.0 does with
# them: it reads a timeout with strtold (so hex and "inf" too; not "nan",
# not leading or trailing spaces, not what overflows or underflows a long
# double), takes ms = (long long) ceill(t * 1000) and refuses ms < 0; a
# value whose ms do not fit a long long (infinities too) converts to
# LLONG_MIN: "timeout is negative". ms = 0 means no timeout: "-0.0001".
BLOCKING_POPS = ["BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX",
                 "BZMPOP"]
# Valid and small: on empty keys the pop answers nil when it expires. Any key.
SHORT_TIMEOUTS = [b"0.01", b"0.02", b".01", b"1e-2", b"+0.01", b"0.010"]
# Under a millisecond, so 1 ms (ceil): only in `every_timeout_steps`, which
# waits 2 s, not 10, for a server that takes them for 0 (no timeout).
SUB_MS_TIMEOUTS = [b"0.0001", b"1e-400"]
# Refused ("not a float or out of range", "negative"): any key.
BAD_TIMEOUTS = [
    b"-1", b"-0.5", b"-2e-3", b"abc", b"", b" 1", b"1 ", b"nan", b"NaN", b"1_0", b"0x", b"1e",
    b"--1", b"1.5.5", b"1e5000", b"1e-5000", b"inf", b"-inf", b"+inf", b"INF", b"infinity",
    b"1e400", b"-1e400", b"-0x10", b"99999999999999999999", b"9223372036854775807", b"1e16",
    b"9.3e15",
]
# Valid but long, or 0 (no timeout): only on keys that have data, or inside
# MULTI (where a pop never blocks), so no step ever waits for them.
LONG_TIMEOUTS = [
    b"0", b"0.0", b"-0", b"-0.0001", b"0x10", b"0X10", b"0x1p3", b"1.5e3", b"1e+1", b"+.5",
    b"1e15", b"9223372036854775", b"100", b"5.", b"1", b"3600",
]
# Not drawn: timeouts whose milliseconds lie within rounding error of an
# integer or of 2^63, where x87 long double rounding decides ("-1e-3" gives
# ms = 0 in Redis, -1 in exact arithmetic; "9223372036854775.807").
# Commands redraft does not run inside MULTI (see DEVIATIONS), so a
# transaction never queues them: those on the whole keyspace (refused when
# queued), LCS and OBJECT FREQ/IDLETIME/REFCOUNT (an error in EXEC's array).
KEYSPACE_WIDE = {b"SCAN", b"KEYS", b"RANDOMKEY", b"DBSIZE", b"FLUSHALL", b"FLUSHDB"}


def refused_in_multi(args: list[bytes]) -> bool:
    name = args[0].upper()
    if name in KEYSPACE_WIDE or name == b"LCS":
        return True
    return name == b"OBJECT" and len(args) > 1 and \
        args[1].upper() in (b"FREQ", b"IDLETIME", b"REFCOUNT")
# A key that expires while it is WATCHed: its PX, short, but long enough
# that SET and WATCH (pipelined) always run while it lives.
EXPIRING_WATCH_MS = 100
SETRANGE_OFFSETS = [b"0", b"1", b"5", b"20", b"-1", b"536870912", b"9223372036854775807", b"x"]


def _show(arg: bytes) -> str:
    """An argument as redis-cli would quote it."""
    s = repr(arg)[2:-1]
    return s if s and all(c not in s for c in " '\"\\") else '"' + s.replace('"', '\\"') + '"'


def show_command(args) -> str:
    return " ".join(_show(a) for a in args)


# Modes that send more than the step's own command (or read its key
# afterwards): a step mutated into an arity error is compared exactly instead.
MULTI_CALL = {"scan", "expire_soon", "hscan", "sscan", "spop", "random_set", "random_hash",
              "zscan", "random_zset", "restore_own", "restore_cross", "lex"}


@dataclass
class Step:
    args: list[bytes]
    mode: str = "exact"  # exact | sorted | scan | randomkey | ttl_s | ttl_ms | ...
    # RESTORE round trips: the key whose DUMP is the payload (args[3] is a placeholder).
    src: bytes | None = None
    # EXEC after WATCH ("exec_watched"): the commands sent between MULTI and EXEC.
    # "watch_expiring": the commands pipelined after `args` (WATCH, PTTL).
    more: list[list[bytes]] | None = None

    def show(self) -> str:
        """The step as a report line shows it."""
        text = show_command(self.args)
        if self.mode == "watch_expiring":
            text = "; ".join([text, *(show_command(a) for a in self.more or [])]) + \
                "  (pipelined; then PTTL until the key is gone)"
        elif self.mode == "other":
            text += "  (on a second connection)"
        elif self.mode == "watch":
            text += "  (after EXISTS of each key)"
        return text


class Generator:
    """Random commands for one sequence; deterministic for a seed."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        # Transactions and blocking pops draw from this one (see `steps`).
        self.rng_tx = random.Random(seed ^ 0x7C0B)
        # Relative TTLs in seconds, never repeated in a sequence and 1000 s apart.
        self.ttls = [k * 1000 for k in range(1, 5000)]
        self.rng.shuffle(self.ttls)
        self.now_s = int(time.time())
        self.used_abs: list[int] = []
        # The keys each family prefers in this sequence; every command also
        # takes any key now and then (and RENAME/COPY move types around), so
        # types collide (WRONGTYPE) without drowning the commands' own paths.
        s = self.rng.sample(TAG_KEYS, len(TAG_KEYS))
        self.affinity = {"hash": s[0:2], "set": s[2:4], "list": s[4:6], "string": s[6:8],
                         "zset": s[8:10]}
        # While a transaction's commands are drawn: every key in the `{t}` slot
        # (a cross-slot command is added on purpose now and then), and
        # blocking pops take any timeout (inside MULTI they never block).
        self.in_multi = False

    # -- argument pools ------------------------------------------------------

    def key(self) -> bytes:
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(self.affinity["string"])
        if r < 0.85 or self.in_multi:
            return self.rng.choice(TAG_KEYS)
        return self.rng.choice(OTHER_KEYS)

    def keys(self, lo: int = 1, hi: int = 4) -> list[bytes]:
        """Keys for a multi-key command: one slot, but now and then a cross-slot one."""
        n = self.rng.randint(lo, hi)
        keys = [self.rng.choice(self.affinity["string"] if self.rng.random() < 0.5 else TAG_KEYS)
                for _ in range(n)]
        if self.rng.random() < 0.05 and not self.in_multi:
            keys[self.rng.randrange(n)] = self.rng.choice(OTHER_KEYS)
        return keys

    def value(self) -> bytes:
        return self.rng.choice(VALUES)

    def fkey(self, family: str) -> bytes:
        """A key for a command of `family`: usually one that family prefers."""
        return self.rng.choice(self.affinity[family]) if self.rng.random() < 0.85 else self.key()

    def fkeys(self, family: str, lo: int = 1, hi: int = 3) -> list[bytes]:
        """Keys for a multi-key collection command; now and then a cross-slot one."""
        keys = [self.rng.choice(self.affinity[family]) if self.rng.random() < 0.85
                else self.rng.choice(TAG_KEYS) for _ in range(self.rng.randint(lo, hi))]
        if self.rng.random() < 0.05 and not self.in_multi:
            keys[self.rng.randrange(len(keys))] = self.rng.choice(OTHER_KEYS)
        return keys

    def field(self) -> bytes:
        return self.rng.choice(FIELDS)

    def fields(self, lo: int = 1, hi: int = 3) -> list[bytes]:
        return [self.field() for _ in range(self.rng.randint(lo, hi))]

    def hvalue(self) -> bytes:
        return self.rng.choice(HVALUES) if self.rng.random() < 0.7 else self.value()

    def member(self) -> bytes:
        return self.rng.choice(MEMBERS)

    def members(self, lo: int = 1, hi: int = 4) -> list[bytes]:
        return [self.member() for _ in range(self.rng.randint(lo, hi))]

    def count(self) -> bytes:
        return self.rng.choice(COUNTS) if self.rng.random() < 0.9 else self.rng.choice(BAD_COUNTS)

    def index(self) -> bytes:
        pool = LIST_INDEXES if self.rng.random() < 0.92 else BAD_INTS
        return self.rng.choice(pool)

    def field_values(self) -> list[bytes]:
        """HSET/HMSET arguments; now and then one value short."""
        args = [a for f in self.fields() for a in (f, self.hvalue())]
        return args[:-1] if self.rng.random() < 0.05 else args

    def numkeys(self, keys: list[bytes]) -> list[bytes]:
        """SINTERCARD/LMPOP's numkeys and keys; now and then a wrong numkeys."""
        r = self.rng.random()
        if r < 0.9:
            return [b"%d" % len(keys), *keys]
        return [self.rng.choice([b"0", b"-1", b"abc", b"%d" % (len(keys) + 1)]), *keys]

    def side(self) -> bytes:
        return self.word(self.rng.choice(["LEFT", "RIGHT"])) if self.rng.random() < 0.97 \
            else b"MIDDLE"

    def coll_scan_options(self) -> list[bytes]:
        opts: list[bytes] = []
        if self.rng.random() < 0.4:
            pattern = self.rng.choice([b"*", b"f*", b"f[1-3]", b"?", b"1*", b"a"])
            opts += [self.word("MATCH"), pattern]
        if self.rng.random() < 0.4:
            opts += [self.word("COUNT"), self.rng.choice([b"1", b"2", b"10", b"0", b"-1", b"abc"])]
        if self.rng.random() < 0.03:
            opts.append(self.word(self.rng.choice(["MATCH", "COUNT", "BOGUS"])))
        return opts

    def lpos_options(self) -> list[bytes]:
        opts: list[bytes] = []
        rng = self.rng
        if rng.random() < 0.4:
            opts += [self.word("RANK"), rng.choice([b"1", b"2", b"-1", b"-2", b"0", b"abc",
                                                    b"-9223372036854775808"])]
        if rng.random() < 0.4:
            opts += [self.word("COUNT"), rng.choice([b"0", b"1", b"2", b"-1", b"abc"])]
        if rng.random() < 0.3:
            opts += [self.word("MAXLEN"), rng.choice([b"0", b"1", b"3", b"-1", b"abc"])]
        if rng.random() < 0.03:
            opts.append(self.word(rng.choice(["RANK", "BOGUS"])))
        if rng.random() < 0.05:
            rng.shuffle(opts)
        return opts

    def collection_steps(self):
        """(weight, maker) pairs for the hash, set and list commands."""
        rng = self.rng
        w = self.word
        hk = lambda: self.fkey("hash")  # noqa: E731
        sk = lambda: self.fkey("set")  # noqa: E731
        lk = lambda: self.fkey("list")  # noqa: E731
        opt_count = lambda: [] if rng.random() < 0.4 else [self.count()]  # noqa: E731
        return [
            # hashes
            (6, lambda: Step([w("HSET"), hk(), *self.field_values()])),
            (3, lambda: Step([w("HGET"), hk(), self.field()])),
            (2, lambda: Step([w("HMSET"), hk(), *self.field_values()])),
            (2, lambda: Step([w("HMGET"), hk(), *self.fields()])),
            (2, lambda: Step([w("HGETALL"), hk()], "hash_pairs")),
            (2, lambda: Step([w("HDEL"), hk(), *self.fields()])),
            (2, lambda: Step([w("HLEN"), hk()])),
            (2, lambda: Step([w("HEXISTS"), hk(), self.field()])),
            (3, lambda: Step([w("HINCRBY"), hk(), self.field(), self.int_arg()])),
            (3, lambda: Step([w("HINCRBYFLOAT"), hk(), self.field(), self.float_arg()])),
            (1, lambda: Step([w("HKEYS"), hk()], "sorted")),
            (1, lambda: Step([w("HVALS"), hk()], "sorted")),
            (2, lambda: Step([w("HSETNX"), hk(), self.field(), self.hvalue()])),
            (2, lambda: Step([w("HSTRLEN"), hk(), self.field()])),
            (1, lambda: Step([w("HSCAN"), hk(), b"0", *self.coll_scan_options()], "hscan")),
            (1, lambda: Step([w("HSCAN"), hk(), rng.choice(BAD_CURSORS)])),
            # Now and then a hash around the listpack/hashtable threshold (512 fields).
            (0.5, lambda: Step([w("HSET"), hk(), *[a for i in range(rng.choice([130, 511, 513]))
                                                 for a in (b"f%d" % i, b"%d" % i)]])),
            (2, lambda: Step([w("HRANDFIELD"), hk(), *rng.choice(
                [[], [self.count()], [self.count(), w("WITHVALUES")], [b"1", b"BOGUS"]])],
                "random_hash")),
            # sets
            (6, lambda: Step([w("SADD"), sk(), *self.members()])),
            (2, lambda: Step([w("SREM"), sk(), *self.members()])),
            # Now and then a set around the intset/hashtable threshold (512 members).
            (0.5, lambda: Step([w("SADD"), sk(), *[b"%d" % i for i in range(
                rng.choice([100, 511, 513]))]])),
            (2, lambda: Step([w("SMEMBERS"), sk()], "sorted")),
            (2, lambda: Step([w("SISMEMBER"), sk(), self.member()])),
            (2, lambda: Step([w("SMISMEMBER"), sk(), *self.members()])),
            (2, lambda: Step([w("SCARD"), sk()])),
            (1, lambda: Step([w("SPOP"), sk(), *opt_count()], "spop")),
            (2, lambda: Step([w("SRANDMEMBER"), sk(), *opt_count()], "random_set")),
            (2, lambda: Step([w("SMOVE"), *self.fkeys("set", 2, 2), self.member()])),
            (1, lambda: Step([w("SINTER"), *self.fkeys("set")], "sorted")),
            (1, lambda: Step([w("SUNION"), *self.fkeys("set")], "sorted")),
            (1, lambda: Step([w("SDIFF"), *self.fkeys("set")], "sorted")),
            (1, lambda: Step([w("SINTERSTORE"), *self.fkeys("set", 2, 4)])),
            (1, lambda: Step([w("SUNIONSTORE"), *self.fkeys("set", 2, 4)])),
            (1, lambda: Step([w("SDIFFSTORE"), *self.fkeys("set", 2, 4)])),
            (2, lambda: Step([w("SINTERCARD"), *self.numkeys(self.fkeys("set")), *rng.choice(
                [[], [], [w("LIMIT"), rng.choice([b"0", b"1", b"2", b"-1", b"abc"])],
                 [w("LIMIT")], [b"BOGUS"]])])),
            (1, lambda: Step([w("SSCAN"), sk(), b"0", *self.coll_scan_options()], "sscan")),
            (1, lambda: Step([w("SSCAN"), sk(), rng.choice(BAD_CURSORS)])),
            # lists
            (4, lambda: Step([w("LPUSH"), lk(), *self.members()])),
            (4, lambda: Step([w("RPUSH"), lk(), *self.members()])),
            (0.5, lambda: Step([w("RPUSH"), lk(), *[rng.choice(MEMBERS) for _ in range(100)]])),
            (1, lambda: Step([w("LPUSHX"), lk(), *self.members()])),
            (1, lambda: Step([w("RPUSHX"), lk(), *self.members()])),
            (2, lambda: Step([w("LPOP"), lk(), *opt_count()])),
            (2, lambda: Step([w("RPOP"), lk(), *opt_count()])),
            (2, lambda: Step([w("LLEN"), lk()])),
            (3, lambda: Step([w("LRANGE"), lk(), self.index(), self.index()])),
            (2, lambda: Step([w("LINDEX"), lk(), self.index()])),
            (2, lambda: Step([w("LSET"), lk(), self.index(), self.member()])),
            (2, lambda: Step([w("LINSERT"), lk(), w(rng.choice(["BEFORE", "AFTER", "BEFORE",
                                                                "AFTER", "MIDDLE"])),
                              self.member(), self.member()])),
            (2, lambda: Step([w("LREM"), lk(), rng.choice([b"0", b"1", b"-1", b"2", b"-2", b"x"]),
                              self.member()])),
            (1, lambda: Step([w("LTRIM"), lk(), self.index(), self.index()])),
            (2, lambda: Step([w("LPOS"), lk(), self.member(), *self.lpos_options()])),
            (2, lambda: Step([w("LMOVE"), *self.fkeys("list", 2, 2), self.side(), self.side()])),
            (1, lambda: Step([w("RPOPLPUSH"), *self.fkeys("list", 2, 2)])),
            (2, lambda: Step([w("LMPOP"), *self.numkeys(self.fkeys("list")), self.side(),
                              *rng.choice([[], [w("COUNT"), self.count()], [w("COUNT")]])])),
            *self.zset_steps(),
            *self.dump_steps(),
            # Inside MULTI also blocking pops, with any timeout: there they
            # never block (outside: see `steps`).
            *([(40, lambda: self.blocking_pop(self.timeout()))] if self.in_multi else []),
        ]

    # -- sorted sets -----------------------------------------------------------

    def score(self) -> bytes:
        return self.rng.choice(SCORES) if self.rng.random() < 0.93 else \
            self.rng.choice(BAD_SCORES)

    def zmember(self) -> bytes:
        r = self.rng.random()
        if r < 0.97:
            return self.rng.choice(ZMEMBERS)
        return b"m" * 65  # too long for a listpack: the set becomes a skiplist

    def score_bound(self) -> bytes:
        return self.rng.choice(SCORE_BOUNDS) if self.rng.random() < 0.93 else \
            self.rng.choice(BAD_SCORE_BOUNDS)

    def lex_bound(self) -> bytes:
        return self.rng.choice(LEX_BOUNDS) if self.rng.random() < 0.93 else \
            self.rng.choice(BAD_LEX_BOUNDS)

    def zadd_flags(self) -> list[bytes]:
        rng = self.rng
        flags = [self.word(f) for f in ("NX", "XX", "GT", "LT", "CH", "INCR")
                 if rng.random() < 0.12]
        rng.shuffle(flags)
        return flags

    def limit(self) -> list[bytes]:
        r = self.rng.random()
        if r < 0.7:
            return []
        if r < 0.97:
            return [self.word("LIMIT"), self.rng.choice([b"0", b"1", b"2", b"-1", b"5"]),
                    self.rng.choice([b"1", b"2", b"-1", b"0", b"10"])]
        return [self.word("LIMIT"), self.rng.choice([b"abc", b"0"])]

    def withscores(self) -> list[bytes]:
        return [self.word("WITHSCORES")] if self.rng.random() < 0.5 else []

    def zrange_args(self) -> list[bytes]:
        """ZRANGE's arguments after the key(s): rank, score or lex, with options."""
        rng = self.rng
        by = rng.choice(["", "", "BYSCORE", "BYLEX"])
        rev = rng.random() < 0.3
        if by == "BYSCORE":
            lo, hi = self.score_bound(), self.score_bound()
        elif by == "BYLEX":
            lo, hi = self.lex_bound(), self.lex_bound()
        else:
            lo, hi = self.index(), self.index()
        opts: list[bytes] = [self.word(by)] if by else []
        if rev:
            opts.append(self.word("REV"))
        opts += self.limit()
        if by != "BYLEX":
            opts += self.withscores()
        elif rng.random() < 0.05:
            opts.append(self.word("WITHSCORES"))  # an error with BYLEX
        if rng.random() < 0.1:
            rng.shuffle(opts)
        return [lo, hi, *opts]

    def weights_aggregate(self, n: int) -> list[bytes]:
        rng = self.rng
        opts: list[bytes] = []
        if rng.random() < 0.3:
            k = n if rng.random() < 0.9 else n + 1
            opts += [self.word("WEIGHTS"), *[rng.choice(WEIGHTS) for _ in range(k)]]
        if rng.random() < 0.5:
            opts += [self.word("AGGREGATE"),
                     self.word(rng.choice(["SUM", "MIN", "MAX", "SUM", "AVG"]))]
        return opts

    def zset_steps(self):
        rng = self.rng
        w = self.word
        zk = lambda: self.fkey("zset")  # noqa: E731

        def pairs():
            args = [a for _ in range(rng.randint(1, 3)) for a in (self.score(), self.zmember())]
            return args[:-1] if rng.random() < 0.03 else args

        def op(name, store, withscores=True):
            keys = self.fkeys("zset", 1, 3)
            head = [w(name), zk()] if store else [w(name)]
            tail = [] if name.startswith("ZDIFF") else self.weights_aggregate(len(keys))
            if withscores and not store:
                tail += self.withscores()
            return Step([*head, *self.numkeys(keys), *tail])

        return [
            (8, lambda: Step([w("ZADD"), zk(), *self.zadd_flags(), *pairs()])),
            (0.5, lambda: Step([w("ZADD"), zk(), *[a for i in range(rng.choice([20, 128, 129]))
                                                 for a in (b"%d" % (i % 7), b"z%d" % i)]])),
            (3, lambda: Step([w("ZINCRBY"), zk(), self.score(), self.zmember()])),
            (3, lambda: Step([w("ZSCORE"), zk(), self.zmember()])),
            (2, lambda: Step([w("ZMSCORE"), zk(), *[self.zmember() for _ in range(3)]])),
            (2, lambda: Step([w("ZCARD"), zk()])),
            (3, lambda: Step([w("ZREM"), zk(), *[self.zmember() for _ in range(2)]])),
            (2, lambda: Step([w("ZCOUNT"), zk(), self.score_bound(), self.score_bound()])),
            (2, lambda: Step([w("ZLEXCOUNT"), zk(), self.lex_bound(), self.lex_bound()], "lex")),
            (6, lambda: Step([w("ZRANGE"), zk(), *self.zrange_args()], "lex")),
            (2, lambda: Step([w("ZRANGEBYSCORE"), zk(), self.score_bound(), self.score_bound(),
                              *self.withscores(), *self.limit()])),
            (2, lambda: Step([w("ZREVRANGEBYSCORE"), zk(), self.score_bound(),
                              self.score_bound(), *self.withscores(), *self.limit()])),
            (2, lambda: Step([w("ZRANGEBYLEX"), zk(), self.lex_bound(), self.lex_bound(),
                              *self.limit()], "lex")),
            (1, lambda: Step([w("ZREVRANGEBYLEX"), zk(), self.lex_bound(), self.lex_bound(),
                              *self.limit()], "lex")),
            (2, lambda: Step([w("ZREVRANGE"), zk(), self.index(), self.index(),
                              *self.withscores()])),
            (2, lambda: Step([w("ZRANK"), zk(), self.zmember()])),
            (2, lambda: Step([w("ZREVRANK"), zk(), self.zmember()])),
            (2, lambda: Step([w("ZPOPMIN"), zk(), *rng.choice([[], [self.count()]])])),
            (2, lambda: Step([w("ZPOPMAX"), zk(), *rng.choice([[], [self.count()]])])),
            (1, lambda: Step([w("ZREMRANGEBYSCORE"), zk(), self.score_bound(),
                              self.score_bound()])),
            (1, lambda: Step([w("ZREMRANGEBYRANK"), zk(), self.index(), self.index()])),
            (1, lambda: Step([w("ZREMRANGEBYLEX"), zk(), self.lex_bound(), self.lex_bound()],
                             "lex")),
            (1, lambda: Step([w("ZRANGESTORE"), zk(), zk(), *self.zrange_args()], "lex")),
            (1, lambda: op("ZUNION", False)),
            (1, lambda: op("ZINTER", False)),
            (1, lambda: op("ZDIFF", False)),
            (1, lambda: op("ZUNIONSTORE", True)),
            (1, lambda: op("ZINTERSTORE", True)),
            (1, lambda: op("ZDIFFSTORE", True)),
            (1, lambda: Step([w("ZINTERCARD"), *self.numkeys(self.fkeys("zset")), *rng.choice(
                [[], [w("LIMIT"), rng.choice([b"0", b"1", b"-1", b"abc"])]])])),
            (2, lambda: Step([w("ZMPOP"), *self.numkeys(self.fkeys("zset")),
                              w(rng.choice(["MIN", "MAX", "MIN", "MAX", "MID"])),
                              *rng.choice([[], [w("COUNT"), self.count()], [w("COUNT")]])])),
            (2, lambda: Step([w("ZRANDMEMBER"), zk(), *rng.choice(
                [[], [self.count()], [self.count(), w("WITHSCORES")], [b"1", b"BOGUS"]])],
                "random_zset")),
            (1, lambda: Step([w("ZSCAN"), zk(), b"0", *self.coll_scan_options()], "zscan")),
        ]

    # -- DUMP / RESTORE --------------------------------------------------------

    def restore_ttl(self) -> tuple[bytes, list[bytes]]:
        """RESTORE's ttl and the options that go with it."""
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            return b"0", []
        if r < 0.75:
            return b"%d" % (self.ttl_s() * 1000), []
        if r < 0.85:
            return b"%d" % (self.absolute_s() * 1000), [self.word("ABSTTL")]
        if r < 0.9:
            return b"%d" % ((self.now_s - 1000) * 1000), [self.word("ABSTTL")]  # expired
        return rng.choice([b"-1", b"abc", b"1.5"]), []

    def restore_options(self) -> list[bytes]:
        rng = self.rng
        opts = [self.word("REPLACE")] if rng.random() < 0.6 else []
        r = rng.random()
        if r < 0.1:
            opts += [self.word("IDLETIME"), rng.choice([b"0", b"100", b"-1", b"abc"])]
        elif r < 0.2:
            opts += [self.word("FREQ"), rng.choice([b"0", b"255", b"256", b"-1"])]
        elif r < 0.23:
            opts += [self.word(rng.choice(["BOGUS", "IDLETIME", "FREQ"]))]
        return opts

    def dump_steps(self):
        rng = self.rng
        w = self.word

        def restore(mode):
            ttl, opts = self.restore_ttl()
            src, dst = self.rng.choice(TAG_KEYS), self.rng.choice(TAG_KEYS)
            return Step([w("RESTORE"), dst, ttl, b"<DUMP %s>" % src, *opts,
                         *self.restore_options()], mode, src)

        return [
            (3, lambda: Step([w("DUMP"), self.rng.choice(TAG_KEYS)], "dump")),
            (3, lambda: restore("restore_own")),
            (3, lambda: restore("restore_cross")),
            (1, lambda: Step([w("RESTORE"), self.rng.choice(TAG_KEYS), rng.choice(
                [b"0", b"0", b"-1", b"abc"]), rng.choice(BAD_PAYLOADS),
                *self.restore_options()])),
        ]

    def int_arg(self) -> bytes:
        return self.rng.choice(INTS) if self.rng.random() < 0.8 else self.rng.choice(BAD_INTS)

    def float_arg(self) -> bytes:
        return self.rng.choice(FLOATS) if self.rng.random() < 0.85 else self.rng.choice(BAD_FLOATS)

    def offset(self) -> bytes:
        """A GETRANGE index: usually in or around the value, now and then not an integer."""
        return self.rng.choice(OFFSETS) if self.rng.random() < 0.95 else self.rng.choice(BAD_INTS)

    def ttl_s(self) -> int:
        return self.ttls.pop() if self.ttls else 10_000_000

    def seconds(self) -> bytes:
        """A relative expiry in seconds: usually valid and large, sometimes not."""
        r = self.rng.random()
        if r < 0.8:
            return b"%d" % self.ttl_s()
        return self.rng.choice([b"0", b"-5", b"abc", b"1.5", b"9223372036854775807",
                                b"-9223372036854775808", b"9223372036854775", b""])

    def millis(self) -> bytes:
        r = self.rng.random()
        if r < 0.8:
            return b"%d" % (self.ttl_s() * 1000)
        return self.rng.choice([b"0", b"-5", b"abc", b"9223372036854775807", b"1e3"])

    def absolute_s(self) -> int:
        """A future Unix time: new, or one given before (so GT/LT meet equal times;
        relative TTLs are never reused, so they never tie with these)."""
        if self.used_abs and self.rng.random() < 0.2:
            return self.rng.choice(self.used_abs)
        t = self.now_s + self.ttl_s()
        self.used_abs.append(t)
        return t

    def unix_s(self) -> bytes:
        r = self.rng.random()
        if r < 0.7:
            return b"%d" % self.absolute_s()
        if r < 0.85:
            return b"%d" % self.rng.choice([1, self.now_s - 1000])  # in the past: deletes
        return self.rng.choice([b"0", b"-1", b"abc", b"9223372036854775807"])

    def unix_ms(self) -> bytes:
        r = self.rng.random()
        if r < 0.7:
            return b"%d" % (self.absolute_s() * 1000)
        if r < 0.85:
            return b"%d" % self.rng.choice([1, (self.now_s - 1000) * 1000])
        return self.rng.choice([b"0", b"-1", b"abc", b"9223372036854775807"])

    def word(self, w: str) -> bytes:
        """An option or command name in random letter case."""
        r = self.rng.random()
        if r < 0.8:
            return w.encode()
        if r < 0.9:
            return w.lower().encode()
        return "".join(c.upper() if self.rng.random() < 0.5 else c.lower() for c in w).encode()

    # -- commands ------------------------------------------------------------

    def set_options(self) -> list[bytes]:
        opts: list[bytes] = []
        rng = self.rng
        if rng.random() < 0.3:
            opts.append(self.word(rng.choice(["NX", "XX"])))
        if rng.random() < 0.2:
            opts.append(self.word("GET"))
        r = rng.random()
        if r < 0.15:
            opts += [self.word("EX"), self.seconds()]
        elif r < 0.25:
            opts += [self.word("PX"), self.millis()]
        elif r < 0.32:
            opts += [self.word("EXAT"), self.unix_s()]
        elif r < 0.38:
            opts += [self.word("PXAT"), self.unix_ms()]
        elif r < 0.45:
            opts.append(self.word("KEEPTTL"))
        if rng.random() < 0.05:  # conflicting or unknown options
            opts.append(self.word(rng.choice(["NX", "XX", "EX", "KEEPTTL", "GET", "BOGUS", "PX"])))
        if rng.random() < 0.1:
            rng.shuffle(opts)
        return opts

    def expire_flag(self) -> list[bytes]:
        r = self.rng.random()
        if r < 0.4:
            return []
        if r < 0.93:
            return [self.word(self.rng.choice(["NX", "XX", "GT", "LT"]))]
        return [self.word(self.rng.choice(["NX", "XX", "GT", "LT", "FOO"])),
                self.word(self.rng.choice(["NX", "XX", "GT", "LT"]))]

    def sequence(self, length: int) -> list[Step]:
        """`length` steps: single commands and whole transactions (a compound
        is drawn again when it does not fit, so none is cut off)."""
        out: list[Step] = []
        while len(out) < length:
            out += self.steps(length - len(out))
        return out

    def steps(self, room: int) -> list[Step]:
        """One command, or a few that belong together (a transaction, a
        blocking pop behind a push that gives it data); at most `room`.
        Transactions and blocking pops draw from their own random stream,
        so the other commands' stream is the same with or without them."""
        main = self.rng
        self.rng = self.rng_tx
        try:
            r = self.rng.random()
            make = None
            if r < 0.025:
                make = self.tx_plain
            elif r < 0.045:
                make = self.tx_watched
            elif r < 0.0455:
                make = self.tx_watch_expiring
            elif r < 0.055:
                make = self.blocking_with_data
            elif r < 0.065:
                make = self.tx_errors
            elif r < 0.075:
                make = lambda: [self.mutate(self.blocking_pop(self.timeout()))]  # noqa: E731
            if make is not None:
                group = make()
                if len(group) <= room:
                    return group
        finally:
            self.rng = main
        return [self.single()]

    def single(self) -> Step:
        """One random command (now and then with a wrong number of arguments)."""
        rng = self.rng
        k = self.key
        w = self.word
        choices = [
            (8, lambda: Step([w("GET"), k()])),
            (10, lambda: Step([w("SET"), k(), self.value(), *self.set_options()])),
            (2, lambda: Step([w("SETNX"), k(), self.value()])),
            (2, lambda: Step([w("SETEX"), k(), self.seconds(), self.value()])),
            (2, lambda: Step([w("PSETEX"), k(), self.millis(), self.value()])),
            (3, lambda: Step([w("MGET"), *self.keys()])),
            (3, lambda: Step([w("MSET"), *self.pairs()])),
            (2, lambda: Step([w("MSETNX"), *self.pairs()])),
            (2, lambda: Step([w("GETSET"), k(), self.value()])),
            (2, lambda: Step([w("GETDEL"), k()])),
            (3, lambda: Step([w("GETEX"), k(), *self.getex_options()])),
            (3, lambda: Step([w("APPEND"), k(), self.value()])),
            (2, lambda: Step([w("STRLEN"), k()])),
            (3, lambda: Step([w("INCR"), k()])),
            (3, lambda: Step([w("INCRBY"), k(), self.int_arg()])),
            (2, lambda: Step([w("DECR"), k()])),
            (2, lambda: Step([w("DECRBY"), k(), self.int_arg()])),
            (4, lambda: Step([w("INCRBYFLOAT"), k(), self.float_arg()])),
            (3, lambda: Step([w("GETRANGE"), k(), self.offset(), self.offset()])),
            (1, lambda: Step([w("SUBSTR"), k(), self.offset(), self.offset()])),
            (3, lambda: Step([w("SETRANGE"), k(), rng.choice(SETRANGE_OFFSETS), self.value()])),
            (3, lambda: Step([w("DEL"), *self.keys()])),
            (2, lambda: Step([w("UNLINK"), *self.keys()])),
            (3, lambda: Step([w("EXISTS"), *self.keys()])),
            (2, lambda: Step([w("TYPE"), k()])),
            (3, lambda: Step([w("EXPIRE"), k(), self.seconds(), *self.expire_flag()])),
            (2, lambda: Step([w("PEXPIRE"), k(), self.millis(), *self.expire_flag()])),
            (2, lambda: Step([w("EXPIREAT"), k(), self.unix_s(), *self.expire_flag()])),
            (2, lambda: Step([w("PEXPIREAT"), k(), self.unix_ms(), *self.expire_flag()])),
            # Keys that really expire: 1 ms, then wait until both servers say so.
            (1, lambda: Step([w("PEXPIRE"), k(), b"1"], "expire_soon")),
            (1, lambda: Step([w("SET"), k(), self.value(), w("PX"), b"1"], "expire_soon")),
            (3, lambda: Step([w("TTL"), k()], "ttl_s")),
            (2, lambda: Step([w("PTTL"), k()], "ttl_ms")),
            (2, lambda: Step([w("EXPIRETIME"), k()], "ttl_s")),
            (2, lambda: Step([w("PEXPIRETIME"), k()], "ttl_ms")),
            (2, lambda: Step([w("PERSIST"), k()])),
            (2, lambda: Step([w("RENAME"), *self.keys(2, 2)])),
            (2, lambda: Step([w("RENAMENX"), *self.keys(2, 2)])),
            (2, lambda: Step([w("COPY"), *self.keys(2, 2), *self.copy_options()])),
            (1, lambda: Step([w("TOUCH"), *self.keys()])),
            (1, lambda: Step([w("KEYS"), rng.choice(PATTERNS)], "sorted")),
            (2, lambda: Step([w("SCAN"), b"0", *self.scan_options()], "scan")),
            (1, lambda: Step([w("SCAN"), rng.choice(BAD_CURSORS)])),
            (1, lambda: Step([w("RANDOMKEY")], "randomkey")),
            (1, lambda: Step([w("DBSIZE")], "dbsize")),
            (3, lambda: Step([w("LCS"), *self.keys(2, 2), *self.lcs_options()])),
            (3, lambda: Step([w("OBJECT"), w("ENCODING"), k()])),
            (1, lambda: Step([w("OBJECT"), w("REFCOUNT"), k()])),
            (1, lambda: Step([w("OBJECT"), rng.choice([w("FREQ"), w("HELP"), b"FOO", b""]), k()])),
            (1, lambda: Step([w("PING"), *rng.choice([[], [self.value()]])])),
            (1, lambda: Step([w("ECHO"), self.value()])),
            (1, lambda: Step([rng.choice([b"GETT", b"SETX", b"FOO"]), k(), self.value()])),
            *self.collection_steps(),
        ]
        total = sum(wt for wt, _ in choices)
        pick = rng.uniform(0, total)
        for wt, make in choices:
            pick -= wt
            if pick <= 0:
                break
        return self.mutate(make())

    def mutate(self, s: Step) -> Step:
        """Now and then the step with a wrong number of arguments."""
        r = self.rng.random()
        if r < 0.02:
            return Step(s.args[:1], "exact" if s.mode in MULTI_CALL else s.mode)
        if r < 0.04:
            return Step([*s.args, b"extra"], "exact" if s.mode in MULTI_CALL else s.mode)
        return s

    # -- blocking pops -----------------------------------------------------------

    def timeout(self) -> bytes:
        """A blocking pop's timeout that never keeps it waiting long: a short
        one (on empty keys the pop answers nil after it) or one Redis refuses;
        inside MULTI, where a pop never blocks, also the long ones."""
        r = self.rng.random()
        if self.in_multi and r < 0.4:
            return self.rng.choice(LONG_TIMEOUTS + SUB_MS_TIMEOUTS)
        return self.rng.choice(SHORT_TIMEOUTS if r < 0.6 else BAD_TIMEOUTS)

    def pop_keys(self, name: str) -> list[bytes]:
        family = "zset" if name.startswith("BZ") else "list"
        if name in ("BLMOVE", "BRPOPLPUSH"):
            return self.fkeys(family, 2, 2)
        return self.fkeys(family, 1, 3)

    def blocking_pop(self, timeout: bytes, name: str | None = None,
                     keys: list[bytes] | None = None) -> Step:
        rng = self.rng
        w = self.word
        name = name or rng.choice(BLOCKING_POPS)
        keys = keys or self.pop_keys(name)
        count = lambda: rng.choice([[], [], [w("COUNT"), self.count()], [w("COUNT")]])  # noqa: E731
        if name == "BLMOVE":
            return Step([w(name), *keys, self.side(), self.side(), timeout])
        if name == "BLMPOP":
            return Step([w(name), timeout, *self.numkeys(keys), self.side(), *count()])
        if name == "BZMPOP":
            return Step([w(name), timeout, *self.numkeys(keys),
                         w(rng.choice(["MIN", "MAX", "MIN", "MAX", "MID"])), *count()])
        return Step([w(name), *keys, timeout])  # BLPOP BRPOP BRPOPLPUSH BZPOPMIN BZPOPMAX

    def blocking_with_data(self) -> list[Step]:
        """A push, then a blocking pop with any valid timeout (0 included) on
        keys that include the pushed one: it answers at once, with data or
        WRONGTYPE (the push failed because the key holds another type)."""
        rng = self.rng
        w = self.word
        name = rng.choice(BLOCKING_POPS)
        keys = self.pop_keys(name)
        src = keys[0] if name in ("BLMOVE", "BRPOPLPUSH") else rng.choice(keys)
        if name.startswith("BZ"):
            push = Step([w("ZADD"), src, rng.choice([b"1", b"2.5", b"-3"]), self.zmember()])
        else:
            push = Step([w("RPUSH"), src, *self.members()])
        return [push, self.blocking_pop(rng.choice(LONG_TIMEOUTS), name, keys)]

    # -- transactions --------------------------------------------------------------

    def queued(self) -> Step:
        """A command inside MULTI: usually one of the `{t}` slot whose reply is
        compared exactly; now and then one that makes EXEC fail (unknown
        command or wrong arity: EXECABORT; a key of another slot: CROSSSLOT)
        or that is refused at once (MULTI, WATCH: with a wrong number of
        arguments that also makes EXEC answer EXECABORT)."""
        rng = self.rng
        w = self.word
        r = rng.random()
        if r < 0.03:
            return Step([w("MULTI"), *([b"extra"] if rng.random() < 0.25 else [])])
        if r < 0.06:
            return Step([w("WATCH"), *([self.key()] if rng.random() < 0.8 else [])])
        if r < 0.08:
            return Step([rng.choice([b"GETT", b"FOO", b"EXECC"]), self.key()])
        if r < 0.1:
            other = rng.choice(OTHER_KEYS)
            return Step(rng.choice([[w("GET"), other], [w("SET"), other, self.value()],
                                    [w("MGET"), rng.choice(TAG_KEYS), other]]))
        self.in_multi = True
        try:
            for _ in range(100):
                s = self.single()
                if s.mode == "exact" and not refused_in_multi(s.args):
                    return s
        finally:
            self.in_multi = False
        return Step([w("PING")])

    def multi_block(self) -> tuple[list[Step], list[list[bytes]]]:
        """MULTI and 0-5 commands; also the commands' arguments."""
        cmds = [self.queued() for _ in range(self.rng.choice([0, 1, 2, 2, 3, 3, 4, 5]))]
        return [Step([self.word("MULTI")]), *cmds], [c.args for c in cmds]

    def exact_single(self) -> Step:
        """A command outside MULTI whose reply is compared exactly (one call)."""
        for _ in range(100):
            s = self.single()
            if s.mode == "exact":
                return s
        return Step([self.word("PING")])

    def tx_plain(self) -> list[Step]:
        """MULTI ... then EXEC, DISCARD, or one with a wrong number of
        arguments: EXEC's discards the transaction (EXECABORT), DISCARD's
        flags it (the EXEC after it answers EXECABORT)."""
        block, _ = self.multi_block()
        w = self.word
        r = self.rng.random()
        if r < 0.04:
            return [*block, Step([w("EXEC"), b"extra"])]
        if r < 0.07:
            return [*block, Step([w("DISCARD"), b"extra"]), Step([w("EXEC")])]
        return [*block, Step([w("DISCARD" if r < 0.22 else "EXEC")])]

    def touch(self, key: bytes) -> Step:
        """A command on a watched key: a write that changes it (EXEC then
        fails), a write that leaves it as it was (a no-op: EXEC runs), an
        expiry change, or a read."""
        rng = self.rng
        w = self.word
        makers = [
            lambda: [w("SET"), key, self.value()],
            lambda: [w("SET"), key, self.value(), w(rng.choice(["NX", "XX", "KEEPTTL"]))],
            lambda: [w("DEL"), key],
            lambda: [w("EXPIRE"), key, b"%d" % self.ttl_s(), *self.expire_flag()],
            lambda: [w("PEXPIRE"), key, self.millis()],
            lambda: [w("EXPIREAT"), key, self.unix_s()],
            lambda: [w("PERSIST"), key],
            lambda: [w("GETEX"), key, *self.getex_options()],
            lambda: [w("APPEND"), key, rng.choice([b"", b"x"])],
            lambda: [w("SETRANGE"), key, b"0", rng.choice([b"", b"x"])],
            lambda: [w("INCR"), key],
            lambda: [w("LPUSH"), key, self.member()],
            lambda: [w("LREM"), key, b"0", self.member()],
            lambda: [w("SADD"), key, self.member()],
            lambda: [w("SREM"), key, self.member()],
            lambda: [w("HSET"), key, self.field(), self.hvalue()],
            lambda: [w("HDEL"), key, self.field()],
            lambda: [w("ZADD"), key, self.score(), self.zmember()],
            lambda: [w("ZREM"), key, self.zmember()],
            lambda: [w("GET"), key],
            lambda: [w("EXISTS"), key],
            lambda: [w("TOUCH"), key],
            lambda: [w("RENAME"), key, rng.choice(TAG_KEYS)],
            lambda: [w("RENAME"), rng.choice(TAG_KEYS), key],
        ]
        return Step(rng.choice(makers)())

    def tx_watched(self) -> list[Step]:
        """WATCH, commands on the watched keys (this connection or a second
        one) or on any key, now and then UNWATCH, then MULTI ... EXEC."""
        rng = self.rng
        w = self.word
        keys = [rng.choice(TAG_KEYS) for _ in range(rng.randint(1, 3))]
        steps = [Step([w("WATCH"), *keys], "watch")]
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            r = rng.random()
            if r < 0.5:
                steps.append(self.touch(rng.choice(keys)))
            elif r < 0.75:
                steps.append(Step(self.touch(rng.choice(keys)).args, "other"))
            else:
                steps.append(self.exact_single())
        if rng.random() < 0.15:
            steps.append(Step([w("UNWATCH")]))
        block, queued = self.multi_block()
        end = Step([w("DISCARD")]) if rng.random() < 0.1 else \
            Step([w("EXEC")], "exec_watched", more=queued)
        return [*steps, *block, end]

    def tx_watch_expiring(self) -> list[Step]:
        """A key that expires while WATCHed (Redis 7.0 then fails EXEC)."""
        key = self.rng.choice(TAG_KEYS)
        w = self.word
        first = Step([w("SET"), key, self.value(), w("PX"), b"%d" % EXPIRING_WATCH_MS],
                     "watch_expiring", more=[[w("WATCH"), key], [b"PTTL", key]])
        block, _ = self.multi_block()
        return [first, *block, Step([w("EXEC")])]

    def tx_errors(self) -> list[Step]:
        """EXEC, DISCARD or UNWATCH outside MULTI, and WATCH refused."""
        rng = self.rng
        w = self.word
        return [Step(rng.choice([
            [w("EXEC")], [w("DISCARD")], [w("UNWATCH")], [w("WATCH")],
            [w("WATCH"), rng.choice(TAG_KEYS), rng.choice(OTHER_KEYS)],
            [w("EXEC"), b"extra"], [w("DISCARD"), b"extra"], [w("MULTI"), b"extra"],
            [w("UNWATCH"), b"extra"],
        ]))]

    def pairs(self) -> list[bytes]:
        """Key/value arguments of MSET/MSETNX; now and then one value short."""
        args = [a for key in self.keys() for a in (key, self.value())]
        return args[:-1] if self.rng.random() < 0.05 else args

    def lcs_options(self) -> list[bytes]:
        rng = self.rng
        w = self.word
        groups: list[list[bytes]] = []
        if rng.random() < 0.25:
            groups.append([w("LEN")])
        if rng.random() < 0.35:
            groups.append([w("IDX")])
        if rng.random() < 0.25:
            groups.append([w("MINMATCHLEN"), rng.choice([b"0", b"1", b"2", b"3", b"-1", b"abc"])])
        if rng.random() < 0.25:
            groups.append([w("WITHMATCHLEN")])
        if rng.random() < 0.04:  # unknown option, or MINMATCHLEN without its value (last)
            groups.append([rng.choice([w("BOGUS"), w("MINMATCHLEN")])])
        else:
            rng.shuffle(groups)
        return [a for g in groups for a in g]

    def getex_options(self) -> list[bytes]:
        r = self.rng.random()
        w = self.word
        if r < 0.3:
            return []
        if r < 0.45:
            return [w("EX"), self.seconds()]
        if r < 0.6:
            return [w("PX"), self.millis()]
        if r < 0.7:
            return [w("EXAT"), self.unix_s()]
        if r < 0.8:
            return [w("PXAT"), self.unix_ms()]
        if r < 0.93:
            return [w("PERSIST")]
        return self.rng.choice([[w("PERSIST"), w("EX"), b"100"], [w("EX")], [w("FOO")],
                                [w("EX"), b"100", w("PX"), b"100"]])

    def copy_options(self) -> list[bytes]:
        r = self.rng.random()
        if r < 0.6:
            return []
        if r < 0.9:
            return [self.word("REPLACE")]
        return self.rng.choice([[self.word("DB"), b"0"], [self.word("DB"), b"1"], [b"BOGUS"]])

    def scan_options(self) -> list[bytes]:
        opts: list[bytes] = []
        rng = self.rng
        if rng.random() < 0.5:
            opts += [self.word("MATCH"), rng.choice(PATTERNS)]
        if rng.random() < 0.5:
            count = rng.choice([b"1", b"2", b"10", b"1000", b"0", b"-1", b"abc"])
            opts += [self.word("COUNT"), count]
        if rng.random() < 0.6:
            kind = rng.choice([b"string", b"list", b"hash", b"set", b"zset", b"none", b"bogus",
                               b"STRING"])
            opts += [self.word("TYPE"), kind]
        return opts


def every_timeout_steps() -> list[Step]:
    """Every timeout of the pools on every blocking pop, in order: the
    refused and long ones on a key just given data (the pop answers at
    once), every one inside MULTI on an empty key (never blocks there), and
    the short and sub-millisecond ones with BLPOP on an empty key (nil when
    they expire)."""
    full, other, empty = b"{t}k0", b"{t}k1", b"{t}k2"

    def pop(name: str, key: bytes, timeout: bytes) -> Step:
        if name == "BLMOVE":
            return Step([name.encode(), key, other, b"LEFT", b"RIGHT", timeout])
        if name == "BRPOPLPUSH":
            return Step([name.encode(), key, other, timeout])
        if name in ("BLMPOP", "BZMPOP"):
            side = b"LEFT" if name == "BLMPOP" else b"MIN"
            return Step([name.encode(), timeout, b"1", key, side])
        return Step([name.encode(), key, timeout])

    steps = []
    for name in BLOCKING_POPS:
        push = [b"ZADD", full, b"1", b"a"] if name.startswith("BZ") else \
            [b"RPUSH", full, b"a"]
        for timeout in BAD_TIMEOUTS + LONG_TIMEOUTS:
            # (DEL's reply is not compared: it only undoes what the last pop left.)
            steps += [Step([b"DEL", full, other], "reset"), Step(push), pop(name, full, timeout)]
        for timeout in SHORT_TIMEOUTS + SUB_MS_TIMEOUTS + BAD_TIMEOUTS + LONG_TIMEOUTS:
            steps += [Step([b"MULTI"]), pop(name, empty, timeout), Step([b"EXEC"])]
    steps += [pop("BLPOP", empty, timeout) for timeout in SHORT_TIMEOUTS + SUB_MS_TIMEOUTS]
    # A refused timeout and another bad argument: Redis checks the timeout
    # of BLPOP & co. first, that of BLMOVE/BLMPOP/BZMPOP after the rest.
    for args in ([b"BLMPOP", b"nan", b"1", full, b"LEFT", b"COUNT"],
                 [b"BLMPOP", b"-1", b"0", full, b"LEFT"],
                 [b"BLMPOP", b"abc", b"1", full, b"MIDDLE"],
                 [b"BLMPOP", b"-1", b"1", full, b"LEFT", b"COUNT", b"0"],
                 [b"BZMPOP", b"nan", b"1", full, b"MIN", b"COUNT"],
                 [b"BZMPOP", b"-1", b"1", full, b"MID"],
                 [b"BLMOVE", full, other, b"MIDDLE", b"LEFT", b"nan"],
                 [b"BLMOVE", full, other, b"LEFT", b"UP", b"-1"],
                 [b"BLPOP", full, b"nan", b"-1"],
                 [b"BZPOPMIN", b"nan", b"-1"]):
        steps.append(Step(args))
    return steps


# -- running and comparing ---------------------------------------------------


class CaptureConn(RespConn):
    """A RespConn that also keeps the exact bytes of the last reply read."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        super().__init__(host, port, timeout)
        self.captured = bytearray()
        self.addr = (host, port, timeout)
        self.protocol = 2
        # Whether a key of the last WATCH (mode "watch") did not exist then.
        self.absent_watched = False
        self._second: CaptureConn | None = None

    def second(self) -> "CaptureConn":
        """A second connection to the same server (another client), opened
        on first use, on the same protocol."""
        if self._second is None:
            self._second = CaptureConn(*self.addr)
            if self.protocol != 2:
                self._second.call("HELLO", self.protocol)
        return self._second

    def close_second(self) -> None:
        if self._second is not None:
            self._second.close()
            self._second = None

    def close(self) -> None:
        self.close_second()
        super().close()

    def _line(self) -> bytes:
        line = super()._line()
        self.captured += line + b"\r\n"
        return line

    def _exact(self, n: int) -> bytes:
        data = super()._exact(n)
        self.captured += data + b"\r\n"
        return data

    def call_raw(self, *args) -> "Reply":
        self.captured.clear()
        value = self.call(*args)
        return Reply(value, bytes(self.captured))


@dataclass
class Reply:
    """A reply as parsed (for the loose modes) and as sent (for exact comparison);
    `before`: for SPOP, the set's members just before (None if not a set)."""

    value: object
    raw: bytes
    before: object = None

    def __repr__(self) -> str:
        return repr(self.raw)


def full_scan(conn: CaptureConn, args: list[bytes]) -> Reply:
    """Iterates SCAN to the end; the sorted keys, or the first error."""
    found = []
    cursor = b"0"
    for _ in range(10_000):
        reply = conn.call_raw(args[0], cursor, *args[2:])
        if not isinstance(reply.value, list) or len(reply.value) != 2:
            return reply
        cursor, page = reply.value
        found.extend(page)
        if cursor == b"0":
            return Reply(sorted(found), b"")
    return Reply(None, b"difftest: SCAN did not finish in 10000 calls")


def full_coll_scan(conn: CaptureConn, args: list[bytes], pairs: bool) -> Reply:
    """Iterates HSCAN/SSCAN to the end; the sorted members (HSCAN: field-value
    pairs) with the first page's reply type, or the first error."""
    found = []
    cursor = b"0"
    kind = None
    for _ in range(10_000):
        reply = conn.call_raw(args[0], args[1], cursor, *args[3:])
        if not isinstance(reply.value, list) or len(reply.value) != 2:
            return reply
        kind = kind or reply.raw[:1]
        cursor, page = reply.value
        found.extend(zip(page[::2], page[1::2]) if pairs else page)
        if cursor == b"0":
            return Reply(sorted(found), kind)
    return Reply(None, b"difftest: HSCAN/SSCAN did not finish in 10000 calls")


def set_members(conn: CaptureConn, key: bytes):
    """The members of the set at `key` (a list), or None when it is not a set."""
    value = conn.call("SMEMBERS", key)
    return list(value) if isinstance(value, list) else None


def hash_fields(conn: CaptureConn, key: bytes):
    """The hash at `key` as a dict, or None when it is not a hash."""
    value = conn.call("HGETALL", key)
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return dict(zip(value[::2], value[1::2]))
    return None


def dump_of(conn: CaptureConn, key: bytes) -> bytes:
    """The key's DUMP payload, or b"" when it has none (RESTORE then refuses it)."""
    payload = conn.call("DUMP", key)
    return payload if isinstance(payload, bytes) else b""


def restore_with(conn: CaptureConn, step: Step, payload: bytes) -> Reply:
    args = list(step.args)
    args[3] = payload
    return conn.call_raw(*args)


def lex_undefined(conn: CaptureConn, key: bytes) -> bool:
    """Whether a lex range over `key` is undefined in Redis: a skiplist whose
    scores are not all equal (Redis's answer then depends on the random
    levels of its skiplist)."""
    if conn.call("OBJECT", "ENCODING", key) != b"skiplist":
        return False
    lo = conn.call("ZRANGE", key, b"0", b"0", b"WITHSCORES")
    hi = conn.call("ZRANGE", key, b"-1", b"-1", b"WITHSCORES")
    return lo[1:] != hi[1:] if len(lo) == 2 else lo[0][1:] != hi[0][1:]


def lex_step(conn: CaptureConn, step: Step) -> Reply:
    """A (possibly) lex-range command; when its key's lex order is undefined
    (see lex_undefined), the keys it touched are deleted afterwards so the
    servers agree again, and the reply is compared by kind only."""
    is_store = step.args[0].upper() == b"ZRANGESTORE"
    key = step.args[2] if is_store and len(step.args) > 2 else step.args[1:2]
    key = key[0] if isinstance(key, list) and key else key
    bylex = step.args[0].upper() in (b"ZLEXCOUNT", b"ZRANGEBYLEX", b"ZREVRANGEBYLEX",
                                     b"ZREMRANGEBYLEX") \
        or any(a.upper() == b"BYLEX" for a in step.args)
    undefined = bool(key) and bylex and lex_undefined(conn, key)
    reply = conn.call_raw(*step.args)
    if undefined:
        conn.call("DEL", *step.args[1:3] if is_store else step.args[1:2])
    reply.before = undefined
    return reply


def is_nil(reply: Reply) -> bool:
    return reply.raw in (b"*-1\r\n", b"_\r\n")


def read_replies(conn: CaptureConn, n: int) -> list[Reply]:
    replies = []
    for _ in range(n):
        conn.captured.clear()
        value = conn.read()
        replies.append(Reply(value, bytes(conn.captured)))
    return replies


def send_expiring_watch(conn: CaptureConn, step: Step) -> None:
    """SET key PX, WATCH key and PTTL key in one write, so WATCH runs while the key lives."""
    conn.send_raw(b"".join(encode_command(*a) for a in [step.args, *step.more]))


def read_expiring_watch(conn: CaptureConn) -> Reply:
    """The SET and WATCH replies; `before`: whether PTTL still saw the key
    after WATCH (so it was watched alive)."""
    set_reply, watch_reply, pttl = read_replies(conn, 3)
    return Reply(None, set_reply.raw + watch_reply.raw, isinstance(pttl.value, int)
                 and pttl.value >= 0)


INCONCLUSIVE = "expiring WATCHes where a server saw the key gone right after WATCH (UNWATCHed)"


def expiring_watch_both(redraft: CaptureConn, redis: CaptureConn, step: Step,
                        counts: dict[str, int]) -> tuple[Reply, Reply]:
    """The "watch_expiring" step on both servers at once (the waits overlap):
    then until the key is gone on both. If either server saw the key gone
    already after WATCH (a stall longer than the PX), both UNWATCH, so the
    EXEC that follows runs on both."""
    for conn in (redis, redraft):
        send_expiring_watch(conn, step)
    want = read_expiring_watch(redis)
    got = read_expiring_watch(redraft)
    for conn, reply in ((redis, want), (redraft, got)):
        if not wait_until_gone(conn, step.args[1]):
            reply.raw += b" (and the key did not expire within 5 s)"
    if not (got.before and want.before):
        counts[INCONCLUSIVE] = counts.get(INCONCLUSIVE, 0) + 1
        for conn in (redis, redraft):
            conn.call("UNWATCH")
    return got, want


def execute(conn: CaptureConn, step: Step) -> Reply:
    if step.mode == "watch":
        absent = [conn.call("EXISTS", key) == 0 for key in step.args[1:]]
        reply = conn.call_raw(*step.args)
        conn.absent_watched = any(absent)
        return reply
    if step.mode == "other":
        return conn.second().call_raw(*step.args)
    if step.mode == "watch_expiring":
        send_expiring_watch(conn, step)
        reply = read_expiring_watch(conn)
        if not wait_until_gone(conn, step.args[1]):
            reply.raw += b" (and the key did not expire within 5 s)"
        if not reply.before:
            conn.call("UNWATCH")
        return reply
    if step.mode == "scan":
        return full_scan(conn, step.args)
    if step.mode in ("hscan", "sscan", "zscan"):
        return full_coll_scan(conn, step.args, step.mode in ("hscan", "zscan"))
    if step.mode == "restore_own":
        return restore_with(conn, step, dump_of(conn, step.src))
    if step.mode == "lex":
        return lex_step(conn, step)
    if step.mode == "spop":
        before = set_members(conn, step.args[1])
        reply = conn.call_raw(*step.args)
        conn.call("DEL", step.args[1])  # the servers popped different members
        reply.before = before
        return reply
    if step.mode == "dbsize":
        for key in ALL_KEYS:  # reclaims keys whose expiry has passed (see DEVIATIONS)
            conn.call("EXISTS", key)
    reply = conn.call_raw(*step.args)
    if step.mode == "expire_soon" and not wait_until_gone(conn, step.args[1]):
        return Reply(reply.value, reply.raw + b" (and the key did not expire within 5 s)")
    return reply


def wait_until_gone(conn: CaptureConn, key: bytes, deadline_s: float = 5.0) -> bool:
    """Polls PTTL until the key no longer exists (-2); False at the deadline."""
    deadline = time.monotonic() + deadline_s
    while conn.call("PTTL", key) != -2:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def shape(v):
    """A reply with every string replaced by its kind: what random replies share."""
    if isinstance(v, list):
        return (type(v).__name__, [shape(x) for x in v])
    if isinstance(v, bytes):
        return "bulk"
    return repr(v) if isinstance(v, str) else type(v).__name__


def strings(v) -> list[bytes]:
    """Every bulk string in a reply, depth first."""
    if isinstance(v, list):
        return [s for x in v for s in strings(x)]
    return [v] if isinstance(v, bytes) else []


def random_ok(step: Step, reply: Reply, conn: RespConn) -> bool:
    """Whether a random reply names only members/fields (and values) of the key
    on its own server (for SPOP: of the set just before)."""
    items = strings(reply.value)
    if not items:
        return True
    if step.mode == "spop":
        return reply.before is not None and all(m in reply.before for m in items)
    if step.mode == "random_set":
        members = set_members(conn, step.args[1]) or []
        return all(m in members for m in items)
    if step.mode == "random_zset":
        entries = conn.call("ZRANGE", step.args[1], b"0", b"-1", b"WITHSCORES")
        entries = [x for e in entries for x in (e if isinstance(e, list) else [e])] \
            if isinstance(entries, list) else []
        known = set(entries[::2]) | {s if isinstance(s, bytes) else repr(s).encode()
                                     for s in entries[1::2]}
        return all(m in known for m in items)
    fields = hash_fields(conn, step.args[1]) or {}
    if len(step.args) > 3:  # WITHVALUES: field, value, field, value...
        return all(fields.get(f) == v for f, v in zip(items[::2], items[1::2]))
    return all(f in fields for f in items)


def pairs_of(v):
    if isinstance(v, dict):
        return sorted(v.items())
    return sorted(zip(v[::2], v[1::2]))


def dump_exact(payload: bytes) -> bool:
    """Whether a DUMP payload is compared byte for byte (see DEVIATIONS): a
    string, intset, listpack sorted set or one-node list whose bytes are not
    LZF-compressed (0xC3)."""
    if payload[:1] in (b"\x00", b"\x0b", b"\x11"):
        return payload[1:2] != b"\xc3"
    if payload[:1] == b"\x12" and payload[1:2] == b"\x01":
        return payload[3:4] != b"\xc3"
    return False


def compare(step: Step, got: Reply, want: Reply, redraft: RespConn, redis: RespConn) -> str | None:
    """None when the replies agree under the step's mode, else why not."""
    g, w = got.value, want.value
    if step.mode == "scan" and isinstance(g, list) and isinstance(w, list):
        return None if g == w else "SCAN found different keys"
    if step.mode == "lex" and (got.before or want.before):
        return None if got.raw[:1] == want.raw[:1] else "different reply types"
    if step.mode == "dump" and isinstance(g, bytes) and isinstance(w, bytes):
        if got.raw[:1] != want.raw[:1]:
            return "different reply types"
        return None if g == w or not dump_exact(w) else "different payloads"
    if step.mode in ("hscan", "sscan", "zscan") and isinstance(g, list) and isinstance(w, list):
        if got.raw != want.raw:
            return "different reply types"
        return None if g == w else "different fields/members"
    if step.mode == "sorted" and isinstance(g, list) and isinstance(w, list):
        if got.raw[:1] != want.raw[:1]:
            return "different reply types"
        return None if sorted(g) == sorted(w) else "different elements"
    if step.mode == "hash_pairs" and isinstance(g, (list, dict)) and isinstance(w, (list, dict)):
        if got.raw[:1] != want.raw[:1]:
            return "different reply types"
        return None if pairs_of(g) == pairs_of(w) else "different field-value pairs"
    if step.mode in ("spop", "random_set", "random_hash", "random_zset") \
            and not isinstance(g, str) \
            and not isinstance(w, str):
        if got.raw[:1] != want.raw[:1] or shape(g) != shape(w):
            return "different reply shapes"
        if not random_ok(step, got, redraft):
            return "redraft's reply names members/fields not in the key"
        if not random_ok(step, want, redis):
            return "redis's reply names members/fields not in the key (difftest bug)"
        return None
    if step.mode in ("ttl_s", "ttl_ms") and type(g) is int and type(w) is int:
        tolerance = TTL_TOLERANCE_S if step.mode == "ttl_s" else TTL_TOLERANCE_MS
        if g < 0 or w < 0:
            return None if g == w else "different TTL state"
        if got.raw[:1] != want.raw[:1]:
            return "different reply types"
        return None if abs(g - w) <= tolerance else f"TTLs differ by more than {tolerance}"
    if step.mode == "randomkey" and isinstance(g, bytes) and isinstance(w, bytes):
        if got.raw[:1] != want.raw[:1]:
            return "different reply types"
        if redraft.call("EXISTS", g) != 1:
            return "redraft's RANDOMKEY reply does not exist"
        if redis.call("EXISTS", g) != 1:
            return "redraft's RANDOMKEY reply is not a key in the reference"
        return None
    if got.raw != want.raw:
        return "different replies"
    return None


@dataclass
class Mismatch:
    seed: int
    protocol: int
    pipelined: bool
    history: list[Step]
    redraft_reply: object
    redis_reply: object
    reason: str

    def report(self) -> str:
        how = f"RESP{self.protocol}" + (", pipelined" if self.pipelined else "")
        lines = [f"MISMATCH in sequence seed={self.seed} ({how}) at command "
                 f"#{len(self.history)}: {self.reason}", "sequence so far:"]
        for i, s in enumerate(self.history, 1):
            lines.append(f"  {i:4d}  {s.show()}")
        lines.append(f"  redraft: {self.redraft_reply!r}")
        lines.append(f"  redis:   {self.redis_reply!r}")
        return "\n".join(lines)

    @property
    def command(self) -> str:
        args = self.history[-1].args
        name = args[0].decode("utf-8", "replace").upper()
        if name == "OBJECT" and len(args) > 1:
            name += " " + args[1].decode("utf-8", "replace").upper()
        return name


def protocol_for(seed: int) -> int:
    """The RESP version a sequence runs on: 3 for about a third of the seeds."""
    return 3 if random.Random(seed ^ 0x5EED).random() < 1 / 3 else 2


def reset(redraft: CaptureConn, redis: CaptureConn, protocol: int) -> str | None:
    """Empties both keyspaces and switches both connections to `protocol`;
    a note if redraft needed the DEL fallback."""
    for conn in (redis, redraft):
        hello = conn.call("HELLO", protocol)
        assert isinstance(hello, (list, dict)), f"HELLO {protocol}: {hello!r}"
        # No WATCH lasts into the next sequence, and the second connection
        # starts afresh on the sequence's protocol.
        assert conn.call("UNWATCH") == "OK"
        conn.protocol = protocol
        conn.absent_watched = False
        conn.close_second()
    assert redis.call("FLUSHALL") == "OK"
    if redraft.call("FLUSHALL") == "OK":
        return None
    for key in ALL_KEYS:  # every key a sequence can create
        redraft.call("DEL", key)
    return "redraft refused FLUSHALL; reset with DEL of every key instead"


def pipelined_for(seed: int) -> bool:
    """Whether a sequence is sent in pipelined batches: about a third of the seeds."""
    return random.Random(seed ^ 0xB47C).random() < 1 / 3


# Steps that need more than one round trip, or look at the keyspace after
# their reply, or run on another connection: always sent alone.
ALONE = {"scan", "dbsize", "randomkey", "expire_soon", "hscan", "sscan", "spop", "random_set",
         "random_hash", "zscan", "random_zset", "restore_own", "restore_cross", "lex",
         "watch", "other", "exec_watched", "watch_expiring"}


def batches(seed: int, steps: list[Step], pipelined: bool) -> list[list[Step]]:
    """The steps grouped as they are sent: one by one, or in pipelines of 2-30."""
    if not pipelined:
        return [[s] for s in steps]
    rng = random.Random(seed ^ 0xBA7C)
    out: list[list[Step]] = []
    i = 0
    while i < len(steps):
        n = rng.randint(2, 30)
        batch: list[Step] = []
        while i < len(steps) and len(batch) < n:
            if steps[i].mode in ALONE:
                if not batch:
                    batch.append(steps[i])
                    i += 1
                break
            batch.append(steps[i])
            i += 1
        out.append(batch)
    return out


def restore_crossed(redraft: CaptureConn, redis: CaptureConn, step: Step):
    """RESTORE each server's DUMP of `step.src` into the other server:
    (redraft's reply, redis's reply)."""
    from_redraft = dump_of(redraft, step.src)
    from_redis = dump_of(redis, step.src)
    want = restore_with(redis, step, from_redraft)
    got = restore_with(redraft, step, from_redis)
    return got, want


def execute_batch(conn: CaptureConn, batch: list[Step]) -> list[Reply]:
    if len(batch) == 1:
        return [execute(conn, batch[0])]
    conn.send_raw(b"".join(encode_command(*s.args) for s in batch))
    replies = []
    for _ in batch:
        conn.captured.clear()
        value = conn.read()
        replies.append(Reply(value, bytes(conn.captured)))
    return replies


CONSERVATIVE_ABORT = "EXECs after WATCH of an absent key that redraft aborted and Redis " \
    "ran (tolerated, then rerun on redraft: see DEVIATIONS)"


def conservative_abort(step: Step, got: Reply, want: Reply, redraft: CaptureConn,
                       counts: dict[str, int]) -> str | None:
    """For an EXEC after WATCH whose replies differ: None when redraft aborted
    (nil) where Redis ran the transaction, a key of the WATCH was absent then,
    and the same commands, sent again to redraft without WATCH, give Redis's
    EXEC reply (the keyspaces agree again); else why not."""
    if not (is_nil(got) and isinstance(want.value, list) and redraft.absent_watched):
        return "different replies"
    redraft.call("MULTI")
    for args in step.more or []:
        redraft.call(*args)
    rerun = redraft.call_raw("EXEC")
    if rerun.raw != want.raw:
        return f"redraft aborted EXEC after WATCH of an absent key; rerun without WATCH, " \
            f"redraft's EXEC still differs: {rerun.raw!r}"
    counts[CONSERVATIVE_ABORT] = counts.get(CONSERVATIVE_ABORT, 0) + 1
    return None


def run_sequence(seed: int, length: int, redraft: CaptureConn, redis: CaptureConn,
                 protocol: int = 2, pipelined: bool = False,
                 counts: dict[str, int] | None = None) -> Mismatch | None:
    """One sequence from an empty keyspace; the first mismatch, if any.
    `counts`: how often each tolerated case (see DEVIATIONS) happened."""
    counts = {} if counts is None else counts
    gen = Generator(seed)
    steps = gen.sequence(length)
    history: list[Step] = []
    for batch in batches(seed, steps, pipelined):
        try:
            if batch[0].mode == "restore_cross":
                got, want = restore_crossed(redraft, redis, batch[0])
                gots, wants = [got], [want]
            elif batch[0].mode == "watch_expiring":
                got, want = expiring_watch_both(redraft, redis, batch[0], counts)
                gots, wants = [got], [want]
            else:
                wants = execute_batch(redis, batch)
                gots = execute_batch(redraft, batch)
        except (EOFError, OSError) as e:
            history += batch
            return Mismatch(seed, protocol, pipelined, history, e, None,
                            "redraft closed the connection")
        for step, got, want in zip(batch, gots, wants):
            history.append(step)
            why = compare(step, got, want, redraft, redis)
            if why and step.mode == "exec_watched":
                try:
                    why = conservative_abort(step, got, want, redraft, counts)
                except (EOFError, OSError) as e:
                    return Mismatch(seed, protocol, pipelined, history, e, None,
                                    "redraft closed the connection")
            if why:
                return Mismatch(seed, protocol, pipelined, history, got, want, why)
    return None


@dataclass
class Summary:
    sequences: int = 0
    resp3_sequences: int = 0
    pipelined_sequences: int = 0
    commands: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)
    # Tolerated cases (see DEVIATIONS), by what happened.
    counts: dict[str, int] = field(default_factory=dict)

    def text(self, detail: int = 3) -> str:
        lines = [
            f"difftest: {self.sequences} sequences ({self.resp3_sequences} on RESP3, "
            f"{self.pipelined_sequences} pipelined), "
            f"{self.commands} commands, "
            f"{len(self.mismatches)} sequences with a mismatch"
        ]
        lines += [f"note: {n}" for n in sorted(self.notes)]
        lines += [f"note: {n}: {c}" for n, c in sorted(self.counts.items())]
        if self.mismatches:
            by_cmd: dict[str, int] = {}
            for m in self.mismatches:
                by_cmd[m.command] = by_cmd.get(m.command, 0) + 1
            lines.append("first mismatching command per failed sequence: " + ", ".join(
                f"{c}×{n}" for c, n in sorted(by_cmd.items(), key=lambda x: -x[1])))
            for m in self.mismatches[:detail]:
                lines.append(m.report())
            if len(self.mismatches) > detail:
                lines.append(f"... and {len(self.mismatches) - detail} more (seeds: "
                             + ", ".join(str(m.seed) for m in self.mismatches[detail:]) + ")")
        return "\n".join(lines)


def run_many(seeds, length: int, redraft_addr, redis_addr,
             deadline: float | None = None) -> Summary:
    """Runs a sequence per seed (until `deadline`, a time.monotonic() value, if given)."""
    summary = Summary()
    redraft = CaptureConn(*redraft_addr)
    redis = CaptureConn(*redis_addr)
    # Redis expires blocking timeouts on its hz tick: at 100 Hz a pop with a
    # 10 ms timeout on an empty key answers after ~10 ms, not up to 100 ms.
    # (Only timing: redraft accepts the setting and ignores it.)
    for conn in (redis, redraft):
        conn.call("CONFIG", "SET", "hz", "100")
    try:
        for seed in seeds:
            if deadline is not None and time.monotonic() >= deadline:
                break
            protocol = protocol_for(seed)
            pipelined = pipelined_for(seed)
            note = reset(redraft, redis, protocol)
            if note:
                summary.notes.add(note)
            m = run_sequence(seed, length, redraft, redis, protocol, pipelined, summary.counts)
            summary.sequences += 1
            summary.resp3_sequences += protocol == 3
            summary.pipelined_sequences += pipelined
            summary.commands += len(m.history) if m else length
            if m:
                summary.mismatches.append(m)
                # Start the next sequence on fresh connections: the failed one may be broken.
                redraft.close()
                redis.close()
                redraft = CaptureConn(*redraft_addr)
                redis = CaptureConn(*redis_addr)
    finally:
        redraft.close()
        redis.close()
    return summary


def main(argv=None) -> int:
    import itertools

    import harness

    p = argparse.ArgumentParser(description="Random command sequences: redraft vs redis-server.")
    p.add_argument("--seconds", type=float, default=30, help="how long to run (default 30)")
    p.add_argument("--seed", type=int, default=None, help="first sequence seed (default random)")
    p.add_argument("--length", type=int, default=100, help="commands per sequence (default 100)")
    p.add_argument("--sequences", type=int, default=None, help="stop after this many sequences")
    p.add_argument("--detail", type=int, default=3, help="mismatches to print in full")
    p.add_argument("--self-check", action="store_true",
                   help="compare two redis-servers instead (checks the generator is sound)")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000_000)
    subject = "a second redis-server" if args.self_check else f"redraft {harness.redraft_bin()}"
    print(f"difftest: first seed {seed}, {args.length} commands per sequence, "
          f"{args.seconds:g} s; subject: {subject}", flush=True)
    servers = []
    try:
        servers.append(harness.start_redis(cluster=True) if args.self_check
                       else harness.start_redraft())
        servers.append(harness.start_redis(cluster=True))
        subject_srv, redis = servers
        seeds = (itertools.count(seed) if args.sequences is None
                 else range(seed, seed + args.sequences))
        summary = run_many(seeds, args.length, (subject_srv.host, subject_srv.port),
                           (redis.host, redis.port), deadline=time.monotonic() + args.seconds)
    finally:
        for srv in servers:
            srv.stop()
    print(summary.text(detail=args.detail))
    return 1 if summary.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
