"""Step 2, the server: does Redis answer, as whom, in what state, and may RQ use it.

The kinds, cheapest first: `redis_ping` (connect, AUTH, PING), `redis_info` (INFO and what
CONFIG GET may read: server_info.py), `acl_probe` (what the user may run: server_acl.py) and the
opt-in `write_probe`. None of them writes except `write_probe`; the first three send 12
commands to a healthy Redis 7.0 (18 where CLIENT SETINFO exists). Failures are named by
`redis_errors.classify`.
"""

from __future__ import annotations

import secrets
import time
from contextlib import closing
from typing import TYPE_CHECKING

from troubleshooter.checks.base import Budget, CheckContext, CheckKind, Outcome, Param, outcome_from
from troubleshooter.checks.server.acl import ACL_PROBE
from troubleshooter.checks.server.info import REDIS_INFO
from troubleshooter.checks.server.link import (
    CONNECT_CODES,
    Link,
    command,
    failure,
    open_link,
    rq_prefix,
    text,
)
from troubleshooter.findings import finding

if TYPE_CHECKING:
    import redis

# --- redis_ping ------------------------------------------------------------------------------


def run_redis_ping(ctx: CheckContext) -> Outcome:
    """Connect (RESP3, else RESP2), authenticate, select the db and time a few PINGs."""
    import redis

    budget = Budget(ctx.timeout)
    try:
        protocol = 2 if ctx.param("protocol") == 2 else 3
        link = open_link(ctx, budget, protocol=protocol)
    except redis.exceptions.RedisError as exc:
        return failure(ctx, exc, "connect/AUTH/SELECT", budget, connected=False)
    with closing(link):
        try:
            samples = _ping_samples(link.client, max(1, ctx.param("samples")), budget)
        except redis.exceptions.RedisError as exc:
            # The session stands (MISCONF, MASTERDOWN, LOADING refuse PING, not INFO).
            return failure(ctx, exc, "PING", budget, link.protocol, connected=True)
        slow = sorted(samples)[len(samples) // 2] > float(ctx.param("slow_ms"))
        doctor = _latency_doctor(link.client, budget) if slow else []
    return _ping_outcome(ctx, link, samples, doctor)


def _latency_doctor(client: redis.Redis, budget: Budget) -> list[str]:
    """LATENCY DOCTOR's report, where latency monitoring is on and the user may ask."""
    import redis

    if budget.spent():
        return []
    try:
        report = " ".join(text(command(client, "LATENCY", "DOCTOR")).split())
    except redis.exceptions.RedisError:
        return []  # refused by the ACL or renamed away (managed Redis): PING timings suffice
    # With latency-monitor-threshold 0 (the default) the doctor only says it is disabled.
    if not report or "monitoring is disabled" in report or "I'm sorry" in report:
        return []
    return ["LATENCY DOCTOR: " + report[:300]]


def _ping_samples(client: redis.Redis, count: int, budget: Budget) -> list[float]:
    """PING round trips in ms; stops early rather than outlive the check's budget."""
    samples: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        client.ping()
        samples.append((time.perf_counter() - start) * 1000)
        if budget.spent() or budget.left() < 2 * samples[-1] / 1000:
            break
    return samples


def _ping_outcome(ctx: CheckContext, link: Link, samples: list[float],
                  doctor: list[str]) -> Outcome:
    where = ctx.target.address
    # The middle sample (the upper one of an even count): `statistics` costs start-up time.
    median = sorted(samples)[len(samples) // 2]
    version = link.hello.get("version")
    data: dict[str, object] = {"connected": True, "protocol": link.protocol,
                               "latency_ms": round(median, 3),
                               "samples_ms": [round(s, 3) for s in samples]}
    if version:
        data.update(redis_version=version, mode=link.hello.get("mode"),
                    role=link.hello.get("role"))
    findings = []
    slow_ms = float(ctx.param("slow_ms"))
    if median > slow_ms:
        findings.append(finding(
            "server.slow",
            f"PING round trips to {where} take {median:.1f} ms (threshold {slow_ms:g} ms)",
            "PING: " + ", ".join(f"{s:.2f} ms" for s in samples),
            *doctor,
        ))
    about = f"RESP{link.protocol}" + (f", Redis {version}" if version else "")
    outcome = outcome_from(findings, f"PING {where}: PONG in {median:.2f} ms ({about})", **data)
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(link.notes))


REDIS_PING = CheckKind(
    imports=("redis",),
    name="redis_ping",
    run=run_redis_ping,
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

# --- write_probe -----------------------------------------------------------------------------


def run_write_probe(ctx: CheckContext) -> Outcome:
    """SET a short-lived key under RQ's prefix and DEL it: do writes work right now?"""
    import redis

    # The promise is "no write without --write-probe", whatever a playbook's conditions say.
    if not ctx.allow_write:
        return Outcome("skipped", "writes are opt-in: run with --write-probe")
    budget = Budget(ctx.timeout)
    key = f"{rq_prefix(ctx)}:troubleshooter:probe:{secrets.token_hex(8)}"
    try:
        link = open_link(ctx, budget)
    except redis.exceptions.RedisError as exc:
        return failure(ctx, exc, "connect/AUTH/SELECT", budget)
    with closing(link):
        try:
            link.client.set(key, b"1", px=int(ctx.param("ttl_ms")))
            link.client.delete(key)
        except redis.exceptions.RedisError as exc:
            return failure(ctx, exc, f"SET {key}", budget, link.protocol)
    return Outcome(
        "pass",
        f"Writes work on {ctx.target.address}: SET and DEL {key} in {budget.elapsed_ms():.1f} ms",
        data={"key": key, "write_ms": round(budget.elapsed_ms(), 3)},
        details=tuple(link.notes),
    )


WRITE_PROBE = CheckKind(
    imports=("redis",),
    name="write_probe",
    run=run_write_probe,
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
