"""Real topologies on loopback: a master, a replica and three Sentinels (quorum 2); clusters."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest

from troubleshooter.lab.faults import SentinelServer, admin_client
from troubleshooter.lab.server import RedisServer


@dataclass
class SentinelSet:
    master: RedisServer
    replica: RedisServer
    sentinels: list[SentinelServer]
    stopped: list[RedisServer] = field(default_factory=list)

    def url(self, name: str = "mymaster", sentinels: list[SentinelServer] | None = None) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in (sentinels or self.sentinels))
        return f"redis+sentinel://{hosts}/{name}"

    def stop(self, server: RedisServer) -> None:
        server.stop()
        self.stopped.append(server)


def sentinel_reply(sentinel: SentinelServer, *args: str) -> Any:
    return admin_client(sentinel).execute_command("SENTINEL", *args)


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - a server still starting
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _settled(s: SentinelSet) -> bool:
    for sentinel in s.sentinels:
        replicas = sentinel_reply(sentinel, "REPLICAS", "mymaster")
        if len(replicas) < 2:
            return False
        for replica in replicas:
            fields = dict(zip(replica[::2], replica[1::2], strict=False))
            if "disconnected" in fields["flags"] or fields.get("master-link-status") != "ok":
                return False
        sentinel_reply(sentinel, "CKQUORUM", "mymaster")
    return True


@pytest.fixture
def sentinel_set() -> Iterator[SentinelSet]:
    with ExitStack() as stack:
        master = stack.enter_context(RedisServer())
        replica = stack.enter_context(RedisServer("--replicaof", master.host, str(master.port)))
        stack.enter_context(RedisServer("--replicaof", master.host, str(master.port)))
        sentinels = [stack.enter_context(SentinelServer(master, quorum=2)) for _ in range(3)]
        s = SentinelSet(master, replica, sentinels)
        wait_for(lambda: _settled(s), what="sentinels to see the replica and each other")
        yield s


def triage(url: str, *extra: str, timeout: float = 60) -> tuple[int, dict[str, Any], str]:
    """The installed command, non-interactive, as a user runs it: exit code, JSON, stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "troubleshooter", "run", "--non-interactive", "--json",
         "--url", url, *extra], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def check(doc: dict[str, Any], ident: str) -> dict[str, Any]:
    return next(c for s in doc["steps"] for c in s["checks"] if c["id"] == ident)


def codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"]}


CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "1000")


def _cluster_ok(nodes: list[RedisServer], known: int) -> bool:
    for n in nodes:
        info = admin_client(n).execute_command("CLUSTER", "INFO")
        if "cluster_state:ok" not in info or f"cluster_known_nodes:{known}" not in info:
            return False
    return True


@pytest.fixture
def six_node_cluster() -> Iterator[list[RedisServer]]:
    """3 masters and 3 replicas made by `redis-cli --cluster create`, as people make them."""
    with ExitStack() as stack:
        nodes = [stack.enter_context(RedisServer(*CLUSTER_ARGS)) for _ in range(6)]
        subprocess.run(["redis-cli", "--cluster", "create",
                        *(f"127.0.0.1:{n.port}" for n in nodes), "--cluster-replicas", "1",
                        "--cluster-yes"], check=True, capture_output=True, timeout=60)
        wait_for(lambda: _cluster_ok(nodes, 6), 30, "the 6-node cluster")
        yield nodes


@pytest.fixture
def three_masters() -> Iterator[list[RedisServer]]:
    """3 masters, no replicas, made by `redis-cli --cluster create`."""
    with ExitStack() as stack:
        nodes = [stack.enter_context(RedisServer(*CLUSTER_ARGS)) for _ in range(3)]
        subprocess.run(["redis-cli", "--cluster", "create",
                        *(f"127.0.0.1:{n.port}" for n in nodes), "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        wait_for(lambda: _cluster_ok(nodes, 3), 30, "the 3-master cluster")
        yield nodes
