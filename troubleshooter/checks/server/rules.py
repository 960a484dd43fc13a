"""The rules `redis_info` applies: pure functions from INFO and CONFIG values to findings.

Each rule reads `Facts` and returns its findings; none talks to Redis, so each threshold is
easy to read next to the Redis behaviour it stands for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from troubleshooter.findings import Finding, finding
from troubleshooter.frozen import frozen


@frozen
class Facts:
    """What the rules read: INFO, the CONFIG values we could get, and the check's context."""

    info: Mapping[str, Any]
    config: Mapping[str, str]
    where: str
    db: int
    params: Mapping[str, Any]
    cluster_state: str = ""
    # CLIENT LIST lines of clients blocked on a command that is not a blocking read.
    blocked_writes: tuple[str, ...] = ()
    # RQ traces that this Redis held work before its last start (workers born earlier, worker
    # keys alive but unregistered): what turns "restarted empty" into "data lost".
    survivors: tuple[str, ...] = ()
    # For a replica: what probing the master it names found ("" = not probed, "up", or why
    # it is down, e.g. "connection refused").
    master_probe: str = ""

    def num(self, key: str, default: float = 0) -> float:
        value = self.info.get(key, default)
        return value if isinstance(value, int | float) else default

    def cfg(self, name: str) -> str | None:
        return self.config.get(name)


# --- the rules: each reads Facts and returns findings ----------------------------------------


def _role(f: Facts) -> list[Finding]:
    # A cluster replica is normal: cluster clients are redirected to its master (MOVED).
    if f.info.get("role") != "slave" or f.info.get("cluster_enabled") == 1:
        return []
    master = f"{f.info.get('master_host')}:{f.info.get('master_port')}"
    role = (f"role:slave master_host:{f.info.get('master_host')} "
            f"master_port:{f.info.get('master_port')}")
    if f.master_probe and f.master_probe != "up":
        found = [finding(
            "server.readonly",
            f"{f.where} is a read-only replica and its master {master} is down "
            f"({f.master_probe}): RQ's writes fail with READONLY and there is no master to "
            "point the app at",
            role, f"probing the master {master}: {f.master_probe}",
            remedy=f"Bring the master {master} back (or promote this replica with "
                   "REPLICAOF NO ONE, then point the app and the workers at it).",
        )]
    else:
        found = [finding(
            "server.readonly",
            f"{f.where} is a read-only replica of {master}: RQ's writes fail with READONLY",
            role, *([f"the master {master} answers"] if f.master_probe == "up" else []),
        )]
    if f.info.get("master_link_status") == "down":
        since = f.info.get("master_link_down_since_seconds")
        evidence = ["master_link_status:down",
                    "never synced since start-up" if since == -1
                    else f"master_link_down_since_seconds:{since}"]
        if f.cfg("replica-serve-stale-data") == "no":
            evidence.append("replica-serve-stale-data no: reads and PING fail too (MASTERDOWN)")
        found.append(finding(
            "server.replica_link_down",
            f"The replica {f.where} has lost its master {master} (master_link_status:down)",
            *evidence,
        ))
    return found


def _min_replicas(f: Facts) -> list[Finding]:
    wanted = int(f.cfg("min-replicas-to-write") or 0)
    good = int(f.num("min_slaves_good_slaves", f.num("connected_slaves")))
    if wanted <= 0 or good >= wanted:
        return []
    return [finding(
        "server.not_enough_replicas",
        f"Writes refused on {f.where}: {good} good replica(s), min-replicas-to-write is "
        f"{wanted} (NOREPLICAS)",
        f"connected_slaves:{int(f.num('connected_slaves'))}",
        f"min-replicas-to-write {wanted}",
        remedy="Bring the replicas back, or lower min-replicas-to-write if fewer are expected.",
    )]


def _memory(f: Facts) -> list[Finding]:
    maxmemory, used = f.num("maxmemory"), f.num("used_memory")
    if maxmemory <= 0:
        return []
    policy = str(f.info.get("maxmemory_policy", ""))
    pct = used * 100 / maxmemory
    usage = f"used_memory {mib(used)} of maxmemory {mib(maxmemory)} ({pct:.1f}%)"
    if policy != "noeviction":
        return [finding(
            "server.eviction_policy",
            f"maxmemory-policy {policy} on {f.where} deletes keys when memory is full: RQ jobs "
            "and queues can silently disappear",
            f"maxmemory_policy:{policy}", usage,
            f"evicted_keys:{int(f.num('evicted_keys'))} since start-up",
        )]
    refused = errorstat(f.info, "OOM")
    warn_pct = float(f.params.get("memory_warn_pct", 90))
    evidence = [usage, "maxmemory_policy:noeviction"]
    if refused:
        evidence.append(f"errorstat_OOM:{refused} writes refused since start-up")
    # After a refused write Redis frees its query buffer and drops just under maxmemory; the
    # OOM errors already counted show the next write of that size fails again.
    if used >= maxmemory or (refused and pct >= warn_pct):
        return [finding("server.oom", f"Redis {f.where} is out of memory under noeviction: "
                        "writes fail with OOM", *evidence)]
    if pct >= warn_pct:
        return [finding("server.oom", f"Redis {f.where} is {pct:.0f}% full under noeviction: "
                        "writes will soon fail with OOM", *evidence, severity="warning")]
    return []


def _clients(f: Facts) -> list[Finding]:
    connected = int(f.num("connected_clients"))
    maxclients = int(f.num("maxclients") or int(f.cfg("maxclients") or 0))
    rejected = int(f.num("rejected_connections"))
    evidence = [f"connected_clients:{connected} (this tool's connection included) "
                f"maxclients:{maxclients or 'unknown'}"]
    if rejected:
        evidence.append(f"rejected_connections:{rejected} since start-up "
                        "(maxclients reached, or protected mode)")
    # The connection that read INFO is this tool's: the app's clients are the others. At
    # maxclients with it, the app still gets the slot it frees; refused now is a failed connect
    # (errors.classify), or rejected_connections below.
    others = max(connected - 1, 0)
    free = maxclients - others
    pct = others * 100 / maxclients if maxclients else 0
    if maxclients and free <= 0:
        return [finding("server.max_clients", f"Redis {f.where} is at maxclients ({others} of "
                        f"{maxclients} besides this tool): new connections are refused",
                        *evidence)]
    if maxclients and (pct >= float(f.params.get("clients_warn_pct", 90)) or free == 1):
        return [finding("server.max_clients", f"Redis {f.where} is near maxclients ({others} of "
                        f"{maxclients} besides this tool, {pct:.0f}%: {free} free)", *evidence,
                        severity="warning")]
    if rejected:
        return [finding("server.max_clients", f"Redis {f.where} has refused {rejected} "
                        "connection(s) since start-up", *evidence, severity="warning")]
    return []


def _persistence(f: Facts) -> list[Finding]:
    found = []
    if f.info.get("rdb_last_bgsave_status") == "err":
        found.append(_rdb_failed(f))
    if f.info.get("aof_enabled") == 1 and f.info.get("aof_last_write_status") == "err":
        found.append(finding("server.persistence_failed",
                             f"Redis {f.where} refuses writes: writing the AOF failed (MISCONF)",
                             "aof_last_write_status:err"))
    if f.info.get("aof_last_bgrewrite_status") == "err":
        found.append(finding("server.persistence_failed",
                             f"The last AOF rewrite on {f.where} failed (writes still accepted)",
                             "aof_last_bgrewrite_status:err", severity="warning"))
    return found


def _rdb_failed(f: Facts) -> Finding:
    save, stop = f.cfg("save"), f.cfg("stop-writes-on-bgsave-error")
    evidence = ["rdb_last_bgsave_status:err",
                f"rdb_changes_since_last_save:{int(f.num('rdb_changes_since_last_save'))}"]
    if save is None or stop is None:
        evidence.append("CONFIG unreadable: cannot tell whether writes are refused")
        return finding("server.persistence_failed", f"The last RDB save on {f.where} failed: "
                       "writes are refused (MISCONF) if stop-writes-on-bgsave-error is on",
                       *evidence, severity="warning")
    evidence.append(f"save '{save}' stop-writes-on-bgsave-error {stop}")
    # Redis refuses writes only with save points configured and stop-writes-on-bgsave-error.
    if save.strip() and stop == "yes":
        return finding("server.persistence_failed", f"Redis {f.where} refuses writes (and PING): "
                       "the last RDB save failed (MISCONF)", *evidence)
    return finding("server.persistence_failed", f"The last RDB save on {f.where} failed; writes "
                   "are still accepted but not persisted", *evidence, severity="warning")


def _loading(f: Facts) -> list[Finding]:
    if f.info.get("loading") != 1:
        return []
    return [finding(
        "server.loading", f"Redis {f.where} is loading its dataset and refuses commands",
        f"loading_loaded_perc:{f.info.get('loading_loaded_perc')} "
        f"loading_eta_seconds:{f.info.get('loading_eta_seconds')}",
    )]


def _uptime(f: Facts) -> list[Finding]:
    uptime = int(f.num("uptime_in_seconds", -1))
    if uptime < 0 or uptime >= float(f.params.get("recent_restart_s", 300)):
        return []
    return [restart_finding(f, uptime)]


def restart_finding(f: Facts, uptime: int) -> Finding:
    """What a recent start means for the data: restored from a snapshot, lost, or unknown.

    INFO cannot tell a first start from a wipe: only RQ traces of earlier work (`survivors`)
    make an empty start an error; without them it stays a warning that says persistence is off.
    """
    evidence = [f"uptime_in_seconds:{uptime}", f"keys now: {total_keys(f.info)}"]
    loaded = f.info.get("rdb_last_load_keys_loaded")
    if f.info.get("loading") == 1 or not isinstance(loaded, int):
        return finding("server.recently_restarted", f"Redis {f.where} started {uptime} s ago: "
                       "unsaved data and in-flight jobs may be gone", *evidence)
    save, aof = f.cfg("save"), f.info.get("aof_enabled") == 1
    policy = ("save policy unknown (CONFIG not readable)" if save is None
              else f"save '{save}'" if save.strip() else "save '' (no RDB snapshots)")
    persistence = f"{policy}, appendonly {'yes' if aof else 'no'}"
    if loaded > 0:
        return finding(
            "server.restored_from_snapshot",
            f"Redis {f.where} restarted {uptime} s ago from its {'AOF' if aof else 'RDB'} "
            f"snapshot ({loaded} keys loaded): writes after {_snapshot_age(save, aof)} are "
            "lost, and RQ jobs that finished after it are queued or started again and may "
            "run twice",
            *evidence, f"rdb_last_load_keys_loaded:{loaded}", persistence,
            remedy="Check the jobs that ran shortly before the crash before requeueing: "
                   "they may run again. Workers must reconnect (restart them if they do not).",
        )
    if aof:
        return finding("server.recently_restarted", f"Redis {f.where} started {uptime} s ago "
                       "with the AOF on: at most the last second of writes is lost",
                       *evidence, persistence)
    nothing = (f"nothing was loaded at start-up ({persistence}): every queued, started and "
               "scheduled RQ job from before the restart is gone")
    if f.survivors:
        return finding(
            "server.data_lost",
            f"Redis {f.where} restarted {uptime} s ago and lost all its data: {nothing}",
            *evidence, *f.survivors[:5],
        )
    return finding("server.recently_restarted", f"Redis {f.where} started {uptime} s ago: "
                   f"{nothing}, if there were any", *evidence, nothing)


def _snapshot_age(save: str | None, aof: bool) -> str:
    """How old the loaded snapshot could be: INFO does not carry the dump's own time."""
    if aof:
        return "the last AOF fsync (about 1 s with appendfsync everysec)"
    seconds = [int(p) for p in (save or "").split()[::2] if p.isdigit()]
    if not seconds:
        return "the last save before the restart (its age is not in INFO)"
    return (f"the last save before the restart (its age is not in INFO; the save policy "
            f"'{save}' lets it be up to {max(seconds)} s older than the crash)")


def _mode(f: Facts) -> list[Finding]:
    if f.info.get("redis_mode") == "sentinel":
        masters = [v for k, v in sorted(f.info.items())
                   if k.startswith("master") and isinstance(v, Mapping) and "address" in v]
        evidence = [f"Sentinel monitors {m.get('name')} at {m.get('address')} "
                    f"(status {m.get('status')})" for m in masters]
        return [finding("server.wrong_mode", f"{f.where} is a Redis Sentinel, not a Redis "
                        "server: RQ needs the master it monitors", "redis_mode:sentinel",
                        *evidence)]
    # A cluster node is triaged as a cluster (the cluster_status check), not as a wrong mode.
    return []


def _db(f: Facts) -> list[Finding]:
    databases = f.cfg("databases")
    if databases is None or not databases.isdigit() or f.db < int(databases):
        return []
    return [finding(
        "server.db_out_of_range",
        f"The URL selects db {f.db}, but Redis {f.where} has only {databases} databases "
        f"(0-{int(databases) - 1})",
        f"databases {databases}",
    )]


UNPAUSE = ("If nobody is failing over on purpose, run CLIENT UNPAUSE; find who paused it in the "
           "Redis log and the ops history.")


def _blocked_writes(f: Facts) -> list[Finding]:
    """Clients stuck on a write: CLIENT PAUSE WRITE (or a failover pause). Reads still answer,
    so PING looks healthy while every enqueue hangs until the app's socket timeout."""
    if not f.blocked_writes:
        return []
    return [finding(
        "server.unresponsive",
        f"Redis {f.where} answers reads but holds writes: {len(f.blocked_writes)} client(s) "
        "blocked on a write command (CLIENT PAUSE WRITE, or a failover in progress)",
        *f.blocked_writes[:5], remedy=UNPAUSE)]


RULES: tuple[Callable[[Facts], list[Finding]], ...] = (
    _mode, _loading, _db, _role, _min_replicas, _persistence, _blocked_writes, _memory,
    _clients, _uptime,
)


def analyse(facts: Facts) -> list[Finding]:
    """Every rule's findings, most upstream first."""
    return [found for rule in RULES for found in rule(facts)]


def errorstat(info: Mapping[str, Any], code: str) -> int:
    stat = info.get(f"errorstat_{code}")
    return int(stat.get("count", 0)) if isinstance(stat, Mapping) else 0


def total_keys(info: Mapping[str, Any]) -> int:
    return sum(int(v.get("keys", 0)) for k, v in info.items()
               if k.startswith("db") and isinstance(v, Mapping))


def mib(n: float) -> str:
    return f"{n / 1048576:.1f} MiB"
