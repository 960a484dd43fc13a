"""What a trainee can do to fix the drill, besides a shell of their own: a Redis command with
the operator's credentials, a restart through the drill's supervisor, an edit of an env file,
a requeue of orphaned jobs, a resend of jobs the app's outbox shows were lost.

A fix is data (`{"restart": "workers"}`), as in an answers file; `apply` returns what
happened as one line for the trainee. Nothing read back is deserialized.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from troubleshooter.drill import lab as lab_mod
from troubleshooter.drill.lab import Lab
from troubleshooter.drill.looks import app_client, error_text
from troubleshooter.errors import UsageError
from troubleshooter.sanitize import visible

ENV_FILES = ("app.env", "worker.env")
KINDS = ("redis", "shell", "restart", "stop", "set", "copy", "requeue", "resend_lost")


def parse(fix: Any, where: str) -> tuple[str, Any]:
    """One fix as (kind, argument); a UsageError names `where` and what was expected."""
    if not isinstance(fix, dict) or len(fix) != 1:
        raise UsageError(f"{where}: a fix is a mapping with one of: {', '.join(KINDS)}")
    [(kind, arg)] = fix.items()
    if kind not in KINDS:
        raise UsageError(f"{where}: unknown fix {kind!r} (known: {', '.join(KINDS)})")
    if kind == "redis" and not (isinstance(arg, list) and arg or isinstance(arg, str) and arg):
        raise UsageError(f"{where}: redis takes a command, e.g. [CONFIG, SET, maxmemory, 64mb]")
    if kind == "shell" and not (isinstance(arg, list) and arg
                                and all(isinstance(a, str) for a in arg)):
        raise UsageError(f"{where}: shell takes a command as a list, e.g. [rmdir, '{{dir}}/x']")
    if kind in ("restart", "stop") and not isinstance(arg, str):
        raise UsageError(f"{where}: {kind} takes a program name, 'workers' or 'all'")
    if kind == "set" and not (isinstance(arg, dict) and {"file", "key", "value"} <= set(arg)):
        raise UsageError(f"{where}: set takes {{file, key, value}}")
    if kind == "copy" and not (isinstance(arg, dict) and {"from", "to", "key"} <= set(arg)):
        raise UsageError(f"{where}: copy takes {{from, to, key}}")
    for name in ("file", "from", "to"):
        if kind in ("set", "copy") and name in arg and arg[name] not in ENV_FILES:
            raise UsageError(f"{where}: {name} must be one of {', '.join(ENV_FILES)}")
    return str(kind), arg


def describe(kind: str, arg: Any) -> str:
    """One line for the debrief: `redis CONFIG SET maxmemory 64mb`, `copy from=... key=...`."""
    if isinstance(arg, list):
        return " ".join([kind, *map(str, arg)])
    if isinstance(arg, dict):
        return " ".join([kind, *(f"{k}={v}" for k, v in arg.items())])
    return f"{kind} {arg}"


def apply(lab: Lab, kind: str, arg: Any) -> str:
    """Do it; a failure is reported, not raised: the trainee tries something else."""
    try:
        return visible(lab.mask(FIXES[kind](lab, arg)))
    except UsageError as exc:
        return str(exc)
    except Exception as exc:  # Redis refused, a worker did not come up: that is the feedback
        return visible(lab.mask(f"failed: {error_text(exc)}"))


def _redis(lab: Lab, arg: Any) -> str:
    args = [str(a) for a in arg] if isinstance(arg, list) else str(arg).split()
    reply = cast(Any, lab.admin()).execute_command(*args)
    return f"redis> {' '.join(args)}\n{reply!r}"


def _shell(lab: Lab, arg: Any) -> str:
    """A command of the trainee's own, as in their shell: an argv (never a shell line), with
    `{dir}` standing for the drill's directory; time-limited, its output capped."""
    from troubleshooter.cmdrunner import CommandRunner

    argv = [lab.fill(str(a)) for a in arg]
    result = CommandRunner(redact=lab.mask).run(argv, timeout=10.0, output_cap=4096)
    output = result.output.strip()
    return f"$ {' '.join(argv)}\n{result.describe()}" + (f"\n{output}" if output else "")


def _programs(lab: Lab, name: str) -> list[str]:
    if name == "all":
        return [*lab.ports, *lab.workers()]
    if name == "workers":
        return lab.workers()
    if name not in lab.sup.programs:
        raise UsageError(f"no program {name!r} (programs: {', '.join(lab.sup.programs)}, "
                         "workers, all)")
    return [name]


def _restart(lab: Lab, arg: Any) -> str:
    names = _programs(lab, str(arg))
    for name in names:
        lab.sup.stop(name)
    for name in names:  # servers before workers: a worker needs its Redis at start
        lab.sup.start(name)
        if name in lab.ports:
            lab.wait_server(name)
    if any(n in lab.workers() for n in names):
        lab_mod.wait_workers(lab)
    return f"restarted {', '.join(names)}"


def _stop(lab: Lab, arg: Any) -> str:
    names = _programs(lab, str(arg))
    for name in names:
        lab.sup.stop(name)
    return f"stopped {', '.join(names)}"


def _set(lab: Lab, arg: Mapping[str, Any]) -> str:
    which = str(arg["file"]).removesuffix(".env")
    values = lab.env(which)
    # {password}: the current Redis password, as a secrets vault would fill it in.
    values[str(arg["key"])] = lab.fill(str(arg["value"]))
    lab_mod.write_env(lab.dir / f"{which}.env", values)
    return f"{arg['file']}: {arg['key']} set"


def _copy(lab: Lab, arg: Mapping[str, Any]) -> str:
    source = lab.env(str(arg["from"]).removesuffix(".env"))
    key = str(arg["key"])
    if key not in source:
        raise UsageError(f"{arg['from']} has no {key}")
    _set(lab, {"file": arg["to"], "key": key, "value": source[key]})
    return f"{arg['to']}: {key} copied from {arg['from']}"


def _requeue(lab: Lab, arg: Any) -> str:
    """In-flight jobs of the app's queue whose worker is gone go back to the queue, as
    `rq requeue` would: out of the started registry, status queued, pushed onto the queue."""
    conn: Any = lab.admin()
    queue = lab.app_queue
    live = set(lab.live_worker_names())
    requeued = []
    for member in conn.zrange(f"rq:wip:{queue}", 0, -1):
        job_id = str(member).split(":")[0]
        # rq 3 records the worker on the execution (member = job:execution), rq 2 on the job.
        worker = (conn.hget(f"rq:execution:{member}", "worker_name")
                  or conn.hget(f"rq:job:{job_id}", "worker_name"))
        if not worker or worker in live:
            continue  # a live worker's, or one being taken right now
        pipe = conn.pipeline()
        pipe.zrem(f"rq:wip:{queue}", member)
        pipe.hset(f"rq:job:{job_id}", "status", "queued")
        pipe.rpush(f"rq:queue:{queue}", job_id)
        pipe.execute()
        requeued.append(job_id)
    return f"requeued {len(requeued)} orphaned job(s) on {queue}: {', '.join(requeued) or '-'}"


def _resend_lost(lab: Lab, arg: Any) -> str:
    """The app resends, from its outbox, the jobs that never ran and that Redis no longer
    knows (a job Redis still holds would run twice)."""
    conn = app_client(lab, timeout=2.0)
    runs = lab.run_counts()
    by_token: dict[str, list[str]] = {}
    for entry in lab.outbox_entries():
        by_token.setdefault(entry["token"], []).append(entry["job_id"])
    resent = []
    for token, job_ids in by_token.items():
        if runs.get(token) or any(conn.exists(f"rq:job:{i}") for i in job_ids):
            continue
        lab.enqueue(conn, lab.app_queue, token)
        resent.append(token)
    return f"resent {len(resent)} lost job(s): {', '.join(resent) or '-'}"


FIXES: dict[str, Callable[[Lab, Any], str]] = {
    "redis": _redis, "shell": _shell, "restart": _restart, "stop": _stop, "set": _set,
    "copy": _copy, "requeue": _requeue, "resend_lost": _resend_lost,
}
