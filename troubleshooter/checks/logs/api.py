"""One log scan from sources to a result: what the check kind and `troubleshooter logs` share."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from troubleshooter.checks.logs import reader
from troubleshooter.checks.logs import sources as src
from troubleshooter.checks.logs.scan import Hit, OutOfTime, Scanner
from troubleshooter.checks.logs.window import iso
from troubleshooter.frozen import frozen
from troubleshooter.redaction import Redactor, mask_assignments

if TYPE_CHECKING:
    from troubleshooter.checks.logs.signatures import Signature
    from troubleshooter.cmdrunner import Commands

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# URLs with passwords are masked in every sample, whatever redactor the caller hands in.
_URLS = Redactor()


@frozen
class Match:
    """One signature's evidence over every source (samples already redacted)."""

    signature: Signature
    count: int
    first_seen: float | None
    last_seen: float | None
    files: Mapping[str, int]
    samples: tuple[str, ...]
    minutes: Mapping[int, int]
    untimed: int = 0

    def evidence(self) -> dict[str, Any]:
        return {"count": self.count, "first_seen": iso(self.first_seen),
                "last_seen": iso(self.last_seen), "files": dict(self.files),
                "samples": list(self.samples)}


@frozen
class ScanResult:
    matches: tuple[Match, ...]
    read: tuple[str, ...]  # sources scanned (labels)
    notes: tuple[str, ...]
    since: float | None
    engine: str
    complete: bool = True
    older: tuple[str, ...] = ()  # files last written before the window
    skipped: tuple[str, ...] = ()
    bytes: int = 0
    elapsed_s: float = 0.0
    lines: int = 0  # lines that matched any signature

    @property
    def found_any_source(self) -> bool:
        return bool(self.read or self.older)


def scan_logs(specs: Sequence[str], signatures: Sequence[Signature], *, since: float | None,
              now: float, time_limit: float, runner: Commands | None = None,
              stdin: BinaryIO | None = None, engine: str = "auto",
              redact: Callable[[str], str] = lambda text: text,
              clock: Callable[[], float] = time.monotonic,
              notes: Sequence[str] = ()) -> ScanResult:
    """Scan every source named by `specs` for `signatures` within `time_limit` seconds."""
    start = clock()
    deadline = start + time_limit
    all_notes = list(notes)
    scanner = Scanner(signatures, since=since, now=now, deadline=deadline, engine=engine,
                      clock=clock)
    read: list[str] = []
    older: list[str] = []
    skipped: list[str] = []
    complete = True
    sources = src.expand(specs, all_notes)
    for i, source in enumerate(sources):
        try:
            status = _read(scanner, source, all_notes, since, now, runner, stdin,
                           lambda: deadline - clock())
        except OutOfTime:
            complete = False
            rest = len(sources) - i - 1
            all_notes.append(f"stopped at the time limit ({time_limit:g} s) while reading "
                             f"{source.label}" + (f"; {rest} more source(s) not read"
                                                  if rest else ""))
            read.append(source.label)
            break
        {"read": read, "older": older}.get(status, skipped).append(source.label)
    all_notes += scanner.notes
    matches = [_match(sig, hit, redact) for sig, hit in zip(scanner.signatures, scanner.hits,
                                                           strict=True) if hit.count]
    matches.sort(key=lambda m: (SEVERITY_ORDER.get(m.signature.severity, 3), -m.count))
    return ScanResult(tuple(matches), tuple(read), tuple(redact(n) for n in all_notes), since,
                      scanner.engine, complete, tuple(older), tuple(skipped),
                      sum(s.bytes for s in scanner.sources), clock() - start,
                      sum(s.lines_matched for s in scanner.sources))


def _read(scanner: Scanner, source: src.Source, notes: list[str], since: float | None,
          now: float, runner: Commands | None, stdin: BinaryIO | None,
          time_left: Callable[[], float]) -> str:
    if source.kind == "file":
        return src.read_file(scanner, source.name, notes, since, now)
    if source.kind == "stdin":
        if stdin is None:
            notes.append("-: stdin is read by `troubleshooter logs -` and non-interactive "
                         "runs only: not read")
            return "skipped"
        try:
            fd = stdin.fileno()
        except (AttributeError, OSError, ValueError):  # not a file: an in-memory stream
            scanner.feed("stdin", reader.stream_blocks(stdin.read))
        else:
            scanner.feed("stdin", reader.fd_blocks(fd, time_left))
        return "read"
    return src.read_command(scanner, source, runner, notes, since, time_left)


def _match(sig: Signature, hit: Hit, redact: Callable[[str], str]) -> Match:
    return Match(sig, hit.count, hit.first_seen, hit.last_seen, dict(hit.files),
                 tuple(redact(_URLS.text(mask_assignments(s))) for s in hit.samples),
                 dict(hit.minutes), hit.untimed)


def to_json(result: ScanResult) -> dict[str, Any]:
    """The `troubleshooter logs --json` document (exact values, secrets masked)."""
    return {
        "since": iso(result.since),
        "engine": result.engine,
        "complete": result.complete,
        "sources": {"read": list(result.read), "older_than_window": list(result.older),
                    "skipped": list(result.skipped)},
        "bytes_scanned": result.bytes,
        "lines_matched": result.lines,
        "elapsed_s": round(result.elapsed_s, 3),
        "notes": list(result.notes),
        "findings": [
            {"code": m.signature.code, "severity": m.signature.severity,
             "message": message(m), "corroborates": m.signature.corroborates or None,
             "evidence": m.evidence()}
            for m in result.matches
        ],
    }


def message(m: Match) -> str:
    """One line: what, how many, where."""
    files = ", ".join(list(m.files)[:3]) + (f" and {len(m.files) - 3} more"
                                            if len(m.files) > 3 else "")
    lines = "line" if m.count == 1 else "lines"
    return f"{m.signature.title}: {m.count:,} {lines} in {files}"
