"""What the wizard draws, as plain data: styled text, panels, tables, Markdown.

The renderer builds these instead of rich's objects, so a run whose output is a file or a pipe
can be drawn without importing rich (`ui.plainscreen`, ~30 ms of start-up); on a terminal each
becomes the rich object of the same name (`__rich__`, which rich calls when it prints one) and
rich draws it. The constructors take the arguments of rich's that the wizard uses, with the
same meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Span = tuple[str, str]  # (text, style)


class Text:
    """Text made of styled spans; no markup is ever read from it."""

    __slots__ = ("spans",)

    def __init__(self, text: str = "", style: str = "") -> None:
        self.spans: list[Span] = [(text, style)] if text else []

    def append(self, text: str, style: str = "") -> Text:
        if text:
            self.spans.append((text, style))
        return self

    def join(self, lines: Iterable[Text]) -> Text:
        made = Text()
        for i, line in enumerate(lines):
            if i:
                made.spans += self.spans
            made.spans += line.spans
        return made

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.spans)

    def __rich__(self) -> Any:
        from rich.text import Text as RichText

        made = RichText()
        for text, style in self.spans:
            made.append(text, style=style)
        return made

    def __repr__(self) -> str:
        return f"Text({self.plain!r})"


class Panel:
    """A box around `body`, as wide as its text (rich's `Panel(..., expand=False)`)."""

    def __init__(self, body: Text, *, title: str | None = None, style: str = "",
                 border_style: str = "") -> None:
        self.body, self.title, self.style, self.border_style = body, title, style, border_style

    def __rich__(self) -> Any:
        from rich.panel import Panel as RichPanel

        return RichPanel(self.body.__rich__(), title=self.title, style=self.style,
                         border_style=self.border_style, expand=False)


Cell = Text | str


class Table:
    """Columns sized to their contents: rich's `Table` with a heavy-headed box, or no box
    (`boxed=False`), one cell of padding each side."""

    def __init__(self, *, title: str | None = None, title_justify: str = "center",
                 header_style: str = "", boxed: bool = True) -> None:
        self.title, self.title_justify = title, title_justify
        self.header_style, self.boxed = header_style, boxed
        self.columns: list[tuple[str, str | None]] = []  # (header, overflow)
        self.rows: list[tuple[Cell, ...]] = []

    def add_column(self, header: str, overflow: str | None = None) -> None:
        self.columns.append((header, overflow))

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(cells)

    def __rich__(self) -> Any:
        from rich import box
        from rich.table import Table as RichTable

        made = RichTable(title=self.title, title_justify=self.title_justify,  # type: ignore[arg-type]
                         header_style=self.header_style or None,
                         box=box.HEAVY_HEAD if self.boxed else None, padding=(0, 1))
        for header, overflow in self.columns:  # rich's default overflow: "ellipsis"
            made.add_column(header, overflow=overflow or "ellipsis")  # type: ignore[arg-type]
        for row in self.rows:
            made.add_row(*(cell.__rich__() if isinstance(cell, Text) else cell for cell in row))
        return made


class Markdown:
    """Markdown text (the playbook's guidance), links shown as text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich__(self) -> Any:
        from rich.markdown import Markdown as RichMarkdown

        return RichMarkdown(self.text, hyperlinks=False)


def to_rich(value: Any) -> Any:
    """The rich object for one of ours; anything else as it is."""
    return value.__rich__() if isinstance(value, (Text, Panel, Table, Markdown)) else value
