"""The orphan judgement on this host's processes, with the processes given: which one is a work
horse of the dead worker, and which cannot be (the real workers and horses: test_wrong_calls)."""

from __future__ import annotations

from datetime import UTC, datetime

from troubleshooter.checks.rq.horse import Proc
from troubleshooter.checks.rq.jobdata import JobRecord
from troubleshooter.checks.rq.judge import Judge
from troubleshooter.checks.rq.registries import StartedEntry
from troubleshooter.checks.rq.restart import Restart
from troubleshooter.checks.rq.workers import WorkerInfo, _on_this_host

STARTED = datetime(2026, 11, 28, 3, 0, 0, tzinfo=UTC)
NOW = STARTED.timestamp() + 600
JOB = JobRecord("j1", True, "started", "orchestrator", worker_name="w1", started_at=STARTED)
ENTRY = StartedEntry("orchestrator", "j1", "e1", NOW - 10)  # its entry has expired
# An orphaned Python process that leads its own group and started with the job: a horse.
HORSE = Proc(4242, 1, 100, "python -m rq.cli worker orchestrator", STARTED.timestamp() + 0.2,
             4242, "S")


def _judge(worker: WorkerInfo, procs: list[Proc]) -> Judge:
    return Judge({"w1": worker}, frozenset(), procs, Restart(None, None, None), NOW)


def test_a_horse_started_with_the_job_holds_it_here() -> None:
    import socket

    here = WorkerInfo("w1", True, hostname=socket.gethostname(), pid=999_999,
                      dead_signal="pid_gone")
    assert _on_this_host(here.hostname)
    verdict = _judge(here, [HORSE]).verdict(JOB, ENTRY)
    assert (verdict.orphan, verdict.horse) == (False, 4242)


def test_no_process_here_is_the_horse_of_a_worker_on_another_host() -> None:
    far = WorkerInfo("w1", True, hostname="elsewhere.example", pid=4000,
                     dead_signal="heartbeat_stale")
    verdict = _judge(far, [HORSE]).verdict(JOB, ENTRY)
    assert verdict.orphan and verdict.horse is None


def test_a_running_python_child_of_a_running_parent_is_another_worker_s() -> None:
    gone = WorkerInfo("w1", False, dead_signal="key_gone")  # host unknown: its key expired
    parent = Proc(5000, 1, 5000, "python -m rq.cli worker other", STARTED.timestamp() - 300,
                  5000, "S")
    child = Proc(5001, 5000, 5000, "python -m rq.cli worker other", STARTED.timestamp() + 0.1,
                 5001, "R")
    assert _judge(gone, [parent, child]).verdict(JOB, ENTRY).orphan
    stopped = Proc(5001, 5000, 5000, child.title, child.started, 5001, "T")
    assert _judge(gone, [parent, stopped]).verdict(JOB, ENTRY).horse == 5001
