"""Whole-process wall time of `troubleshooter run` against real faults, next to `rq info`.

For each scenario (benchmarks/scenarios.py: a real redis-server on 127.0.0.1 with one fault
injected), runs `troubleshooter run --non-interactive --json --timeout 2 --url URL` and
`rq info --url URL` interleaved on the same server, prints one table row (median and min, the
target, PASS/FAIL, the diagnosis code against the expected one), then counts the commands one
whole healthy triage sends to Redis (INFO commandstats before and after).

    .venv/bin/python benchmarks/bench_run.py [--quick] [--scenarios healthy,stopped] [--repeat N]

It reports; it does not gate: the exit status is 0 unless the script itself breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    from scenarios import SCENARIOS, Lab, Scenario

    from troubleshooter.lab.server import RedisServer, find_redis_server
except ImportError as exc:  # run with the system python instead of the venv's
    sys.exit(f"bench_run.py: {exc}: run it with the project's venv: "
             ".venv/bin/python benchmarks/bench_run.py")

TIMEOUT = 2.0              # --timeout given to troubleshooter
SLACK = 0.5                # issue 3: no scenario over timeout + 0.5 s
RATIO_LIMIT = 1.5          # issue 2: healthy <= 1.5x rq info
COMMAND_LIMIT = 40         # issue 3: a healthy triage sends fewer than 40 commands
TS_HARD_TIMEOUT = 30.0     # a troubleshooter this slow is killed and reported (a hang is a bug)
RQ_HARD_TIMEOUT = 8.0      # rq info retries ~10 times; on a hung server it would take 55 s+
TS_BUDGET = 12.0           # per scenario: no run that would take the total past this...
RQ_BUDGET = 11.0           # ...so slow scenarios (SIGSTOP: 2.3 s / 5.3 s a run) stay bounded
WHOLE_BUDGET = 170.0       # seconds for the whole benchmark; past 3/4 of it, 2 runs a scenario


@dataclass(frozen=True)
class Run:
    """One subprocess: wall seconds, exit code (None: killed at the hard timeout), output."""

    seconds: float
    exit_code: int | None
    stdout: str
    stderr: str

    def outcome(self) -> str:
        if self.exit_code is None:
            return f"hung, killed at {self.seconds:.1f} s"
        return "ok" if self.exit_code == 0 else f"error (exit {self.exit_code})"

    def last_line(self) -> str:
        """The last line of stderr, else of stdout (`rq info` prints its errors there)."""
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if lines:
                return lines[-1][:140]
        return "(no output)"


@dataclass(frozen=True)
class Verdict:
    """What one troubleshooter run concluded, read from its --json document."""

    diagnosis: str | None
    findings: tuple[str, ...] = ()
    problem: str = ""  # set when there is no usable JSON (crash, hang, usage error)
    ran: tuple[str, ...] = ()      # ids of the checks that ran...
    skipped: tuple[str, ...] = ()  # ...and of those skipped (a silent skip looks fast)

    def label(self) -> str:
        return self.problem or self.diagnosis or "none"


@dataclass(frozen=True)
class CommandCount:
    """Commands sent by one triage: a window around it minus an equal idle window after it
    (which holds our own INFO snapshot and any background traffic, e.g. a live worker)."""

    triage: dict[str, int]
    idle: dict[str, int]
    run: Run

    def net(self) -> dict[str, int]:
        names = set(self.triage) | set(self.idle)
        diff = {n: self.triage.get(n, 0) - self.idle.get(n, 0) for n in names}
        return {n: c for n, c in sorted(diff.items(), key=lambda i: (-i[1], i[0])) if c}

    def total(self) -> int:
        return sum(self.net().values())


@dataclass
class Row:
    scenario: Scenario
    ts: list[Run] = field(default_factory=list)
    rq: list[Run] = field(default_factory=list)
    commands: CommandCount | None = None
    setup_error: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Tools:
    bin_dir: Path
    env: Mapping[str, str]
    timeout: float

    def troubleshooter(self, url: str) -> list[str]:
        return [str(self.bin_dir / "troubleshooter"), "run", "--non-interactive", "--json",
                "--timeout", f"{self.timeout:g}", "--url", url]

    def rq_info(self, url: str) -> list[str]:
        return [str(self.bin_dir / "rq"), "info", "--url", url]


# --- running and timing --------------------------------------------------------------------

def clean_env(home: Path) -> dict[str, str]:
    """No REDIS_URL / RQ_* / user config: only PATH, a locale and XDG dirs in `home`."""
    for sub in ("state", "config", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}


def timed(cmd: Sequence[str], env: Mapping[str, str], hard_timeout: float) -> Run:
    """Wall time of the whole process; subprocess.run kills it by PID at the hard timeout."""
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, env=dict(env), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=hard_timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return Run(time.perf_counter() - start, None, _text(exc.stdout), _text(exc.stderr))
    return Run(time.perf_counter() - start, done.returncode, done.stdout, done.stderr)


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def measure(row: Row, url: str, tools: Tools, repeat: int) -> None:
    """Interleave the two commands so drift (other load, caches) hits both alike."""
    for _ in range(repeat):
        if not _affordable(row.ts, TS_BUDGET):
            break
        row.ts.append(timed(tools.troubleshooter(url), tools.env, TS_HARD_TIMEOUT))
        if _affordable(row.rq, RQ_BUDGET):
            row.rq.append(timed(tools.rq_info(url), tools.env, RQ_HARD_TIMEOUT))


def _affordable(runs: Sequence[Run], budget: float) -> bool:
    """At least one run; another one only if it would likely end within the budget."""
    return not runs or sum(r.seconds for r in runs) + runs[-1].seconds <= budget


def verdict(run: Run) -> Verdict:
    if run.exit_code is None:
        return Verdict(None, problem="hung")
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return Verdict(None, problem=f"no JSON (exit {run.exit_code})")
    diagnosis = (doc.get("diagnosis") or {}).get("code")
    checks = [c for step in doc.get("steps") or () for c in step.get("checks") or ()]
    return Verdict(diagnosis, tuple(f.get("code", "") for f in doc.get("findings") or ()),
                   ran=tuple(c["id"] for c in checks if c.get("status") != "skipped"),
                   skipped=tuple(c["id"] for c in checks if c.get("status") == "skipped"))


# --- commands sent to Redis ----------------------------------------------------------------

def command_calls(conn: redis.Redis) -> dict[str, int]:
    """Per command: calls + rejected_calls (a refused command was still sent)."""
    stats = conn.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(s.get("calls", 0)) + int(s.get("rejected_calls", 0))
            for name, s in stats.items()}


def count_commands(url: str, run_once: Callable[[], Run]) -> CommandCount:
    conn = redis.Redis.from_url(url, protocol=2, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    try:
        conn.ping()  # connect before the first snapshot: the handshake is not in any window
        before = command_calls(conn)
        run = run_once()
        after = command_calls(conn)
        time.sleep(run.seconds)
        idle = command_calls(conn)
    finally:
        conn.close()
    return CommandCount(_diff(after, before), _diff(idle, after), run)


def _diff(later: Mapping[str, int], earlier: Mapping[str, int]) -> dict[str, int]:
    return {n: c - earlier.get(n, 0) for n, c in later.items() if c != earlier.get(n, 0)}


# --- one scenario --------------------------------------------------------------------------

def run_scenario(scenario: Scenario, tools: Tools, repeat: int) -> Row:
    row = Row(scenario)
    with ExitStack() as stack:
        try:
            url = scenario.setup(Lab(stack, tools.env, tools.bin_dir))
        except Exception as exc:  # one broken setup must not hide the other rows
            row.setup_error = f"{type(exc).__name__}: {exc}"[:140]
            return row
        measure(row, url, tools, repeat)
        if scenario.still_faulty and not scenario.still_faulty(url):
            row.notes.append("the fault ended before the measurement did: rows are mixed")
        if scenario.count_commands:
            row.commands = count_commands(
                url, lambda: timed(tools.troubleshooter(url), tools.env, TS_HARD_TIMEOUT))
    return row


def warm_up(tools: Tools) -> None:
    """One discarded run of each command: the first would pay for a cold page cache."""
    with RedisServer() as srv:
        timed(tools.troubleshooter(srv.url), tools.env, TS_HARD_TIMEOUT)
        timed(tools.rq_info(srv.url), tools.env, RQ_HARD_TIMEOUT)


# --- judging -------------------------------------------------------------------------------

def median(runs: Sequence[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def time_target(row: Row, timeout: float) -> tuple[float, str]:
    """(limit in seconds, how it reads): every scenario <= timeout + 0.5 s; `stopped` <= 0.5 s;
    healthy ones also <= 1.5x the median of the `rq info` runs that succeeded."""
    hard = timeout + SLACK
    scenario = row.scenario
    if scenario.max_seconds is not None:
        return min(hard, scenario.max_seconds), f"<= {scenario.max_seconds:.2f}s"
    succeeded = [r for r in row.rq if r.exit_code == 0]
    if scenario.ratio_target and succeeded:
        limit = RATIO_LIMIT * median(succeeded)
        if limit < hard:
            return limit, f"<= {limit:.2f}s (1.5x rq)"
    return hard, f"<= {hard:.2f}s (t+0.5)"


def diagnosis_check(row: Row) -> tuple[str, bool]:
    """The diagnoses the runs reached ("a|b" when they differ) and whether all are expected."""
    scenario = row.scenario
    verdicts = [verdict(r) for r in row.ts]
    allowed = {scenario.expect, *scenario.also_ok}
    ok = all(not v.problem and v.diagnosis in allowed and
             (scenario.expect_finding is None or scenario.expect_finding in v.findings)
             for v in verdicts)
    labels = sorted({v.label() for v in verdicts})
    return "|".join(labels), ok


def expected_label(scenario: Scenario) -> str:
    label = scenario.expect or "none"
    if scenario.also_ok:
        label += "|" + "|".join(scenario.also_ok)
    if scenario.expect_finding:
        label += f" +{scenario.expect_finding}"
    return label


# --- report --------------------------------------------------------------------------------

HEADER = (f"{'scenario':<14} {'n':>2} {'ts med':>6} {'ts min':>6} {'rq n':>4} {'rq med':>6} "
          f"{'rq min':>6}  {'rq info':<22} {'ratio':>6}  {'target':<19} {'time':<4}  "
          f"{'diagnosis':<22} {'expected':<32} check")


def format_row(row: Row, timeout: float) -> str:
    name = row.scenario.name
    if row.setup_error:
        return f"{name:<14} SETUP FAILED: {row.setup_error}"
    ts_med, rq_med = median(row.ts), median(row.rq)
    limit, target = time_target(row, timeout)
    got, ok = diagnosis_check(row)
    rq_outcomes = sorted({r.outcome() for r in row.rq})
    return (f"{name:<14} {len(row.ts):>2} {ts_med:6.2f} {min(r.seconds for r in row.ts):6.2f} "
            f"{len(row.rq):>4} {rq_med:6.2f} {min(r.seconds for r in row.rq):6.2f}  "
            f"{' / '.join(rq_outcomes)[:22]:<22} {ts_med / rq_med:5.2f}x  {target:<19} "
            f"{'PASS' if ts_med <= limit else 'FAIL':<4}  {got[:22]:<22} "
            f"{expected_label(row.scenario)[:32]:<32} {'ok' if ok else 'WRONG'}")


def print_notes(rows: Sequence[Row]) -> None:
    """What `rq info` did where it failed; why a troubleshooter row is not as expected."""
    print("\nrq info, where it did not succeed (last line of its output):")
    _print_lines([line for row in rows for line in _rq_notes(row)])
    print("\ntroubleshooter, where a run gave no JSON or a row needs a remark:")
    _print_lines([line for row in rows for line in _ts_notes(row)])


def _print_lines(lines: Sequence[str]) -> None:
    for line in lines or ["(none)"]:
        print(f"  {line}")


def _rq_notes(row: Row) -> list[str]:
    failed = {r.outcome(): r for r in row.rq if r.exit_code != 0}.values()
    return [f"{row.scenario.name}: {'hung' if r.exit_code is None else 'error'} after "
            f"{r.seconds:.1f} s: {r.last_line()}" for r in failed]


def _ts_notes(row: Row) -> list[str]:
    name = row.scenario.name
    broken = {verdict(r).problem: r for r in row.ts if verdict(r).problem}.values()
    lines = [f"{name}: {verdict(r).problem} after {r.seconds:.1f} s: {r.last_line()}"
             for r in broken]
    if row.ts and not row.setup_error and not diagnosis_check(row)[1]:
        seen = next((v for v in map(verdict, row.ts) if not v.problem), None)
        if seen is not None:
            lines.append(f"{name}: findings {', '.join(seen.findings) or 'none'}; checks "
                         f"skipped: {', '.join(seen.skipped) or 'none'}")
    return lines + [f"{name}: {note}" for note in row.notes]


def print_commands(rows: Sequence[Row]) -> list[bool]:
    print("\nCommands one whole automated triage sends to Redis (INFO commandstats, calls + "
          f"rejected calls; target < {COMMAND_LIMIT}):")
    verdicts = []
    for row in rows:
        if row.commands is None:
            continue
        count = row.commands
        total = count.total()
        verdicts.append(total < COMMAND_LIMIT)
        print(f"  {row.scenario.name:<14} {total:>3} commands  {'PASS' if verdicts[-1] else 'FAIL'}"
              f"  (window around the run {sum(count.triage.values())}, minus an equal idle "
              f"window {sum(count.idle.values())}: our INFO and background)")
        print("      " + " ".join(f"{n}={c}" for n, c in count.net().items()))
        seen = verdict(count.run)
        print(f"      checks run: {' '.join(seen.ran) or seen.label()}; "
              f"skipped: {' '.join(seen.skipped) or 'none'}")
    if not verdicts:
        print("  (no scenario with a command count was run)")
    return verdicts


def print_summary(rows: Sequence[Row], command_verdicts: Sequence[bool], timeout: float,
                  started: float) -> None:
    measured = [r for r in rows if not r.setup_error]
    times = [median(r.ts) <= time_target(r, timeout)[0] for r in measured]
    checks = [diagnosis_check(r)[1] for r in measured]
    print(f"\nSummary: time targets {times.count(True)} PASS, {times.count(False)} FAIL; "
          f"diagnoses {checks.count(True)} as expected, {checks.count(False)} WRONG; "
          f"command count {command_verdicts.count(True)} PASS, {command_verdicts.count(False)} "
          f"FAIL; setup failures {len(rows) - len(measured)}. "
          f"Benchmark wall time {time.perf_counter() - started:.0f} s.")


def print_preamble(repeat: int, timeout: float) -> None:
    import rq

    import troubleshooter

    server = subprocess.run([find_redis_server(), "--version"], capture_output=True, text=True,
                            timeout=10, check=False).stdout.split()
    version = next((w for w in server if w.startswith("v=")), "v=?")[2:]
    print(f"troubleshooter {troubleshooter.__version__}, redis-server {version}, "
          f"rq {rq.__version__}, redis-py {redis.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    print(f"Per scenario: up to {repeat} runs of `troubleshooter run --non-interactive --json "
          f"--timeout {timeout:g} --url URL`, each followed by `rq info --url URL` on the same "
          f"server (fewer runs where they would pass {TS_BUDGET:g} s / {RQ_BUDGET:g} s; rq info "
          f"killed at {RQ_HARD_TIMEOUT:g} s). Whole-process wall seconds; ratio = ts med / rq med."
          "\n")


# --- command line --------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition (smoke test)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per scenario (default 5)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"troubleshooter's --timeout (default {TIMEOUT:g})")
    names = ",".join(s.name for s in SCENARIOS)
    parser.add_argument("--scenarios", default=names, help=f"comma-separated, of: {names}")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = sorted(set(chosen) - {s.name for s in SCENARIOS})
    if unknown or not chosen:
        parser.error(f"unknown scenario(s) {', '.join(unknown) or '(none given)'}; known: {names}")
    args.chosen = [s for s in SCENARIOS if s.name in chosen]
    args.repeat = 1 if args.quick else max(1, args.repeat)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    bin_dir = Path(sys.executable).parent  # the venv's bin: not resolved, it is a symlink
    for tool in ("troubleshooter", "rq"):
        if not (bin_dir / tool).exists():
            sys.exit(f"bench_run.py: no {tool} next to {sys.executable}: run it with the "
                     "project's venv")
    print_preamble(args.repeat, args.timeout)
    with tempfile.TemporaryDirectory(prefix="ts-bench-") as home:
        tools = Tools(bin_dir, clean_env(Path(home)), args.timeout)
        warm_up(tools)
        print(HEADER, flush=True)
        rows: list[Row] = []
        for scenario in args.chosen:
            late = time.perf_counter() - started > WHOLE_BUDGET * 0.75
            rows.append(run_scenario(scenario, tools, min(args.repeat, 2) if late else
                                     args.repeat))
            if late and args.repeat > 2:
                rows[-1].notes.append(f"at most 2 runs: past 3/4 of the {WHOLE_BUDGET:g} s budget")
            print(format_row(rows[-1], args.timeout), flush=True)
    print_notes(rows)
    command_verdicts = print_commands(rows)
    print_summary(rows, command_verdicts, args.timeout, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
