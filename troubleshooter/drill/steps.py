"""The setup steps a scenario lists (`setup:` in its YAML), each on a real lab: start, stop,
pause and restart programs, enqueue real RQ jobs, and break things for real."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from troubleshooter.drill.lab import Lab, stamp, wait_until, wait_workers


def run_setup(lab: Lab) -> None:
    """Run the scenario's setup steps in order: start, enqueue, break."""
    for kind, arg in lab.scenario.setup:
        STEPS[kind](lab, arg)
    # What the app and worker logged since the fault, as they would have.
    for which, lines in lab.scenario.logs.items():
        for i, line in enumerate(lines):
            lab.values["time"] = stamp(len(lines) - i)
            lab.log(which, lab.fill(line))


def _targets(lab: Lab, name: str) -> Iterator[str]:
    yield from (lab.workers() if name == "workers" else [name])


def _start(lab: Lab, name: Any) -> None:
    for program in _targets(lab, str(name)):
        lab.sup.start(program)
        if program in lab.ports:
            lab.wait_server(program)
    if name == "workers":
        wait_workers(lab)


def _stop(lab: Lab, name: Any) -> None:
    for program in _targets(lab, str(name)):
        lab.sup.stop(program)


def _pause(lab: Lab, name: Any) -> None:
    lab.sup.pause(str(name))


def _restart(lab: Lab, name: Any) -> None:
    _stop(lab, name)
    _start(lab, name)


def _enqueue(lab: Lab, arg: Any) -> None:
    count = int(arg.get("count", 3) if isinstance(arg, dict) else arg)
    queue = lab.app_queue
    conn = lab.admin()
    start = len(lab.outbox_entries())
    for i in range(start, start + count):
        lab.enqueue(conn, queue, f"job-{i + 1}")


def _wait_jobs(lab: Lab, arg: Any) -> None:
    """Until every job ran and rq is done with it: the job records its run before its worker
    writes the result, and a fault injected in between (a full memory) would crash the
    worker at random instead of leaving it idle, as the scenario means."""
    tokens = [e["token"] for e in lab.outbox_entries()]
    conn = lab.admin()
    queue = lab.app_queue

    def settled() -> bool:
        if not all(lab.run_counts().get(t) for t in tokens):
            return False
        if conn.llen(f"rq:queue:{queue}") or conn.zcard(f"rq:wip:{queue}"):
            return False
        states = [conn.hget(f"rq:worker:{name}", "state") for name in lab.live_worker_names()]
        return all(state == "idle" for state in states)

    wait_until(settled, 20, "the drill's jobs to run")
    time.sleep(0.2)  # the idle worker's heartbeat, then its blocking dequeue


def _hold_job(lab: Lab, arg: Any) -> None:
    """A job that stays in flight until `kill_workers` (which lets it finish)."""
    lab.hold_file.touch()
    conn = lab.admin()
    lab.enqueue(conn, lab.app_queue, f"job-{len(lab.outbox_entries()) + 1}", hold=True)
    wait_until(lambda: conn.zcard(f"rq:wip:{lab.app_queue}") > 0, 20,
               "the held job to start")


def _kill_workers(lab: Lab, arg: Any) -> None:
    for program in lab.workers():
        lab.sup.kill(program)
    lab.hold_file.unlink(missing_ok=True)


def _command(lab: Lab, arg: Any) -> None:
    args = [lab.fill(str(a)) for a in (arg if isinstance(arg, list) else str(arg).split())]
    cast(Any, lab.admin()).execute_command(*args)


def _fill_memory(lab: Lab, arg: Any) -> None:
    import redis

    client: Any = lab.admin()
    value = "x" * 10240
    limit = int(client.config_get("maxmemory")["maxmemory"]) // 10240 * 2 + 200
    for i in range(limit):
        try:
            client.set(f"cache:report:{i}", value)
        except redis.exceptions.OutOfMemoryError:
            return


def _misconf(lab: Lab, arg: Any) -> None:
    """The dump file's path is a directory: BGSAVE fails, writes and PING get MISCONF."""
    client: Any = lab.admin()
    conf = client.config_get("dir")
    (Path(conf["dir"]) / "dump.rdb").mkdir()
    client.set("app:last_deploy", "ok")
    client.bgsave()

    def failed() -> bool:
        info = client.info("persistence")
        return not info["rdb_bgsave_in_progress"] and info["rdb_last_bgsave_status"] == "err"

    wait_until(failed, 10, "rdb_last_bgsave_status:err")


def _leak_connections(lab: Lab, arg: Any) -> None:
    port = lab.ports["redis"]
    lab.sup.add("reporting-service", [sys.executable, "-m", "troubleshooter.drill.leaker",
                                      "127.0.0.1", str(port)])
    lab.sup.programs["reporting-service"].log = str(lab.dir / "app.log")
    lab.sup.start("reporting-service")

    def full() -> bool:
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(128).startswith(b"-ERR max number of clients")

    wait_until(full, 15, "maxclients to be reached")


STEPS: dict[str, Callable[[Lab, Any], None]] = {
    "start": _start, "stop": _stop, "pause": _pause, "restart": _restart,
    "enqueue": _enqueue, "wait_jobs": _wait_jobs, "hold_job": _hold_job,
    "kill_workers": _kill_workers, "command": _command, "fill_memory": _fill_memory,
    "misconf": _misconf, "leak_connections": _leak_connections,
}
