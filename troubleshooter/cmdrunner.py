"""The one way this tool runs another program: argv only (never a shell), a time limit, output
captured with a cap, the whole process group killed on timeout, no retries.

Restarts (systemctl, supervisorctl, docker) and log sources (journalctl, docker logs) go through
a `CommandRunner` handed to the check in its context, so tests hand in a real one pointed at
real local programs, and the engine's unit tests a fake.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from troubleshooter.frozen import frozen

# Output kept per command: enough for a restart's messages or a window of journald.
DEFAULT_OUTPUT_CAP = 4 * 1024 * 1024


@frozen
class CommandResult:
    """What one command did. `returncode` is None when it timed out or could not start."""

    argv: tuple[str, ...]
    returncode: int | None
    output: str
    duration_s: float
    timed_out: bool = False
    truncated: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """One line for a person: how it ended."""
        if self.error:
            return f"could not run {self.argv[0]}: {self.error}"
        if self.timed_out:
            return f"{self.argv[0]} did not finish within {self.duration_s:.1f} s (stopped)"
        return f"{self.argv[0]} exited {self.returncode} after {self.duration_s:.1f} s"


class Commands(Protocol):
    """What a check runs commands with (CheckContext.runner): a CommandRunner, or the run's
    limited one (runner.limited_runner), which makes its CommandRunner at its first command."""

    redact: Callable[[str], str]

    def which(self, name: str) -> str | None: ...

    def run(self, argv: Sequence[str], timeout: float, stdin: bytes | None = None,
            output_cap: int | None = None) -> CommandResult: ...


class CommandRunner:
    """Runs argv lists with a time limit and an output cap.

    `redact` is applied to the captured output before it is returned (secrets never leave the
    runner); `environ` is the environment the commands see (default: this process's).
    """

    def __init__(self, environ: Mapping[str, str] | None = None,
                 redact: Callable[[str], str] | None = None,
                 output_cap: int = DEFAULT_OUTPUT_CAP) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.redact = redact or (lambda text: text)
        self.output_cap = output_cap

    def which(self, name: str) -> str | None:
        """The program's path on this environment's PATH, or None."""
        return shutil.which(name, path=self.environ.get("PATH"))

    def run(self, argv: Sequence[str], timeout: float, stdin: bytes | None = None,
            output_cap: int | None = None) -> CommandResult:
        """Run `argv`, wait at most `timeout` seconds, return what happened (never raises for
        a failing, missing or hanging program)."""
        args = tuple(argv)
        cap = self.output_cap if output_cap is None else output_cap
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                args, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.environ,
                start_new_session=True, close_fds=True)
        except OSError as exc:
            return CommandResult(args, None, "", time.monotonic() - start,
                                 error=exc.strerror or type(exc).__name__)
        with _LOCK:
            _RUNNING.add(proc)
        try:
            return self._finish(proc, args, stdin, start + timeout, cap, start)
        finally:
            with _LOCK:
                _RUNNING.discard(proc)

    def _finish(self, proc: subprocess.Popen[bytes], args: tuple[str, ...], stdin: bytes | None,
                deadline: float, cap: int, start: float) -> CommandResult:
        if stdin is not None and proc.stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except OSError:
                pass
        chunks, truncated, timed_out = _collect(proc, deadline, cap)
        if not timed_out:
            # Output closed; the program may still be running up to its limit.
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                timed_out = True
        if timed_out:
            _kill_group(proc)
        code = proc.wait()
        output = b"".join(chunks).decode("utf-8", errors="replace")
        return CommandResult(args, None if timed_out else code, self.redact(output),
                             time.monotonic() - start, timed_out, truncated)


def _collect(proc: subprocess.Popen[bytes], deadline: float,
             cap: int) -> tuple[list[bytes], bool, bool]:
    """Read the output until EOF or the deadline; past the cap keep draining (a blocked child
    would never exit) but keep nothing."""
    assert proc.stdout is not None
    chunks: list[bytes] = []
    size = 0
    truncated = False
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.stdout.close()
                return chunks, truncated, True
            if not sel.select(timeout=min(left, 0.5)):
                continue
            data = os.read(fd, 65536)
            if not data:
                proc.stdout.close()
                return chunks, truncated, False
            if size < cap:
                keep = data[: cap - size]
                chunks.append(keep)
                size += len(keep)
                truncated = truncated or len(keep) < len(data)
            else:
                truncated = True


# The commands running now, on any thread: when the command line tool ends (^C in the middle of
# a restart, SIGTERM), `stop_all` kills what they started.
_LOCK = threading.Lock()
_RUNNING: set[subprocess.Popen[bytes]] = set()


def stop_all() -> int:
    """Kill the process group of every command still running; how many there were."""
    with _LOCK:
        running = list(_RUNNING)
    for proc in running:
        _kill_group(proc)
    return len(running)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
