"""The bundle's members from a transcript: log excerpts of step 3, the server's state as read,
the versions; and `resume`'s choice of URL when the transcript masked a password."""

from __future__ import annotations

import pytest

from troubleshooter import bundle
from troubleshooter.commands import _resume_url
from troubleshooter.errors import UsageError
from troubleshooter.redaction import Redactor

DOC = {
    "schema": "troubleshooter.session/1", "trace_id": "ab" * 16,
    "started_at": "2026-01-01T10:00:00.000Z", "status": "problems", "ended_by": "finished",
    "playbook": {"id": "p", "title": "P", "path": "/nonexistent/p.yaml"},
    "target": {"url": "redis://h:6379/0"},
    "steps": [
        {"id": "logs", "title": "Logs", "checks": [
            {"id": "scan", "kind": "log_scan", "status": "warn",
             "details": ["10:00:01 redis.exceptions.ConnectionError: Error 111",
                         "10:00:02 AUTH leaked-pw-1234"],
             "data": {"excerpt": "line a\nline b with API_TOKEN=tok-xyz-99"}}]},
        {"id": "support", "title": "Support", "checks": [
            {"id": "bundle", "kind": "support_bundle", "status": "pass", "data": {"snapshot": {
                "INFO": "# Server\nredis_version:7.2.4\n",
                "CONFIG": {"maxmemory": "0", "requirepass": "***"},
                "SLOWLOG": [], "LATENCY": {"error": "NOPERM this user has no permissions"},
                "CLIENTS": {"total": 3, "by_name": {"rq:worker:a": 2}}}}}]},
    ],
}


def test_members_from_a_transcript() -> None:
    members = bundle.build(DOC, Redactor())
    assert sorted(members) == [
        "REDACTIONS.txt", "VERSIONS.txt", "logs/scan.txt", "playbook.yaml", "report.html",
        "report.json", "report.md", "server/CLIENTS.txt", "server/CONFIG.txt",
        "server/INFO.txt", "server/LATENCY.txt", "server/SLOWLOG.txt"]
    assert members["logs/scan.txt"] == (
        "10:00:01 redis.exceptions.ConnectionError: Error 111\n10:00:02 AUTH ***\n"
        "line a\nline b with API_TOKEN=***\n")
    assert members["server/CONFIG.txt"] == "maxmemory 0\nrequirepass ***\n"
    assert members["server/LATENCY.txt"] == "not readable: NOPERM this user has no permissions\n"
    assert members["server/SLOWLOG.txt"] == "(empty)\n"
    assert "Redis server 7.2.4\n" in members["VERSIONS.txt"]
    assert members["playbook.yaml"].startswith("# the playbook /nonexistent/p.yaml could not be")
    # Found when the transcript was redacted, before the members were made from it.
    assert "AUTH/HELLO argument: steps[0].checks[0].details[1] (1×)" in members["REDACTIONS.txt"]
    assert "secret-named value: steps[0].checks[0].data.excerpt (1×)" in members["REDACTIONS.txt"]
    assert "leaked-pw-1234" not in str(members) and "tok-xyz-99" not in str(members)


def test_resume_takes_the_url_from_where_it_can() -> None:
    saved = {"url": "redis://:***@cache:6379/0", "password_set": True}
    env = {"REDIS_URL": "redis://:pw-1234@cache:6379/0"}
    assert _resume_url(None, saved, env) == ("redis://:pw-1234@cache:6379/0", "REDIS_URL")
    assert _resume_url("redis://other:1/0", saved, env) == ("redis://other:1/0", "--url")
    with pytest.raises(UsageError, match="the session's Redis URL had a password, which the "
                                         "transcript does not keep: give the URL again"):
        _resume_url(None, saved, {"REDIS_URL": "redis://:pw-1234@elsewhere:6379/0"})
    plain = {"url": "redis://cache:6379/2", "password_set": False}
    assert _resume_url(None, plain, {}) == ("redis://cache:6379/2", "resumed session")
