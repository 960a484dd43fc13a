"""A session's outputs: the JSON transcript, the Markdown and HTML incident report.

Every output is made the same way: the session is redacted once (`document`), then formatted.
A new output format is one function `(document) -> text` added to `FORMATS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from troubleshooter.redaction import Redactor
from troubleshooter.session import Session
from troubleshooter.store import file_name, sessions_dir, state_dir, write_private

__all__ = ["FORMATS", "document", "render", "render_all", "save", "state_dir", "write"]

SUFFIXES = {"json": "json", "md": "md", "html": "html"}


def document(session: Session | Mapping[str, Any], redactor: Redactor,
             prior_redactions: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The session as one redacted JSON-like document, with the redaction audit (`kind`,
    `where`, `count`; never a value) under `redactions`."""
    raw = session.to_dict() if isinstance(session, Session) else dict(session)
    earlier = [*prior_redactions, *(raw.pop("redactions", None) or [])]
    doc: dict[str, Any] = redactor.value(raw)
    if (raw.get("target") or {}).get("password_set"):  # masked by Target itself
        earlier.append({"kind": "URL password", "where": "target.url", "count": 1})
    doc["redactions"] = merge_audit([*earlier, *redactor.audit()])
    return doc


def merge_audit(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = {}
    for e in entries:
        key = (str(e.get("kind", "")), str(e.get("where", "")))
        counts[key] = max(counts.get(key, 0), int(e.get("count", 0)))
    return [{"kind": k, "where": w, "count": n} for (k, w), n in sorted(counts.items())]


def _json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)


def _markdown(doc: Mapping[str, Any]) -> str:
    from troubleshooter.report_md import markdown
    from troubleshooter.reportdoc import build

    return markdown(build(doc))


def _html(doc: Mapping[str, Any]) -> str:
    from troubleshooter.report_html import html
    from troubleshooter.reportdoc import build

    return html(build(doc))


FORMATS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "json": _json, "md": _markdown, "html": _html,
}


def render(doc: Mapping[str, Any], fmt: str) -> str:
    """One format of an already redacted document."""
    return FORMATS[fmt](doc)


def render_all(session: Session | Mapping[str, Any], formats: Sequence[str],
               redactor: Redactor) -> dict[str, str]:
    """Redact once, then every format asked for: {format: text}."""
    doc = document(session, redactor)
    return {fmt: render(doc, fmt) for fmt in formats}


def write(session: Session | Mapping[str, Any], formats: Sequence[str], redactor: Redactor,
          directory: Path, stem: str = "report") -> dict[str, Path]:
    """Each format as a private file `directory/stem.<suffix>`; returns their paths."""
    return {fmt: write_private(directory / f"{stem}.{SUFFIXES[fmt]}", text.encode("utf-8"))
            for fmt, text in render_all(session, formats, redactor).items()}


def save(session: Session, text: str, environ: Mapping[str, str],
         path: str | None = None) -> Path:
    """Write the transcript `text` (`render(document(...), "json")`, or another document about
    this session, such as `watch`'s), private to the user: it describes their infrastructure.
    `path` is a file, or a directory to put the usual file name in."""
    name = file_name(session.trace_id, session.started_at)
    target = Path(path) if path else sessions_dir(environ) / name
    if target.is_dir():
        target = target / name
    return write_private(target, (text + "\n").encode("utf-8"), ours=not path)
