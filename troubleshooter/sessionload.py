"""A saved transcript back into a `Session` (for `resume`), with precise errors.

The transcript is read as JSON only (never anything that could run code) and checked field by
field: a file cut short, edited by hand or written by a newer version is refused with one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from troubleshooter.findings import Finding
from troubleshooter.lazyre import lazy_compile
from troubleshooter.session import (
    SCHEMA,
    AnswerRecord,
    CheckRecord,
    Diagnosis,
    Session,
    StepRecord,
)

_SCHEMA = lazy_compile(r"troubleshooter\.session/(\d+)")
VERSION = int(SCHEMA.rsplit("/", 1)[1])


class SessionFormatError(ValueError):
    """The document is not a transcript this version can read; the message says why."""


class OtherDocument(SessionFormatError):
    """One of our documents that is not a session (`watch` saves its rounds next to them)."""


def check_schema(doc: Any) -> Mapping[str, Any]:
    """`doc` as a transcript mapping of a schema this version reads, or SessionFormatError."""
    if not isinstance(doc, Mapping):
        raise SessionFormatError("not a troubleshooter transcript (not a JSON object)")
    schema = doc.get("schema")
    match = _SCHEMA.fullmatch(schema) if isinstance(schema, str) else None
    if match is None:
        if isinstance(schema, str) and schema.startswith("troubleshooter."):
            raise OtherDocument(f"a {schema} document, not a session")
        raise SessionFormatError("not a troubleshooter transcript (no `schema` field)")
    if int(match[1]) > VERSION:
        raise SessionFormatError(f"written by a newer troubleshooter ({schema}; this version "
                                 f"reads {SCHEMA}): upgrade to read it")
    return doc


def session_from_dict(doc: Any) -> Session:
    """The `Session` a transcript describes (the inverse of `Session.to_dict`)."""
    data = check_schema(doc)
    try:
        session = Session(
            trace_id=_str(data, "trace_id"), playbook=_map(data, "playbook"),
            target=_map(data, "target"), mode=_str(data, "mode"),
            variables=_map(data, "variables"), started_at=_str(data, "started_at"),
            finished_at=data.get("finished_at"), status=_str(data, "status"),
            ended_by=_str(data, "ended_by"),
            steps=[_step(s) for s in _list(data, "steps")],
            diagnosis=_diagnosis(data.get("diagnosis")),
            support=data.get("support"),
            resumed=[dict(r) for r in data.get("resumed") or []],
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SessionFormatError(f"a damaged transcript ({exc})") from None
    if not re.fullmatch(r"[0-9a-f]{8,64}", session.trace_id):
        raise SessionFormatError("a damaged transcript (trace_id is not an id)")
    return session


def _step(d: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        id=_str(d, "id"), title=_str(d, "title"), status=_str(d, "status"),
        reason=str(d.get("reason", "")), started_at=_str(d, "started_at"),
        duration_ms=float(d.get("duration_ms", 0.0)),
        checks=[_check(c) for c in _list(d, "checks")],
        answers=[_answer(a) for a in _list(d, "answers")],
        findings=[_finding(f) for f in _list(d, "findings")],
        finished_at=d.get("finished_at"),
    )


def _check(d: Mapping[str, Any]) -> CheckRecord:
    return CheckRecord(
        id=_str(d, "id"), kind=_str(d, "kind"), title=str(d.get("title", "")),
        params=_map(d, "params"), status=_str(d, "status"), summary=str(d.get("summary", "")),
        started_at=_str(d, "started_at"), duration_ms=float(d.get("duration_ms", 0.0)),
        timeout=float(d.get("timeout", 0.0)),
        findings=tuple(_finding(f) for f in _list(d, "findings")),
        data=_map(d, "data"), details=tuple(str(x) for x in _list(d, "details")),
    )


def _answer(d: Mapping[str, Any]) -> AnswerRecord:
    return AnswerRecord(id=_str(d, "id"), prompt=str(d.get("prompt", "")),
                        question=str(d.get("question", "")), status=_str(d, "status"),
                        answer=d.get("answer"), source=d.get("source"),
                        at=str(d.get("at", "")))


def _finding(d: Mapping[str, Any]) -> Finding:
    return Finding(code=_str(d, "code"), severity=_str(d, "severity"),
                   message=str(d.get("message", "")),
                   evidence=tuple(str(e) for e in _list(d, "evidence")),
                   remedy=str(d.get("remedy", "")), step=str(d.get("step", "")),
                   source=str(d.get("source", "")))


def _diagnosis(d: Any) -> Diagnosis | None:
    if d is None:
        return None
    return Diagnosis(code=_str(d, "code"), title=str(d.get("title", "")),
                     summary=str(d.get("summary", "")), remedy=str(d.get("remedy", "")),
                     evidence=tuple(str(e) for e in _list(d, "evidence")),
                     step=str(d.get("step", "")), by_rule=bool(d.get("by_rule", False)))


def _str(d: Mapping[str, Any], key: str) -> str:
    value = d[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


def _map(d: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key) or {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} is not an object")
    return dict(value)


def _list(d: Mapping[str, Any], key: str) -> list[Any]:
    value = d.get(key) or []
    if not isinstance(value, list):
        raise TypeError(f"{key} is not a list")
    return value
