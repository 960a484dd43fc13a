"""The step engine: runs a playbook against a target and records everything into a Session.

It never prints and never prompts. A person (or a file, or nobody) answers through the injected
`Operator`; whoever wants to show progress listens to `Event`s. The UI does both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

from troubleshooter import conditions, runner
from troubleshooter.checks.base import CheckContext, CheckKind, Outcome, Resolved
from troubleshooter.connector import Connector
from troubleshooter.diagnosis import diagnose
from troubleshooter.errors import QuitRequested
from troubleshooter.events import (
    DEFAULT_TIMEOUT,
    NOT_MET,
    SKIP_KINDS,
    Answered,
    CheckFinished,
    ChecksStarted,
    Event,
    Listener,
    Operator,
    Pending,
    PromptFinished,
    Reply,
    RunOptions,
    RunStarted,
    Skip,
    SkipStep,
    StepFinished,
    StepStarted,
)
from troubleshooter.findings import CATALOGUE, Finding, finding
from troubleshooter.playbook import Action, Playbook, Step
from troubleshooter.redaction import Redactor
from troubleshooter.session import AnswerRecord, CheckRecord, Session, StepRecord, now_iso
from troubleshooter.target import Target


class Engine:
    """Runs one playbook once; `session` holds whatever was done, even after ^C.

    The outside world comes in: the check registry, the environment, a monotonic and a wall
    clock, the Redis connector (one connection per endpoint for the run) and the command runner.
    """

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
        *,
        wall_clock: Callable[[], float] = time.time,
        connector: Connector | None = None,
        started: float | None = None,
    ) -> None:
        self.playbook, self.target, self.operator = playbook, target, operator
        self.options, self.checks, self.listener = options, checks, listener
        self.environ = dict(os.environ if environ is None else environ)
        self.clock, self.wall_clock = clock, wall_clock
        self.connector = connector if connector is not None else Connector()
        # The automated part ends here (monotonic); `started` is when the command began.
        self.deadline = None if options.deadline is None else (
            (clock() if started is None else started) + options.deadline)
        self.redactor = Redactor.for_run(target.secrets, self.environ)
        # Where the checks run: the given target until a check resolves another endpoint.
        self.current = target
        self.outcomes: dict[str, Outcome] = {}
        self.answers: dict[str, Any] = {}
        self.statuses: dict[str, str] = {}
        self.cut: set[str] = set()  # actions the deadline kept from running
        self.names: dict[str, Any] = {**options.variables, "target": target.to_dict()
                                      | {"address": target.address, "url": target.redacted}}
        self.session = Session(
            trace_id=os.urandom(16).hex(),  # 128 random bits; uuid costs ~10 ms of start-up
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
                "contact": self.render(sup.contact), "where": self.render(sup.where),
                "attach": [self.render(a) for a in sup.attach], "notes": self.render(sup.notes),
            }

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> Session:
        """Run every step; on ^C or quit the session is finished as `incomplete` and kept."""
        total = len(self.playbook.steps)
        self.listener(RunStarted(self.session, self.redactor))
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
        finally:
            self.connector.close()
        self._finish("finished")
        return self.session

    def _run_step(self, step: Step, index: int, total: int) -> None:
        record = StepRecord(step.id, step.title)
        self.session.steps.append(record)
        started = self.clock()
        skip = None
        if step.when is not None and not conditions.evaluate(step.when, self.scope()):
            skip = Skip("condition", f"{NOT_MET}{step.when.source}")
        self.listener(StepStarted(
            step, index, total, guidance="" if skip else self.render(step.guidance),
            why="" if skip else self.render(step.why), skip=skip))
        try:
            if skip is not None:
                record.status, record.reason = "skipped", skip.text
            else:
                skip = self._run_actions(step, record)
                _playbook_order(step, record)  # the status below reads the checks in order
                record.status = "skipped" if skip else _step_status(record, self.cut)
                record.reason = skip.text if skip else ""
            record.finished_at = now_iso()
        except (QuitRequested, KeyboardInterrupt):
            record.status, record.reason = "incomplete", "stopped by the operator"
            raise
        finally:
            _playbook_order(step, record)
            record.duration_ms = (self.clock() - started) * 1000
            self.statuses[step.id] = record.status
            self.listener(StepFinished(step, record, skip))

    def _run_actions(self, step: Step, record: StepRecord) -> Skip | None:
        """Run the step's actions; return why, if the operator skipped the step."""
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
                    self._skip_action(step, rest, record, Skip("step", "step skipped"))
                who = "the operator" if reply.source == "operator" else f"the {reply.source}"
                return Skip("operator", f"skipped by {who}: {reply.reason}")
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

        runner.run_batch(jobs, self._context, done, self.redactor, self.clock,
                         deadline=self.deadline, stop=self.connector.abort)

    def _why_not_run(self, step: Step, action: Action) -> Skip | None:
        # The deadline first: a condition on a check the deadline stopped would only blame it.
        if self.deadline is not None and self.clock() >= self.deadline:
            self.cut.add(action.id)
            return Skip("deadline", f"deadline: the run's {self.options.deadline:g} s "
                                    "deadline passed before it could run")
        if action.when is not None and not conditions.evaluate(action.when, self.scope()):
            return Skip("condition", f"{NOT_MET}{action.when.source}")
        kind = self.checks[str(action.check)]
        if kind.needs_target and self.target.problem is not None:
            return Skip("target", "the Redis URL cannot be used (see the URL check)")
        if action.destructive:
            if not self.options.interactive and not self.options.assume_yes:
                return Skip("destructive", "destructive: not run non-interactively without --yes")
            if not self.options.assume_yes and not self.operator.confirm(
                step, action, self._destructive_question(action, kind)
            ):
                return Skip("destructive", "destructive: the operator did not confirm")
        return None

    def _destructive_question(self, action: Action, kind: CheckKind) -> str:
        """The action's title and, where the kind can tell, exactly what it will change."""
        question = action.title or kind.help
        if kind.preview is None:
            return question
        job = runner.prepare(action, kind, self.names, self.options.timeout)
        ctx = self._context(job, self.clock() + job.timeout)
        return f"{question}\n{self.redactor.text(kind.preview(ctx))}"

    def _context(self, job: runner.Job, until: float) -> CheckContext:
        return CheckContext(
            target=self.current, params=job.params, timeout=job.timeout,
            earlier=dict(self.outcomes), environ=self.environ, clock=self.clock,
            allow_write=self.options.allow_write,
            runner=runner.limited_runner(self.environ, self.redactor.text, until, self.clock),
            wall_clock=self.wall_clock, connector=self.connector, given=self.target,
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
        if check.resolved is not None:
            self._resolve(action, check.resolved)
        if check.data.get("corroborates"):  # e.g. log lines confirming a step-2 finding
            from troubleshooter import corroboration

            corroboration.attach(self.session.steps, self.outcomes, check.data["corroborates"])
        record.checks.append(check)
        record.findings.extend(check.findings)
        if action.destructive:  # it changed the server: what checks read before is stale
            self.connector.forget()
        self.listener(CheckFinished(step, check))

    def _resolve(self, action: Action, resolved: Resolved) -> None:
        """A check found where the target really is: the checks after it go there."""
        self.current = resolved.target
        self.session.resolved_targets.append({
            "by": action.id, "role": resolved.role,
            "evidence": self.redactor.text(resolved.evidence),
            "target": self.redactor.value(resolved.target.to_dict()),
        })

    def _skip_action(self, step: Step, action: Action, record: StepRecord, skip: Skip) -> None:
        self.statuses[action.id] = "skipped"
        if action.is_check:
            check = CheckRecord(action.id, str(action.check), action.title, {}, "skipped",
                                skip.text, now_iso(), 0.0, 0.0)
            self.outcomes[action.id] = Outcome("skipped", skip.text)
            record.checks.append(check)
            self.listener(CheckFinished(step, check, skip))
        else:
            record.answers.append(AnswerRecord(action.id, str(action.prompt),
                                               self.render(action.question), "skipped",
                                               source=None))
            self.listener(PromptFinished(step, record.answers[-1], skip))

    def _ask(self, step: Step, action: Action, record: StepRecord) -> Reply:
        if action.when is not None and not conditions.evaluate(action.when, self.scope()):
            self._skip_action(step, action, record,
                              Skip("condition", f"{NOT_MET}{action.when.source}"))
            return Pending()
        question = self.render(action.question)
        reply = self.operator.ask(step, replace(action, help=self.render(action.help)),
                                  question)
        if isinstance(reply, Answered):
            # The operator may have acted on the server meanwhile (restarted it, fixed its
            # config): the checks after this read it again.
            self.connector.forget()
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
                message = self.render(rule.message) if rule.message else (
                    f"{CATALOGUE[rule.code].title} (the operator answered: {shown})")
                remedy = self.render(rule.remedy) if rule.remedy else None
                evidence = f"operator answer to: {self.render(action.question)}"
                found.append(replace(
                    finding(rule.code, message, evidence, severity=rule.severity, remedy=remedy),
                    step=step.id, source=action.id))
        return found

    def render(self, text: str) -> str:
        """A playbook text filled in with the run's names and redacted: what a person reads."""
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
        # Step records carry it, kept ones of a resumed session included.
        incomplete = ended_by != "finished" or bool(self.cut) or any(
            step.status == "incomplete" for step in s.steps) or any(
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


def _step_status(record: StepRecord, cut: Collection[str] = ()) -> str:
    if any(f.severity == "error" for f in record.findings):
        return "problems"
    if any(c.status in ("error", "timeout") or c.id in cut for c in record.checks):
        return "incomplete"
    if any(f.severity == "warning" for f in record.findings):
        return "warnings"
    if any(a.status == "pending" for a in record.answers):
        return "pending"
    return "passed"


__all__ = ["Engine", "RunOptions", "Answered", "SkipStep", "Pending", "Reply", "Operator", "Event",
           "Listener", "RunStarted", "Skip", "SKIP_KINDS", "NOT_MET", "DEFAULT_TIMEOUT",
           "StepStarted", "ChecksStarted", "CheckFinished", "PromptFinished", "StepFinished"]
