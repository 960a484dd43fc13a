"""Where playbooks are found: shipped ones, the user's, and explicit paths."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from troubleshooter.errors import UsageError

if TYPE_CHECKING:
    from troubleshooter.playbook import Playbook
    from troubleshooter.yamlcache import ParseCache

DEFAULT_PLAYBOOK = "redis-outage"


def shipped_dir() -> Path:
    """Inside the installed package, or the repository's playbooks/ in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "playbooks", here.parent / "playbooks"):
        if candidate.is_dir():
            return candidate
    return here / "playbooks"


def user_dirs(environ: Mapping[str, str]) -> list[Path]:
    """$TROUBLESHOOTER_PLAYBOOKS (a path list), then $XDG_CONFIG_HOME/troubleshooter/playbooks."""
    dirs = [Path(p) for p in environ.get("TROUBLESHOOTER_PLAYBOOKS", "").split(os.pathsep) if p]
    config = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(config) / "troubleshooter" / "playbooks")
    return dirs


def discover(environ: Mapping[str, str]) -> list[tuple[str, Path]]:
    """(origin, path) of every playbook: shipped first, then the user's."""
    found: list[tuple[str, Path]] = []
    for origin, directory in [("shipped", shipped_dir())] + [("user", d) for d in
                                                              user_dirs(environ)]:
        if directory.is_dir():
            found += [(origin, p) for p in sorted(directory.glob("*.y*ml"))]
    return found


def resolve(name: str | None, environ: Mapping[str, str]) -> Path:
    """A playbook argument is a path, or the name of a shipped or user playbook."""
    name = name or DEFAULT_PLAYBOOK
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or os.sep in name:
        if not path.exists():
            raise UsageError(f"playbook file not found: {name}")
        return path  # a FIFO, device or directory: `playbook.load` says which, and refuses it
    for _, candidate in reversed(discover(environ)):
        if candidate.stem == name:
            return candidate
    known = ", ".join(p.stem for _, p in discover(environ)) or "none"
    raise UsageError(f"no playbook named {name!r} (known: {known}); give a path to a .yaml file")


def parse_cache(path: Path, environ: Mapping[str, str]) -> ParseCache | None:
    """Where a shipped playbook's YAML parse is kept (see yamlcache); a user's playbook is
    parsed every time: it may be edited at any moment, and may hold what should not be copied.
    `TROUBLESHOOTER_NO_CACHE=1` keeps nothing."""
    if path.resolve().parent != shipped_dir().resolve():
        return None
    from troubleshooter.yamlcache import shipped_cache

    return shipped_cache(environ)


def load(name: str | Path | None, environ: Mapping[str, str]) -> Playbook:
    """The playbook `name` (a name or a path, see resolve), loaded and validated; a shipped
    one's YAML parse comes from the cache (parse_cache)."""
    from troubleshooter import playbook

    path = resolve(str(name) if name is not None else None, environ)
    return playbook.load(path, cache=parse_cache(path, environ))
