"""The drill's own process supervisor: starts, stops and restarts its programs by PID.

Its state lives in a small JSON file in the state directory (programs, PIDs, ports, the temp
directory), so that `drill --stop` or `drill --restart` from another shell acts on the same
processes, and a drill killed outright can still be cleaned up. A PID is only signalled while
its start time matches the one recorded: a reused PID is never killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from troubleshooter.errors import UsageError
from troubleshooter.frozen import record
from troubleshooter.lab.server import wait_stopped


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None once it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def child_pids(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (a worker's work horse leads a process group of its own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


@record
class Program:
    """How to (re)start one program: argv, extra environment, where its output goes."""

    name: str
    argv: list[str]
    log: str
    env: dict[str, str]
    pid: int | None = None
    ticks: int | None = None

    def alive(self) -> bool:
        return self.pid is not None and start_ticks(self.pid) == self.ticks

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "argv": self.argv, "log": self.log, "env": self.env,
                "pid": self.pid, "ticks": self.ticks}


class Supervisor:
    """Programs of one drill, recorded in `state_path` after every change."""

    def __init__(self, state_path: Path, directory: Path, info: Mapping[str, Any]) -> None:
        self.state_path, self.dir = state_path, directory
        self.info = dict(info)  # scenario, url, ports: for --stop and the instructor
        self.programs: dict[str, Program] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # -- state --------------------------------------------------------------------------------
    def save(self) -> None:
        from troubleshooter.store import write_private

        document = {"dir": str(self.dir), "info": self.info,
                    "programs": [p.to_dict() for p in self.programs.values()]}
        # Private and atomic like every file of the state directory (a random temp name).
        write_private(self.state_path, json.dumps(document).encode(), durable=False)

    def refresh(self) -> None:
        """Take PIDs from the state file: `drill --restart` in another shell may have started a
        program anew, and teardown must stop that one, not the one it replaced."""
        try:
            data = json.loads(self.state_path.read_text())
            programs = data["programs"]
        except (OSError, ValueError, KeyError, TypeError):
            return
        for p in programs:
            known = self.programs.get(p.get("name"))
            if known is not None and isinstance(p.get("pid"), int | None):
                known.pid, known.ticks = p["pid"], p.get("ticks")

    @classmethod
    def load(cls, state_path: Path) -> Supervisor:
        try:
            data = json.loads(state_path.read_text())
            sup = cls(state_path, Path(data["dir"]), data["info"])
            for p in data["programs"]:
                sup.programs[p["name"]] = Program(p["name"], list(p["argv"]), p["log"],
                                                  dict(p["env"]), p["pid"], p["ticks"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"cannot read the drill state {state_path}: {exc}") from None
        return sup

    # -- programs -----------------------------------------------------------------------------
    def add(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Program:
        program = Program(name, list(argv), str(self.dir / f"{name}.out"), dict(env or {}))
        self.programs[name] = program
        self.save()
        return program

    def start(self, name: str) -> Program:
        self.refresh()
        program = self._get(name)
        if program.alive():
            return program
        with open(program.log, "ab") as out:
            proc = subprocess.Popen(program.argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    env={**os.environ, **program.env}, start_new_session=True)
        self._children[proc.pid] = proc
        program.pid, program.ticks = proc.pid, start_ticks(proc.pid)
        self.save()
        return program

    def stop(self, name: str, grace: float = 3.0) -> None:
        """SIGTERM (after SIGCONT: a stopped process cannot act on it), SIGKILL after `grace`
        seconds; the process group and a work horse's group go too."""
        self.refresh()
        program = self._get(name)
        if program.alive() and program.pid is not None:
            self._terminate([program.pid], grace)
        program.pid = program.ticks = None
        self.save()

    def kill(self, name: str) -> None:
        """SIGKILL, as the OOM killer does: the program stays down until started again."""
        self.refresh()
        program = self._get(name)
        if program.alive() and program.pid is not None:
            self._terminate([program.pid], 0.0)
        self.save()

    def pause(self, name: str) -> None:
        self.refresh()
        program = self._get(name)
        if program.alive() and program.pid is not None:
            os.kill(program.pid, signal.SIGSTOP)
            wait_stopped(program.pid)  # the fault is in place before anyone looks

    def restart(self, name: str) -> Program:
        self.stop(name)
        return self.start(name)

    def status(self) -> list[tuple[Program, str]]:
        self.refresh()
        return [(p, _state(p)) for p in self.programs.values()]

    def _get(self, name: str) -> Program:
        if name not in self.programs:
            raise UsageError(f"the drill has no program {name!r} "
                             f"(programs: {', '.join(self.programs)})")
        return self.programs[name]

    def _terminate(self, pids: list[int], grace: float) -> None:
        """Stop `pids` and their children's groups: SIGTERM and `grace` seconds to exit, or
        (grace 0) all frozen at once, then SIGKILL; wait until they are gone."""
        groups = [g for pid in pids for g in (pid, *child_pids(pid))]
        ticks = {p: start_ticks(p) for p in groups}
        groups = [p for p in groups if ticks[p] is not None]
        if not grace:
            # Freeze them all first: a worker that outlives its horse by a moment would handle
            # the horse's death (fail or requeue the job) instead of leaving it orphaned.
            for p in groups:
                _signal_group(p, signal.SIGSTOP)
        else:
            for p in groups:
                _signal_group(p, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            for pid in pids:
                _signal_group(pid, signal.SIGTERM)
            end = time.monotonic() + grace
            while time.monotonic() < end and any(self._running(p, ticks.get(p)) for p in pids):
                time.sleep(0.02)
        for p in groups:
            if start_ticks(p) == ticks[p]:
                _signal_group(p, signal.SIGKILL)
        end = time.monotonic() + 5
        while time.monotonic() < end and any(self._running(p, ticks[p]) for p in groups):
            time.sleep(0.02)

    def _running(self, pid: int, ticks: int | None) -> bool:
        proc = self._children.get(pid)
        if proc is not None and proc.poll() is not None:
            del self._children[pid]
            return False
        return ticks is not None and start_ticks(pid) == ticks

    # -- teardown -----------------------------------------------------------------------------
    def teardown(self) -> list[str]:
        """Stop every program, remove the temp directory and the state file. Idempotent."""
        self.refresh()
        alive = [p for p in self.programs.values() if p.alive() and p.pid is not None]
        # Everything is thrown away: all at once, no grace (a drill must end fast on ^C).
        self._terminate([p.pid for p in alive if p.pid is not None], 0.0)
        for program in self.programs.values():
            program.pid = program.ticks = None
        for proc in self._children.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._children.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.state_path.unlink(missing_ok=True)
        return [p.name for p in alive]


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _state(program: Program) -> str:
    if not program.alive() or program.pid is None:
        return "stopped" if program.pid is None else "exited"
    try:
        fields = Path(f"/proc/{program.pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return "exited"
    return "paused (SIGSTOP)" if fields[0] == "T" else "running"
