"""The shared parallel helper: one deadline for all items, a bounded number of threads."""

from __future__ import annotations

import threading
import time

from troubleshooter.parallel import first_line, in_parallel


def test_one_deadline_for_all_items() -> None:
    start = time.monotonic()
    results = in_parallel([3.0] * 4, time.sleep, 0.5)
    assert time.monotonic() - start < 1.5  # not 4 x 0.5 s, not 3 s
    assert results == [None] * 4


def test_results_exceptions_and_order() -> None:
    def work(x: int) -> int:
        if x == 2:
            raise ValueError("two\nmore")
        return x * 10

    results = in_parallel([1, 2, 3], work, 5)
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and first_line(results[1]) == "two"


def test_thread_count_is_bounded() -> None:
    seen: set[int] = set()

    def work(x: int) -> int:
        seen.add(threading.get_ident())
        time.sleep(0.01)
        return x

    assert in_parallel(list(range(40)), work, 10, max_threads=4) == list(range(40))
    assert len(seen) <= 4
