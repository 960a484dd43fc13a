"""Whatever the block boundaries and the engine, the scan counts what a line-by-line reading
counts: one per line and signature, windowed by each line's time."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from troubleshooter.checks.logs import scan as scan_module
from troubleshooter.checks.logs.scan import LOOKBACK_LINES, Scanner
from troubleshooter.checks.logs.signatures import Signature

SIGS = [Signature("a", "A", ("Error 111", "refused!")), Signature("b", "B", ("OOM cmd",)),
        Signature("c", "C", ("refused!", "xyzzy"))]
PIECES = ["Error 111", "\n\n\n\n\n\n\n\n", "refused!", "OOM cmd", "xyzzy", "Error 11", "OOM",
          "\n", "\n", " ",
          "2026-11-25 10:00:00 ", "2026-11-25 11:00:00 ", "filler text ", "é", "\x00"]


def reference(data: bytes, since: float | None) -> dict[str, int]:
    from troubleshooter.checks.logs.timestamps import line_time

    found = {s.id: 0 for s in SIGS}
    lines = data.split(b"\n")
    times = [line_time(line, 0.0) for line in lines]
    for n, line in enumerate(lines):
        # Its own time, else the nearest dated line at most LOOKBACK_LINES above it.
        above = [t for t in times[max(n - LOOKBACK_LINES, 0): n] if t is not None]
        when = times[n] if times[n] is not None else (above[-1] if above else None)
        if since is not None and when is not None and when < since:
            continue
        for s in SIGS:
            if any(p.encode() in line for p in s.patterns):
                found[s.id] += 1
    return {k: v for k, v in found.items() if v}


@settings(max_examples=300, deadline=None)
@example(["2026-11-25 10:00:00 ", "\n", "refused!", "\n"], [21], "python", 0.0)
@given(st.lists(st.sampled_from(PIECES), max_size=80), st.lists(st.integers(1, 40), max_size=12),
       st.sampled_from(["hyperscan", "python"]), st.sampled_from([None, 0.0]))
def test_any_blocks_any_engine_count_like_reading_line_by_line(
        pieces: list[str], cuts: list[int], engine: str, window: float | None) -> None:
    from datetime import datetime

    data = "".join(pieces).encode()
    since = None if window is None else datetime(2026, 11, 25, 10, 30).timestamp()
    blocks, at = [], 0
    for cut in cuts:
        blocks.append(data[at: at + cut])
        at += cut
    blocks.append(data[at:])
    scanner = Scanner(SIGS, since=since, now=0.0, engine=engine)
    scanner.feed("t", [b for b in blocks if b])
    got = {s.id: h.count for s, h in zip(SIGS, scanner.hits, strict=True) if h.count}
    assert got == reference(data, since)


def test_long_lines_in_pieces_count_like_reading_line_by_line(monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setattr(scan_module, "MAX_LINE", 16)  # pieces of a few bytes: every boundary case
    try:
        data = b"x refused! yy Error 111 zzzz OOM cmd qqqqqqqqqqqqqqqqqqqq refused!\nOOM cmd\n"
        for engine in ("hyperscan", "python"):
            for size in (1, 3, 7, 16, 100):
                scanner = Scanner(SIGS, since=None, now=0.0, engine=engine)
                scanner.feed("t", [data[i: i + size] for i in range(0, len(data), size)])
                assert [h.count for h in scanner.hits] == [1, 2, 1], (engine, size)
    finally:
        mp.undo()
