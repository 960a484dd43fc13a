"""Running automated checks: parameters, concurrency, timeouts and outcome rules.

Checks run in daemon threads: a check that overruns its limit (or the run's deadline) is stopped
(its connections closed, its commands cut by their limits) and recorded as `timeout`, never
waited for, so the wizard cannot hang on a stuck socket.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from troubleshooter import conditions, templating
from troubleshooter.checks.base import MIN_TIMEOUT, REQUIRED, CheckContext, CheckKind, Outcome
from troubleshooter.findings import Finding, finding
from troubleshooter.frozen import frozen
from troubleshooter.playbook import Action
from troubleshooter.redaction import Redactor
from troubleshooter.session import CheckRecord, now_iso

if TYPE_CHECKING:
    from troubleshooter.cmdrunner import CommandResult, CommandRunner, Commands

# How long past its own timeout a check may take before the engine stops it.
GRACE_S = 0.5
# How long a stopped check may take to return what it found so far.
STOP_WAIT_S = 0.2


@frozen
class Job:
    """One check, ready to run: its action, kind, rendered parameters and time budget."""

    action: Action
    kind: CheckKind
    params: Mapping[str, Any]
    timeout: float
    problem: str | None = None


def prepare(action: Action, kind: CheckKind, names: Mapping[str, Any], timeout: float) -> Job:
    """Render the action's parameters, fill defaults and type-check them."""
    params: dict[str, Any] = {}
    rendered = templating.render(dict(action.params), names)
    for name, spec in kind.params.items():
        value = rendered.get(name, spec.default)
        if value is REQUIRED:
            return Job(action, kind, params, timeout, f"parameter {name!r} is required")
        value = coerce(value, spec.type)
        wanted = spec.type if isinstance(spec.type, tuple) else (spec.type,)
        if not isinstance(value, spec.type) or (isinstance(value, bool) and bool not in wanted):
            return Job(action, kind, params, timeout,
                       f"parameter {name!r}: got {type(value).__name__} {value!r}")
        params[name] = value
    return Job(action, kind, params, time_limit(action, kind, timeout))


def time_limit(action: Action, kind: CheckKind, timeout: float) -> float:
    """A check's limit: network kinds take the playbook's `timeout:` capped by --timeout (or
    their own limit, so capped); other kinds their own limit, which the playbook may change."""
    own = kind.time_limit if kind.time_limit is not None else timeout
    if not kind.capped_by_timeout:
        return action.timeout if action.timeout is not None else own
    wanted = action.timeout if action.timeout is not None else own
    return min(wanted, timeout)


def coerce(value: Any, types: type | tuple[type, ...]) -> Any:
    """Text (from --var, the environment, a template) as the type wanted, where it reads as
    one: `--var slow_ms=50` is a number, `false` is False; anything else comes back as is."""
    wanted = types if isinstance(types, tuple) else (types,)
    if isinstance(value, str) and not isinstance(value, wanted):
        for t in wanted:
            if t in (int, float):
                try:
                    return t(value)
                except ValueError:
                    continue
            if t is bool and value.lower() in ("true", "false", "yes", "no", "1", "0", ""):
                return value.lower() in ("true", "yes", "1")
            if t is list:
                return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, int) and float in wanted and not isinstance(value, bool):
        return float(value)
    return value


def run_batch(
    jobs: Sequence[Job],
    make_context: Callable[[Job, float], CheckContext],
    on_done: Callable[[CheckRecord], None],
    redactor: Redactor,
    clock: Callable[[], float] = time.monotonic,
    *,
    deadline: float | None = None,
    stop: Callable[[int], object] = lambda thread_id: None,
) -> list[CheckRecord]:
    """Run `jobs` concurrently; return their records in the order given.

    A check still running `GRACE_S` past its limit, or at the run's `deadline` (monotonic), is
    stopped: `stop(thread id)` closes what it waits on (its connections; its commands are cut
    by their own limit, see `limited_runner`), and it is recorded as `timeout` with the data
    and details it returns once stopped, if it does so within STOP_WAIT_S.
    `make_context(job, until)` builds the check's context; `until` is where its limit ends.
    """
    results: queue.Queue[tuple[int, Outcome, float]] = queue.Queue()
    starts: dict[int, tuple[float, str]] = {}
    threads: dict[int, threading.Thread] = {}
    records: dict[int, CheckRecord] = {}
    arrived: dict[int, tuple[Outcome, float]] = {}

    def end(i: int) -> float:
        own = starts[i][0] + jobs[i].timeout + GRACE_S
        return own if deadline is None else min(own, deadline)

    def pull(wait: float) -> None:
        try:
            i, outcome, elapsed = results.get(timeout=max(0.0, wait))
        except queue.Empty:
            return
        arrived.setdefault(i, (outcome, elapsed))

    def finish(i: int, outcome: Outcome, elapsed: float) -> None:
        records[i] = _record(jobs[i], starts[i], outcome, elapsed, redactor)
        on_done(records[i])

    _import_for(jobs)
    for i, job in enumerate(jobs):
        starts[i] = (clock(), now_iso())
        if job.problem:
            results.put((i, Outcome("error", f"cannot run: {job.problem}"), 0.0))
            continue
        # Its commands end with its own limit (or the deadline): it then has the grace to say so.
        ctx = make_context(job, min(starts[i][0] + job.timeout, end(i)))
        threads[i] = threading.Thread(target=_work, args=(i, job, ctx, results, clock),
                                      daemon=True, name=f"check-{job.action.id}")
        threads[i].start()
    while len(records) < len(jobs):
        for i in sorted(set(arrived) - set(records)):
            finish(i, *arrived[i])
        pending = [i for i in range(len(jobs)) if i not in records]
        if not pending:
            break
        wake = min(end(i) for i in pending)
        if clock() < wake:
            pull(wake - clock())
            continue
        overdue = [i for i in pending if clock() >= end(i) and i not in arrived]
        for i in overdue:
            thread = threads.get(i)  # none for a job that could not start
            if thread is not None and thread.ident is not None:
                stop(thread.ident)
        settle = clock() + STOP_WAIT_S
        while any(i not in arrived for i in overdue) and clock() < settle:
            pull(settle - clock())
        for i in overdue:
            cut = deadline is not None and end(i) >= deadline
            late = arrived.pop(i, None)
            finish(i, _overrun(jobs[i], clock() - starts[i][0], cut, late[0] if late else None),
                   clock() - starts[i][0])
    return [records[i] for i in range(len(jobs))]


def _import_for(jobs: Sequence[Job]) -> None:
    """Import what the kinds about to run need (CheckKind.imports) before their clocks start
    (as an import statement would: see base.Lazy.load)."""
    for module in dict.fromkeys(m for job in jobs if not job.problem for m in job.kind.imports):
        try:
            __import__(module)
        except ImportError:
            pass  # the check that needs it says so, in its own words
    for job in jobs:  # the kind's own code, declared lazily by the registry (base.Lazy)
        load = getattr(job.kind.run, "load", None)
        if load is not None and not job.problem:
            try:
                load()
            except Exception:  # noqa: BLE001 - it fails again when the check runs: reported there
                pass


def limited_runner(environ: Mapping[str, str], redact: Callable[[str], str], until: float,
                   clock: Callable[[], float] = time.monotonic) -> Commands:
    """A CommandRunner over `environ` and `redact` whose commands' time limits are cut to end by
    `until`: a restart or a log read cannot outlive the check that started it (the runner kills
    its process group at the limit)."""
    return _LimitedRunner(environ, redact, until, clock)


class _LimitedRunner:
    # Its CommandRunner is made at the first command: most checks run none, and a run whose
    # checks run none never imports cmdrunner.
    def __init__(self, environ: Mapping[str, str], redact: Callable[[str], str], until: float,
                 clock: Callable[[], float]) -> None:
        self.environ, self.redact = environ, redact
        self.until, self.clock = until, clock
        self._base: CommandRunner | None = None

    def _runner(self) -> CommandRunner:
        if self._base is None:
            from troubleshooter.cmdrunner import CommandRunner

            self._base = CommandRunner(self.environ, self.redact)
        return self._base

    def which(self, name: str) -> str | None:
        return self._runner().which(name)

    def run(self, argv: Sequence[str], timeout: float, stdin: bytes | None = None,
            output_cap: int | None = None) -> CommandResult:
        left = max(self.until - self.clock(), MIN_TIMEOUT)
        return self._runner().run(argv, min(timeout, left), stdin, output_cap)


def _work(i: int, job: Job, ctx: CheckContext,
          results: queue.Queue[tuple[int, Outcome, float]], clock: Callable[[], float]) -> None:
    start = clock()
    try:
        outcome = job.kind.run(ctx)
    except Exception as exc:  # a bug in a check must not end the wizard
        outcome = Outcome("error", f"the check crashed: {type(exc).__name__}: {exc}",
                          details=tuple(traceback.format_exc().splitlines()[-6:]))
    results.put((i, outcome, clock() - start))


def _overrun(job: Job, elapsed: float, cut: bool, late: Outcome | None) -> Outcome:
    """A check stopped at its limit or at the deadline, with what it had found by then."""
    if cut:
        summary = f"stopped after {elapsed:.1f} s: the run's deadline passed"
    else:
        summary = f"did not finish within {job.timeout:g} s; abandoned"
    if late is None:
        return Outcome("timeout", summary)
    # Its findings are not kept: the closed connection it saw last was ours, not the server's.
    return Outcome("timeout", summary, data=late.data, details=late.details)


def _record(job: Job, start: tuple[float, str], outcome: Outcome, elapsed: float,
            redactor: Redactor) -> CheckRecord:
    r = redactor
    return CheckRecord(
        id=job.action.id,
        kind=job.kind.name,
        title=job.action.title or job.kind.help,
        params=r.value(dict(job.params)),
        status=outcome.status,
        summary=r.text(outcome.summary, f"check {job.action.id}: summary"),
        started_at=start[1],
        duration_ms=elapsed * 1000,
        timeout=job.timeout,
        findings=tuple(
            replace(f, message=r.text(f.message), remedy=r.text(f.remedy),
                    evidence=tuple(r.text(e) for e in f.evidence))
            for f in outcome.findings
        ),
        data=r.value(dict(outcome.data), f"check {job.action.id}: data"),
        details=tuple(r.text(d) for d in outcome.details),
        resolved=outcome.resolved,
    )


def apply_outcomes(record: CheckRecord, action: Action, scope: conditions.Scope,
                   names: Mapping[str, Any]) -> CheckRecord:
    """The playbook's outcome rules: adjust reported findings, add conditional ones."""
    if not action.outcomes:
        return record
    findings = list(record.findings)
    for rule in action.outcomes:
        message = templating.render(rule.message, names) if rule.message else None
        remedy = templating.render(rule.remedy, names) if rule.remedy else None
        if rule.when is None:
            findings = [
                replace(f, severity=rule.severity or f.severity, message=message or f.message,
                        remedy=remedy or f.remedy) if f.code == rule.code else f
                for f in findings
            ]
        elif conditions.evaluate(rule.when, scope):
            findings.append(finding(rule.code, message or rule.when.source,
                                    f"rule: {rule.when.source}", severity=rule.severity,
                                    remedy=remedy))
    return replace(record, findings=tuple(findings), status=_status(record.status, findings))


def _status(current: str, findings: Sequence[Finding]) -> str:
    if current in ("error", "timeout", "skipped"):
        return current
    if any(f.severity == "error" for f in findings):
        return "fail"
    if any(f.severity == "warning" for f in findings):
        return "warn"
    return "pass"
