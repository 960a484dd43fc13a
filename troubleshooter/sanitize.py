"""The one boundary for untrusted text on its way to a person.

Everything read from outside (Redis replies, keys and values, server errors, log lines, playbook
and answers files, URLs) passes `visible()` before rich or the transcript's human text sees it:
control characters (C0, DEL, C1 - ESC, CSI 0x9B, OSC, BEL, backspace, carriage return...) and
bidi overrides become visible escapes such as `\\x1b`, so no byte we did not write reaches the
terminal. Rich markup is a second, separate risk: render untrusted text as `rich.text.Text` (or
`rich.markup.escape()` it), never as a markup string. JSON keeps the exact value.
"""

from __future__ import annotations

import re

from troubleshooter.lazyre import lazy_compile

# Tab and newline are layout, kept where the caller allows them; everything else in C0, DEL and
# C1, plus the Unicode bidi controls and line/paragraph separators, is made visible.
_UNSAFE = lazy_compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_INLINE = lazy_compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, multiline: bool = False) -> str:
    """`text` with every control and bidi character replaced by a visible escape.

    `multiline=True` keeps newlines and tabs (a log excerpt, guidance); otherwise they are
    escaped too, so one value stays on one line.
    """
    pattern = _UNSAFE if multiline else _UNSAFE_INLINE
    return pattern.sub(_escape, text)


def shorten(text: str, limit: int = 80) -> str:
    """At most `limit` characters of `text` (made visible), with an ellipsis when cut: for
    quoting an offending value in a one-line error."""
    shown = visible(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


# A quoted value in a message: 'single' or "double", with backslash escapes as repr() makes them.
_QUOTED = lazy_compile(r"'(?:[^'\\\n]|\\.)*'" "|" r'"(?:[^"\\\n]|\\.)*"')


def shorten_quoted(message: str, limit: int = 80) -> str:
    """`message` with every quoted value longer than `limit` cut to `limit` (quotes kept): for
    messages built around `repr()` of a value of any length."""
    def cut(match: re.Match[str]) -> str:
        quoted = match.group()
        if len(quoted) <= limit:
            return quoted
        return quoted[: limit - 2] + "…" + quoted[-1]

    return _QUOTED.sub(cut, message)


# What json.dumps(ensure_ascii=False) leaves raw that a terminal may act on: C1 and bidi.
_JSON_UNSAFE = lazy_compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_for_terminal(document: str) -> str:
    """A JSON document with C1 and bidi characters written as `\\uXXXX` escapes: the same
    values to any JSON reader, and nothing a terminal acts on when it is printed. (JSON escapes
    C0 itself; these characters can only occur inside strings.)"""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
