"""What a healthy triage pays for log_scan: no scanner, catalogue or hyperscan without a log,
Python (not hyperscan's compile) for a small one, and Redis's `logfile` from the run's shared
CONFIG GET, not a read of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from troubleshooter.checks.logs import kind
from troubleshooter.checks.logs import scan as scan_module
from troubleshooter.checks.logs.signatures import catalogue
from troubleshooter.checks.logs.verdict import outcome
from troubleshooter.lab.server import RedisServer

from .conftest import RESOURCES, scan

FIXTURES = sorted(RESOURCES.glob("real/*.log")) + sorted(RESOURCES.glob("src/*.log"))

PLAYBOOK = """\
id: t
title: T
steps:
  - id: server
    title: Server
    actions:
      - {id: ping, check: redis_ping}
      - {id: info, check: redis_info}
  - id: logs
    title: Logs
    actions:
      - {id: scan, check: log_scan, with: {sources: %s}}
"""

# Runs the playbook against argv[1] in a fresh interpreter; prints the scan and what loaded.
RUN = """\
import json, sys
from troubleshooter import playbook
from troubleshooter.checks import CHECKS
from troubleshooter.engine import Engine, RunOptions
from troubleshooter.target import parse_target
from troubleshooter.events import Nobody
pb = playbook.loads(sys.argv[2], "t.yaml")
session = Engine(pb, parse_target(sys.argv[1]), Nobody(), RunOptions(timeout=2.0), CHECKS,
                 environ={}).run()
scan = next(c for s in session.steps for c in s.checks if c.id == "scan")
print(json.dumps({"status": scan.status, "data": dict(scan.data), "details": scan.details,
                  "loaded": sorted(m for m in sys.modules if m == "hyperscan"
                                   or m.startswith("troubleshooter.checks.logs."))}))
"""


def _run(url: str, sources: list[str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", RUN, url, PLAYBOOK % json.dumps(sources)],
                         capture_output=True, text=True, timeout=60, check=True)
    doc: dict[str, object] = json.loads(out.stdout)
    return doc


def test_codes_are_the_catalogue_s() -> None:
    assert kind.CODES == tuple(sig.code for sig in catalogue())


def test_without_a_source_nothing_of_the_scanner_is_loaded() -> None:
    with RedisServer("--logfile", "") as server:
        doc = _run(server.url, [])
    assert doc["status"] == "skipped"
    assert doc["loaded"] == ["troubleshooter.checks.logs.kind",
                             "troubleshooter.checks.logs.window"]
    assert doc["details"] == ["the Redis log: Redis logs to its standard output (read it with "
                              "--log journal:UNIT or --log docker:NAME)"]


def test_no_source_is_what_a_scan_of_nothing_gives() -> None:
    since = time.time() - 3600
    fast = kind.no_source(since, ["a note"])
    scanned = outcome(scan([], since=since, notes=["a note"]), {}, "ping")
    assert fast == scanned


def test_sources_given_but_unreadable_say_why(tmp_path: Path) -> None:
    scanned = outcome(scan([tmp_path / "nope.log", Path("/dev/zero")]), {}, "ping")
    assert scanned.status == "skipped"
    assert scanned.summary == (f"no log source could be read: {tmp_path}/nope.log: cannot read "
                               "the log: No such file or directory; /dev/zero: cannot read the "
                               "log: it is a device, not a regular file")


def test_a_small_log_is_scanned_without_hyperscan(tmp_path: Path) -> None:
    server = RedisServer()  # it logs to a file: the log of a server that just started
    with server:
        doc = _run(server.url, [])
    assert doc["status"] in ("pass", "warn")  # a container may warn of overcommit_memory
    assert doc["data"]["read"] == [str(server.logfile)]  # type: ignore[index]
    assert doc["data"]["engine"] == "python"  # type: ignore[index]
    assert "hyperscan" not in doc["loaded"]  # type: ignore[operator]


def test_past_the_small_input_auto_switches_and_finds_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hyperscan")
    python = scan(FIXTURES, "python")
    monkeypatch.setattr(scan_module, "SMALL_INPUT", 2000)  # a few fixtures in, hyperscan
    auto = scan(FIXTURES, "auto")
    assert auto.engine == "hyperscan" and python.bytes > 2000
    assert auto.matches == python.matches


def test_the_redis_log_comes_from_the_run_s_config_read() -> None:
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        client.ping()
        client.config_resetstat()
        doc = _run(server.url, [])
        stats = client.info("commandstats")
    assert doc["data"]["read"] == [str(server.logfile)]  # type: ignore[index]
    # redis_info's one CONFIG GET and the run's one handshake: log_scan asked for neither.
    assert stats["cmdstat_config|get"]["calls"] == 1
    assert stats["cmdstat_hello"]["calls"] == 1
