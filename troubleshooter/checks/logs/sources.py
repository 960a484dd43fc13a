"""Which logs to read: files, globs, directories and their rotated sets, stdin, journald, Docker.

`--log app.log` reads the whole rotated set (app.log, app.log.1, app.log.2.gz, app.log-20261125),
newest first; `--log -` stdin; `--log journal:UNIT` and `--log docker:NAME` the output of
`journalctl` / `docker logs` through the run's command runner (time limit, output cap).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from troubleshooter.checks.logs import reader
from troubleshooter.frozen import frozen

if TYPE_CHECKING:
    from troubleshooter.checks.logs.scan import Scanner
    from troubleshooter.cmdrunner import Commands

COMMAND_CAP = 64 * 1024 * 1024
# Patterns as text: `re` compiles them on first use (and keeps them).
_ROTATED = r"^(?P<base>.+?)(?:[.-](?P<n>\d+))?(?P<gz>\.gz)?$"


@frozen
class Source:
    kind: str  # file | stdin | journal | docker
    name: str  # the path, unit or container

    @property
    def label(self) -> str:
        return {"file": self.name, "stdin": "stdin"}.get(self.kind, f"{self.kind}:{self.name}")


def expand(specs: Iterable[str], notes: list[str]) -> list[Source]:
    """The sources named by `specs`, files grouped into rotated sets, newest first."""
    found: list[Source] = []
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        if spec == "-":
            found.append(Source("stdin", "-"))
        elif spec.startswith(("journal:", "docker:")):
            kind, _, name = spec.partition(":")
            what = "unit" if kind == "journal" else "container"
            if not name or name.startswith("-") or any(c.isspace() for c in name):
                # A leading dash would reach journalctl / docker as an option of theirs.
                notes.append(f"{spec}: not a {what} name: not read")
                continue
            found.append(Source(kind, name))
        elif glob.has_magic(spec):
            matches = [p for p in glob.glob(spec) if os.path.isfile(p)]
            if not matches:
                notes.append(f"{spec}: no file matches")
            found.extend(Source("file", p) for p in rotated_order(matches))
        elif os.path.isdir(spec):
            files = [os.path.join(spec, n) for n in sorted(os.listdir(spec))
                     if not n.startswith(".") and os.path.isfile(os.path.join(spec, n))]
            if not files:
                notes.append(f"{spec}: an empty directory")
            found.extend(Source("file", p) for p in rotated_order(files))
        else:
            found.extend(Source("file", p) for p in rotated_set(spec))
    return _unique(found)


def rotated_set(path: str) -> list[str]:
    """`path` and its rotations beside it, newest first (`path` itself even if missing: its
    absence is worth a note)."""
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return [path]
    siblings = [os.path.join(directory, n) for n in names
                if n != base and n.startswith(base) and _rotation(n, base) is not None]
    return [path, *sorted(siblings, key=lambda p: _rotation(os.path.basename(p), base) or 0)]


def rotated_order(paths: Iterable[str]) -> list[str]:
    """Files grouped by set (app.log with app.log.1...), sets by name, each newest first."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        match = re.match(_ROTATED, os.path.basename(path))
        base = match.group("base") if match else os.path.basename(path)
        groups.setdefault(os.path.join(os.path.dirname(path), base), []).append(path)
    ordered: list[str] = []
    for base in sorted(groups):
        name = os.path.basename(base)
        ordered += sorted(groups[base], key=lambda p: _rotation(os.path.basename(p), name) or 0)
    return ordered


def _rotation(name: str, base: str) -> float | None:
    """Sort key inside a set: the live file 0, `.1` 1, `.2.gz` 2, dated ones newest first."""
    if name == base:
        return 0
    if name == base + ".gz":
        return 0.5
    rest = name[len(base):]
    match = re.fullmatch(r"[.-](\d+)(\.gz)?", rest)
    if not match:
        return None
    number = int(match.group(1))
    return number if number < 100000 else 1e9 - number / 1e8  # a date: newer sorts first


def _unique(sources: list[Source]) -> list[Source]:
    seen: set[tuple[str, str]] = set()
    out = []
    for source in sources:
        key = (source.kind, os.path.realpath(source.name) if source.kind == "file" else source.name)
        if key not in seen:
            seen.add(key)
            out.append(source)
    return out


def read_file(scanner: Scanner, path: str, notes: list[str], since: float | None,
              now: float) -> str:
    """Scan one file; returns "read", "skipped" (a note says why) or "older" (before --since)."""
    try:
        opened = reader.open_regular(path)
    except reader.ReadProblem as exc:
        notes.append(str(exc))
        return "skipped"
    try:
        if since is not None and opened.mtime < since:
            return "older"
        if reader.is_gzip(opened):
            blocks = reader.gzip_blocks(opened, notes)
            first = next(blocks, b"")
            reader.check_text(path, first)
            scanner.feed(path, _chain(first, blocks))
            return "read"
        reader.check_text(path, opened.fh.read(reader.SNIFF))
        start = reader.seek_since(opened, since, now) if since is not None else 0
        scanner.feed(path, reader.plain_blocks(opened, start, notes), window_start=start)
        return "read"
    except reader.ReadProblem as exc:
        notes.append(str(exc))
        return "skipped"
    except OSError as exc:
        notes.append(f"{path}: read error: {exc.strerror or exc}; the lines before it counted")
        return "read"
    finally:
        opened.close()


def _chain(first: bytes, rest: Iterable[bytes]) -> Iterable[bytes]:
    if first:
        yield first
    yield from rest


def command_argv(source: Source, since: float | None) -> list[str]:
    """journalctl / docker logs, asked for the window only, every line with its time."""
    if source.kind == "journal":
        argv = ["journalctl", "--no-pager", "-o", "short-iso", "-u", source.name]
        return argv + (["--since", f"@{int(since)}"] if since is not None else [])
    argv = ["docker", "logs", "--timestamps"]
    if since is not None:
        stamp = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        argv += ["--since", stamp]
    return [*argv, "--", source.name]


def read_command(scanner: Scanner, source: Source, runner: Commands | None,
                 notes: list[str], since: float | None, time_left: Callable[[], float]) -> str:
    """Run journalctl / docker logs and scan what it printed."""
    argv = command_argv(source, since)
    if runner is None or runner.which(argv[0]) is None:
        notes.append(f"{source.label}: {argv[0]} is not installed here: not read")
        return "skipped"
    result = runner.run(argv, timeout=max(time_left(), 0.5), output_cap=COMMAND_CAP)
    if result.error or result.timed_out or result.returncode != 0:
        first = next((ln for ln in result.output.splitlines() if ln.strip()), "")
        notes.append(f"{source.label}: {result.describe()}" + (f": {first[:200]}" if first
                                                              else ""))
        if not result.timed_out or not result.output:
            return "skipped"  # its output is an error message, not the log
    if result.truncated:
        notes.append(f"{source.label}: output past {COMMAND_CAP >> 20} MB was not read; "
                     "narrow --since")
    scanner.feed(source.label, [result.output.encode("utf-8", errors="replace")])
    return "read"
