"""The registry of automated check kinds: one plain mapping, one module per check family."""

from __future__ import annotations

from troubleshooter.checks import discovery, network, rq_checks, server, target_checks
from troubleshooter.checks.base import CheckKind

CHECKS: dict[str, CheckKind] = {
    kind.name: kind
    for family in (target_checks, network, discovery, server, rq_checks)
    for kind in family.KINDS
}
