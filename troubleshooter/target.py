"""The Redis target: where the URL comes from, what it says, and what is wrong with it.

A malformed URL is not a usage error: it is very often the outage itself (a pasted invisible
character, an unencoded `#` in a password), so parsing returns a precise problem that the
`redis_url` check turns into a `config.*` finding.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import field, replace
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qs, unquote, unquote_plus, urlsplit

from troubleshooter.frozen import frozen
from troubleshooter.lazyre import lazy_compile

if TYPE_CHECKING:
    from troubleshooter.topology.sentinel_url import SentinelSpec

DEFAULT_URL = "redis://localhost:6379/0"
# Where an app's Redis URL comes from, in the order rq's own CLI reads them.
URL_SOURCES = ("RQ_REDIS_URL", "REDIS_URL")
SCHEMES = ("redis", "rediss", "unix")
# The schemes of topology.sentinel_url.SENTINEL_SCHEMES (a test holds them equal): that module
# loads only for a Sentinel URL.
SENTINEL_PREFIXES = ("redis+sentinel://", "rediss+sentinel://")


@frozen
class UrlProblem:
    """Why a URL cannot be used: a finding code and a one-line explanation (no secrets)."""

    code: str
    message: str


@frozen
class Target:
    """A parsed Redis URL. `password` is never shown: use `redacted` for display."""

    url: str = field(repr=False)
    source: str
    scheme: str = "redis"
    host: str = ""
    port: int = 6379
    path: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    query: Mapping[str, str] = field(default_factory=dict, repr=False)
    problem: UrlProblem | None = None
    # Where the password came from: "url", "url query", "$REDISCLI_AUTH", "--password-file",
    # "--ask-password"; "" when there is none.
    password_source: str = ""
    # A redis+sentinel:// target: the sentinels and the master's name. Once the sentinels are
    # asked (topology.resolve), host and port are the master's and `resolved_by` says who said so.
    sentinel: SentinelSpec | None = None
    resolved_by: tuple[str, ...] = ()
    # Characters stripped from the URL's ends (redis-py ignores them): a warning, not a problem.
    warning: str = ""

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    @property
    def is_unix(self) -> bool:
        return self.scheme == "unix"

    @property
    def address(self) -> str:
        """`host:port`, or the socket path: what network-level messages name."""
        if self.problem is not None:
            return "(no usable address: the URL is malformed)"
        if self.is_unix:
            return self.path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Everything in the URL that may be a password, even when the URL does not parse."""
        sentinel_pw = self.sentinel.sentinel_password if self.sentinel else None
        return tuple(dict.fromkeys(
            s for s in (self.password, sentinel_pw, *url_secrets(self.url)) if s))

    @property
    def redacted(self) -> str:
        text = redact_url(self.url)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.redacted,
            "source": self.source,
            "scheme": self.scheme,
            "host": self.host,
            "port": self.port,
            "path": self.path,
            "db": self.db,
            "username": self.username,
            "password_set": bool(self.password),
            # Only for a Sentinel URL: `when: "target.sentinel"` is false on any other.
            **({"sentinel": self._sentinel_dict()} if self.sentinel else {}),
        }

    def _sentinel_dict(self) -> dict[str, object]:
        assert self.sentinel is not None
        return {"sentinels": self.sentinel.addresses, "master_name": self.sentinel.master_name,
                "master": self.address if self.resolved_by else None,
                "resolved_by": list(self.resolved_by)}


# A URL's start, to the `:` that ends its user: `scheme://user:`. The scheme is short (a bounded
# run, so a long run of letters costs each position 31 steps at most, not the rest of the run).
_URL_HEAD = lazy_compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,30}://)(?P<user>[^:@/\s]*):",
                         re.IGNORECASE)
_AT_OR_SPACE = lazy_compile(r"[@\s]")
_SPACE_OR_QUOTE = lazy_compile(r"[\s\"']")


class _Next:
    """Where `pattern` next matches at or after a position (len(text) if nowhere), asked for
    positions that only grow: each part of the text is searched once."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.pattern, self.text = pattern, text
        self.start = self.found = -1

    def at(self, pos: int) -> int:
        if not self.start <= pos <= self.found:
            match = self.pattern.search(self.text, pos)
            self.start, self.found = pos, match.start() if match else len(self.text)
        return self.found


def _userinfos(text: str) -> list[tuple[re.Match[str], int]]:
    """Each URL password in `text`: the URL's head (scheme, user) and where its password ends.

    The password runs to the URL's last `@`: an unencoded `@`, `#` or `/` in it must not leave
    its tail readable (`redis://:p@ss/x@h` is masked whole, not as `:***@ss/x@h`). A URL ends at
    a space, or a quote after its first `@`; an `@` later in its path or query masks too much of
    it, which is harmless. Linear in the text's length, whatever it holds."""
    at_or_space, space_or_quote = _Next(_AT_OR_SPACE, text), _Next(_SPACE_OR_QUOTE, text)
    found: list[tuple[re.Match[str], int]] = []
    done = 0
    for head in _URL_HEAD.finditer(text):
        if head.start() < done:
            continue  # inside the password of the URL before
        first = at_or_space.at(head.end())
        if first == len(text) or text[first] != "@":
            continue
        last = text.rfind("@", first, space_or_quote.at(first))
        found.append((head, last))
        done = last + 1
    return found


# redis-py also takes the password from the query (`?password=...`), as parse_qs reads it; a
# Sentinel URL may carry `?sentinel_password=`.
_QUERY_PASSWORD = lazy_compile(r"(?P<key>[?&](?:sentinel_)?password=)(?P<pw>[^&#\s\"']*)")


def redact_url(text: str) -> str:
    """Replace the password of every URL in `text` (userinfo or `?password=`) with `***`."""
    parts, kept = [], 0
    for head, end in _userinfos(text):
        if end > head.end():  # an empty password (`redis://user:@host`) has nothing to hide
            parts += [text[kept:head.end()], "***"]
            kept = end
    text = "".join([*parts, text[kept:]])
    return _QUERY_PASSWORD.sub(lambda m: f"{m['key']}***" if m["pw"] else m[0], text)


def url_passwords(text: str) -> list[str]:
    """Every password written in a URL in `text`, as written and decoded."""
    found = [text[head.end():end] for head, end in _userinfos(text) if end > head.end()]
    decoded = [unquote(pw) for pw in found]
    query = [m["pw"] for m in _QUERY_PASSWORD.finditer(text) if m["pw"]]
    decoded += [unquote_plus(pw) for pw in query]
    return list(dict.fromkeys(found + query + decoded))


def url_secrets(url: str) -> list[str]:
    """The password of a URL however malformed (a space, an unencoded `@` or `#`): what lies
    between the userinfo's first `:` and the last `@`, as written and percent-decoded.

    Over-masking an odd URL is harmless; showing a password that merely failed to parse is not.
    """
    found = url_passwords(url)
    _, sep, rest = url.strip().partition("://")
    userinfo = rest.rpartition("@")[0] if sep else ""
    if ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        found += [password, unquote(password)]
    return [p for p in dict.fromkeys(found) if p]


def resolve_url(cli_url: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The URL to diagnose and where it came from: --url, RQ_REDIS_URL, REDIS_URL, default."""
    if cli_url is not None:
        return cli_url, "--url"
    for name in URL_SOURCES:
        if environ.get(name):
            return environ[name], name
    return DEFAULT_URL, "default"


_INVISIBLE = {"Cf", "Zl", "Zp", "Cc"}
_CONTROL_NAMES = {"\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}
# What may be stripped from the ends of a URL (see strip_ends): the invisible and any space.
_AT_ENDS = {*_INVISIBLE, "Zs"}
# `export REDIS_URL=...`, `REDIS_URL=...`, `redis-cli -u ...` pasted along with the URL.
_PREFIX = lazy_compile(r"^\s*((?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*|redis-cli\s+(?:-u\s+)?)")
_QUOTES = lazy_compile(r"^\s*[\"']|[\"']\s*$")


def _char_name(ch: str) -> str:
    return _CONTROL_NAMES.get(ch) or str(unicodedata.name(ch, "a control character"))


# Whitespace and invisible characters at the ends of a URL: strip and warn, or refuse.
# A REDIS_URL pasted into a platform's settings often carries a trailing newline or U+2028.
# redis-py (and so `rq worker`) reads many of those URLs exactly as if the character were not
# there; refusing them would skip every check while the real outage goes unseen. A URL is
# refused only when redis-py would read it differently from the stripped one (or not at all).
def strip_ends(url: str) -> tuple[str, str]:
    """(the URL to use, a warning or ""): the stripped URL when redis-py reads both alike,
    else the URL unchanged (its problem is then reported as before)."""
    start, end = 0, len(url)
    while start < end and _at_end(url[start]):
        start += 1
    while end > start and _at_end(url[end - 1]):
        end -= 1
    stripped = url[start:end]
    if stripped == url or not stripped:
        return url, ""
    if not _redis_py_reads_alike(url, stripped):
        return url, ""
    cut = url[:start] + url[end:]
    names = ", ".join(dict.fromkeys(f"U+{ord(ch):04X} ({_char_name(ch)})" for ch in cut))
    where = ("start and end" if start and end < len(url) else "start" if start else "end")
    return stripped, (f"the URL has {len(cut)} invisible or whitespace character(s) at its "
                      f"{where}: {names}; redis-py and RQ ignore them, so the checks go on "
                      "with the URL stripped; remove them from the setting")


def _at_end(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in _AT_ENDS


def _redis_py_reads_alike(url: str, stripped: str) -> bool:
    from redis.connection import parse_url

    try:
        return bool(parse_url(url) == parse_url(stripped))  # type: ignore[no-untyped-call]
    except ValueError:
        return False


def _text_problem(url: str) -> UrlProblem | None:
    """What is wrong with the URL as text, before it is parsed."""
    for i, ch in enumerate(url):
        cat = unicodedata.category(ch)
        if cat in _INVISIBLE or (ch.isspace() and ch != " ") or ch == "\u00a0":
            return UrlProblem(
                "config.malformed_url",
                f"the URL contains an invisible character U+{ord(ch):04X} ({_char_name(ch)}) at "
                f"position {i}",
            )
    prefix = _PREFIX.match(url)
    if prefix:
        return UrlProblem("config.malformed_url",
                          f"the value starts with a pasted `{prefix[1].strip()}`: remove it, the "
                          "URL must begin with redis://, rediss:// or unix://")
    if _QUOTES.search(url):
        return UrlProblem("config.malformed_url",
                          "the URL is wrapped in quotes that became part of the value: remove them")
    if url != url.strip():
        return UrlProblem("config.malformed_url", "the URL has leading or trailing whitespace")
    if " " in url:
        return UrlProblem("config.malformed_url", "the URL contains a space")
    return None


def _scheme_problem(url: str, parts: SplitResult) -> UrlProblem | None:
    scheme = url[:len(parts.scheme)]  # as written: urlsplit lower-cases it, redis-py does not
    if scheme.lower() in ("http", "https"):
        return UrlProblem("config.not_redis_url",
                          f"{scheme.lower()}:// is an HTTP (REST) endpoint; redis-py and RQ need "
                          "redis:// or rediss://")
    if scheme.lower() in SCHEMES and scheme not in SCHEMES:
        return UrlProblem("config.malformed_url",
                          f"`{scheme}://` must be lower case: redis-py accepts only redis://, "
                          "rediss:// and unix://")
    if scheme in SCHEMES and not url.startswith(f"{scheme}://"):
        return UrlProblem("config.malformed_url",
                          f"the URL must start with {scheme}:// (with two slashes)")
    if scheme not in SCHEMES:
        # `localhost:6379` parses as scheme "localhost": what is missing is the scheme.
        shown = f"`{scheme}://`" if "://" in url else "no scheme"
        return UrlProblem("config.malformed_url",
                          f"{shown}: the URL must start with redis://, rediss:// or unix://")
    return None


def _authority_problem(url: str, parts: SplitResult) -> UrlProblem | None:
    """Special characters of a password that was not percent-encoded, and a bad port."""
    if _password_cut_short(url, parts):
        return UrlProblem("config.malformed_url",
                          "the password contains `/`, `?` or `#`, which cut the URL short: "
                          "percent-encode them (%2F, %3F, %23)")
    if "#" in url:
        return UrlProblem("config.malformed_url",
                          "the URL ends in a `#...` fragment, which Redis URLs do not have: "
                          "remove it")
    # An unencoded `@` in the password is not a problem for redis-py (and so RQ): it splits
    # the user info at the last `@`, as urllib does.
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        return UrlProblem("config.malformed_url",
                          "the port is not a number between 1 and 65535")
    return None


def _password_cut_short(url: str, parts: SplitResult) -> bool:
    """`redis://:pa/ss@h`: the host part ends at the `/`, and the `@` lands in the path."""
    if parts.scheme == "unix":  # unix:// paths may hold `@`; their password is in the query
        return False
    rest = url.split("://", 1)[-1]
    userinfo = rest[:rest.rfind("@")] if "@" in rest else ""
    return ":" in userinfo and any(ch in userinfo for ch in "/?#")


def _db_text(parts: SplitResult, query: Mapping[str, str]) -> str:
    """The db as redis-py reads it: `?db=` wins over the path; unix:// has only `?db=`."""
    if "db" in query:
        return query["db"]
    if parts.scheme == "unix":
        return "0"
    return parts.path.lstrip("/") or "0"


def parse_target(url: str, source: str = "--url") -> Target:
    """Parse a Redis URL; a URL that cannot be used comes back with `problem` set."""

    def bad(problem: UrlProblem) -> Target:
        return Target(url=url, source=source, problem=problem)

    if not url.strip():
        return bad(UrlProblem("config.missing", f"the Redis URL from {source} is empty"))
    stripped, warning = strip_ends(url)
    if warning:
        return replace(parse_target(stripped, source), warning=warning)
    unsendable = encoding_problem(url, "the URL")
    if unsendable:
        return bad(UrlProblem("config.malformed_url",
                              f"{unsendable}: re-type it, percent-encoding the password"))
    problem = _text_problem(url)
    if problem:
        return bad(problem)
    if is_sentinel_url(url):
        return _sentinel_target(url, source)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return bad(UrlProblem("config.malformed_url", f"the URL does not parse: {exc}"))
    problem = _scheme_problem(url, parts) or _authority_problem(url, parts)
    if problem:
        return bad(problem)
    if parts.scheme == "unix" and not parts.path:
        return bad(UrlProblem("config.malformed_url", "a unix:// URL needs a socket path"))
    if parts.scheme != "unix" and not parts.hostname:
        return bad(UrlProblem("config.malformed_url", "the URL has no host name"))
    # redis-py reads the first of repeated query parameters.
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    db_text = _db_text(parts, query)
    if not re.fullmatch(r"[0-9]+", db_text):
        effect = "redis-py refuses the URL" if "db" in query else "redis-py would silently use db 0"
        return bad(UrlProblem("config.malformed_url",
                              f"the database index {db_text!r} is not a non-negative integer "
                              f"({effect})"))
    unix = parts.scheme == "unix"
    # As redis-py reads them: the userinfo wins over `?username=` / `?password=`.
    password, password_source = unquote(parts.password or ""), "url"
    if not password and query.get("password"):
        password, password_source = query["password"], "url query"
    return Target(
        url=url,
        source=source,
        scheme=parts.scheme,
        host="" if unix else (parts.hostname or ""),
        port=parts.port or 6379,
        path=parts.path if unix else "",
        db=int(db_text),
        username=unquote(parts.username or "") or query.get("username") or None,
        password=password or None,
        query=query,
        password_source=password_source if password else "",
    )


def with_password(target: Target, password: str, source: str) -> Target:
    """`target` authenticating with `password` (from a file, a prompt, the environment)."""
    return replace(target, password=password, password_source=source)


# redis-cli reads it; on-call engineers export it to use redis-cli without `-a`.
CLI_PASSWORD_ENV = "REDISCLI_AUTH"


def password_from_env(target: Target, environ: Mapping[str, str]) -> Target:
    """`target` with $REDISCLI_AUTH as its password when its URL has none."""
    password = environ.get(CLI_PASSWORD_ENV)
    if target.password or not password or target.problem is not None:
        return target
    return with_password(target, password, f"${CLI_PASSWORD_ENV}")


def encoding_problem(text: str, what: str) -> str | None:
    """Why `text` cannot be sent: bytes that are not UTF-8 in argv, the environment or a file
    (Python keeps them as lone surrogates) make redis-py fail with UnicodeEncodeError."""
    for i, ch in enumerate(text):
        if 0xD800 <= ord(ch) <= 0xDFFF:
            byte = f"byte 0x{ord(ch) - 0xDC00:02X}" if ord(ch) >= 0xDC80 else "lone surrogate"
            return (f"{what} is not UTF-8 text ({byte} at position {i}): redis-py cannot "
                    "send it (UnicodeEncodeError)")
    return None


def is_sentinel_url(url: str) -> bool:
    return url.startswith(SENTINEL_PREFIXES)


def _sentinel_target(url: str, source: str) -> Target:
    """A Sentinel URL, not yet resolved: host and port are the first sentinel's."""
    from troubleshooter.topology.sentinel_url import SentinelUrlError, parse_sentinel_url

    try:
        spec, username, password, query = parse_sentinel_url(url)
    except SentinelUrlError as exc:
        return Target(url=url, source=source,
                      problem=UrlProblem("config.malformed_url", str(exc)))
    host, port = spec.sentinels[0]
    return Target(url=url, source=source, scheme=url.split("://", 1)[0], host=host, port=port,
                  db=spec.db, username=username, password=password, query=query, sentinel=spec,
                  password_source="url" if password else "")
