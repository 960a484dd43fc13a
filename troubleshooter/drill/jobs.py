"""The job the drills' real `rq worker`s run: it records each run, so a drill can tell a job
lost from a job run twice. Imported by the work horse: keep it free of heavy imports."""

from __future__ import annotations

import os
import time


def record(runs_file: str, token: str, hold_file: str = "") -> str:
    """Append `token` to `runs_file` once the job is done.

    While `hold_file` exists (at most 60 s) the job stays in flight: a drill kills its worker
    then, and the requeued run finishes at once.
    """
    end = time.monotonic() + 60
    while hold_file and os.path.exists(hold_file) and time.monotonic() < end:
        time.sleep(0.05)
    fd = os.open(runs_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{token}\n".encode())
    finally:
        os.close(fd)
    return token
