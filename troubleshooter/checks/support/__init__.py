"""Step 6, support: the support bundle (the server's state read once, the report, the logs)."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.support import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
