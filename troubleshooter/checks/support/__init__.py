"""Step 6, support: the support bundle (the server's state read once, the report, the logs).

Its kind, declared here as data (its code loads when run).
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind, Param, lazy

SUPPORT_BUNDLE = CheckKind(
    name="support_bundle",
    run=lazy("troubleshooter.checks.support.bundle_check:run_support_bundle"),
    help=(
        "Write the support bundle (.tar.gz in the state directory): the report in Markdown, "
        "HTML and JSON; INFO, CONFIG, SLOWLOG, LATENCY and CLIENT LIST counts read now "
        "(read-only, when Redis answered earlier); the log excerpts of step 3; the playbook; "
        "versions; REDACTIONS.txt. Finding support.bundle_written carries its path. data: "
        "path, members, snapshot."
    ),
    params={"collect": Param(bool, True, "read the server's state for the bundle")},
    codes=("support.bundle_written",),
    needs_target=False,
)

KINDS: tuple[CheckKind, ...] = (SUPPORT_BUNDLE,)
