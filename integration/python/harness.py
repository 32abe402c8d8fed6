"""Starts and stops real server processes for the Python end-to-end tests.

- `start_redraft()` runs the redraft binary ($REDRAFT_BIN, else
  <target>/release/redraft, else <target>/debug/redraft, where <target> is
  $CARGO_TARGET_DIR or the repository's target/) on a free loopback
  port with a fresh temporary --dir.
- `start_redis()` runs a real redis-server (the reference) on a free port
  with `--save '' --appendonly no`, standalone or as a one-node Redis
  Cluster that owns all 16384 slots (the right reference for redraft,
  which always speaks cluster semantics: CROSSSLOT, no SELECT, ...).

Every wait is a poll with a deadline; `Server.stop()` kills the process
and removes its folder, and is safe to call twice. On Linux a server also
gets SIGKILL from the kernel when the test process dies, so an aborted run
leaves no server behind.
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resp import RespConn, RespError

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_DEADLINE_S = float(os.environ.get("REDRAFT_TEST_START_DEADLINE", "60"))


def redraft_bin() -> Path:
    """The redraft binary under test."""
    env = os.environ.get("REDRAFT_BIN")
    if env:
        path = Path(env)
        if not path.is_absolute() and not path.exists():
            path = REPO_ROOT / path  # relative to the repository root
        if not path.exists():
            raise FileNotFoundError(f"REDRAFT_BIN={env} does not exist")
        return path.resolve()
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = REPO_ROOT / target
    for profile in ("release", "debug"):
        path = target / profile / "redraft"
        if path.exists():
            return path
    raise FileNotFoundError(
        "no redraft binary: run `cargo build --release` or set REDRAFT_BIN"
    )


def redis_server_bin() -> str | None:
    """The reference redis-server ($REDIS_SERVER_BIN or on PATH), if any."""
    return os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port that is free, and whose cluster-bus port (+10000) is too."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(20000, 55000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair found")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies (Linux prctl)."""
    try:
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class Server:
    """One running server process, its port and its folder."""

    def __init__(self, kind: str, argv: list[str], workdir: Path, port: int):
        self.kind = kind
        self.host = HOST
        self.port = port
        self.dir = workdir
        self.log_path = workdir / f"{kind}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def __repr__(self) -> str:
        return f"<{self.kind} {self.host}:{self.port}>"

    def conn(self, timeout: float = 10.0) -> RespConn:
        """A fresh raw RESP connection."""
        return RespConn(self.host, self.port, timeout=timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, n: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-n:].decode("utf-8", "replace")

    def wait_for_ping(self, deadline_s: float = START_DEADLINE_S) -> None:
        """Polls PING until +PONG, the process exits, or the deadline passes."""
        deadline = time.monotonic() + deadline_s
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.kind} exited with {self.proc.returncode} before answering PING;"
                    f" log tail:\n{self.log_tail()}"
                )
            try:
                with self.conn(timeout=2.0) as c:
                    last = c.call("PING")
                    if last == "PONG":
                        return
            except (OSError, EOFError, RespError) as e:
                last = e
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.kind} on port {self.port} did not answer PING within {deadline_s}s"
            f" (last: {last!r}); log tail:\n{self.log_tail()}"
        )

    def stop(self, keep_dir: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_redraft(extra_args: list[str] | None = None) -> Server:
    """Starts redraft on a free port with a fresh --dir and waits for PING."""
    binary = redraft_bin()
    workdir = Path(tempfile.mkdtemp(prefix="redraft-test-"))
    for _ in range(3):
        port = free_port()
        argv = [
            str(binary),
            "--port", str(port),
            "--bind", HOST,
            "--dir", str(workdir / "data"),
            "--log", os.environ.get("REDRAFT_TEST_LOG", "warn"),
            *(extra_args or []),
        ]
        srv = Server("redraft", argv, workdir, port)
        try:
            srv.wait_for_ping()
            return srv
        except RuntimeError:
            # A port taken between free_port() and bind(): try another one.
            if "Address already in use" not in srv.log_tail():
                srv.stop()
                raise
            srv.stop(keep_dir=True)
            shutil.rmtree(workdir / "data", ignore_errors=True)
    raise RuntimeError("redraft could not bind a free port")


def start_redis(cluster: bool = False) -> Server:
    """Starts the reference redis-server; as a one-node cluster owning every slot if `cluster`."""
    binary = redis_server_bin()
    if binary is None:
        raise FileNotFoundError("redis-server not found (apt-get install redis-server)")
    workdir = Path(tempfile.mkdtemp(prefix="redis-ref-"))
    port = free_port()
    argv = [
        binary,
        "--port", str(port),
        "--bind", HOST,
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", "",
    ]
    if cluster:
        argv += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
    srv = Server("redis-cluster" if cluster else "redis", argv, workdir, port)
    srv.wait_for_ping()
    if cluster:
        with srv.conn() as c:
            reply = c.call("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            if reply != "OK":
                srv.stop()
                raise RuntimeError(f"CLUSTER ADDSLOTSRANGE: {reply!r}")
            # Redis reports cluster_state:ok up to 2 s after start.
            deadline = time.monotonic() + 30
            while b"cluster_state:ok" not in c.call("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    srv.stop()
                    raise RuntimeError("redis cluster_state never became ok")
                time.sleep(0.05)
    return srv
