"""`lazy_compile` stands for the compiled pattern, compiles it once, and only when used."""

from __future__ import annotations

import re

from troubleshooter.lazyre import lazy_compile


def test_compiled_on_first_use_and_answers_as_the_pattern() -> None:
    pattern = lazy_compile(r"(?P<word>[a-z]+)-(\d+)", re.IGNORECASE)
    assert set(vars(pattern)) == {"_source"}  # nothing compiled yet
    compiled = re.compile(r"(?P<word>[a-z]+)-(\d+)", re.IGNORECASE)
    match = pattern.search("x ABC-12 y")
    assert match is not None and match.group("word") == "ABC"
    assert pattern.sub("<\\2>", "a-1 b-2") == compiled.sub("<\\2>", "a-1 b-2")
    assert pattern.pattern == compiled.pattern and pattern.flags == compiled.flags
    assert pattern.groupindex == compiled.groupindex


def test_bytes_patterns() -> None:
    pattern = lazy_compile(rb"-?[0-9]{1,3}")
    assert pattern.fullmatch(b"-12") and not pattern.fullmatch(b"1234")
