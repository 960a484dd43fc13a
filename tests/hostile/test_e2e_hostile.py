"""The installed command, whole triage, against a server that breaks the protocol: exit 1 and a
one-line diagnosis, in time, never "the check crashed" and never exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.hostile.server import HostileServer, Script, Scripted, endless, healthy, nested

pytestmark = pytest.mark.timeout(60)

COMMAND = str(Path(sys.executable).with_name("troubleshooter"))
TIMEOUT = 1.0

CASES: dict[str, dict[bytes, Scripted]] = {
    "hello-integer": {b"HELLO": b":1\r\n"},
    "terabyte-bulk": {b"PING": b"$1099511627776\r\n"},
    "deep-nesting": {b"PING": nested(10_000)},
    "endless-info": {b"INFO": lambda: endless(first=b"$8000000\r\n")},
    "huge-array": {b"HELLO": b"%2147483648\r\n"},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_protocol_break_is_the_diagnosis(hostile: Callable[[Script], HostileServer],
                                           case: str) -> None:
    server = hostile(healthy(CASES[case]))
    start = time.monotonic()
    done = subprocess.run([COMMAND, "--url", server.url, "--non-interactive", "--json",
                           "--timeout", str(TIMEOUT)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL, env=dict(os.environ))
    elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    diagnosis = doc["diagnosis"]
    # resp_probe's own PING sees a broken PING reply first (not Redis: step 1); redis-py's
    # client sees the rest (a protocol break: step 2).
    assert (diagnosis["code"], "breaks the Redis protocol" in diagnosis["summary"]) in (
        ("server.protocol_error", True), ("network.not_redis", False))
    assert "\n" not in diagnosis["summary"]
    assert "crashed" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    # Every check is bounded by --timeout: the whole triage too, whatever the server sends.
    assert elapsed < 10, f"{elapsed:.1f} s"


def test_the_endless_info_reply_is_read_no_further(hostile: Callable[[Script], HostileServer]
                                                   ) -> None:
    server = hostile(healthy({b"INFO": endless}))
    done = subprocess.run([COMMAND, "--url", server.url, "--non-interactive", "--json",
                           "--timeout", str(TIMEOUT)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL, env=dict(os.environ))
    assert done.returncode == 1
    assert json.loads(done.stdout)["diagnosis"]["code"] == "server.protocol_error"
    # What the client read, plus what the kernel buffers on both sides: far from a gigabyte.
    assert server.sent < 64 * 1024 * 1024
