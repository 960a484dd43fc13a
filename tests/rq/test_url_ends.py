"""Whitespace and invisible characters at the ends of REDIS_URL: stripped with a warning where
redis-py reads the URL alike (the checks go on), refused where it would misread it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rq.rqkit import check, codes, triage
from troubleshooter.lab import faults
from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target


@pytest.mark.parametrize(("tail", "named"), [
    ("\n", "U+000A (LINE FEED)"), ("\r\n", "U+000D (CARRIAGE RETURN), U+000A (LINE FEED)"),
    ("\u2028", "U+2028 (LINE SEPARATOR)"), ("  ", "U+0020 (SPACE)"),
    ("\u00a0", "U+00A0 (NO-BREAK SPACE)"), ("\t", "U+0009 (TAB)"),
])
def test_a_trailing_invisible_character_is_stripped_with_a_warning(tail: str, named: str) -> None:
    t = parse_target(f"redis://:pw@h:6380/2{tail}", "REDIS_URL")
    assert t.problem is None
    assert (t.host, t.port, t.db, t.password) == ("h", 6380, 2, "pw")
    assert t.url == "redis://:pw@h:6380/2"
    assert f"at its end: {named};" in t.warning and "checks go on" in t.warning


@pytest.mark.parametrize(("url", "position"), [
    (" redis://h:6379/0", None),  # redis-py refuses a scheme after a space
    ("redis://h:6379\u2028", 14),  # in the port: redis-py cannot read it
    ("redis://h\u200b:6379/0", 9),  # inside the host: fatal wherever it is
    ("redis://h\x07", 9),  # redis-py would read the host as "h\x07"
])
def test_what_redis_py_would_misread_is_refused(url: str, position: int | None) -> None:
    t = parse_target(url)
    assert t.problem is not None and t.problem.code == "config.malformed_url" and not t.warning
    if position is not None:
        assert f"at position {position}" in t.problem.message


def test_the_checks_go_on_with_the_stripped_url_and_find_the_real_problem(
        tmp_path: Path) -> None:
    # The case: a replica behind a REDIS_URL with a trailing newline.
    with RedisServer() as server, faults.replica_of_dead_master(server):
        code, doc = triage(server.url + "\n", tmp_path)
    found = codes(doc)
    assert found.get("config.malformed_url") == "warning", found
    assert found.get("server.readonly") == "error", found
    assert doc["diagnosis"]["code"] == "server.readonly" and code == 1
    assert "is down (connection refused)" in doc["diagnosis"]["summary"]
    assert "REPLICAOF NO ONE" in doc["diagnosis"]["remedy"]
    url = check(doc, "url")
    assert url is not None and "LINE FEED" in url["findings"][0]["message"]
