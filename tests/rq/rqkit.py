"""What the RQ end-to-end tests share: the installed command, real workers, real restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis
from rq import Queue
from rq.job import Job, JobStatus

from tests.rqworkers import RqWorker, wait_until

COMMAND = Path(sys.executable).with_name("troubleshooter")
APP = "orchestrator"


def triage(url: str, tmp: Path, *args: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    """`troubleshooter run --non-interactive --json` as an operator runs it; (exit code, doc)."""
    save = tmp / f"session-{len(list(tmp.glob('session-*')))}.json"
    proc = subprocess.run(
        [str(COMMAND), "run", "--url", url, "--non-interactive", "--json", "--timeout",
         f"{timeout:g}", "--save", str(save), *args],
        env=dict(os.environ), capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=60)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def codes(doc: dict[str, Any]) -> dict[str, str]:
    """code -> severity of every finding of a session (the first one of a code)."""
    found: dict[str, str] = {}
    for f in doc["findings"]:
        found.setdefault(f["code"], f["severity"])
    return found


def check(doc: dict[str, Any], action: str) -> dict[str, Any] | None:
    """The record of one check (by action id) in a session document; None if it did not run."""
    for step in doc["steps"]:
        for record in step["checks"]:
            if record["id"] == action:
                return dict(record)
    return None


def status(conn: redis.Redis, job_id: str) -> JobStatus | None:
    return Job.fetch(job_id, connection=conn).get_status(refresh=True)


def start_busy(conn: redis.Redis, url: str, name: str, log: Path,
               func: str = "tests.rqjobs.sleep_job", *args: Any,
               own_session: bool = True) -> tuple[RqWorker, Job]:
    """A real worker busy on one job (the test's own rq, not the tool, reads the status)."""
    job = Queue(APP, connection=conn).enqueue(func, *(args or (30,)))
    worker = RqWorker(url, APP, name=name, log=log, own_session=own_session).start()
    try:
        wait_until(lambda: status(conn, job.id) == JobStatus.STARTED, 15, "the job to start")
    except BaseException:
        worker.kill()
        raise
    return worker, job
