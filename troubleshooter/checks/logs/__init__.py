"""Step 3, logs: the `log_scan` kind, its signature catalogue, sources, time windows."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.logs.kind import LOG_SCAN

KINDS: tuple[CheckKind, ...] = (LOG_SCAN,)
