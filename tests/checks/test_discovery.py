"""`redis_nearby`: a refused target port while a real Redis answers next door is the wrong
instance; nothing (or nothing that speaks Redis) next door is a pass; unix sockets are skipped."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from troubleshooter.checks.base import REQUIRED, CheckContext, Outcome
from troubleshooter.checks.network import KINDS
from troubleshooter.lab import faults
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.target import parse_target

PASSWORD = "Tst-pw-9f3k"
KIND = {kind.name: kind for kind in KINDS}["redis_nearby"]
# Every check must be done within its timeout plus this, whatever happens.
SLACK = 0.3


def run(url: str, timeout: float = 1.0, **params: Any) -> Outcome:
    """Run redis_nearby as the engine would; check the time bound and that no secret leaks."""
    values = {name: p.default for name, p in KIND.params.items() if p.default is not REQUIRED}
    values.update(params)
    ctx = CheckContext(target=parse_target(url, "REDIS_URL"), params=values, timeout=timeout)
    started = time.monotonic()
    outcome = KIND.run(ctx)
    elapsed = time.monotonic() - started
    assert elapsed <= timeout + SLACK, f"redis_nearby took {elapsed:.2f} s"
    shown = json.dumps({"summary": outcome.summary, "data": outcome.data,
                        "details": outcome.details,
                        "findings": [f.to_dict() for f in outcome.findings]})
    assert PASSWORD not in shown
    assert {f.code for f in outcome.findings} <= set(KIND.codes)
    return outcome


def url(port: int) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{port}/0"


def quiet_port() -> int:
    """A free port P whose neighbours P-2..P+2 are free too (bound, not just unconnected)."""
    while True:
        port = free_port()
        with ExitStack() as stack:
            try:
                for near in range(port - 2, port + 3):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", near))
            except OSError:
                continue
        return port


@contextmanager
def listener() -> Iterator[socket.socket]:
    """Something that accepts connections and never says a word (not Redis)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def test_redis_answering_on_the_next_port_is_the_wrong_instance() -> None:
    port = quiet_port()
    with RedisServer(port=port + 1) as server:
        outcome = run(url(port), ports=[])
    other = f"127.0.0.1:{server.port}"
    assert outcome.status == "warn"
    [found] = outcome.findings
    assert (found.code, found.severity) == ("config.wrong_instance", "warning")
    assert other in found.message and f"127.0.0.1:{port}" in found.message
    assert outcome.summary == found.message
    assert f"{other} answers PING" in found.evidence
    assert "configured: 127.0.0.1:" in " ".join(found.evidence)
    assert "REDIS_URL" in " ".join(found.evidence)
    assert other in found.remedy
    assert outcome.data == {"answering": [other]}


def test_a_redis_that_wants_a_password_still_counts() -> None:
    """-NOAUTH is a Redis talking: the instance is there, it just needs credentials."""
    port = quiet_port()
    with RedisServer(port=port - 1) as server, faults.requirepass(server, PASSWORD):
        outcome = run(url(port), ports=[])
    assert outcome.status == "warn"
    assert outcome.data == {"answering": [f"127.0.0.1:{port - 1}"]}


def test_a_usual_port_from_the_params_is_probed_too() -> None:
    port = quiet_port()
    with RedisServer() as server:  # far from the target: found only through `ports`
        outcome = run(url(port), ports=[server.port])
    assert outcome.data == {"answering": [f"127.0.0.1:{server.port}"]}


def test_nothing_nearby_passes() -> None:
    port = quiet_port()
    outcome = run(url(port), ports=[])
    assert (outcome.status, outcome.findings) == ("pass", ())
    assert outcome.data == {"answering": []}
    assert outcome.summary.startswith("no other Redis answers on 127.0.0.1 (ports ")
    scanned = outcome.summary.partition("(ports ")[2].rstrip(")").split(", ")
    assert scanned == [str(p) for p in (port - 2, port - 1, port + 1, port + 2)]


def test_something_that_is_not_redis_nearby_passes_within_the_timeout() -> None:
    """A silent listener and a stopped Redis next door: neither speaks RESP, neither stalls."""
    port = quiet_port()
    with listener() as silent, RedisServer(port=port + 1) as stopped, faults.paused(stopped):
        outcome = run(url(port), timeout=0.5, ports=[silent.getsockname()[1]])
    assert (outcome.status, outcome.findings) == ("pass", ())


def test_a_unix_socket_target_is_skipped() -> None:
    outcome = run(f"unix://:{PASSWORD}@/run/redis/redis-server.sock?db=0")
    assert outcome.status == "skipped"
    assert outcome.findings == ()
    assert "unix socket" in outcome.summary
