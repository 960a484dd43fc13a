"""Wall time and peak memory of `troubleshooter validate` / `run --answers` on hostile local
inputs, as a ratio to validating the shipped playbook in the same run.

The hostile inputs are those of issue 6: a 14 MB flat playbook (was 54 s and 1.4 GB), a 200 MB
one (a traceback), a 2 MB one under the size cap but over the value cap, billion-laughs YAML as
a playbook and as an answers file (48 s and a MemoryError), /dev/zero (read forever) and a FIFO
(hung). Each is run `--repeat` times; the row shows the median wall time, the peak RSS, the
ratios to the reference, and the exit code (2 expected: refused with one line).

    .venv/bin/python benchmarks/bench_hostile_inputs.py [--repeat N]

It reports; it does not gate: the exit status is 0 unless the script itself breaks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = str(Path(sys.executable).parent / "troubleshooter")
SHIPPED = ROOT / "playbooks" / "redis-outage.yaml"
NETWORK_ONLY = ROOT / "tests" / "resources" / "network-only.yaml"
MiB = 1024 * 1024
LIMIT_S = 60.0  # a run that takes longer is killed and shown as such


def laughs() -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def flat(size: int) -> str:
    line = "  - {id: s, title: t}\n"
    return "id: x\ntitle: x\nsteps:\n" + line * (size // len(line))


def measure(args: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in MB and exit code of one run of the installed command."""
    start = time.perf_counter()
    proc = subprocess.Popen([BIN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = start + LIMIT_S
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    proc.returncode = 0  # reaped here
    return time.perf_counter() - start, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "flat14.yaml").write_text(flat(14 * MiB))
        (d / "flat2.yaml").write_text(flat(2 * MiB - 1000))
        with open(d / "huge200.yaml", "wb") as fh:
            fh.truncate(200 * MiB)
        (d / "laughs.yaml").write_text(laughs())
        os.mkfifo(d / "fifo.yaml")
        refused = "redis://127.0.0.1:1/0"
        cases = {
            "reference: validate shipped": ["validate", str(SHIPPED)],
            "14 MB flat playbook": ["validate", str(d / "flat14.yaml")],
            "200 MB playbook": ["validate", str(d / "huge200.yaml")],
            "2 MB, 300k values": ["validate", str(d / "flat2.yaml")],
            "billion laughs playbook": ["validate", str(d / "laughs.yaml")],
            "billion laughs --answers": [str(NETWORK_ONLY), "--answers", str(d / "laughs.yaml"),
                                         "--url", refused],
            "/dev/zero": ["validate", "/dev/zero"],
            "FIFO nobody writes": ["validate", str(d / "fifo.yaml")],
        }
        rows = {}
        for name, args in cases.items():
            runs = [measure(args) for _ in range(opts.repeat)]
            rows[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs),
                          runs[-1][2])
    ref_s, ref_mb, _ = rows["reference: validate shipped"]
    print(f"{'input':28} {'wall s':>8} {'x ref':>6} {'peak MB':>8} {'x ref':>6} {'exit':>5}")
    for name, (wall, peak, code) in rows.items():
        print(f"{name:28} {wall:8.3f} {wall / ref_s:6.2f} {peak:8d} {peak / ref_mb:6.2f} "
              f"{code:5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
