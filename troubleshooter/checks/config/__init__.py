"""Step 5, configuration: every source (environment, .env and --config files, the rq workers
and app processes running here), side by side and compared, then held against the server."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.config import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
