"""Real `rq worker` processes for the tests: each in its own session, stopped by process group.

The worker forks a work horse per job; SIGKILL to the process group takes both down at once,
as an OOM killer or a `kill -9` of a container does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def children(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


class RqWorker:
    """`python -m rq.cli worker --url URL --name NAME QUEUES...` (no scheduler), by PID."""

    def __init__(self, url: str, *queues: str, name: str, burst: bool = False,
                 log: Path | None = None, own_session: bool = True) -> None:
        self.name = name
        # A service manager makes it lead its session; a shell's `&` gives it only a process
        # group of its own, in the shell's session.
        self.own_session = own_session
        self.command = [sys.executable, "-m", "rq.cli", "worker", "--url", url, "--name", name,
                        *(["--burst"] if burst else []), *queues]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RqWorker:
        out = open(self.log, "ab") if self.log else None
        try:
            # cwd: `-m` puts it on sys.path, so the horse can import tests.rqjobs.
            self.proc = subprocess.Popen(self.command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                         stdout=out or subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT,
                                         start_new_session=self.own_session,
                                         process_group=None if self.own_session else 0)
        finally:
            if out is not None:
                out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_registered(self, conn: Any, timeout: float = 10.0) -> None:
        """Until the worker's key exists in Redis (it has registered its birth)."""
        from rq import Worker

        key = Worker.redis_worker_namespace_prefix + self.name

        def registered() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"rq worker {self.name} exited with {self.proc.returncode}")
            return bool(conn.exists(key))

        wait_until(registered, timeout, f"worker {self.name} to register")

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the worker and its work horse, then reap the worker.

        The worker leads its own process group (pgid == pid); the horse calls setpgrp() and leads a
        group of its own, so it is found among the worker's children first and killed too -
        else it would finish its job later and write into the next test's data.
        """
        if self.proc is None:
            return
        for pgid in (self.proc.pid, *children(self.proc.pid)):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)

    def __enter__(self) -> RqWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
