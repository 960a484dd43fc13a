"""The benchmark scripts run: bench_run `--quick` on two scenarios exits 0 and prints both rows;
bench_seams prints its four figures, each measured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_run.py"
SEAMS = SCRIPT.with_name("bench_seams.py")


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


def test_seams_prints_each_figure_measured() -> None:
    done = subprocess.run([sys.executable, str(SEAMS), "--repeat", "1"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^healthy triage  \d\.\d{3} s vs rq info \d\.\d{3} s .*(PASS|FAIL)$", out,
                     re.MULTILINE), out
    assert re.search(r"^commands        \d+ sent .*\bping=\d+.*(PASS|FAIL)$", out,
                     re.MULTILINE), out
    # Our modules were seen by -X importtime (a healthy triage loads dozens of them).
    imports = re.search(r"^own imports     (\d+\.\d) ms .*?, (\d+) modules \(all imports "
                        r"(\d+\.\d) ms", out, re.MULTILINE)
    assert imports, out
    own, modules, whole = float(imports[1]), int(imports[2]), float(imports[3])
    assert 0 < own < whole and modules >= 40, out
    assert re.search(r"^deadline        .*: \d\.\d\d s .*exits \[4\]", out, re.MULTILINE), out
