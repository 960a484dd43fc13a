"""benchmarks/bench_rq_scale.py runs: a tiny scale of two states prints a measured row each."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rq_scale.py"


def test_a_tiny_scale_prints_a_row_per_state() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--scale", "0.001", "--repeat", "1", "--states",
         "orphans-50k,workers-20k"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for name in ("orphans-50k", "workers-20k"):
        assert re.search(rf"^{name}\s+\d+\.\d\d s vs rq info\s+>?\s*\d+\.\d\d s .* MB\s+\d+ "
                         r"commands\s+JSON\s+[\d.]+ KB\s+diagnosis \S+\s+(PASS|FAIL)",
                         done.stdout, re.MULTILINE), done.stdout
    assert "diagnosis rq.orphaned_jobs" in done.stdout
    assert "Summary:" in done.stdout


def test_an_unknown_state_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--states", "nope"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "unknown state(s) nope" in done.stderr
