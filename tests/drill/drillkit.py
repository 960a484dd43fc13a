"""Helpers for the drill tests: run `troubleshooter drill` in-process with an answers file, and
prove that a drill left nothing behind (no process, no listening port, no temp directory)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from troubleshooter.cli import main
from troubleshooter.drill.supervisor import start_ticks

# The right answer to every shipped scenario: diagnosis, remedy and a real fix.
COPY_URL = {"copy": {"from": "worker.env", "to": "app.env", "key": "REDIS_URL"}}
RIGHT: dict[str, dict[str, Any]] = {
    "server-down": {"diagnosis": "network.refused", "remedy": "start-redis",
                    "fix": [{"restart": "all"}, {"look": "ping"}]},
    "wrong-password": {"diagnosis": "server.auth_failed", "remedy": "fix-app-url",
                       "fix": [{"set": {"file": "app.env", "key": "REDIS_URL",
                                        "value": "redis://:{password}@127.0.0.1:{redis.port}/0"}}
                               ]},
    "password-missing": {"diagnosis": "server.auth_required", "remedy": "fix-app-url",
                         "fix": [COPY_URL]},
    "oom": {"diagnosis": "server.oom", "remedy": "free-memory",
            "fix": [{"redis": ["CONFIG", "SET", "maxmemory", "64mb"]}]},
    "eviction": {"diagnosis": "server.eviction_policy", "remedy": "noeviction",
                 "fix": [{"redis": ["CONFIG", "SET", "maxmemory-policy", "noeviction"]},
                         {"redis": ["CONFIG", "SET", "maxmemory", "64mb"]},
                         {"restart": "workers"}]},
    "max-clients": {"diagnosis": "server.max_clients", "remedy": "stop-connection-leak",
                    "fix": [{"stop": "reporting-service"}]},
    "readonly-replica": {"diagnosis": "server.readonly", "remedy": "point-at-master",
                         "fix": [COPY_URL]},
    "misconf": {"diagnosis": "server.persistence_failed", "remedy": "fix-persistence",
                "fix": [{"shell": ["rmdir", "{dir}/redis-data/dump.rdb"]},
                        {"redis": ["BGSAVE"]}]},
    "hung": {"diagnosis": "server.unresponsive", "remedy": "restart-hung-redis",
             "fix": [{"restart": "all"}]},
    "wrong-port": {"diagnosis": "config.wrong_instance", "remedy": "fix-app-url",
                   "fix": [COPY_URL]},
    "worker-killed": {"diagnosis": "rq.orphaned_jobs", "remedy": "restart-workers-requeue",
                      "fix": [{"restart": "workers"}, {"requeue": {}}]},
    "queue-mismatch": {"diagnosis": "rq.queue_mismatch", "remedy": "fix-worker-queue",
                       "fix": [{"copy": {"from": "app.env", "to": "worker.env",
                                         "key": "RQ_QUEUE_NAME"}},
                               {"restart": "workers"}]},
    "invisible-char": {"diagnosis": "config.malformed_url", "remedy": "fix-app-url",
                       "fix": [COPY_URL]},
    "persistence-off": {"diagnosis": "server.recently_restarted", "remedy": "enable-persistence",
                        "fix": [{"redis": ["CONFIG", "SET", "appendonly", "yes"]},
                                {"resend_lost": {}}]},
}


def drill(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str,
          answers: dict[str, Any], *args: str) -> tuple[int, str, str]:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    capsys.readouterr()
    code = main(["drill", name, "--answers", str(path), "--timeout", "1", *args])
    out, err = capsys.readouterr()
    return code, out, err


def history(state: Path) -> list[dict[str, Any]]:
    path = state / "troubleshooter" / "drills" / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


class Leftovers:
    """Snapshot the drill's processes, ports and directory while it runs (from its state
    file), to check afterwards that none of them is left."""

    def __init__(self) -> None:
        self.pids: dict[int, int | None] = {}
        self.ports: set[int] = set()
        self.dirs: set[Path] = set()

    def note(self, state_file: Path) -> None:
        data = json.loads(state_file.read_text())
        self.dirs.add(Path(data["dir"]))
        self.ports.update(int(p) for p in data["info"].get("ports", {}).values())
        for program in data["programs"]:
            if program["pid"]:
                self.pids[int(program["pid"])] = program["ticks"]

    def left(self) -> list[str]:
        found = [f"process {pid}" for pid, ticks in self.pids.items()
                 if ticks is not None and start_ticks(pid) == ticks]
        found += [f"directory {d}" for d in self.dirs if d.exists()]
        for port in self.ports:
            # A process killed by another one (`drill --stop` does not wait for what it did
            # not start) closes its socket a moment later: give it that moment.
            deadline = time.monotonic() + 3.0
            while _listening(port) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _listening(port):
                found.append(f"port {port}")
        return found


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
