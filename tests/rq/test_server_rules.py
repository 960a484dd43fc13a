"""Every branch of the server rules, as pure functions over INFO / CONFIG facts.

The lab's injectors overshoot (memory far past maxmemory, a disk that fails every write), so the
edges - just under the limit after refusals, an AOF write or rewrite failure, a restart that
loaded a snapshot - are reached here, directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from troubleshooter.checks.server import rules
from troubleshooter.checks.server.rules import Facts, analyse

MIB = 1048576


def facts(info: Mapping[str, Any] | None = None, config: Mapping[str, str] | None = None,
          **kw: Any) -> Facts:
    base: dict[str, Any] = {"role": "master", "uptime_in_seconds": 86400}
    params = kw.pop("params", {"recent_restart_s": 300})
    return Facts({**base, **(info or {})}, dict(config or {}), "127.0.0.1:6379", kw.pop("db", 0),
                 params, **kw)


def found(f: Facts) -> list[tuple[str, str]]:
    return [(x.code, x.severity) for x in analyse(f)]


def test_a_healthy_master_has_no_finding() -> None:
    assert found(facts()) == []


# --- memory ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("info", "expected"), [
    ({"maxmemory": 0, "used_memory": 10 * MIB}, []),
    ({"maxmemory": 10 * MIB, "used_memory": 5 * MIB, "maxmemory_policy": "allkeys-lru"},
     [("server.eviction_policy", "warning")]),
    ({"maxmemory": 10 * MIB, "used_memory": 10 * MIB, "maxmemory_policy": "noeviction"},
     [("server.oom", "error")]),
    # After a refused write Redis frees the query buffer and sits just under the limit.
    ({"maxmemory": 10 * MIB, "used_memory": 10 * MIB - 4096, "maxmemory_policy": "noeviction",
      "errorstat_OOM": {"count": 3}}, [("server.oom", "error")]),
    ({"maxmemory": 10 * MIB, "used_memory": int(9.5 * MIB), "maxmemory_policy": "noeviction"},
     [("server.oom", "warning")]),
    ({"maxmemory": 10 * MIB, "used_memory": 5 * MIB, "maxmemory_policy": "noeviction",
      "errorstat_OOM": {"count": 3}}, []),
])
def test_memory(info: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert found(facts(info)) == expected


def test_oom_just_under_the_limit_names_the_refusals() -> None:
    (oom,) = analyse(facts({"maxmemory": 10 * MIB, "used_memory": 10 * MIB - 4096,
                            "maxmemory_policy": "noeviction", "errorstat_OOM": {"count": 3}}))
    assert "out of memory" in oom.message
    assert oom.evidence[-1] == "errorstat_OOM:3 writes refused since start-up"


# --- persistence -------------------------------------------------------------------------------

@pytest.mark.parametrize(("info", "config", "expected", "words"), [
    ({"rdb_last_bgsave_status": "err"}, {}, ("server.persistence_failed", "warning"),
     "if stop-writes-on-bgsave-error is on"),
    ({"rdb_last_bgsave_status": "err"}, {"save": "3600 1", "stop-writes-on-bgsave-error": "yes"},
     ("server.persistence_failed", "error"), "refuses writes (and PING)"),
    ({"rdb_last_bgsave_status": "err"}, {"save": "", "stop-writes-on-bgsave-error": "yes"},
     ("server.persistence_failed", "warning"), "still accepted"),
    ({"rdb_last_bgsave_status": "err"}, {"save": "3600 1", "stop-writes-on-bgsave-error": "no"},
     ("server.persistence_failed", "warning"), "still accepted"),
    ({"aof_enabled": 1, "aof_last_write_status": "err"}, {},
     ("server.persistence_failed", "error"), "writing the AOF failed"),
    ({"aof_last_bgrewrite_status": "err"}, {}, ("server.persistence_failed", "warning"),
     "AOF rewrite"),
])
def test_persistence(info: dict[str, Any], config: dict[str, str], expected: tuple[str, str],
                     words: str) -> None:
    (result,) = analyse(facts(info, config))
    assert (result.code, result.severity) == expected
    assert words in result.message


def test_an_aof_write_error_with_the_aof_off_is_stale_and_ignored() -> None:
    assert found(facts({"aof_enabled": 0, "aof_last_write_status": "err"})) == []


# --- restart -----------------------------------------------------------------------------------

LOADED = {"uptime_in_seconds": 12, "rdb_last_load_keys_loaded": 40, "aof_enabled": 0,
          "db0": {"keys": 40}}
EMPTY = {"uptime_in_seconds": 12, "rdb_last_load_keys_loaded": 0, "aof_enabled": 0}


def test_an_old_start_says_nothing() -> None:
    assert found(facts({**EMPTY, "uptime_in_seconds": 301})) == []


def test_loading_or_an_old_redis_without_load_counters_is_only_recently_restarted() -> None:
    assert found(facts({"uptime_in_seconds": 5})) == [("server.recently_restarted", "warning")]
    loading = facts({**EMPTY, "loading": 1, "loading_loaded_perc": 10})
    assert found(loading) == [("server.loading", "error"), ("server.recently_restarted", "warning")]


def test_a_restart_from_an_rdb_names_the_possible_age_of_the_snapshot() -> None:
    (result,) = analyse(facts(LOADED, {"save": "3600 1 300 100 60 10000"}))
    assert (result.code, result.severity) == ("server.restored_from_snapshot", "warning")
    assert "restarted 12 s ago from its RDB snapshot (40 keys loaded)" in result.message
    assert "up to 3600 s older than the crash" in result.message
    assert "may run twice" in result.message
    assert "rdb_last_load_keys_loaded:40" in result.evidence


def test_a_restart_from_the_aof_loses_about_a_second() -> None:
    (result,) = analyse(facts({**LOADED, "aof_enabled": 1}))
    assert result.code == "server.restored_from_snapshot"
    assert "from its AOF snapshot" in result.message and "about 1 s" in result.message
    (empty,) = analyse(facts({**EMPTY, "aof_enabled": 1}))
    assert (empty.code, empty.severity) == ("server.recently_restarted", "warning")
    assert "at most the last second" in empty.message


def test_an_empty_start_with_rq_survivors_is_data_lost() -> None:
    lost = facts(EMPTY, {"save": ""}, survivors=("worker w1 was born 40 s before the restart",))
    (result,) = analyse(lost)
    assert (result.code, result.severity) == ("server.data_lost", "error")
    assert "save '' (no RDB snapshots), appendonly no" in result.message
    assert "every queued, started and scheduled RQ job from before the restart is gone" in (
        result.message)
    assert result.evidence[-1] == "worker w1 was born 40 s before the restart"


def test_an_empty_start_without_survivors_warns_that_persistence_is_off() -> None:
    (result,) = analyse(facts(EMPTY, {"save": ""}))
    assert (result.code, result.severity) == ("server.recently_restarted", "warning")
    assert "appendonly no" in result.message and result.evidence[1] == "keys now: 0"
    (unknown,) = analyse(facts(EMPTY))
    assert "save policy unknown (CONFIG not readable)" in unknown.message


# --- role and the replica's master -----------------------------------------------------------

REPLICA = {"role": "slave", "master_host": "127.0.0.1", "master_port": 7001,
           "master_link_status": "up"}
DOWN = {**REPLICA, "master_link_status": "down", "master_link_down_since_seconds": 30}


def test_a_replica_with_a_live_master_says_point_at_it() -> None:
    (result,) = analyse(facts(REPLICA))
    assert (result.code, result.severity) == ("server.readonly", "error")
    assert "current master" in result.remedy


def test_a_replica_whose_master_is_down_says_so_and_changes_the_remedy() -> None:
    results = analyse(facts(DOWN, master_probe="connection refused"))
    assert [r.code for r in results] == ["server.readonly", "server.replica_link_down"]
    assert "its master 127.0.0.1:7001 is down (connection refused)" in results[0].message
    assert "current master" not in results[0].remedy
    assert "REPLICAOF NO ONE" in results[0].remedy
    assert "probing the master 127.0.0.1:7001: connection refused" in results[0].evidence


def test_a_replica_whose_master_answers_keeps_the_usual_remedy() -> None:
    results = analyse(facts(DOWN, {"replica-serve-stale-data": "no"}, master_probe="up"))
    assert "current master" in results[0].remedy
    assert "the master 127.0.0.1:7001 answers" in results[0].evidence
    assert "replica-serve-stale-data no" in results[1].evidence[-1]
    never = analyse(facts({**DOWN, "master_link_down_since_seconds": -1}))
    assert "never synced since start-up" in never[1].evidence


# --- the rest, one line each -------------------------------------------------------------------

@pytest.mark.parametrize(("info", "config", "kw", "expected"), [
    ({"connected_slaves": 0}, {"min-replicas-to-write": "1"}, {},
     [("server.not_enough_replicas", "error")]),
    ({"connected_slaves": 1}, {"min-replicas-to-write": "1"}, {}, []),
    # One of the connected is the tool's own: 100 of 100 leaves the app the slot it frees; 101
    # (maxclients lowered below the clients already in) does not.
    ({"connected_clients": 101, "maxclients": 100}, {}, {}, [("server.max_clients", "error")]),
    ({"connected_clients": 100, "maxclients": 100}, {}, {}, [("server.max_clients", "warning")]),
    ({"connected_clients": 90, "maxclients": 100}, {}, {}, []),
    ({"connected_clients": 95, "maxclients": 100}, {}, {}, [("server.max_clients", "warning")]),
    ({"connected_clients": 5, "maxclients": 100, "rejected_connections": 2}, {}, {},
     [("server.max_clients", "warning")]),
    ({"redis_mode": "sentinel", "master0": {"name": "m", "address": "h:1", "status": "ok"}},
     {}, {}, [("server.wrong_mode", "error")]),
    # A cluster node is triaged by cluster_status, not as a wrong mode (nor a replica).
    ({"cluster_enabled": 1, "role": "slave"}, {}, {"cluster_state": "fail"}, []),
    ({}, {"databases": "16"}, {"db": 16}, [("server.db_out_of_range", "error")]),
    ({}, {"databases": "16"}, {"db": 15}, []),
    ({}, {}, {"blocked_writes": ("client 1.2.3.4:5 blocked on set",)},
     [("server.unresponsive", "error")]),
])
def test_other_rules(info: dict[str, Any], config: dict[str, str], kw: dict[str, Any],
                     expected: list[tuple[str, str]]) -> None:
    assert found(facts(info, config, **kw)) == expected


def test_helpers() -> None:
    assert rules.errorstat({"errorstat_OOM": {"count": 4}}, "OOM") == 4
    assert rules.errorstat({}, "OOM") == 0
    assert rules.total_keys({"db0": {"keys": 2}, "db3": {"keys": 5}, "dbx": 1}) == 7
