"""Starts one drill worker the way a deployment does: from its env file, read at every start.

`python -m troubleshooter.drill.worker ENV_FILE NAME` becomes (exec, same PID)
`rq worker --name NAME.PID QUEUE` with RQ_REDIS_URL from the file; so a trainee who corrects
worker.env and restarts the worker through the drill's supervisor really fixes it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(env_file: str, name: str) -> None:
    values: dict[str, str] = {}
    for line in Path(env_file).read_text(encoding="utf-8").split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value
    queues = [q for q in values.get("RQ_QUEUE_NAME", "default").split(",") if q] or ["default"]
    env = {**os.environ, "RQ_REDIS_URL": values.get("REDIS_URL", "")}
    # A fresh name per start, as rq's own are: a restarted worker is not its dead predecessor.
    os.execve(sys.executable, [sys.executable, "-m", "rq.cli", "worker", "--name",
                               worker_name(name, os.getpid()), *queues], env)


def worker_name(name: str, pid: int) -> str:
    return f"{name}.{pid}"


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
