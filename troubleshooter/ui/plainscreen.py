"""The wizard drawn into a file or a pipe without rich: the same characters rich would write.

Where output is not a terminal, rich writes no colour and no cursor movement: only text wrapped
at the width, boxes and rules. This draws the kit's objects (`ui.kit`) the way rich lays them
out in that case, for the text it can measure without rich's tables (printable ASCII, Latin-1
and the symbols the wizard uses, each one cell wide), so a run into a pipe skips rich's import
(~30 ms). Anything else (a wide or combining character, a tab, a table wider than the page,
Markdown, a rich object) is handed to a rich console on the same stream, made on first need;
the two write the same bytes (tests/test_plainscreen.py compares them on many inputs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from troubleshooter.ui.kit import Panel, Table, Text

if TYPE_CHECKING:
    from troubleshooter.ui.console import RichScreen

# One cell each, in rich's measure too (a test checks every one against rich.cells).
NARROW = frozenset(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA0, 0x100) if c != 0xAD]  # Latin-1, but the soft hyphen
    + [chr(c) for c in range(0x2500, 0x25A0)]  # box drawing, block elements
    + list("‐‒–—―‘’‚“”„†‡•…‰′″‹›←↑→↓✓✔✗✘")
)
# rich's own word pattern is \s*\S+\s*: from each position of a long run of spaces it reads the
# rest of the run (its length squared). Leading spaces are read once here (possessively), and a
# line of spaces alone is one match, which breaks nothing, as it breaks nothing for rich.
_WORD = re.compile(r"\s*+\S+\s*|\s+$")
_TRAILING_SPACE = re.compile(r"\s+$")


def narrow(text: str) -> bool:
    return NARROW.issuperset(text)


def _breaks(text: str, width: int, fold: bool = True) -> list[int]:
    """Where rich breaks one line of narrow text to fit `width` (rich._wrap.divide_line): a word
    that does not fit goes to the next line, a word wider than the line is cut into pieces of
    `width` (`fold`) or left whole on its own line; a word keeps the spaces after it."""
    breaks: list[int] = []
    used = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - used >= length:
            used += len(word)
        elif length > width and not fold:
            if start:
                breaks.append(start)
            used = len(word)
        elif length > width:
            pieces = [word[i:i + width] for i in range(0, len(word), width)]
            for i, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if i == len(pieces) - 1:
                    used = len(piece)
                else:
                    start += len(piece)
        elif used and start:
            breaks.append(start)
            used = len(word)
    return breaks


def wrap(text: str, width: int, fold: bool = True) -> list[str]:
    """Narrow, tab-free `text` in lines of at most `width`, as rich's `Text.wrap` makes them
    (a line still too long is cut: with "…" when not `fold`)."""
    lines: list[str] = []
    for line in text.split("\n"):
        edges = [0, *_breaks(line, width, fold), len(line)]
        for start, end in zip(edges, edges[1:], strict=False):
            piece = line[start:end]
            if len(piece) > width:  # spaces past the edge go, then anything still past it
                spaces = _TRAILING_SPACE.search(piece)
                if spaces is not None:
                    piece = piece[:len(piece) - min(len(spaces.group()), len(piece) - width)]
                if len(piece) > width:
                    piece = piece[:width] if fold else piece[:width - 1] + "…"
            lines.append(piece)
    return lines


class Unsupported(Exception):
    """What this cannot lay out exactly as rich would: the rich console draws it."""


class PlainScreen:
    """Draws into a stream that is not a terminal, as a rich Console of that width would."""

    is_terminal = False

    def __init__(self, stream: IO[str], width: int, encoding: str,
                 fallback: Callable[[], RichScreen]) -> None:
        self.stream, self.width, self.encoding = stream, width, encoding
        self._make_fallback = fallback
        self._fallback: RichScreen | None = None

    def rich(self) -> RichScreen:
        """The rich console on the same stream, for what is not drawn here."""
        if self._fallback is None:
            self._fallback = self._make_fallback()
        return self._fallback

    def print(self, *objects: Any, soft_wrap: bool = False) -> None:
        try:
            lines = [] if not objects else self._lines(objects, soft_wrap)
        except Unsupported:
            self.rich().print(*objects, soft_wrap=soft_wrap)
            return
        self.stream.write("".join(f"{line}\n" for line in lines) if lines else "\n")

    def rule(self, title: Text, align: str = "left") -> None:
        text = title.plain.replace("\n", " ")
        if align != "left" or not narrow(text) or "\t" in text or self.width < 3:
            self.rich().rule(title, align=align)
            return
        if len(text) > self.width - 2:
            text = text[:self.width - 3] + "…"
        self.stream.write(f"{text} " + "─" * (self.width - len(text) - 1) + "\n")

    def hanging(self, mark: Text, body: Text) -> None:
        """`mark` then `body`, the body's wrapped lines under its first character."""
        head, text = mark.plain, body.plain
        if not narrow(head + text) or "\t" in head + text:
            self.rich().hanging(mark, body)
            return
        width = max(self.width - len(head), 20)
        if len(text) <= width and "\n" not in text:
            self.print(Text(head + text))
            return
        lines = [(head if i == 0 else " " * len(head)) + line.rstrip()
                 for i, line in enumerate(wrap(text, width))]
        self.print(Text("\n".join(lines)))

    def _lines(self, objects: tuple[Any, ...], soft_wrap: bool) -> list[str]:
        if len(objects) != 1:
            raise Unsupported
        item = objects[0]
        if isinstance(item, Text):
            return self._text(item.plain, soft_wrap)
        if soft_wrap:
            raise Unsupported
        if isinstance(item, Panel):
            return self._panel(item)
        if isinstance(item, Table):
            return self._table(item)
        raise Unsupported

    def _text(self, text: str, soft_wrap: bool) -> list[str]:
        if not narrow(text.replace("\n", "")) or "\t" in text:
            raise Unsupported
        return text.split("\n") if soft_wrap else wrap(text, self.width)

    def _panel(self, panel: Panel) -> list[str]:
        """rich's Panel(expand=False): rounded box, one space of padding each side, the title
        centred in the top edge."""
        body, title = panel.body.plain, panel.title
        if not narrow(body.replace("\n", "") + (title or "")) or "\t" in body or \
                (title is not None and ("[" in title or "\n" in title)) or self.width < 6:
            raise Unsupported
        longest = max((len(line) for line in body.splitlines()), default=0)
        inner = min(longest, self.width - 4) + 2 if longest else 2  # measured with padding
        if title:
            inner = min(self.width - 2, max(inner, len(title) + 4))
        content = inner - 2
        # No room inside (an empty body, no title): rich draws no line there at all.
        lines = [f"│ {line.ljust(content)} │" for line in wrap(body, content)] if content else []
        edge = "─" * inner
        top = f"╭{edge}╮"
        if title:
            shown = f" {title} "[:inner - 2]
            excess = inner - 2 - len(shown)
            top = "╭─" + "─" * (excess // 2) + shown + "─" * (excess - excess // 2) + "─╮"
        return [top, *lines, f"╰{edge}╯"]

    def _table(self, table: Table) -> list[str]:
        """rich's Table: a heavy-headed box (or none), one space of padding each side of every
        cell, no row lines; columns as wide as their widest cell, narrowed as rich narrows
        them when the page is too small, their cells wrapped (folded or cut with "…")."""
        header = [h for h, _ in table.columns]
        rows = [[c.plain if isinstance(c, Text) else c for c in row] for row in table.rows]
        cells = [header, *rows]
        text = "".join("".join(row) for row in cells) + (table.title or "")
        if (not table.columns or not rows or any(len(r) != len(header) for r in rows)
                or not narrow(text) or any(c in text for c in "\n\t[")
                or (table.title and table.title_justify != "left")):
            raise Unsupported
        extra = len(header) + 1 if table.boxed else 0
        room = self.width - extra
        if room < 3 * len(header):
            raise Unsupported
        widths = [min(max(min(len(row[i]), room - 2) + 2 for row in cells), room)
                  for i in range(len(header))]
        if sum(widths) > room:
            widths = _narrowed(widths, room)
        if min(widths) < 3:
            raise Unsupported
        total = sum(widths) + extra
        folds = [overflow == "fold" for _, overflow in table.columns]

        def row_lines(row: list[str], bar: str, bottom: bool = False) -> list[str]:
            """A row's lines: each cell wrapped to its column, at the top of the row (the
            header's at the bottom)."""
            wrapped = [wrap(cell, w - 2, fold) for cell, w, fold in zip(row, widths, folds,
                                                                          strict=True)]
            height = max(len(w) for w in wrapped)
            wrapped = [[""] * (height - len(w)) + w if bottom else w + [""] * (height - len(w))
                       for w in wrapped]
            lines = []
            for n in range(height):
                shown = [f" {w[n].ljust(width - 2)} "
                         for w, width in zip(wrapped, widths, strict=True)]
                lines.append(bar + bar.join(shown) + bar if table.boxed else "".join(shown))
            return lines

        def edge(left: str, fill: str, cross: str, right: str) -> str:
            return left + cross.join(fill * w for w in widths) + right

        lines = [t.ljust(total) for t in wrap(table.title, total)] if table.title else []
        if not table.boxed:
            return [*lines, *row_lines(header, "", bottom=True),
                    *(line for row in rows for line in row_lines(row, ""))]
        return [*lines, edge("┏", "━", "┳", "┓"), *row_lines(header, "┃", bottom=True),
                edge("┡", "━", "╇", "┩"), *(line for row in rows for line in row_lines(row, "│")),
                edge("└", "─", "┴", "┘")]


def _narrowed(widths: list[int], room: int) -> list[int]:
    """rich's Table._collapse_widths, then its last resort: the widest columns give way first,
    down to the next widest, until the table fits; then all of them evenly."""
    excess = sum(widths) - room
    while excess > 0:
        widest = max(widths)
        second = max((w for w in widths if w != widest), default=0)
        if widest == second:
            break
        ratios = [1 if w == widest else 0 for w in widths]
        widths = _reduce(excess, ratios, [min(excess, widest - second)] * len(widths), widths)
        excess = sum(widths) - room
    if excess > 0:
        widths = _reduce(excess, [1] * len(widths), widths, widths)
    return widths


def _reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take `total` from `values` in proportion to `ratios`, at most `maximums` from each
    (rich's ratio_reduce, rounding as it does)."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums, strict=True)]
    left_ratio, left = sum(ratios), total
    result = []
    for ratio, maximum, value in zip(ratios, maximums, values, strict=True):
        if ratio and left_ratio > 0:
            taken = min(maximum, round(ratio * left / left_ratio))
            result.append(value - taken)
            left -= taken
            left_ratio -= ratio
        else:
            result.append(value)
    return result
