"""The log scanner on a big synthetic app log, next to `grep -c -F -f` in the same run.

Writes a >= 1 GB app log (web requests, worker chatter, and sparse Redis and RQ errors in
their real formats: redis-py exceptions, rq worker lines, Redis server lines) into a temporary
directory, checks that `troubleshooter logs` counts exactly the lines it wrote, then prints:
the full-scan wall time as a ratio to `grep -c -F -f` over the catalogue's literals (target
<= 1.2x), the `--since 10m` scan time (target <= 0.2 s) and the scanner's peak memory
(target < 100 MB). The file is deleted at the end.

    .venv/bin/python benchmarks/bench_logs.py [--size-mb 1100] [--repeat 3] [--dir /tmp]
                                              [--engine auto|hyperscan|python]

It reports; it does not gate: the exit status is 0 unless the script itself breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

try:
    from troubleshooter.checks.logs.signatures import catalogue
except ImportError as exc:
    sys.exit(f"bench_logs.py: {exc}: run it with the project's venv")

SPAN_S = 6 * 3600  # the log covers the last six hours
BODIES = [
    "INFO web.request: GET /api/v1/orders/{i} 200 12ms user_id={u} request_id=9f{i:08x}",
    "INFO web.request: POST /api/v1/checkout 201 48ms user_id={u} cart_items=3 "
    "request_id=7a{i:08x}",
    "DEBUG app.cache: cache hit key=product:{i} ttl=300",
    "INFO worker.tasks: Job 5c{i:08x} enqueued on default (app.jobs.send_receipt)",
    "WARNING web.request: GET /api/v1/search?q=shoes 499 client closed request after 2001ms",
    "INFO worker.tasks: default: Job OK (5c{i:08x}) result_ttl=500",
]
# (signature id, line body) - the error lines sprinkled in, as the programs write them.
ERRORS = [
    ("connection_refused", "ERROR app.db: redis.exceptions.ConnectionError: Error 111 "
                           "connecting to redis.internal:6379. Connection refused."),
    ("timeout", "ERROR app.db: redis.exceptions.TimeoutError: Timeout reading from socket"),
    ("oom", "ERROR app.db: redis.exceptions.OutOfMemoryError: command not allowed when used "
            "memory > 'maxmemory'."),
    ("worker_killed", "WARNING rq.worker: Worker w1: job 5c01 failed (Work-horse terminated "
                      "unexpectedly; waitpid returned 9 (signal 9); )"),
    ("readonly", "ERROR app.db: redis.exceptions.ReadOnlyError: You can't write against a read "
                 "only replica."),
]
LINES_PER_SECOND = 60
ERROR_EVERY = 20_000  # one error line per this many lines: sparse


def generate(path: Path, size: int, end: float) -> dict[str, int]:
    """Write about `size` bytes of log ending at `end`; return the error lines per signature."""
    written = {sig: 0 for sig, _ in ERRORS}
    seconds = SPAN_S
    per_second = max(size // (seconds * 110), 1)
    line_no = 0
    with open(path, "w", buffering=8 * 1024 * 1024) as fh:
        for s in range(seconds):
            t = end - seconds + s
            prefix = datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
            lines = []
            for k in range(per_second):
                line_no += 1
                if line_no % ERROR_EVERY == 0:
                    sig, body = ERRORS[(line_no // ERROR_EVERY) % len(ERRORS)]
                    written[sig] += 1
                else:
                    body = BODIES[line_no % len(BODIES)].format(i=line_no, u=line_no % 9973)
                lines.append(f"{prefix},{k % 1000:03d} {body}\n")
            fh.write("".join(lines))
    return written


def timed(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"bench_logs.py: {argv[0]} failed ({done.returncode}): {done.stderr[:300]}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--engine", default="auto", choices=("auto", "hyperscan", "python"),
                        help="the scanner's engine (python: the fallback without hyperscan)")
    args = parser.parse_args()
    exe = shutil.which("troubleshooter", path=str(Path(sys.executable).parent)) \
        or shutil.which("troubleshooter")
    grep = shutil.which("grep")
    if not exe or not grep:
        sys.exit("bench_logs.py: needs the installed troubleshooter and grep")
    workdir = Path(tempfile.mkdtemp(prefix="bench-logs-", dir=args.dir))
    try:
        return _bench(workdir, args, exe, grep)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bench(workdir: Path, args: argparse.Namespace, exe: str, grep: str) -> int:
    log, literals = workdir / "app.log", workdir / "literals.txt"
    literals.write_text("".join(f"{p}\n" for s in catalogue() for p in s.patterns))
    t0 = time.perf_counter()
    expected = generate(log, args.size_mb * 1024 * 1024, time.time())
    size = log.stat().st_size
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpu(s); "
          f"{size / 1e9:.2f} GB log, {sum(expected.values())} error lines, written in "
          f"{time.perf_counter() - t0:.0f} s")
    grep_cmd = [grep, "-c", "-F", "-f", str(literals), str(log)]
    scan_cmd = [exe, "logs", str(log), "--json", "--time-limit", "3600",
                "--engine", args.engine]
    timed(grep_cmd)  # warm the page cache: both read from memory
    grep_times, scan_times = [], []
    for _ in range(args.repeat):
        g, grep_out = timed(grep_cmd)
        s, scan_out = timed(scan_cmd)
        grep_times.append(g)
        scan_times.append(s)
    peak_full = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    doc = json.loads(scan_out)
    found = {f["code"].removeprefix("logs."): f["evidence"]["count"] for f in doc["findings"]}
    exact = found == expected and doc["lines_matched"] == int(grep_out)
    since_cmd = [*scan_cmd[:3], "--since", "10m", "--json"]
    since_wall, since_out = min(timed(since_cmd) for _ in range(args.repeat))
    since_doc = json.loads(since_out)
    g, s = statistics.median(grep_times), statistics.median(scan_times)
    ratio = s / g
    print(f"engine {doc['engine']}; counts {'exact' if exact else 'WRONG'}: {found} "
          f"(grep -c: {grep_out.strip()}, scanner lines: {doc['lines_matched']})")
    print(f"full scan     troubleshooter {s:.2f} s   grep -c -F -f {g:.2f} s   "
          f"ratio {ratio:.2f}x  (target <= 1.2x)  {'PASS' if ratio <= 1.2 else 'FAIL'}")
    print(f"--since 10m   scan {since_doc['elapsed_s']:.3f} s of "
          f"{since_doc['bytes_scanned'] / 1e6:.1f} MB (whole command {since_wall:.2f} s)  "
          f"(target <= 0.2 s)  {'PASS' if since_doc['elapsed_s'] <= 0.2 else 'FAIL'}")
    print(f"peak memory   {peak_full:.0f} MB (largest child; target < 100 MB)  "
          f"{'PASS' if peak_full < 100 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
