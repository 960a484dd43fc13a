"""Sentinel targets against real Sentinels: resolve the master, then lose things one by one."""

from __future__ import annotations

import pytest

from tests.topology.conftest import SentinelSet, check, codes, sentinel_reply, triage, wait_for
from troubleshooter.lab.faults import SentinelServer
from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target
from troubleshooter.topology.sentinel_url import parse_sentinel_url

pytestmark = pytest.mark.slow


def test_hello_messages_parse_and_garbage_does_not() -> None:
    from troubleshooter.checks.topology.stale import parse_hello

    hello = parse_hello(b"127.0.0.1,26379,abc,1,mymaster,127.0.0.1,6380,3")
    assert hello is not None and (hello.sentinel, hello.master) == ("127.0.0.1:26379",
                                                                    "127.0.0.1:6380")
    assert parse_hello(b"\x1b[2J,1,2") is None and parse_hello("a,b,c,d,e,f,g,h") is None


def test_target_knows_the_sentinel_schemes_without_loading_their_parser() -> None:
    from troubleshooter.target import SENTINEL_PREFIXES, is_sentinel_url
    from troubleshooter.topology.sentinel_url import SENTINEL_SCHEMES

    assert SENTINEL_PREFIXES == tuple(f"{scheme}://" for scheme in SENTINEL_SCHEMES)
    assert is_sentinel_url("redis+sentinel://h/m") and is_sentinel_url("rediss+sentinel://h/m")
    assert not is_sentinel_url("redis+sentinel:/h/m") and not is_sentinel_url("redis://h")


def test_url_forms() -> None:
    spec, user, password, _ = parse_sentinel_url(
        "rediss+sentinel://app:s3cr%40t@h1:26379,[::1]:26380,h3/mymaster/2?sentinel_password=sp")
    assert spec.sentinels == (("h1", 26379), ("::1", 26380), ("h3", 26379))
    assert (spec.master_name, spec.db, spec.data_scheme) == ("mymaster", 2, "rediss")
    assert (user, password, spec.sentinel_password) == ("app", "s3cr@t", "sp")


@pytest.mark.parametrize("url, says", [
    ("redis+sentinel://h1:26379", "names the master"),
    ("redis+sentinel://h1:99999/m", "between 1 and 65535"),
    ("redis+sentinel://h1/m/x", "/MASTER_NAME or /MASTER_NAME/DB"),
    ("redis+sentinel://h1,/m", "is not a host:port"),
])
def test_bad_sentinel_urls_are_config_findings(url: str, says: str) -> None:
    target = parse_target(url)
    assert target.problem is not None and target.problem.code == "config.malformed_url"
    assert says in target.problem.message


def test_both_passwords_are_masked_everywhere() -> None:
    target = parse_target("redis+sentinel://:masterpw1@h1/m?sentinel_password=sentpw22")
    shown = f"{target.redacted} {target.to_dict()} {target!r}"
    assert "masterpw1" not in shown and "sentpw22" not in shown


def test_healthy_sentinel_set_resolves_the_master_and_checks_it(sentinel_set: SentinelSet) -> None:
    code, doc, _ = triage(sentinel_set.url())
    assert code == 0, doc["findings"]
    assert doc["target"]["port"] == sentinel_set.master.port
    assert doc["target"]["sentinel"]["master"] == f"127.0.0.1:{sentinel_set.master.port}"
    assert len(doc["target"]["sentinel"]["resolved_by"]) == 3
    assert check(doc, "sentinels")["status"] == "pass"
    # the server checks ran against the master, not a sentinel
    assert check(doc, "ping")["status"] == "pass" and "server.wrong_mode" not in codes(doc)


def test_unknown_master_name(sentinel_set: SentinelSet) -> None:
    code, doc, _ = triage(sentinel_set.url("nosuchmaster"))
    assert code == 1
    assert doc["diagnosis"]["code"] == "server.sentinel_unknown_master"
    ran = {c["id"]: c["status"] for s in doc["steps"] for c in s["checks"]}
    assert ran.get("ping", "skipped") == "skipped"  # nothing to talk to: no master


def test_no_sentinel_answers(sentinel_set: SentinelSet) -> None:
    for s in sentinel_set.sentinels:
        sentinel_set.stop(s)
    code, doc, _ = triage(sentinel_set.url(), "--timeout", "1")
    assert code == 1
    assert doc["diagnosis"]["code"] == "server.sentinel_unreachable"
    found = [f for f in doc["findings"] if f["code"] == "server.sentinel_unreachable"]
    assert any(f["severity"] == "error" for f in found)


def test_losing_quorum(sentinel_set: SentinelSet) -> None:
    sentinel_set.stop(sentinel_set.sentinels[1])
    sentinel_set.stop(sentinel_set.sentinels[2])
    alive = sentinel_set.sentinels[0]
    wait_for(lambda: _no_quorum(alive), what="the last sentinel to lose quorum")
    code, doc, _ = triage(sentinel_set.url(), "--timeout", "1")
    assert code == 1
    assert {"server.sentinel_no_quorum", "server.sentinel_unreachable"} <= codes(doc)
    unreachable = [f for f in doc["findings"] if f["code"] == "server.sentinel_unreachable"]
    assert all(f["severity"] == "warning" for f in unreachable)  # one still answers
    assert doc["target"]["port"] == sentinel_set.master.port  # and still names the master


def _no_quorum(sentinel: SentinelServer) -> bool:
    try:
        sentinel_reply(sentinel, "CKQUORUM", "mymaster")
    except Exception as exc:  # noqa: BLE001
        return "NOQUORUM" in str(exc)
    return False


def test_watch_follows_a_failover_to_the_new_master(sentinel_set: SentinelSet) -> None:
    import json
    import subprocess
    import sys

    sentinel_set.stop(sentinel_set.master)
    proc = subprocess.run(
        [sys.executable, "-m", "troubleshooter", "watch", "--url", sentinel_set.url(),
         "--interval", "0.5", "--max-time", "45", "--timeout", "1", "--json"],
        capture_output=True, text=True, timeout=90)
    rounds = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rounds[0]["status"] != "healthy"
    assert rounds[-1]["status"] == "healthy"
    promoted = _master_port(sentinel_set)
    assert promoted != sentinel_set.master.port


def test_master_killed_then_failover(sentinel_set: SentinelSet) -> None:
    old = sentinel_set.master
    sentinel_set.stop(old)
    wait_for(lambda: _flags(sentinel_set) & {"o_down", "s_down", "failover_in_progress"}
             or _master_port(sentinel_set) != old.port, 15, "master down")
    code, doc, _ = triage(sentinel_set.url(), "--timeout", "1")
    if doc["target"]["port"] == old.port:  # caught before the promotion
        assert code == 1 and "server.sentinel_failover" in codes(doc) | {
            f["code"] for f in doc["findings"]}
    wait_for(lambda: _master_port(sentinel_set) != old.port, 30, "a replica to be promoted")
    promoted = _master_port(sentinel_set)
    code, doc, _ = triage(sentinel_set.url(), "--timeout", "1")
    assert doc["target"]["port"] == promoted
    assert check(doc, "ping")["status"] == "pass"
    assert "server.readonly" not in codes(doc)


def _flags(s: SentinelSet) -> set[str]:
    out: set[str] = set()
    for sentinel in s.sentinels:
        try:
            reply = sentinel_reply(sentinel, "MASTER", "mymaster")
        except Exception:  # noqa: BLE001
            continue
        fields = dict(zip(reply[::2], reply[1::2], strict=False))
        out |= set(fields["flags"].split(","))
    return out


def _master_port(s: SentinelSet) -> int:
    reply = sentinel_reply(s.sentinels[0], "GET-MASTER-ADDR-BY-NAME", "mymaster")
    return int(reply[1])


def test_sentinel_password(sentinel_set: SentinelSet) -> None:
    from troubleshooter.lab.faults import admin_client

    for s in sentinel_set.sentinels:
        admin_client(s).execute_command("ACL", "SETUSER", "default", "resetpass",
                                        ">sentinelpw99")
    code, doc, err = triage(sentinel_set.url(), "--timeout", "1")
    assert code == 1 and doc["diagnosis"]["code"] == "server.auth_required"
    assert "sentinel_password" in doc["diagnosis"]["summary"] + str(doc["findings"])
    url = sentinel_set.url() + "?sentinel_password=sentinelpw99"
    code, doc, err = triage(url, "--timeout", "1")
    assert code == 0, doc["findings"]
    assert "sentinelpw99" not in err and "sentinelpw99" not in str(doc)
    code, doc, err = triage(sentinel_set.url(), "--timeout", "1",
                            "--sentinel-password", "sentinelpw99")
    assert code == 0, doc["findings"]
    assert "sentinelpw99" not in err and "sentinelpw99" not in str(doc)
    secret = sentinel_set.master.dir / "sentinel.pw"
    secret.write_text("sentinelpw99\n")
    code, doc, err = triage(sentinel_set.url(), "--timeout", "1",
                            "--sentinel-password-file", str(secret))
    assert code == 0, doc["findings"]
    import subprocess
    import sys

    bad = subprocess.run([sys.executable, "-m", "troubleshooter", "run", "--non-interactive",
                          "--url", sentinel_set.url(), "--sentinel-password-file",
                          "/nonexistent"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--sentinel-password-file /nonexistent: No such file" in bad.stderr


def test_plain_url_to_a_sentinel_is_still_the_wrong_mode(sentinel_set: SentinelSet) -> None:
    code, doc, _ = triage(f"redis://127.0.0.1:{sentinel_set.sentinels[0].port}/0")
    assert code == 1 and "server.wrong_mode" in codes(doc)


def test_plain_url_to_a_replica_names_the_master_the_sentinels_follow(
        sentinel_set: SentinelSet) -> None:
    replica: RedisServer = sentinel_set.replica
    code, doc, _ = triage(replica.url)
    assert code == 1 and "server.readonly" in codes(doc)
    assert doc["diagnosis"]["code"] == "config.stale_master"
    assert f"127.0.0.1:{sentinel_set.master.port}" in doc["diagnosis"]["summary"]
    assert "redis+sentinel://" in doc["diagnosis"]["remedy"]


def test_plain_url_to_the_master_is_fine(sentinel_set: SentinelSet) -> None:
    code, doc, _ = triage(sentinel_set.master.url)
    assert "config.stale_master" not in codes(doc)
    assert check(doc, "stale_master")["status"] == "skipped"


def test_the_majority_names_the_master_and_disagreement_is_reported() -> None:
    from troubleshooter.checks.topology.sentinel import _agreement
    from troubleshooter.topology.sentinels import SentinelView, majority_master

    views = [SentinelView("s1:26379", master="h:1"), SentinelView("s2:26379", master="h:2"),
             SentinelView("s3:26379", master="h:2"), SentinelView("s4:26379", "refused",
                                                                  "unreachable")]
    assert majority_master(views) == ("h:2", ["s2:26379", "s3:26379"])
    found = _agreement([v for v in views if v.answered], "mymaster")
    assert [f.code for f in found] == ["server.sentinel_disagree"]
    assert "2 say h:2, 1 say h:1" in found[0].message
