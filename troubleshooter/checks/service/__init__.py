"""Step 4, restarting services: how Redis and the workers are run here (systemd, supervisor,
Docker, a bare process, or the playbook's command), then a verified restart of each."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.service import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
