"""The `log_scan` check kind: step 3, automated, tied to what the live checks found.

A log finding that confirms a live one (`logs.oom` and `server.oom`) says so and hands its lines
to the live finding's evidence (`data.corroborates`, attached by the engine). Errors logged in
the window while Redis answers now are an outage that has passed: `logs.outage_passed`, with
when it started and ended, and the log findings become warnings (they are history).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import Budget, CheckContext, CheckKind, Outcome, Param
from troubleshooter.sanitize import visible

if TYPE_CHECKING:
    from troubleshooter.checks.logs.signatures import Signature
    from troubleshooter.schema import Loc, Problems
    from troubleshooter.target import Target

# The scanner, the catalogue and the matcher are imported by a run that has something to scan:
# a healthy triage often has no log at all, and `--help` and `validate` load this module.

TIME_LIMIT = 60.0
NO_SOURCE = "no log source given or found (--log PATH, journal:UNIT, docker:NAME)"
REDIS_LOG_DIR = "/var/log/redis"
_LOCAL = ("127.0.0.1", "localhost", "::1", "")
# The catalogue's codes (catalogue.yaml; a test holds them equal), so that loading the registry
# does not parse the catalogue.
CODES = (
    "logs.connection_refused", "logs.timeout", "logs.dns_failed", "logs.connection_reset",
    "logs.auth_required", "logs.auth_failed", "logs.acl_denied", "logs.protected_mode",
    "logs.max_clients", "logs.out_of_fds", "logs.oom", "logs.readonly", "logs.master_down",
    "logs.master_link_lost", "logs.loading", "logs.persistence_failed", "logs.fork_failed",
    "logs.overcommit_disabled", "logs.busy", "logs.cluster", "logs.sentinel_no_master",
    "logs.failover", "logs.worker_killed", "logs.job_abandoned", "logs.job_failed",
    "logs.worker_shutdown", "logs.worker_name_taken", "logs.redis_started",
    "logs.redis_shutdown", "logs.db_loaded",
)


def run_log_scan(ctx: CheckContext) -> Outcome:
    from troubleshooter.checks.logs.window import SinceError, parse_since

    now = ctx.wall_clock()
    try:
        since = parse_since(ctx.param("since"), now) if ctx.param("since") else None
    except SinceError as exc:  # a playbook variable (log_window) set to something odd
        return Outcome("error", f"since: {str(exc).removeprefix('--since ')}")
    extra: list[Signature] = []
    if ctx.param("signatures"):
        from troubleshooter.checks.logs import signatures as sigs
        from troubleshooter.schema import Loc, Problems

        problems = Problems()
        extra = sigs.check_extra(ctx.param("signatures"), Loc().key("signatures"), problems)
        if problems.errors:
            return Outcome("error", f"signatures: {problems.errors[0][0].shown}: "
                                    f"{problems.errors[0][1]}")
    notes: list[str] = []
    specs = [str(s) for s in ctx.param("sources")]
    live = ctx.earlier.get(ctx.param("live_check"))
    if ctx.param("discover"):
        # Ask Redis where it logs only if it answered the live check (a hung Redis would
        # cost the whole connect timeout for nothing).
        ask = bool(live.data.get("connected")) if live is not None else not any(
            f.severity == "error" and f.code.startswith(("network.", "server."))
            for out in ctx.earlier.values() for f in out.findings)
        specs += redis_log_sources(ctx.target, notes, ctx.timeout, ask, via=ctx)
    if not any(spec.strip() for spec in specs):
        return no_source(since, notes)
    from troubleshooter.checks.logs import signatures as sigs
    from troubleshooter.checks.logs.api import scan_logs
    from troubleshooter.checks.logs.verdict import outcome

    redact = ctx.runner.redact if ctx.runner is not None else (lambda text: text)
    stdin = sys.stdin.buffer if "-" in specs and not sys.stdin.isatty() else None
    result = scan_logs(specs, sigs.merge(sigs.catalogue(ctx.environ), extra), since=since, now=now,
                       time_limit=ctx.timeout, runner=ctx.runner, stdin=stdin,
                       engine=ctx.param("engine"), redact=redact, notes=notes)
    return outcome(result, ctx.earlier, ctx.param("live_check"))


def no_source(since: float | None, notes: list[str]) -> Outcome:
    """What verdict.outcome makes of a scan of nothing, without loading the scanner (a test
    holds the two equal)."""
    from troubleshooter.checks.logs.window import iso

    data = {"sources": 0, "read": [], "older": [], "skipped": [], "engine": "none",
            "since": iso(since), "complete": True, "bytes": 0, "matched": {}}
    return Outcome("skipped", NO_SOURCE, data=data, details=tuple(notes))


def redis_log_sources(target: Target, notes: list[str], timeout: float,
                      ask: bool = True, via: CheckContext | None = None) -> list[str]:
    """The Redis server's own log when it runs here: its `logfile` (relative to its `dir`;
    only when `ask`), else /var/log/redis/*.log."""
    if target.problem is not None or not (target.is_unix or target.host in _LOCAL):
        return []
    # Through the check's context: the run's connection and the CONFIG GET redis_info read.
    found = _config_logfile(via or target, notes, min(timeout, 2.0)) if ask else None
    if found:
        return [found]
    import glob

    usual = os.path.join(REDIS_LOG_DIR, "*.log")
    return [usual] if glob.glob(usual) else []


def _config_logfile(source: Target | CheckContext, notes: list[str],
                    timeout: float) -> str | None:
    from troubleshooter.checks.server.link import open_link
    from troubleshooter.checks.server.replies import server_config, server_info

    try:
        link = open_link(source, Budget(timeout))
    except Exception as exc:  # any redis error: the live checks report it
        notes.append(f"the Redis log: could not ask Redis where it is ({type(exc).__name__})")
        return None
    try:
        config, refused = server_config(link, server_info(link))
    except Exception as exc:  # INFO refused, or the connection lost: not our finding
        notes.append(f"the Redis log: could not ask Redis where it is ({type(exc).__name__})")
        return None
    finally:
        link.close()
    if refused:  # CONFIG may be renamed or denied (NOPERM): `Type: message`
        notes.append(f"the Redis log: CONFIG GET logfile refused ({refused.split(':')[0]})")
        return None
    logfile = config.get("logfile", "")
    if not logfile:
        notes.append("the Redis log: Redis logs to its standard output (read it with "
                     "--log journal:UNIT or --log docker:NAME)")
        return None
    if not os.path.isabs(logfile):
        logfile = os.path.join(config.get("dir", ""), logfile)
    if os.access(logfile, os.R_OK):
        return logfile
    if os.path.exists(logfile):
        notes.append(f"the Redis log {visible(logfile)} is not readable by this user")
    return None  # on another host (a remote Redis), or not written yet: nothing to say


def _check_params(params: Mapping[str, Any], loc: Loc, problems: Problems) -> None:
    """Load-time validation of what the generic parameter types cannot say."""
    if isinstance(params.get("signatures"), list) and params["signatures"]:
        from troubleshooter.checks.logs import signatures as sigs

        sigs.check_extra(params["signatures"], loc.key("signatures"), problems)
    since = params.get("since")
    if isinstance(since, str) and since and "{{" not in since:
        from troubleshooter.checks.logs.window import SinceError, parse_since

        try:
            parse_since(since, 0.0)
        except SinceError as exc:
            problems.error(loc.key("since"), str(exc).removeprefix("--since "))


LOG_SCAN = CheckKind(
    name="log_scan",
    run=run_log_scan,
    help="Scan app, worker and Redis logs for Redis error signatures in a time window",
    params={
        "sources": Param(list, [], "log files, globs, directories, `-`, journal:UNIT, "
                                   "docker:NAME"),
        "since": Param(str, "1h", "the window: 30m, 2h, 1d or a date (empty: everything)"),
        "discover": Param(bool, True, "also read the local Redis server's own log"),
        "signatures": Param(list, [], "signatures to add to the shipped catalogue"),
        "live_check": Param(str, "ping", "the action whose `connected` says Redis answers now"),
        "engine": Param(str, "auto", "auto, hyperscan or python"),
    },
    codes=(*CODES, "logs.outage_passed"),
    needs_target=False,
    time_limit=TIME_LIMIT,
    capped_by_timeout=False,
    check_params=_check_params,
    # The scan window is read by every scan, even of nothing (its `since` is in the data).
    imports=("troubleshooter.checks.logs.window",),
)
