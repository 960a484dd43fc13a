"""The figures of issue 8 ("Seams"), each against its reference measured in the same run:

1. healthy triage / `rq info`: medians of N alternating whole-process runs on one fresh
   redis-server (target <= 1.1x);
2. commands one healthy triage sends (INFO commandstats around one run, minus an idle window;
   target <= 15);
3. our own modules' import time in a healthy triage (`python -X importtime`, the self times of
   `troubleshooter.*` summed, median of the runs; target <= 20 ms), next to the whole import
   and the number of our modules (the server writes a log file, so the triage scans it: the
   log scan's modules are in the count);
4. `--deadline 3` behind a 300 ms-latency relay: whole-process seconds (target <= 3.5 s).

    .venv/bin/python benchmarks/bench_seams.py [--repeat 9]

It reports; it does not gate: the exit status is 0 unless the script itself breaks.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

try:
    from bench_run import Run, clean_env, count_commands, timed

    from troubleshooter.lab.relay import Forwarder
    from troubleshooter.lab.server import RedisServer
except ImportError as exc:
    sys.exit(f"bench_seams.py: {exc}: run it with the project's venv: "
             ".venv/bin/python benchmarks/bench_seams.py")

RATIO_TARGET, COMMAND_TARGET, IMPORT_TARGET_MS, DEADLINE_TARGET_S = 1.1, 15, 20.0, 3.5
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def triage(bin_dir: Path, url: str, *extra: str) -> list[str]:
    return [str(bin_dir / "troubleshooter"), "run", "--non-interactive", "--json",
            "--timeout", "2", "--url", url, *extra]


def own_import_ms(stderr: str) -> tuple[float, float, int]:
    """(self times of troubleshooter.* summed, every top-level import's cumulative) in ms, and
    how many of our modules were imported."""
    own = whole = count = 0
    for self_us, cumulative_us, indent, name in IMPORT_LINE.findall(stderr):
        if name.split(".")[0] == "troubleshooter":
            own += int(self_us)
            count += 1
        if len(indent) == 2:  # a top-level import: its cumulative time holds its children
            whole += int(cumulative_us)
    return own / 1000, whole / 1000, count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each command (>= 1)")
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    repeat = max(1, args.repeat)
    with tempfile.TemporaryDirectory() as home, RedisServer() as server:
        env = clean_env(Path(home))
        ts_cmd, rq_cmd = triage(bin_dir, server.url), [str(bin_dir / "rq"), "info", "--url",
                                                        server.url]
        timed(ts_cmd, env, 30)  # warm the page cache; not counted
        timed(rq_cmd, env, 10)
        ts: list[Run] = []
        rq: list[Run] = []
        imports: list[tuple[float, float, int]] = []
        for _ in range(repeat):
            ts.append(timed(ts_cmd, env, 30))
            rq.append(timed(rq_cmd, env, 10))
        for _ in range(repeat):  # separately: -X importtime slows the run it measures
            run = timed([sys.executable, "-X", "importtime", "-m", "troubleshooter",
                         *ts_cmd[1:]], env, 30)
            imports.append(own_import_ms(run.stderr))
        count = count_commands(server.url, lambda: timed(ts_cmd, env, 30))
        with Forwarder(server, delay_ms=300) as relay:
            slow = [timed(triage(bin_dir, relay.url, "--deadline", "3"), env, 30)
                    for _ in range(min(repeat, 3))]
    ts_med = statistics.median(r.seconds for r in ts)
    rq_med = statistics.median(r.seconds for r in rq)
    ratio = ts_med / rq_med
    sent = count.total()
    own_ms = statistics.median(i[0] for i in imports)
    whole_ms = statistics.median(i[1] for i in imports)
    slow_med = statistics.median(r.seconds for r in slow)
    print(f"healthy triage  {ts_med:.3f} s vs rq info {rq_med:.3f} s (medians of {repeat} "
          f"alternating runs): {ratio:.2f}x  target <= {RATIO_TARGET}x  "
          f"{verdict(ratio <= RATIO_TARGET)}")
    print(f"commands        {sent} sent by one healthy triage "
          f"({' '.join(f'{k}={v}' for k, v in count.net().items())}; "
          f"idle window {sum(count.idle.values())})  target <= {COMMAND_TARGET}  "
          f"{verdict(sent <= COMMAND_TARGET)}")
    own_runs = sorted(i[0] for i in imports)
    # Our share of each run's whole import time: what our modules cost whatever the machine's
    # speed at the time (both scale with it; the ms figure alone moves by a third).
    share = statistics.median(own / whole for own, whole, _ in imports)
    modules = sorted({count for _, _, count in imports})
    print(f"own imports     {own_ms:.1f} ms of troubleshooter.* self time, "
          f"{'/'.join(map(str, modules))} modules (all imports {whole_ms:.1f} ms, ours "
          f"{share:.1%} of them; medians of {repeat}; runs {own_runs[0]:.1f}-{own_runs[-1]:.1f} "
          f"ms)  target <= {IMPORT_TARGET_MS:g} ms  {verdict(own_ms <= IMPORT_TARGET_MS)}")
    print(f"deadline        --deadline 3 behind a 300 ms relay: {slow_med:.2f} s (median of "
          f"{len(slow)}; exits {sorted({r.exit_code for r in slow}, key=str)})  "
          f"target <= {DEADLINE_TARGET_S} s  {verdict(slow_med <= DEADLINE_TARGET_S)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
