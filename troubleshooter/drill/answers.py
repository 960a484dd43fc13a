"""A trainee from a file: the looks, hints, diagnosis, remedy and fixes of a drill, as YAML.

    trainee: alice
    looks: [ping, info:memory, app.log]
    hints: 1
    diagnosis: server.oom          # a finding code, or something-else
    remedy: free-memory            # an id from the scenarios' remedies.yaml
    fix:
      - redis: [CONFIG, SET, maxmemory, 64mb]
      - restart: workers
      - look: ping                 # a look while fixing, to check
    give_up: false                 # true: do not ask for verification
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from troubleshooter.drill import fixes
from troubleshooter.drill.flow import FIXED, GIVE_UP, HINT, LOOK, NEXT, Fix, Step
from troubleshooter.drill.looks import LOOKS, Look
from troubleshooter.drill.scoring import SOMETHING_ELSE
from troubleshooter.errors import UsageError
from troubleshooter.findings import CATALOGUE
from troubleshooter.frozen import record

KEYS = ("trainee", "looks", "hints", "diagnosis", "remedy", "fix", "give_up")


@record
class FromAnswers:
    looks: list[str]
    hints: int
    cause: str
    remedy_id: str
    fixes: list[Fix]
    give_up: bool
    trainee: str | None = None
    _asked_verify: bool = field(default=False)

    def step(self, step: Step, looks: list[Look], hints_left: int) -> str:
        if step.index == 0 and self.hints and hints_left:
            self.hints -= 1
            return HINT
        for look_id in self.looks:
            if LOOKS[look_id].step == step.id:
                self.looks.remove(look_id)
                return look_id
        return NEXT

    def diagnosis(self, choices: list[tuple[str, str]]) -> str:
        return self.cause

    def remedy(self, choices: list[tuple[str, str]]) -> str:
        return self.remedy_id

    def fix(self, programs: list[str]) -> Fix | str:
        if self.fixes:
            return self.fixes.pop(0)
        if self.give_up or self._asked_verify:
            return GIVE_UP
        self._asked_verify = True
        return FIXED


def _fix(item: Any, where: str) -> Fix:
    """A fix, or `{look: ID}`: a look taken while fixing (to check the fix)."""
    if isinstance(item, dict) and list(item) == [LOOK]:
        if item[LOOK] not in LOOKS:
            raise UsageError(f"{where}: look: {item[LOOK]!r} is not one of: {', '.join(LOOKS)}")
        return LOOK, item[LOOK]
    return fixes.parse(item, where)


def from_mapping(data: Any, path: str, remedies: Mapping[str, str]) -> FromAnswers:
    """Validate an answers file's content; one UsageError naming the file and the key."""
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a drill answers file is a mapping ({', '.join(KEYS)})")
    for key in data:
        if key not in KEYS:
            raise UsageError(f"{path}: unknown key {key!r} (known: {', '.join(KEYS)})")
    looks = data.get("looks", [])
    if not isinstance(looks, list) or any(x not in LOOKS for x in looks):
        raise UsageError(f"{path}: looks: expected a list of: {', '.join(LOOKS)}")
    hints = data.get("hints", 0)
    if not isinstance(hints, int) or isinstance(hints, bool) or hints < 0:
        raise UsageError(f"{path}: hints: expected a number of hints (0 or more)")
    cause = data.get("diagnosis", SOMETHING_ELSE)
    if cause != SOMETHING_ELSE and cause not in CATALOGUE:
        raise UsageError(f"{path}: diagnosis: {cause!r} is not a finding code "
                         f"(see docs/FINDINGS.md) nor {SOMETHING_ELSE}")
    remedy = data.get("remedy", "")
    if remedy not in remedies:
        raise UsageError(f"{path}: remedy: {remedy!r} is not one of: {', '.join(remedies)}")
    items = data.get("fix", [])
    if not isinstance(items, list):
        raise UsageError(f"{path}: fix: expected a list of fixes")
    parsed = [_fix(item, f"{path}: fix[{i}]") for i, item in enumerate(items)]
    trainee = data.get("trainee")
    return FromAnswers(list(looks), hints, str(cause), str(remedy), parsed,
                       bool(data.get("give_up", False)),
                       str(trainee) if trainee is not None else None)
