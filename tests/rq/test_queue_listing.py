"""rq:queues is read bounded: SSCAN up to QUEUE_LIMIT names, SCARD for the exact total when
there are more, and the checks say when what they looked at is a sample.

Real redis-server; the states are written in rq 3's key layout (thousands of queues through
rq would be slow and prove nothing more).
"""

from __future__ import annotations

import pytest
import redis

from tests.checks.test_rq import run
from troubleshooter.checks.rq.common import QUEUE_LIMIT
from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.slow

MORE = QUEUE_LIMIT + 500


def queues(conn: redis.Redis, count: int, prefix: str = "rq") -> list[str]:
    names = [f"tenant-{i:05d}" for i in range(count)]
    conn.sadd(f"{prefix}:queues", *(f"{prefix}:queue:{n}" for n in names))
    return names


def calls(conn: redis.Redis) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): int(v["calls"])
            for k, v in conn.info("commandstats").items()}


def test_more_queues_than_the_cap_are_a_sample_with_the_exact_total(
        server: RedisServer, conn: redis.Redis) -> None:
    every = set(queues(conn, MORE))
    conn.rpush("rq:queue:tenant-00007", "j1")
    note = f"read {QUEUE_LIMIT} of the {MORE} queue names in rq:queues (a bounded sample)"

    found = run("rq_queues", server.url)
    assert found.data["queue_total"] == MORE
    assert len(found.data["queues"]) == QUEUE_LIMIT
    assert {r["name"] for r in found.data["queues"]} <= every
    assert f"{QUEUE_LIMIT} RQ queue(s) (a sample of {MORE}) on" in found.summary
    assert any(line.startswith(note) for line in found.details), found.details

    registries = run("rq_registries", server.url)
    assert registries.data["queue_total"] == MORE
    assert len(registries.data["queues"]) == QUEUE_LIMIT
    assert f"in {QUEUE_LIMIT} queue(s) (a sample of {MORE}) on" in registries.summary
    assert any(line.startswith(note) for line in registries.details)

    workers = run("rq_workers", server.url)
    assert any(line.startswith(note) for line in workers.details), workers.details

    sent = calls(conn)
    assert "smembers" not in sent
    # Three checks outside a run (nothing shared): each counted the names it could not read,
    # in a round trip or two of SSCAN (COUNT is the cap).
    assert sent["scard"] >= 3 and sent["sscan"] <= 3 * 2, sent


def test_the_apps_queue_outside_the_sample_is_looked_up(server: RedisServer,
                                                        conn: redis.Redis) -> None:
    every = queues(conn, MORE)
    sampled = {r["name"] for r in run("rq_queues", server.url).data["queues"]}
    outside = next(n for n in every if n not in sampled)
    assert run("rq_queues", server.url, app_queue=outside).data["app_queue"] == {
        "name": outside, "known": True}
    assert run("rq_queues", server.url, app_queue="nowhere").data["app_queue"] == {
        "name": "nowhere", "known": False}


def test_a_listing_of_exactly_the_cap_is_complete(server: RedisServer,
                                                   conn: redis.Redis) -> None:
    names = queues(conn, QUEUE_LIMIT)
    found = run("rq_queues", server.url)
    assert found.data["queue_total"] == QUEUE_LIMIT
    assert [r["name"] for r in found.data["queues"]] == names
    assert "(a sample" not in found.summary
    assert not any("bounded sample" in line for line in found.details)


def test_members_that_are_not_queue_keys_are_passed_over(server: RedisServer,
                                                         conn: redis.Redis) -> None:
    names = queues(conn, 300)
    conn.sadd("rq:queues", "not-a-queue-key", "myapp:queue:other-prefix", "rq:queue")
    found = run("rq_queues", server.url)
    assert found.status == "pass" and found.data["queue_total"] == 300
    assert [r["name"] for r in found.data["queues"]] == names
    assert "scard" not in calls(conn)  # a complete SSCAN is its own exact count


def test_the_listing_follows_the_key_prefix(server: RedisServer, conn: redis.Redis) -> None:
    queues(conn, 3, prefix="myapp")
    queues(conn, 5)
    mine = run("rq_queues", server.url)
    theirs = run("rq_queues", server.url, environ={"RQ_KEY_PREFIX": "myapp"})
    assert (mine.data["queue_total"], mine.data["key_prefix"]) == (5, "rq")
    assert (theirs.data["queue_total"], theirs.data["key_prefix"]) == (3, "myapp")
