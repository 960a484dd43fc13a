"""Step 2, server status: PING, INFO and its rules, ACLs, the write probe.

Its kinds, declared here as data (their code loads when run).
"""

from __future__ import annotations

from troubleshooter.checks.base import REDIS_IMPORTS, CheckKind, Param, lazy

# Every code a failed connection can be classified as (server/errors.classify).
CONNECT_CODES = (
    "network.dns_failed", "network.refused", "network.timeout", "network.unreachable",
    "network.permission_denied", "network.tls_mismatch", "network.tls_failed", "network.not_redis",
    "server.unresponsive", "server.auth_required", "server.auth_failed", "server.acl_denied",
    "server.protected_mode", "server.max_clients", "server.loading", "server.busy",
    "server.persistence_failed", "server.replica_link_down", "server.not_enough_replicas",
    "server.db_out_of_range", "server.wrong_mode", "server.protocol_error",
)

REDIS_PING = CheckKind(
    imports=REDIS_IMPORTS,
    name="redis_ping",
    run=lazy("troubleshooter.checks.server.ping:run_redis_ping"),
    help=(
        "Connect with the URL's credentials and db (RESP3, falling back to RESP2 for Redis < 6), "
        "then time a few PINGs. Names the layer that failed: DNS/TCP/TLS (network.*), AUTH, "
        "ACL, protected mode, maxclients, or a server state that refuses PING (LOADING, BUSY, "
        "MISCONF, MASTERDOWN). data: connected (connect, AUTH and SELECT worked, whatever PING "
        "said), protocol, latency_ms, samples_ms, redis_version/mode/role (RESP3 only); on "
        "failure error, failed_at."
    ),
    params={
        "samples": Param(int, 3, "how many PINGs to time (the median is reported)"),
        "slow_ms": Param((int, float), 100, "median PING above this many ms -> server.slow"),
        "protocol": Param(int, 3, "RESP version to try first (3 falls back to 2 on Redis < 6)"),
    },
    codes=(*CONNECT_CODES, "server.slow"),
)

REDIS_INFO = CheckKind(
    imports=REDIS_IMPORTS,
    name="redis_info",
    run=lazy("troubleshooter.checks.server.info:run_redis_info"),
    help=(
        "Read INFO (one command) and CONFIG GET where permitted: replica/read-only and link "
        "state, memory vs maxmemory and the eviction policy, clients vs maxclients, failed "
        "saves, loading, uptime, Sentinel/Cluster mode, the URL's db vs `databases`. data: "
        "role, redis_version, mode, used_memory, maxmemory, maxmemory_policy, "
        "connected_clients, maxclients, rejected_connections, uptime_s, loading, master_host, "
        "master_port, master_link_status, rdb_last_bgsave_status, aof_enabled, databases, "
        "keyspace {dbN: keys}, run_id, tcp_port, config_file, config_readable."
    ),
    params={
        "memory_warn_pct": Param((int, float), 90, "used/maxmemory % above which server.oom warns"),
        "clients_warn_pct": Param((int, float), 90,
                                  "connected/maxclients % above which server.max_clients warns"),
        "recent_restart_s": Param((int, float), 300,
                                  "uptime below this -> server.recently_restarted"),
    },
    codes=(*CONNECT_CODES, "server.readonly", "server.oom", "server.eviction_policy",
           "server.recently_restarted", "server.restored_from_snapshot"),
)

ACL_PROBE = CheckKind(
    imports=REDIS_IMPORTS,
    name="acl_probe",
    run=lazy("troubleshooter.checks.server.acl:run_acl_probe"),
    help=(
        "Check that the URL's user may run the commands RQ needs on its keys (<prefix>:*) and "
        "pub/sub channels (<prefix>:pubsub:*), without writing: ACL GETUSER, then ACL DRYRUN "
        "(7.0+), else MULTI + DISCARD (queued commands are ACL-checked, never run). data: "
        "user, method, checked, denied [{command, scope, reason}], unchecked."
    ),
    params={
        "key_prefix": Param(str, "", "RQ key prefix (default: $RQ_KEY_PREFIX, else rq)"),
    },
    codes=CONNECT_CODES,
)

WRITE_PROBE = CheckKind(
    imports=REDIS_IMPORTS,
    name="write_probe",
    run=lazy("troubleshooter.checks.server.ping:run_write_probe"),
    help=(
        "WRITES to the target (opt-in): SET <prefix>:troubleshooter:probe:<random> with a "
        "10 s expiry, then DEL it. Proves writes are accepted (OOM, READONLY, MISCONF, "
        "NOREPLICAS and ACL key rules all show up here). The key lives under RQ's prefix so a "
        "user limited to ~rq:* may write it. data: key, write_ms."
    ),
    params={
        "ttl_ms": Param(int, 10000, "expiry of the probe key, in ms (it is deleted at once)"),
        "key_prefix": Param(str, "", "RQ key prefix (default: $RQ_KEY_PREFIX, else rq)"),
    },
    codes=(*CONNECT_CODES, "server.oom", "server.readonly"),
    # Harmless: one short-lived key, deleted at once. Playbooks still gate it on a variable.
    destructive=False,
)

KINDS: tuple[CheckKind, ...] = (REDIS_PING, REDIS_INFO, ACL_PROBE, WRITE_PROBE)
