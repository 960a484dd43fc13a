"""The Redis URL itself (step 1 starts here: a malformed URL is a common outage)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.findings import finding


def run_redis_url(ctx: CheckContext) -> Outcome:
    """Parse the target URL; data: scheme, address, db, source, password_set."""
    t = ctx.target
    if t.problem is not None:
        f = finding(t.problem.code, f"{t.source}: {t.problem.message}",
                    f"source: {t.source}", f"value (redacted): {t.redacted!r}")
        return Outcome("fail", f.message, (f,), {"source": t.source})
    findings = []
    if t.warning:
        findings.append(finding("config.malformed_url", f"{t.source}: {t.warning}",
                                f"source: {t.source}", severity="warning",
                                remedy="Remove the invisible characters from the setting."))
    if ctx.param("require_tls") and not t.tls and not t.is_unix and not _is_local(t.host):
        findings.append(finding("config.insecure", f"{t.redacted} does not use TLS (rediss://)",
                                f"source: {t.source}"))
    auth = "with a password" if t.password else "without a password"
    if t.password and t.password_source != "url":
        auth += f" (from {t.password_source})"
    who = f" as user {t.username!r}" if t.username else ""
    outcome = outcome_from(
        findings,
        f"{t.redacted} from {t.source}: {t.scheme}, db {t.db}, {auth}{who}",
        scheme=t.scheme, address=t.address, db=t.db, source=t.source,
        password_set=bool(t.password), password_source=t.password_source,
    )
    if t.password_source.startswith("$"):
        # redis-cli reads it, redis-py and RQ do not: the app may well be sending no password.
        note = (f"the password comes from {t.password_source}, which redis-py and RQ do not "
                "read: if the app's URL has none, it connects without one")
        return replace(outcome, details=(*outcome.details, note))
    return outcome


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
