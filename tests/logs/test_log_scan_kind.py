"""log_scan in a run: against a real redis-server, its real log, and real faults."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from troubleshooter import playbook
from troubleshooter.checks import CHECKS
from troubleshooter.checks.logs.window import iso
from troubleshooter.engine import Engine, RunOptions
from troubleshooter.events import Nobody
from troubleshooter.lab import faults
from troubleshooter.lab.server import RedisServer
from troubleshooter.library import resolve
from troubleshooter.session import Session
from troubleshooter.target import parse_target

REFUSED = "redis.exceptions.ConnectionError: Error 111 connecting to r:6379. Connection refused."
OOM = "redis.exceptions.OutOfMemoryError: command not allowed when used memory > 'maxmemory'."

PLAYBOOK = """\
id: t
title: T
variables:
  logs: []
steps:
  - id: server
    title: Server
    actions:
      - {id: ping, check: redis_ping}
      - {id: info, check: redis_info}
  - id: logs
    title: Logs
    actions:
      - id: scan
        check: log_scan
        with: {sources: "{{ logs }}", since: 1h}
"""


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S,000")


def run(url: str, logs: list[str], text: str = PLAYBOOK, **variables: Any) -> Session:
    pb = playbook.loads(text, "t.yaml")
    options = RunOptions(timeout=2.0, variables={"logs": logs, **variables})
    return Engine(pb, parse_target(url), Nobody(), options, CHECKS, environ={}).run()


def check(session: Session, ident: str) -> Any:
    return next(c for s in session.steps for c in s.checks if c.id == ident)


def test_errors_logged_while_redis_answers_now_are_an_outage_that_passed(
        redis_server: RedisServer, tmp_path: Path) -> None:
    now = int(time.time())
    log = tmp_path / "app.log"
    log.write_text(f"{stamp(now - 7200)} ERROR {REFUSED}\n"  # before the window
                   + "".join(f"{stamp(now - 1200 + i * 300)} ERROR {REFUSED}\n"
                             for i in range(3)))
    session = run(redis_server.url, [str(log)])
    scan = check(session, "scan")
    codes = [f.code for f in scan.findings]
    assert codes[0] == "logs.outage_passed"
    passed = scan.findings[0]
    assert passed.evidence[:2] == (f"started: {iso(now - 1200)}", f"ended: {iso(now - 600)}")
    assert "(3 lines) but Redis answers now: the outage happened and has passed" in \
        passed.message
    refused = next(f for f in scan.findings if f.code == "logs.connection_refused")
    assert refused.severity == "warning"  # history, not the present
    # The real server's own log, found with CONFIG GET logfile: it started moments ago.
    assert "logs.redis_started" in codes
    assert str(redis_server.logfile) in scan.data["read"]
    assert session.diagnosis is None and not session.has_errors


def test_a_log_finding_corroborates_the_live_one_and_joins_its_evidence(
        redis_server: RedisServer, tmp_path: Path) -> None:
    now = int(time.time())
    log = tmp_path / "worker.log"
    log.write_text(f"{stamp(now - 60)} ERROR {OOM}\n{stamp(now - 30)} ERROR {OOM}\n")
    with faults.fill_memory(redis_server):
        session = run(redis_server.url, [str(log)])
    oom = next(f for f in session.findings if f.code == "server.oom")
    line = next(e for e in oom.evidence if e.startswith("log: "))
    assert line.startswith(f"log: writes refused for memory (OOM): 2 lines in {log} (")
    assert session.diagnosis is not None and session.diagnosis.code == "server.oom"
    assert line in session.diagnosis.evidence
    scan = check(session, "scan")
    logged = next(f for f in scan.findings if f.code == "logs.oom")
    assert logged.severity == "error" and logged.message.endswith("(confirms server.oom)")
    assert "logs.outage_passed" not in {f.code for f in scan.findings}


@pytest.mark.slow
def test_shipped_playbook_asks_the_checklist_only_without_a_source(tmp_path: Path) -> None:
    closed = "redis://127.0.0.1:1/0"  # nothing there: no Redis log to discover either
    pb = playbook.load(resolve(None, {}))

    def logs_step(logs: list[str]) -> Any:
        options = RunOptions(timeout=1.0, variables={**{n: v.default for n, v in
                                                        pb.variables.items()}, "logs": logs})
        session = Engine(pb, parse_target(closed), Nobody(), options, CHECKS, environ={}).run()
        return next(s for s in session.steps if s.id == "logs")

    step = logs_step([])
    assert [c.status for c in step.checks] == ["skipped"]
    assert [a.status for a in step.answers] == ["pending"]
    log = tmp_path / "app.log"
    log.write_text(f"{stamp(time.time() - 60)} ERROR {REFUSED}\n")
    step = logs_step([str(log)])
    assert [(c.status, [f.code for f in c.findings]) for c in step.checks] == [
        ("fail", ["logs.connection_refused"])]
    assert [a.status for a in step.answers] == ["skipped"]


def test_the_wizard_shows_the_scan_under_step_3(redis_server: RedisServer, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from troubleshooter import cli

    monkeypatch.setenv("COLUMNS", "120")
    now = int(time.time())
    log = tmp_path / "app.log"
    log.write_text("".join(f"{stamp(now - 300 + i)} ERROR {REFUSED} \x1b[31m\n"
                           for i in range(3)))
    code = cli.main(["run", "--url", redis_server.url, "--non-interactive", "--log", str(log),
                     "--save", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert code == 0, out  # Redis answers: the outage has passed (warnings)
    assert "logs.connection_refused  3 lines" in out
    assert "\\x1b[31m" in out and "\x1b[31m" not in out
    assert "per minute" in out and "logs.outage_passed" in out
    assert "Which of these do the logs show?" not in out


def _scan_only(url: str, **params: Any) -> Any:
    text = ("id: t\ntitle: T\nsteps:\n  - id: logs\n    title: Logs\n    actions:\n"
            "      - {id: scan, check: log_scan}\n")
    pb = playbook.loads(text, "t.yaml")
    return check(Engine(pb, parse_target(url), Nobody(), RunOptions(timeout=2.0), CHECKS,
                        environ={}).run(), "scan")


def test_without_config_access_the_usual_redis_log_directory_is_read(
        redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from troubleshooter.checks.logs import kind

    logs = tmp_path / "var-log-redis"
    logs.mkdir()
    (logs / "redis-server.log").write_text(
        f"812:M {datetime.now().strftime('%d %b %Y %H:%M:%S')}.000 # Background saving error\n")
    monkeypatch.setattr(kind, "REDIS_LOG_DIR", str(logs))
    with faults.acl_user(redis_server, "app", "pw", "~*", "+@all", "-config"):
        url = redis_server.url.replace("redis://", "redis://app:pw@")
        scan = _scan_only(url)
    assert scan.details[0] == "the Redis log: CONFIG GET logfile refused (NoPermissionError)"
    assert scan.data["read"] == [str(logs / "redis-server.log")]
    assert [f.code for f in scan.findings] == ["logs.persistence_failed"]


def test_a_redis_logging_to_stdout_is_a_note_and_no_source(tmp_path: Path) -> None:
    with RedisServer("--logfile", "") as server:
        scan = _scan_only(server.url)
    assert scan.status == "skipped"
    assert scan.details == ("the Redis log: Redis logs to its standard output (read it with "
                            "--log journal:UNIT or --log docker:NAME)",)


def test_a_redis_that_did_not_answer_is_not_asked_where_it_logs(
        redis_server: RedisServer) -> None:
    with faults.paused(redis_server):
        pb = playbook.loads(PLAYBOOK.replace("      - {id: info, check: redis_info}\n", ""),
                            "t.yaml")
        options = RunOptions(timeout=0.5, variables={"logs": []})
        session = Engine(pb, parse_target(redis_server.url), Nobody(), options, CHECKS,
                         environ={}).run()
    scan = check(session, "scan")
    assert check(session, "ping").status == "fail"
    assert scan.status == "skipped" and scan.details == ()  # not "could not ask Redis..."


def test_a_bad_window_from_a_variable_is_the_check_s_error(tmp_path: Path) -> None:
    text = PLAYBOOK.replace("since: 1h", 'since: "{{ window }}"').replace(
        "variables:\n", "variables:\n  window: 1h\n")
    session = run("redis://127.0.0.1:1/0", [], text, window="last tuesday")
    scan = check(session, "scan")
    assert (scan.status, scan.summary) == (
        "error", "since: 'last tuesday': expected a duration such as 30m, 2h or 1d (units s, m, "
                 "h, d) or a date such as 2026-11-25T10:00")
    assert session.status != "healthy"


def test_a_redis_log_this_user_may_not_read_is_a_note(redis_server: RedisServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from troubleshooter.checks.logs import kind

    # Root reads every file: the permission is refused by a stand-in, the rest is real.
    monkeypatch.setattr(kind.os, "access", lambda path, mode: False)
    notes: list[str] = []
    assert kind._config_logfile(parse_target(redis_server.url), notes, 2.0) is None
    assert notes == [f"the Redis log {redis_server.logfile} is not readable by this user"]
