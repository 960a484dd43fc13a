"""`parse_time` reads rq's timestamps with one pattern and decides exactly as strptime over rq's
two layouts did (rq.utils.utcparse): compared on edge cases and random strings."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from troubleshooter.checks.rq.jobdata import TIMESTAMP_FORMAT, parse_time, utcformat


def by_strptime(value: str) -> datetime | None:
    if not value:
        return None
    for layout in (TIMESTAMP_FORMAT, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            continue
    return None


EDGES = ["2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05Z", "2024-13-02T03:04:05Z",
         "2024-02-30T03:04:05.1Z", "2024-1-2T3:4:5Z", "2024-01-02T03:04:05.1234567Z",
         "2024-01-02T03:04:05.Z", "", "2024-01-02 03:04:05Z", "0000-01-01T00:00:00Z",
         "9999-12-31T23:59:59.999999Z", "2024-01-02T24:00:00Z", "2024-01-02T03:04:60Z",
         "２０２４-01-02T03:04:05Z", "2024-01-02T03:04:05.12Z ", "2024-01-02T03:04:05.5Z"]


@pytest.mark.parametrize("value", EDGES)
def test_edge_cases_as_strptime(value: str) -> None:
    assert parse_time(value) == by_strptime(value)


def test_random_strings_and_rq_s_own_as_strptime() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        noise = "".join(rng.choice("0123456789-:.TZ ") for _ in range(rng.randint(15, 28)))
        moment = datetime(rng.randint(1000, 9999), rng.randint(1, 12), rng.randint(1, 28),
                          rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                          rng.randint(0, 999999), tzinfo=UTC)
        for value in (noise, utcformat(moment), moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      moment.strftime("%Y-%m-%dT%H:%M:%S.") + str(rng.randint(0, 99999)) + "Z"):
            assert parse_time(value) == by_strptime(value), value
        assert parse_time(utcformat(moment)) == moment
