"""The plain screen writes what rich writes into a file or a pipe: compared with a rich Console
of the same width on many generated inputs, and on a whole run."""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from rich.cells import cell_len

from troubleshooter.ui.console import RichScreen, make_console, make_screen
from troubleshooter.ui.kit import Panel, Table, Text
from troubleshooter.ui.plainscreen import NARROW, PlainScreen
from troubleshooter.ui.safe import hanging, indented

Draw = Callable[[PlainScreen | RichScreen], None]
WORDS = ["a", "Redis", "127.0.0.1:6379", "→", "–", "✓", "é", "x" * 25, "y" * 90, "", " ",
         "queue:orchestrator", "(0 ms)", "•", "…", "──", "naïve", "[dim]"]


def pair(width: int) -> tuple[PlainScreen, io.StringIO, RichScreen, io.StringIO]:
    mine, theirs = io.StringIO(), io.StringIO()
    fallback_used: list[int] = []

    def fallback() -> RichScreen:
        fallback_used.append(1)
        return RichScreen(make_console(mine, width=width))

    plain = PlainScreen(mine, width, "utf-8", fallback)
    return plain, mine, RichScreen(make_console(theirs, width=width)), theirs


def same(width: int, draw: Draw) -> None:
    plain, mine, rich, theirs = pair(width)
    draw(plain)
    draw(rich)
    assert mine.getvalue() == theirs.getvalue()


def sentence(rng: random.Random, words: int) -> str:
    seps = [" ", " ", " ", "  ", "\n"]
    return "".join(rng.choice(WORDS) + rng.choice(seps) for _ in range(words)).strip("\n")


def test_every_narrow_character_is_one_cell_for_rich() -> None:
    assert all(cell_len(c) == 1 for c in NARROW)


@pytest.mark.parametrize("seed", range(40))
def test_text_hanging_and_soft_wrap_as_rich(seed: int) -> None:
    rng = random.Random(seed)
    width = rng.choice([20, 21, 33, 40, 57, 80, 81, 120])
    for _ in range(6):
        body = sentence(rng, rng.randint(0, 30))
        lead = " " * rng.randint(0, 6)
        mark = f"  {rng.choice('✓!–')} "
        same(width, lambda s, b=body: s.print(Text(b, "bold")))
        same(width, lambda s, b=lead + body: s.print(Text(b)))
        same(width, lambda s, b=body: s.print(Text(b), soft_wrap=True))
        same(width, lambda s, b=body, m=mark: hanging(s, Text(m), Text(b)))
        same(width, lambda s, b=body: indented(s, b.replace("\n", " "), 8, "dim"))
        same(width, lambda s: s.print())


@pytest.mark.parametrize("seed", range(25))
def test_panels_and_rules_as_rich(seed: int) -> None:
    rng = random.Random(seed)
    width = rng.choice([20, 30, 45, 80, 100])
    for _ in range(4):
        body = Text("\n").join(Text(sentence(rng, rng.randint(0, 12)))
                               for _ in range(rng.randint(1, 4)))
        title = rng.choice([None, "troubleshooter", "Diagnosis", "why this matters",
                            "a rather long title for a narrow panel indeed"])
        panel = Panel(body, title=title, border_style="red")
        same(width, lambda s, p=panel: s.print(p))
        heading = Text(sentence(rng, rng.randint(1, 20)).replace("\n", " "), "bold")
        same(width, lambda s, h=heading: s.rule(h))


@pytest.mark.parametrize("seed", range(60))
def test_tables_as_rich(seed: int) -> None:
    rng = random.Random(seed)
    width = rng.choice([20, 25, 30, 40, 60, 80, 120])
    boxed = rng.random() < 0.6
    table = Table(title=rng.choice([None, "Summary"]), title_justify="left", boxed=boxed,
                  header_style="bold")
    columns = rng.randint(1, 4)
    for i in range(columns):
        table.add_column(rng.choice(["step", "status", "time", "findings", "source"]) + str(i),
                         overflow=rng.choice([None, "fold"]))
    for _ in range(rng.randint(1, 6)):
        table.add_row(*(Text(rng.choice(WORDS[:7] + ["network.refused, server.oom", "",
                                                      sentence(rng, rng.randint(1, 8)).replace(
                                                          "\n", " ")]))
                        if rng.random() < 0.8 else rng.choice(["", "–", "x"])
                        for _ in range(columns)))
    same(width, lambda s: s.print(table))


def test_what_it_cannot_measure_goes_to_rich_and_still_matches() -> None:
    plain, mine, rich, theirs = pair(40)
    for draw in (lambda s: s.print(Text("宽字符 " * 12)),
                 lambda s: s.print(Text("tab\there")),
                 lambda s: hanging(s, Text("  ✓ "), Text("emoji 🚀 " * 9)),
                 lambda s: s.print(Panel(Text("x" * 100), title="t"))):
        draw(plain)
        draw(rich)
    assert mine.getvalue() == theirs.getvalue()
    assert plain._fallback is not None  # rich drew the wide characters


def test_a_pipe_gets_the_plain_screen_unless_rich_is_told_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read, write = os.pipe()
    try:
        with open(write, "w", encoding="utf-8", closefd=False) as stream:
            assert isinstance(make_screen(stream), PlainScreen)
            monkeypatch.setenv("FORCE_COLOR", "1")
            assert isinstance(make_screen(stream), RichScreen)
            monkeypatch.delenv("FORCE_COLOR")
            assert isinstance(make_screen(stream, {"TTY_COMPATIBLE": "1"}), RichScreen)
            monkeypatch.setenv("COLUMNS", "10")  # a page rich treats specially
            assert isinstance(make_screen(stream), RichScreen)
        with open(write, "w", encoding="latin-1", closefd=False) as stream:
            monkeypatch.delenv("COLUMNS")
            assert isinstance(make_screen(stream), RichScreen)  # ASCII boxes: rich's
    finally:
        os.close(read)
        os.close(write)


def _masked(text: str) -> str:
    """The run's own times and ages, which differ between two runs."""
    text = re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "N", text)
    return re.sub(r"sessions/\S+", "sessions/S", text)


def test_a_whole_run_into_a_pipe_is_what_rich_writes_without_rich(redis_server: object,
                                                                   tmp_path: object) -> None:
    url = redis_server.url  # type: ignore[attr-defined]
    command = [sys.executable, "-X", "importtime", "-m", "troubleshooter", "run",
               "--non-interactive", "--timeout", "5", "--url", url]
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    plain = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    rich = subprocess.run(command, env={**env, "TTY_COMPATIBLE": "0"}, capture_output=True,
                          text=True, timeout=60)
    assert plain.returncode == rich.returncode
    assert "Summary" in plain.stdout and "Step 6/6" in plain.stdout
    assert _masked(plain.stdout) == _masked(rich.stdout)
    assert not re.search(r"\| +rich\b", plain.stderr)  # never imported
    assert re.search(r"\| +rich\b", rich.stderr)
