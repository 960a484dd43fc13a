"""The window a log scan reads: `--since` out of a person's words, and times written as ISO 8601.

Apart from the log-line formats (timestamps): a triage with no log to read still states its
window, and loads only this.
"""

from __future__ import annotations

from datetime import UTC, datetime

from troubleshooter.lazyre import lazy_compile

_SINCE = lazy_compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SinceError(ValueError):
    """`--since` that is neither a duration nor a date."""


def parse_since(text: str, now: float) -> float:
    """Epoch seconds for `30m`, `2h`, `1d`, `90s`, or an ISO date / date-time (local unless
    it names a zone)."""
    value = text.strip()
    match = _SINCE.match(value)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    from troubleshooter.checks.logs.timestamps import parse_date  # dates read as in log lines

    when = parse_date(value)
    if when is not None:
        return when
    raise SinceError(f"--since {text!r}: expected a duration such as 30m, 2h or 1d (units s, m, "
                     "h, d) or a date such as 2026-11-25T10:00")


def iso(t: float | None) -> str | None:
    """An epoch time as local ISO 8601 with its offset (what people and JSON read)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).astimezone().isoformat(timespec="seconds")
