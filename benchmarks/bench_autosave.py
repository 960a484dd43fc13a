"""What saving the session after every action costs, next to the triage it records.

Runs the installed `troubleshooter` (a whole process, non-interactive, healthy local Redis) a
few times for the reference wall time, then, in this process, times one save of that run's
final session (redaction + the atomic write, as `Autosave` does it) and multiplies by the most
saves a run can make (every check, every answer, every step's end: an upper bound, the check
saves are throttled). Also times rendering the report in Markdown and HTML.

    .venv/bin/python benchmarks/bench_autosave.py [--repeat N]

Prints the figures and the overhead as a share of the triage; exit 0 unless it breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from troubleshooter import report, store
from troubleshooter.lab.server import RedisServer
from troubleshooter.redaction import Redactor
from troubleshooter.sessionload import session_from_dict

BIN = Path(sys.executable).parent


def triage(url: str, state: str) -> tuple[float, dict]:
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": state,
           "XDG_STATE_HOME": state}
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "troubleshooter"), "run", "--non-interactive", "--json",
                           "--url", url], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)
    return time.perf_counter() - start, json.loads(done.stdout)


def best_of(fn: object, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with RedisServer() as server, tempfile.TemporaryDirectory() as state:
        runs = [triage(server.url, state) for _ in range(args.repeat)]
    wall = statistics.median(t for t, _ in runs)
    doc = runs[-1][1]
    session = session_from_dict(doc)
    saves = sum(len(s.checks) + len(s.answers) + 1 for s in session.steps)
    env = {"XDG_STATE_HOME": tempfile.mkdtemp()}

    redactor = Redactor(["not-in-it"])  # one per run, as the engine has

    def one_save() -> None:
        store.save_document(report.document(session, redactor), env, compact=True)

    save = best_of(one_save, 20)
    redact = best_of(lambda: report.document(session, redactor), 20)
    md = best_of(lambda: report.render(doc, "md"), 20)
    html = best_of(lambda: report.render(doc, "html"), 20)
    total = saves * save
    print(f"healthy triage (whole process, median of {args.repeat}): {wall * 1000:.0f} ms")
    print(f"one save of its session ({len(json.dumps(doc)) // 1024} KB): {save * 1000:.2f} ms; "
          f"at most {saves} saves a run: {total * 1000:.0f} ms")
    print(f"  of which redaction {redact * 1000:.2f} ms, the atomic write "
          f"{(save - redact) * 1000:.2f} ms")
    print(f"autosave overhead, upper bound: {total / wall:.1%} of the triage "
          f"(ratio {(wall + total) / wall:.3f})")
    print(f"report rendering: Markdown {md * 1000:.1f} ms, HTML {html * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
