"""The scan itself: blocks of bytes in, per-signature counts, times, files and samples out.

Only matching lines cost Python work: the matcher finds the literals in a whole block, and each
hit is turned into its line (deduplicated per signature), dated and counted. Memory is one block
plus a bounded carry (a line longer than MAX_LINE is scanned in pieces) and bounded evidence
(3 samples per signature, a per-minute timeline of at most MAX_MINUTES buckets).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from troubleshooter.checks.logs.matcher import Matcher, make_matcher
from troubleshooter.checks.logs.signatures import Signature
from troubleshooter.checks.logs.timestamps import line_time

MAX_LINE = 1024 * 1024
# Up to this many bytes in all, `auto` scans with Python: hyperscan costs ~10 ms to import and
# compile, what bytes.find spends on ~600 KB. Past it, hyperscan takes over (where installed).
SMALL_INPUT = 512 * 1024
SAMPLES = 3
SAMPLE_CHARS = 400
MAX_MINUTES = 20_000
LOOKBACK_LINES = 100  # a Python traceback is often 40-60 lines


# The nearest dated line above a block's end: its time and the lines between.
Tail = tuple[float, int] | None


class OutOfTime(Exception):
    """The scan's time limit passed."""


class Hit:
    """What one signature matched: exact count, first/last time, per-source counts, samples."""

    __slots__ = ("count", "first_seen", "last_seen", "untimed", "files", "samples", "minutes")

    def __init__(self) -> None:
        self.count = 0
        self.first_seen: float | None = None
        self.last_seen: float | None = None
        self.untimed = 0
        self.files: dict[str, int] = {}
        self.samples: list[str] = []
        self.minutes: dict[int, int] = {}

    def add(self, source: str, when: float | None, sample: str | None) -> None:
        """Count one line; `sample` is its text while samples are still wanted."""
        self.count += 1
        self.files[source] = self.files.get(source, 0) + 1
        if when is None:
            self.untimed += 1
        else:
            self.first_seen = when if self.first_seen is None else min(self.first_seen, when)
            self.last_seen = when if self.last_seen is None else max(self.last_seen, when)
            minute = int(when // 60)
            if minute in self.minutes or len(self.minutes) < MAX_MINUTES:
                self.minutes[minute] = self.minutes.get(minute, 0) + 1
        if sample is not None and len(self.samples) < SAMPLES:
            self.samples.append(sample)


class SourceStats:
    __slots__ = ("name", "bytes", "lines_matched", "window_start")

    def __init__(self, name: str, window_start: int = 0) -> None:
        self.name = name
        self.bytes = 0
        self.lines_matched = 0
        self.window_start = window_start  # the offset the window search started the scan at


class Scanner:
    """Feeds sources through one matcher; `hits[i]` belongs to `signatures[i]`."""

    def __init__(self, signatures: Sequence[Signature], *, since: float | None, now: float,
                 deadline: float | None = None, engine: str = "auto",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.signatures = list(signatures)
        self.since, self.now, self.deadline, self.clock = since, now, deadline, clock
        literals: dict[bytes, list[int]] = {}
        for i, sig in enumerate(self.signatures):
            for pattern in sig.patterns:
                owners = literals.setdefault(pattern.encode("utf-8"), [])
                if i not in owners:
                    owners.append(i)
        self._owners = list(literals.values())
        self.longest = max((len(p) for p in literals), default=1)
        self._literals = list(literals)
        self._auto = engine == "auto"
        self._scanned = 0
        # An engine asked for by name is made now: a missing wheel fails before any reading.
        self.matcher: Matcher | None = None if self._auto else make_matcher(self._literals,
                                                                            engine)
        self.hits = [Hit() for _ in self.signatures]
        self.sources: list[SourceStats] = []
        self.notes: list[str] = []
        self.bad_encoding: set[str] = set()

    @property
    def engine(self) -> str:
        """The engine that scanned ("none" before any byte was)."""
        return self.matcher.name if self.matcher is not None else "none"

    def _matcher(self, size: int) -> Matcher:
        """The matcher for the next `size` bytes (`auto`: Python while the input is small)."""
        self._scanned += size
        if self._auto and self._scanned > SMALL_INPUT:
            self._auto = False
            self.matcher = make_matcher(self._literals, "auto")
        elif self.matcher is None:
            self.matcher = make_matcher(self._literals, "python")
        return self.matcher

    def feed(self, name: str, blocks: Iterable[bytes], window_start: int = 0) -> None:
        """Scan one source's blocks, in order. OutOfTime when the deadline passes (what was
        scanned so far counts)."""
        stats = SourceStats(name, window_start=window_start)
        self.sources.append(stats)
        carry = b""
        cont_time: float | None = None  # the time of a long line cut into pieces
        cont_sigs: set[int] = set()  # the signatures already counted on that line
        tail: Tail = None  # the last dated line of the blocks before
        for data in blocks:
            stats.bytes += len(data)
            buf = carry + data if carry else data
            cut = buf.rfind(b"\n") + 1
            if cut == 0 and len(buf) < MAX_LINE:
                carry = buf
                continue
            if cut == 0:  # one line longer than MAX_LINE: scan it in pieces
                if not any(n.startswith(f"{name}: a line longer") for n in self.notes):
                    self.notes.append(f"{name}: a line longer than {MAX_LINE >> 20} MB was "
                                      "scanned in pieces")
                keep = self.longest - 1
                cont_time = self._scan(name, buf, len(buf), cont_time, stats, cont_sigs, tail)
                carry = buf[len(buf) - keep:] if keep else b""
                tail = (cont_time, 0) if cont_time is not None else None
                cont_time = cont_time if cont_time is not None else float("-inf")
                if cont_time == float("-inf"):
                    tail = None
            else:
                self._scan(name, buf, cut, cont_time, stats, cont_sigs, tail)
                tail = self._tail(buf, cut, tail)
                cont_time = None
                cont_sigs = set()
                carry = buf[cut:]
            if self.deadline is not None and self.clock() > self.deadline:
                raise OutOfTime(name)
        if carry:
            self._scan(name, carry + b"\n", len(carry) + 1, cont_time, stats, cont_sigs, tail)

    def _scan(self, name: str, buf: bytes, cut: int, cont_time: float | None,
              stats: SourceStats, cont_sigs: set[int], tail: Tail) -> float | None:
        """Count the matches in `buf[:cut]`; return the time of its last line's head.

        `cont_sigs`: when `buf` continues a long line, the signatures already counted on it
        (updated here: a line counts once per signature, however many pieces it came in)."""
        # signature -> start of the last line counted
        counted: dict[int, int] = {i: 0 for i in cont_sigs} if cont_time is not None else {}
        last_line = 0 if cont_time is not None and cont_sigs else -1
        for end, literal in self._matcher(cut).scan(buf):
            if end > cut:
                break
            start = buf.rfind(b"\n", 0, end) + 1
            owners = [i for i in self._owners[literal] if counted.get(i) != start]
            if not owners:
                continue
            stop = buf.find(b"\n", end, cut)
            line = buf[start: stop if stop >= 0 else cut]
            when = self._time(buf, start, line, cont_time, tail)
            if self.since is not None and when is not None and when < self.since:
                continue
            if start != last_line:  # a line matching two signatures is one line
                stats.lines_matched += 1
                last_line = start
            for i in owners:
                counted[i] = start
                if start == 0:
                    cont_sigs.add(i)
                hit = self.hits[i]
                hit.add(name, when, self._sample(name, line, end - start)
                        if len(hit.samples) < SAMPLES else None)
        if cont_time is None:
            last = buf.rfind(b"\n", 0, cut - 1) + 1
            return line_time(buf[last: last + 256], self.now)
        return cont_time

    def _time(self, buf: bytes, start: int, line: bytes, cont_time: float | None,
              tail: Tail) -> float | None:
        """The line's own time, else that of the nearest dated line at most LOOKBACK_LINES
        above it, in this block or the ones before (a traceback's lines carry the time of
        the record they belong to)."""
        when = line_time(line, self.now)
        if when is not None:
            return when
        if start == 0 and cont_time is not None:
            return None if cont_time == float("-inf") else cont_time
        return self._above(buf, start - 1, tail)[0]

    def _tail(self, buf: bytes, cut: int, tail: Tail) -> Tail:
        """The nearest dated line above the end of `buf[:cut]`, and how many lines lie
        between it and the end."""
        when, distance = self._above(buf, cut - 1, tail)
        return None if when is None else (when, distance)

    def _above(self, buf: bytes, end: int, tail: Tail) -> tuple[float | None, int]:
        """Walk up from the line ending at `end` (its newline's offset)."""
        for k in range(LOOKBACK_LINES):
            if end < 0:  # the block's start: continue in the blocks before
                if tail is not None and tail[1] + k < LOOKBACK_LINES:
                    return tail[0], tail[1] + k
                return None, 0
            begin = buf.rfind(b"\n", 0, end) + 1
            when = line_time(buf[begin:end], self.now)
            if when is not None:
                return when, k
            end = begin - 1
        return None, 0

    def _sample(self, name: str, line: bytes, at: int) -> str:
        """The line as text, cut around the match when it is long."""
        if len(line) > SAMPLE_CHARS:
            begin = max(at - SAMPLE_CHARS // 2, 0)
            line = line[begin: begin + SAMPLE_CHARS]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            if name not in self.bad_encoding:
                self.bad_encoding.add(name)
                self.notes.append(f"{name}: some lines are not UTF-8 (shown with \ufffd)")
        return text.rstrip("\r")
