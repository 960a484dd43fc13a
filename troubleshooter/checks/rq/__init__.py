"""Step 2, RQ: queues, workers, registries and the requeue of orphaned jobs.

Nothing here imports the `rq` library (its key names are spelled in keys.py: rq costs about
25 ms of start-up), and nothing ever unpickles what a job holds.
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.rq import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
