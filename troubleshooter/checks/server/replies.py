"""What several checks read from the same server, read once per run and shared.

INFO and CONFIG GET are the server's, not one check's: `redis_info` reads them, and the RQ
restart rules, the log discovery and `config_server` need parts of the same replies. Each is
kept on the run's connection to that server (`Link.remember`, connector.Facts): read by the
first check that asks, reused by the ones after, read again after anything that may have
changed the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.server.link import text

if TYPE_CHECKING:
    import redis

    from troubleshooter.checks.server.link import Link

# What INFO lacks, for every check that asks: one CONFIG GET on Redis >= 7 (older servers
# take one name per call).
CONFIG_NAMES = ("databases", "save", "stop-writes-on-bgsave-error", "replica-serve-stale-data",
                "min-replicas-to-write", "maxclients", "appendonly", "maxmemory-policy",
                "logfile", "dir")


def server_info(link: Link) -> dict[str, Any]:
    """INFO (the default sections) of the link's server."""
    info: dict[str, Any] = link.remember("INFO", link.client.info)
    return info


def server_info_if_allowed(link: Link) -> tuple[dict[str, Any], str]:
    """INFO as server_info reads it and "", or {} and why when it is refused to this user or
    renamed away: what needs INFO only for more detail goes on without it (RQ needs none)."""
    from redis.exceptions import ResponseError

    try:
        return server_info(link), ""
    except ResponseError as exc:
        if not refused(exc):
            raise
        return {}, str(exc)


def refused(exc: BaseException) -> bool:
    """Whether an error is the server refusing this user a command (NOPERM), or not having it
    (renamed away): about what the tool may read, not about what RQ needs."""
    from redis.exceptions import NoPermissionError, ResponseError

    return isinstance(exc, NoPermissionError) or (
        isinstance(exc, ResponseError) and str(exc).startswith("unknown command"))


def server_config(link: Link, info: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """CONFIG_NAMES as the server has them, and why not when CONFIG GET is refused ("" when
    read). `info` is the server's INFO (its version and mode decide how to ask)."""
    pairs: tuple[dict[str, str], str] = link.remember(
        "CONFIG", lambda: read_config(link.client, info))
    return pairs


def read_config(client: redis.Redis, info: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    import redis

    if info.get("redis_mode") == "sentinel":
        return {}, "a Sentinel has no CONFIG GET"
    major = _major(str(info.get("redis_version", "0")))
    try:
        if major >= 7:
            return _pairs(client.config_get(*CONFIG_NAMES)), ""
        config: dict[str, str] = {}
        for name in CONFIG_NAMES:
            config.update(_pairs(client.config_get(name)))
        return config, ""
    except redis.exceptions.ResponseError as exc:
        # NOPERM, or CONFIG renamed away (the usual on managed Redis).
        from troubleshooter.checks.server.errors import safe_text

        return {}, safe_text(exc)


def _pairs(reply: Mapping[Any, Any]) -> dict[str, str]:
    return {text(k): text(v) for k, v in reply.items()}


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0
