"""Reading a time out of a log line (and a `--since` date, for window.parse_since).

Formats, tried in this order at the head of the line (the first 200 bytes):
ISO 8601 (`2026-11-25T10:01:02.123Z`, `+02:00`, `+0200`; journald short-iso, docker
--timestamps), Python logging (`2026-11-25 10:01:02,123`), Redis (`12345:M 25 Nov 2026
10:01:02.123`; its signal handler's `123:signal-handler (1764064862)`), syslog (`Nov 25
10:01:02`, no year: the latest such time not in the future), epoch seconds (`1764064862.123`),
JSON `"timestamp"` / `"time"` / `"ts"` fields anywhere in the first 4 KB, and rq's default
`10:01:02` (time of day: today, or yesterday if that is ahead).
Times without a zone are local time, as the program that wrote them meant.
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from datetime import datetime, timedelta

from troubleshooter.frozen import frozen
from troubleshooter.lazyre import lazy_compile

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_HEAD = 200
_JSON_SPAN = 4096

_ISO = lazy_compile(
    rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\s?(Z|[+-]\d\d:?\d\d)?")


@frozen
class _Formats:
    """The line formats after ISO 8601, compiled by the first line read (a `--since` date
    needs only _ISO)."""

    redis: re.Pattern[bytes]
    syslog: re.Pattern[bytes]
    signal: re.Pattern[bytes]  # Redis's log from a signal handler
    epoch: re.Pattern[bytes]
    json: re.Pattern[bytes]
    clock: re.Pattern[bytes]


@functools.cache
def _formats() -> _Formats:
    return _Formats(
        re.compile(rb"^\s*\d+:[A-Z] (\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d)"
                   rb"(?:\.(\d{1,6}))?"),
        re.compile(rb"^\s*([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)"),
        re.compile(rb"^\s*\d+:signal-handler \((\d{10})\)"),
        re.compile(rb"^\s*\[?(1\d{9})(?:\.(\d{1,9}))?\b"),
        re.compile(rb'"(?:timestamp|time|ts|@timestamp)"\s*:\s*("[^"]{8,40}"|\d{10}(?:\.\d+)?)'),
        re.compile(rb"^\s*(\d\d):(\d\d):(\d\d)(?:[.,]\d+)? "),
    )


def parse_date(value: str) -> float | None:
    """A `--since` date (window.parse_since): an ISO 8601 date-time, seconds optional, or a date
    (its midnight); local unless it names a zone. None when it is neither."""
    iso = _ISO.fullmatch(value.encode()) or _ISO.fullmatch((value + ":00").encode())
    when = _iso_time(iso) if iso else None
    if when is None and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        when = _iso_time(_ISO.fullmatch((value + "T00:00:00").encode()))  # type: ignore[arg-type]
    return when


def line_time(line: bytes, now: float) -> float | None:
    """The time a log line was written, or None when it carries none we know."""
    head = line[:_HEAD]
    match = _ISO.search(head)
    if match and match.start() < 60:
        return _iso_time(match)
    formats = _formats()
    match = formats.redis.match(head)
    if match:
        return _redis_time(match)
    match = formats.syslog.match(head)
    if match:
        return _syslog_time(match, now)
    match = formats.signal.match(head)
    if match:
        return float(match.group(1))
    match = formats.epoch.match(head)
    if match:
        return float(match.group(1) + b"." + (match.group(2) or b"0"))
    if b'"' in head:
        match = formats.json.search(line[:_JSON_SPAN])
        if match:
            return _json_time(match.group(1))
    match = formats.clock.match(head)
    if match:
        return _clock_time(match, now)
    return None


def _iso_time(match: re.Match[bytes]) -> float | None:
    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    frac = float(b"0." + match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    try:
        if zone is None:
            return _local(y, mo, d, h, mi, s) + frac
        base = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) + frac
    except (ValueError, OverflowError):
        return None
    if zone == b"Z":
        return base
    sign = -1 if zone[:1] == b"-" else 1
    digits = zone[1:].replace(b":", b"")
    return base - sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)


def _local(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    return datetime(y, mo, d, h, mi, s).timestamp()


def _redis_time(match: re.Match[bytes]) -> float | None:
    month = MONTHS.get(match.group(2).decode().lower())
    if month is None:
        return None
    frac = float(b"0." + match.group(7)) if match.group(7) else 0.0
    try:
        return _local(int(match.group(3)), month, int(match.group(1)), int(match.group(4)),
                      int(match.group(5)), int(match.group(6))) + frac
    except ValueError:
        return None


def _syslog_time(match: re.Match[bytes], now: float) -> float | None:
    month = MONTHS.get(match.group(1).decode().lower())
    if month is None:
        return None
    year = datetime.fromtimestamp(now).year
    parts = (month, int(match.group(2)), int(match.group(3)), int(match.group(4)),
             int(match.group(5)))
    try:
        t = _local(year, *parts)
        # No year in syslog: a December line read in January belongs to last year.
        return t if t <= now + 86400 else _local(year - 1, *parts)
    except ValueError:
        return None


def _json_time(value: bytes) -> float | None:
    if value[:1] != b'"':
        return float(value)
    match = _ISO.match(value[1:-1])
    return _iso_time(match) if match else None


def _clock_time(match: re.Match[bytes], now: float) -> float:
    today = datetime.fromtimestamp(now).replace(hour=int(match.group(1)),
                                                minute=int(match.group(2)),
                                                second=int(match.group(3)), microsecond=0)
    t = today.timestamp()
    return t if t <= now + 60 else (today - timedelta(days=1)).timestamp()


def clock(t: float | None) -> str:
    """`10:01:02` for today, `Nov 25 10:01:02` otherwise (what a table cell shows)."""
    if t is None:
        return "time unknown"
    when = datetime.fromtimestamp(t)
    if when.date() == datetime.fromtimestamp(time.time()).date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%b %d %H:%M:%S")
