"""`support_bundle`: read the server's state once, then write the support bundle.

The server is read only when the last check that tried to connect did connect: a hung or
unreachable Redis has already cost its timeout once, and the bundle is written either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome
from troubleshooter.findings import finding

COLLECT_SHARE = 0.6


def run_support_bundle(ctx: CheckContext) -> Outcome:
    from troubleshooter import bundle
    from troubleshooter.redaction import Redactor

    if ctx.session is None:
        return Outcome("error", "cannot write a bundle: this run has no session to put in it")
    collected: dict[str, Any] | None = None
    reason = ""
    if ctx.param("collect") and _connected(ctx.earlier):
        from troubleshooter.checks.support.collect import snapshot

        # The rest of the time limit is for writing the bundle.
        collected = snapshot(ctx.target, Budget(ctx.timeout * COLLECT_SHARE))
    else:
        reason = " (the server's state was not read: Redis did not answer earlier)" \
            if ctx.param("collect") else ""
    doc = ctx.session()
    redactor = Redactor.for_run(ctx.target.secrets, ctx.environ)
    members = bundle.build(doc, redactor, collected)
    path = bundle.default_path(doc, ctx.environ)
    try:
        bundle.write(members, path, path.name.removesuffix(".tar.gz"))
    except OSError as exc:
        return Outcome("error", f"could not write the support bundle to {path}: {exc.strerror}",
                       data={"snapshot": collected} if collected else {})
    support = doc.get("support") or {}
    send = f"; send it to {support['contact']}" if support.get("contact") else ""
    where = f" ({support['where']})" if support.get("where") else ""
    found = finding("support.bundle_written", f"support bundle written: {path}", str(path))
    data: dict[str, Any] = {"path": str(path), "members": sorted(members)}
    if collected is not None:
        data["snapshot"] = collected
    return Outcome("pass", f"support bundle written: {path}{send}{where}{reason}", (found,),
                   data)


def _connected(earlier: Mapping[str, Any]) -> bool:
    """Whether the last check that tried to connect (ping, verify_ping...) connected."""
    state = None
    for outcome in earlier.values():
        if "connected" in outcome.data:
            state = bool(outcome.data["connected"])
    return bool(state)
