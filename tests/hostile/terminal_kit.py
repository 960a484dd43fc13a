"""Hostile text and a scanner for terminal output: which bytes did we not write?"""

from __future__ import annotations

import re

# Every kind of sequence a value from outside could carry, and rich markup.
PAYLOADS = {
    "csi_clear": "\x1b[2J\x1b[H",
    "sgr": "\x1b[31mred\x1b[0m",
    "osc_title": "\x1b]0;pwned\x07",
    "osc8_link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "bel": "ding\x07",
    "backspace": "abc\x08\x08\x08xyz",
    "carriage_return": "secret\rshown",
    "c1_csi": "\x9b2J",
    "c1_osc": "\x9d0;t\x9c",
    "bidi": "\u202eevil\u202c\u2066x\u2069",
    "nul_del": "a\x00b\x7fc",
    "newline": "one\nNo problem found.",
    "markup_red": "[red]red[/red]",
    "markup_close": "[/x]",
    "markup_link": "[link=http://evil.example/]click[/link]",
    "markup_trailing_backslash": "path\\",
    "markup_bold_open": "[bold]",
}

# The fake all-clear a queue name once printed over a cleared screen.
FAKE_HEALTHY = "\x1b[2J\x1b[H\x1b[32mNo problem found. Redis is healthy.\x1b[0m\x1b]0;pwned\x07"
EVERYTHING = "".join(PAYLOADS.values()) + FAKE_HEALTHY

# What rich writes of its own: colours and styles, and the spinner's line redraws.
OURS = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*[AK]|\r\n|\r(?=\x1b\[(2K|1A))")
C1_AND_BIDI = re.compile("[\x80-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def foreign_controls(output: str) -> list[str]:
    """Every control character in `output` that is not part of a sequence we write ourselves
    (newlines and tabs are layout), with a little context."""
    rest = OURS.sub("", output)
    found = [m for m in re.finditer(r"[\x00-\x08\x0b-\x1f\x7f]", rest)]
    found += list(C1_AND_BIDI.finditer(rest))
    return [repr(rest[max(0, m.start() - 20): m.end() + 20]) for m in found]
