"""A server that breaks the protocol, or sends more than any Redis would, is a finding.

Each case scripts one reply of the hostile server and runs a server check against it, as the
engine does: the outcome must be a `server.protocol_error` finding with a diagnosis (never
"the check crashed"), within the check's time limit, and the client must stop reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.checks.server_kit import dump, run
from tests.hostile.server import (
    HostileServer,
    Script,
    Scripted,
    bulk,
    drip,
    endless,
    healthy,
    nested,
)
from troubleshooter.checks.base import Outcome

Start = Callable[[Script], HostileServer]
TIMEOUT = 1.0


def diagnosed(outcome: Outcome, *words: str, code: str = "server.protocol_error") -> str:
    """The outcome is one error finding of `code` whose message says `words`."""
    assert outcome.status == "fail", dump(outcome)
    assert [(f.code, f.severity) for f in outcome.findings] == [(code, "error")], dump(outcome)
    message = outcome.findings[0].message
    for word in words:
        assert word in message, message
    return message


def test_hello_answered_with_an_integer(hostile: Start) -> None:
    server = hostile(healthy({b"HELLO": b":1\r\n"}))
    message = diagnosed(run("redis_ping", server.url), "HELLO", "int")
    assert "breaks the Redis protocol" in message


def test_hello_with_auth_answered_with_an_integer(hostile: Start) -> None:
    # With a password redis-py does not look at HELLO's reply itself: it must still be a map.
    server = hostile(healthy({b"HELLO": b":1\r\n"}))
    url = server.url.replace("redis://", "redis://:s3cret-Tr0ub4dor-3x@")
    diagnosed(run("redis_ping", url), "HELLO")


def test_a_bulk_of_a_terabyte_is_refused_before_reading(hostile: Start) -> None:
    server = hostile(healthy({b"PING": b"$1099511627776\r\n"}))
    start = time.monotonic()
    diagnosed(run("redis_ping", server.url, timeout=2.0), "8 MiB")
    assert time.monotonic() - start < 1.0  # refused at the header, not after a timeout


def test_an_array_of_two_billion_elements(hostile: Start) -> None:
    server = hostile(healthy({b"PING": b"*2147483648\r\n"}))
    diagnosed(run("redis_ping", server.url), "2147483648 elements")


def test_ten_thousand_levels_of_nesting(hostile: Start) -> None:
    server = hostile(healthy({b"PING": nested(10_000)}))
    diagnosed(run("redis_ping", server.url), "nests deeper than 32")


def test_nesting_within_the_limit_is_read(hostile: Start) -> None:
    # The control: what real replies do (COMMAND DOCS nests about 6 deep) is not refused.
    server = hostile(healthy({b"PING": nested(20)}))
    outcome = run("redis_ping", server.url)
    assert outcome.status == "pass", dump(outcome)


def test_push_messages_before_a_reply_count_as_nesting(hostile: Start) -> None:
    # redis-py reads the reply after an out-of-band push recursively: an endless run of pushes
    # would be a RecursionError. One push is fine; forty are refused.
    push = b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n"
    one = hostile(healthy({b"PING": push + b"+PONG\r\n"}))
    assert run("redis_ping", one.url).status == "pass"
    many = hostile(healthy({b"PING": push * 40 + b"+PONG\r\n"}))
    diagnosed(run("redis_ping", many.url), "nests deeper than 32")


def test_a_string_that_never_ends_stops_at_the_budget(hostile: Start) -> None:
    server = hostile(healthy({b"PING": endless}))
    diagnosed(run("redis_ping", server.url, timeout=5.0), "longer than 1 MiB")
    assert server.sent < 64 * 1024 * 1024  # what the kernel buffers besides our 8 MiB


def test_a_reply_that_trickles_stops_at_the_time_limit(hostile: Start) -> None:
    server = hostile(healthy({b"PING": drip}))
    diagnosed(run("redis_ping", server.url, timeout=TIMEOUT), "incomplete", "trickles")


@pytest.mark.parametrize("header", [b"$abc\r\n", b"*-5\r\n", b",x1\r\n", b"#maybe\r\n",
                                    b":99999999999999999999999\r\n", b"_x\r\n", b"%-1\r\n"])
def test_a_malformed_header(hostile: Start, header: bytes) -> None:
    server = hostile(healthy({b"PING": header}))
    diagnosed(run("redis_ping", server.url), "malformed reply header")


def test_garbage_is_not_redis(hostile: Start) -> None:
    server = hostile(healthy({b"PING": b"\x00\xffSSH-2.0-OpenSSH\r\n"}))
    # Not RESP at all: redis-py's own "Protocol Error", something else listens there.
    diagnosed(run("redis_ping", server.url), "does not speak the Redis protocol",
              code="network.not_redis")


def test_fifty_mb_of_info_is_refused(hostile: Start) -> None:
    info = bulk(b"# Server\r\n" + b"x" * (50 * 1024 * 1024))
    server = hostile(healthy({b"INFO": info}))
    diagnosed(run("redis_info", server.url, timeout=5.0), "8 MiB")


def test_an_info_larger_than_any_redis_sends(hostile: Start) -> None:
    server = hostile(healthy({b"INFO": bulk(b"a:1\r\n" * 400_000)}))  # 2 MB
    diagnosed(run("redis_info", server.url, timeout=5.0), "INFO reply is 1 MiB", "few KB")


def test_info_answered_with_an_integer(hostile: Start) -> None:
    server = hostile(healthy({b"INFO": b":7\r\n"}))
    diagnosed(run("redis_info", server.url), "INFO", "unexpected form")


def test_the_acl_probe_classifies_too(hostile: Start) -> None:
    server = hostile(healthy({b"ACL": nested(100)}))
    diagnosed(run("acl_probe", server.url), "nests deeper")


def test_a_healthy_script_passes(hostile: Start) -> None:
    # The control: the same server, nothing hostile, is healthy for every server check.
    server = hostile(healthy())
    for kind in ("redis_ping", "redis_info", "acl_probe"):
        outcome = run(kind, server.url)
        assert outcome.status == "pass", dump(outcome)


def test_an_abandoned_check_stops_reading_by_itself(hostile: Start) -> None:
    """The engine stops waiting for a check at its time limit; the check's thread must not
    keep reading an endless, slow reply after that (today: 1 GB within a minute)."""
    server = hostile(healthy({b"PING": lambda: drip(every=0.05)}))
    done: list[Outcome] = []
    thread = threading.Thread(target=lambda: done.append(run("redis_ping", server.url,
                                                               timeout=TIMEOUT)), daemon=True)
    thread.start()
    thread.join(TIMEOUT + 1.0)
    assert not thread.is_alive(), "the check kept reading past its time limit"
    deadline = time.monotonic() + 1.0
    while server.served() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.served() == 0, "the connection stayed open"


def test_no_check_thread_outlives_a_whole_run(hostile: Start,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The whole triage, in process, against a server whose every reply to INFO and PING
    trickles forever: when the run is over, no check thread still reads and no connection to
    the server stays open (today they keep reading while the wizard waits at a prompt)."""
    from troubleshooter.cli import main

    server = hostile(healthy({b"INFO": lambda: drip(b"$100\r\n", 0.05),
                              b"CONFIG": lambda: drip(b"*2\r\n", 0.05)}))
    code = main(["run", "--url", server.url, "--non-interactive", "--timeout", "0.5"])
    capsys.readouterr()
    assert code == 1
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and (
            server.served() or any(t.name.startswith("check-") for t in threading.enumerate())):
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("check-")]
    assert server.served() == 0


@pytest.mark.parametrize("command, make", [
    (b"PING", lambda: endless),
    (b"INFO", lambda: bulk(b"x" * (50 * 1024 * 1024))),
    (b"PING", lambda: bulk(b"x" * (8 * 1024 * 1024 - 4096))),  # just within the budget
    (b"PING", lambda: b"*100000\r\n" + b"*0\r\n" * 100_000),  # cheap on the wire, not in memory
], ids=["endless", "info-50mb", "bulk-8mib", "100k-empty-arrays"])
def test_what_one_check_may_allocate_is_bounded(hostile: Start, command: bytes,
                                                make: Callable[[], Scripted]) -> None:
    import tracemalloc

    server = hostile(healthy({command: make()}))  # the server's reply is made untraced
    tracemalloc.start()
    try:
        run("redis_info" if command == b"INFO" else "redis_ping", server.url, timeout=5.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # A reply of at most 8 MiB, the buffer's copies of it, its parsed elements.
    assert peak < 48 * 1024 * 1024, f"{peak / 1024 / 1024:.1f} MB"
