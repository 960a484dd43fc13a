"""Configuration files read as data, never executed: dotenv, YAML, TOML and a Python settings
module (its `NAME = "literal"` assignments, read as text).

Every file is read up to MAX_BYTES; nested keys are flattened to `PARENT_CHILD` in upper case so
`redis: {url: ...}` reads as REDIS_URL whatever the format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from troubleshooter.inputfiles import InputFileError, read_text

MAX_BYTES = 1024 * 1024


class FileProblem(Exception):
    """A configuration file that cannot be read or parsed; the message names it."""


def read_settings(path: str) -> tuple[dict[str, str], str]:
    """Every scalar setting in the file, flattened, and the format it was read as."""
    p = Path(path)
    try:
        # Regular files only (a FIFO would block the run), size-capped, UTF-8.
        text = read_text(path, MAX_BYTES, "the settings file")
    except InputFileError as exc:
        raise FileProblem(str(exc)) from None
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _yaml(path, text), "yaml"
    if suffix == ".toml":
        return _toml(path, text), "toml"
    if suffix == ".py":
        return python_settings(text), "python (read as text)"
    return dotenv(text), "dotenv"


def dotenv(text: str) -> dict[str, str]:
    """`KEY=value` lines (`export` allowed, quotes stripped, `#` comments outside quotes)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0]:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[key.upper()] = value
    return found


def _yaml(path: str, text: str) -> dict[str, str]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise FileProblem(f"{path}{where}: not valid YAML") from None
    return flatten(data) if isinstance(data, Mapping) else {}


def _toml(path: str, text: str) -> dict[str, str]:
    import tomllib

    try:
        return flatten(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise FileProblem(f"{path}: not valid TOML ({exc})") from None


def flatten(data: Mapping[Any, Any], prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Scalars of a nested mapping as `PARENT_CHILD` keys (lists of scalars comma-joined)."""
    found: dict[str, str] = {}
    if depth > 8:
        return found
    for key, value in data.items():
        name = f"{prefix}_{key}".upper() if prefix else str(key).upper()
        if isinstance(value, Mapping):
            found.update(flatten(value, name, depth + 1))
        elif isinstance(value, list):
            if all(isinstance(v, str | int) for v in value):
                found[name] = ",".join(str(v) for v in value)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            found[name] = str(value)
    return found


# NAME = "value" / NAME: str = 'value' / NAME = 6379 / NAME = os.getenv("X", "default")
# As text: `re` compiles them when a settings module is first read (and keeps them).
_ASSIGN = r"""(?m)^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[\w\[\]|. ]+)?=\s*(?P<rhs>.+)$"""
_STRING = r"""^[rbuRBU]?(['"])(?P<v>[^'"\\\n]*)\1\s*(#.*)?$"""
_NUMBER = r"^(?P<v>\d+)\s*(#.*)?$"
_GETENV = (r"""^os\.(?:environ\.get|getenv)\(\s*['"][A-Za-z0-9_]+['"]\s*,\s*(['"])"""
           r"""(?P<v>[^'"\\\n]*)\1""")


def python_settings(text: str) -> dict[str, str]:
    """Top-level literal assignments of a Python settings module; nothing is imported or run.

    A default in `os.getenv("REDIS_URL", "redis://...")` counts as the module's value.
    """
    found: dict[str, str] = {}
    for match in re.finditer(_ASSIGN, text):
        rhs = match["rhs"].strip()
        for pattern in (_STRING, _NUMBER, _GETENV):
            value = re.match(pattern, rhs)
            if value:
                found[match["name"].upper()] = value["v"]
                break
    return found
