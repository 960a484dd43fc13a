"""Step 4, before anything is done: how Redis and the workers are run here, what a restart would
lose, and whether the evidence points at the process at all.

Detection order (the first that knows wins): the playbook's `redis_restart` / `workers_restart`
command lines, systemd, supervisor, Docker, then a bare local process (which has no restart
command: the operator gets a walk-through). Service managers on this host only manage a target
on this host: for a remote target only the playbook's command can restart it.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.config import procs
from troubleshooter.checks.service import managers as m
from troubleshooter.checks.service.managers import Service
from troubleshooter.checks.service.plan import make_plan, read_server, unsaved
from troubleshooter.cmdrunner import CommandRunner, Commands
from troubleshooter.findings import Finding, finding
from troubleshooter.sanitize import visible
from troubleshooter.target import Target

# Each detection command is quick or not there at all.
PROBE_S = 5.0
# Findings that point at the Redis process itself: a restart may help. Never a wrong password,
# a firewall or a full memory: a restart would not fix those and loses data.
PROCESS_CODES = ("server.unresponsive", "server.loading", "server.persistence_failed",
                 "network.refused")
WORKER_CODES = ("rq.dead_workers", "rq.no_workers", "rq.orphaned_jobs")


def is_local(target: Target) -> bool:
    if target.is_unix or target.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(target.host).is_loopback
    except ValueError:
        return False


def run_service_detect(ctx: CheckContext) -> Outcome:
    """Find how Redis and the workers are run, read what a restart would lose, make the plan."""
    budget = Budget(ctx.timeout)
    runner = ctx.runner or CommandRunner(ctx.environ)
    notes: list[str] = []
    redis = _from_variable("redis", str(ctx.param("redis_restart")), notes)
    workers = _from_variable("workers", str(ctx.param("workers_restart")), notes)
    local = is_local(ctx.target)
    listening: procs.ProcInfo | None = None
    worker_procs: list[procs.ProcInfo] = []
    if local:
        if not ctx.target.is_unix:
            listening, more = procs.listener(ctx.target.port)
            notes += more
        worker_procs, more = procs.rq_workers()
        notes += more
        worker_procs = [p for p in worker_procs if _may_serve(p, ctx.target)]
        pid = listening.pid if listening else None
        worker_pids = {p.pid for p in worker_procs}
        for detect in (_systemd, _supervisor, _docker):
            if redis is not None and workers is not None:
                break
            found_redis, found_workers = detect(ctx, runner, budget, pid, worker_pids, notes)
            redis = redis or found_redis
            workers = workers or found_workers
    hung = any(f.code == "server.unresponsive" for o in ctx.earlier.values()
               for f in o.findings)
    # A hung server would only spend the budget: what it would lose cannot be read anyway.
    server = {"answers": False, "error": "unresponsive"} if hung else \
        read_server(ctx, budget)
    redis = redis or _bare_redis(ctx.target, listening, server, local)
    workers = workers or _bare_workers(worker_procs, _horses(ctx))
    codes = {f.code for out in ctx.earlier.values() for f in out.findings}
    restart_redis = [c for c in PROCESS_CODES if c in codes]
    if "network.refused" in restart_redis and not local:
        restart_redis.remove("network.refused")  # a remote refusal may be a firewall
    findings = _findings(redis, workers, server, restart_redis if redis.restart else [])
    restart_workers = [c for c in WORKER_CODES if c in codes]
    plan = make_plan(redis, workers, server, bool(restart_redis), bool(restart_workers))
    dry = bool(ctx.param("dry_run"))
    summary = (f"Redis: {_describe(redis)}; workers: {_describe(workers)}"
               + (" (dry run: nothing will be run)" if dry else ""))
    out = outcome_from(findings, summary, redis=redis.to_dict(), workers=workers.to_dict(),
                       server=server, local=local, dry_run=dry, plan=plan,
                       restart_redis=bool(restart_redis and redis.restart),
                       restart_workers=bool(restart_workers and workers.restart),
                       evidence=restart_redis + restart_workers, notes=notes)
    details = tuple(f"{'would run' if dry else 'plan'}: {p['command']}" for p in plan)
    return Outcome(out.status, summary if out.status == "pass" else out.summary,
                   out.findings, out.data, details + tuple(notes))


def _may_serve(proc: procs.ProcInfo, target: Target) -> bool:
    """A worker on this Redis, or one whose Redis we cannot tell (other apps' workers may run
    on this host too: never restart those)."""
    from troubleshooter.checks.config.compare import on_target
    from troubleshooter.checks.config.sources import worker_source

    source = worker_source(proc)
    return source.target is None or on_target(source, target)


def _from_variable(role: str, command: str, notes: list[str]) -> Service | None:
    if not command.strip():
        return None
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        notes.append(f"{role}_restart cannot be split into a command line: {exc}")
        return None
    return Service(role, "playbook", f"{role}_restart", argv,
                   f"the playbook variable {role}_restart")


def _describe(service: Service) -> str:
    if service.manager == "none":
        return "no manager found"
    if service.manager == "process":
        return f"a bare process (pid {service.pid}, {service.state}), no manager"
    return f"{service.manager} {service.name}".rstrip()


# --- the managers ----------------------------------------------------------------------------
Found = tuple[Service | None, Service | None]


def _run(runner: Commands, argv: Sequence[str], budget: Budget,
         notes: list[str]) -> str | None:
    result = runner.run(argv, timeout=budget.left(PROBE_S), output_cap=256 * 1024)
    if result.error or result.timed_out:
        notes.append(f"`{shlex.join(argv)}`: {result.describe()}")
        return None
    return result.output


def _unparsed(tool: str, output: str | None, notes: list[str]) -> None:
    """A tool that answered something we could not read (no daemon, no permission): say so."""
    lines = (output or "").strip().splitlines()
    if lines:
        notes.append(f"{tool}: {lines[0][:200]}")


def _systemd(ctx: CheckContext, runner: Commands, budget: Budget, pid: int | None,
             worker_pids: set[int], notes: list[str]) -> Found:
    if runner.which("systemctl") is None:
        return None, None
    listed = _run(runner, ("systemctl", "list-units", "--type=service", "--all", "--plain",
                           "--no-legend", "--no-pager", *m.SYSTEMD_PATTERNS), budget, notes)
    units = [u for u in m.parse_list_units(listed or "") if u.load == "loaded"]
    if not m.parse_list_units(listed or ""):
        _unparsed("systemctl", listed, notes)
    redis_units = [u for u in units if m.is_redis_unit(u.name)]
    worker_units = [u for u in units if m.is_worker_name(u.name.removesuffix(".service"))]
    root = os.geteuid() == 0
    redis = None
    if redis_units:
        unit = _pick_unit(runner, budget, redis_units, pid, notes)
        redis = Service("redis", "systemd", unit.name, m.systemctl("restart", [unit.name], root),
                        f"systemd unit {unit.name} ({unit.active}/{unit.sub})",
                        f"{unit.active}/{unit.sub}")
    workers = None
    if worker_units:
        names = [u.name for u in worker_units]
        workers = Service("workers", "systemd", ", ".join(names),
                          m.systemctl("restart", names, root), f"systemd units {', '.join(names)}",
                          members=tuple(names))
    return redis, workers


def _pick_unit(runner: Commands, budget: Budget, units: list[m.Unit], pid: int | None,
               notes: list[str]) -> m.Unit:
    """The unit whose main process listens on the target's port, else the first active one."""
    if pid is not None:
        for unit in units:
            shown = _run(runner, ("systemctl", "show", "-p", "MainPID", unit.name), budget,
                         notes)
            if m.parse_show(shown or "").get("MainPID") == str(pid):
                return unit
    return next((u for u in units if u.active == "active"), units[0])


def _supervisor(ctx: CheckContext, runner: Commands, budget: Budget, pid: int | None,
                worker_pids: set[int], notes: list[str]) -> Found:
    if runner.which("supervisorctl") is None:
        return None, None
    conf = str(ctx.param("supervisor_conf"))
    if not conf:  # supervisorctl's default search misses a supervisord started with -c FILE
        conf = supervisord_conf([p for p in (pid, *sorted(worker_pids)) if p is not None])
        if conf:
            notes.append(f"supervisorctl -c {conf}: the config of the supervisord that runs "
                         "them (its command line)")
    shown = _run(runner, m.supervisorctl(conf, "status"), budget, notes)
    programs = m.parse_supervisor_status(shown or "")
    if not programs:
        _unparsed("supervisorctl", shown, notes)
    by_pid = [p for p in programs if pid is not None and p.pid == pid]
    named = [p for p in programs if "redis" in p.name.lower() and not m.is_worker_name(p.name)]
    redis = None
    if by_pid or named:
        prog = (by_pid or named)[0]
        why = "its process listens on the port" if by_pid else "its name"
        redis = Service("redis", "supervisor", prog.name, m.supervisorctl(conf, "restart",
                                                                          prog.name),
                        f"supervisor program {prog.name} ({why})", prog.state, prog.pid)
    members = [p for p in programs if (p.pid in worker_pids and p.pid is not None)
               or (m.is_worker_name(p.name) and (redis is None or p.name != redis.name))]
    workers = None
    if members:
        names = tuple(p.name for p in members)
        workers = Service("workers", "supervisor", ", ".join(names),
                          m.supervisorctl(conf, "restart", *names),
                          f"supervisor programs {', '.join(names)}",
                          ", ".join(sorted({p.state for p in members})), members=names)
    return redis, workers


def supervisord_conf(pids: Sequence[int]) -> str:
    """The config file (`-c FILE`) of a supervisord that is the parent of one of `pids`; ""
    when none is (read with psutil, as config/procs.py reads processes)."""
    import psutil

    for pid in pids:
        try:
            parent = psutil.Process(pid).parent()
            if parent is None:
                continue
            argv = parent.cmdline()
            if not any(Path(word).name == "supervisord" for word in argv[:3]):
                continue
            conf = _option(argv, "-c", "--configuration")
            # A relative path is its start directory's: its current one is the best guess.
            return conf if not conf or os.path.isabs(conf) else os.path.join(parent.cwd(), conf)
        except psutil.Error:
            continue
    return ""


def _option(argv: Sequence[str], short: str, long: str) -> str:
    """The value of `short VALUE`, `long VALUE` or `long=VALUE` in `argv`; "" when absent."""
    for i, word in enumerate(argv):
        if word in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(f"{long}="):
            return word.partition("=")[2]
    return ""


def _docker(ctx: CheckContext, runner: Commands, budget: Budget, pid: int | None,
            worker_pids: set[int], notes: list[str]) -> Found:
    if runner.which("docker") is None or ctx.target.is_unix:
        return None, None
    if not docker_daemon_named(ctx.environ):
        notes.append("docker: no daemon to ask here (DOCKER_HOST and DOCKER_CONTEXT unset, no "
                     "docker.sock, no context chosen)")
        return None, None
    shown = _run(runner, ("docker", "ps", "--format", m.DOCKER_FORMAT), budget, notes)
    containers = m.parse_docker_ps(shown or "")
    if not containers:
        _unparsed("docker", shown, notes)
    publishing = [c for c in containers if c.publishes(ctx.target.port)]
    redis = None
    if publishing:
        c = publishing[0]
        redis = Service("redis", "docker", c.name, ("docker", "restart", c.name),
                        f"container {c.name} ({c.image}) publishes port {ctx.target.port}",
                        c.status)
    members = tuple(c.name for c in containers
                    if m.is_worker_name(c.name) and (redis is None or c.name != redis.name))
    workers = None
    if members:
        workers = Service("workers", "docker", ", ".join(members),
                          ("docker", "restart", *members),
                          f"containers {', '.join(members)}", members=members)
    return redis, workers


def docker_daemon_named(environ: Mapping[str, str]) -> bool:
    """Whether the docker CLI has a daemon to ask: an address in the environment, a chosen
    context, or a daemon socket where Docker puts one. Without one, `docker ps` can only fail
    ("Cannot connect to the Docker daemon"), after ~20 ms of starting the CLI."""
    if environ.get("DOCKER_HOST") or environ.get("DOCKER_CONTEXT"):
        return True
    home = environ.get("HOME", "")
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    sockets = ["/var/run/docker.sock", "/run/docker.sock"]
    if runtime:
        sockets.append(os.path.join(runtime, "docker.sock"))  # rootless Docker
    if home:
        sockets.append(os.path.join(home, ".docker", "run", "docker.sock"))  # Docker Desktop
        try:  # `docker context use NAME` writes currentContext here
            with open(os.path.join(home, ".docker", "config.json"), "rb") as fh:
                if b'"currentContext"' in fh.read(1024 * 1024):
                    return True
        except OSError:
            pass
    return any(os.path.exists(path) for path in sockets)


def _bare_redis(target: Target, listening: procs.ProcInfo | None, server: dict[str, Any],
                local: bool) -> Service:
    port = f"-p {target.port}" if not target.is_unix else f"-s {target.path}"
    if listening is not None:
        conf = str(server.get("config_file") or "")
        program = server.get("executable") or next(iter(listening.cmdline), "redis-server")
        start = f"{program} {conf}".strip()
        # INFO's config_file is empty for a server started with arguments only.
        unknown = ("it was started without a config file, and its title hides the arguments"
                   if server.get("answers") else
                   "its config file is unknown: Redis does not answer, and its title hides the "
                   "arguments")
        manual: tuple[str, ...] = (
                  f"Stop it: kill {listening.pid} (if it is stopped or hung and still there "
                  f"after 10 s: kill -9 {listening.pid})",
                  f"Start it as it was started: {start}" if conf else
                  f"Start it again the way it was started ({unknown})",
                  f"Check: redis-cli {port} PING")
        if listening.status == "stopped":
            # SIGSTOP (a ^Z, a debugger, a stuck `kill -STOP`): resuming loses nothing.
            manual = (f"It is stopped (state T), not crashed: `kill -CONT {listening.pid}` "
                      "resumes it with nothing lost; restart only if it stays unresponsive",
                      *manual)
        return Service("redis", "process", f"pid {listening.pid}", (),
                       f"process {listening.pid} ({listening.name}) listens on port "
                       f"{target.port}", listening.status, listening.pid, conf, manual)
    # A malformed URL has no host to name: say where the operator must look instead.
    where = ("on this host" if local else f"on {target.host}" if target.host
             else "behind the URL (step 1 says what is wrong with it)")
    manual = (f"Find how Redis is run {where}: `systemctl status redis-server`, `docker ps`, "
              "`supervisorctl status`, or the provider's console (reboot / failover)",
              "Restart it there; if it is a bare process: kill PID, then "
              "redis-server /etc/redis/redis.conf",
              f"Check: redis-cli -h {target.host} {port} PING" if not target.is_unix
              else f"Check: redis-cli {port} PING",
              "Or give the command to this tool: --var redis_restart='COMMAND'")
    return Service("redis", "none", evidence=f"no service manager here runs Redis {where}",
                   manual=manual)


def _horses(ctx: CheckContext) -> dict[int, str]:
    """pid -> job id of the work horses step 2 found still running a job of a dead worker."""
    found: dict[int, str] = {}
    for out in ctx.earlier.values():
        horses = out.data.get("horses")
        if isinstance(horses, dict):
            found.update({pid: str(job) for job, pid in horses.items() if isinstance(pid, int)})
    return found


def _bare_workers(found: list[procs.ProcInfo], horses: dict[int, str]) -> Service:
    if not found:
        return Service("workers", "none", evidence="no rq worker process on this host",
                       manual=("Restart the workers where they run (`rq worker QUEUE --url "
                               "URL`), or give --var workers_restart='COMMAND'",))
    # A work horse whose worker died still runs its job: stopping it loses the job.
    manual = tuple(f"pid {p.pid}: the work horse of a dead worker, still running job "
                   f"{visible(horses[p.pid])}: let it finish, do not kill or requeue it; then "
                   f"start a worker: {shlex.join(p.cmdline)}" if p.pid in horses else
                   f"pid {p.pid}: kill -TERM {p.pid} (warm shutdown), then start it again: "
                   f"{shlex.join(p.cmdline)}" for p in found[:10])
    return Service("workers", "process", ", ".join(f"pid {p.pid}" for p in found[:10]),
                   evidence=f"{len(found)} rq worker process(es), no manager", manual=manual,
                   members=tuple(str(p.pid) for p in found))


def _findings(redis: Service, workers: Service, server: dict[str, Any],
              restarting: list[str]) -> list[Finding]:
    """`restarting`: the evidence for restarting Redis (empty: it will not be restarted)."""
    found = []
    if not redis.restart:
        found.append(finding("restart.unmanaged",
                             f"no known way to restart Redis here: {redis.evidence}",
                             redis.evidence))
    elif not workers.restart and workers.manager != "none":
        found.append(finding("restart.unmanaged",
                             f"the workers run without a manager: {workers.evidence}",
                             workers.evidence))
    loses = unsaved(server)
    if loses:
        found.append(finding("restart.unsaved_changes",
                             f"a restart now would lose data: {'; '.join(loses)}", *loses))
    # A stopped process (refused) has lost its memory already and a loading one holds nothing
    # unsaved; any other reason to restart a Redis that did not say what it holds is a risk.
    if not server.get("answers") and set(restarting) - {"network.refused", "server.loading"}:
        why = "it does not answer" if server.get("error") == "unresponsive" else \
            f"it did not answer ({server.get('error', 'unknown error')})"
        found.append(finding("restart.loss_unknown",
                             f"what a restart would lose cannot be read: {why}",
                             f"restart for: {', '.join(restarting)}"))
    return found
