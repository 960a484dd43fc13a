"""Steps 4 and 5 in the terminal: the configuration sources side by side, how the services are
run here (with the manual walk-through when nothing can restart them), and the restart plan.

Built from a check's data only. Every value came from outside (files, /proc, Redis): it passes
`visible()` and is drawn as the kit's `Text`, never as markup. URLs arrive masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from troubleshooter.sanitize import visible
from troubleshooter.ui.console import Screen, as_screen
from troubleshooter.ui.kit import Table, Text
from troubleshooter.ui.safe import indented

if TYPE_CHECKING:
    from rich.console import Console

    from troubleshooter.session import CheckRecord

MAX_ROWS = 30


def render_extra(output: Screen | Console, record: CheckRecord) -> None:
    """What a step 4 / step 5 check has to show beyond its one line, if anything."""
    console = as_screen(output)
    if record.status in ("skipped", "error", "timeout") and record.kind != "config_sources":
        return
    show = EXTRAS.get(record.kind)
    if show is not None and record.data:
        show(console, record.data)


def _cell(value: Any, style: str = "") -> Text:
    return Text(visible(str(value)) if value not in (None, "") else "–", style=style)


def sources_table(data: Mapping[str, Any]) -> Table:
    """One row per source: where it comes from, the Redis it names, its queues, and the
    endpoints its process is really connected to."""
    table = Table(header_style="bold", boxed=False)
    for column in ("source", "Redis (secrets masked)", "queues", "connected to"):
        table.add_column(column, overflow="fold")
    target = data.get("target") or {}
    queue = target.get("app_queue") or ""
    table.add_row(_cell(f"this run ({target.get('source', '?')})", "bold"),
                  _cell(target.get("url")), _cell(queue), _cell(""))
    rows = list(data.get("sources") or [])
    for row in rows[:MAX_ROWS]:
        url = row.get("url") or row.get("rest_url")
        where = row.get("url_from") or ""
        shown = Text(visible(str(url)) if url else "–")
        if where:
            shown.append(f"  ({visible(where)})", style="dim")
        queues = ", ".join(row.get("queues") or [])
        qfrom = row.get("queues_from") or ""
        qtext = Text(visible(queues) if queues else "–")
        if queues and qfrom:
            qtext.append(f"  ({visible(qfrom)})", style="dim")
        table.add_row(_cell(row.get("name")), shown, qtext,
                      _cell(", ".join(row.get("connected_to") or [])))
    if len(rows) > MAX_ROWS:
        table.add_row(_cell(f"… and {len(rows) - MAX_ROWS} more", "dim"), "", "", "")
    return table


def _render_sources(console: Screen, data: Mapping[str, Any]) -> None:
    console.print(sources_table(data))
    for line in [*(data.get("problems") or []), *(data.get("notes") or [])][:10]:
        indented(console, str(line), 6, "dim")


def _render_services(console: Screen, data: Mapping[str, Any]) -> None:
    for label in ("redis", "workers"):
        service = data.get(label) or {}
        head = Text(f"      {'Redis' if label == 'redis' else 'Workers'}: ", style="bold")
        head.append(visible(str(service.get("evidence") or "not found")))
        console.print(head)
        if service.get("restart"):
            indented(console, f"restart with: {' '.join(service['restart'])}", 8)
        else:
            for i, step in enumerate(service.get("manual") or [], 1):
                indented(console, f"{i}. {step}", 8)
    for note in (data.get("notes") or [])[:5]:
        indented(console, str(note), 6, "dim")
    plan = data.get("plan") or []
    if plan:
        title = "would run (dry run, nothing is run):" if data.get("dry_run") else "plan:"
        console.print(Text(f"      {title}", style="bold"))
        for item in plan:
            indented(console, f"{item['what']}: {item['command']}", 8)
    elif data.get("dry_run"):
        console.print(Text("      dry run: the evidence calls for no restart; nothing would run",
                           style="dim"))


def _render_restart(console: Screen, data: Mapping[str, Any]) -> None:
    output = str(data.get("output") or "").splitlines()[-5:]
    for line in output:
        console.print(Text(f"      | {visible(line)}", style="dim"))


EXTRAS: dict[str, Callable[[Screen, Mapping[str, Any]], None]] = {
    "config_sources": _render_sources,
    "service_detect": _render_services,
    "service_restart": _render_restart,
}
