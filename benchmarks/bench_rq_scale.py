"""The triage at production scale: each RQ state built in rq 3's real key layout, next to `rq info`.

States (each on its own redis-server on 127.0.0.1): 1M queued jobs; 200k failed jobs in 1 and
in 40 queues; 50k started jobs whose workers are dead; 20k registered workers of which 19k are
stale; 5,000 idle clients. Every key is derived from real jobs: templates are taken from jobs
rq itself wrote (enqueue, an in-process SimpleWorker failing a job on a refused Redis, a
registered Worker) and copied server-side by a Lua loop with new ids (a pipeline from Python
would take minutes for 1M jobs), with exactly the fields rq 3 writes for each status.

For each state it runs `troubleshooter run --non-interactive --json --timeout 2` and `rq info`
interleaved, and prints: the median wall time of each and their ratio, the troubleshooter's
peak RSS, the commands it sent (INFO commandstats delta), its JSON size, and whether the
findings are right - against the targets of issue 7: <= 1.5x rq info and <= timeout + 0.5 s,
<= 100 MB, <= 200 commands, <= 1 MB of JSON.

    .venv/bin/python benchmarks/bench_rq_scale.py [--repeat N] [--states a,b] [--scale 0.1]

It reports; it does not gate: the exit status is 0 unless the script itself breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
try:
    import redis
    from rq import Queue, SimpleWorker, Worker
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    from troubleshooter.lab.server import RedisServer
except ImportError as exc:
    sys.exit(f"bench_rq_scale.py: {exc}: run it with the project's venv")

TIMEOUT = 2.0
SLACK = 0.5
RATIO_LIMIT = 1.5
RSS_LIMIT_MB = 100
COMMAND_LIMIT = 200
JSON_LIMIT = 1_000_000
BIN = Path(sys.executable).parent
CHUNK = 50_000  # jobs per EVAL: the server stays responsive between chunks
RQ_LIMIT = 20.0  # rq info is killed there (it reads every started job): the ratio is a floor

# Copies a template hash under new ids: ARGV = prefix, first, count, queue key (or ""),
# registry key (or ""), registry score, registry member suffix, then field/value pairs.
COPY_JOBS = """
local prefix, first, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local queue, registry, score, suffix = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
for i = first, first + count - 1 do
  local id = prefix .. string.format('%08d', i)
  redis.call('HSET', 'rq:job:' .. id, unpack(fields))
  if queue ~= '' then redis.call('RPUSH', queue, id) end
  if registry ~= '' then redis.call('ZADD', registry, score, id .. suffix) end
end
return count
"""
# One result-stream entry per failed job (rq >= 1.12 keeps the failure there).
COPY_RESULTS = """
local prefix, first, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
for i = first, first + count - 1 do
  redis.call('XADD', 'rq:results:' .. prefix .. string.format('%08d', i), 'MAXLEN', '10', '*',
             unpack(fields))
end
return count
"""
COPY_WORKERS = """
local prefix, first, count, live = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
for i = first, first + count - 1 do
  local key = 'rq:worker:' .. prefix .. string.format('%06d', i)
  redis.call('SADD', 'rq:workers', key)
  redis.call('SADD', 'rq:workers:default', key)
  if live == '1' then
    redis.call('HSET', key, unpack(fields))
    redis.call('EXPIRE', key, 480)
  end
end
return count
"""


@dataclass
class Templates:
    """Hashes and stream entries as rq 3 wrote them for real jobs and a real worker."""

    queued: dict[bytes, bytes]
    failed: dict[bytes, bytes]
    result: dict[bytes, bytes]
    worker: dict[bytes, bytes]


def make_templates() -> Templates:
    import logging

    logging.disable(logging.CRITICAL)  # the template worker's chatter and its job's traceback
    with RedisServer() as server:
        conn = redis.Redis(host=server.host, port=server.port)
        queue = Queue("default", connection=conn)
        queued = queue.enqueue("tests.rqjobs.noop_job")
        failing = queue.enqueue("tests.rqjobs.redis_refused_job", server.port + 1)
        queued_fields = conn.hgetall(queued.key)
        SimpleWorker([queue], connection=conn, name="templ").work(burst=True)
        failed_fields = conn.hgetall(failing.key)
        entries = conn.xrevrange(f"rq:results:{failing.id}", count=1)
        worker = Worker(["default"], connection=conn, name="templ-live")
        worker.register_birth()
        worker_fields = conn.hgetall(worker.key)
    assert failed_fields[b"status"] == b"failed" and entries, "the template job did not fail"
    return Templates(queued_fields, failed_fields, dict(entries[0][1]), worker_fields)


def _flat(fields: Mapping[bytes, bytes], **override: str) -> list[bytes | str]:
    merged: dict[bytes | str, bytes | str] = {**fields}
    for name, value in override.items():
        merged.pop(name.encode(), None)
        merged[name] = value
    return [part for pair in merged.items() for part in pair]


def copy_jobs(conn: redis.Redis, prefix: str, total: int, fields: list[bytes | str],
              queue: str = "", registry: str = "", score: float = 0, suffix: str = "") -> None:
    for first in range(0, total, CHUNK):
        conn.eval(COPY_JOBS, 0, prefix, first, min(CHUNK, total - first), queue, registry,
                  score, suffix, *fields)


def utc(seconds_ago: float) -> str:
    from datetime import UTC, datetime

    from rq.utils import utcformat

    return str(utcformat(datetime.fromtimestamp(time.time() - seconds_ago, UTC)))


# --- the states ---------------------------------------------------------------------------------

def queued(conn: redis.Redis, t: Templates, n: int) -> None:
    fields = _flat(t.queued, status="queued", enqueued_at=utc(3600))
    copy_jobs(conn, "q-", n, fields, queue="rq:queue:default")
    conn.sadd("rq:queues", "rq:queue:default")


def failed(queues: int) -> Callable[[redis.Redis, Templates, int], None]:
    def build(conn: redis.Redis, t: Templates, n: int) -> None:
        per = n // queues
        for q in range(queues):
            name = f"tenant-{q:03d}"
            prefix = f"f{q:03d}-"
            fields = _flat(t.failed, origin=name)
            copy_jobs(conn, prefix, per, fields,
                      registry=FailedJobRegistry(name, connection=conn).key,
                      score=time.time() + 31536000)
            for first in range(0, per, CHUNK):
                conn.eval(COPY_RESULTS, 0, prefix, first, min(CHUNK, per - first),
                          *_flat(t.result))
            conn.sadd("rq:queues", f"rq:queue:{name}")
    return build


def orphans(conn: redis.Redis, t: Templates, n: int) -> None:
    # What prepare_for_execution writes on a started job, for workers long dead (their keys
    # gone, still in rq:workers); the started entries expired, the execution keys too.
    for w in range(50):
        fields = _flat(t.queued, status="started", started_at=utc(7200), last_heartbeat=utc(7200),
                       worker_name=f"dead-{w:02d}")
        copy_jobs(conn, f"o{w:02d}-", n // 50, fields,
                  registry=StartedJobRegistry("default", connection=conn).key,
                  score=time.time() - 3600, suffix=":exec1")
        conn.sadd("rq:workers", f"rq:worker:dead-{w:02d}")
    conn.sadd("rq:queues", "rq:queue:default")


def workers(conn: redis.Redis, t: Templates, n: int) -> None:
    live = max(1, n // 20)
    fresh = _flat(t.worker, birth=utc(0), last_heartbeat=utc(0), hostname="other-host",
                  state="idle")
    conn.eval(COPY_WORKERS, 0, "stale-", 0, n - live, "0", *fresh)
    conn.eval(COPY_WORKERS, 0, "live-", 0, live, "1", *fresh)
    copy_jobs(conn, "w-", 100, _flat(t.queued, status="queued", enqueued_at=utc(5)),
              queue="rq:queue:default")
    conn.sadd("rq:queues", "rq:queue:default")


def clients(conn: redis.Redis, t: Templates, n: int, keep: list[socket.socket]) -> None:
    host, port = conn.connection_pool.connection_kwargs["host"], \
        conn.connection_pool.connection_kwargs["port"]
    for _ in range(n):
        keep.append(socket.create_connection((host, port), timeout=5))
    queued(conn, t, 1000)


@dataclass(frozen=True)
class State:
    name: str
    size: int
    build: Callable[..., None]
    expect: frozenset[str]  # finding codes the run must report
    refuse: frozenset[str] = frozenset()  # codes it must not report


STATES = (
    State("queued-1M", 1_000_000, queued, frozenset({"rq.backlog", "rq.no_workers"})),
    State("failed-200k-1q", 200_000, failed(1), frozenset({"rq.failed_jobs"})),
    State("failed-200k-40q", 200_000, failed(40), frozenset({"rq.failed_jobs"})),
    State("orphans-50k", 50_000, orphans,
          frozenset({"rq.orphaned_jobs", "rq.dead_workers"})),
    State("workers-20k", 20_000, workers, frozenset({"rq.dead_workers"}),
          frozenset({"rq.no_workers"})),
    State("clients-5000", 5_000, clients, frozenset(), frozenset({"server.max_clients"})),
)


# --- measuring ----------------------------------------------------------------------------------

@dataclass
class Measure:
    ts: list[float] = field(default_factory=list)
    rq: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    commands: int = 0
    json_bytes: int = 0
    codes: set[str] = field(default_factory=set)
    diagnosis: str | None = None


def run_timed(argv: list[str], env: Mapping[str, str],
              limit: float = 60.0) -> tuple[float, int, str, float]:
    """(wall seconds, exit code, stdout, peak RSS MB) of one child process, killed (by PID)
    at `limit` seconds: `rq info` takes minutes on some of these states."""
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, env=dict(env), cwd=REPO)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > limit:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        elapsed = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return elapsed, proc.returncode, out.read().decode("utf-8", "replace"), \
            usage.ru_maxrss / 1024


def total_calls(conn: redis.Redis) -> int:
    return sum(int(v["calls"]) for v in conn.info("commandstats").values())


def measure(url: str, conn: redis.Redis, repeat: int, home: Path) -> Measure:
    env = {**os.environ, "XDG_STATE_HOME": str(home / "state"),
           "XDG_CONFIG_HOME": str(home / "config"), "PROMPT_TOOLKIT_NO_CPR": "1"}
    # PYTHONDONTWRITEBYTECODE would make every run compile our modules again (rq's were
    # compiled when pip installed them): measured as a user runs it, with its bytecode cached.
    for name in ("REDIS_URL", "RQ_REDIS_URL", "RQ_QUEUE_NAME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    m = Measure()
    ts = [str(BIN / "troubleshooter"), "run", "--url", url, "--non-interactive", "--json",
          "--timeout", f"{TIMEOUT:g}", "--save", str(home / "s.json")]
    run_timed(ts, env)  # warm-up, not counted: bytecode written, files in the page cache
    for i in range(repeat):
        before = total_calls(conn)
        seconds, _, out, rss = run_timed(ts, env)
        commands = total_calls(conn) - before - 1  # our own INFO before
        m.ts.append(seconds)
        if i == 0:
            m.rss_mb, m.commands, m.json_bytes = rss, commands, len(out.encode())
            doc = json.loads(out)
            m.codes = {f["code"] for f in doc["findings"]}
            m.diagnosis = (doc.get("diagnosis") or {}).get("code")
        seconds, _, _, _ = run_timed([str(BIN / "rq"), "info", "--url", url], env, RQ_LIMIT)
        m.rq.append(seconds)
    return m


def report(state: State, m: Measure) -> bool:
    ts, rq = statistics.median(m.ts), statistics.median(m.rq)
    ratio = ts / rq if rq else float("inf")
    right = state.expect <= m.codes and not (state.refuse & m.codes)
    ok = {
        "time": ratio <= RATIO_LIMIT and ts <= TIMEOUT + SLACK,
        "rss": m.rss_mb <= RSS_LIMIT_MB,
        "commands": m.commands <= COMMAND_LIMIT,
        "json": m.json_bytes <= JSON_LIMIT,
        "findings": right,
    }
    verdict = "PASS" if all(ok.values()) else "FAIL " + ",".join(k for k, v in ok.items() if not v)
    more = ">" if rq >= RQ_LIMIT else " "
    print(f"{state.name:<16} {ts:6.2f} s vs rq info {more}{rq:5.2f} s ({ratio:4.2f}x)  "
          f"RSS {m.rss_mb:5.1f} MB  {m.commands:4d} commands  JSON {m.json_bytes / 1024:7.1f} KB"
          f"  diagnosis {m.diagnosis}  {verdict}", flush=True)
    missing = state.expect - m.codes
    if missing or state.refuse & m.codes:
        print(f"{'':16} findings {sorted(m.codes)}; missing {sorted(missing)}", flush=True)
    return all(ok.values())


def _close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--states", default=",".join(s.name for s in STATES))
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every state's size (0.01 for a smoke run)")
    args = parser.parse_args()
    wanted = args.states.split(",")
    unknown = set(wanted) - {s.name for s in STATES}
    if unknown:
        parser.error(f"unknown state(s) {', '.join(sorted(unknown))}")
    started = time.monotonic()
    templates = make_templates()
    print(f"targets: <= {RATIO_LIMIT}x rq info and <= {TIMEOUT + SLACK:g} s, <= {RSS_LIMIT_MB} "
          f"MB, <= {COMMAND_LIMIT} commands, <= {JSON_LIMIT // 1000} kB JSON; "
          f"{args.repeat} run(s) each, medians", flush=True)
    passed = 0
    chosen = [s for s in STATES if s.name in wanted]
    for state in chosen:
        with ExitStack() as stack, tempfile.TemporaryDirectory() as home:
            server = stack.enter_context(RedisServer("--maxclients", "20000"))
            conn = redis.Redis(host=server.host, port=server.port, socket_timeout=120)
            size = max(1, int(state.size * args.scale))
            built = time.monotonic()
            keep: list[socket.socket] = []
            stack.callback(_close_all, keep)
            if state.build is clients:
                clients(conn, templates, size, keep)
            else:
                state.build(conn, templates, size)
            build_s = time.monotonic() - built
            print(f"# {state.name}: built {size:,} in {build_s:.1f} s, "
                  f"{conn.dbsize():,} keys", flush=True)
            passed += report(state, measure(server.url, conn, args.repeat, Path(home)))
    print(f"Summary: {passed}/{len(chosen)} states within every target "
          f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
