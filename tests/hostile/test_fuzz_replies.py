"""Random bytes as Redis replies, to every check kind that reads a server's replies.

Whatever the hostile server answers (to the handshake, to one command, to every command), the
check returns an outcome - a pass or a finding, never "the check crashed" - within its time
limit, and the process stays under the memory budget.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checks.server_kit import dump
from tests.hostile.server import HangUp, HostileServer, healthy
from troubleshooter.checks import CHECKS
from troubleshooter.checks.base import CheckContext
from troubleshooter.findings import CATALOGUE
from troubleshooter.target import parse_target

KINDS = ("resp_probe", "redis_ping", "redis_info", "acl_probe", "write_probe",
         "rq_queues", "rq_workers", "rq_registries")
TIMEOUT = 0.5
SLACK = 0.4
# The budget of a whole triage is 250 MB with several checks at once; one check's own
# allocations (a reply of at most 8 MiB, its copies and parsed elements) stay far below.
CHECK_PEAK_MB = 48

TOKENS = [b"*", b"$", b"%", b"~", b">", b"|", b":", b"(", b",", b"#", b"_", b"=", b"!", b"+",
          b"-", b"\r\n", b"\r\n", b"0", b"1", b"3", b"-1", b"-2", b"2147483648", b"1e400",
          b"99999999999999999999", b"t", b"x", b"\x00", b"\xff", b"ERR", b"NOAUTH", b"OK",
          b"PONG", b"inf", b"nan", b"proto", b"version"]
replies = st.one_of(
    st.binary(max_size=64),
    st.lists(st.sampled_from(TOKENS), max_size=24).map(b"".join),
)
# Which command gets the random reply: the handshake, one of the checks' commands, or all.
COMMANDS = [b"HELLO", b"CLIENT", b"PING", b"INFO", b"CONFIG", b"ACL", b"MULTI", b"SET", b"SMEMBERS",
            b"LRANGE", b"LLEN", b"ZCARD", b"ZRANGE", b"HGETALL", b"SCAN", b"EXISTS", b"*"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[HostileServer, Callable[[bytes, bytes], None]]]:
    """One hostile server per module; `aim(command, reply)` sets what it answers next."""
    current = {"command": b"PING", "reply": b""}
    normal = healthy()

    def script(command: list[bytes]) -> bytes | None:
        name = command[0].upper() if command else b""
        if current["command"] in (name, b"*"):
            return HangUp(current["reply"])
        reply = normal(command)
        return reply if isinstance(reply, bytes) else None

    def aim(command: bytes, reply: bytes) -> None:
        current.update(command=command, reply=reply)

    lab = HostileServer(script).start()
    tracemalloc.start()
    try:
        yield lab, aim
    finally:
        tracemalloc.stop()
        lab.stop()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(COMMANDS), reply=replies)
def test_random_replies_give_an_outcome(
        server: tuple[HostileServer, Callable[[bytes, bytes], None]], kind: str,
        command: bytes, reply: bytes) -> None:
    lab, aim = server
    aim(command, reply)
    spec = CHECKS[kind]
    params = {name: p.default for name, p in spec.params.items()}
    ctx = CheckContext(target=parse_target(lab.url), params=params, timeout=TIMEOUT,
                       allow_write=True)
    tracemalloc.reset_peak()
    start = time.monotonic()
    outcome = spec.run(ctx)
    elapsed = time.monotonic() - start
    peak_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    # "error" only for a well-formed error reply no rule names (the server's words are shown):
    # never for a crash, a malformed reply or a broken connection.
    unnamed = outcome.status == "error" and str(outcome.data.get("error", "")).startswith(
        "ResponseError: ")
    assert outcome.status in ("pass", "warn", "fail", "skipped") or unnamed, dump(outcome)
    assert all(f.code in CATALOGUE for f in outcome.findings)
    if outcome.status == "fail":
        assert any(f.severity == "error" for f in outcome.findings)
    assert elapsed <= TIMEOUT + SLACK, f"{kind} took {elapsed:.2f} s"
    assert peak_mb < CHECK_PEAK_MB, f"{kind} allocated {peak_mb:.1f} MB at its peak"
