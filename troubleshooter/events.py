"""What the engine and its surroundings say to each other: the operator's replies, the events
listeners receive, why something was skipped, and the run's options. Plain data, no behaviour.

Events and options are `@frozen` records (troubleshooter.frozen): a dataclass or a NamedTuple
compiles code when it is defined (0.2-0.5 ms of start-up each), a `@frozen` class does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from troubleshooter.frozen import frozen
from troubleshooter.playbook import Action, Step
from troubleshooter.redaction import Redactor
from troubleshooter.session import AnswerRecord, CheckRecord, Session, StepRecord

DEFAULT_TIMEOUT = 3.0
# How a `when:` that is false reads in a skip reason (the UI shortens it for a person).
NOT_MET = "condition not met: "
# Why something did not run, as a kind the UI can choose words for: a false `when:`, the
# operator (or the answers file), a destructive action not confirmed, an unusable target, the
# run's --deadline, or the step it belongs to being skipped.
SKIP_KINDS = ("condition", "operator", "destructive", "target", "deadline", "step")


@frozen
class Skip:
    """Why a step, check or prompt did not run: a kind (SKIP_KINDS) and the recorded text."""

    kind: str
    text: str


# -- what the operator can say ----------------------------------------------------------------
@frozen
class Answered:
    value: Any
    source: str = "operator"


@frozen
class SkipStep:
    reason: str
    source: str = "operator"


@frozen
class Pending:
    """Nobody is there to answer (non-interactive run)."""


Reply = Answered | SkipStep | Pending


class Operator(Protocol):
    def ask(self, step: Step, action: Action, question: str) -> Reply:
        """Answer a manual prompt; may raise QuitRequested."""

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        """Explicit go-ahead for a destructive action."""


class Nobody:
    """The operator of a non-interactive run: manual actions stay pending, destructive ones are
    never confirmed."""

    def ask(self, step: Step, action: Action, question: str) -> Reply:
        return Pending()

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        return False


# -- what the engine tells its listeners ------------------------------------------------------
@frozen
class RunStarted:
    """The run begins: its session (filled in as it goes) and the redactor its transcript
    passes, for a listener that saves as it goes (autosave)."""

    session: Session
    redactor: Redactor


@frozen
class StepStarted:
    """A step begins. `guidance` and `why` are rendered and redacted; `skip` says the step will
    not run (its guidance is then empty: it would describe checks that do not happen)."""

    step: Step
    index: int
    total: int
    guidance: str = ""
    why: str = ""
    skip: Skip | None = None


@frozen
class ChecksStarted:
    """A batch of checks: `actions` in playbook order, `running` the ids that will run."""

    step: Step
    actions: tuple[Action, ...]
    running: tuple[str, ...] = ()


@frozen
class CheckFinished:
    step: Step
    record: CheckRecord
    skip: Skip | None = None


@frozen
class PromptFinished:
    step: Step
    record: AnswerRecord
    skip: Skip | None = None


@frozen
class StepFinished:
    step: Step
    record: StepRecord
    skip: Skip | None = None


Event = RunStarted | StepStarted | ChecksStarted | CheckFinished | PromptFinished | StepFinished
Listener = Callable[[Event], None]


@frozen
class RunOptions:
    timeout: float = DEFAULT_TIMEOUT
    interactive: bool = False
    assume_yes: bool = False
    variables: Mapping[str, Any] = MappingProxyType({})
    allow_write: bool = False
    # Seconds the automated part of the run may take (None: unbounded); see Engine.deadline.
    deadline: float | None = None
