"""Finding many literals in a big buffer at once.

Hyperscan (the `fast` extra) scans a buffer for every literal in one pass, as fast as `grep -F`.
Without it, the pure-Python engine runs each distinct literal's `bytes.find` (C, memchr-backed)
over the buffer: the literal is its own prefilter, so nothing slower than a substring search
ever touches bytes that match nothing. Signatures are literals, never regular expressions:
a playbook cannot hand the scanner a pattern that takes exponential time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

ENGINES = ("auto", "hyperscan", "python")


class EngineUnavailable(Exception):
    """The engine asked for cannot run here (its wheel is not installed)."""


class Matcher(Protocol):
    name: str

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """(end offset, literal index) of every occurrence, in order of end offset."""


class PythonMatcher:
    """`bytes.find` per distinct literal; always available."""

    name = "python"

    def __init__(self, literals: Sequence[bytes]) -> None:
        self.literals = list(literals)

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for index, literal in enumerate(self.literals):
            find, size = data.find, len(literal)
            at = find(literal)
            while at >= 0:
                found.append((at + size, index))
                at = find(literal, at + size)
        found.sort()
        return found


class HyperscanMatcher:
    """One hyperscan block-mode database holding every literal."""

    name = "hyperscan"

    def __init__(self, literals: Sequence[bytes]) -> None:
        try:
            import hyperscan
        except ImportError as exc:  # the wheel is missing on this platform
            raise EngineUnavailable(f"hyperscan is not installed ({exc})") from None
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(expressions=list(literals), ids=list(range(len(literals))),
                         elements=len(literals), flags=0, literal=True)

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(ident: int, start: int, end: int, flags: int, context: Any) -> None:
            append((end, ident))

        self._db.scan(data, match_event_handler=on_match)
        found.sort()
        return found


def make_matcher(literals: Sequence[bytes], engine: str = "auto") -> Matcher:
    """The engine asked for; `auto` is hyperscan where installed, else Python."""
    if engine == "python":
        return PythonMatcher(literals)
    try:
        return HyperscanMatcher(literals)
    except EngineUnavailable:
        if engine == "hyperscan":
            raise
        return PythonMatcher(literals)
