"""Step 2, server status: PING, INFO and its rules, ACLs, the write probe."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.server import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
