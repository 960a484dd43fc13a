"""bench_hostile.py runs: a healthy row and a hostile row, each with its time, memory and
diagnosis; a case it does not know is a usage error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_hostile.py"


def test_quick_run_prints_measured_rows() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--cases", "deep_nesting"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    row = r"\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\s+\d+\.\d\d\s+"
    assert re.search(rf"^healthy{row}0\s+none\s+PASS$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(rf"^deep_nesting{row}1\s+server\.protocol_error\s+PASS$", done.stdout,
                     re.MULTILINE), done.stdout
    assert "Summary: 2/2 cases within 250 MB" in done.stdout


def test_an_unknown_case_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--cases", "nope"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "unknown case(s) nope" in done.stderr
