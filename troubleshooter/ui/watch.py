"""One line per `watch` round, and the closing line."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from troubleshooter.sanitize import visible
from troubleshooter.watch import Round, WatchResult

_STYLE = {"healthy": "green", "problems": "red", "incomplete": "yellow"}


def round_line(r: Round) -> Text:
    """`12:01:05  +3.0 s  problems  server.unresponsive  (+server.unresponsive)`"""
    line = Text()
    line.append(f"{r.at[11:19]}  +{r.elapsed_s:5.1f} s  ", style="dim")
    line.append(f"{r.status:<10}", style=_STYLE.get(r.status, ""))
    line.append(f"  {visible(r.diagnosis or '-')}")
    changes = [f"+{c}" for c in r.added] + [f"-{c}" for c in r.removed]
    if changes and r.number > 1:
        line.append(f"  ({', '.join(changes)})", style="dim")
    elif r.number > 1:
        line.append("  (no change)", style="dim")
    return line


def closing_line(result: WatchResult, max_time: float) -> Text:
    rounds = len(result.rounds)
    if result.healthy and result.recovered_after_s:
        return Text(f"Recovered: healthy after {result.recovered_after_s:.1f} s "
                    f"({rounds} rounds).", style="green")
    if result.healthy:
        return Text("Healthy at the first round: nothing to wait for.", style="green")
    last = result.rounds[-1] if result.rounds else None
    what = visible(last.diagnosis or last.status) if last else "no round ran"
    return Text(f"Still not healthy after {max_time:g} s ({rounds} rounds): {what}.",
                style="red")


def print_round(console: Any, r: Round) -> None:
    console.print(round_line(r), soft_wrap=True, highlight=False)
