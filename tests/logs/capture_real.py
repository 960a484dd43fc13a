"""Captures real log lines for the signature tests: `python -m tests.logs.capture_real`.

Runs real redis-servers with real faults (troubleshooter.lab.faults), logs the exceptions
redis-py raises the way an application logs them (`logging.exception`'s last line), and copies
the redis-server log. Writes tests/resources/logs/real/*.log (rq-worker.log is the log of
test_real_lines.test_real_rq_workers, its file paths shortened). Loopback only.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from troubleshooter.lab import faults
from troubleshooter.lab.server import RedisServer, free_port

OUT = Path(__file__).resolve().parents[1] / "resources" / "logs" / "real"


def client(url: str, **kw: Any) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                retry=Retry(NoBackoff(), 0), **kw)


def record(log: logging.Logger, what: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception as exc:  # the line an app writes: logger.error("...: %s", exc)
        log.error("%s failed: %s.%s: %s", what, type(exc).__module__, type(exc).__name__, exc)
    else:
        log.error("%s did not fail", what)


def app_lines() -> None:
    path = OUT / "app-redis-py.log"
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("app")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    record(log, "refused", lambda: client(f"redis://127.0.0.1:{free_port()}/0").ping())
    with RedisServer() as server:
        url = server.url
        with faults.paused(server):
            record(log, "paused", lambda: client(url).ping())
        with faults.requirepass(server, "s3cret-pw"):
            record(log, "noauth resp3", lambda: client(url).ping())
            record(log, "noauth resp2", lambda: client(url, protocol=2).ping())
            record(log, "wrongpass", lambda: client(url, password="nope").ping())
        with faults.acl_user(server, "rqapp", "pw", "~other:*", "+get"):
            record(log, "noperm", lambda: client(url, username="rqapp", password="pw")
                   .set("rq:x", 1))
        with faults.fill_memory(server):
            record(log, "oom", lambda: client(url).set("x", "y"))
        with faults.replica_of_dead_master(server):
            record(log, "readonly", lambda: client(url).set("x", "y"))
        with faults.replica_of_dead_master(server, serve_stale=False):
            record(log, "masterdown", lambda: client(url).get("x"))
        with faults.misconf(server):
            record(log, "misconf", lambda: client(url).set("x", "y"))
        with faults.busy_script(server):
            record(log, "busy", lambda: client(url).get("x"))
        with faults.max_clients(server):
            record(log, "maxclients", lambda: client(url).ping())
        with faults.protected_mode(server) as relay:
            record(log, "protected", lambda: client(relay).ping())
        with faults.sentinel(server) as sentinel:
            from redis.sentinel import Sentinel

            s = Sentinel([(sentinel.host, sentinel.port)], socket_timeout=0.5)
            record(log, "sentinel", lambda: s.discover_master("nosuchmaster"))
    with faults.loading(3.0) as server:
        record(log, "loading", lambda: client(server.url).get("k1"))
    with faults.cluster(3) as nodes:
        plain = client(nodes[0].url)
        keys = [f"k{i}" for i in range(50)]
        record(log, "moved", lambda: [plain.set(k, 1) for k in keys])
        record(log, "crossslot", lambda: plain.mset({"a": 1, "b": 2}))
    handler.close()


def server_lines() -> None:
    directory = OUT / "redis-server-dir"
    directory.mkdir(exist_ok=True)
    server = RedisServer("--save", "3600 1", directory=directory)
    server.start()
    try:
        client(server.url).set("k", "v")
        client(server.url).save()
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGTERM)
        server.proc.wait(timeout=10)
        server.proc = None
        server.start()  # loads the RDB: "DB loaded from disk"
        replica = client(server.url)
        replica.execute_command("REPLICAOF", "127.0.0.1", str(server.port))
        time.sleep(1.5)
        replica.execute_command("REPLICAOF", "NO", "ONE")
    finally:
        server.stop()
    (OUT / "redis-server.log").write_bytes((directory / "redis.log").read_bytes())
    for f in directory.iterdir():
        f.unlink()
    directory.rmdir()


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    server_lines()
    app_lines()
