"""The Redis target: where the URL comes from, what it says, and what is wrong with it.

A malformed URL is not a usage error: it is very often the outage itself (a pasted invisible
character, an unencoded `#` in a password), so parsing returns a precise problem that the
`redis_url` check turns into a `config.*` finding.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_URL = "redis://localhost:6379/0"
# Where an app's Redis URL comes from, in the order rq's own CLI reads them.
URL_SOURCES = ("RQ_REDIS_URL", "REDIS_URL")
SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class UrlProblem:
    """Why a URL cannot be used: a finding code and a one-line explanation (no secrets)."""

    code: str
    message: str


@dataclass(frozen=True)
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
    query: Mapping[str, str] = field(default_factory=dict)
    problem: UrlProblem | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    @property
    def is_unix(self) -> bool:
        return self.scheme == "unix"

    @property
    def address(self) -> str:
        """`host:port`, or the socket path: what network-level messages name."""
        if self.is_unix:
            return self.path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def redacted(self) -> str:
        return redact_url(self.url)

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
        }


_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@\s]*)@",
                       re.IGNORECASE)


def redact_url(text: str) -> str:
    """Replace the password of every URL in `text` with `***`."""
    return _USERINFO.sub(
        lambda m: f"{m['scheme']}{m['user']}:***@" if m["pw"] else m[0], text
    )


def resolve_url(cli_url: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The URL to diagnose and where it came from: --url, RQ_REDIS_URL, REDIS_URL, default."""
    if cli_url is not None:
        return cli_url, "--url"
    for name in URL_SOURCES:
        if environ.get(name):
            return environ[name], name
    return DEFAULT_URL, "default"


_INVISIBLE = {"Cf", "Zl", "Zp", "Cc"}
_PREFIX = re.compile(
    r"^\s*(export\s+)?([A-Z_][A-Z0-9_]*\s*=\s*|redis-cli\s+(-u\s+)?)|^[\"']|[\"']$"
)


def _invisible_problem(url: str) -> UrlProblem | None:
    for i, ch in enumerate(url):
        cat = unicodedata.category(ch)
        if cat in _INVISIBLE or (ch.isspace() and ch != " ") or ch == "\u00a0":
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            return UrlProblem(
                "config.malformed_url",
                f"the URL contains an invisible character U+{ord(ch):04X} ({name}) at position {i}",
            )
    if url != url.strip():
        return UrlProblem("config.malformed_url", "the URL has leading or trailing whitespace")
    if " " in url:
        return UrlProblem("config.malformed_url", "the URL contains a space")
    return None


def parse_target(url: str, source: str = "--url") -> Target:
    """Parse a Redis URL; a URL that cannot be used comes back with `problem` set."""

    def bad(code: str, message: str) -> Target:
        return Target(url=url, source=source, problem=UrlProblem(code, message))

    if not url.strip():
        return bad("config.missing", f"the Redis URL from {source} is empty")
    problem = _invisible_problem(url)
    if problem:
        return Target(url=url, source=source, problem=problem)
    if _PREFIX.search(url):
        return bad("config.malformed_url",
                   "the URL carries a pasted prefix or quotes (e.g. `REDIS_URL=` or `redis-cli -u`)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return bad("config.malformed_url", f"the URL does not parse: {exc}")
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return bad("config.not_redis_url",
                   f"{scheme}:// is an HTTP (REST) endpoint; redis-py and RQ need redis:// or rediss://")
    if scheme not in SCHEMES:
        shown = f"`{scheme}://`" if scheme else "no scheme"
        return bad("config.malformed_url",
                   f"{shown}: the URL must start with redis://, rediss:// or unix://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.fragment or "#" in url:
        return bad("config.malformed_url",
                   "the URL contains `#`: a password with special characters must be percent-encoded")
    netloc = parts.netloc
    if netloc.count("@") > 1:
        return bad("config.malformed_url",
                   "the URL contains more than one `@`: percent-encode `@` in the password as %40")
    try:
        port = parts.port
    except ValueError:
        return bad("config.malformed_url", "the port is not a number between 0 and 65535")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if scheme == "unix":
        if not parts.path:
            return bad("config.malformed_url", "a unix:// URL needs a socket path")
        db_text = query.get("db", "0")
        path, host = parts.path, ""
    else:
        if not parts.hostname:
            return bad("config.malformed_url", "the URL has no host name")
        db_text = parts.path.lstrip("/") or query.get("db", "0")
        path, host = "", parts.hostname
    if not re.fullmatch(r"\d+", db_text):
        return bad("config.malformed_url",
                   f"the database index {db_text!r} is not a non-negative integer "
                   "(redis-py would silently use db 0)")
    return Target(
        url=url,
        source=source,
        scheme=scheme,
        host=host,
        port=port if port is not None else 6379,
        path=path,
        db=int(db_text),
        username=username or None,
        password=password or None,
        query=query,
    )
