"""A small declarative schema: specs as data, every problem collected with its path.

Specs check a value and return it cleaned (defaults filled) or `INVALID`; problems go to a
`Problems` list, never raised, so a file reports all of its problems at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Any

from troubleshooter.frozen import frozen, record
from troubleshooter.lazyre import lazy_compile
from troubleshooter.yamlsrc import Path

INVALID: Any = object()
_PLAIN_KEY = lazy_compile(r"[A-Za-z0-9_<>~-]+")
_ID_LABEL = lazy_compile(r"[a-z][a-z0-9_]*")
MISSING: Any = object()


@frozen
class Loc:
    """Where a value is: its raw path (for line numbers) and its display path."""

    raw: Path = ()
    shown: str = ""
    line: int | None = None  # where the raw path's own line is not the one to report

    def key(self, name: str) -> Loc:
        # A key with spaces, newlines or odd characters is quoted: a message stays one line.
        shown = name if _PLAIN_KEY.fullmatch(name) else repr(name)
        return Loc((*self.raw, name), f"{self.shown}.{shown}" if self.shown else shown)

    def item(self, index: int, label: str | None = None) -> Loc:
        return Loc((*self.raw, index), f"{self.shown}[{label if label else index}]")


@record
class Problems:
    errors: list[tuple[Loc, str]] = field(default_factory=list)
    warnings: list[tuple[Loc, str]] = field(default_factory=list)

    def error(self, loc: Loc, message: str) -> None:
        self.errors.append((loc, message))

    def warn(self, loc: Loc, message: str) -> None:
        self.warnings.append((loc, message))


def describe(value: Any) -> str:
    """`str 'abc'`, `list`, `null`: how a wrong value is named in a message."""
    if value is None:
        return "null"
    name = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "mapping"}.get(type(value), type(value).__name__)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = repr(value)
        return f"{name} {text if len(text) < 40 else text[:37] + '...'}"
    return name


class Spec:
    expected = "a value"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        raise NotImplementedError

    def wrong(self, value: Any, loc: Loc, problems: Problems) -> Any:
        problems.error(loc, f"expected {self.expected}, got {describe(value)}")
        return INVALID


class FindingCode(Spec):
    """A code of the findings catalogue (docs/FINDINGS.md); `optional`: "" is allowed too."""

    expected = "a finding code from docs/FINDINGS.md"

    def __init__(self, optional: bool = False) -> None:
        self.optional = optional

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        from troubleshooter.findings import CATALOGUE

        if not isinstance(value, str):
            return self.wrong(value, loc, problems)
        if (value or not self.optional) and value not in CATALOGUE:
            problems.error(loc, f"unknown finding code {value!r} (see docs/FINDINGS.md)")
            return INVALID
        return value


@frozen
class Scalar(Spec):
    types: tuple[type, ...]
    expected: str = "a value"
    minimum: float | None = None
    choices: Sequence[Any] = ()

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if isinstance(value, bool) and bool not in self.types:
            return self.wrong(value, loc, problems)
        if not isinstance(value, self.types):
            return self.wrong(value, loc, problems)
        if self.choices and value not in self.choices:
            problems.error(loc, f"expected one of {', '.join(map(str, self.choices))}, "
                                f"got {describe(value)}")
            return INVALID
        if self.minimum is not None and _below(value, self.minimum):
            problems.error(loc, f"expected {self.expected} >= {self.minimum}, got {value}")
            return INVALID
        return value


def _below(value: Any, minimum: float) -> bool:
    """`value < minimum`, and NaN too: it compares false with everything, so it would pass."""
    return (isinstance(value, float) and math.isnan(value)) or bool(value < minimum)


STR = Scalar((str,), "a string")
NUMBER = Scalar((int, float), "a number", minimum=0)
INT = Scalar((int,), "an integer")
BOOL = Scalar((bool,), "true or false")
ANY = Scalar((str, int, float, bool, list, dict, type(None)), "a value")


def one_of(*choices: str) -> Scalar:
    return Scalar((str,), f"one of {', '.join(choices)}", choices=choices)


@frozen
class ListOf(Spec):
    item: Spec
    label: Callable[[Any, int], str | None] = lambda value, i: None
    expected: str = "a list"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if not isinstance(value, list):
            return self.wrong(value, loc, problems)
        return [self.item.check(v, loc.item(i, self.label(v, i)), problems)
                for i, v in enumerate(value)]


@frozen
class MapOf(Spec):
    value: Spec
    expected: str = "a mapping"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if not isinstance(value, dict):
            return self.wrong(value, loc, problems)
        return {str(k): self.value.check(v, loc.key(str(k)), problems) for k, v in value.items()}


@frozen
class Field:
    name: str
    spec: Spec
    default: Any = MISSING
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is MISSING


@frozen
class Obj(Spec):
    """A mapping with known fields: missing required ones fail, unknown ones warn."""

    fields: tuple[Field, ...]
    expected: str = "a mapping"
    # An alternative shorthand: a plain value that stands for {shorthand: value}.
    shorthand: str | None = None

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if self.shorthand and not isinstance(value, dict):
            value = {self.shorthand: value}
        if not isinstance(value, dict):
            return self.wrong(value, loc, problems)
        known = {f.name: f for f in self.fields}
        result: dict[str, Any] = {}
        for key in value:
            if key not in known:
                import difflib  # only for a misspelt key

                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.warn(loc.key(str(key)), f"unknown key (ignored){hint}")
        for f in self.fields:
            if f.name in value:
                result[f.name] = f.spec.check(value[f.name], loc.key(f.name), problems)
            elif f.required:
                problems.error(loc, f"missing required field {f.name!r}")
                result[f.name] = INVALID
            else:
                result[f.name] = f.default
        return result


def labels_by_id(value: Any, index: int) -> str | None:
    """List items are shown by their `id` where they have one: steps[network].

    Only a well-formed id labels an item, so that every message names the item alike."""
    ident = value.get("id") if isinstance(value, Mapping) else None
    if isinstance(ident, str) and _ID_LABEL.fullmatch(ident):
        return ident
    return None
