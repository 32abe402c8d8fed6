"""A small raw RESP2/RESP3 client for tests that need exact replies.

redis-py is the real client the cluster tests use, but it strips the `ERR `
prefix from errors and turns `+OK` and `$2\\r\\nOK` into the same value.
Comparing redraft with redis-server byte for byte needs neither, so this
client keeps every reply's kind:

- simple string `+OK`   -> `Status("OK")` (a str)
- error `-ERR x`        -> `Err("ERR x")` (a str; returned, not raised)
- integer `:1`          -> `int`
- bulk string `$..`     -> `bytes`; null bulk/array or `_` -> `None`
- array `*..`           -> `list`
- RESP3: map -> `dict`, set -> `RespSet` (a list), double -> `float`,
  boolean -> `bool`, big number -> `int`, verbatim -> `bytes`,
  push -> `Push` (a list)
"""

from __future__ import annotations

import socket
import time


class Status(str):
    """A simple-string reply."""

    def __repr__(self) -> str:
        return f"+{str.__str__(self)}"


class Err(str):
    """An error reply, with its full text (prefix included)."""

    def __repr__(self) -> str:
        return f"-{str.__str__(self)}"


class RespSet(list):
    """A RESP3 set reply."""


class Push(list):
    """A RESP3 push reply."""


class RespError(Exception):
    """The server sent bytes that are not RESP."""


def encode_command(*args) -> bytes:
    """One multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        elif isinstance(a, (int, float)):
            b = repr(a).encode() if isinstance(a, float) else str(a).encode()
        else:
            raise TypeError(f"cannot encode {a!r}")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class RespConn:
    """One blocking connection; `call` sends a command and reads its reply."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def __enter__(self) -> "RespConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending -----------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *args) -> None:
        self.sock.sendall(encode_command(*args))

    def call(self, *args):
        self.send(*args)
        return self.read()

    def pipeline(self, commands) -> list:
        self.sock.sendall(b"".join(encode_command(*c) for c in commands))
        return [self.read() for _ in commands]

    # -- receiving ---------------------------------------------------------

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data = bytes(self.buf[:n])
        if self.buf[n : n + 2] != b"\r\n":
            raise RespError(f"bulk not followed by CRLF: {bytes(self.buf[: n + 2])!r}")
        del self.buf[: n + 2]
        return data

    def read_line_raw(self) -> bytes:
        """The next reply line as raw bytes, CRLF stripped (for raw-protocol tests)."""
        return self._line()

    def read_raw(self) -> bytes:
        """The next reply's exact bytes (RESP2 types), for raw-protocol tests."""
        line = self._line()
        out = line + b"\r\n"
        kind = line[:1]
        if kind == b"$" and int(line[1:]) >= 0:
            out += self._exact(int(line[1:])) + b"\r\n"
        elif kind == b"*":
            for _ in range(max(int(line[1:]), 0)):
                out += self.read_raw()
        return out

    def read(self):
        line = self._line()
        if not line:
            raise RespError("empty reply line")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return Status(rest.decode("utf-8", "replace"))
        if kind == b"-":
            return Err(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"=":  # verbatim: "txt:" or "mkd:" then the text
            return self._exact(int(rest))[4:]
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            items = [self.read() for _ in range(n)]
            return {b"*": list, b"~": RespSet, b">": Push}[kind](items)
        if kind == b"%":
            n = int(rest)
            out = {}
            for _ in range(n):
                k = self.read()
                out[_hashable(k)] = self.read()
            return out
        if kind == b"|":  # attributes precede the real reply
            for _ in range(2 * int(rest)):
                self.read()
            return self.read()
        if kind == b"_":
            return None
        if kind == b",":
            return float(rest.replace(b"inf", b"Infinity") if b"inf" in rest else rest)
        if kind == b"#":
            return rest == b"t"
        if kind == b"(":
            return int(rest)
        raise RespError(f"unknown reply type: {line!r}")

    def closed_by_server(self, deadline_s: float = 5.0) -> bool:
        """True once the server has closed the connection (EOF or reset) within
        the deadline; unread replies are discarded."""
        deadline = time.monotonic() + deadline_s
        self.sock.settimeout(0.1)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = self.sock.recv(1 << 16)
                except socket.timeout:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    return True
                if not chunk:
                    return True
            return False
        finally:
            self.sock.settimeout(10.0)


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v
