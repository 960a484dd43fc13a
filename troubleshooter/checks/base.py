"""What a check is: a kind name, its parameters as data, and a function from context to outcome.

Check modules must not import redis or rq at module level: `validate` and `--help` load the
registry to know the kinds and their parameters, and must stay fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from troubleshooter.findings import Finding
from troubleshooter.frozen import frozen
from troubleshooter.target import Target

if TYPE_CHECKING:
    from troubleshooter.cmdrunner import Commands
    from troubleshooter.connector import Connector
    from troubleshooter.schema import Loc, Problems

# A check's status. "error" means the check itself could not run (a bug, a missing tool) - not
# that it found a problem; "fail" carries error findings, "warn" warning findings.
STATUSES = ("pass", "warn", "fail", "error", "skipped", "timeout")

REQUIRED = object()

# A socket timeout of 0 would make a socket (and redis-py) non-blocking: never hand one out.
MIN_TIMEOUT = 0.05


class Budget:
    """One check's time budget (ctx.timeout), shared by every step the check takes."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.start = clock()
        self.end = self.start + seconds

    def remaining(self) -> float:
        """Seconds left, 0 once spent."""
        return max(self.end - self.clock(), 0.0)

    def left(self, cap: float | None = None) -> float:
        """A usable socket timeout: what is left, at most `cap`, never zero."""
        left = self.remaining() if cap is None else min(self.remaining(), cap)
        return max(left, MIN_TIMEOUT)

    def spent(self) -> bool:
        return self.clock() >= self.end

    def elapsed_ms(self) -> float:
        return (self.clock() - self.start) * 1000


@frozen
class Param:
    """One check parameter: its type(s), default (or REQUIRED) and a one-line description."""

    type: type | tuple[type, ...]
    default: Any = REQUIRED
    help: str = ""


@frozen
class Resolved:
    """An endpoint a check found the target really is (Sentinel's current master, the node
    that owns a slot): the checks after it run against `target`; the session records it."""

    target: Target
    role: str  # what the endpoint is: "master", "slot owner"...
    evidence: str = ""  # how the check knows: "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"


@frozen
class Outcome:
    """What one check run found. `data` holds facts later conditions and checks may use."""

    status: str
    summary: str
    findings: tuple[Finding, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    # The endpoint this check resolved the target to, if any (see Resolved).
    resolved: Resolved | None = None


@frozen
class CheckContext:
    """Everything a check may touch. The outside world is injected, never imported."""

    target: Target
    params: Mapping[str, Any]
    timeout: float
    # Results of the checks that ran before this one, by action id (their Outcome).
    earlier: Mapping[str, Outcome] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    # Monotonic seconds: for durations and budgets (`ctx.budget()`).
    clock: Callable[[], float] = time.monotonic
    allow_write: bool = False
    # Runs other programs (restarts, journalctl, docker logs): argv, time limit, output cap.
    # Its time limits never reach past the check's own.
    runner: Commands | None = None
    # Epoch seconds, for comparing with timestamps stored in Redis or written in logs.
    wall_clock: Callable[[], float] = time.time
    # The run's Redis connections, shared by its checks (checks/server/link.open_link).
    connector: Connector | None = None
    # The target the run was given; `target` is the endpoint resolved from it so far (the same
    # one until a check publishes a Resolved endpoint).
    given: Target | None = None
    # The session so far, as its transcript document (the support bundle puts it in).
    session: Callable[[], Mapping[str, Any]] | None = None

    def param(self, name: str) -> Any:
        return self.params[name]

    def budget(self) -> Budget:
        """This check's time budget, on the injected clock."""
        return Budget(self.timeout, self.clock)


CheckFn = Callable[[CheckContext], Outcome]

# What a kind that talks to Redis imports (CheckKind.imports): redis-py, and the bounded reply
# parser every connection reads through (redisclient.make_client).
REDIS_IMPORTS = ("redis", "troubleshooter.boundedresp")


class Lazy:
    """A function named "package.module:function", imported at its first call (or `load()`):
    the registry declares every kind without importing the code that runs it, so `validate`
    and a run load only the checks they use."""

    __slots__ = ("ref", "_fn")

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self._fn: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        if self._fn is None:
            module, _, name = self.ref.partition(":")
            # An import statement's path, not importlib.import_module: `python -X importtime`
            # reports only what comes that way, and start-up time is measured with it.
            self._fn = getattr(__import__(module, fromlist=[name]), name)
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"lazy({self.ref!r})"


def lazy(ref: str) -> Callable[..., Any]:
    """`module:function`, imported when first called (see Lazy)."""
    return Lazy(ref)


@frozen
class CheckKind:
    """A registered kind of automated check."""

    name: str
    run: CheckFn
    help: str
    params: Mapping[str, Param] = MappingProxyType({})
    # Finding codes this kind can emit (validated against the catalogue by the tests).
    codes: tuple[str, ...] = ()
    # Changes something on the target (requeue, restart): must be marked destructive.
    destructive: bool = False
    # Needs a usable target; skipped with a clear reason when the URL is malformed.
    needs_target: bool = True
    # For destructive kinds: what exactly it is about to do, shown before the operator confirms
    # (from earlier results; it must not change anything).
    preview: Callable[[CheckContext], str] | None = None
    # The kind's own time limit, in seconds (None: the run's --timeout). A network check is
    # capped by --timeout; a restart or a log scan is not (`capped_by_timeout=False`) and keeps
    # its own limit unless the playbook's `timeout:` sets another.
    time_limit: float | None = None
    capped_by_timeout: bool = True
    # Modules the kind needs (redis, rq): imported before its clock starts, so a cold import
    # (~150 ms) neither eats its time limit nor shows as its duration. Imported lazily, never
    # at module level: `validate` and `--help` must stay fast.
    imports: tuple[str, ...] = ()
    # Load-time checks of parameters beyond their types (e.g. log_scan's signatures), reported
    # like every playbook problem: called with the action's `with:`, its location, problems.
    check_params: Callable[[Mapping[str, Any], Loc, Problems], None] | None = None


def outcome_from(findings: list[Finding], ok_summary: str, **data: Any) -> Outcome:
    """Pass when no findings, else fail/warn by the worst severity; summary from the first."""
    if not findings:
        return Outcome("pass", ok_summary, (), data)
    worst = "fail" if any(f.severity == "error" for f in findings) else (
        "warn" if any(f.severity == "warning" for f in findings) else "pass")
    summary = findings[0].message if worst != "pass" else ok_summary
    return Outcome(worst, summary, tuple(findings), data)
