"""What the server-check tests share: run a kind as the engine would, and never leak a secret."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.checks.server import KINDS
from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target

PASSWORD = "s3cret-Tr0ub4dor-3x"
WRONG_PASSWORD = "wr0ng-Pa55w0rd-9z"
USER_PASSWORD = "rqapp-Pw-7yX"
SECRETS = (PASSWORD, WRONG_PASSWORD, USER_PASSWORD)

BY_NAME = {kind.name: kind for kind in KINDS}
# Every check must be done within its timeout plus this, whatever happens.
SLACK = 0.3


def url(server: RedisServer, *, user: str = "", password: str = "", db: int = 0) -> str:
    """The server's URL with credentials and a db."""
    auth = f"{quote(user)}:{quote(password)}@" if user or password else ""
    return f"redis://{auth}{server.host}:{server.port}/{db}"


def run(kind: str, target_url: str, *, timeout: float = 1.0,
        environ: Mapping[str, str] | None = None, allow_write: bool = True,
        **params: Any) -> Outcome:
    """Run a kind with its declared defaults filled in (as the engine does); check secrets.

    allow_write is what --write-probe sets: on here, so write_probe's own tests can write."""
    spec = BY_NAME[kind]
    values = {name: p.default for name, p in spec.params.items()} | params
    ctx = CheckContext(target=parse_target(target_url), params=values, timeout=timeout,
                       environ=dict(environ or {}), allow_write=allow_write)
    start = time.monotonic()
    outcome = spec.run(ctx)
    elapsed = time.monotonic() - start
    assert elapsed <= timeout + SLACK, f"{kind} took {elapsed:.2f} s (timeout {timeout} s)"
    assert_no_secret(outcome)
    return outcome


def dump(outcome: Outcome) -> str:
    """Everything an outcome shows anywhere, as JSON."""
    return json.dumps({
        "status": outcome.status,
        "summary": outcome.summary,
        "findings": [asdict(f) for f in outcome.findings],
        "data": outcome.data,
        "details": list(outcome.details),
    }, default=str)


def assert_no_secret(outcome: Outcome) -> None:
    shown = dump(outcome)
    for secret in SECRETS:
        assert secret not in shown, f"a password leaked into the outcome: {shown}"


def codes(outcome: Outcome) -> list[tuple[str, str]]:
    """(code, severity) of each finding, in order."""
    return [(f.code, f.severity) for f in outcome.findings]


def only(outcome: Outcome, code: str, severity: str = "error") -> None:
    """The outcome has exactly this one finding and the matching status."""
    assert codes(outcome) == [(code, severity)], dump(outcome)
    assert outcome.status == ("fail" if severity == "error" else "warn")
    assert outcome.summary == outcome.findings[0].message
