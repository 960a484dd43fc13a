"""(being written)"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind

KINDS: tuple[CheckKind, ...] = ()
