"""Beyond one node: Sentinel (the sentinels themselves) and Cluster (every node)."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.topology import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
