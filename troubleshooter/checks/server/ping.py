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

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.link import (
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

# After a write timed out, how long a PING may take to show that reads still answer (at most a
# quarter of the check's time, kept for it).
READ_CHECK_S = 1.0

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


# --- write_probe -----------------------------------------------------------------------------


def _writes_held(ctx: CheckContext, key: str, budget: Budget,
                 reserve: float) -> Outcome | None:
    """After a write timed out: does the server still answer a read at once? Then writes are
    held (CLIENT PAUSE WRITE, a failover's pause), not the server hung. None when it does not
    answer either."""
    import redis

    from troubleshooter.checks.server.rules import UNPAUSE

    waited = budget.elapsed_ms()
    start = time.monotonic()
    try:
        with closing(open_link(ctx, Budget(reserve))) as link:
            link.client.ping()
    except redis.exceptions.RedisError:
        return None
    ping_ms = (time.monotonic() - start) * 1000
    held = finding(
        "server.unresponsive",
        f"Redis {ctx.target.address} answers reads but holds writes: SET got no reply in "
        f"{waited / 1000:.1f} s while PING answered in {ping_ms:.0f} ms (CLIENT PAUSE WRITE, or "
        "a failover in progress)",
        f"SET {key}: no reply in {waited:.0f} ms (its TTL removes it when writes resume)",
        f"PING on a new connection: PONG in {ping_ms:.1f} ms", remedy=UNPAUSE)
    return outcome_from([held], "", key=key, writes_held=True)


def run_write_probe(ctx: CheckContext) -> Outcome:
    """SET a short-lived key under RQ's prefix and DEL it: do writes work right now?"""
    import redis

    # The promise is "no write without --write-probe", whatever a playbook's conditions say.
    if not ctx.allow_write:
        return Outcome("skipped", "writes are opt-in: run with --write-probe")
    # A write that times out leaves `reserve` of the check's time to see whether reads answer.
    reserve = min(READ_CHECK_S, ctx.timeout / 4)
    budget = Budget(ctx.timeout - reserve)
    key = f"{rq_prefix(ctx)}:troubleshooter:probe:{secrets.token_hex(8)}"
    try:
        link = open_link(ctx, budget)
    except redis.exceptions.RedisError as exc:
        return failure(ctx, exc, "connect/AUTH/SELECT", budget)
    with closing(link):
        try:
            link.client.set(key, b"1", px=int(ctx.param("ttl_ms")))
            link.client.delete(key)
        except redis.exceptions.TimeoutError as exc:
            held = _writes_held(ctx, key, budget, reserve)
            return held or failure(ctx, exc, f"SET {key}", budget, link.protocol)
        except redis.exceptions.RedisError as exc:
            return failure(ctx, exc, f"SET {key}", budget, link.protocol)
    return Outcome(
        "pass",
        f"Writes work on {ctx.target.address}: SET and DEL {key} in {budget.elapsed_ms():.1f} ms",
        data={"key": key, "write_ms": round(budget.elapsed_ms(), 3)},
        details=tuple(link.notes),
    )


