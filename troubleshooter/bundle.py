"""The support bundle: one .tar.gz with everything support asks for first, secrets removed.

Members: the report in every format, the server's state as read during the run (INFO, CONFIG,
SLOWLOG, LATENCY, CLIENT LIST counts), the log excerpts of step 3, the playbook, the versions,
and REDACTIONS.txt, which lists the kinds of values removed and where, never the values. Every
member passes the run's redactor on the way in.
"""

from __future__ import annotations

import io
import json
import platform
import sys
import tarfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from troubleshooter import __version__, report
from troubleshooter.redaction import Redactor
from troubleshooter.store import state_dir, write_private

MAX_PLAYBOOK_BYTES = 1024 * 1024
MAX_MEMBER_CHARS = 4 * 1024 * 1024
SNAPSHOT_KIND = "support_bundle"


def default_path(doc: Mapping[str, Any], environ: Mapping[str, str]) -> Path:
    stamp = str(doc.get("started_at", ""))[:19].replace(":", "")
    return state_dir(environ) / "bundles" / f"{stamp}-{str(doc.get('trace_id'))[:8]}.tar.gz"


def find_snapshot(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The server state a `support_bundle` check read during the run, if one did."""
    for step in doc.get("steps") or []:
        for check in step.get("checks") or []:
            data = check.get("data") or {}
            if check.get("kind") == SNAPSHOT_KIND and isinstance(data.get("snapshot"), Mapping):
                return dict(data["snapshot"])
    return None


def build(doc: Mapping[str, Any], redactor: Redactor,
          snapshot: Mapping[str, Any] | None = None) -> dict[str, str]:
    """{member name: text}: every member redacted, REDACTIONS.txt last."""
    doc = report.document(doc, redactor)
    snapshot = snapshot if snapshot is not None else find_snapshot(doc)
    members = {f"report.{suffix}": report.render(doc, fmt)
               for fmt, suffix in report.SUFFIXES.items()}
    members.update(_server(snapshot))
    members.update(_logs(doc))
    playbook = _playbook(doc)
    if playbook is not None:
        members["playbook.yaml"] = playbook
    members["VERSIONS.txt"] = _versions(snapshot)
    # The reports are made from the redacted document; the rest passes the redactor now.
    redacted = {name: _cap(text if name.startswith("report.") else redactor.text(text, name))
                for name, text in members.items()}
    audit = report.merge_audit([*(doc.get("redactions") or []), *redactor.audit()])
    redacted["REDACTIONS.txt"] = _audit_text(audit)
    return redacted


def write(members: Mapping[str, str], path: Path, root: str) -> Path:
    """The members as `path` (.tar.gz, 0600), each under the directory `root`."""
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o600, now
            tar.addfile(info, io.BytesIO(data))
    return write_private(path, buffer.getvalue())


def _cap(text: str) -> str:
    return text if len(text) <= MAX_MEMBER_CHARS else text[:MAX_MEMBER_CHARS] + "\n… cut\n"


def _server(snapshot: Mapping[str, Any] | None) -> dict[str, str]:
    if snapshot is None:
        return {"server/README.txt": "The server's state was not read during this run: the "
                "support_bundle check of step 6 did not run (Redis was unreachable, or step 6 "
                "was skipped).\n"}
    if "error" in snapshot and len(snapshot) == 1:
        return {"server/README.txt": f"The server's state could not be read: "
                f"{snapshot['error']}\n"}
    out = {}
    for name, part in snapshot.items():
        if isinstance(part, Mapping) and set(part) == {"error"}:
            body = f"not readable: {part['error']}\n"
        elif isinstance(part, str):
            body = part if part.endswith("\n") else part + "\n"
        elif isinstance(part, Mapping) and name == "CONFIG":
            body = "".join(f"{k} {v}\n" for k, v in part.items())
        elif isinstance(part, list):
            body = "".join(f"{line}\n" for line in part) or "(empty)\n"
        else:
            body = json.dumps(part, indent=2, ensure_ascii=False) + "\n"
        out[f"server/{name}.txt"] = body
    return out


def _logs(doc: Mapping[str, Any]) -> dict[str, str]:
    """The log excerpts of step 3: what its checks kept as lines (details, text data)."""
    out = {}
    for step in doc.get("steps") or []:
        if step.get("id") != "logs" and "log" not in str(step.get("id")):
            continue
        for check in step.get("checks") or []:
            lines = [*map(str, check.get("details") or []), *_text_lines(check.get("data"))]
            if lines:
                out[f"logs/{check.get('id')}.txt"] = "\n".join(lines) + "\n"
    return out


def _text_lines(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > 4:
        return
    if isinstance(value, str) and "\n" in value:
        yield from value.splitlines()
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item
            else:
                yield from _text_lines(item, depth + 1)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _text_lines(item, depth + 1)


def _playbook(doc: Mapping[str, Any]) -> str | None:
    path = (doc.get("playbook") or {}).get("path")
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_PLAYBOOK_BYTES + 1)
    except OSError as exc:
        return f"# the playbook {path} could not be read: {exc.strerror}\n"
    if len(raw) > MAX_PLAYBOOK_BYTES:
        return f"# the playbook {path} is larger than {MAX_PLAYBOOK_BYTES} bytes: not included\n"
    return raw.decode("utf-8", "replace")


def _versions(snapshot: Mapping[str, Any] | None) -> str:
    from importlib import metadata

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    server = "unknown (not read during the run)"
    info = (snapshot or {}).get("INFO")
    if isinstance(info, str):
        server = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                       if line.startswith("redis_version:")), server)
    return (f"troubleshooter {__version__}\nPython {sys.version.split()[0]} "
            f"({platform.python_implementation()})\nredis-py {version('redis')}\n"
            f"rq {version('rq')}\nRedis server {server}\nOS {platform.platform()}\n")


def _audit_text(audit: list[dict[str, Any]]) -> str:
    head = ("Values removed from this bundle and the transcript it was made from: the kind of "
            "value and where it was, never the value.\n\n")
    if not audit:
        return head + "Nothing was removed.\n"
    return head + "".join(f"{a['kind']}: {a['where']} ({a['count']}×)\n" for a in audit)
