"""The playbook loader: every problem of a file, one `file:line: path: message` line each.

Each test asserts whole lines (file, line, path and text), so a message that loses its line
number, names the wrong place or says something vaguer fails here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from troubleshooter import cli, playbook
from troubleshooter.checks import CHECKS
from troubleshooter.checks.base import REQUIRED, CheckKind, Outcome, Param
from troubleshooter.errors import PlaybookError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "playbooks").glob("*.yaml"))
KNOWN_KINDS = ", ".join(sorted(CHECKS))

# A small, valid playbook; each test breaks one thing in it.
GOOD = """\
id: mini
title: Mini
variables:
  queue: {default: "", env: RQ_QUEUE_NAME}
steps:
  - id: net
    title: Network
    actions:
      - id: url
        check: redis_url
      - id: seen
        prompt: confirm
        question: "Is {{ target.address }} the right Redis for {{ queue }}?"
        when: "url.status == 'pass'"
"""


def problems(text: str, checks: Mapping[str, CheckKind] | None = None) -> list[str]:
    """The problem lines of a playbook that must not load."""
    with pytest.raises(PlaybookError) as info:
        playbook.loads(textwrap.dedent(text), "pb.yaml", checks)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def loaded(text: str) -> playbook.Playbook:
    return playbook.loads(textwrap.dedent(text), "pb.yaml")


def with_action(action: str) -> str:
    """GOOD with one more action (a flow mapping on line 15) in step `net`."""
    return GOOD + f"      - {action}\n"


def test_the_baseline_loads_without_warnings() -> None:
    pb = loaded(GOOD)
    assert (pb.id, pb.title, pb.warnings) == ("mini", "Mini", ())
    assert [a.id for a in pb.steps[0].actions] == ["url", "seen"]
    assert pb.variables["queue"].env == "RQ_QUEUE_NAME"


# -- YAML syntax ------------------------------------------------------------------------------
def test_yaml_syntax_error_has_line_and_column() -> None:
    assert problems("id: x\ntitle: T\n  steps: []\n") == [
        "pb.yaml:3:8: YAML syntax error: mapping values are not allowed here"]


def test_unclosed_quote_names_where_it_opened() -> None:
    assert problems("id: x\ntitle: 'T\nsteps: []\n") == [
        "pb.yaml:4:1: YAML syntax error: found unexpected end of stream "
        "(while scanning a quoted scalar at line 2, column 8)"]


def test_tab_indentation() -> None:
    assert problems("id: x\ntitle: T\nsteps:\n\t- id: a\n") == [
        "pb.yaml:4:1: YAML syntax error: found character '\\t' that cannot start any token"]


def test_control_character_is_a_syntax_error_with_its_place() -> None:
    assert problems("id: x\ntitle: T\x00\n") == [
        "pb.yaml:2:9: YAML syntax error: character #x0000 is not allowed in YAML "
        "(remove it; it is usually pasted by accident)"]


def test_two_documents() -> None:
    assert problems("id: x\n---\nid: y\n") == [
        "pb.yaml:2:1: YAML syntax error: expected a single document in the stream, "
        "but found another document"]


def test_deep_nesting_is_one_line_not_a_recursion_error() -> None:
    lines = problems("steps: " + "[" * 5000)
    # The column is where Python's recursion limit struck, which depends on the caller's stack.
    assert len(lines) == 1
    assert lines[0].startswith("pb.yaml:1:")
    assert lines[0].endswith(": YAML syntax error: document nests too deep or expands too far "
                             "(recursive alias?)")


@pytest.mark.parametrize("text, expected", [
    ("", "pb.yaml:1: (top): expected a playbook (a mapping with id, title and steps), "
         "got an empty file"),
    ("# only a comment\n", "pb.yaml:1: (top): expected a playbook (a mapping with id, title "
                           "and steps), got an empty file"),
    ("- id: x\n", "pb.yaml:1: (top): expected a playbook (a mapping with id, title and steps), "
                  "got list"),
    ("just text\n", "pb.yaml:1: (top): expected a playbook (a mapping with id, title and "
                    "steps), got string 'just text'"),
    # Some other file read as YAML (/etc/shadow): one line, and none of its content quoted.
    ("root:$6$salt$hash:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n",
     "pb.yaml:1: (top): expected a playbook (a mapping with id, title and steps), got a "
     "mapping of 2 key(s) with none of them"),
])
def test_not_a_mapping(text: str, expected: str) -> None:
    assert problems(text) == [expected]


# -- schema: types, required fields, unknown keys, duplicates ---------------------------------
def test_wrong_type() -> None:
    assert problems(GOOD.replace("title: Mini", "title: [Mini]")) == [
        "pb.yaml:2: title: expected a string, got list"]


def test_wrong_type_of_a_number() -> None:
    text = with_action("{id: tcp, check: tcp_connect, timeout: fast}")
    assert problems(text) == [
        "pb.yaml:15: steps[net].actions[tcp].timeout: expected a number, got string 'fast'"]


@pytest.mark.parametrize("value, got", [("-1", "-1"), (".nan", "nan")])
def test_number_below_minimum(value: str, got: str) -> None:
    text = with_action(f"{{id: tcp, check: tcp_connect, timeout: {value}}}")
    assert problems(text) == [
        f"pb.yaml:15: steps[net].actions[tcp].timeout: expected a number >= 0, got {got}"]


def test_boolean_is_not_a_number() -> None:
    text = with_action("{id: tcp, check: tcp_connect, timeout: true}")
    assert problems(text) == [
        "pb.yaml:15: steps[net].actions[tcp].timeout: expected a number, got boolean"]


def test_bad_choice() -> None:
    text = with_action("{id: q, prompt: ask, question: 'Why?'}")
    assert problems(text) == [
        "pb.yaml:15: steps[net].actions[q].prompt: expected one of confirm, select, text, "
        "checklist, got string 'ask'"]


def test_missing_required_fields() -> None:
    text = GOOD.replace("    title: Network\n", "").replace("title: Mini\n", "")
    assert problems(text) == [
        "pb.yaml:1: (top): missing required field 'title'",
        "pb.yaml:5: steps[net]: missing required field 'title'",
    ]


def test_missing_steps() -> None:
    assert problems("id: x\ntitle: T\n") == ["pb.yaml:1: (top): missing required field 'steps'"]


def test_bad_id() -> None:
    assert problems(GOOD.replace("- id: net", "- id: Net-1")) == [
        "pb.yaml:6: steps[0].id: expected an id (lower case letters, digits and _; starting "
        "with a letter), got string 'Net-1'"]


def test_unknown_key_is_a_warning_with_a_suggestion() -> None:
    pb = loaded(GOOD.replace("    title: Network\n", "    title: Network\n    guidence: x\n"))
    assert pb.warnings == (
        "pb.yaml:8: steps[net].guidence: warning: unknown key (ignored); did you mean "
        "'guidance'?",)


def test_unknown_key_without_a_close_match() -> None:
    pb = loaded(GOOD + "owner: ops\n")
    assert pb.warnings == ("pb.yaml:15: owner: warning: unknown key (ignored)",)


def test_non_string_keys_are_named_as_written_on_their_own_line() -> None:
    pb = loaded(GOOD + "5: five\ntrue: yes\n")
    assert pb.warnings == ("pb.yaml:15: 5: warning: unknown key (ignored)",
                           "pb.yaml:16: true: warning: unknown key (ignored)")


def test_an_odd_key_is_quoted_so_the_message_stays_one_line() -> None:
    pb = loaded(GOOD + '"two\\nlines": x\n')
    assert pb.warnings == ("pb.yaml:15: 'two\\nlines': warning: unknown key (ignored)",)


def test_duplicate_key() -> None:
    text = GOOD.replace("        check: redis_url\n",
                        "        check: redis_url\n        check: dns_resolve\n")
    assert problems(text) == [
        "pb.yaml:11: steps[net].actions[url].check: duplicate key (first at line 10)"]


def test_duplicate_top_level_key() -> None:
    assert problems(GOOD + "title: Other\n") == [
        "pb.yaml:15: title: duplicate key (first at line 2)"]


def test_duplicate_key_in_a_flow_mapping() -> None:
    assert problems(with_action("{id: dns, check: dns_resolve, id: dns2}")) == [
        "pb.yaml:15: steps[net].actions[dns].id: duplicate key (first at line 15)"]


def test_merge_keys_are_yaml_not_unknown_keys() -> None:
    pb = loaded(GOOD + """\
  - id: later
    title: Later
    actions:
      - &probe {id: tcp, check: tcp_connect, timeout: 2}
      - <<: *probe
        id: tcp_again
""")
    again = pb.steps[1].actions[1]
    assert (again.id, again.check, again.timeout) == ("tcp_again", "tcp_connect", 2)
    assert pb.warnings == ()


def test_a_merged_value_is_reported_where_it_is_written() -> None:
    text = GOOD + """\
  - id: later
    title: Later
    actions:
      - &probe {id: tcp, check: tcp_connect, timeout: -2}
      - <<: *probe
        id: tcp_again
"""
    assert problems(text) == [
        "pb.yaml:18: steps[later].actions[tcp].timeout: expected a number >= 0, got -2",
        "pb.yaml:18: steps[later].actions[tcp_again].timeout: expected a number >= 0, got -2",
    ]


def test_a_bad_merge_is_one_syntax_line() -> None:
    assert problems("id: x\ntitle: T\nsteps: []\nextra: {<<: 3}\n") == [
        "pb.yaml:4:13: YAML syntax error: `<<` merges a mapping or a list of mappings, got '3'"]


def test_bad_tagged_scalars_are_kept_as_text() -> None:
    # PyYAML's constructors raise ValueError on these; the loader keeps what was written.
    pb = loaded(GOOD.replace("title: Mini", "title: !!int many").replace(
        "title: Network", "title: 2024-13-45"))
    assert (pb.title, pb.steps[0].title) == ("many", "2024-13-45")


def test_python_tags_are_not_constructed() -> None:
    text = GOOD.replace("title: Mini", "title: !!python/object/apply:os.getcwd []")
    assert problems(text) == ["pb.yaml:2: title: expected a string, got list"]
    pb = loaded(GOOD.replace("title: Mini", "title: !!python/name:os.system x"))
    assert pb.title == "x"


# -- cross-checks: ids, conditions, kinds, codes, templates, prompts --------------------------
def test_duplicate_id() -> None:
    text = with_action("{id: url, check: dns_resolve}")
    assert problems(text) == [
        "pb.yaml:15: steps[net].actions[url].id: duplicate id 'url': step and action ids must "
        "be unique"]


def test_condition_refers_to_an_unknown_id() -> None:
    text = GOOD.replace("url.status == 'pass'", "dns.status == 'pass'")
    assert problems(text) == [
        "pb.yaml:14: steps[net].actions[seen].when: condition refers to unknown id 'dns' (only "
        "steps and actions declared before it can be used)"]


def test_condition_cannot_refer_forward() -> None:
    text = GOOD.replace("        check: redis_url\n",
                        "        check: redis_url\n        when: \"answer('seen') == True\"\n")
    assert problems(text) == [
        "pb.yaml:11: steps[net].actions[url].when: condition refers to unknown id 'seen' (only "
        "steps and actions declared before it can be used)"]


def test_condition_with_bad_syntax() -> None:
    text = GOOD.replace("url.status == 'pass'", "url.status = 'pass'")
    lines = problems(text)
    assert lines == [
        "pb.yaml:14: steps[net].actions[seen].when: bad expression \"url.status = 'pass'\": "
        "invalid syntax"]


def test_condition_with_a_forbidden_construct() -> None:
    text = GOOD.replace("url.status == 'pass'", "url.status.__class__")
    assert problems(text) == [
        "pb.yaml:14: steps[net].actions[seen].when: bad expression 'url.status.__class__': "
        "private attribute '__class__'"]


def test_condition_with_an_unknown_finding_code() -> None:
    text = GOOD.replace("url.status == 'pass'", "finding('netwrk.*')")
    assert problems(text) == [
        "pb.yaml:14: steps[net].actions[seen].when: condition names unknown finding code "
        "'netwrk.*'"]


def test_condition_that_is_not_a_string() -> None:
    text = GOOD.replace("\"url.status == 'pass'\"", "[1]")
    assert problems(text) == [
        "pb.yaml:14: steps[net].actions[seen].when: expected a condition expression (a string), "
        "got list"]


def test_unknown_check_kind() -> None:
    assert problems(with_action("{id: pingg, check: redis_pingg}")) == [
        f"pb.yaml:15: steps[net].actions[pingg].check: unknown check kind 'redis_pingg' "
        f"(known: {KNOWN_KINDS})"]


def test_check_that_is_not_a_string_is_reported_once() -> None:
    assert problems(with_action("{id: x, check: [redis_url]}")) == [
        "pb.yaml:15: steps[net].actions[x].check: expected a string, got list"]


def test_unknown_finding_code_in_an_outcome() -> None:
    text = with_action("{id: x, check: dns_resolve, outcomes: [{code: network.dns_fail}]}")
    assert problems(text) == [
        "pb.yaml:15: steps[net].actions[x].outcomes[0].code: unknown finding code "
        "'network.dns_fail' (see docs/FINDINGS.md)"]


def test_unknown_finding_code_in_a_diagnosis_rule() -> None:
    text = GOOD + "diagnosis:\n  rules:\n    - {when: \"finding('network.*')\", code: net.x}\n"
    assert problems(text) == [
        "pb.yaml:17: diagnosis.rules[0].code: unknown finding code 'net.x' (see docs/FINDINGS.md)"]


def test_check_parameter_of_the_wrong_type() -> None:
    text = with_action("{id: u2, check: redis_url, with: {require_tls: 3}}")
    assert problems(text) == [
        "pb.yaml:15: steps[net].actions[u2].with.require_tls: expected true or false, "
        "got integer 3"]


def test_unknown_check_parameter_is_a_warning() -> None:
    pb = loaded(with_action("{id: u2, check: redis_url, with: {require_ssl: true}}"))
    assert pb.warnings == (
        "pb.yaml:15: steps[net].actions[u2].with.require_ssl: warning: unknown parameter of "
        "'redis_url' (ignored); known: require_tls",)


def test_with_that_is_not_a_mapping() -> None:
    assert problems(with_action("{id: u2, check: redis_url, with: [1]}")) == [
        "pb.yaml:15: steps[net].actions[u2].with: expected a mapping, got list"]


def test_missing_required_check_parameter() -> None:
    # No shipped kind has a required parameter yet; register one for this test only.
    kind = CheckKind("needs_name", lambda ctx: Outcome("pass", "ok"), "test kind",
                     params={"name": Param(str, REQUIRED, "a name")})
    assert problems(with_action("{id: n, check: needs_name}"), {**CHECKS, kind.name: kind}) == [
        "pb.yaml:15: steps[net].actions[n].with: missing required parameter 'name'"]


def test_destructive_kind_must_be_marked() -> None:
    assert problems(with_action("{id: rq, check: rq_requeue}")) == [
        "pb.yaml:15: steps[net].actions[rq].destructive: check 'rq_requeue' changes the target: "
        "mark it `destructive: true`"]


def test_unknown_template_variable() -> None:
    text = GOOD.replace("{{ queue }}", "{{ queu }}")
    assert problems(text) == [
        "pb.yaml:13: steps[net].actions[seen].question: unknown template variable 'queu' "
        "(variables: queue)"]


def test_unknown_target_field_and_malformed_templates() -> None:
    text = GOOD.replace("{{ target.address }}", "{{ target.addr }} {{ target.url.x }} {{ }}")
    assert problems(text) == [
        "pb.yaml:13: steps[net].actions[seen].question: unknown template name 'target.addr' "
        "(target has: url, host, port, db, scheme, address, source)",
        "pb.yaml:13: steps[net].actions[seen].question: unknown template name 'target.url.x' "
        "(target has: url, host, port, db, scheme, address, source)",
        "pb.yaml:13: steps[net].actions[seen].question: empty template `{{ }}`: put a variable "
        "name (or target.<field>) inside",
    ]


def test_broken_variables_do_not_also_fail_every_template() -> None:
    text = GOOD.replace("  queue: {default: \"\", env: RQ_QUEUE_NAME}", "  - queue")
    assert problems(text) == ["pb.yaml:3: variables: expected a mapping, got list"]


@pytest.mark.parametrize("action, expected", [
    ("{id: q, check: redis_url, prompt: confirm, question: 'Q?'}",
     "pb.yaml:15: steps[net].actions[q]: an action has either `check` or `prompt`, not both"),
    ("{id: q, title: Nothing to do}",
     "pb.yaml:15: steps[net].actions[q]: missing required field 'check' or 'prompt'"),
    ("{id: q, prompt: confirm}",
     "pb.yaml:15: steps[net].actions[q]: missing required field 'question' (what the "
     "operator is asked)"),
    ("{id: q, prompt: select, question: 'Which?'}",
     "pb.yaml:15: steps[net].actions[q]: a select prompt needs `choices`"),
    ("{id: q, prompt: select, question: 'Which?', choices: [a, b], default: c}",
     "pb.yaml:15: steps[net].actions[q].default: default 'c' is not one of the choices"),
    ("{id: q, prompt: confirm, question: 'Sure?', default: 'yes'}",
     "pb.yaml:15: steps[net].actions[q].default: a confirm default is true or false, "
     "got 'yes'"),
    ("{id: q, prompt: checklist, question: 'Which?', choices: [a], default: a}",
     "pb.yaml:15: steps[net].actions[q].default: a checklist default is a list of its "
     "choices"),
    ("{id: q, prompt: confirm, question: 'Sure?', outcomes: [{code: config.mismatch}]}",
     "pb.yaml:15: steps[net].actions[q].outcomes[0]: a prompt's outcome needs `when` (a "
     "condition on the answer)"),
    ("{id: q, prompt: select, question: 'Which?', choices: 3, default: a}",
     "pb.yaml:15: steps[net].actions[q].choices: expected a list, got integer 3"),
    ("{id: q, prompt: confirm, question: 'Sure?', outcomes: [3]}",
     "pb.yaml:15: steps[net].actions[q].outcomes[0]: expected a mapping, got integer 3"),
])
def test_prompt_problems(action: str, expected: str) -> None:
    assert problems(with_action(action)) == [expected]


def test_destructive_prompt_is_a_warning() -> None:
    pb = loaded(with_action("{id: q, prompt: confirm, question: 'Sure?', destructive: true}"))
    assert pb.warnings == (
        "pb.yaml:15: steps[net].actions[q].destructive: warning: only checks run by the tool "
        "can be destructive",)


# -- all problems at once, in line order --------------------------------------------------------
def test_every_problem_is_reported_in_line_order() -> None:
    text = """\
        id: Broken
        title: Broken
        colour: red
        steps:
          - id: net
            title: 3
            when: "nope.status == 'pass'"
            actions:
              - {id: url, check: redis_urll}
              - {id: url, prompt: confirm, question: "{{ missing }}?"}
          - id: later
            titel: Later
        title: Again
        """
    assert problems(text) == [
        "pb.yaml:1: id: expected a name (lower case letters, digits, _ and -; starting with a "
        "letter), got string 'Broken'",
        "pb.yaml:3: colour: warning: unknown key (ignored)",
        "pb.yaml:6: steps[net].title: expected a string, got integer 3",
        "pb.yaml:7: steps[net].when: condition refers to unknown id 'nope' (only steps and "
        "actions declared before it can be used)",
        f"pb.yaml:9: steps[net].actions[url].check: unknown check kind 'redis_urll' "
        f"(known: {KNOWN_KINDS})",
        "pb.yaml:10: steps[net].actions[url].id: duplicate id 'url': step and action ids must "
        "be unique",
        "pb.yaml:10: steps[net].actions[url].question: unknown template variable 'missing' "
        "(variables: none declared)",
        "pb.yaml:11: steps[later]: missing required field 'title'",
        "pb.yaml:12: steps[later].titel: warning: unknown key (ignored); did you mean 'title'?",
        "pb.yaml:13: title: duplicate key (first at line 2)",
    ]


def test_warnings_alone_do_not_fail() -> None:
    pb = loaded(GOOD + "owner: ops\n")
    assert pb.id == "mini" and len(pb.warnings) == 1


# -- the shipped playbooks -----------------------------------------------------------------------
@pytest.mark.parametrize("path", [*SHIPPED, ROOT / "tests" / "resources" / "network-only.yaml"],
                         ids=lambda p: p.name)
def test_shipped_playbooks_validate_without_warnings(path: Path) -> None:
    pb = playbook.load(path)
    assert pb.warnings == ()
    assert pb.steps and all(step.title for step in pb.steps)


def test_the_outage_playbook_ships() -> None:
    assert ROOT / "playbooks" / "redis-outage.yaml" in SHIPPED


# -- `troubleshooter validate` -------------------------------------------------------------------
def validate(capsys: pytest.CaptureFixture[str], *files: Path) -> tuple[int, list[str], list[str]]:
    code = cli.main(["validate", *map(str, files)])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yaml", GOOD)
    assert validate(capsys, good) == (0, [f"{good}: ok (mini: 1 steps, 2 actions)"], [])


def test_validate_warnings_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warned = write(tmp_path, "warned.yaml", GOOD + "owner: ops\n")
    assert validate(capsys, warned) == (
        0, [f"{warned}: ok (mini: 1 steps, 2 actions)"],
        [f"{warned}:15: owner: warning: unknown key (ignored)"])


def test_validate_broken_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", "id: x\ntitle: T\nsteps: 3\nextra: 1\n")
    assert validate(capsys, bad, good) == (
        2, [f"{good}: ok (mini: 1 steps, 2 actions)"],
        [f"{bad}:3: steps: expected a list, got integer 3",
         f"{bad}:4: extra: warning: unknown key (ignored)"])


def test_validate_yaml_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", "id: x\ntitle: [T\n")
    assert validate(capsys, bad) == (
        2, [], [f"{bad}:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
                "(while parsing a flow sequence at line 2, column 8)"])


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.yaml"
    assert validate(capsys, missing) == (
        2, [], [f"{missing}: cannot read playbook: No such file or directory"])


def test_validate_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(capsys, tmp_path) == (2, [], [f"{tmp_path}: cannot read playbook: "
                                                  "it is a directory, not a regular file"])


def test_validate_non_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("id: x\ntitle: Caf\u00e9\nsteps: []\n".encode("latin-1"))
    assert validate(capsys, latin) == (
        2, [], [f"{latin}:2: cannot read playbook: byte 0xe9 is not UTF-8 text; save the file "
                "as UTF-8"])


def test_validate_shipped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, *SHIPPED)
    assert (code, err) == (0, [])
    assert [line.split(": ok (")[0] for line in out] == [str(p) for p in SHIPPED]
