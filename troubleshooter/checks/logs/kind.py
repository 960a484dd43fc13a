"""The `log_scan` check kind: step 3, automated, tied to what the live checks found.

A log finding that confirms a live one (`logs.oom` and `server.oom`) says so and hands its lines
to the live finding's evidence (`data.corroborates`, attached by the engine). Errors logged in
the window while Redis answers now are an outage that has passed: `logs.outage_passed`, with
when it started and ended, and the log findings become warnings (they are history).
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Mapping
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext, CheckKind, Outcome, Param
from troubleshooter.checks.logs import signatures as sigs
from troubleshooter.checks.logs.api import Match, ScanResult, message, scan_logs
from troubleshooter.checks.logs.timestamps import SinceError, clock, iso, parse_since
from troubleshooter.findings import CATALOGUE, Finding, finding
from troubleshooter.schema import Loc, Problems
from troubleshooter.target import Target

TIME_LIMIT = 60.0
REDIS_LOG_DIR = "/var/log/redis"
_LOCAL = ("127.0.0.1", "localhost", "::1", "")


def run_log_scan(ctx: CheckContext) -> Outcome:
    now = ctx.wall_clock()
    try:
        since = parse_since(ctx.param("since"), now) if ctx.param("since") else None
    except SinceError as exc:  # a playbook variable (log_window) set to something odd
        return Outcome("error", f"since: {str(exc).removeprefix('--since ')}")
    problems = Problems()
    extra = sigs.check_extra(ctx.param("signatures"), Loc().key("signatures"), problems)
    if problems.errors:
        return Outcome("error", f"signatures: {problems.errors[0][0].shown}: "
                                f"{problems.errors[0][1]}")
    catalogue = sigs.merge(sigs.catalogue(), extra)
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
    redact = ctx.runner.redact if ctx.runner is not None else (lambda text: text)
    stdin = sys.stdin.buffer if "-" in specs and not sys.stdin.isatty() else None
    result = scan_logs(specs, catalogue, since=since, now=now, time_limit=ctx.timeout,
                       runner=ctx.runner, stdin=stdin, engine=ctx.param("engine"),
                       redact=redact, notes=notes)
    return outcome(result, ctx.earlier, ctx.param("live_check"))


def outcome(result: ScanResult, earlier: Mapping[str, Outcome], live_check: str) -> Outcome:
    """Findings from the scan, held against the live results that came before it."""
    data = _data(result)
    if not result.found_any_source:
        return Outcome("skipped", "no log source given or found (--log PATH, journal:UNIT, "
                                  "docker:NAME)", data=data, details=result.notes)
    live = {f.code for out in earlier.values() for f in out.findings}
    live_errors = any(f.severity == "error" for out in earlier.values() for f in out.findings)
    answers = bool(earlier.get(live_check) and earlier[live_check].data.get("connected"))
    passed = answers and not live_errors
    findings = [_finding(m, live, passed) for m in result.matches]
    corroborates: dict[str, list[str]] = {}
    for m in result.matches:
        if m.signature.corroborates in live:
            corroborates.setdefault(m.signature.corroborates, []).append(
                f"log: {message(m)} ({_span(m)}){_sample(m)}")
    past = [m for m in result.matches if m.signature.severity == "error"]
    if passed and past:
        findings.insert(0, _outage_passed(past))
    data["corroborates"] = corroborates
    window = f" since {clock(result.since)}" if result.since is not None else ""
    ok = f"no Redis errors in {len(result.read)} log source(s){window}"
    status = _status(findings)
    summary = findings[0].message if findings and status != "pass" else (
        ok if not findings else f"{ok} ({len(findings)} informational signature(s))")
    if not result.complete:
        status, summary = "timeout", f"{summary}; stopped at the time limit"
    return Outcome(status, summary, tuple(findings), data, result.notes)


def _status(findings: list[Finding]) -> str:
    if any(f.severity == "error" for f in findings):
        return "fail"
    return "warn" if any(f.severity == "warning" for f in findings) else "pass"


def _finding(m: Match, live: set[str], passed: bool) -> Finding:
    sig = m.signature
    confirm = f" (confirms {sig.corroborates})" if sig.corroborates in live else ""
    text = f"{message(m)}{confirm}"
    severity = "warning" if passed and sig.severity == "error" else sig.severity
    remedy = sig.remedy or (CATALOGUE[sig.code].remedy if sig.code in CATALOGUE else "")
    if sig.corroborates and (not remedy or remedy.startswith("See ")):
        remedy = CATALOGUE[sig.corroborates].remedy
    evidence = (f"{m.count} lines, first {iso(m.first_seen) or 'time unknown'}, "
                f"last {iso(m.last_seen) or 'time unknown'}",
                *(f"{name}: {count} lines" for name, count in list(m.files.items())[:5]),
                *(f"sample: {s}" for s in m.samples))
    if sig.code in CATALOGUE:
        return finding(sig.code, text, *evidence, severity=severity, remedy=remedy)
    return Finding(sig.code, severity, text, evidence, remedy)


def _outage_passed(past: list[Match]) -> Finding:
    start = min((m.first_seen for m in past if m.first_seen is not None), default=None)
    end = max((m.last_seen for m in past if m.last_seen is not None), default=None)
    lines = sum(m.count for m in past)
    span = ""
    if start is not None and end is not None:
        minutes = (end - start) / 60
        span = f" from {clock(start)} to {clock(end)} ({minutes:.0f} min)"
    return finding(
        "logs.outage_passed",
        f"Redis errors were logged{span} ({lines:,} lines) but Redis answers now: the outage "
        "happened and has passed",
        f"started: {iso(start) or 'time unknown'}", f"ended: {iso(end) or 'time unknown'}",
        *(f"{m.signature.code}: {m.count} lines" for m in past))


def _span(m: Match) -> str:
    return f"{clock(m.first_seen)} to {clock(m.last_seen)}"


def _sample(m: Match) -> str:
    return f"; e.g. {m.samples[0][:160]}" if m.samples else ""


def _data(result: ScanResult) -> dict[str, Any]:
    return {
        "sources": len(result.read), "read": list(result.read), "older": list(result.older),
        "skipped": list(result.skipped), "engine": result.engine, "since": iso(result.since),
        "complete": result.complete, "bytes": result.bytes,
        "matched": {m.signature.code: m.evidence() | {"minutes": {
            str(k): v for k, v in sorted(m.minutes.items())[-120:]}} for m in result.matches},
    }


def redis_log_sources(target: Target, notes: list[str], timeout: float,
                      ask: bool = True, via: CheckContext | None = None) -> list[str]:
    """The Redis server's own log when it runs here: `CONFIG GET logfile` (relative to `dir`;
    only when `ask`), else /var/log/redis/*.log."""
    if target.problem is not None or not (target.is_unix or target.host in _LOCAL):
        return []
    # Through the check's context: the run's connection to Redis, not one more handshake.
    found = _config_logfile(via or target, notes, min(timeout, 2.0)) if ask else None
    if found:
        return [found]
    usual = os.path.join(REDIS_LOG_DIR, "*.log")
    return [usual] if glob.glob(usual) else []


def _config_logfile(target: Target | CheckContext, notes: list[str],
                    timeout: float) -> str | None:
    from troubleshooter.checks.server.link import open_link

    try:
        link = open_link(target, Budget(timeout))
    except Exception as exc:  # any redis error: the live checks report it
        notes.append(f"the Redis log: could not ask Redis where it is ({type(exc).__name__})")
        return None
    try:
        reply = link.client.config_get("logfile")
        logfile = str(reply.get("logfile", ""))
        if not logfile:
            notes.append("the Redis log: Redis logs to its standard output (read it with "
                         "--log journal:UNIT or --log docker:NAME)")
            return None
        if not os.path.isabs(logfile):
            logfile = os.path.join(str(link.client.config_get("dir").get("dir", "")), logfile)
        return logfile if os.access(logfile, os.R_OK) else None
    except Exception as exc:  # CONFIG may be renamed or denied (NOPERM): not our finding
        notes.append(f"the Redis log: CONFIG GET logfile refused ({type(exc).__name__})")
        return None
    finally:
        link.close()


def _check_params(params: Mapping[str, Any], loc: Loc, problems: Problems) -> None:
    """Load-time validation of what the generic parameter types cannot say."""
    if isinstance(params.get("signatures"), list):
        sigs.check_extra(params["signatures"], loc.key("signatures"), problems)
    since = params.get("since")
    if isinstance(since, str) and since and "{{" not in since:
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
    codes=tuple(s.code for s in sigs.catalogue()) + ("logs.outage_passed",),
    needs_target=False,
    time_limit=TIME_LIMIT,
    capped_by_timeout=False,
    check_params=_check_params,
)
