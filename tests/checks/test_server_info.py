"""redis_info against real redis-servers with each state really produced."""

from __future__ import annotations

from typing import Any

import pytest

from troubleshooter.lab import faults
from troubleshooter.lab.faults import admin_client
from troubleshooter.lab.server import RedisServer

from .server_kit import codes, dump, only, run, url

pytestmark = pytest.mark.slow

# A lab server is always freshly started: without this every outcome also warns about that.
SETTLED: dict[str, Any] = {"recent_restart_s": 0}


def test_a_healthy_server(healthy: RedisServer) -> None:
    outcome = run("redis_info", url(healthy), **SETTLED)
    assert (outcome.status, outcome.findings, outcome.details) == ("pass", (), ())
    data = outcome.data
    assert (data["role"], data["mode"], data["maxmemory"], data["maxmemory_policy"]) == (
        "master", "standalone", 0, "noeviction")
    assert data["redis_version"].startswith("7.") and data["databases"] == 16
    assert data["maxclients"] == 10000 and data["connected_clients"] >= 1
    assert data["config_readable"] is True and data["tcp_port"] == healthy.port
    assert outcome.summary.startswith(f"Redis {data['redis_version']} at 127.0.0.1:"
                                      f"{healthy.port}: master, ")


def test_a_fresh_start_is_recently_restarted(healthy: RedisServer) -> None:
    outcome = run("redis_info", url(healthy), recent_restart_s=3600)
    only(outcome, "server.recently_restarted", "warning")
    assert outcome.findings[0].evidence[1] == "keys now: 0"


def test_config_forbidden_still_gives_a_status() -> None:
    # Managed Redis renames CONFIG away: INFO alone must still carry the check.
    with RedisServer("--rename-command", "CONFIG", "") as server:
        outcome = run("redis_info", url(server), **SETTLED)
    assert outcome.status == "pass" and outcome.data["config_readable"] is False
    assert outcome.data["maxclients"] == 10000  # INFO has it on 7.0
    assert len(outcome.details) == 1
    assert outcome.details[0].startswith("CONFIG GET not permitted (ResponseError: unknown "
                                         "command 'CONFIG' (arguments not shown)): could not read")


# --- memory ----------------------------------------------------------------------------------


def test_full_memory_under_noeviction_is_oom(fresh: RedisServer) -> None:
    with faults.fill_memory(fresh, maxmemory="2mb"):
        outcome = run("redis_info", url(fresh), **SETTLED)
    only(outcome, "server.oom")
    evidence = outcome.findings[0].evidence
    assert evidence[0].startswith("used_memory ") and "of maxmemory 2.0 MiB" in evidence[0]
    assert evidence[2].startswith("errorstat_OOM:1 ")


def test_nearly_full_memory_warns(fresh: RedisServer) -> None:
    admin = admin_client(fresh)
    # 4 MB of data, so that a connection's few KB do not move the percentage much.
    admin.eval("for i = 1, 400 do redis.call('SET', 'k' .. i, string.rep('x', 10240)) end", 0)
    admin.config_set("maxmemory", int(int(admin.info("memory")["used_memory"]) / 0.95))
    outcome = run("redis_info", url(fresh), **SETTLED)
    only(outcome, "server.oom", "warning")
    assert "full under noeviction" in outcome.summary
    assert codes(run("redis_info", url(fresh), memory_warn_pct=99.9, **SETTLED)) == []


def test_an_evicting_policy(fresh: RedisServer) -> None:
    with faults.eviction_policy(fresh, "allkeys-lru"):
        outcome = run("redis_info", url(fresh), **SETTLED)
    only(outcome, "server.eviction_policy", "warning")
    assert "allkeys-lru" in outcome.summary and outcome.data["maxmemory_policy"] == "allkeys-lru"


# --- clients ---------------------------------------------------------------------------------


def test_at_maxclients_the_check_cannot_connect(fresh: RedisServer) -> None:
    with faults.max_clients(fresh, limit=1):
        only(run("redis_info", url(fresh), **SETTLED), "server.max_clients")


def test_near_maxclients_warns(fresh: RedisServer) -> None:
    # The check's own connection is not the app's: the 10th of 10 leaves the app one slot.
    with faults.max_clients(fresh, limit=10, spare=1):
        last_slot = run("redis_info", url(fresh), **SETTLED)
    with faults.max_clients(fresh, limit=20, spare=2):  # 18 of 20 besides the check's
        near = run("redis_info", url(fresh), **SETTLED)
    with faults.max_clients(fresh, limit=20, spare=3):  # 17 of 20: 85%
        below = run("redis_info", url(fresh), **SETTLED)
    only(last_slot, "server.max_clients", "warning")
    assert "near maxclients (9 of 10 besides this tool, 90%: 1 free)" in last_slot.summary
    assert "connected_clients:10 (this tool's connection included)" in (
        last_slot.findings[0].evidence[0])
    only(near, "server.max_clients", "warning")
    assert "near maxclients (18 of 20 besides this tool, 90%: 2 free)" in near.summary
    assert below.findings == ()


def test_refused_connections_since_start_up_warn(fresh: RedisServer) -> None:
    with faults.max_clients(fresh, limit=1):
        run("redis_ping", url(fresh))  # refused: counted in rejected_connections
    outcome = run("redis_info", url(fresh), **SETTLED)
    only(outcome, "server.max_clients", "warning")
    assert "rejected_connections:1 since start-up" in outcome.findings[0].evidence[1]


# --- replication -----------------------------------------------------------------------------


def test_a_replica_of_a_dead_master(fresh: RedisServer) -> None:
    with faults.replica_of_dead_master(fresh) as dead_port:
        outcome = run("redis_info", url(fresh), **SETTLED)
    assert codes(outcome) == [("server.readonly", "error"), ("server.replica_link_down", "error")]
    readonly, link = outcome.findings
    assert readonly.evidence == (f"role:slave master_host:127.0.0.1 master_port:{dead_port}",
                                 f"probing the master 127.0.0.1:{dead_port}: connection refused")
    assert "master 127.0.0.1:" in readonly.message and "is down" in readonly.message
    assert "current master" not in readonly.remedy
    assert link.evidence == ("master_link_status:down", "never synced since start-up")
    assert outcome.data["master_port"] == dead_port


def test_a_replica_refusing_stale_reads(fresh: RedisServer) -> None:
    with faults.replica_of_dead_master(fresh, serve_stale=False):
        outcome = run("redis_info", url(fresh), **SETTLED)
    assert [c for c, _ in codes(outcome)] == ["server.readonly", "server.replica_link_down"]
    assert "MASTERDOWN" in outcome.findings[1].evidence[-1]


def test_too_few_replicas_for_writes(fresh: RedisServer) -> None:
    with faults.no_replicas(fresh):
        outcome = run("redis_info", url(fresh), **SETTLED)
    only(outcome, "server.not_enough_replicas")
    assert "NOREPLICAS" in outcome.summary


# --- persistence, loading, busy --------------------------------------------------------------


def test_a_failed_save_that_refuses_writes(fresh: RedisServer) -> None:
    with faults.misconf(fresh):
        refusing = run("redis_info", url(fresh), **SETTLED)
        admin_client(fresh).config_set("stop-writes-on-bgsave-error", "no")
        accepting = run("redis_info", url(fresh), **SETTLED)
    only(refusing, "server.persistence_failed")
    assert "save '3600 1' stop-writes-on-bgsave-error yes" in refusing.findings[0].evidence
    only(accepting, "server.persistence_failed", "warning")
    assert "still accepted" in accepting.summary


def test_loading() -> None:
    with faults.loading() as server:
        outcome = run("redis_info", url(server), timeout=2.0)
    assert codes(outcome) == [("server.loading", "error"),
                              ("server.recently_restarted", "warning")]
    assert outcome.findings[0].evidence[0].startswith("loading_loaded_perc:")
    assert outcome.data["loading"] is True


def test_a_busy_script(fresh: RedisServer) -> None:
    with faults.busy_script(fresh):
        only(run("redis_info", url(fresh), **SETTLED), "server.busy")


# --- the wrong target ------------------------------------------------------------------------


def test_a_db_beyond_databases(healthy: RedisServer) -> None:
    outcome = run("redis_info", url(healthy, db=99), **SETTLED)
    only(outcome, "server.db_out_of_range")
    assert outcome.summary.endswith("has only 16 databases (0-15)")


def test_a_sentinel(healthy: RedisServer) -> None:
    with faults.sentinel(healthy) as sentinel:
        outcome = run("redis_info", url(sentinel), **SETTLED)
    only(outcome, "server.wrong_mode")
    assert (f"Sentinel monitors mymaster at 127.0.0.1:{healthy.port} (status ok)"
            in outcome.findings[0].evidence)
    assert outcome.data["mode"] == "sentinel"
    assert "a Sentinel has no CONFIG GET" in outcome.details[0]


def test_a_cluster_node() -> None:
    # One cluster-enabled node shows it; test_server.py runs a real three-node cluster.
    with RedisServer("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf") as node:
        outcome = run("redis_info", url(node), **SETTLED)
    # Not "the wrong mode": a cluster is triaged as one by the cluster_status check.
    assert not outcome.findings, dump(outcome)
    assert outcome.data["mode"] == "cluster", dump(outcome)
