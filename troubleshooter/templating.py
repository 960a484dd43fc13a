"""`{{ name }}` templates in playbook strings: variables and `target.<field>`.

A string that is exactly one `{{ name }}` takes the variable's value with its type (a list of log
paths stays a list); otherwise values are substituted as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troubleshooter.lazyre import lazy_compile

# Anything between the braces is a template, so that a typo (`{{ target.url.x }}`, `{{ 1x }}`)
# fails validation instead of reaching the operator as literal braces.
TEMPLATE = lazy_compile(r"\{\{\s*([^{}]*?)\s*\}\}")
TARGET_FIELDS = ("url", "host", "port", "db", "scheme", "address", "source")


def references(value: Any) -> list[str]:
    """Every name a value's templates refer to."""
    if isinstance(value, str):
        return TEMPLATE.findall(value)
    if isinstance(value, list):
        return [name for item in value for name in references(item)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in references(item)]
    return []


def unknown_reference(name: str, variables: Mapping[str, Any]) -> str | None:
    """Why `name` cannot be resolved, or None when it can."""
    if not name:
        return "empty template `{{ }}`: put a variable name (or target.<field>) inside"
    head, _, tail = name.partition(".")
    if head == "target":
        return None if tail in TARGET_FIELDS else (
            f"unknown template name {name!r} (target has: {', '.join(TARGET_FIELDS)})")
    if tail or head not in variables:
        known = ", ".join(sorted(variables)) or "none declared"
        return f"unknown template variable {name!r} (variables: {known})"
    return None


def render(value: Any, names: Mapping[str, Any]) -> Any:
    """`value` with its templates filled from `names` (variables plus `target`)."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return _lookup(whole[1], names)
        return TEMPLATE.sub(lambda m: _text(_lookup(m[1], names)), value)
    if isinstance(value, list):
        return [render(v, names) for v in value]
    if isinstance(value, dict):
        return {k: render(v, names) for k, v in value.items()}
    return value


def _lookup(name: str, names: Mapping[str, Any]) -> Any:
    head, _, tail = name.partition(".")
    value = names.get(head)
    if tail:
        value = value.get(tail) if isinstance(value, Mapping) else None
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        # "Log files given: (none)" reads better to a person than "Log files given: ".
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)
