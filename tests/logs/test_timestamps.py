"""Times read from log lines in the formats the issue lists, and `--since`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from troubleshooter.checks.logs.timestamps import line_time
from troubleshooter.checks.logs.window import SinceError, parse_since

LOCAL = datetime(2026, 11, 25, 10, 1, 2).timestamp()
UTC_T = datetime(2026, 11, 25, 10, 1, 2, tzinfo=UTC).timestamp()
NOW = LOCAL + 3600


@pytest.mark.parametrize(("line", "expected"), [
    (b"2026-11-25T10:01:02Z app: x", UTC_T),
    (b"2026-11-25T10:01:02.500+02:00 app: x", UTC_T - 7200 + 0.5),
    (b"2026-11-25T10:01:02+0000 host unit[1]: x", UTC_T),  # journalctl -o short-iso
    (b"2026-11-25T10:01:02.123456789Z x", UTC_T + 0.123456789),  # docker --timestamps
    (b"2026-11-25 10:01:02,123 ERROR x", LOCAL + 0.123),  # Python logging
    (b"[2026-11-25 10:01:02] x", LOCAL),
    (b"12345:M 25 Nov 2026 10:01:02.123 * Ready to accept connections", LOCAL + 0.123),
    (b"Nov 25 10:01:02 host app[1]: x", LOCAL),  # syslog: this year
    (b"1764064862.25 x", 1764064862.25),  # epoch seconds
    (b'{"level": "error", "time": "2026-11-25T10:01:02Z", "msg": "x"}', UTC_T),
    (b'{"msg": "x", "timestamp": 1764064862}', 1764064862.0),
    (b"12345:signal-handler (1764064862) Received SIGTERM scheduling shutdown...",
     1764064862.0),
    (b"10:01:02 Worker w1: cold shut down", LOCAL),  # rq: time of day, today
    (b"Traceback (most recent call last):", None),
    (b"2026-13-45 10:01:02 not a date", None),
    (b"", None),
])
def test_line_time(line: bytes, expected: float | None) -> None:
    got = line_time(line, NOW)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_a_time_of_day_ahead_of_now_is_yesterday() -> None:
    assert line_time(b"23:59:00 Worker w1: cold shut down", LOCAL) == pytest.approx(
        datetime(2026, 11, 24, 23, 59).timestamp())


def test_syslog_in_december_read_in_january_is_last_year() -> None:
    now = datetime(2027, 1, 2, 8, 0).timestamp()
    assert line_time(b"Dec 31 23:00:00 host x", now) == datetime(2026, 12, 31, 23).timestamp()


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", NOW - 1800), ("2h", NOW - 7200), ("1d", NOW - 86400), ("90s", NOW - 90),
    ("1.5h", NOW - 5400), ("2026-11-25T10:01:02", LOCAL), ("2026-11-25T10:01", LOCAL - 2),
    ("2026-11-25T10:01:02Z", UTC_T), ("2026-11-25", datetime(2026, 11, 25).timestamp()),
])
def test_since(text: str, expected: float) -> None:
    assert parse_since(text, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "30", "30 minutes", "-1h", "2026-02-30", "yesterday"])
def test_bad_since(text: str) -> None:
    with pytest.raises(SinceError, match="expected a duration such as 30m"):
        parse_since(text, NOW)
