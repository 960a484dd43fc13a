"""Finding `rq worker` processes: through /proc without psutil on Linux, through psutil
elsewhere, bounded either way. Real processes; a fake /proc only for the races."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rqworkers import wait_until
from troubleshooter.checks.config import procs

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")

SLEEP = "import time; time.sleep(60)"


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    """A real process whose command line reads `python -c ... ARGS`."""
    return subprocess.Popen([sys.executable, "-c", SLEEP, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def fake_worker() -> Iterator[subprocess.Popen[bytes]]:
    """Looks like `rq worker -u URL q-procfast` to anyone reading its command line."""
    proc = _spawn("rq", "worker", "-u", "redis://127.0.0.1:1/0", "q-procfast")
    try:
        wait_until(lambda: "q-procfast" in Path(f"/proc/{proc.pid}/cmdline").read_text(), 5)
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def test_a_worker_is_found_through_proc_without_importing_psutil(
        fake_worker: subprocess.Popen[bytes]) -> None:
    code = (
        "import json, sys\n"
        "from troubleshooter.checks.config import procs\n"
        "pids, notes = procs._proc_candidates('/proc')\n"
        "before = 'psutil' in sys.modules\n"
        "workers, _ = procs.rq_workers()\n"
        "print(json.dumps({'pids': pids, 'psutil_before': before,\n"
        "                  'workers': {w.pid: list(w.cmdline) for w in workers}}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True)
    doc = json.loads(out.stdout)
    assert fake_worker.pid in doc["pids"]
    assert doc["psutil_before"] is False
    # Read in depth (environment, connections) through psutil once it is a candidate.
    assert doc["workers"][str(fake_worker.pid)][-3:] == [
        "-u", "redis://127.0.0.1:1/0", "q-procfast"]


def test_no_candidate_means_no_psutil(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    (root / "self").mkdir(parents=True)
    (root / "1").mkdir()
    (root / "1" / "cmdline").write_bytes(b"/sbin/init\0splash\0")
    code = ("import sys\nfrom troubleshooter.checks.config import procs\n"
            f"assert procs.rq_workers(proc_root={str(root)!r}) == ([], [])\n"
            "assert 'psutil' not in sys.modules, 'psutil was imported'\n")
    subprocess.run([sys.executable, "-c", code], timeout=30, check=True)


def test_proc_and_psutil_find_the_same_worker(fake_worker: subprocess.Popen[bytes],
                                              tmp_path: Path) -> None:
    via_proc = {w.pid: w for w in procs.rq_workers()[0]}
    via_psutil = {w.pid: w for w in procs.rq_workers(proc_root=str(tmp_path / "none"))[0]}
    assert fake_worker.pid in via_proc
    mine, theirs = via_proc[fake_worker.pid], via_psutil[fake_worker.pid]
    assert (mine.cmdline, mine.environ, mine.remotes) == (theirs.cmdline, theirs.environ,
                                                          theirs.remotes)


def test_a_huge_command_line_is_read_only_in_part() -> None:
    # ~1 MB of arguments after `rq worker`: what is read to find workers stays bounded.
    proc = _spawn("rq", "worker", *(["q" * 10_000] * 100))
    try:
        wait_until(lambda: len(procs._cmdline("/proc", proc.pid)) > 3, 5)
        head = procs._cmdline("/proc", proc.pid)
        assert sum(len(a) + 1 for a in head) <= procs.CMDLINE_BYTES + 1
        assert proc.pid in procs._proc_candidates("/proc")[0]
        [info] = [w for w in procs.rq_workers()[0] if w.pid == proc.pid]
        assert all(len(a) <= procs.MAX_ARG for a in info.cmdline)
    finally:
        proc.kill()
        proc.wait(10)


def test_processes_that_vanish_or_hide_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    (root / "self").mkdir(parents=True)
    (root / "7").mkdir()  # exited between listdir and open: no cmdline any more
    (root / "8").mkdir()
    (root / "8" / "cmdline").write_bytes(b"")  # a kernel thread or a zombie
    (root / "9").mkdir()
    (root / "9" / "cmdline").write_bytes(b"rqworker\0high\0")
    (root / "10").mkdir()
    (root / "10" / "cmdline").write_bytes(b"python -m rq.cli worker default")  # retitled
    (root / "not-a-pid").mkdir()
    assert procs._proc_candidates(str(root)) == ([9, 10], [])


def test_the_number_of_processes_looked_at_is_capped(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proc"
    (root / "self").mkdir(parents=True)
    for pid in (5, 6, 40):
        (root / str(pid)).mkdir()
        (root / str(pid) / "cmdline").write_bytes(b"rq\0worker\0")
    monkeypatch.setattr(procs, "MAX_SCANNED", 2)
    assert procs._proc_candidates(str(root)) == (
        [5, 6], ["more than 2 processes: only the first 2 were looked at for rq workers"])


def test_no_procfs_falls_back_to_psutil(tmp_path: Path) -> None:
    assert procs._proc_candidates(str(tmp_path / "none")) is None
    (tmp_path / "empty").mkdir()
    assert procs._proc_candidates(str(tmp_path / "empty")) is None
