"""`when:` expressions: what parses, how it evaluates, and that nothing can execute code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from troubleshooter.conditions import ExpressionError, Scope, evaluate, parse

RESULTS: dict[str, Any] = {
    "ping": {"status": "pass", "data": {"connected": True, "latency_ms": 0.4,
                                        "role": "master", "samples_ms": [0.3, 0.4],
                                        "versions": ("7.0", "7.2"), "nested": {"k": "v"}},
             "answer": None, "findings": []},
    "info": {"status": "fail", "data": {}, "answer": None, "findings": ["server.oom"]},
    "vars": {"write_probe": False, "backlog_jobs": 1000, "app_queue": "orchestrator"},
    "target": {"host": "127.0.0.1", "port": 6379, "db": 0, "scheme": "redis", "tls": False},
    "healthy": False,
}


def ev(source: str, names: Mapping[str, Any] | None = None, codes: Sequence[str] = (),
       answers: Mapping[str, Any] | None = None,
       statuses: Mapping[str, str] | None = None) -> bool:
    scope = Scope(RESULTS if names is None else names, codes, answers or {}, statuses or {})
    return evaluate(parse(source), scope)


# -- parsing ---------------------------------------------------------------------------------
def test_parse_collects_names_codes_and_ids() -> None:
    expr = parse("not finding('network.*') and ping.status == 'pass' and answer('restart_ok') "
                 "== 'yes' or status('info') == 'fail' or vars.write_probe")
    assert expr.names == {"ping", "vars"}
    assert expr.codes == {"network.*"}
    assert expr.ids == {"restart_ok", "info"}


@pytest.mark.parametrize("source, message", [
    ("ping.status ==", "bad expression 'ping.status ==': invalid syntax"),
    ("", "bad expression '': invalid syntax"),
    ("a\nb", "bad expression 'a\\nb': invalid syntax"),
    ("x := 1", "bad expression 'x := 1': invalid syntax"),
    ("finding(code)", "bad expression 'finding(code)': finding() takes one quoted string"),
    ("finding('a', 'b')", "bad expression \"finding('a', 'b')\": finding() takes one quoted "
                          "string"),
    ("answer()", "bad expression 'answer()': answer() takes one quoted string"),
    ("status(id='x')", "bad expression \"status(id='x')\": status() takes one quoted string"),
    ("finding(1)", "bad expression 'finding(1)': finding() takes one quoted string"),
    ("a is None", "bad expression 'a is None': Is is not allowed (use names, comparisons, "
                  "and/or/not, and finding()/answer()/status())"),
    ("1 + 2", "bad expression '1 + 2': BinOp is not allowed (use names, comparisons, "
              "and/or/not, and finding()/answer()/status())"),
    ("a[1:2]", "bad expression 'a[1:2]': Slice is not allowed (use names, comparisons, "
               "and/or/not, and finding()/answer()/status())"),
])
def test_parse_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert str(info.value) == message


@pytest.mark.parametrize("source", [
    "not " * 5000 + "a",
    "a" + ".b" * 5000,
    "a" + "[0]" * 5000,
    "-" * 5000 + "a",
])
def test_deep_nesting_is_an_expression_error(source: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert str(info.value).endswith("': nests too deep")


def test_nul_character_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("a\x00")
    assert str(info.value).startswith("bad expression 'a\\x00': ")


# -- no code execution -----------------------------------------------------------------------
@pytest.mark.parametrize("source, why", [
    ("ping.__class__", "private attribute '__class__'"),
    ("ping.data.__dict__", "private attribute '__dict__'"),
    ("vars._data", "private attribute '_data'"),
    ("().__class__.__bases__", "private attribute '__bases__'"),
    ("__import__('os')", "only finding, answer, status can be called"),
    ("ping.status.upper()", "only finding, answer, status can be called"),
    ("open('/etc/passwd')", "only finding, answer, status can be called"),
    ("(lambda: 1)()", "only finding, answer, status can be called"),
    ("getattr(ping, 'x')", "only finding, answer, status can be called"),
    ("finding('x')('y')", "only finding, answer, status can be called"),
])
def test_calls_and_private_attributes_are_rejected(source: str, why: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert str(info.value) == f"bad expression {source!r}: {why}"


@pytest.mark.parametrize("source, node", [
    ("[x for x in vars]", "ListComp"),
    ("{k: 1 for k in vars}", "DictComp"),
    ("(x for x in vars)", "GeneratorExp"),
    ("{x for x in vars}", "SetComp"),
    ("lambda: 1", "Lambda"),
    ("f'{ping}'", "JoinedStr"),
    ("ping if healthy else info", "IfExp"),
    ("{'a': 1}", "Dict"),
    ("ping.data.x * 10", "BinOp"),
    ("~ping", "Invert"),
])
def test_other_constructs_are_rejected(source: str, node: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert str(info.value) == (f"bad expression {source!r}: {node} is not allowed (use names, "
                               "comparisons, and/or/not, and finding()/answer()/status())")


def test_subscripts_cannot_reach_python_internals() -> None:
    # `ping['__class__']` parses (a key lookup), but data is read from plain mappings only.
    assert ev("ping['__class__'] == None")
    assert not ev("ping.status['__class__']")
    assert not ev("ping.data.samples_ms['__len__']")


# -- evaluation ------------------------------------------------------------------------------
@pytest.mark.parametrize("source, expected", [
    ("ping.status == 'pass'", True),
    ("ping.status != 'pass'", False),
    ("info.status == 'fail' and ping.data.connected", True),
    ("ping.data.latency_ms < 1", True),
    ("0 < ping.data.latency_ms < 0.1", False),
    ("ping.data.role in ['master', 'primary']", True),
    ("ping.data.role not in ('master',)", False),
    ("0.3 in ping.data.samples_ms", True),
    ("ping.data.samples_ms[-1] == 0.4", True),
    ("ping.data.versions == ['7.0', '7.2']", True),
    ("ping.data.nested.k == 'v'", True),
    ("ping.data['nested']['k'] == 'v'", True),
    ("'server.oom' in info.findings", True),
    ("'latency_ms' in ping.data", True),
    ("'missing' in ping.data", False),
    ("'missing' not in ping.data", True),
    ("not healthy", True),
    ("vars.write_probe", False),
    ("vars.backlog_jobs >= 1000", True),
    ("vars.app_queue == 'orchestrator'", True),
    ("target.scheme == 'rediss' or target.tls", False),
    ("target.port == 6379 and target.db == 0", True),
    ("-ping.data.latency_ms < 0", True),
    ("True", True),
    ("None", False),
])
def test_evaluation(source: str, expected: bool) -> None:
    assert ev(source) is expected


@pytest.mark.parametrize("source", [
    "tcp.status == 'pass'",          # a step that did not run
    "ping.data.missing > 3",          # None > 3
    "ping.data.missing.deeper == 1",
    "ping.data.role > 3",             # str > int
    "ping.data.samples_ms[9] == 1",   # index out of range
    "ping.data.role[0][0][5]",
    "ping.data.samples_ms['k']",
    "-ping.data.role",
    "ping.data.connected.x",
    "vars.nope",
    "ping.data.missing in ping.data.missing",
])
def test_missing_or_mismatched_data_is_false(source: str) -> None:
    assert ev(source) is False


def test_missing_data_is_false_even_when_negated_parts_are_true() -> None:
    # `not` of a missing value is True: conditions read "not finding(...)" as intended.
    assert ev("not tcp.status") is True
    assert ev("tcp.status != 'pass'") is True


@pytest.mark.parametrize("pattern, codes, expected", [
    ("network.*", ["network.refused"], True),
    ("network.*", ["config.malformed_url", "server.oom"], False),
    ("network.refused", ["network.refused"], True),
    ("network.ref*", ["network.refused"], True),
    ("net*", ["network.timeout"], True),
    ("*.oom", ["logs.oom"], True),
    ("network.*", [], False),
    ("Network.*", ["network.refused"], False),  # globs are case-sensitive, like the codes
    ("network.?efused", ["network.refused"], True),
])
def test_finding_globs(pattern: str, codes: list[str], expected: bool) -> None:
    assert ev(f"finding({pattern!r})", codes=codes) is expected


def test_answer_and_status() -> None:
    answers = {"restarted": "Redis", "same_url": False, "log_lines": ["OOM command not allowed"]}
    statuses = {"ping": "pass", "info": "skipped"}
    assert ev("answer('restarted') == 'Redis'", answers=answers)
    assert ev("answer('restarted') in ['Redis', 'Redis and RQ workers']", answers=answers)
    assert ev("answer('same_url') == False", answers=answers)
    assert ev("'OOM command not allowed' in answer('log_lines')", answers=answers)
    assert not ev("'Connection refused' in answer('log_lines')", answers=answers)
    assert ev("answer('never_asked') == None", answers=answers)
    assert not ev("answer('never_asked') == 'yes'", answers=answers)
    assert not ev("'x' in answer('never_asked')", answers=answers)
    assert ev("status('ping') == 'pass' and status('info') == 'skipped'", statuses=statuses)
    assert ev("status('tcp') == None", statuses=statuses)


def test_evaluation_of_an_empty_scope() -> None:
    assert ev("not finding('network.*') and not healthy", names={}) is True
    assert ev("vars.write_probe", names={}) is False
