"""What no single field of a playbook can know: ids, references, check kinds, parameters.

Runs on the structurally checked data (`playbook.PLAYBOOK`), whatever of it survived: items that
already failed are skipped, so one mistake is reported once.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from troubleshooter import conditions, templating
from troubleshooter.findings import CATALOGUE
from troubleshooter.schema import INVALID, Loc, Problems, describe

if TYPE_CHECKING:
    from troubleshooter.checks.base import CheckKind


def check(pb: dict[str, Any], problems: Problems,
          checks: Mapping[str, CheckKind] | None = None) -> None:
    """What no single field can know: ids, references, check kinds and their parameters.

    `checks` is the registry of check kinds (default: every family's)."""
    if checks is None:
        from troubleshooter.checks import CHECKS

        checks = CHECKS

    # Broken variables were reported already; checking templates against them would only
    # repeat that problem once per template.
    variables = pb["variables"] if isinstance(pb["variables"], dict) else None
    seen: set[str] = set()
    root = Loc()
    _check_templates(pb.get("description"), root.key("description"), variables, problems)
    for si, step in enumerate(_valid(pb["steps"])):
        sloc = root.key("steps").item(si, step["id"] if isinstance(step["id"], str) else None)
        _check_expr(step["when"], sloc.key("when"), seen, problems)
        _claim(step["id"], sloc.key("id"), seen, problems)
        for key in ("title", "guidance", "why"):
            _check_templates(step[key], sloc.key(key), variables, problems)
        for ai, action in enumerate(_valid(step["actions"])):
            aloc = sloc.key("actions").item(ai, action["id"] if isinstance(action["id"], str)
                                            else None)
            _check_expr(action["when"], aloc.key("when"), seen, problems)
            _claim(action["id"], aloc.key("id"), seen, problems)
            if action["check"] is not None and action["prompt"] is not None:
                problems.error(aloc, "an action has either `check` or `prompt`, not both")
            elif action["check"] is INVALID:
                pass  # not a string: reported already
            elif action["check"] is not None:
                _check_check(action, aloc, checks, variables, problems)
            elif action["prompt"] is not None:
                _check_prompt(action, aloc, variables, problems)
            else:
                problems.error(aloc, "missing required field 'check' or 'prompt'")
            for oi, outcome in enumerate(_valid(action["outcomes"])):
                oloc = aloc.key("outcomes").item(oi)
                _check_expr(outcome["when"], oloc.key("when"), seen, problems)
                for key in ("message", "remedy"):
                    _check_templates(outcome[key], oloc.key(key), variables, problems)
    rules = pb["diagnosis"]["rules"] if isinstance(pb["diagnosis"], dict) else INVALID
    for ri, rule in enumerate(_valid(rules)):
        _check_expr(rule["when"], root.key("diagnosis").key("rules").item(ri).key("when"),
                    seen, problems)


def _valid(items: Any) -> list[dict[str, Any]]:
    """The items of a checked list that came through structurally sound (others already erred).

    Positions matter for messages, so invalid items are kept as empty placeholders."""
    if not isinstance(items, list):
        return []
    return [item if isinstance(item, dict) else _PLACEHOLDER for item in items]


_PLACEHOLDER: dict[str, Any] = {
    "id": INVALID, "when": None, "actions": [], "outcomes": [], "check": None, "prompt": None,
    "title": "", "guidance": "", "why": "", "message": None, "remedy": None,
}


def _claim(ident: Any, loc: Loc, seen: set[str], problems: Problems) -> None:
    if not isinstance(ident, str):
        return
    if ident in seen:
        problems.error(loc, f"duplicate id {ident!r}: step and action ids must be unique")
    seen.add(ident)


def _check_expr(expr: conditions.Expression | None, loc: Loc, seen: set[str],
                problems: Problems) -> None:
    if not isinstance(expr, conditions.Expression):
        return
    for name in sorted(expr.names | expr.ids):
        if name not in seen and name not in conditions.BUILTIN_NAMES:
            problems.error(loc, f"condition refers to unknown id {name!r} "
                                "(only steps and actions declared before it can be used)")
    for pattern in sorted(expr.codes):

        if not any(fnmatch.fnmatchcase(code, pattern) for code in CATALOGUE):
            problems.error(loc, f"condition names unknown finding code {pattern!r}")


def _check_templates(value: Any, loc: Loc, variables: Mapping[str, Any] | None,
                     problems: Problems) -> None:
    if variables is None:
        return
    for name in templating.references(value):
        why = templating.unknown_reference(name, variables)
        if why:
            problems.error(loc, why)


def _check_check(action: dict[str, Any], loc: Loc, kinds: Mapping[str, CheckKind],
                 variables: Mapping[str, Any] | None, problems: Problems) -> None:
    kind = kinds.get(action["check"])
    if kind is None:
        problems.error(loc.key("check"), f"unknown check kind {action['check']!r} "
                                         f"(known: {', '.join(sorted(kinds))})")
        return
    if kind.destructive and not action["destructive"]:
        problems.error(loc.key("destructive"),
                       f"check {kind.name!r} changes the target: mark it `destructive: true`")
    from troubleshooter.checks.base import REQUIRED

    params = action["with"]
    if not isinstance(params, dict):
        return  # not a mapping: reported already
    for name, spec in kind.params.items():
        ploc = loc.key("with").key(name)
        if name not in params:
            if spec.default is REQUIRED:
                problems.error(loc.key("with"), f"missing required parameter {name!r}")
            continue
        value = params[name]
        _check_templates(value, ploc, variables, problems)
        if not templating.references(value) and not _is_type(value, spec.type):
            problems.error(ploc, f"expected {_type_name(spec.type)}, got {describe(value)}")
    if kind.check_params is not None:
        kind.check_params(params, loc.key("with"), problems)
    for name in params:
        if name not in kind.params:
            problems.warn(loc.key("with").key(name),
                          f"unknown parameter of {kind.name!r} (ignored); known: "
                          f"{', '.join(kind.params) or 'none'}")


def _is_type(value: Any, types: type | tuple[type, ...]) -> bool:
    """isinstance, except that true/false is not a number (bool subclasses int)."""
    wanted = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in wanted:
        return False
    return isinstance(value, wanted)


def _type_name(types: type | tuple[type, ...]) -> str:
    names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
    return " or ".join({"str": "a string", "int": "an integer", "float": "a number",
                        "bool": "true or false", "list": "a list", "dict": "a mapping"}.get(n, n)
                       for n in names)


def _check_prompt(action: dict[str, Any], loc: Loc, variables: Mapping[str, Any] | None,
                  problems: Problems) -> None:
    kind, choices, default = action["prompt"], action["choices"], action["default"]
    if not action["question"]:
        problems.error(loc, "missing required field 'question' (what the operator is asked)")
    _check_templates(action["question"], loc.key("question"), variables, problems)
    _check_templates(action["help"], loc.key("help"), variables, problems)
    if action["destructive"] is True:
        problems.warn(loc.key("destructive"), "only checks run by the tool can be destructive")
    for oi, outcome in enumerate(_valid(action["outcomes"])):
        if outcome is not _PLACEHOLDER and outcome["when"] is None:
            problems.error(loc.key("outcomes").item(oi),
                           "a prompt's outcome needs `when` (a condition on the answer)")
    if kind in ("select", "checklist") and not choices:
        problems.error(loc, f"a {kind} prompt needs `choices`")
    if default is None or (kind != "confirm" and choices is INVALID):
        return  # no default, or no valid choices to hold it against (reported already)
    if kind == "confirm" and not isinstance(default, bool):
        problems.error(loc.key("default"), f"a confirm default is true or false, got {default!r}")
    elif kind == "select" and default not in choices:
        problems.error(loc.key("default"), f"default {default!r} is not one of the choices")
    elif kind == "checklist" and not (
        isinstance(default, list) and all(d in choices for d in default)
    ):
        problems.error(loc.key("default"), "a checklist default is a list of its choices")
