"""The incident report as a document: sections of plain-text blocks, built from a redacted
transcript. Markdown (`report_md`) and HTML (`report_html`) render this same document.

Every string here passes `visible()`: the transcript keeps exact values, a report is read by
people (and a Markdown viewer or a browser must never meet a control character we did not write).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from troubleshooter.frozen import frozen
from troubleshooter.sanitize import visible


@frozen
class Para:
    text: str
    strong: bool = False


@frozen
class Facts:
    """Label: value pairs."""

    items: tuple[tuple[str, str], ...]


@frozen
class Bullets:
    items: tuple[str, ...]


@frozen
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Para | Facts | Bullets | Table


@frozen
class Section:
    title: str
    blocks: tuple[Block, ...]
    level: int = 2
    # A stable anchor: the HTML's element id (the report's tests look for `diagnosis`).
    anchor: str = ""


@frozen
class Report:
    title: str
    status: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


def _v(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(_v(v) for v in value) or "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return visible(str(value))


def _time(iso: Any) -> str:
    text = str(iso or "")
    return text[11:19] if len(text) >= 19 else _v(text)


def build(doc: Mapping[str, Any]) -> Report:
    """The report of a (redacted) transcript document."""
    pb = doc.get("playbook") or {}
    title = f"Incident report: {_v(pb.get('title') or pb.get('id') or 'troubleshooter')}"
    sections = [_diagnosis(doc), _summary(doc), _timeline(doc), *_evidence(doc),
                _open_items(doc), _next_steps(doc), _support(doc)]
    return Report(title, _v(doc.get("status")), tuple(s for s in sections if s is not None))


def _summary(doc: Mapping[str, Any]) -> Section:
    d, target, pb = doc.get("diagnosis") or {}, doc.get("target") or {}, doc.get("playbook") or {}
    verdict = f"{d.get('code')} — {d.get('title')}" if d else _verdict(doc)
    facts = [("Status", _v(doc.get("status"))), ("Diagnosis", _v(verdict)),
             ("Target", f"{_v(target.get('url'))} (from {_v(target.get('source'))})"),
             ("Playbook", f"{_v(pb.get('title'))} ({_v(pb.get('id'))} v{_v(pb.get('version'))})"),
             ("Started", _v(doc.get("started_at"))), ("Finished", _v(doc.get("finished_at"))),
             ("Ended by", _v(doc.get("ended_by"))), ("Mode", _v(doc.get("mode"))),
             ("Trace id", _v(doc.get("trace_id")))]
    for r in doc.get("resumed") or []:
        facts.append(("Resumed", f"{_v(r.get('at'))}: step {_v(r.get('rerun_step'))} run again "
                                 f"(after the run was {_v(r.get('after'))})"))
    return Section("Summary", (Facts(tuple(facts)),), anchor="summary")


def _verdict(doc: Mapping[str, Any]) -> str:
    return {"healthy": "No problem found.",
            "incomplete": "Incomplete: not every check could run."}.get(
        str(doc.get("status")), _v(doc.get("status")))


def _diagnosis(doc: Mapping[str, Any]) -> Section:
    d = doc.get("diagnosis")
    if not d:
        return Section("Diagnosis", (Para(_verdict(doc), strong=True),), anchor="diagnosis")
    blocks: list[Block] = [Para(f"{_v(d.get('code'))} — {_v(d.get('title'))}", strong=True),
                           Para(_v(d.get("summary")))]
    if d.get("evidence"):
        blocks += [Para("Evidence:"), Bullets(tuple(_v(e) for e in d["evidence"]))]
    blocks.append(Para(f"Remedy: {_v(d.get('remedy'))}"))
    return Section("Diagnosis", tuple(blocks), anchor="diagnosis")


def _timeline(doc: Mapping[str, Any]) -> Section:
    rows: list[tuple[str, ...]] = []
    for step in _steps(doc):
        rows.append((_time(step.get("started_at")), _v(step.get("title")), "step started", ""))
        for check in step.get("checks") or []:
            rows.append((_time(check.get("started_at")), _v(step.get("title")),
                         f"checked: {_v(check.get('title') or check.get('id'))}",
                         f"{_v(check.get('status'))}: {_v(check.get('summary'))}"))
        for answer in step.get("answers") or []:
            shown = _v(answer.get("answer")) if answer.get("status") == "answered" \
                else _v(answer.get("status"))
            rows.append((_time(answer.get("at")), _v(step.get("title")),
                         f"asked: {_v(answer.get('question'))}", shown))
        end = str(step.get("status")) + (f" ({step['reason']})" if step.get("reason") else "")
        rows.append((_time(step.get("finished_at")), _v(step.get("title")), "step ended",
                     _v(end)))
    for r in doc.get("resumed") or []:
        rows.append((_time(r.get("at")), _v(r.get("rerun_step")), "session resumed",
                     f"kept: {_v(r.get('kept_steps'))}; this step run again"))
    rows.sort(key=lambda row: row[0])
    return Section("Timeline", (Table(("time (UTC)", "step", "what", "result"), tuple(rows)),),
                   anchor="timeline")


def _evidence(doc: Mapping[str, Any]) -> list[Section]:
    sections = []
    for index, step in enumerate(_steps(doc), start=1):
        blocks: list[Block] = [Para(f"Status: {_v(step.get('status'))}"
                                    + (f" — {_v(step['reason'])}" if step.get("reason") else ""))]
        checks = step.get("checks") or []
        if checks:
            blocks.append(Table(("check", "status", "summary"), tuple(
                (_v(c.get("id")), _v(c.get("status")), _v(c.get("summary"))) for c in checks)))
        found = [f"{_v(f.get('code'))} ({_v(f.get('severity'))}): {_v(f.get('message'))}"
                 + "".join(f" · {_v(e)}" for e in f.get("evidence") or [])
                 for f in step.get("findings") or []]
        if found:
            blocks.append(Bullets(tuple(found)))
        sections.append(Section(f"Step {index} · {_v(step.get('title'))}", tuple(blocks),
                                level=3, anchor=f"step-{index}"))
    if sections:
        sections.insert(0, Section("Evidence by step", (), anchor="evidence"))
    return sections


def _open_items(doc: Mapping[str, Any]) -> Section:
    items = []
    for step in _steps(doc):
        title = _v(step.get("title"))
        for a in step.get("answers") or []:
            if a.get("status") == "pending":
                items.append(f"{title}: {_v(a.get('question'))} (nobody answered)")
        for c in step.get("checks") or []:
            if c.get("status") == "skipped" and "destructive" in str(c.get("summary")):
                items.append(f"{title}: {_v(c.get('title') or c.get('id'))} "
                             f"(not run: {_v(c.get('summary'))})")
            elif c.get("status") in ("error", "timeout"):
                items.append(f"{title}: {_v(c.get('id'))} could not finish "
                             f"({_v(c.get('summary'))}): check by hand")
        if step.get("finished_at") is None:
            items.append(f"{title}: the step did not finish (`troubleshooter resume`)")
    return Section("Open manual items", (Bullets(tuple(items)) if items else Para("None."),),
                   anchor="open-items")


def _next_steps(doc: Mapping[str, Any]) -> Section:
    remedies: list[str] = []
    d = doc.get("diagnosis")
    if d and d.get("remedy"):
        remedies.append(f"{_v(d.get('code'))}: {_v(d['remedy'])}")
    for f in doc.get("findings") or []:
        line = f"{_v(f.get('code'))}: {_v(f.get('remedy'))}"
        if f.get("severity") in ("error", "warning") and f.get("remedy") and line not in remedies:
            remedies.append(line)
    sup = doc.get("support") or {}
    if sup.get("contact") and doc.get("status") != "healthy":
        remedies.append(f"If this does not bring Redis back, escalate to {_v(sup['contact'])}.")
    return Section("Next steps", (Bullets(tuple(remedies)) if remedies
                                  else Para("Nothing to do: no problem was found."),),
                   anchor="next-steps")


def _support(doc: Mapping[str, Any]) -> Section | None:
    sup = doc.get("support")
    bundles = [f for f in doc.get("findings") or [] if f.get("code") == "support.bundle_written"]
    if not sup and not bundles:
        return None
    sup = sup or {}
    facts = tuple((label, _v(sup.get(key))) for label, key in
                  (("Contact", "contact"), ("Where", "where"), ("Say", "notes")) if sup.get(key))
    blocks: list[Block] = [Facts(facts)] if facts else []
    attach = [_v(a) for a in sup.get("attach") or []]
    attach += [f"the support bundle: {_v(e)}" for f in bundles for e in f.get("evidence") or []]
    if attach:
        blocks += [Para("Attach:"), Bullets(tuple(attach))]
    return Section("Support", tuple(blocks), anchor="support")


def _steps(doc: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return [s for s in doc.get("steps") or [] if isinstance(s, Mapping)]
