"""`when:` expressions: a small, safe subset of Python expressions over earlier results.

    when: "not finding('network.*') and ping.status == 'pass'"
    when: "answer('restart_ok') == 'yes' or info.data.role == 'slave'"

Names are earlier action or step ids (with `.status`, `.data.<key>`, `.answer`, `.findings`),
`vars` (the playbook's variables), `target` (host, port, db, scheme, tls) and `healthy` (no
error finding so far). Functions: `finding(glob)`, `answer(id)`, `status(id)`. Nothing else is
evaluated: no imports, no attribute walking into Python objects, no calls but these.
"""

from __future__ import annotations

import ast
import fnmatch
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from troubleshooter.frozen import frozen

BUILTIN_NAMES = ("vars", "target", "healthy", "True", "False", "None")
FUNCTIONS = ("finding", "answer", "status")

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
    ast.Name, ast.Load, ast.Attribute, ast.Constant, ast.List, ast.Tuple, ast.Call, ast.Subscript,
    *_COMPARE,
)


class ExpressionError(ValueError):
    """A `when:` expression that cannot be used; the message says why."""


@frozen
class Expression:
    """A parsed, checked condition. `names` and `codes` are what it refers to."""

    source: str
    tree: ast.Expression
    names: frozenset[str]
    codes: frozenset[str]
    ids: frozenset[str]


def parse(source: str) -> Expression:
    """Parse and check the shape of an expression (not whether its names exist)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"bad expression {source!r}: {exc.msg}") from None
    except ValueError as exc:  # a NUL character on some Python versions
        raise ExpressionError(f"bad expression {source!r}: {exc}") from None
    except (RecursionError, MemoryError):  # the parser's own limits: `not not not ...`
        raise ExpressionError(f"bad expression {source!r}: nests too deep") from None
    names: set[str] = set()
    codes: set[str] = set()
    ids: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(
                f"bad expression {source!r}: {type(node).__name__} is not allowed "
                "(use names, comparisons, and/or/not, and finding()/answer()/status())"
            )
        if isinstance(node, ast.Call):
            _check_call(source, node, codes, ids)
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"bad expression {source!r}: private attribute {node.attr!r}")
    return Expression(source, tree, frozenset(names), frozenset(codes), frozenset(ids))


def _check_call(source: str, node: ast.Call, codes: set[str], ids: set[str]) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise ExpressionError(
            f"bad expression {source!r}: only {', '.join(FUNCTIONS)} can be called"
        )
    args = node.args
    if node.keywords or len(args) != 1 or not isinstance(args[0], ast.Constant) or not isinstance(
        args[0].value, str
    ):
        raise ExpressionError(
            f"bad expression {source!r}: {node.func.id}() takes one quoted string"
        )
    (codes if node.func.id == "finding" else ids).add(args[0].value)


class Namespace(Mapping[str, Any]):
    """Attribute-style read access to a mapping; a missing key reads as None."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return wrap(self._data.get(key))

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        # Mapping's own `in` asks __getitem__, which never fails here: every key would be "in".
        return key in self._data

    def __eq__(self, other: object) -> bool:
        return dict(self._data) == other

    __hash__ = None  # type: ignore[assignment]


def wrap(value: Any) -> Any:
    """Mappings read by attribute; tuples compare like the lists they are in JSON."""
    if isinstance(value, Mapping):
        return Namespace(value)
    return list(value) if isinstance(value, tuple) else value


@frozen
class Scope:
    """What an expression can see at the moment it is evaluated."""

    names: Mapping[str, Any]
    finding_codes: Iterable[str]
    answers: Mapping[str, Any]
    statuses: Mapping[str, str]


def evaluate(expr: Expression, scope: Scope) -> bool:
    """True or False; an expression that fails on the data at hand (None > 3) is False."""
    try:
        return bool(_eval(expr.tree.body, scope))
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return False


def _eval(node: ast.expr, scope: Scope) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return wrap(scope.names.get(node.id))
    if isinstance(node, ast.Attribute):
        base = _eval(node.value, scope)
        return base[node.attr] if isinstance(base, Namespace) else None
    if isinstance(node, ast.Subscript):
        base = _eval(node.value, scope)
        key = _eval(node.slice, scope)
        return wrap(base[key]) if base is not None else None
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, scope) for v in node.values)
        return any(_eval(v, scope) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, scope)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, scope) for e in node.elts]
    if isinstance(node, ast.Call):
        return _call(node, scope)
    raise TypeError(type(node).__name__)


def _call(node: ast.Call, scope: Scope) -> Any:
    assert isinstance(node.func, ast.Name) and isinstance(node.args[0], ast.Constant)
    arg = str(node.args[0].value)
    if node.func.id == "finding":
        return any(fnmatch.fnmatchcase(code, arg) for code in scope.finding_codes)
    if node.func.id == "answer":
        return scope.answers.get(arg)
    return scope.statuses.get(arg)
