"""The benchmark script runs: `--quick` on two scenarios exits 0 and prints both rows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_run.py"


def test_quick_run_prints_a_measured_row_per_scenario() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--scenarios", "healthy,stopped"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # A measured row: the name, then the run count and the two medians (not SETUP FAILED).
    for name in ("healthy", "stopped"):
        assert re.search(rf"^{name}\s+1\s+\d+\.\d\d\s", out, re.MULTILINE), out
        assert re.search(rf"^{name}\s.*\s(PASS|FAIL)\s", out, re.MULTILINE), out
    assert re.search(r"^  healthy\s+\d+ commands\s+(PASS|FAIL)", out, re.MULTILINE), out
    assert "Summary: time targets" in out
    assert "setup failures 0" in out


def test_unknown_scenario_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--scenarios", "nope"],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "unknown scenario(s) nope" in done.stderr
