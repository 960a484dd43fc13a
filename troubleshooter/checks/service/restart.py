"""Step 4, the act: a restart through the command the detection found, then proof it worked.

The command runs through the run's CommandRunner (argv, its own time limit, output captured and
redacted); then Redis is PINGed with backoff up to a deadline, or the workers are watched until
they have registered again on the app's queue. Nothing here runs without the engine's
confirmation (the kinds are destructive) and nothing runs under --dry-run.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.errors import safe_text
from troubleshooter.cmdrunner import CommandResult, CommandRunner
from troubleshooter.findings import finding
from troubleshooter.sanitize import visible
from troubleshooter.typed_confirm import host_line

# Output lines kept for a person (the JSON keeps the whole captured output).
TAIL_LINES = 20
# The longest one command of the BGSAVE wait may take (INFO, BGSAVE itself).
COMMAND_S = 2.0


def _service(ctx: CheckContext) -> dict[str, Any] | None:
    found = ctx.earlier.get(str(ctx.param("detection")))
    service = found.data.get(str(ctx.param("role"))) if found else None
    return service if isinstance(service, dict) else None


def preview_restart(ctx: CheckContext) -> str:
    """The exact command, and for a remote target the host it acts on."""
    service = _service(ctx)
    if not service or not service.get("restart"):
        return "nothing to run: no restart command was found"
    lines = [f"will run: {shlex.join(service['restart'])}",
             f"via {service['manager']}: {service['evidence']}"]
    if ctx.param("role") == "redis":
        lines.append(f"then PING {ctx.target.address} until it answers "
                     f"(up to {ctx.param('recovery_s'):g} s)")
    else:
        queue = ctx.param("app_queue") or "any queue"
        lines.append(f"then wait until workers registered again on {queue} "
                     f"(up to {ctx.param('recovery_s'):g} s)")
    from troubleshooter.checks.service.detect import is_local

    if not is_local(ctx.target):
        lines.append(host_line(ctx.target.host))
    return "\n".join(visible(line) for line in lines)


def run_service_restart(ctx: CheckContext) -> Outcome:
    """Run the restart command, then verify Redis (or the workers) came back."""
    role = str(ctx.param("role"))
    service = _service(ctx)
    if not service or not service.get("restart"):
        return Outcome("skipped", f"no restart command for {role} (see the detection)")
    argv = [str(a) for a in service["restart"]]
    if ctx.param("dry_run"):
        return Outcome("skipped", f"dry run: would run {shlex.join(argv)}",
                       data={"dry_run": True, "command": argv})
    runner = ctx.runner or CommandRunner(ctx.environ)
    started_wall = ctx.wall_clock()
    result = runner.run(argv, timeout=float(ctx.param("command_timeout_s")))
    data: dict[str, Any] = {"command": argv, "returncode": result.returncode,
                            "output": result.output, "duration_s": round(result.duration_s, 3),
                            "timed_out": result.timed_out}
    details = _tail(result)
    if not result.ok:
        f = finding("restart.failed", f"restarting {role} failed: {result.describe()}",
                    f"`{shlex.join(argv)}`: {result.describe()}", *details[-3:])
        return _with_details(outcome_from([f], "", **data), details)
    deadline = float(ctx.param("recovery_s"))
    if role == "redis":
        ok, waited, last = wait_for_ping(ctx, deadline)
    else:
        ok, waited, last = wait_for_workers(ctx, deadline, started_wall)
    data.update(recovered=ok, time_to_recovery_s=round(waited, 3), last_error=last)
    if ok:
        f = finding("restart.recovered",
                    f"{_what(role, ctx)} {waited:.1f} s after the restart command",
                    f"`{shlex.join(argv)}` exited 0 after {result.duration_s:.1f} s")
        return _with_details(Outcome("pass", f.message, (f,), data), details)
    f = finding("restart.not_recovered",
                f"{role}: not back {deadline:g} s after the restart: {last}",
                f"`{shlex.join(argv)}` exited 0", last)
    return _with_details(outcome_from([f], "", **data), details)


def _what(role: str, ctx: CheckContext) -> str:
    if role == "redis":
        return f"Redis at {ctx.target.address} answers PING again"
    queue = ctx.param("app_queue")
    return f"workers registered again{f' on {queue}' if queue else ''}"


def _tail(result: CommandResult) -> tuple[str, ...]:
    lines = [visible(line) for line in result.output.splitlines()[-TAIL_LINES:]]
    return (f"$ {visible(shlex.join(result.argv))}", *lines, result.describe())


def _with_details(out: Outcome, details: tuple[str, ...]) -> Outcome:
    return Outcome(out.status, out.summary, out.findings, out.data, details)


def backoff(attempt: int) -> float:
    """0.1, 0.2, 0.4 ... seconds between attempts, at most 2."""
    return float(min(0.1 * 2 ** attempt, 2.0))


def _until(deadline_s: float, attempt: Callable[[Budget], str],
           secrets: Sequence[str | None] = ()) -> tuple[bool, float, str]:
    """Call `attempt` with backoff until it returns "" (done) or `deadline_s` passes; it returns
    what it saw instead. A Redis error counts as what it saw. (ok, seconds waited, last seen)."""
    import redis

    budget = Budget(deadline_s)
    tries, last = 0, "no attempt"
    while True:
        try:
            last = attempt(budget)
            if not last:
                return True, budget.elapsed_ms() / 1000, ""
        except redis.exceptions.RedisError as exc:
            last = safe_text(exc, secrets)
        if budget.spent():
            return False, budget.elapsed_ms() / 1000, last
        time.sleep(min(backoff(tries), budget.remaining()))
        tries += 1


def wait_for_ping(ctx: CheckContext, deadline_s: float) -> tuple[bool, float, str]:
    """PING with backoff until it answers or `deadline_s` passes: (ok, seconds waited, last
    error)."""
    from troubleshooter.checks.server.link import open_link

    def ping(budget: Budget) -> str:
        with closing(open_link(ctx.target, Budget(budget.left(1.0)),
                               connector=ctx.connector)) as link:
            return "" if link.client.ping() else "PING got no PONG"

    return _until(deadline_s, ping, [ctx.target.password])


def wait_for_workers(ctx: CheckContext, deadline_s: float,
                     since: float) -> tuple[bool, float, str]:
    """Until a live worker born after `since` (epoch s) listens to the app's queue (any queue
    when none is named): (ok, seconds waited, what was last seen)."""
    from troubleshooter.checks.rq.common import Session
    from troubleshooter.checks.rq.keys import (
        DEFAULT_BUSY_GRACE_S,
        DEFAULT_HEARTBEAT_GRACE_S,
        RqKeys,
    )
    from troubleshooter.checks.rq.workers import read_registered
    from troubleshooter.checks.server.link import open_link, rq_prefix

    queue = str(ctx.param("app_queue"))
    born_after = datetime.fromtimestamp(since - 1, UTC)

    def registered(budget: Budget) -> str:
        with closing(open_link(ctx.target, Budget(budget.left(1.0)),
                               connector=ctx.connector)) as link:
            # RQ's key prefix as the run knows it (the playbook, else the run's
            # $RQ_KEY_PREFIX), not this process's own environment.
            session = Session(link.client, time.monotonic() + budget.left(2.0),
                              ctx.wall_clock(), RqKeys(rq_prefix(ctx)))
            workers = read_registered(session, DEFAULT_HEARTBEAT_GRACE_S,
                                      DEFAULT_BUSY_GRACE_S)[1]
        fresh = [w for w in workers if w.alive and w.born_at is not None
                 and w.born_at.replace(tzinfo=UTC) >= born_after]
        if any(not queue or queue in w.queues for w in fresh):
            return ""
        return (f"{len(fresh)} worker(s) registered since the restart, none on {queue}"
                if fresh else "no worker has registered since the restart")

    return _until(deadline_s, registered, [ctx.target.password])


# --- BGSAVE before a restart -------------------------------------------------------------------
def preview_bgsave(ctx: CheckContext) -> str:
    return (f"will send BGSAVE to {ctx.target.address} and wait up to "
            f"{ctx.param('wait_s'):g} s for it to finish")


def run_redis_bgsave(ctx: CheckContext) -> Outcome:
    """BGSAVE, then wait until rdb_bgsave_in_progress is 0 and the save time has moved.

    The wait is as long as `wait_s`; each command is not: it leases the run's connection for at
    most COMMAND_S (a connection's reads end with the budget it was opened with), so a save of
    a large dataset is waited for, and a server that stops answering is seen at once."""
    import redis

    from troubleshooter.checks.server.link import command, open_link, text

    if ctx.param("dry_run"):
        return Outcome("skipped", "dry run: would send BGSAVE", data={"dry_run": True})
    budget = Budget(float(ctx.param("wait_s")))

    def persistence() -> dict[str, Any]:
        with closing(open_link(ctx, Budget(budget.left(COMMAND_S)))) as link:
            return dict(link.client.info("persistence"))

    try:
        first = persistence()
    except redis.exceptions.RedisError as exc:
        return Outcome("error", f"BGSAVE: cannot connect: {safe_text(exc, [ctx.target.password])}")
    try:
        before = (first.get("rdb_last_save_time"), first.get("rdb_saves"))
        with closing(open_link(ctx, Budget(budget.left(COMMAND_S)))) as link:
            command(link.client, "BGSAVE")
        attempt = 0
        while not budget.spent():
            info = persistence()
            now = (info.get("rdb_last_save_time"), info.get("rdb_saves"))
            if int(info.get("rdb_bgsave_in_progress", 0)) == 0 and now != before:
                status = text(info.get("rdb_last_bgsave_status", "ok"))
                if status != "ok":
                    f = finding("server.persistence_failed", "BGSAVE failed: "
                                f"rdb_last_bgsave_status:{visible(status)}", "INFO persistence")
                    return outcome_from([f], "")
                return Outcome("pass", f"saved in {budget.elapsed_ms() / 1000:.1f} s",
                               data={"saved": True})
            time.sleep(min(backoff(attempt), budget.remaining()))
            attempt += 1
        return Outcome("timeout", f"BGSAVE still running after {ctx.param('wait_s'):g} s")
    except redis.exceptions.RedisError as exc:
        return Outcome("error", f"BGSAVE: {safe_text(exc, [ctx.target.password])}")
