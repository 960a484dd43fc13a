"""`redis_info`: the server's state from one INFO and one CONFIG GET, read as findings.

Plain `INFO` (the default sections) carries nearly everything on every Redis version: role and
replication link, memory and policy, clients and maxclients (7.0+), persistence status,
loading, uptime, mode and errorstats. CONFIG GET adds what INFO lacks (databases, save points,
stop-writes-on-bgsave-error...) where it is permitted; managed Redis often forbids it, so every
rule says what it could not confirm instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.link import (
    Link,
    command,
    failure,
    open_link,
    text,
)
from troubleshooter.checks.server.replies import refused, server_config, server_info
from troubleshooter.checks.server.rules import Facts, analyse, mib
from troubleshooter.findings import Finding

if TYPE_CHECKING:
    import redis


def run_redis_info(ctx: CheckContext) -> Outcome:
    """Read INFO (+ CONFIG GET where permitted) and report what stops RQ or puts it at risk."""
    import redis

    budget = Budget(ctx.timeout)
    try:
        # db=0: INFO is server-wide, and a bad db in the URL is one of the things to report.
        link = open_link(ctx, budget, db=0)
    except redis.exceptions.RedisError as exc:
        return failure(ctx, exc, "connect/AUTH", budget)
    with closing(link):
        try:
            facts, details = _read(ctx, link, budget)
            findings = analyse(facts)
            details += _doctor(link.client, findings, budget)
        except redis.exceptions.RedisError as exc:
            from troubleshooter.checks.server.errors import safe_text

            if refused(exc):
                # RQ needs no INFO (it only reads the version where it can): not a finding.
                user = ctx.target.username or "default"
                why = (f"is not permitted to user {user}"
                       if isinstance(exc, redis.exceptions.NoPermissionError)
                       else "is renamed or disabled (rename-command)")
                return Outcome("skipped", f"INFO {why} at {ctx.target.address}: the server's "
                               "state cannot be read", data={"error": safe_text(exc)},
                               details=tuple(link.notes))
            return failure(ctx, exc, "INFO", budget, link.protocol)
    outcome = outcome_from(findings, _healthy_summary(facts), **_data(facts))
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(link.notes + details))


def _read(ctx: CheckContext, link: Link, budget: Budget) -> tuple[Facts, list[str]]:
    info = server_info(link)
    details: list[str] = []
    config: dict[str, str] = {}
    if budget.spent():
        details.append("CONFIG GET skipped: the time budget was spent on INFO")
    else:
        config, problem = server_config(link, info)
        if problem:
            details.append(f"CONFIG GET not permitted ({problem}): could not read "
                           "databases, save points, maxclients, appendonly...")
    cluster_state = ""
    if info.get("cluster_enabled") == 1 and not budget.spent():
        cluster_state = _cluster_state(link.client)
    blocked: tuple[str, ...] = ()
    if info.get("blocked_clients", 0) and not budget.spent():
        blocked, problem = _blocked_writes(link.client)
        if problem:
            details.append(f"CLIENT LIST not read ({problem}): blocked clients not inspected")
    master_probe = ""
    if info.get("role") == "slave" and info.get("master_link_status") == "down":
        from troubleshooter.checks.server.master import probe_master  # only then

        master_probe = probe_master(info, budget)
    facts = Facts(info, config, ctx.target.address, ctx.target.db, ctx.params, cluster_state,
                  blocked, master_probe=master_probe)
    return facts, details


# Commands that block by design (RQ's workers wait in BLPOP / BLMOVE): not a stuck write.
BLOCKING_READS = frozenset((
    "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
    "xread", "xreadgroup", "wait", "waitaof", "subscribe", "psubscribe", "ssubscribe",
))


def _blocked_writes(client: redis.Redis) -> tuple[tuple[str, ...], str]:
    """`addr=... cmd=...` of clients blocked on anything but a blocking read."""
    import redis

    try:
        listing = text(command(client, "CLIENT", "LIST"))
    except redis.exceptions.ResponseError as exc:
        from troubleshooter.checks.server.errors import error_code

        return (), error_code(exc) or "refused"
    except redis.exceptions.InvalidResponse:
        # Tens of thousands of clients: past the reply budget. Not read, and said so.
        return (), "the client list is larger than the reply budget"
    stuck = []
    for line in listing.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "b" in fields.get("flags", "") and fields.get("cmd", "") not in BLOCKING_READS:
            stuck.append(f"client {fields.get('addr', '?')} blocked on {fields.get('cmd', '?')}")
    return tuple(stuck), ""


def _cluster_state(client: redis.Redis) -> str:
    import redis

    try:
        reply = text(command(client, "CLUSTER", "INFO"))
    except redis.exceptions.ResponseError:
        return ""
    for line in reply.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return ""


def _doctor(client: redis.Redis, findings: list[Finding], budget: Budget) -> list[str]:
    """MEMORY DOCTOR's report when memory is the problem and it found issues."""
    import redis

    if budget.spent() or not any(f.code in ("server.oom", "server.eviction_policy")
                                 for f in findings):
        return []
    try:
        advice = text(command(client, "MEMORY", "DOCTOR")).strip()
    except redis.exceptions.ResponseError:
        return []
    # Below a few MB it only jokes ("Hi Sam, this instance is empty..."): keep real reports.
    if "I detected" not in advice:
        return []
    return ["MEMORY DOCTOR: " + " ".join(advice.split())[:300]]


# --- data and summary ---------------------------------------------------------------------------
def _data(f: Facts) -> dict[str, Any]:
    info = f.info
    keyspace = {k: _whole(v.get("keys")) or 0 for k, v in info.items()
                if k.startswith("db") and isinstance(v, Mapping)}
    databases = f.cfg("databases")
    return {
        "role": info.get("role"),
        "redis_version": info.get("redis_version"),
        "mode": info.get("redis_mode", "standalone"),
        "used_memory": info.get("used_memory"),
        "maxmemory": info.get("maxmemory"),
        "maxmemory_policy": info.get("maxmemory_policy"),
        "connected_clients": info.get("connected_clients"),
        "maxclients": info.get("maxclients") or _int_or_none(f.cfg("maxclients")),
        "rejected_connections": info.get("rejected_connections"),
        "uptime_s": info.get("uptime_in_seconds"),
        "loading": info.get("loading") == 1,
        "master_host": info.get("master_host"),
        "master_port": info.get("master_port"),
        "master_link_status": info.get("master_link_status"),
        "rdb_last_bgsave_status": info.get("rdb_last_bgsave_status"),
        "aof_enabled": info.get("aof_enabled") == 1,
        "databases": _int_or_none(databases),
        "keyspace": keyspace,
        "run_id": info.get("run_id"),
        "tcp_port": info.get("tcp_port"),
        "config_file": info.get("config_file"),
        "config_readable": bool(f.config),
    }


def _whole(value: object) -> int | None:
    """A count from INFO (parse_info gives an int, or the text when it is not a number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _healthy_summary(f: Facts) -> str:
    info = f.info
    memory = mib(f.num("used_memory"))
    if f.num("maxmemory") > 0:
        memory += f" of {mib(f.num('maxmemory'))}"
    clients = f"{info.get('connected_clients')}/{info.get('maxclients') or '?'} clients"
    return (f"Redis {info.get('redis_version')} at {f.where}: {info.get('role')}, {memory} "
            f"used, {clients}, up {int(f.num('uptime_in_seconds'))} s")


