"""Whitespace and invisible characters at the ends of a Redis URL: strip and warn, or refuse.

A REDIS_URL pasted into a platform's settings often carries a trailing newline or U+2028.
redis-py (and so `rq worker`) reads many of those URLs exactly as if the character were not
there; refusing them would skip every check while the real outage goes unseen. A URL is refused
only when redis-py would read it differently from the stripped one (or not at all).
"""

from __future__ import annotations

import unicodedata

_INVISIBLE = {"Cf", "Zl", "Zp", "Cc", "Zs"}
_NAMES = {"\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in _INVISIBLE


def strip_ends(url: str) -> tuple[str, str]:
    """(the URL to use, a warning or ""): the stripped URL when redis-py reads both alike,
    else the URL unchanged (its problem is then reported as before)."""
    start, end = 0, len(url)
    while start < end and _invisible(url[start]):
        start += 1
    while end > start and _invisible(url[end - 1]):
        end -= 1
    stripped = url[start:end]
    if stripped == url or not stripped:
        return url, ""
    if not _redis_py_reads_alike(url, stripped):
        return url, ""
    cut = url[:start] + url[end:]
    names = ", ".join(dict.fromkeys(f"U+{ord(ch):04X} ({_name(ch)})" for ch in cut))
    where = ("start and end" if start and end < len(url) else "start" if start else "end")
    return stripped, (f"the URL has {len(cut)} invisible or whitespace character(s) at its "
                      f"{where}: {names}; redis-py and RQ ignore them, so the checks go on "
                      "with the URL stripped; remove them from the setting")


def _name(ch: str) -> str:
    return _NAMES.get(ch) or str(unicodedata.name(ch, "a control character"))


def _redis_py_reads_alike(url: str, stripped: str) -> bool:
    from redis.connection import parse_url

    try:
        return bool(parse_url(url) == parse_url(stripped))  # type: ignore[no-untyped-call]
    except ValueError:
        return False
