"""The incident report (`reportdoc.Report`) as Markdown."""

from __future__ import annotations

import re

from troubleshooter.reportdoc import Block, Bullets, Facts, Para, Report, Table

# Characters a Markdown renderer would read as formatting or raw HTML.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def esc(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def markdown(report: Report) -> str:
    lines = [f"# {esc(report.title)}", ""]
    for section in report.sections:
        lines += [f"{'#' * section.level} {esc(section.title)}", ""]
        for block in section.blocks:
            lines += [*_block(block), ""]
    return "\n".join(lines).rstrip() + "\n"


def _block(block: Block) -> list[str]:
    if isinstance(block, Para):
        return [f"**{esc(block.text)}**" if block.strong else esc(block.text)]
    if isinstance(block, Facts):
        return [f"- **{esc(label)}:** {esc(value)}" for label, value in block.items]
    if isinstance(block, Bullets):
        return [f"- {esc(item)}" for item in block.items]
    return _table(block)


def _table(table: Table) -> list[str]:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(esc(c) for c in cells) + " |"

    return [row(table.headers), "|" + "|".join(" --- " for _ in table.headers) + "|",
            *(row(r) for r in table.rows)]
