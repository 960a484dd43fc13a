"""`lazy_compile`: a regular expression compiled the first time it is used.

Compiling a pattern costs 0.1-0.6 ms (a Unicode character class, a long alternation); a
module-level pattern that only an error, a rare URL form or a log line needs is paid by every
start-up. The object stands for the compiled pattern: its first attribute read compiles it, and
each attribute read is then kept on the object, so later calls cost what the pattern's own do.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast


class _Lazy:
    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._source: tuple[Any, int] = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only for what is not kept yet
        compiled = re.compile(*self._source)
        value = getattr(compiled, name)
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"lazy_compile({self._source[0]!r})"


def lazy_compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """`re.compile(pattern, flags)`, done when the pattern is first used."""
    return cast("re.Pattern[AnyStr]", _Lazy(pattern, flags))
