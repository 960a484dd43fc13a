"""The registry of automated check kinds: one plain mapping, one subpackage per check family.

A family (`network`, `server`, `rq`, ...) lists its kinds in its own `__init__.KINDS`; this
module only joins them.
"""

from __future__ import annotations

from troubleshooter.checks import logs, network, rq, server, support, topology
from troubleshooter.checks.base import CheckKind

FAMILIES = (network, topology, server, rq, logs, support)

CHECKS: dict[str, CheckKind] = {
    kind.name: kind for family in FAMILIES for kind in family.KINDS
}
