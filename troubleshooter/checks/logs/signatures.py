"""The log signatures: the catalogue shipped in the package, and what a playbook adds to it.

Both are data validated by one schema, with precise errors: a playbook's `signatures` parameter
is checked when the playbook loads (`file:line: path: message`), the shipped catalogue by the
tests. A signature's finding is `logs.<id>`. A playbook may add patterns to a shipped signature
(same id) or add a signature of its own, whose severity is `warning` or `info`: an `error`
finding needs a documented code (docs/FINDINGS.md), and only the catalogue has those.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from troubleshooter import yamlsrc
from troubleshooter.findings import CATALOGUE, SEVERITIES
from troubleshooter.frozen import frozen
from troubleshooter.schema import (
    INVALID,
    STR,
    Field,
    FindingCode,
    ListOf,
    Loc,
    Obj,
    Problems,
    Spec,
    describe,
    labels_by_id,
    one_of,
)
from troubleshooter.yamlcache import ParseCache, shipped_cache

MIN_PATTERN, MAX_PATTERN = 4, 200
_ID = re.compile(r"[a-z][a-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@frozen
class Signature:
    id: str
    title: str
    patterns: tuple[str, ...]
    severity: str = "error"
    corroborates: str = ""
    remedy: str = ""
    source: str = ""

    @property
    def code(self) -> str:
        return f"logs.{self.id}"


class CatalogueError(Exception):
    """The signatures do not validate: one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class _SigId(Spec):
    expected = "a signature id (lower case letters, digits and _; starting with a letter)"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if isinstance(value, str) and _ID.fullmatch(value):
            return value
        return self.wrong(value, loc, problems)


class _Pattern(Spec):
    expected = f"a literal text of {MIN_PATTERN} to {MAX_PATTERN} characters on one line"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if not isinstance(value, str):
            return self.wrong(value, loc, problems)
        if not MIN_PATTERN <= len(value) <= MAX_PATTERN:
            problems.error(loc, f"expected {self.expected}, got {len(value)} characters"
                                + (" (a short pattern matches nearly every line)"
                                   if len(value) < MIN_PATTERN else ""))
            return INVALID
        if _CONTROL.search(value):
            problems.error(loc, "a pattern is one line of text: no newline, tab or control "
                                "characters")
            return INVALID
        return value


class _Patterns(ListOf):
    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        checked = super().check(value, loc, problems)
        if checked is not INVALID and not checked:
            problems.error(loc, "expected at least one pattern")
            return INVALID
        return checked


SIGNATURE = Obj((
    Field("id", _SigId()),
    Field("title", STR, None, "what the matching lines mean, for a person"),
    Field("patterns", _Patterns(_Pattern()), [], "literal texts (case-sensitive)"),
    Field("severity", one_of(*SEVERITIES), None),
    Field("corroborates", FindingCode(optional=True), None,
          "the live finding code these lines confirm"),
    Field("remedy", STR, None),
    Field("source", STR, None, "where the text comes from"),
))
SIGNATURES = ListOf(SIGNATURE, labels_by_id)


def check_extra(value: Any, loc: Loc, problems: Problems) -> list[Signature]:
    """Validate a playbook's signatures against the catalogue; report into `problems`."""
    checked = SIGNATURES.check(value, loc, problems)
    if checked is INVALID:
        return []
    shipped = {sig.id: sig for sig in catalogue()}
    found: list[Signature] = []
    for i, item in enumerate(checked):
        if not isinstance(item, dict) or INVALID in item.values():
            continue
        iloc = loc.item(i, item["id"])
        base = shipped.get(item["id"])
        if base is None:
            sig = _new(item, iloc, problems)
        else:
            sig = replace(base, patterns=base.patterns + tuple(
                p for p in item["patterns"] if p not in base.patterns),
                **{k: item[k] for k in ("title", "severity", "corroborates", "remedy")
                   if item[k] is not None})
        if sig is not None:
            found.append(sig)
    return found


def _new(item: Mapping[str, Any], loc: Loc, problems: Problems) -> Signature | None:
    ok = True
    for name in ("title", "patterns"):
        if not item[name]:
            problems.error(loc, f"missing required field {name!r} ({item['id']!r} is not a "
                                "shipped signature, so it is a new one)")
            ok = False
    severity = item["severity"] or "warning"
    if severity == "error":
        problems.error(loc.key("severity"), "a playbook's own signature is a warning or info: "
                                            "error findings need a code in docs/FINDINGS.md")
        ok = False
    if not ok:
        return None
    return Signature(item["id"], item["title"], tuple(item["patterns"]), severity,
                     item["corroborates"] or "", item["remedy"] or "", item["source"] or "")


def merge(base: Sequence[Signature], extra: Sequence[Signature]) -> list[Signature]:
    """`base` with `extra` replacing signatures of the same id and appended after."""
    by_id = {sig.id: sig for sig in base}
    by_id.update({sig.id: sig for sig in extra})
    return list(by_id.values())


def parse(text: str, name: str) -> list[Signature]:
    """Signatures from a catalogue document (`signatures:` list); CatalogueError otherwise."""
    try:
        source = yamlsrc.load(text)
    except yamlsrc.YamlSyntaxError as exc:
        raise CatalogueError([f"{name}:{exc.line}:{exc.column}: YAML syntax error: {exc}"]) \
            from None
    problems = Problems()
    data = source.data
    if not isinstance(data, dict) or "signatures" not in data:
        raise CatalogueError([f"{name}:1: expected a mapping with `signatures:`, got "
                              f"{describe(data)}"])
    checked = SIGNATURES.check(data["signatures"], Loc().key("signatures"), problems)
    sigs: list[Signature] = []
    seen: set[str] = set()
    for i, item in enumerate(checked if checked is not INVALID else []):
        if not isinstance(item, dict) or INVALID in item.values():
            continue
        loc = Loc().key("signatures").item(i, item["id"])
        for required in ("title", "patterns", "severity"):
            if not item[required]:
                problems.error(loc, f"missing required field {required!r}")
        if item["id"] in seen:
            problems.error(loc.key("id"), f"duplicate signature id {item['id']!r}")
        seen.add(item["id"])
        code = f"logs.{item['id']}"
        if code not in CATALOGUE:
            problems.error(loc.key("id"), f"{code} is not in docs/FINDINGS.md")
        sigs.append(Signature(item["id"], item["title"] or "", tuple(item["patterns"]),
                              item["severity"] or "error", item["corroborates"] or "",
                              item["remedy"] or "", item["source"] or ""))
    if problems.errors:
        raise CatalogueError([f"{name}:{source.line(loc.raw)}: {loc.shown}: {msg}"
                              for loc, msg in problems.errors])
    return sigs


def catalogue(environ: Mapping[str, str] | None = None) -> tuple[Signature, ...]:
    """The shipped catalogue, loaded once per process. Its YAML parse is kept in the user's
    cache (`yamlcache.shipped_cache` of `environ`, default the process's); the tests validate
    it with `parse` and hold the two equal, so a run skips the schema."""
    cache = shipped_cache(os.environ if environ is None else environ)
    return _catalogue(cache.directory if cache is not None else None)


@lru_cache(maxsize=2)
def _catalogue(cache_dir: Path | None) -> tuple[Signature, ...]:
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    data = yamlsrc.load(text, ParseCache(cache_dir) if cache_dir is not None else None).data
    return tuple(Signature(item["id"], item["title"], tuple(item["patterns"]),
                           item["severity"], item.get("corroborates", ""),
                           item.get("remedy", ""), item.get("source", ""))
                 for item in data["signatures"])
