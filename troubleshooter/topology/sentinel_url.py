"""`redis+sentinel://[user:pass@]host:port[,host:port...]/MASTER_NAME[/DB]` (and `rediss+`).

The form RQ's docs and most Sentinel-aware clients use. The password in the userinfo is the
master's; a Sentinel that requires its own password gets `?sentinel_password=` (or
`--sentinel-password`).
"""

from __future__ import annotations

from dataclasses import field
from urllib.parse import parse_qs, unquote

from troubleshooter.frozen import frozen
from troubleshooter.lazyre import lazy_compile

SENTINEL_SCHEMES = {"redis+sentinel": "redis", "rediss+sentinel": "rediss"}
DEFAULT_SENTINEL_PORT = 26379

_HOSTPORT = lazy_compile(
    r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[^:\[\]/]+))(?::(?P<port>\d+))?$")


@frozen
class SentinelSpec:
    """What a Sentinel URL names: the sentinels, the master's name and how to talk to both."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    data_scheme: str  # redis or rediss: how to talk to the resolved master
    db: int = 0
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def addresses(self) -> list[str]:
        return [f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels]


class SentinelUrlError(ValueError):
    """The Sentinel URL cannot be used; the message names what is wrong (never a secret)."""


def parse_sentinel_url(url: str) -> tuple[SentinelSpec, str | None, str | None, dict[str, str]]:
    """The spec, the master's username and password, and the query (first value of each)."""
    scheme, _, rest = url.partition("://")
    rest, _, query_text = rest.partition("?")
    if "#" in rest:
        raise SentinelUrlError("the URL ends in a `#...` fragment: remove it or percent-encode "
                               "`#` in the password (%23)")
    query = {k: v[0] for k, v in parse_qs(query_text).items()}
    authority, _, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if not at:
        userinfo, hosts = "", authority
    username = password = None
    if userinfo:
        user, colon, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if colon and pw else None
    sentinels = tuple(_hostport(item) for item in hosts.split(","))
    names = [p for p in path.split("/") if p]
    if not names:
        raise SentinelUrlError("a Sentinel URL names the master after the hosts: "
                               f"{scheme}://host:26379/mymaster")
    if len(names) > 2 or (len(names) == 2 and not names[1].isdigit()):
        raise SentinelUrlError("the path must be /MASTER_NAME or /MASTER_NAME/DB")
    db_text = query.get("db", names[1] if len(names) == 2 else "0")
    if not db_text.isdigit():
        raise SentinelUrlError(f"the database index {db_text!r} is not a non-negative integer")
    spec = SentinelSpec(sentinels, unquote(names[0]), SENTINEL_SCHEMES[scheme], int(db_text),
                        query.get("sentinel_password") or None)
    return spec, username, password, query


def _hostport(item: str) -> tuple[str, int]:
    m = _HOSTPORT.match(item.strip())
    if not item.strip() or not m:
        raise SentinelUrlError(f"{item!r} is not a host:port of a Sentinel")
    port = int(m["port"]) if m["port"] else DEFAULT_SENTINEL_PORT
    if not 0 < port < 65536:
        raise SentinelUrlError(f"the Sentinel port {port} is not between 1 and 65535")
    return (m["v6"] or m["host"]), port
