"""Step 5: the configuration from every source, side by side, compared (config_sources), and
held against the server that answers (config_server)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.config import compare
from troubleshooter.checks.config.sources import collect, endpoint_text
from troubleshooter.findings import Finding, finding
from troubleshooter.sanitize import visible


def _pids(values: list[Any]) -> list[int]:
    return [int(v) for v in values if str(v).strip().isdigit()]


def _earlier_codes(ctx: CheckContext) -> set[str]:
    return {f.code for out in ctx.earlier.values() for f in out.findings}


def run_config_sources(ctx: CheckContext) -> Outcome:
    """Read every source, compare them with each other and with this run's target."""
    from troubleshooter.checks.server.link import rq_prefix

    target = ctx.target
    sources, problems, notes = collect(
        ctx.environ, [str(f) for f in ctx.param("files")], [str(f) for f in ctx.param("env_files")],
        _pids(list(ctx.param("pids"))), bool(ctx.param("scan_workers")))
    findings: list[Finding] = [
        *compare.missing(sources, target),
        *compare.url_findings(sources, target),
        *compare.connection_findings(sources, target),
        *compare.queue_findings(sources, str(ctx.param("app_queue")), target,
                                known="rq.queue_mismatch" in _earlier_codes(ctx)),
        *compare.prefix_findings(sources, rq_prefix(ctx), target),
    ]
    workers = [s for s in sources if s.kind == "worker"]
    serving = [w for w in workers if compare.on_target(w, target)]
    data = {
        "target": {"source": target.source, "url": target.redacted,
                   "endpoint": endpoint_text(target) if target.problem is None else None,
                   "password_set": bool(target.password), "app_queue": ctx.param("app_queue")},
        "sources": [s.to_dict() for s in sources],
        # Workers of other apps may run here: only those on this run's Redis answer step 5's
        # two questions ("same URL?", "same queue?").
        "workers_seen": len(workers),
        "workers_on_target": len(serving),
        "worker_urls_known": bool(serving),
        "worker_queues_known": bool(serving),
        "problems": problems, "notes": notes,
    }
    ok = (f"{len(sources)} source(s) agree with {target.redacted}"
          f"{f'; {len(workers)} rq worker(s) here' if workers else ''}" if sources else
          "no source here names a Redis (environment, .env, --config, rq workers): only this "
          f"run's {target.source}")
    out = outcome_from(findings, ok, **data)
    details = tuple(visible(line) for line in [*problems, *notes])
    if problems and out.status == "pass":
        return Outcome("error", f"{problems[0]}", out.findings, out.data, details)
    return Outcome(out.status, out.summary, out.findings, out.data, details)


def run_config_server(ctx: CheckContext) -> Outcome:
    """The server against what the sources expect: RQ's eviction policy, a password the server
    requires but a source does not send, TLS a source expects but the port does not speak, and
    the instance's identity (run_id, role) when the playbook names the expected one."""
    import redis

    from troubleshooter.checks.server.link import open_link, text
    from troubleshooter.checks.server.replies import server_config, server_info_if_allowed

    budget = Budget(ctx.timeout)
    target = ctx.target
    try:
        link = open_link(ctx, budget)  # the run's connection, not one more handshake
    except redis.exceptions.RedisError as exc:
        return Outcome("skipped", f"Redis does not answer ({type(exc).__name__}): steps 1-2 "
                                  "say why")
    try:
        # The INFO and CONFIG GET redis_info read, unless the server may have changed since.
        info, why = server_info_if_allowed(link)
        policy: str | None = server_config(link, info)[0].get("maxmemory-policy") or None
    except redis.exceptions.RedisError as exc:
        from troubleshooter.checks.server.errors import safe_text

        return Outcome("error", f"reading INFO and CONFIG from {target.address}: "
                                f"{safe_text(exc, [target.password])}")
    finally:
        link.close()
    # The run's connection sent no credentials and was answered: nothing is required. Only
    # a target with credentials needs a bare connection to tell.
    requires_auth = (_requires_auth(ctx, budget) if target.password or target.username
                     else False)
    facts = {"maxmemory_policy": policy, "run_id": text(info.get("run_id", "")),
             "role": text(info.get("role", "")), "tcp_port": info.get("tcp_port"),
             "requires_auth": requires_auth}
    found = [*_policy(ctx, policy), *_identity(ctx, facts),
             *_per_source(ctx, requires_auth)]
    out = outcome_from(found, f"{target.address}: maxmemory-policy {policy or 'unknown'}, "
                              f"role {facts['role'] or 'unknown'}", **facts)
    if why:
        out = replace(out, details=(f"INFO refused ({why[:80]}): role and run_id unknown",))
    return out


def _requires_auth(ctx: CheckContext, budget: Budget) -> bool | None:
    """Whether a client that sends no password is refused (NOAUTH): None when unknown."""
    import redis

    from troubleshooter.checks.server.link import open_link

    try:
        bare = open_link(replace(ctx.target, password=None, username=None),
                         Budget(budget.left(1.0)), connector=ctx.connector)
    except redis.exceptions.AuthenticationError:
        return True
    except redis.exceptions.ResponseError as exc:
        return "NOAUTH" in str(exc) or "Authentication required" in str(exc)
    except redis.exceptions.RedisError:
        return None
    try:
        bare.client.ping()
        return False
    except redis.exceptions.RedisError as exc:
        return "NOAUTH" in str(exc) or "Authentication required" in str(exc)
    finally:
        bare.close()


def _policy(ctx: CheckContext, policy: str | None) -> list[Finding]:
    already = any(f.code == "server.eviction_policy" for o in ctx.earlier.values()
                  for f in o.findings)
    if policy is None or policy == "noeviction" or already:
        return []
    return [finding("server.eviction_policy",
                    f"maxmemory-policy is {policy}: RQ needs noeviction, or jobs and queues can "
                    "silently disappear", f"CONFIG GET maxmemory-policy: {policy}",
                    severity="warning")]


def _identity(ctx: CheckContext, facts: dict[str, Any]) -> list[Finding]:
    found = []
    want_id, want_role = str(ctx.param("expected_run_id")), str(ctx.param("expected_role"))
    if want_id and facts["run_id"] and facts["run_id"] != want_id:
        found.append(finding("config.wrong_instance",
                             f"{ctx.target.address} is run_id {facts['run_id']}, not the "
                             f"expected {want_id}", f"INFO server run_id:{facts['run_id']}"))
    if want_role and facts["role"] and facts["role"] != want_role:
        found.append(finding("config.wrong_instance",
                             f"{ctx.target.address} is a {facts['role']}, the configuration "
                             f"expects a {want_role}", f"INFO replication role:{facts['role']}"))
    return found


def _per_source(ctx: CheckContext, requires_auth: bool | None) -> list[Finding]:
    """Sources naming this very server: do they send a password, do they expect TLS?"""
    earlier = ctx.earlier.get(str(ctx.param("sources")))
    rows = earlier.data.get("sources", []) if earlier else []
    target = ctx.target
    found = []
    for row in rows:
        if row.get("port") != target.port or not compare._same_endpoint(
                str(row.get("host")), int(row["port"]), target):
            continue
        if requires_auth and not row.get("password_set"):
            found.append(finding("server.auth_required",
                                 f"{row['name']} sends no password, but {target.address} "
                                 "requires one (requirepass)", f"{row['name']}: {row['url']}"))
        if row.get("scheme") == "rediss" and not target.tls:
            found.append(finding("network.tls_mismatch",
                                 f"{row['name']} expects TLS (rediss://), but {target.address} "
                                 "speaks plain Redis", f"{row['name']}: {row['url']}"))
    return found
