"""The side-by-side table and the restart plan, rendered from a check's data: untrusted text
made visible, never read as markup; secrets arrive masked and stay so."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from troubleshooter.checks.base import CheckContext
from troubleshooter.checks.config.check import run_config_sources
from troubleshooter.session import CheckRecord
from troubleshooter.target import parse_target
from troubleshooter.ui.config import render_extra


def _text(kind: str, data: dict[str, Any], status: str = "warn") -> str:
    console = Console(record=True, width=140, file=io.StringIO())
    render_extra(console, CheckRecord("x", kind, "", {}, status, "", "", 0.0, 0.0, data=data))
    return console.export_text()


def test_sources_side_by_side_with_secrets_masked(tmp_path: Path) -> None:
    (tmp_path / "worker.env").write_text(
        "REDIS_URL=redis://:hunter2@127.0.0.1:6380/0\nRQ_QUEUE_NAME=[red]staging\x1b[2J\n")
    ctx = CheckContext(target=parse_target("redis://127.0.0.1:6379/0"), timeout=5,
                       params={"files": [str(tmp_path / "worker.env")], "env_files": [],
                               "pids": [], "app_queue": "orchestrator", "scan_workers": False})
    out = run_config_sources(ctx)
    text = _text("config_sources", dict(out.data))
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].split() == ["source", "Redis", "(secrets", "masked)", "queues",
                                "connected", "to"]
    assert "this run (--url)" in lines[1] and "orchestrator" in lines[1]
    assert "redis://:***@127.0.0.1:6380/0" in text and "(REDIS_URL)" in text
    assert "[red]staging\\x1b[2J" in text  # markup shown as text, ESC made visible
    assert "hunter2" not in text and "\x1b" not in text


def test_the_walk_through_and_the_dry_run_plan() -> None:
    data = {
        "redis": {"evidence": "process 42 (redis-server) listens on port 6379", "restart": [],
                  "manual": ["Stop it: kill 42", "Check: redis-cli -p 6379 PING"]},
        "workers": {"evidence": "supervisor programs rq\x07", "restart": [
            "supervisorctl", "restart", "rq"]},
        "plan": [{"what": "restart the workers", "command": "supervisorctl restart rq"}],
        "dry_run": True,
    }
    text = _text("service_detect", data)
    assert "1. Stop it: kill 42" in text and "2. Check: redis-cli -p 6379 PING" in text
    assert "restart with: supervisorctl restart rq" in text and "rq\\x07" in text
    assert "would run (dry run, nothing is run):" in text
    assert "restart the workers: supervisorctl restart rq" in text


def test_a_skipped_restart_shows_nothing_more() -> None:
    assert _text("service_restart", {"output": "x"}, status="skipped") == ""
    assert "| Job for redis" in _text("service_restart",
                                      {"output": "Job for redis failed"}, status="fail")


def test_hostile_values_reach_the_terminal_as_visible_text() -> None:
    from tests.hostile.terminal_kit import EVERYTHING, foreign_controls

    row = {"name": EVERYTHING, "url": EVERYTHING, "url_from": EVERYTHING,
           "queues": [EVERYTHING], "queues_from": EVERYTHING, "connected_to": [EVERYTHING]}
    service = {"evidence": EVERYTHING, "restart": [], "manual": [EVERYTHING]}
    cases = [
        ("config_sources", {"target": {"source": EVERYTHING, "url": EVERYTHING,
                                       "app_queue": EVERYTHING},
                            "sources": [row], "problems": [EVERYTHING], "notes": [EVERYTHING]}),
        ("service_detect", {"redis": service, "workers": {**service, "restart": [EVERYTHING]},
                            "notes": [EVERYTHING], "dry_run": True,
                            "plan": [{"what": EVERYTHING, "command": EVERYTHING}]}),
        ("service_restart", {"output": EVERYTHING}),
    ]
    for kind, data in cases:
        console = Console(record=True, width=100, file=io.StringIO(), force_terminal=True)
        render_extra(console, CheckRecord("x", kind, "", {}, "fail", "", "", 0.0, 0.0,
                                          data=data))
        out = console.file.getvalue()  # type: ignore[attr-defined]
        assert foreign_controls(out) == [], kind
        assert "\nNo problem found" not in out, kind
