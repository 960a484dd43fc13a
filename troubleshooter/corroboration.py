"""A later check's evidence added to an earlier finding it confirms.

The log scan (step 3) reads lines that confirm what a live check found in step 2: `logs.oom`
confirms `server.oom`. It returns them in its data as `corroborates: {code: [lines]}`; the
engine hands them here, and they join the evidence of every earlier finding of that code (and
so the diagnosis built from it).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import Any

from troubleshooter.checks.base import Outcome
from troubleshooter.findings import Finding
from troubleshooter.session import StepRecord


def attach(steps: Sequence[StepRecord], outcomes: MutableMapping[str, Outcome],
           corroborates: Mapping[str, Any]) -> None:
    """Add the lines of `corroborates` to the earlier findings of their codes, in place."""
    lines = {code: tuple(str(x) for x in v) for code, v in corroborates.items()
             if isinstance(v, list | tuple) and v}
    if not lines:
        return

    def more(f: Finding) -> Finding:
        extra = tuple(x for x in lines.get(f.code, ()) if x not in f.evidence)
        return replace(f, evidence=f.evidence + extra) if extra else f

    for step in steps:
        step.findings[:] = [more(f) for f in step.findings]
        step.checks[:] = [replace(c, findings=tuple(more(f) for f in c.findings))
                          for c in step.checks]
    for ident, out in list(outcomes.items()):
        outcomes[ident] = replace(out, findings=tuple(more(f) for f in out.findings))
