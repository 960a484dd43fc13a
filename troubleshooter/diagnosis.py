"""The one root cause of a run: a playbook rule if one matches, else the most upstream error.

Upstream order (docs/FINDINGS.md): configuration, network, server, RQ - a refused connection
explains every failed server and RQ check after it, never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence

from troubleshooter import conditions
from troubleshooter.findings import CATALOGUE, Finding, family, upstream_rank
from troubleshooter.playbook import DiagnosisRule
from troubleshooter.session import Diagnosis


def diagnose(
    findings: Sequence[Finding],
    rules: Sequence[DiagnosisRule],
    scope: conditions.Scope,
) -> Diagnosis | None:
    """The root cause, or None when nothing is broken (warnings alone are not a diagnosis)."""
    errors = sorted((f for f in findings if f.severity == "error"),
                    key=lambda f: upstream_rank(f.code))
    for rule in rules:
        if conditions.evaluate(rule.when, scope):
            cause = next((f for f in findings if f.code == rule.code), None)
            return _from(rule.code, cause, [f for f in errors if f is not cause],
                         summary=rule.summary, by_rule=True)
    if not errors:
        return None
    restart = _restart_behind(findings, errors[0])
    if restart is not None:
        return _from(restart.code, restart, errors)
    return _from(errors[0].code, errors[0], errors[1:])


# A restart that lost or rewound data explains the RQ state that follows it (orphans, jobs
# gone, workers re-registering): it is the cause even as a warning.
RESTART_CODES = ("server.data_lost", "server.restored_from_snapshot")


def _restart_behind(findings: Sequence[Finding], top: Finding) -> Finding | None:
    if family(top.code) != "rq":
        return None
    return next((f for code in RESTART_CODES for f in findings if f.code == code), None)


def _from(code: str, cause: Finding | None, others: Sequence[Finding], summary: str = "",
          by_rule: bool = False) -> Diagnosis:
    entry = CATALOGUE[code]
    evidence = list(cause.evidence) if cause else []
    evidence += [f"also seen: {f.code}: {f.message}" for f in others if f.code != code]
    return Diagnosis(
        code=code,
        title=entry.title,
        # A rule's summary says what the pairing means; the finding says where.
        summary=(f"{summary} ({cause.message})" if summary and cause else
                 summary or (cause.message if cause else entry.title)),
        remedy=(cause.remedy if cause and cause.remedy else entry.remedy),
        evidence=tuple(evidence),
        step=cause.step if cause else "",
        by_rule=by_rule,
    )
