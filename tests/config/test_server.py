"""config_server against real redis-servers: the eviction policy RQ needs, a password the server
requires that a source does not send, TLS a source expects, and the instance's identity."""

from __future__ import annotations

from typing import Any

import redis

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.config.check import run_config_server
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.target import parse_target


def _row(name: str, url: str, password: bool = False) -> dict[str, Any]:
    t = parse_target(url)
    return {"name": name, "url": url, "scheme": t.scheme, "host": t.host, "port": t.port,
            "password_set": password}


def _run(url: str, rows: list[dict[str, Any]] | None = None, **params: Any) -> Outcome:
    earlier = {"sources": Outcome("pass", "", data={"sources": rows or []})}
    ctx = CheckContext(target=parse_target(url), timeout=5, earlier=earlier,
                       params={"sources": "sources", "expected_run_id": "",
                               "expected_role": "", **params})
    return run_config_server(ctx)


def test_a_healthy_server_passes(redis_server: RedisServer) -> None:
    out = _run(redis_server.url)
    assert out.status == "pass" and out.data["maxmemory_policy"] == "noeviction"
    assert out.data["requires_auth"] is False and out.data["role"] == "master"


def test_an_evicting_policy_is_flagged() -> None:
    with RedisServer("--maxmemory-policy", "allkeys-lru") as server:
        out = _run(server.url)
    [f] = out.findings
    assert f.code == "server.eviction_policy" and "allkeys-lru" in f.message


def test_a_source_that_sends_no_password_to_a_server_that_requires_one() -> None:
    with RedisServer("--requirepass", "s3cret") as server:
        url = f"redis://:s3cret@127.0.0.1:{server.port}/0"
        rows = [_row("worker.env", f"redis://127.0.0.1:{server.port}/0"),
                _row("web.env", f"redis://:***@localhost:{server.port}/0", password=True),
                _row("other.env", f"redis://127.0.0.1:{free_port()}/0")]
        out = _run(url, rows)
    assert out.data["requires_auth"] is True
    [f] = out.findings
    assert f.code == "server.auth_required" and f.message.startswith("worker.env sends no pass")
    assert "s3cret" not in f.message + " ".join(f.evidence)


def test_tls_expected_but_not_offered(redis_server: RedisServer) -> None:
    rows = [_row("web.env", f"rediss://127.0.0.1:{redis_server.port}/0")]
    [f] = _run(redis_server.url, rows).findings
    assert f.code == "network.tls_mismatch" and "expects TLS" in f.message


def test_the_wrong_instance(redis_server: RedisServer) -> None:
    run_id = redis.Redis.from_url(redis_server.url).info("server")["run_id"]
    assert _run(redis_server.url, expected_run_id=run_id).findings == ()
    out = _run(redis_server.url, expected_run_id="0" * 40, expected_role="slave")
    assert [f.code for f in out.findings] == ["config.wrong_instance"] * 2
    assert "not the expected 0000" in out.findings[0].message


def test_without_info_the_identity_is_unknown_not_wrong() -> None:
    # INFO renamed away: no run_id or role to compare, so no wrong instance either.
    with RedisServer("--rename-command", "INFO", "") as server:
        out = _run(server.url, expected_run_id="0" * 40, expected_role="slave")
    assert (out.status, out.findings) == ("pass", ())
    assert out.data["role"] == "" and "role unknown" in out.summary
    assert out.details[0].startswith("INFO refused (unknown command 'INFO'")


def test_a_server_that_does_not_answer_is_skipped() -> None:
    out = _run(f"redis://127.0.0.1:{free_port()}/0")
    assert out.status == "skipped"


def _hellos(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_hello", {}).get("calls", 0))


def test_an_open_server_is_not_asked_again_without_credentials(
        redis_server: RedisServer) -> None:
    """The run's connection sent no password and was answered: that is the answer."""
    client = redis.Redis.from_url(redis_server.url)
    client.ping()  # its own handshake before the count starts
    client.config_resetstat()
    out = _run(redis_server.url)
    assert out.data["requires_auth"] is False
    assert _hellos(client) == 1  # the check's own link: no second, bare handshake


def test_a_target_with_a_password_still_probes_without_one() -> None:
    with RedisServer("--requirepass", "s3cret") as server:
        client = redis.Redis.from_url(f"redis://:s3cret@127.0.0.1:{server.port}/0")
        client.ping()
        client.config_resetstat()
        out = _run(f"redis://:s3cret@127.0.0.1:{server.port}/0")
        assert out.data["requires_auth"] is True
        assert _hellos(client) == 2  # the check's link, then the bare one refused


def test_an_open_server_reached_with_a_password_is_not_called_protected() -> None:
    """Credentials for an ACL user on a server that lets a bare client in too: the bare
    probe still runs, and says so."""
    with RedisServer() as server:
        admin = redis.Redis.from_url(server.url)
        admin.acl_setuser("app", enabled=True, passwords=["+pw"], keys=["*"],
                          commands=["+@all"])
        out = _run(f"redis://app:pw@127.0.0.1:{server.port}/0")
    assert out.status == "pass" and out.data["requires_auth"] is False
