"""The registry of automated check kinds: one plain mapping, one subpackage per check family.

A family (`network`, `server`, `rq`, ...) lists its kinds in its own `__init__.KINDS`; this
module only joins them.
"""

from __future__ import annotations

from troubleshooter.checks import config, logs, network, rq, server, service, support, topology
from troubleshooter.checks.base import CheckKind

FAMILIES = (network, topology, server, rq, logs, service, config, support)

CHECKS: dict[str, CheckKind] = {
    kind.name: kind for family in FAMILIES for kind in family.KINDS
}
