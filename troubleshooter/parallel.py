"""Run the same small job for many items at once, under one deadline, with a bounded number of
threads: the sentinels of a URL, the nodes of a cluster, the ports next to the target.

Depends on nothing of the project, so any layer may use it without an import cycle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Item = TypeVar("Item")

# A cluster may list hundreds of nodes: a few dozen threads ask them all well within a limit.
MAX_THREADS = 32


def in_parallel(items: Sequence[Item], work: Callable[[Item], T], timeout: float,
                max_threads: int = MAX_THREADS) -> list[T | Exception | None]:
    """`work(item)` for every item: its result, the exception it raised, or None when it had
    not finished (or not started) when `timeout` seconds have passed. Returns by then, whatever
    the items do; a job still running is left to its own socket timeouts on a daemon thread."""
    results: list[T | Exception | None] = [None] * len(items)
    deadline = time.monotonic() + timeout
    lock = threading.Lock()
    upcoming = iter(range(len(items)))

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(upcoming, None)
            if i is None:
                return
            try:
                results[i] = work(items[i])
            except Exception as exc:  # a bug or an unexpected reply: reported, not lost
                results[i] = exc

    threads = [threading.Thread(target=worker, daemon=True)
               for _ in range(min(len(items), max_threads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0.0))
    return results


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line (its message's first line, or its type's name)."""
    lines = (str(exc) or type(exc).__name__).splitlines() or [type(exc).__name__]
    return lines[0][:limit]
