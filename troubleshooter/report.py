"""The session as JSON (for --json and the saved transcript)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from troubleshooter.redaction import Redactor
from troubleshooter.session import Session


def to_json(session: Session, redactor: Redactor) -> str:
    """One JSON document; every string passes the redactor once more on the way out."""
    return json.dumps(redactor.value(session.to_dict()), indent=2, ensure_ascii=False,
                      default=str)


def state_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "troubleshooter"


def save(session: Session, document: str, environ: Mapping[str, str],
         path: str | None = None) -> Path:
    """Write the transcript `document` (`to_json`), private to the user: it describes their
    infrastructure. `path` is a file, or a directory to put the usual file name in.
    """
    name = f"{session.started_at[:19].replace(':', '')}-{session.trace_id[:8]}.json"
    target = Path(path) if path else state_dir(environ) / "sessions" / name
    if target.is_dir():
        target = target / name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(document + "\n")
        tmp.replace(target)
    except BaseException:  # ^C or a full disk: no half-written file left behind
        tmp.unlink(missing_ok=True)
        raise
    return target
