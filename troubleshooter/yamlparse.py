"""The YAML parser behind `yamlsrc.load`: PyYAML's nodes walked into plain data, with the line of
every key and item, duplicate keys, and limits on size, depth and alias expansion."""

from __future__ import annotations

from typing import Any

import yaml

from troubleshooter.yamlsrc import Path, Source, YamlLimitError, YamlSyntaxError

# Aliases can nest a document into itself or blow it up exponentially ("billion laughs").
MAX_DEPTH = 64
MAX_NODES = 100_000
_TOO_DEEP = "document nests too deep or expands too far (recursive alias?)"
_TOO_MANY = f"document has more than {MAX_NODES} values: too large for a hand-written file"
# Below this size a document cannot hold MAX_NODES values (each takes two characters at least),
# and the pure-Python parser's exact messages cost little: above it neither holds.
SMALL = 2 * MAX_NODES


def parse(text: str) -> Source:
    """Parse one YAML document; raise YamlSyntaxError with its line and column.

    libyaml parses a playbook in ~1 ms against ~20 ms for pure Python (a tenth of a healthy
    triage); on any problem the pure parser runs again, for its exact messages and marks.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _load(text, fast)
        except YamlLimitError:
            raise
        except Exception as exc:  # whatever libyaml made of it, the pure parser says precisely
            if len(text) > SMALL:  # ...but not at 20 times the cost on a big document
                if isinstance(exc, YamlSyntaxError):
                    raise
                raise YamlSyntaxError(1, 1, _first_line(exc)) from None
    return _load(text, yaml.SafeLoader)


def _load(text: str, loader_class: type[yaml.SafeLoader]) -> Source:
    if len(text) > SMALL:
        _count_events(text, loader_class)
    try:
        loader = loader_class(text)
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
        raise YamlLimitError(mark.line + 1, mark.column + 1, _TOO_DEEP) from None
    finally:
        loader.dispose()
    source = Source(None)
    if node is None:
        return source
    source.lines[()] = node.start_mark.line + 1
    source.data = _convert(node, (), source, loader)
    return source


def _count_events(text: str, loader_class: type[yaml.SafeLoader]) -> None:
    """Refuse a document of more than MAX_NODES values before composing it: composing is the
    slow, memory-hungry part (a 14 MB list took 54 s and 1.4 GB), parsing events is not."""
    loader = loader_class(text)
    nodes = 0
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    mark = event.start_mark
                    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                    raise YamlLimitError(line, column, _TOO_MANY)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, 1, _first_line(exc)) from None
    finally:
        loader.dispose()


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _syntax_error(exc: yaml.MarkedYAMLError) -> YamlSyntaxError:
    """Where PyYAML noticed the problem, and where the construct it was reading began."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"{exc.problem or exc.context}"
    context = exc.context_mark
    if exc.problem and exc.context and exc.problem.startswith("but "):
        message = f"{exc.context}, {exc.problem}"  # "expected one document, but found another"
    # An unclosed quote or bracket is noticed at the end of the file: say where it opened.
    elif exc.problem and exc.context and context and context.line + 1 != line:
        message += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    return YamlSyntaxError(line, col, message)


def _convert(node: yaml.Node, path: Path, source: Source, loader: yaml.SafeLoader) -> Any:
    _count(node, path, source)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node, merged in _pairs(node, source, len(path)):
            key = _key(key_node, loader)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in result:
                if not merged:  # a merged-in key is meant to be overridden
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


def _count(node: yaml.Node, path: Path, source: Source, depth: int = 0) -> None:
    source.nodes += 1
    if max(len(path), depth) > MAX_DEPTH or source.nodes > MAX_NODES:
        mark = node.start_mark
        raise YamlLimitError(mark.line + 1, mark.column + 1, _TOO_DEEP)


_MERGE = "tag:yaml.org,2002:merge"


def _pairs(node: yaml.MappingNode, source: Source,
           depth: int) -> list[tuple[yaml.Node, yaml.Node, bool]]:
    """The mapping's own pairs, then those merged in with `<<: *anchor` (own keys win, then
    earlier merged mappings, as in PyYAML); the flag says a pair was merged in."""
    own: list[tuple[yaml.Node, yaml.Node, bool]] = []
    merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            own.append((key_node, value_node, False))
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for mapping in sources:
            _count(mapping, (), source, depth + 1)
            if not isinstance(mapping, yaml.MappingNode):
                mark = mapping.start_mark
                raise YamlSyntaxError(mark.line + 1, mark.column + 1,
                                      "`<<` merges a mapping or a list of mappings, "
                                      f"got {_scalar_name(mapping)}")
            merged += [(k, v, True) for k, v, _ in _pairs(mapping, source, depth + 1)]
    return own + merged


def _scalar_name(node: yaml.Node) -> str:
    return "a list" if isinstance(node, yaml.SequenceNode) else f"{node.value!r}"


def _key(node: yaml.Node, loader: yaml.SafeLoader) -> str:
    """Keys are names: `5:` or `true:` is kept as written, so messages show it and find its line."""
    key = _scalar(node, loader)
    if isinstance(key, str):
        return key
    return node.value if isinstance(node, yaml.ScalarNode) else str(key)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return f"<{node.tag.rsplit(':', 1)[-1]}>"
    try:
        return loader.construct_object(node, deep=True)
    # A bad explicit tag (`!!int abc`) or impossible date (`2024-13-45`) fails in PyYAML's
    # constructors with whatever error they hit; the text itself is still a fine value.
    except Exception:
        return node.value
