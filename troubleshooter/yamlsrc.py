"""YAML with line numbers: every key and list item's line, and duplicate keys caught.

PyYAML silently keeps the last of two equal keys; a playbook author must hear about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
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


def load(text: str) -> Source:
    """Parse one YAML document; raise YamlSyntaxError with its line and column."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: the reader checks the text
        before = text[:exc.position]
        raise YamlSyntaxError(before.count("\n") + 1, exc.position - before.rfind("\n"),
                              f"character #x{exc.character:04X} is not allowed in YAML "
                              "(remove it; it is usually pasted by accident)") from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, 1, str(exc).splitlines()[0]) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        mark = loader.get_mark()
        raise YamlSyntaxError(mark.line + 1, mark.column + 1, _TOO_DEEP) from None
    finally:
        loader.dispose()
    source = Source(None)
    if node is None:
        return source
    source.lines[()] = node.start_mark.line + 1
    source.data = _convert(node, (), source, loader)
    return source


def _syntax_error(exc: yaml.MarkedYAMLError) -> YamlSyntaxError:
    """Where PyYAML noticed the problem, and where the construct it was reading began."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"{exc.problem or exc.context}"
    context = exc.context_mark
    # An unclosed quote or bracket is noticed at the end of the file: say where it opened.
    if exc.problem and exc.context and context and context.line + 1 != line:
        message += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    return YamlSyntaxError(line, col, message)


# Aliases can nest a document into itself or blow it up exponentially ("billion laughs").
MAX_DEPTH = 64
MAX_NODES = 100_000
_TOO_DEEP = "document nests too deep or expands too far (recursive alias?)"


def _convert(node: yaml.Node, path: Path, source: Source, loader: yaml.SafeLoader) -> Any:
    source.nodes += 1
    if len(path) > MAX_DEPTH or source.nodes > MAX_NODES:
        mark = node.start_mark
        raise YamlSyntaxError(mark.line + 1, mark.column + 1, _TOO_DEEP)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            key = key if isinstance(key, str | int) else str(key)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in result:
                source.duplicates.append((child, line, source.lines[child]))
                continue
            source.lines[child] = line
            result[key] = _convert(value_node, child, source, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            source.lines[(*path, i)] = item.start_mark.line + 1
            items.append(_convert(item, (*path, i), source, loader))
        return items
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return f"<{node.tag.rsplit(':', 1)[-1]}>"
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        return node.value
