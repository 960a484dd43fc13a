"""A kept parse of the YAML files this tool ships: PyYAML's import and parse cost a healthy
triage ~30 ms (a tenth of it); reading the kept parse costs under 1 ms.

What is kept, and when it is believed:

- only the documents a caller chooses (the shipped playbooks: they hold no secret, and every run
  reads one), and only when their parse is plain JSON data (strings, integers, finite floats,
  booleans, null, lists and mappings with string keys): a date or binary value is parsed again;
- one file per text, named by the SHA-256 of the text and of this format's version, so a file
  can only ever stand for the very text it was made from (an edited playbook is another name);
- in `$XDG_CACHE_HOME/troubleshooter/yaml` (default `~/.cache`), each file written as sessions
  are (`store.write_private`: whole, mode 0600, in directories made 0700), at most KEEP files;
- read only if it is a regular file (not a symlink) owned by this user, writable by nobody else,
  at most MAX_BYTES, and of the expected shape; anything else is ignored and the text parsed.

It is JSON read by `json.loads`: data, never code. Nothing here raises: a cache that cannot be
read or written is the same as no cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from troubleshooter.yamlsrc import Source

FORMAT = "troubleshooter.yamlcache/1"
MAX_BYTES = 4 * 1024 * 1024
KEEP = 32


def default_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "troubleshooter" / "yaml"


def shipped_cache(environ: Mapping[str, str]) -> ParseCache | None:
    """The cache for the files this tool ships (`TROUBLESHOOTER_NO_CACHE=1`: none)."""
    return None if environ.get("TROUBLESHOOTER_NO_CACHE") else ParseCache(default_dir(environ))


class ParseCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(f"{FORMAT}\n{text}".encode("utf-8", "surrogatepass"))
        return self.directory / f"{digest.hexdigest()}.json"

    def get(self, text: str) -> Source | None:
        try:
            raw = _read_own(self._path(text))
            return None if raw is None else _source(json.loads(raw))
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return None

    def put(self, text: str, source: Source) -> None:
        if not _plain(source.data):
            return
        document = {"format": FORMAT, "data": source.data, "nodes": source.nodes,
                    "lines": [[list(path), line] for path, line in source.lines.items()],
                    "duplicates": [[list(path), line, first]
                                   for path, line, first in source.duplicates]}
        try:
            raw = json.dumps(document, ensure_ascii=False, allow_nan=False).encode()
            if len(raw) <= MAX_BYTES:
                from troubleshooter.store import write_private  # atomic, 0600 in 0700

                write_private(self._path(text), raw, durable=False)
                _prune(self.directory)
        except (OSError, ValueError, RecursionError):
            pass


def _read_own(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file of ours that nobody else can write."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid()
                or info.st_mode & 0o022 or info.st_size > MAX_BYTES):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def _prune(directory: Path) -> None:
    """Keep the KEEP most recently written files."""
    kept = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in kept[KEEP:]:
        path.unlink(missing_ok=True)


def _plain(value: Any, depth: int = 0) -> bool:
    """True when JSON gives `value` back exactly (no tuples, dates, bytes, NaN or int keys)."""
    if depth > 200:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if type(value) is list:
        return all(_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _path(items: Any) -> tuple[str | int, ...]:
    if not isinstance(items, list) or not all(
            isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
        raise ValueError("not a path")
    return tuple(items)


def _line(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("not a line number")
    return value


def _source(document: Any) -> Source:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not a kept parse")
    nodes = document["nodes"]
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 0:
        raise ValueError("not a node count")
    source = Source(document["data"], nodes=nodes)
    for path, line in document["lines"]:
        source.lines[_path(path)] = _line(line)
    for path, line, first in document["duplicates"]:
        source.duplicates.append((_path(path), _line(line), _line(first)))
    return source
