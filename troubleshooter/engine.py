"""The step engine: runs a playbook against a target and records everything into a Session.

It never prints and never prompts. A person (or a file, or nobody) answers through the injected
`Operator`; whoever wants to show progress listens to `Event`s. The UI does both.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from troubleshooter import conditions, runner
from troubleshooter.checks.base import CheckContext, CheckKind, Outcome
from troubleshooter.cmdrunner import CommandRunner
from troubleshooter.diagnosis import diagnose
from troubleshooter.errors import QuitRequested
from troubleshooter.findings import CATALOGUE, Finding, finding
from troubleshooter.playbook import Action, Playbook, Step
from troubleshooter.redaction import Redactor
from troubleshooter.session import AnswerRecord, CheckRecord, Session, StepRecord, now_iso
from troubleshooter.target import Target

DEFAULT_TIMEOUT = 3.0
# How a `when:` that is false reads in a skip reason (the UI shortens it for a person).
NOT_MET = "condition not met: "


# -- what the operator can say ----------------------------------------------------------------
@dataclass(frozen=True)
class Answered:
    value: Any
    source: str = "operator"


@dataclass(frozen=True)
class SkipStep:
    reason: str
    source: str = "operator"


@dataclass(frozen=True)
class Pending:
    """Nobody is there to answer (non-interactive run)."""


Reply = Answered | SkipStep | Pending


class Operator(Protocol):
    def ask(self, step: Step, action: Action, question: str) -> Reply:
        """Answer a manual prompt; may raise QuitRequested."""

    def confirm(self, step: Step, action: Action, question: str) -> bool:
        """Explicit go-ahead for a destructive action."""


# -- what the engine tells its listeners ------------------------------------------------------
@dataclass(frozen=True)
class StepStarted:
    step: Step
    index: int
    total: int


@dataclass(frozen=True)
class ChecksStarted:
    """A batch of checks: `actions` in playbook order, `running` the ids that will run."""

    step: Step
    actions: tuple[Action, ...]
    running: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckFinished:
    step: Step
    record: CheckRecord


@dataclass(frozen=True)
class PromptFinished:
    step: Step
    record: AnswerRecord


@dataclass(frozen=True)
class StepFinished:
    step: Step
    record: StepRecord


Event = StepStarted | ChecksStarted | CheckFinished | PromptFinished | StepFinished
Listener = Callable[[Event], None]


@dataclass
class RunOptions:
    timeout: float = DEFAULT_TIMEOUT
    interactive: bool = False
    assume_yes: bool = False
    variables: Mapping[str, Any] = field(default_factory=dict)
    allow_write: bool = False


class Engine:
    """Runs one playbook once; `session` holds whatever was done, even after ^C."""

    def __init__(
        self,
        playbook: Playbook,
        target: Target,
        operator: Operator,
        options: RunOptions,
        checks: Mapping[str, CheckKind],
        listener: Listener = lambda event: None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        prior: Session | None = None,
    ) -> None:
        self.playbook, self.target, self.operator = playbook, target, operator
        self.options, self.checks, self.listener = options, checks, listener
        self.environ = dict(os.environ if environ is None else environ)
        self.clock = clock
        self.redactor = Redactor.for_run(target.secrets, self.environ)
        self.commands = CommandRunner(self.environ, redact=self.redactor.text)
        self.outcomes: dict[str, Outcome] = {}
        self.answers: dict[str, Any] = {}
        self.statuses: dict[str, str] = {}
        self.names: dict[str, Any] = {**options.variables, "target": target.to_dict()
                                      | {"address": target.address, "url": target.redacted}}
        self.session = Session(
            trace_id=uuid.uuid4().hex,
            playbook={"id": playbook.id, "title": playbook.title, "version": playbook.version,
                      "path": playbook.path},
            target=target.to_dict(),
            mode="interactive" if options.interactive else "non-interactive",
            variables=self.redactor.value(dict(options.variables)),
        )
        # `resume`: the steps the prior run finished are kept; the one it stopped in runs again.
        self._kept = _finished_prefix(prior) if prior is not None else {}
        if prior is not None:
            self.session.trace_id, self.session.started_at = prior.trace_id, prior.started_at
            self.session.resumed = [*prior.resumed, _resume_note(prior, playbook)]
        if playbook.support is not None:
            sup = playbook.support
            self.session.support = {
                "contact": self._render(sup.contact), "where": self._render(sup.where),
                "attach": [self._render(a) for a in sup.attach], "notes": self._render(sup.notes),
            }

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> Session:
        """Run every step; on ^C or quit the session is finished as `incomplete` and kept."""
        total = len(self.playbook.steps)
        try:
            for index, step in enumerate(self.playbook.steps):
                kept = self._kept.get(step.id)
                if kept is not None:
                    self._restore(kept)
                else:
                    self._run_step(step, index, total)
        except QuitRequested:
            self._finish("quit")
            return self.session
        except KeyboardInterrupt:
            self._finish("interrupted")
            raise
        self._finish("finished")
        return self.session

    def _run_step(self, step: Step, index: int, total: int) -> None:
        record = StepRecord(step.id, step.title)
        self.session.steps.append(record)
        started = self.clock()
        self.listener(StepStarted(step, index, total))
        try:
            if step.when is not None and not conditions.evaluate(step.when, self.scope()):
                record.status, record.reason = "skipped", f"{NOT_MET}{step.when.source}"
            else:
                skipped = self._run_actions(step, record)
                _playbook_order(step, record)  # the status below reads the checks in order
                record.status = "skipped" if skipped else _step_status(record)
                record.reason = skipped or ""
            record.finished_at = now_iso()
        except (QuitRequested, KeyboardInterrupt):
            record.status, record.reason = "incomplete", "stopped by the operator"
            raise
        finally:
            _playbook_order(step, record)
            record.duration_ms = (self.clock() - started) * 1000
            self.statuses[step.id] = record.status
            self.listener(StepFinished(step, record))

    def _run_actions(self, step: Step, record: StepRecord) -> str | None:
        """Run the step's actions; return the skip reason if the operator skipped the step."""
        actions = list(step.actions)
        while actions:
            batch = _next_batch(actions)
            del actions[: len(batch)]
            if batch[0].is_check:
                self._run_checks(step, batch, record)
                continue
            reply = self._ask(step, batch[0], record)
            if isinstance(reply, SkipStep):
                for rest in actions:
                    self._skip_action(step, rest, record, "step skipped")
                who = "the operator" if reply.source == "operator" else f"the {reply.source}"
                return f"skipped by {who}: {reply.reason}"
        return None

    def _run_checks(self, step: Step, batch: list[Action], record: StepRecord) -> None:
        # Decide first (a destructive action may ask the operator), then announce the batch in
        # playbook order, then report the skipped ones and run the rest.
        reasons = {action.id: self._why_not_run(step, action) for action in batch}
        jobs = [runner.prepare(action, self.checks[str(action.check)], self.names,
                               self.options.timeout)
                for action in batch if not reasons[action.id]]
        self.listener(ChecksStarted(step, tuple(batch), tuple(job.action.id for job in jobs)))
        for action in batch:
            reason = reasons[action.id]
            if reason:
                self._skip_action(step, action, record, reason)
        if not jobs:
            return

        def done(check: CheckRecord) -> None:
            action = next(job.action for job in jobs if job.action.id == check.id)
            self._record_check(step, action, check, record)

        runner.run_batch(jobs, self._context, done, self.redactor, self.clock)

    def _why_not_run(self, step: Step, action: Action) -> str | None:
        if action.when is not None and not conditions.evaluate(action.when, self.scope()):
            return f"{NOT_MET}{action.when.source}"
        kind = self.checks[str(action.check)]
        if kind.needs_target and self.target.problem is not None:
            return "the Redis URL cannot be used (see the URL check)"
        if action.destructive:
            if not self.options.interactive and not self.options.assume_yes:
                return "destructive: not run non-interactively without --yes"
            if not self.options.assume_yes and not self.operator.confirm(
                step, action, self._destructive_question(action, kind)
            ):
                return "destructive: the operator did not confirm"
        return None

    def _destructive_question(self, action: Action, kind: CheckKind) -> str:
        """The action's title and, where the kind can tell, exactly what it will change."""
        question = action.title or kind.help
        if kind.preview is None:
            return question
        job = runner.prepare(action, kind, self.names, self.options.timeout)
        return f"{question}\n{self.redactor.text(kind.preview(self._context(job)))}"

    def _context(self, job: runner.Job) -> CheckContext:
        return CheckContext(
            target=self.target, params=job.params, timeout=job.timeout,
            earlier=dict(self.outcomes), environ=self.environ, clock=self.clock,
            allow_write=self.options.allow_write, runner=self.commands,
            session=self._transcript,
        )

    def _transcript(self) -> dict[str, Any]:
        """The session so far with the redaction audit: what a support bundle puts in."""
        return {**self.session.to_dict(), "redactions": self.redactor.audit()}

    def _record_check(self, step: Step, action: Action, check: CheckRecord,
                      record: StepRecord) -> None:
        # Recorded before the outcome rules run: their conditions may read this very check.
        self.outcomes[action.id] = Outcome(check.status, check.summary, check.findings,
                                           check.data, check.details)
        self.statuses[action.id] = check.status
        check = runner.apply_outcomes(check, action, self.scope(), self.names)
        check = replace(check, findings=tuple(replace(f, step=step.id, source=action.id)
                                             for f in check.findings))
        self.outcomes[action.id] = Outcome(check.status, check.summary, check.findings,
                                           check.data, check.details)
        self.statuses[action.id] = check.status
        if check.data.get("corroborates"):  # e.g. log lines confirming a step-2 finding
            from troubleshooter import corroboration

            corroboration.attach(self.session.steps, self.outcomes, check.data["corroborates"])
        record.checks.append(check)
        record.findings.extend(check.findings)
        self.listener(CheckFinished(step, check))

    def _skip_action(self, step: Step, action: Action, record: StepRecord, reason: str) -> None:
        self.statuses[action.id] = "skipped"
        if action.is_check:
            check = CheckRecord(action.id, str(action.check), action.title, {}, "skipped",
                                reason, now_iso(), 0.0, 0.0)
            self.outcomes[action.id] = Outcome("skipped", reason)
            record.checks.append(check)
            self.listener(CheckFinished(step, check))
        else:
            record.answers.append(AnswerRecord(action.id, str(action.prompt),
                                               self._render(action.question), "skipped",
                                               source=None))
            self.listener(PromptFinished(step, record.answers[-1]))

    def _ask(self, step: Step, action: Action, record: StepRecord) -> Reply:
        if action.when is not None and not conditions.evaluate(action.when, self.scope()):
            self._skip_action(step, action, record, f"{NOT_MET}{action.when.source}")
            return Pending()
        question = self._render(action.question)
        reply = self.operator.ask(step, replace(action, help=self._render(action.help)),
                                  question)
        if isinstance(reply, Answered):
            self.answers[action.id] = reply.value
            self.statuses[action.id] = "answered"
            record.answers.append(AnswerRecord(action.id, str(action.prompt), question,
                                               "answered", self.redactor.value(reply.value),
                                               reply.source))
            record.findings.extend(self._answer_findings(step, action))
        elif isinstance(reply, Pending):
            self.statuses[action.id] = "pending"
            record.answers.append(AnswerRecord(action.id, str(action.prompt), question,
                                               "pending"))
        else:
            record.answers.append(AnswerRecord(action.id, str(action.prompt), question,
                                               "skipped", source=reply.source))
        self.listener(PromptFinished(step, record.answers[-1]))
        return reply

    def _answer_findings(self, step: Step, action: Action) -> list[Finding]:
        """A prompt's outcome rules turn the operator's answer into findings."""
        scope, found = self.scope(), []
        for rule in action.outcomes:
            if rule.when is not None and conditions.evaluate(rule.when, scope):
                answer = self.answers.get(action.id)
                shown = ", ".join(map(str, answer)) if isinstance(answer, list) else answer
                message = self._render(rule.message) if rule.message else (
                    f"{CATALOGUE[rule.code].title} (the operator answered: {shown})")
                remedy = self._render(rule.remedy) if rule.remedy else None
                evidence = f"operator answer to: {self._render(action.question)}"
                found.append(replace(
                    finding(rule.code, message, evidence, severity=rule.severity, remedy=remedy),
                    step=step.id, source=action.id))
        return found

    def _render(self, text: str) -> str:
        from troubleshooter import templating

        return self.redactor.text(str(templating.render(text, self.names)))

    def _restore(self, kept: StepRecord) -> None:
        """A step a prior run finished: its record, and what conditions read from it."""
        self.session.steps.append(kept)
        self.statuses[kept.id] = kept.status
        for check in kept.checks:
            self.outcomes[check.id] = Outcome(check.status, check.summary, check.findings,
                                              check.data, check.details)
            self.statuses[check.id] = check.status
        for answer in kept.answers:
            self.statuses[answer.id] = answer.status
            if answer.status == "answered":
                self.answers[answer.id] = answer.answer

    # -- conditions and the end -----------------------------------------------------------------
    def scope(self) -> conditions.Scope:
        findings = [f for step in self.session.steps for f in step.findings]
        names: dict[str, Any] = {
            "vars": dict(self.options.variables),
            "target": self.names["target"],
            "healthy": not any(f.severity == "error" for f in findings),
        }
        for ident, status in self.statuses.items():
            out = self.outcomes.get(ident)
            names[ident] = {
                "status": status,
                "data": dict(out.data) if out else {},
                "answer": self.answers.get(ident),
                "findings": [f.code for f in out.findings] if out else [],
            }
        return conditions.Scope(names, [f.code for f in findings], self.answers, self.statuses)

    def _finish(self, ended_by: str) -> None:
        s = self.session
        s.ended_by, s.finished_at = ended_by, now_iso()
        s.diagnosis = diagnose(s.findings, self.playbook.rules, self.scope())
        incomplete = ended_by != "finished" or any(
            c.status in ("error", "timeout") for step in s.steps for c in step.checks)
        s.status = "problems" if s.has_errors else ("incomplete" if incomplete else "healthy")


def _finished_prefix(prior: Session) -> dict[str, StepRecord]:
    """The steps of `prior` up to the first one it did not finish."""
    kept: dict[str, StepRecord] = {}
    for record in prior.steps:
        if record.finished_at is None:
            break
        kept[record.id] = record
    return kept


def _resume_note(prior: Session, playbook: Playbook) -> dict[str, Any]:
    """What the transcript says about a resume: when, what was kept, what runs again."""
    kept = _finished_prefix(prior)
    cut = next((s for s in prior.steps if s.id not in kept), None)
    rerun = cut.id if cut else next((s.id for s in playbook.steps if s.id not in kept), None)
    return {"at": now_iso(), "after": prior.ended_by, "kept_steps": list(kept),
            "rerun_step": rerun,
            "discarded": {"checks": len(cut.checks), "answers": len(cut.answers)} if cut
            else {"checks": 0, "answers": 0}}


def _next_batch(actions: list[Action]) -> list[Action]:
    """A prompt alone, or the run of checks that can go together: none refers to another."""
    if not actions[0].is_check:
        return actions[:1]
    batch: list[Action] = []
    for action in actions:
        if not action.is_check or action.destructive:
            break
        when = action.when
        # finding() and `healthy` read every earlier result, so they wait for the batch.
        if batch and when and (
            any(b.id in when.names | when.ids for b in batch) or when.codes
            or "healthy" in when.names
        ):
            break
        batch.append(action)
    return batch or actions[:1]


def _playbook_order(step: Step, record: StepRecord) -> None:
    """Concurrent checks finish in any order; the record keeps the playbook's."""
    order = {action.id: i for i, action in enumerate(step.actions)}
    record.checks.sort(key=lambda check: order[check.id])


def _step_status(record: StepRecord) -> str:
    if any(f.severity == "error" for f in record.findings):
        return "problems"
    if any(c.status in ("error", "timeout") for c in record.checks):
        return "incomplete"
    if any(f.severity == "warning" for f in record.findings):
        return "warnings"
    if any(a.status == "pending" for a in record.answers):
        return "pending"
    return "passed"


__all__ = ["Engine", "RunOptions", "Answered", "SkipStep", "Pending", "Operator", "Event"]
