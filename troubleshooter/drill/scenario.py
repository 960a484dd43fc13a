"""Drill scenarios: YAML files shipped in `drill/scenarios/`, validated like playbooks.

A scenario is data: the story, the servers and env files to create, the setup steps that break
the system, the expected diagnosis, the remedy, the hints, the fix check and the debrief. Every
problem in a file is reported at once as `file:line: path: message`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from troubleshooter import yamlsrc
from troubleshooter.errors import PlaybookError, UsageError
from troubleshooter.findings import CATALOGUE
from troubleshooter.frozen import frozen
from troubleshooter.schema import (
    INT,
    INVALID,
    STR,
    Field,
    ListOf,
    Loc,
    MapOf,
    Obj,
    Problems,
    Scalar,
    Spec,
    describe,
    one_of,
)

DIFFICULTIES = ("easy", "medium", "hard")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
# `{redis.port}`, `{password}`: filled in when the drill is set up (see lab.placeholders).
PLACEHOLDER_RE = re.compile(r"\{([a-z][a-z0-9_.-]*)\}")
FIXED_PLACEHOLDERS = ("password", "old_password", "spare.port", "dir", "time", "queue")
# Setup steps: name -> what its value must be. The lab implements each (lab.STEPS).
STEP_KINDS = ("start", "stop", "pause", "restart", "enqueue", "wait_jobs", "hold_job",
              "kill_workers", "command", "fill_memory", "misconf", "leak_connections")
LOOK_IDS = ("ping", "processes", "info:server", "info:memory", "info:replication",
            "info:persistence", "info:clients", "info:stats", "workers", "queues",
            "app.log", "worker.log", "redis.log", "app.env", "worker.env", "redis.conf")


@frozen
class Evidence:
    look: str
    shows: str


@frozen
class Scenario:
    name: str
    title: str
    difficulty: str
    story: str
    alert: str
    servers: Mapping[str, Mapping[str, str]]
    env: Mapping[str, Mapping[str, str]]
    workers: int
    setup: tuple[tuple[str, Any], ...]
    logs: Mapping[str, tuple[str, ...]]
    diagnosis: tuple[str, ...]
    remedy: str
    hints: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    verify_config: Mapping[str, str]
    debrief: str
    path: str


class _Name(Spec):
    expected = "a name (lower case letters, digits and -)"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if isinstance(value, str) and NAME_RE.match(value):
            return value
        return self.wrong(value, loc, problems)


class _Codes(Spec):
    expected = "a finding code or a list of them"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        codes = value if isinstance(value, list) else [value]
        if not codes or not all(isinstance(c, str) for c in codes):
            return self.wrong(value, loc, problems)
        for code in codes:
            if code not in CATALOGUE:
                problems.error(loc, f"unknown finding code {code!r} (see docs/FINDINGS.md)")
                return INVALID
        return tuple(codes)


class _Step(Spec):
    expected = f"a setup step: a mapping with one of {', '.join(STEP_KINDS)}"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if isinstance(value, str) and value in STEP_KINDS:
            value = {value: {}}
        if not isinstance(value, dict) or len(value) != 1:
            return self.wrong(value, loc, problems)
        [(kind, arg)] = value.items()
        if kind not in STEP_KINDS:
            problems.error(loc.key(kind), f"unknown setup step (known: {', '.join(STEP_KINDS)})")
            return INVALID
        return (kind, arg)


class _Look(Spec):
    expected = f"a look id ({', '.join(LOOK_IDS)})"

    def check(self, value: Any, loc: Loc, problems: Problems) -> Any:
        if value in LOOK_IDS:
            return value
        return self.wrong(value, loc, problems)


CONF_VALUE = Scalar((str, int), "a string or an integer")
SCENARIO = Obj((
    Field("name", _Name()),
    Field("title", STR),
    Field("difficulty", one_of(*DIFFICULTIES)),
    Field("story", STR),
    Field("alert", STR, ""),
    Field("servers", MapOf(MapOf(CONF_VALUE)), {"redis": {}}),
    Field("env", MapOf(MapOf(STR))),
    Field("workers", INT, 1),
    Field("setup", ListOf(_Step()), []),
    Field("logs", MapOf(ListOf(STR)), {}),
    Field("diagnosis", _Codes()),
    Field("remedy", _Name()),
    Field("hints", ListOf(STR), []),
    Field("evidence", ListOf(Obj((Field("look", _Look()), Field("shows", STR)))), []),
    Field("verify", Obj((Field("config", MapOf(CONF_VALUE), {}),)), {"config": {}}),
    Field("debrief", STR),
))
REMEDIES = MapOf(STR)


def _format(items: list[tuple[Loc, str]], source: yamlsrc.Source, name: str) -> list[str]:
    def line(loc: Loc) -> int:
        return loc.line or source.line(loc.raw)

    return [f"{name}:{line(loc)}: {loc.shown or '(top)'}: {msg}"
            for loc, msg in sorted(items, key=lambda item: line(item[0]))]


def _parse(text: str, name: str, spec: Spec, what: str) -> tuple[Any, yamlsrc.Source, Problems]:
    try:
        source = yamlsrc.load(text)
    except yamlsrc.YamlSyntaxError as exc:
        raise PlaybookError([f"{name}:{exc.line}:{exc.column}: YAML syntax error: {exc}"]) from None
    problems = Problems()
    for path, line, first in source.duplicates:
        problems.error(Loc(path, ".".join(map(str, path)), line),
                       f"duplicate key (first at line {first})")
    if not isinstance(source.data, dict):
        got = "an empty file" if source.data is None else describe(source.data)
        raise PlaybookError([f"{name}:1: (top): expected {what}, got {got}"])
    return spec.check(source.data, Loc(), problems), source, problems


def loads(text: str, name: str, remedies: Mapping[str, str]) -> Scenario:
    """Validate one scenario's text; raise PlaybookError listing every problem."""
    data, source, problems = _parse(text, name, SCENARIO, "a drill scenario (a mapping)")
    if data is not INVALID:
        _crosscheck(data, name, remedies, problems)
    if problems.errors:
        raise PlaybookError(_format(problems.errors, source, name))
    return Scenario(
        name=data["name"], title=data["title"], difficulty=data["difficulty"],
        story=data["story"], alert=data["alert"], servers=data["servers"], env=data["env"],
        workers=data["workers"], setup=tuple(data["setup"]),
        logs={k: tuple(v) for k, v in data["logs"].items()}, diagnosis=data["diagnosis"],
        remedy=data["remedy"], hints=tuple(data["hints"]),
        evidence=tuple(Evidence(**e) for e in data["evidence"]),
        verify_config={k: str(v) for k, v in data["verify"]["config"].items()},
        debrief=data["debrief"], path=name,
    )


def _crosscheck(data: dict[str, Any], name: str, remedies: Mapping[str, str],
                problems: Problems) -> None:
    """What a type cannot say: the file's name, known remedies, servers and placeholders."""
    stem = Path(name).stem
    if data["name"] is not INVALID and Path(name).suffix and data["name"] != stem:
        problems.error(Loc(("name",), "name"),
                       f"must match the file name: {stem!r} (rename one of them)")
    if data["remedy"] is not INVALID and data["remedy"] not in remedies:
        problems.error(Loc(("remedy",), "remedy"),
                       f"unknown remedy {data['remedy']!r} (known: {', '.join(remedies)}; "
                       "add it to remedies.yaml)")
    servers = data["servers"] if isinstance(data["servers"], dict) else {}
    if "redis" not in servers:
        problems.error(Loc(("servers",), "servers"), "needs a server named 'redis' (the app's)")
    for env in ("app", "worker"):
        if isinstance(data["env"], dict) and env not in data["env"]:
            problems.error(Loc(("env",), "env"), f"missing the {env!r} env file")
    known = {*FIXED_PLACEHOLDERS, *(f"{s}.port" for s in servers)}
    _placeholders(data, (), known, problems)


def _placeholders(value: Any, path: tuple[str | int, ...], known: set[str],
                  problems: Problems) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _placeholders(v, (*path, k), known, problems)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _placeholders(v, (*path, i), known, problems)
    elif isinstance(value, str) and path[:1] not in (("story",), ("debrief",), ("hints",)):
        for found in PLACEHOLDER_RE.findall(value):
            if found not in known:
                shown = ".".join(str(p) for p in path)
                problems.error(Loc(path, shown), f"unknown placeholder {{{found}}} "
                                                 f"(known: {', '.join(sorted(known))})")


def shipped_dir() -> Path:
    return Path(str(resources.files("troubleshooter.drill") / "scenarios"))


def load_remedies(directory: Path, required: bool = True) -> dict[str, str]:
    path = directory / "remedies.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        if not required:
            return {}
        raise PlaybookError([f"{path}: cannot read remedies: {exc.strerror or exc}"]) from None
    data, source, problems = _parse(text, str(path), REMEDIES, "a mapping of remedy ids to texts")
    if problems.errors:
        raise PlaybookError(_format(problems.errors, source, str(path)))
    return dict(data)


def load_all(directory: Path | None = None,
             remedies: Mapping[str, str] | None = None) -> dict[str, Scenario]:
    """Every scenario in `directory` (default: the shipped ones), by name, in name order;
    remedy ids may come from `remedies` or the directory's own remedies.yaml."""
    directory = directory or shipped_dir()
    known = {**(remedies or {}), **load_remedies(directory, required=remedies is None)}
    found: dict[str, Scenario] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "remedies.yaml":
            continue
        scenario = loads(path.read_text(encoding="utf-8"), str(path), known)
        found[scenario.name] = scenario
    return found


def catalogue(environ: Mapping[str, str]) -> tuple[dict[str, Scenario], dict[str, str]]:
    """The shipped scenarios and remedies, then a team's from $TROUBLESHOOTER_DRILLS (a
    directory of scenario files and an optional remedies.yaml; a same-named scenario wins)."""
    remedies = load_remedies(shipped_dir())
    found = load_all(shipped_dir(), remedies)
    extra = environ.get("TROUBLESHOOTER_DRILLS")
    if extra:
        directory = Path(extra)
        if not directory.is_dir():
            raise UsageError(f"TROUBLESHOOTER_DRILLS={extra} is not a directory")
        remedies = {**remedies, **load_remedies(directory, required=False)}
        found = dict(sorted({**found, **load_all(directory, remedies)}.items()))
    return found, remedies


def pick(scenarios: Mapping[str, Scenario], name: str | None, difficulty: str | None,
         seed: int | None) -> Scenario:
    """The named scenario, or a random one (of `difficulty`, if given)."""
    import random

    if name is not None:
        if name not in scenarios:
            raise UsageError(f"no drill scenario {name!r} (known: {', '.join(scenarios)})")
        return scenarios[name]
    pool = [s for s in scenarios.values() if difficulty in (None, s.difficulty)]
    if not pool:
        raise UsageError(f"no drill scenario of difficulty {difficulty!r}")
    return random.Random(seed).choice(pool)
