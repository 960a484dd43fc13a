"""A drill's lab: the temp directory, the real redis-servers and rq workers under the drill's
supervisor, the app's and worker's env files and logs, and the setup steps that break it."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from troubleshooter.drill.scenario import PLACEHOLDER_RE, Scenario
from troubleshooter.drill.supervisor import Supervisor
from troubleshooter.frozen import record
from troubleshooter.lab.server import LabError, find_redis_server, free_port
from troubleshooter.target import redact_url

if TYPE_CHECKING:
    import redis

JOB = "troubleshooter.drill.jobs.record"
SERVER_BASE = ('save ""', "appendonly no", "daemonize no", "protected-mode yes")


@record
class Lab:
    scenario: Scenario
    dir: Path
    sup: Supervisor
    ports: dict[str, int] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    # -- files ------------------------------------------------------------------------------
    @property
    def runs_file(self) -> Path:
        return self.dir / "runs.txt"

    @property
    def outbox(self) -> Path:
        return self.dir / "outbox.jsonl"

    @property
    def hold_file(self) -> Path:
        return self.dir / "hold"

    def env(self, which: str) -> dict[str, str]:
        """`app` or `worker`: the env file as it is now (the trainee may have edited it)."""
        return read_env(self.dir / f"{which}.env")

    @property
    def app_url(self) -> str:
        return self.env("app").get("REDIS_URL", "")

    @property
    def app_queue(self) -> str:
        return self.env("app").get("RQ_QUEUE_NAME", "default")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(v for k, v in self.values.items() if "password" in k and v)

    def mask(self, text: str) -> str:
        """Passwords never reach a screen; a short digest tells two of them apart."""
        import hashlib

        for secret in self.secrets:
            digest = hashlib.sha256(secret.encode()).hexdigest()[:4]
            text = text.replace(secret, f"****({digest})")
        return text

    def fill(self, text: str) -> str:
        return PLACEHOLDER_RE.sub(lambda m: self.values.get(m[1], m[0]), text)

    # -- Redis ------------------------------------------------------------------------------
    def admin(self, server: str = "redis", timeout: float = 3.0) -> redis.Redis:
        """The operator's own fail-fast client to a lab server, with its password if any."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        conf = self.scenario.servers.get(server, {})
        password = self.fill(str(conf["requirepass"])) if "requirepass" in conf else None
        return redis.Redis(host="127.0.0.1", port=self.ports[server], password=password,
                           socket_timeout=timeout, socket_connect_timeout=timeout,
                           retry=Retry(NoBackoff(), 0), protocol=2, decode_responses=True)

    def workers(self) -> list[str]:
        return [name for name in self.sup.programs if name.startswith("worker-")]

    def live_worker_names(self) -> list[str]:
        """The rq names of the worker programs running now (drill-worker-1.PID)."""
        from troubleshooter.drill.worker import worker_name

        self.sup.refresh()
        return [worker_name(f"drill-{n}", pid) for n in self.workers()
                if (pid := self.sup.programs[n].pid) is not None and self.sup.programs[n].alive()]

    def log(self, which: str, line: str) -> None:
        with open(self.dir / f"{which}.log", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def enqueue(self, conn: redis.Redis, queue: str, token: str, hold: bool = False) -> str:
        """Enqueue one recorded job with a real rq Queue; the app's outbox keeps it."""
        from rq import Queue

        job = Queue(queue, connection=conn).enqueue(
            JOB, str(self.runs_file), token, str(self.hold_file) if hold else "",
            job_timeout=120, result_ttl=600, failure_ttl=600)
        with open(self.outbox, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"token": token, "job_id": job.id, "queue": queue}) + "\n")
        self.log("app", f"{stamp()} INFO app.jobs: enqueued job {job.id} "
                        f"(export_report {token}) on queue {queue}")
        return str(job.id)

    def outbox_entries(self) -> list[dict[str, str]]:
        try:
            lines = self.outbox.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def run_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        try:
            tokens = self.runs_file.read_text(encoding="utf-8").split()
        except OSError:
            return counts
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
        return counts

    def wait_server(self, server: str) -> None:
        from troubleshooter.lab.server import RedisServer

        probe = RedisServer(port=self.ports[server], directory=self.dir)
        probe.proc, probe.logfile = None, self.dir / f"{server}.log"
        probe.wait_ready()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll every 20 ms; a LabError after `timeout` seconds."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise LabError(f"timed out after {timeout:g} s waiting for {what}")


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; the value exactly as written (an invisible character stays)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return values
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value
    return values


def write_env(path: Path, values: Mapping[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")


def stamp(seconds_ago: float = 0) -> str:
    when = dt.datetime.now() - dt.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"


# -- building a lab -------------------------------------------------------------------------
def build(scenario: Scenario, state_path: Path) -> Lab:
    """The lab's directory, files and programs, recorded in the state file; nothing started.

    The caller owns teardown (`lab.sup.teardown()`), also when `setup` fails half-way.
    """
    # No scenario name in it: the trainee sees the path, and it would give the cause away.
    directory = Path(tempfile.mkdtemp(prefix="ts-drill-"))
    sup = Supervisor(state_path, directory, {"scenario": scenario.name})
    lab = Lab(scenario, directory, sup)
    try:
        return _build(lab)
    except BaseException:
        sup.teardown()
        raise


def _build(lab: Lab) -> Lab:
    scenario, directory, sup = lab.scenario, lab.dir, lab.sup
    lab.ports = {name: free_port() for name in scenario.servers}
    lab.values = {
        "password": secrets.token_urlsafe(12), "old_password": secrets.token_urlsafe(12),
        "spare.port": str(_spare_port(lab.ports["redis"], set(lab.ports.values()))),
        "dir": str(directory),
        "time": "", "queue": "default",
        **{f"{name}.port": str(port) for name, port in lab.ports.items()},
    }
    for name, conf in scenario.servers.items():
        data = directory / f"{name}-data"
        data.mkdir()
        lines = [f"port {lab.ports[name]}", "bind 127.0.0.1", f"dir {data}",
                 f"logfile {directory / f'{name}.log'}", *SERVER_BASE,
                 *(f"{key} {lab.fill(str(value))}" for key, value in conf.items())]
        (directory / f"{name}.conf").write_text("\n".join(lines) + "\n")
        sup.add(name, [find_redis_server(), str(directory / f"{name}.conf")])
    for which, values in scenario.env.items():
        write_env(directory / f"{which}.env", {k: lab.fill(v) for k, v in values.items()})
    for i in range(1, scenario.workers + 1):
        sup.add(f"worker-{i}", [sys.executable, "-m", "troubleshooter.drill.worker",
                                str(directory / "worker.env"), f"drill-worker-{i}"])
        sup.programs[f"worker-{i}"].log = str(directory / "worker.log")
    (directory / "app.log").touch()
    (directory / "worker.log").touch()
    # The state file outlives the drill's processes: never a password in it.
    sup.info.update(ports=lab.ports, url=redact_url(lab.app_url), dir=str(directory),
                    values={k: v for k, v in lab.values.items() if "password" not in k})
    sup.save()
    return lab


def _spare_port(near: int, taken: set[int]) -> int:
    """A port nothing listens on, next to `near` if one is free: the typo in a wrong URL."""
    import socket

    for candidate in (near + 1, near - 1, near + 2, near - 2):
        if candidate in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        return candidate
    while True:
        port = free_port()
        if port not in taken:
            return port


def wait_workers(lab: Lab, timeout: float = 20.0) -> None:
    """Until every worker program has registered in Redis (or died: a LabError)."""
    client = lab.admin()

    def registered() -> bool:
        for program in lab.workers():
            if not lab.sup.programs[program].alive():
                raise LabError(f"rq worker {program} exited at start: see {lab.dir}/worker.log")
        return all(client.exists(f"rq:worker:{n}") for n in lab.live_worker_names())

    wait_until(registered, timeout, "the drill's rq workers to register")


def setup(lab: Lab) -> None:
    """Run the scenario's setup steps in order (drill.steps): start, enqueue, break."""
    from troubleshooter.drill.steps import run_setup

    run_setup(lab)
