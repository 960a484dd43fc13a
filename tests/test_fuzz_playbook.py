"""Fuzzing the playbook loader: whatever the file holds, a Playbook or a PlaybookError.

Mutated copies of the shipped playbook (keys dropped, types changed, junk inserted), random
YAML and unicode text, deep nesting and aliases are fed to `playbook.loads`. Anything else
escaping it (KeyError, TypeError, RecursionError, a YAML exception) is a traceback a user
would see; every problem must also be one `name:line: ...` line.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from troubleshooter import playbook
from troubleshooter.errors import PlaybookError

SHIPPED = Path(__file__).resolve().parent.parent / "playbooks" / "redis-outage.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")
DATA = yaml.safe_load(TEXT)
NAME = "fuzz.yaml"
PROBLEM_LINE = re.compile(r"fuzz\.yaml:\d+(:\d+)?: \S")

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values that are wrong in interesting ways: other types, edge numbers, odd strings, nesting.
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", " ", "{{ nope }}", "{{", "}}", "not", "a.__class__", "finding(",
                       "network.refused", "x" * 300, "\u2028", "ping.status == 'pass'",
                       "redis_ping", "confirm", "select", "__import__('os')"])
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(["id", "title", "steps", "actions", "check", "prompt", "when", "with",
                        "outcomes", "code", "choices", "default", "variables", "diagnosis",
                        "rules", "support", "timeout", "destructive", "question", "junk", "<<"])


def assert_loads_cleanly(text: str) -> None:
    """The contract: a Playbook, or a PlaybookError whose problems are one line each."""
    try:
        result = playbook.loads(text, NAME)
    except PlaybookError as exc:
        assert exc.problems, "a PlaybookError with no problem in it"
        for line in exc.problems:
            assert "\n" not in line and PROBLEM_LINE.match(line), line
        return
    assert isinstance(result, playbook.Playbook)
    for line in result.warnings:
        assert "\n" not in line and PROBLEM_LINE.match(line), line


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the data: mapping keys and list positions."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*path, i))
    return found


def _mutate(data: Any, draw: st.DrawFn) -> Any:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            data = draw(JUNK) if draw(st.integers(0, 9)) == 0 else data
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = draw(st.sampled_from(["drop", "replace", "insert", "wrap"]))
        if op == "drop":
            del parent[last]
        elif op == "replace":
            parent[last] = draw(JUNK)
        elif op == "wrap":
            parent[last] = [parent[last]] if draw(st.booleans()) else {"x": parent[last]}
        elif isinstance(parent, dict):
            parent[draw(KEYS | st.text(max_size=10))] = draw(JUNK)
        else:
            parent.insert(draw(st.integers(0, len(parent))), draw(JUNK))
    return data


@st.composite
def mutated_playbooks(draw: st.DrawFn) -> str:
    return yaml.safe_dump(_mutate(DATA, draw), allow_unicode=True, sort_keys=False)


@st.composite
def edited_text(draw: st.DrawFn) -> str:
    """The shipped file with a few characters or lines inserted, deleted or duplicated."""
    lines = TEXT.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "chars"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=30)) + "\n")
        else:
            j = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:j] + draw(st.text(max_size=5)) + lines[i][j:]
    return "".join(lines)


YAML_PIECES = st.sampled_from([
    "id: x\n", "title: T\n", "steps:\n", "  - id: a\n", "    title: A\n", "    actions:\n",
    "      - {id: u, check: redis_url}\n", "&a ", "*a ", "<<: *a\n", "? [x]\n: y\n", "- ",
    "[", "]", "{", "}", ": ", "'", '"', "!!int ", "!!python/object:os.system ", "\t", "\n",
    "%YAML 1.1\n---\n", "---\n", "...\n", "2024-13-45", "~", "? ", "|\n  text\n", "#c\n",
])


@FUZZ
@given(mutated_playbooks())
def test_mutated_playbook_data(text: str) -> None:
    assert_loads_cleanly(text)


@FUZZ
@given(edited_text())
def test_edited_playbook_text(text: str) -> None:
    assert_loads_cleanly(text)


@FUZZ
@given(st.text(max_size=200))
def test_random_unicode(text: str) -> None:
    assert_loads_cleanly(text)


@FUZZ
@given(st.lists(YAML_PIECES, max_size=25).map("".join))
def test_random_yaml_fragments(text: str) -> None:
    assert_loads_cleanly(text)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3000), st.sampled_from(["[", "{a: ", "- ", "a:\n" + " " * 2]))
def test_deep_nesting(depth: int, opener: str) -> None:
    if opener.startswith("a:"):
        text = "".join(f"{' ' * 2 * i}a{i}:\n" for i in range(min(depth, 400)))
    else:
        text = "steps: " + opener * depth
    assert_loads_cleanly(text)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 12), st.integers(2, 12))
def test_alias_expansion(width: int, levels: int) -> None:
    """`billion laughs`: aliases of aliases must hit the node limit, not exhaust memory."""
    lines = ["l0: &l0 [x]"]
    for n in range(1, levels):
        refs = ", ".join([f"*l{n - 1}"] * width)
        lines.append(f"l{n}: &l{n} [{refs}]")
    lines += ["id: x", "title: T", f"steps: *l{levels - 1}"]
    assert_loads_cleanly("\n".join(lines) + "\n")


def test_recursive_aliases_are_one_line() -> None:
    for text in ("a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n"):
        with_problem(text, "fuzz.yaml:1:4: YAML syntax error: document nests too deep or "
                           "expands too far (recursive alias?)")


def with_problem(text: str, expected: str) -> None:
    try:
        playbook.loads(text, NAME)
    except PlaybookError as exc:
        assert exc.problems == [expected]
    else:
        raise AssertionError(f"{text!r} loaded")
