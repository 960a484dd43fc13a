"""Step 2, RQ: queues, workers, registries and the requeue of orphaned jobs.

Nothing here imports the `rq` library at module level, and nothing ever unpickles what a job
holds.
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.rq import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
