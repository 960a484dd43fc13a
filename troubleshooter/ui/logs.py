"""A log scan on screen: per signature its count, first and last seen, files and samples, and a
per-minute timeline of the errors (bars) where a glance beats reading.

Every byte from a log passes `sanitize.visible` and is drawn as the kit's `Text`, never as
markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from troubleshooter.checks.logs.api import Match, ScanResult
from troubleshooter.checks.logs.timestamps import clock
from troubleshooter.sanitize import visible
from troubleshooter.session import CheckRecord
from troubleshooter.ui.kit import Text

if TYPE_CHECKING:
    from rich.console import Console

    from troubleshooter.ui.console import Screen

STYLES = {"error": "red", "warning": "yellow", "info": "cyan"}
TIMELINE_ROWS = 30
BAR_WIDTH = 40


def render_scan(console: Console, result: ScanResult) -> None:
    """The whole result: sources, matches, timeline, notes."""
    window = f" since {clock(result.since)}" if result.since is not None else ""
    read = f"{len(result.read)} source(s) read{window}"
    if result.older:
        read += f", {len(result.older)} older than the window"
    console.print(Text(f"{read} · {result.bytes / 1e6:,.1f} MB in {result.elapsed_s:.2f} s "
                       f"({result.engine})", style="dim"))
    if not result.matches and result.read:
        console.print(Text("No Redis error signature matched.", style="green"))
    for m in result.matches:
        render_match(console, m)
    render_timeline(console, [m for m in result.matches if m.signature.severity != "info"])
    for note in result.notes:
        # Paths people copy: never wrapped.
        console.print(Text(f"note: {visible(note)}", style="magenta"), soft_wrap=True)


def render_match(console: Console, m: Match) -> None:
    from rich.table import Table

    style = STYLES.get(m.signature.severity, "white")
    head = Text()
    head.append(f"{m.signature.code}", style=f"bold {style}")
    head.append(f"  {m.signature.title}: ")
    head.append(f"{m.count:,}", style="bold")
    head.append(" line" if m.count == 1 else " lines")
    console.print(head)
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    span = f"{clock(m.first_seen)} → {clock(m.last_seen)}"
    if m.untimed:
        span += f" ({m.untimed} without a time)"
    table.add_row("seen", span)
    files = ", ".join(f"{visible(name)} ({count})" for name, count in list(m.files.items())[:5])
    if len(m.files) > 5:
        files += f" and {len(m.files) - 5} more"
    table.add_row("in", Text(files))
    if m.signature.corroborates:
        table.add_row("means", m.signature.corroborates)
    for sample in m.samples:
        table.add_row("e.g.", Text(visible(sample)))
    console.print(table)


def render_timeline(console: Console, matches: Iterable[Match]) -> None:
    """Errors and warnings per minute over the last TIMELINE_ROWS minutes that had any."""
    per_minute: Counter[int] = Counter()
    for m in matches:
        per_minute.update(m.minutes)
    if per_minute:
        _bars(console, per_minute)


def _bars(console: Console | Screen, per_minute: Counter[int], indent: str = "") -> None:
    last = max(per_minute)
    first = max(min(per_minute), last - TIMELINE_ROWS + 1)
    peak = max(per_minute[minute] for minute in range(first, last + 1)) or 1
    console.print(Text(f"{indent}per minute", style="bold"))
    for minute in range(first, last + 1):
        count = per_minute.get(minute, 0)
        row = Text(indent + datetime.fromtimestamp(minute * 60).strftime("%H:%M") + " ",
                   style="dim")
        width = round(count / peak * BAR_WIDTH)
        row.append("█" * width if count else "·", style="red" if count else "dim")
        if count:
            row.append(f" {count:,}")
        console.print(row)
    hidden = sum(v for k, v in per_minute.items() if k < first)
    if hidden:
        console.print(Text(f"{indent}(and {hidden:,} earlier lines)", style="dim"))


def render_record(console: Console | Screen, record: CheckRecord) -> None:
    """A log_scan check in the wizard: one line per matched signature, its first sample, and
    the per-minute timeline, under the check's own line."""
    matched = record.data.get("matched") if isinstance(record.data, dict) else None
    if not isinstance(matched, dict) or not matched:
        return
    severities = {f.code: f.severity for f in record.findings}
    per_minute: Counter[int] = Counter()
    for code, ev in matched.items():
        style = STYLES.get(severities.get(code, "info"), "white")
        row = Text("      ")
        row.append(code, style=style)
        row.append(f"  {ev.get('count', 0):,} lines  {_clock(ev.get('first_seen'))} → "
                   f"{_clock(ev.get('last_seen'))}  ")
        row.append(visible(", ".join(ev.get("files", {}))), style="dim")
        console.print(row)
        samples = ev.get("samples") or []
        if samples:
            # Wrapped, as rich drew it when this asked for one cut line (rich ignored that).
            console.print(Text(f"        e.g. {visible(str(samples[0]))[:300]}", style="dim"))
        if severities.get(code) != "info":
            per_minute.update({int(k): int(v) for k, v in ev.get("minutes", {}).items()})
    if per_minute:
        _bars(console, per_minute, indent="      ")


def _clock(value: object) -> str:
    if not isinstance(value, str):
        return "time unknown"
    try:
        return clock(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return visible(value)
