"""The playbook: its schema as data, its model and the loader (cross-field checks: crosscheck).

Every problem of a file is reported at once, one line each, as `file:line: path: message`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troubleshooter import conditions, crosscheck, inputfiles, yamlsrc
from troubleshooter.errors import PlaybookError
from troubleshooter.findings import SEVERITIES
from troubleshooter.frozen import frozen
from troubleshooter.lazyre import lazy_compile
from troubleshooter.sanitize import shorten, shorten_quoted
from troubleshooter.schema import (
    ANY,
    BOOL,
    INVALID,
    NUMBER,
    STR,
    Field,
    FindingCode,
    ListOf,
    Loc,
    MapOf,
    Obj,
    Problems,
    Spec,
    describe,
    labels_by_id,
    one_of,
)

if TYPE_CHECKING:
    from troubleshooter.checks.base import CheckKind
    from troubleshooter.yamlcache import ParseCache

PROMPT_KINDS = ("confirm", "select", "text", "checklist")
ID_RE = lazy_compile(r"^[a-z][a-z0-9_]*$")


class _Id(Spec):
    """Step and action ids are names in conditions (`ping.status`), so identifiers."""

    expected = "an id (lower case letters, digits and _; starting with a letter)"
    pattern = ID_RE

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if isinstance(value, str) and self.pattern.match(value):
            return value
        return self.wrong(value, loc, problems)


class _Name(_Id):
    expected = "a name (lower case letters, digits, _ and -; starting with a letter)"
    pattern = re.compile(r"^[a-z][a-z0-9_-]*$")


class _Expr(Spec):
    expected = "a condition expression (a string)"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return self.wrong(value, loc, problems)
        try:
            return conditions.parse(value)
        except conditions.ExpressionError as exc:
            problems.error(loc, str(exc))
            return INVALID


ID, EXPR, CODE = _Id(), _Expr(), FindingCode()
SEVERITY = one_of(*SEVERITIES)

VARIABLE = Obj((
    Field("default", ANY, None, "value when neither a flag nor the environment sets it"),
    Field("description", STR, ""),
    Field("env", STR, None, "environment variable that sets it"),
), shorthand="default")

OUTCOME = Obj((
    Field("code", CODE, help="finding code this outcome produces or adjusts"),
    Field("when", EXPR, None, "condition that produces the finding; without it, the outcome "
                              "adjusts a finding of this code that the check reports"),
    Field("severity", SEVERITY, None),
    Field("message", STR, None),
    Field("remedy", STR, None),
))

ACTION = Obj((
    Field("id", ID),
    Field("title", STR, ""),
    Field("check", STR, None, "an automated check kind (see `troubleshooter checks`)"),
    Field("with", MapOf(ANY), {}, "the check's parameters"),
    Field("timeout", NUMBER, None, "seconds; default: --timeout"),
    Field("outcomes", ListOf(OUTCOME), []),
    Field("prompt", one_of(*PROMPT_KINDS), None, "a manual action: the operator answers"),
    Field("question", STR, None),
    Field("help", STR, ""),
    Field("choices", ListOf(STR), []),
    Field("default", ANY, None),
    Field("when", EXPR, None),
    Field("skip_note", STR, "", "what the operator is told when `when` is false "
                                "(default: not needed here)"),
    Field("destructive", BOOL, False, "changes something: always confirmed, never run "
                                      "non-interactively without --yes"),
))

STEP = Obj((
    Field("id", ID),
    Field("title", STR),
    Field("guidance", STR, "", "Markdown shown to the operator"),
    Field("why", STR, "", "why this step matters (for trainees)"),
    Field("when", EXPR, None),
    Field("skip_note", STR, "", "what the operator is told when `when` is false "
                                "(default: not needed here)"),
    Field("actions", ListOf(ACTION, labels_by_id), []),
))

RULE = Obj((
    Field("when", EXPR),
    Field("code", CODE),
    Field("summary", STR, ""),
))

SUPPORT = Obj((
    Field("contact", STR, ""),
    Field("where", STR, ""),
    Field("attach", ListOf(STR), []),
    Field("notes", STR, ""),
))

PLAYBOOK = Obj((
    Field("id", _Name()),
    Field("title", STR),
    Field("description", STR, ""),
    Field("version", ANY, 1),
    Field("variables", MapOf(VARIABLE), {}),
    Field("steps", ListOf(STEP, labels_by_id)),
    Field("diagnosis", Obj((Field("rules", ListOf(RULE), []),)), {"rules": []}),
    Field("support", SUPPORT, None),
))


@frozen
class Variable:
    name: str
    default: Any
    description: str = ""
    env: str | None = None


@frozen
class OutcomeRule:
    code: str
    when: conditions.Expression | None = None
    severity: str | None = None
    message: str | None = None
    remedy: str | None = None


@frozen
class Action:
    """A check (`check` set) or a manual prompt (`prompt` set)."""

    id: str
    title: str = ""
    check: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    outcomes: tuple[OutcomeRule, ...] = ()
    prompt: str | None = None
    question: str = ""
    help: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    when: conditions.Expression | None = None
    destructive: bool = False
    skip_note: str = ""

    @property
    def is_check(self) -> bool:
        return self.check is not None


@frozen
class Step:
    id: str
    title: str
    guidance: str = ""
    why: str = ""
    when: conditions.Expression | None = None
    actions: tuple[Action, ...] = ()
    skip_note: str = ""


@frozen
class DiagnosisRule:
    when: conditions.Expression
    code: str
    summary: str = ""


@frozen
class Support:
    contact: str = ""
    where: str = ""
    attach: tuple[str, ...] = ()
    notes: str = ""


@frozen
class Playbook:
    id: str
    title: str
    description: str
    version: str
    variables: Mapping[str, Variable]
    steps: tuple[Step, ...]
    rules: tuple[DiagnosisRule, ...] = ()
    support: Support | None = None
    path: str = ""
    warnings: tuple[str, ...] = ()


def load(path: str | Path, checks: Mapping[str, CheckKind] | None = None,
         cache: ParseCache | None = None) -> Playbook:
    """Load and validate a playbook file; raise PlaybookError listing every problem.

    `checks` is the registry its check kinds are checked against (default: every family);
    `cache` keeps the file's YAML parse (for the shipped playbooks: see yamlcache)."""
    try:
        text = inputfiles.read_text(path, inputfiles.PLAYBOOK_MAX, "playbook")
    except inputfiles.InputFileError as exc:
        raise PlaybookError([str(exc)]) from None
    return loads(text, str(path), checks, cache)


def loads(text: str, name: str = "<playbook>",
          checks: Mapping[str, CheckKind] | None = None,
          cache: ParseCache | None = None) -> Playbook:
    """Validate playbook text; `name` is what messages call the file."""
    try:
        source = yamlsrc.load(text, cache)
    except yamlsrc.YamlSyntaxError as exc:
        raise PlaybookError([f"{name}:{exc.line}:{exc.column}: YAML syntax error: {exc}"]) from None
    problems = Problems()
    for dup_path, line, first in source.duplicates:
        loc = Loc(dup_path, _show(dup_path, source.data), line)
        problems.error(loc, f"duplicate key (first at line {first})")
    if not isinstance(source.data, dict):
        got = "an empty file" if source.data is None else describe(source.data)
        problems.error(Loc(), "expected a playbook (a mapping with id, title and steps), "
                              f"got {got}")
        raise PlaybookError(_format(problems.errors, source, name))
    if not {"id", "title", "steps"} & source.data.keys():
        # Some other file (a config, /etc/passwd read as YAML): one line, none of its content.
        problems.error(Loc(), f"expected a playbook (a mapping with id, title and steps), got "
                              f"a mapping of {len(source.data)} key(s) with none of them")
        raise PlaybookError(_format(problems.errors, source, name))
    clean = PLAYBOOK.check(source.data, Loc(), problems)
    if clean is not INVALID:
        crosscheck.check(clean, problems, checks)
    warnings = [(loc, f"warning: {message}") for loc, message in problems.warnings]
    if problems.errors:
        raise PlaybookError(_format(problems.errors + warnings, source, name))
    return _build(clean, name, tuple(_format(warnings, source, name)))


def _show(path: yamlsrc.Path, data: Any) -> str:
    loc, node = Loc(), data
    for part in path:
        if isinstance(part, int):
            loc = loc.item(part, labels_by_id(node[part], part) if isinstance(node, list) else None)
        else:
            loc = loc.key(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return loc.shown


def _format(items: list[tuple[Loc, str]], source: yamlsrc.Source, name: str) -> list[str]:
    """One line per problem, in line order (a stable sort: errors before warnings on a line)."""
    def line(loc: Loc) -> int:
        return loc.line or source.line(loc.raw)

    ordered = sorted(items, key=lambda item: line(item[0]))
    # A value of any length may be quoted: a message shows at most ~80 characters of it.
    return [f"{name}:{line(loc)}: {shorten(loc.shown or '(top)', 120)}: {shorten_quoted(msg)}"
            for loc, msg in ordered]


def _build(pb: dict[str, Any], path: str, warnings: tuple[str, ...]) -> Playbook:
    def action(a: dict[str, Any]) -> Action:
        return Action(
            id=a["id"], title=a["title"], check=a["check"], params=a["with"],
            timeout=a["timeout"], prompt=a["prompt"], question=a["question"] or "",
            help=a["help"], choices=tuple(a["choices"]), default=a["default"], when=a["when"],
            destructive=a["destructive"], skip_note=a["skip_note"],
            outcomes=tuple(OutcomeRule(**o) for o in a["outcomes"]),
        )

    support = pb["support"]
    return Playbook(
        id=pb["id"], title=pb["title"], description=pb["description"],
        version=str(pb["version"]),
        variables={n: Variable(n, v["default"], v["description"], v["env"])
                   for n, v in pb["variables"].items()},
        steps=tuple(
            Step(s["id"], s["title"], s["guidance"], s["why"], s["when"],
                 tuple(action(a) for a in s["actions"]), s["skip_note"])
            for s in pb["steps"]
        ),
        rules=tuple(DiagnosisRule(**r) for r in pb["diagnosis"]["rules"]),
        support=Support(support["contact"], support["where"], tuple(support["attach"]),
                        support["notes"]) if support else None,
        path=path,
        warnings=warnings,
    )
