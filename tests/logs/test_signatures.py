"""The shipped catalogue: valid, documented, and every signature matched by a real line."""

from __future__ import annotations

import pytest

from troubleshooter import playbook
from troubleshooter.checks.logs.signatures import CatalogueError, catalogue, parse
from troubleshooter.errors import PlaybookError
from troubleshooter.findings import CATALOGUE

from .conftest import RESOURCES, counts, scan

FIXTURES = sorted(RESOURCES.glob("real/*.log")) + sorted(RESOURCES.glob("src/*.log"))


def test_every_signature_has_a_documented_code_and_sound_fields() -> None:
    for sig in catalogue():
        assert sig.code in CATALOGUE, sig.id
        assert sig.corroborates == "" or sig.corroborates in CATALOGUE
        assert sig.patterns and sig.title and sig.source


def test_every_signature_matches_a_real_line(engine: str) -> None:
    found = counts(scan(FIXTURES, engine))
    missing = [sig.id for sig in catalogue() if not found.get(sig.id)]
    assert missing == []


def test_a_real_rq_worker_log(engine: str) -> None:
    """rq 3.0 worker output captured by test_real_lines.test_real_rq_workers."""
    result = scan([RESOURCES / "real" / "rq-worker.log"], engine)
    assert counts(result) == {"connection_refused": 1, "job_failed": 1, "worker_killed": 2,
                              "worker_name_taken": 2, "worker_shutdown": 1}
    refused = next(m for m in result.matches if m.signature.id == "connection_refused")
    assert refused.untimed == 0  # the traceback's last line, 45 lines below its record


def test_real_lines_are_attributed_exactly(engine: str) -> None:
    """Lines captured from redis-py 8 and redis-server 7 (tests/logs/capture_real.py)."""
    found = counts(scan([RESOURCES / "real" / "app-redis-py.log"], engine))
    assert found == {
        "connection_refused": 1, "timeout": 1, "auth_required": 2, "auth_failed": 1,
        "acl_denied": 1, "oom": 1, "readonly": 1, "master_down": 1, "persistence_failed": 1,
        "busy": 1, "max_clients": 1, "protected_mode": 1, "sentinel_no_master": 1,
        "loading": 1, "cluster": 2,
    }
    server = counts(scan([RESOURCES / "real" / "redis-server.log"], engine))
    assert server == {"redis_started": 4, "redis_shutdown": 2, "db_loaded": 1,
                      "overcommit_disabled": 2}


def test_both_engines_agree_on_every_fixture() -> None:
    a, b = scan(FIXTURES, "hyperscan"), scan(FIXTURES, "python")
    assert [(m.signature.id, m.count, m.first_seen, m.last_seen, m.samples) for m in a.matches] \
        == [(m.signature.id, m.count, m.first_seen, m.last_seen, m.samples) for m in b.matches]
    assert (a.engine, b.engine) == ("hyperscan", "python")


def test_a_broken_catalogue_names_file_line_and_field() -> None:
    text = ("signatures:\n"
            "  - id: oom\n"
            "    title: t\n"
            "    patterns: [ab]\n"
            "    severity: fatal\n")
    with pytest.raises(CatalogueError) as err:
        parse(text, "c.yaml")
    assert err.value.problems == [
        "c.yaml:4: signatures[oom].patterns[0]: expected a literal text of 4 to 200 "
        "characters on one line, got 2 characters (a short pattern matches nearly every line)",
        "c.yaml:5: signatures[oom].severity: expected one of error, warning, info, got "
        "string 'fatal'",
    ]


PLAYBOOK = """\
id: p
title: P
steps:
  - id: logs
    title: Logs
    actions:
      - id: scan
        check: log_scan
        with:
          since: {since}
          signatures:
{signatures}
"""


def _load(signatures: str, since: str = "1h") -> playbook.Playbook:
    return playbook.loads(PLAYBOOK.format(signatures=signatures, since=since), "p.yaml")


def test_a_playbook_adds_patterns_and_signatures() -> None:
    pb = _load("            - {id: oom, patterns: [\"ERR_OUT_OF_MEMORY\"]}\n"
               "            - {id: payment_redis, title: payments lost Redis, "
               "patterns: [\"PAYMENTS-REDIS-DOWN\"]}\n")
    assert pb.steps[0].actions[0].params["signatures"][1]["id"] == "payment_redis"


@pytest.mark.parametrize(("signatures", "since", "problem"), [
    ("            - {id: mine, title: t, patterns: [\"abcd\"], severity: error}\n", "1h",
     "p.yaml:12: steps[logs].actions[scan].with.signatures[mine].severity: a playbook's own "
     "signature is a warning or info: error findings need a code in docs/FINDINGS.md"),
    ("            - {id: mine, patterns: [\"abcd\"]}\n", "1h",
     "p.yaml:12: steps[logs].actions[scan].with.signatures[mine]: missing required field "
     "'title' ('mine' is not a shipped signature, so it is a new one)"),
    ("            - {id: oom, patterns: [\"a\\nb c d\"]}\n", "1h",
     "p.yaml:12: steps[logs].actions[scan].with.signatures[oom].patterns[0]: a pattern is one "
     "line of text: no newline, tab or control characters"),
    ("            - {id: oom, corroborates: server.nope}\n", "1h",
     "p.yaml:12: steps[logs].actions[scan].with.signatures[oom].corroborates: unknown finding "
     "code 'server.nope' (see docs/FINDINGS.md)"),
    ("            []\n", "yesterday",
     "p.yaml:10: steps[logs].actions[scan].with.since: 'yesterday': expected a duration such "
     "as 30m, 2h or 1d (units s, m, h, d) or a date such as 2026-11-25T10:00"),
])
def test_bad_playbook_signatures_fail_at_load_with_the_line(signatures: str, since: str,
                                                            problem: str) -> None:
    with pytest.raises(PlaybookError) as err:
        _load(signatures, since)
    assert problem in err.value.problems, err.value.problems


def test_the_catalogue_a_run_loads_is_the_validated_one() -> None:
    from importlib import resources

    text = resources.files("troubleshooter.checks.logs").joinpath("catalogue.yaml").read_text(
        encoding="utf-8")
    assert catalogue() == tuple(parse(text, "catalogue.yaml"))
