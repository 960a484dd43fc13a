"""One document, redacted once, rendered to Markdown, HTML and JSON; hostile text stays text."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from troubleshooter import report
from troubleshooter.findings import finding
from troubleshooter.redaction import Redactor
from troubleshooter.session import AnswerRecord, CheckRecord, Diagnosis, Session, StepRecord

PW = "report-Secret-77"
HOSTILE = "\x1b]0;pwned\x07<script>alert(1)</script> *bold* | [link](http://x) \u202eevil"


def session() -> Session:
    oom = finding("server.oom", f"used_memory at maxmemory {HOSTILE}", f"AUTH {PW}")
    check = CheckRecord("info", "redis_info", "INFO is sound", {}, "fail", oom.message,
                        "2026-01-01T10:00:01.000Z", 3.0, 3.0, (oom,))
    risky = CheckRecord("requeue", "rq_requeue", "Requeue", {}, "skipped",
                        "destructive: not run non-interactively without --yes",
                        "2026-01-01T10:00:02.000Z", 0.0, 0.0)
    server = StepRecord("server", "Redis server status", "problems",
                        started_at="2026-01-01T10:00:00.500Z", checks=[check, risky],
                        findings=[oom], finished_at="2026-01-01T10:00:03.000Z")
    logs = StepRecord("logs", "Logs", "pending", started_at="2026-01-01T10:00:03.000Z",
                      answers=[AnswerRecord("seen", "confirm", "Seen the logs?", "pending",
                                            at="2026-01-01T10:00:03.100Z")])
    return Session(
        trace_id="ab12cd34" * 4, playbook={"id": "p", "title": "Our Redis", "version": 1},
        target={"url": "redis://:***@h:6379/0", "source": "--url", "password_set": True},
        mode="non-interactive", variables={}, started_at="2026-01-01T10:00:00.000Z",
        finished_at="2026-01-01T10:00:04.000Z", status="problems", ended_by="finished",
        steps=[server, logs],
        diagnosis=Diagnosis("server.oom", "Out of memory", oom.message, "Free memory.",
                            oom.evidence, "server"),
        support={"contact": "platform on-call", "where": "#incidents", "attach": ["logs"],
                 "notes": ""},
    )


def test_markdown_sections_and_escaping() -> None:
    md = report.render_all(session(), ["md"], Redactor([PW]))["md"]
    assert md.startswith("# Incident report: Our Redis\n\n## Diagnosis\n\n"
                         "**server.oom — Out of memory**\n")
    assert "- AUTH \\*\\*\\*\n" in md  # the evidence, redacted before it was formatted
    # Visible escapes (their backslash escaped for Markdown), markup characters escaped.
    assert (r"\\x1b\]0;pwned\\x07\<script\>alert(1)\</script\> \*bold\* \| "
            r"\[link\](http://x) \\u202eevil") in md
    assert "\x1b" not in md and "\u202e" not in md and PW not in md
    assert ("## Open manual items\n\n- Redis server status: Requeue (not run: destructive: "
            "not run non-interactively without --yes)\n- Logs: Seen the logs? (nobody "
            "answered)\n- Logs: the step did not finish (\\`troubleshooter resume\\`)\n") in md
    assert "## Next steps\n\n- server.oom: Free memory.\n" in md
    assert "- If this does not bring Redis back, escalate to platform on-call." in md
    assert "| 10:00:01 | Redis server status | checked: INFO is sound | fail: " in md


def test_html_is_escaped_and_self_contained() -> None:
    page = report.render_all(session(), ["html"], Redactor([PW]))["html"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\x07" not in page and "\u202e" not in page
    assert "\\x1b]0;pwned\\x07" in page and PW not in page
    assert '<section id="diagnosis">' in page
    assert "default-src 'none'" in page and "@media print" in page
    assert 'name="viewport"' in page


def test_write_redacts_once_then_formats_every_format(tmp_path: Path) -> None:
    paths = report.write(session(), ["json", "md", "html"], Redactor([PW]), tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == ["report.html", "report.json", "report.md"]
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert PW not in path.read_text()
    doc = json.loads(paths["json"].read_text())
    assert doc["diagnosis"]["evidence"] == ["AUTH ***"]
    assert doc["diagnosis"]["summary"].startswith("used_memory at maxmemory \x1b]0;pwned")  # exact
    assert {"kind": "URL password", "where": "target.url", "count": 1} in doc["redactions"]
    kinds = {r["kind"] for r in doc["redactions"]}
    assert "AUTH/HELLO argument" in kinds or "known secret (URL password, secret variable " \
                                             "or marked value)" in kinds


def test_a_new_format_is_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(report.FORMATS, "codes", lambda doc: " ".join(
        f["code"] for f in doc["findings"]))
    assert report.render_all(session(), ["codes"], Redactor())["codes"] == "server.oom"
