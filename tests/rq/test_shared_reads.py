"""What a run's RQ checks read once and share: the queue listing (per database and key prefix)
and the server's INFO and CONFIG, which redis_info reads first (server/replies.py).

Real redis-server; commands are counted with INFO commandstats, reads with connector.Facts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.rq.test_queue_listing import calls, queues
from troubleshooter.checks.base import Budget
from troubleshooter.checks.rq.common import Session, queue_listing
from troubleshooter.checks.rq.keys import RqKeys
from troubleshooter.checks.rq.restart import data_lost, read_restart
from troubleshooter.checks.server.link import Link, open_link
from troubleshooter.checks.server.replies import server_config, server_info
from troubleshooter.cli import main
from troubleshooter.connector import Facts
from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[RedisServer]:  # a fresh server per test (conftest's is per module)
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def link(server: RedisServer) -> Iterator[Link]:
    """A link as a run's connector leases it: its server's replies kept in Facts."""
    opened = open_link(parse_target(server.url), Budget(2.0))
    opened.facts = Facts()
    yield opened
    opened.close()


def session(link: Link, prefix: str = "rq", db: int = 0) -> Session:
    return Session(link.client, time.monotonic() + 2, time.time(), RqKeys(prefix), link, db)


def test_a_runs_sessions_share_one_listing_per_database_and_prefix(
        conn: redis.Redis, link: Link) -> None:
    queues(conn, 4)
    queues(conn, 2, prefix="myapp")
    listings = [queue_listing(session(link)) for _ in range(3)]
    other = queue_listing(session(link, "myapp"))
    other_db = queue_listing(session(link, db=1))
    assert {len(x.names) for x in listings} == {4} and len(other.names) == 2
    assert other_db.names == listings[0].names  # the same connection, so the same data here...
    assert link.facts is not None and link.facts.reads == 3  # ...but a read of its own
    assert calls(conn)["sscan"] == 3


def test_the_restart_rules_reuse_the_runs_info_and_config(conn: redis.Redis,
                                                          link: Link) -> None:
    info = server_info(link)  # what redis_info reads first in a run
    server_config(link, info)
    before = calls(conn)
    rq = session(link)
    restart = read_restart(rq)
    # A fresh server that loaded nothing, with a trace of earlier work: data lost, and the
    # finding names the save policy from the run's CONFIG.
    lost = data_lost(rq, restart, "here", 300, ["worker w was born before Redis started"])
    assert lost is not None and lost.code == "server.data_lost", lost
    assert "(save '" in lost.message and "unknown" not in lost.message, lost.message
    after = calls(conn)
    assert after.get("config|get") == before.get("config|get")
    assert after.get("info", 0) == before.get("info", 0) + 1  # the `before` read only


def test_a_healthy_triage_lists_the_queues_once_and_reuses_the_runs_info(
        redis_server: RedisServer, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    queues(client, 2)
    client.config_resetstat()
    code = main(["run", "--url", redis_server.url, "--non-interactive", "--json", "--timeout",
                 "2", "--save", str(tmp_path / "s.json")])
    sent = calls(client)
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc["findings"]
    ran = {r["id"]: r["status"] for s in doc["steps"] for r in s["checks"]}
    assert [ran.get(i) for i in ("queues", "workers", "registries")] == ["pass"] * 3, ran
    # rq_queues, rq_workers and rq_registries: one SSCAN between them, no SMEMBERS, no SCARD
    # of rq:queues (the listing was complete); rq_workers' restart rules reuse redis_info's
    # INFO (INFO commandstats does not count itself).
    assert (sent.get("smembers", 0), sent.get("sscan", 0)) == (0, 1), sent
    assert sent["info"] == 1, sent
