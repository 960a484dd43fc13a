"""Wall time and peak memory of a whole-process triage against hostile servers.

For each case the installed `troubleshooter run --non-interactive --json` triages a server on
127.0.0.1 - a real healthy redis-server (the reference), a hostile RESP server (50 MB INFO, an
endless reply, 10,000-deep nesting, every reply just under the 8 MiB budget), or a real
redis-server holding an RQ job whose `data` is a
zlib bomb (1 MB that inflates to 1 GB) - and the script prints, per case, the median wall time
and the peak RSS of the triage process (wait4's ru_maxrss), each also as a ratio to the healthy
triage measured in the same run, with the diagnosis it reached. The memory budget of any
triage is 250 MB.

    .venv/bin/python benchmarks/bench_hostile.py            # 3 runs per case, ~30 s
    .venv/bin/python benchmarks/bench_hostile.py --quick    # 1 run per case
    .venv/bin/python benchmarks/bench_hostile.py --quick --cases info_50mb,endless_reply

Every server is stopped (by PID, or its thread) when its case ends, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.server import HostileServer, bulk, endless, healthy, nested  # noqa: E402
from troubleshooter.lab.server import RedisServer  # noqa: E402

BUDGET_MB = 250
TIMEOUT = 2.0
HARD_TIMEOUT = 120.0
MIB = 1024 * 1024


@dataclass
class Run:
    seconds: float
    peak_mb: float
    code: int | None
    diagnosis: str


# The triage runs under this small launcher: ru_maxrss counts a forked child's pages from
# before its exec, so forking the triage straight from this (large) process would report this
# process's size instead of the triage's.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("maxrss_kb=%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status) & 255)
"""


def triage(url: str, env: dict[str, str]) -> Run:
    """One whole-process triage: wall time, peak RSS (ru_maxrss of the triage), diagnosis."""
    cmd = [str(Path(sys.executable).with_name("troubleshooter")), "run", "--non-interactive",
           "--json", "--timeout", f"{TIMEOUT:g}", "--url", url]
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *cmd], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=HARD_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return Run(time.perf_counter() - start, float("nan"), None, "(killed)")
    seconds = time.perf_counter() - start
    stderr = done.stderr.decode(errors="replace")
    peak_kb = next((int(line.split("=", 1)[1]) for line in stderr.splitlines()
                    if line.startswith("maxrss_kb=")), 0)
    try:
        diagnosis = (json.loads(done.stdout).get("diagnosis") or {}).get("code") or "none"
    except ValueError:
        diagnosis = "(no JSON)"
    return Run(seconds, peak_kb / 1024, done.returncode, diagnosis)


# --- the cases: each yields the URL of a server it stops afterwards -------------------------

@contextmanager
def real_redis() -> Iterator[str]:
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()


def hostile(overrides: dict[bytes, object]) -> Callable[[], Iterator[str]]:
    @contextmanager
    def case() -> Iterator[str]:
        server = HostileServer(healthy(overrides)).start()  # type: ignore[arg-type]
        try:
            yield server.url
        finally:
            server.stop()
    return case  # type: ignore[return-value]


def zlib_bomb(inflated: int = 1024 * MIB) -> bytes:
    """`inflated` zero bytes, deflated (about 1 MB for 1 GB), made without holding them."""
    packer = zlib.compressobj(9)
    zeros = bytes(16 * MIB)
    parts = [packer.compress(zeros) for _ in range(inflated // len(zeros))]
    return b"".join(parts) + packer.flush()


@contextmanager
def rq_job_with_a_bomb() -> Iterator[str]:
    """A real Redis with one queued RQ job whose `data` inflates to 1 GB."""
    import redis

    server = RedisServer().start()
    try:
        client = redis.Redis.from_url(server.url)
        client.hset("rq:job:bomb", mapping={
            "data": zlib_bomb(), "status": "queued", "origin": "default",
            "created_at": "2026-01-01T00:00:00.000000Z", "description": "bomb()"})
        client.rpush("rq:queue:default", "bomb")
        client.sadd("rq:queues", "rq:queue:default")
        client.close()
        yield server.url
    finally:
        server.stop()


@contextmanager
def big_replies() -> Iterator[str]:
    """Every command after the handshake answered with a bulk just under the 8 MiB budget: the
    most each concurrent check may hold at once."""
    big = bulk(b"x" * (8 * MIB - 4096))
    handshake = healthy()

    def script(command: list[bytes]) -> bytes | None:
        name = command[0].upper() if command else b""
        if name in (b"HELLO", b"CLIENT", b"SELECT", b"PING"):
            reply = handshake(command)
            return reply if isinstance(reply, bytes) else None
        return big

    server = HostileServer(script).start()
    try:
        yield server.url
    finally:
        server.stop()


CASES: dict[str, Callable[[], object]] = {
    "healthy": real_redis,
    "info_50mb": hostile({b"INFO": bulk(b"# Server\r\n" + b"x" * (50 * MIB))}),
    "endless_reply": hostile({b"INFO": endless}),
    "deep_nesting": hostile({b"INFO": nested(10_000)}),
    "zlib_bomb_job": rq_job_with_a_bomb,
    "big_replies": big_replies,
}


def clean_env(home: Path) -> dict[str, str]:
    for sub in ("state", "config"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(home), "XDG_STATE_HOME": str(home / "state"),
            "XDG_CONFIG_HOME": str(home / "config")}


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per case")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated cases (default: all; healthy always runs first)")
    args = parser.parse_args(argv)
    wanted = ["healthy", *(c for c in args.cases.split(",") if c and c != "healthy")]
    unknown = [c for c in wanted if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {','.join(unknown)} (cases: {', '.join(CASES)})")
    repeat = 1 if args.quick else max(1, args.repeat)
    print(f"whole-process triage (--timeout {TIMEOUT:g}), {repeat} run(s) per case; "
          f"peak RSS budget {BUDGET_MB} MB; ratios against the healthy triage of this run")
    print(f"{'case':15} {'wall s':>7} {'x healthy':>9} {'peak MB':>8} {'x healthy':>9} "
          f"{'exit':>4}  {'diagnosis':22} budget")
    base: Run | None = None
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as home:
        env = clean_env(Path(home))
        for name in wanted:
            with CASES[name]() as url:  # type: ignore[attr-defined]
                runs = [triage(url, env) for _ in range(repeat)]
            run = Run(median([r.seconds for r in runs]), max(r.peak_mb for r in runs),
                      runs[-1].code, runs[-1].diagnosis)
            base = base or run
            ok = run.peak_mb < BUDGET_MB
            failures += not ok
            print(f"{name:15} {run.seconds:7.2f} {run.seconds / base.seconds:9.2f} "
                  f"{run.peak_mb:8.1f} {run.peak_mb / base.peak_mb:9.2f} {run.code!s:>4}  "
                  f"{run.diagnosis:22} {'PASS' if ok else 'FAIL'}", flush=True)
    print(f"Summary: {len(wanted) - failures}/{len(wanted)} cases within {BUDGET_MB} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
