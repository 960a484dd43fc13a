"""redis_ping, acl_probe and write_probe against real redis-servers with the faults really made.

redis_info has its own file (test_server_info.py). Every outcome goes through `server_kit.run`,
which also checks the time bound and that no test password appears anywhere in it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from troubleshooter.checks.server import KINDS
from troubleshooter.findings import CATALOGUE
from troubleshooter.lab import faults
from troubleshooter.lab.faults import admin_client
from troubleshooter.lab.server import RedisServer, free_port

from .server_kit import (
    PASSWORD,
    USER_PASSWORD,
    WRONG_PASSWORD,
    codes,
    dump,
    only,
    run,
    url,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared() -> Iterator[RedisServer]:
    """For faults that undo themselves completely (passwords, ACL users, relays)."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def legacy() -> Iterator[RedisServer]:
    """A server without HELLO, as Redis < 6."""
    with RedisServer(*faults.NO_HELLO_ARGS) as server:
        yield server


def rqapp(server: RedisServer) -> str:
    return url(server, user="rqapp", password=USER_PASSWORD)


# --- healthy ---------------------------------------------------------------------------------


def test_a_healthy_server_passes(healthy: RedisServer) -> None:
    ping = run("redis_ping", url(healthy))
    assert (ping.status, ping.findings, ping.details) == ("pass", (), ())
    assert ping.data["protocol"] == 3 and ping.data["connected"] is True
    assert str(ping.data["redis_version"]).startswith("7.")
    assert ping.data["mode"] == "standalone" and ping.data["role"] == "master"
    assert len(ping.data["samples_ms"]) == 3 and 0 < ping.data["latency_ms"] < 100
    assert ping.summary.startswith(f"PING {healthy.host}:{healthy.port}: PONG in ")

    acl = run("acl_probe", url(healthy))
    assert (acl.status, acl.data["method"], acl.data["denied"]) == ("pass", "getuser", [])


def test_resp2_can_be_asked_for(healthy: RedisServer) -> None:
    outcome = run("redis_ping", url(healthy), protocol=2)
    assert (outcome.status, outcome.data["protocol"]) == ("pass", 2)
    assert "redis_version" not in outcome.data  # only HELLO tells it for free


def command_calls(server: RedisServer) -> dict[str, int]:
    """Commands the server ran or refused so far, by name (INFO commandstats)."""
    stats = admin_client(server).info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s["calls"]) + int(s.get("rejected_calls", 0))
            for name, s in stats.items()}


def test_a_healthy_triage_sends_few_commands(healthy: RedisServer) -> None:
    before = command_calls(healthy)
    run("redis_ping", url(healthy))
    run("redis_info", url(healthy), recent_restart_s=0)
    run("acl_probe", url(healthy))
    after = command_calls(healthy)
    # Minus the INFO commandstats that read `before`; the whole triage must stay below 40.
    sent = sum(after.values()) - sum(before.values()) - 1
    assert sent <= 20, {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k)}


@contextmanager
def monitor(server: RedisServer) -> Iterator[list[str]]:
    """The names of the commands MONITOR shows while the block runs."""
    lines: list[bytes] = []
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(b"MONITOR\r\n")
    assert sock.recv(5) == b"+OK\r\n"

    def record() -> None:
        try:
            while chunk := sock.recv(65536):
                lines.append(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=record, daemon=True)
    reader.start()
    names: list[str] = []
    try:
        yield names
        time.sleep(0.1)  # let the last lines arrive
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        reader.join(timeout=5)
    text = b"".join(lines).decode("utf-8", "replace")
    for first, second in re.findall(r'\] "([^"]+)"(?: "([^"]*)")?', text):
        with_sub = first.upper() in ("CLIENT", "CONFIG", "ACL")
        names.append(f"{first} {second}".upper() if with_sub else first.upper())


# What a check may make the server run without write_probe (ACL and CONFIG never show in
# MONITOR, commandstats sees them).
READ_ONLY = {
    "hello", "auth", "select", "ping", "info", "config|get", "client|setname", "client|setinfo",
    "acl|getuser", "acl|dryrun", "multi", "discard", "memory|doctor", "cluster|info",
}


def test_only_write_probe_writes(fresh: RedisServer) -> None:
    before = command_calls(fresh)
    with faults.acl_user(fresh, "rqapp", USER_PASSWORD, "~rq:*", "+@read", "+@transaction",
                         "+ping"), monitor(fresh) as seen:
        for kind in ("redis_ping", "redis_info", "acl_probe"):
            run(kind, url(fresh))
        # The MULTI/DISCARD way: writes are queued for the ACL check, never run.
        assert codes(run("acl_probe", rqapp(fresh))) == [("server.acl_denied", "error")]
    stats = admin_client(fresh).info("commandstats")
    ran = {name.removeprefix("cmdstat_") for name, s in stats.items()
           if int(s["calls"]) > before.get(name.removeprefix("cmdstat_"), 0)}
    assert ran - {"acl|setuser", "acl|deluser", "monitor"} <= READ_ONLY, ran
    assert "multi" in ran and "set" not in ran
    assert set(seen) <= {"HELLO", "CLIENT SETNAME", "PING", "INFO", "MULTI", "DISCARD"}, seen
    assert "MULTI" in seen and "SET" not in seen
    assert admin_client(fresh).dbsize() == 0


# --- slow ------------------------------------------------------------------------------------


def test_slow_ms_zero_shows_the_slow_path(healthy: RedisServer) -> None:
    only(run("redis_ping", url(healthy), slow_ms=0), "server.slow", "warning")


def test_real_latency_is_slow(healthy: RedisServer) -> None:
    with faults.latency(healthy, 60) as relay:
        outcome = run("redis_ping", relay, slow_ms=40)
    only(outcome, "server.slow", "warning")
    assert outcome.data["latency_ms"] >= 60
    assert "take 6" in outcome.summary and "threshold 40 ms" in outcome.summary


# --- auth ------------------------------------------------------------------------------------


def test_no_password_is_auth_required_on_resp3_and_resp2(shared: RedisServer) -> None:
    with faults.requirepass(shared, PASSWORD):
        resp3 = run("redis_ping", url(shared))
        resp2 = run("redis_ping", url(shared), protocol=2)
        for kind in ("redis_info", "acl_probe", "write_probe"):
            only(run(kind, url(shared)), "server.auth_required")
        assert run("redis_ping", url(shared, password=PASSWORD)).status == "pass"
    for outcome in (resp3, resp2):
        only(outcome, "server.auth_required")
        assert outcome.summary == (f"AUTH required at 127.0.0.1:{shared.port}: the server "
                                   "requires a password and the URL has none")
    assert "HELLO must be called with the client already authenticated" in dump(resp3)
    assert "Authentication required" in dump(resp2)


def test_a_server_without_hello_falls_back_to_resp2(legacy: RedisServer) -> None:
    outcome = run("redis_ping", url(legacy))
    assert (outcome.status, outcome.data["protocol"]) == ("pass", 2)
    assert outcome.details == ("the server does not know HELLO (Redis < 6): fell back to RESP2",)
    with faults.requirepass(legacy, PASSWORD):
        only(run("redis_ping", url(legacy)), "server.auth_required")
        # Redis echoes the refused `HELLO 3 AUTH default <password>`: it must not show.
        only(run("redis_ping", url(legacy, password=WRONG_PASSWORD)), "server.auth_failed")
        assert run("redis_ping", url(legacy, password=PASSWORD)).data["protocol"] == 2


def test_wrong_password_is_auth_failed(shared: RedisServer) -> None:
    with faults.requirepass(shared, PASSWORD):
        outcome = run("redis_ping", url(shared, password=WRONG_PASSWORD))
    only(outcome, "server.auth_failed")
    assert "invalid username-password pair" in outcome.findings[0].evidence[0]


def test_a_disabled_user_is_auth_failed(shared: RedisServer) -> None:
    with faults.acl_user(shared, "rqapp", USER_PASSWORD, "off", "~rq:*", "+@all"):
        only(run("redis_ping", rqapp(shared)), "server.auth_failed")


def test_a_password_the_server_does_not_have(shared: RedisServer) -> None:
    # RESP2 clients are refused outright; RESP3's HELLO AUTH is accepted, so acl_probe warns.
    only(run("redis_ping", url(shared, password=PASSWORD), protocol=2), "server.auth_failed")
    assert run("redis_ping", url(shared, password=PASSWORD)).status == "pass"
    only(run("acl_probe", url(shared, password=PASSWORD)), "server.auth_failed", "warning")


# --- ACL -------------------------------------------------------------------------------------


def test_a_read_only_user(shared: RedisServer) -> None:
    with faults.acl_user(shared, "rqapp", USER_PASSWORD, "~rq:*", "+@read", "+ping"):
        ping = run("redis_ping", rqapp(shared))
        acl = run("acl_probe", rqapp(shared))
        info = run("redis_info", rqapp(shared))
        write = run("write_probe", rqapp(shared))
    assert ping.status == "pass"
    assert ping.details == ("CLIENT SETNAME is denied to this user: connected without a name",)
    only(acl, "server.acl_denied")
    assert acl.data["method"] == "multi"
    assert [d["command"] for d in acl.data["denied"]] == ["MULTI"]
    assert "RQ wraps every enqueue in MULTI/EXEC" in acl.summary
    assert info.status == "skipped" and "INFO is not permitted to user rqapp" in info.summary
    only(write, "server.acl_denied")


def test_a_user_without_write_commands(shared: RedisServer) -> None:
    with faults.acl_user(shared, "rqapp", USER_PASSWORD, "~rq:*", "+@read", "+@transaction",
                         "+ping"):
        acl = run("acl_probe", rqapp(shared))
    only(acl, "server.acl_denied")
    denied = {d["command"] for d in acl.data["denied"]}
    assert {"SET", "HSET", "LPUSH", "ZADD", "EXPIRE", "DEL", "PUBLISH"} <= denied
    assert not denied & {"HGETALL", "LRANGE", "SMEMBERS", "EXISTS", "ZRANGEBYSCORE"}
    assert "rqapp" in acl.summary and "SET" in acl.summary
    assert admin_client(shared).dbsize() == 0


def test_the_rq_pubsub_channel_trap(shared: RedisServer) -> None:
    with faults.acl_user(shared, "rqapp", USER_PASSWORD, "~rq:*", "+@all"):
        trapped = run("acl_probe", rqapp(shared))
    with faults.acl_user(shared, "rqapp", USER_PASSWORD, "~rq:*", "&rq:pubsub:*", "+@all"):
        fixed = run("acl_probe", rqapp(shared))
    only(trapped, "server.acl_denied", "warning")
    assert trapped.data["method"] == "dryrun"
    assert {(d["command"], d["scope"]) for d in trapped.data["denied"]} == {
        ("PUBLISH", "channel"), ("SUBSCRIBE", "channel")}
    assert "pubsub thread exiting" in trapped.summary
    assert trapped.findings[0].remedy.startswith("ACL SETUSER rqapp &rq:pubsub:*")
    assert (fixed.status, fixed.data["method"], fixed.data["denied"]) == ("pass", "dryrun", [])


def test_acl_probe_follows_the_rq_key_prefix(shared: RedisServer) -> None:
    with faults.acl_user(shared, "rqapp", USER_PASSWORD, "~myapp:*", "&myapp:pubsub:*", "+@all"):
        mine = run("acl_probe", rqapp(shared), environ={"RQ_KEY_PREFIX": "myapp"})
        default = run("acl_probe", rqapp(shared))
    assert mine.status == "pass" and "myapp:*" in mine.summary
    assert codes(default)[0] == ("server.acl_denied", "error")
    assert {d["scope"] for d in default.data["denied"]} == {"key", "channel"}


# --- refused before any command --------------------------------------------------------------


def test_protected_mode_denies_a_non_loopback_client(shared: RedisServer) -> None:
    with faults.protected_mode(shared) as relay:
        outcomes = [run("redis_ping", relay, protocol=p) for p in (3, 2)]
    for outcome in outcomes:
        only(outcome, "server.protected_mode")
        assert "DENIED Redis is running in protected mode" in outcome.findings[0].evidence[0]


def test_max_clients_reached(fresh: RedisServer) -> None:
    with faults.max_clients(fresh, limit=1):
        outcome = run("redis_ping", url(fresh))
    only(outcome, "server.max_clients")
    assert outcome.summary.startswith(
        f"New connections rejected at 127.0.0.1:{fresh.port}: maxclients")


def test_a_stopped_server_is_unresponsive_within_the_timeout(fresh: RedisServer) -> None:
    with faults.paused(fresh):
        start = time.monotonic()
        outcome = run("redis_ping", url(fresh), timeout=1.0)
        elapsed = time.monotonic() - start
    only(outcome, "server.unresponsive")
    assert 0.9 <= elapsed <= 1.3


def test_run_alone_it_names_the_network_layer() -> None:
    refused = run("redis_ping", f"redis://127.0.0.1:{free_port()}/0")
    only(refused, "network.refused")
    assert refused.summary.startswith("TCP connect at 127.0.0.1:")
    only(run("redis_ping", "redis://no-such-host.invalid:6379/0"), "network.dns_failed")


def test_a_connect_that_gets_no_answer_is_a_network_timeout() -> None:
    # A listener that never accepts, its one-slot backlog taken: the next SYN is dropped.
    with socket.socket() as listener, socket.socket() as first:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        first.connect(listener.getsockname())
        outcome = run("redis_ping", f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
                      timeout=0.5)
    only(outcome, "network.timeout")


# --- server states that refuse PING ----------------------------------------------------------


def test_misconf_refuses_ping(fresh: RedisServer) -> None:
    with faults.misconf(fresh):
        outcome = run("redis_ping", url(fresh))
    only(outcome, "server.persistence_failed")
    assert "MISCONF" in outcome.findings[0].evidence[0] and "RDB save" in outcome.summary
    # The session stands (only PING and writes are refused): the playbook goes on to INFO.
    assert (outcome.data["connected"], outcome.data["failed_at"]) == (True, "PING")


def test_masterdown_refuses_ping(fresh: RedisServer) -> None:
    with faults.replica_of_dead_master(fresh, serve_stale=False):
        outcome = run("redis_ping", url(fresh))
    only(outcome, "server.replica_link_down")
    assert "MASTERDOWN" in outcome.summary


def test_a_busy_script_blocks_ping(fresh: RedisServer) -> None:
    with faults.busy_script(fresh):
        outcome = run("redis_ping", url(fresh))
    only(outcome, "server.busy")


def test_loading_refuses_ping() -> None:
    with faults.loading() as server:
        outcome = run("redis_ping", url(server), timeout=2.0)
    only(outcome, "server.loading")


def test_a_db_that_does_not_exist(healthy: RedisServer) -> None:
    outcome = run("redis_ping", url(healthy, db=99))
    only(outcome, "server.db_out_of_range")
    assert (outcome.data["connected"], outcome.data["failed_at"]) == (
        False, "connect/AUTH/SELECT")


def test_a_sentinel_with_a_db_is_the_wrong_mode(healthy: RedisServer) -> None:
    with faults.sentinel(healthy) as sentinel:
        outcome = run("redis_ping", url(sentinel, db=1))
    only(outcome, "server.wrong_mode")
    assert "Sentinel" in outcome.summary


# --- write_probe -----------------------------------------------------------------------------


def test_write_probe_never_writes_without_the_opt_in(healthy: RedisServer) -> None:
    before = command_calls(healthy)
    outcome = run("write_probe", url(healthy), allow_write=False)
    assert (outcome.status, outcome.summary) == (
        "skipped", "writes are opt-in: run with --write-probe")
    assert command_calls(healthy).get("set", 0) == before.get("set", 0)


def test_write_probe_writes_and_cleans_up(healthy: RedisServer) -> None:
    outcome = run("write_probe", url(healthy))
    assert outcome.status == "pass"
    assert str(outcome.data["key"]).startswith("rq:troubleshooter:probe:")
    assert admin_client(healthy).exists(str(outcome.data["key"])) == 0


def test_write_probe_paused_writes(fresh: RedisServer) -> None:
    admin = admin_client(fresh)
    admin.execute_command("CLIENT", "PAUSE", 10_000, "WRITE")
    try:
        outcome = run("write_probe", url(fresh), timeout=1.0)
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    only(outcome, "server.unresponsive")
    assert re.search(r"answers reads but holds writes: SET got no reply in 0\.\d s while PING "
                     r"answered in \d+ ms", outcome.summary), outcome.summary
    assert outcome.findings[0].evidence[1].startswith("PING on a new connection: PONG in ")
    assert outcome.findings[0].remedy.startswith("If nobody is failing over on purpose, run "
                                                 "CLIENT UNPAUSE")


def test_write_probe_on_a_stopped_server_is_unresponsive(fresh: RedisServer) -> None:
    with faults.paused(fresh):
        outcome = run("write_probe", url(fresh), timeout=1.0)
    only(outcome, "server.unresponsive")
    assert "holds writes" not in outcome.summary


def test_write_probe_oom(fresh: RedisServer) -> None:
    with faults.fill_memory(fresh):
        only(run("write_probe", url(fresh)), "server.oom")


def test_write_probe_readonly(fresh: RedisServer) -> None:
    with faults.replica_of_dead_master(fresh):
        only(run("write_probe", url(fresh)), "server.readonly")


def test_write_probe_misconf(fresh: RedisServer) -> None:
    with faults.misconf(fresh):
        only(run("write_probe", url(fresh)), "server.persistence_failed")


def test_write_probe_noreplicas(fresh: RedisServer) -> None:
    with faults.no_replicas(fresh):
        outcome = run("write_probe", url(fresh))
    only(outcome, "server.not_enough_replicas")
    assert "NOREPLICAS" in outcome.summary
    assert "min-replicas-to-write" in outcome.findings[0].remedy


def test_write_probe_on_a_cluster_node() -> None:
    # A hash tag pins the probe key's slot: exactly one of the three nodes owns it.
    with faults.cluster(3) as nodes:
        outcomes = [run("write_probe", url(node), key_prefix="{rq}") for node in nodes]
    assert sorted(o.status for o in outcomes) == ["fail", "fail", "pass"]
    for outcome in (o for o in outcomes if o.status == "fail"):
        only(outcome, "server.wrong_mode")
        assert "MOVED" in outcome.summary


# --- the kinds themselves --------------------------------------------------------------------


def test_kinds_are_registered_with_catalogued_codes() -> None:
    from troubleshooter.checks import CHECKS

    for kind in KINDS:
        assert CHECKS[kind.name] is kind
        assert kind.help and not kind.destructive
        assert set(kind.codes) <= set(CATALOGUE), kind.name
    assert {k.name for k in KINDS} == {"redis_ping", "redis_info", "acl_probe", "write_probe"}


def test_the_server_checks_do_not_import_redis_when_loaded() -> None:
    code = ("import sys, troubleshooter.checks.server.ping, troubleshooter.checks.server.errors; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'rq')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_a_slow_ping_brings_latency_doctor_as_evidence_where_monitoring_is_on() -> None:
    with RedisServer("--latency-monitor-threshold", "1", "--enable-debug-command", "local") as s:
        admin_client(s).execute_command("DEBUG", "SLEEP", "0.05")  # a real 50 ms spike
        outcome = run("redis_ping", url(s), slow_ms=0)
    [slow] = outcome.findings
    assert slow.code == "server.slow"
    assert any(e.startswith("LATENCY DOCTOR: ") and "latency spikes" in e for e in slow.evidence)


def test_without_latency_monitoring_the_doctor_adds_nothing(healthy: RedisServer) -> None:
    [slow] = run("redis_ping", url(healthy), slow_ms=0).findings
    assert not any("LATENCY DOCTOR" in e for e in slow.evidence)
