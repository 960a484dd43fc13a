"""The untrusted-text boundary: no control or bidi character survives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from troubleshooter.sanitize import shorten, visible


def test_escape_sequences_become_visible() -> None:
    assert visible("a\x1b]0;title\x07b") == "a\\x1b]0;title\\x07b"
    assert visible("\x9b31m") == "\\x9b31m"
    assert visible("x\ry") == "x\\x0dy"
    assert visible("l\u202eevil") == "l\\u202eevil"


def test_newlines_kept_only_when_asked() -> None:
    assert visible("a\nb\tc") == "a\\x0ab\\x09c"
    assert visible("a\nb\tc", multiline=True) == "a\nb\tc"


def test_shorten_quotes_at_most_the_limit() -> None:
    assert shorten("x" * 500, 80) == "x" * 79 + "…"
    assert shorten("ok") == "ok"


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    out = visible(text)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in out)
    assert not any(c in out for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_shorten_quoted_cuts_only_long_quoted_values() -> None:
    from troubleshooter.sanitize import shorten_quoted

    long = repr("y" * 300)
    assert shorten_quoted(f"default {long} is not one") == f"default '{'y' * 77}…' is not one"
    assert shorten_quoted("got 'short' and \"also\"") == "got 'short' and \"also\""
    assert shorten_quoted(repr("it's " * 40)) == '"' + ("it's " * 40)[:77] + '…"'
