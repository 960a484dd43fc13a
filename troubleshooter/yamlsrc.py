"""YAML with line numbers: every key and list item's line, and duplicate keys caught.

PyYAML silently keeps the last of two equal keys; a playbook author must hear about it. This
module is what callers use (the document, its errors, `load`); `yamlparse` is the parser, and
PyYAML is imported only when a document has to be parsed: a shipped playbook's parse is kept in
a cache (`yamlcache`), and a healthy triage then never imports PyYAML (~25 ms).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from troubleshooter.frozen import record

if TYPE_CHECKING:
    from troubleshooter.yamlcache import ParseCache

Path = tuple[str | int, ...]


@record
class Source:
    """A loaded document: its data, the line of each path, and structural problems."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[tuple[Path, int, int]] = field(default_factory=list)
    nodes: int = 0

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(ValueError):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column = line, column


class YamlLimitError(YamlSyntaxError):
    """The document is too big, too deep or expands too far: refused, whatever parser read it
    (the limits are `yamlparse`'s)."""


def load(text: str, cache: ParseCache | None = None) -> Source:
    """Parse one YAML document; raise YamlSyntaxError with its line and column. With `cache`,
    a parse kept for this very text is used, and a new one is kept."""
    if cache is not None:
        kept = cache.get(text)
        if kept is not None:
            return kept
    from troubleshooter.yamlparse import parse

    source = parse(text)
    if cache is not None:
        cache.put(text, source)
    return source
