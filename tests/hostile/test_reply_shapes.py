"""Well-framed replies of a shape no Redis sends (ACL GETUSER answered with a number, INFO
with text where counts belong, a map keyed by an array): every server check still returns a
pass or a finding, never "the check crashed"."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.checks.server_kit import dump, run
from tests.hostile.server import HostileServer, Script, Scripted, bulk, healthy

SHAPES: dict[str, dict[bytes, Scripted]] = {
    "acl-integer": {b"ACL": b":5\r\n"},
    "acl-flags-integer": {b"ACL": b"%2\r\n$5\r\nflags\r\n:1\r\n$8\r\ncommands\r\n:3\r\n"},
    "acl-resp2-odd": {b"ACL": b"*3\r\n$5\r\nflags\r\n*0\r\n$4\r\nkeys\r\n"},
    "acl-resp2-array-keys": {b"ACL": b"*2\r\n*0\r\n$1\r\nx\r\n"},
    "acl-status": {b"ACL": b"+OK\r\n"},
    "acl-weird-rules": {b"ACL": b"%3\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$8\r\ncommands\r\n"
                                b"$5\r\n+@all\r\n$4\r\nkeys\r\n:1\r\n"},
    "multi-integer": {b"MULTI": b":1\r\n", b"ACL": b"-NOPERM no\r\n"},
    "config-integer": {b"CONFIG": b":1\r\n"},
    "config-odd-array": {b"CONFIG": b"*3\r\n:1\r\n:2\r\n:3\r\n"},
    "config-array-key": {b"CONFIG": b"%1\r\n*1\r\n:1\r\n:2\r\n"},
    "info-nonsense": {b"INFO": bulk(
        b"blocked_clients:5\r\ncluster_enabled:1\r\nrole:slave\r\nmaster_link_status:down\r\n"
        b"used_memory:abc\r\nmaxmemory:1,2\r\nredis_version:x.y\r\nuptime_in_seconds:-5\r\n"
        b"loading:1\r\nmaxmemory_policy:allkeys-lru\r\nconnected_clients:a=b\r\nmaxclients:0\r\n"
        b"db0:keys=x,expires=0\r\n")},
    "ping-integer": {b"PING": b":1\r\n"},
    "ping-map": {b"PING": b"%0\r\n"},
    "hello-odd-map": {b"HELLO": b"%2\r\n:1\r\n*0\r\n$5\r\nproto\r\n:3\r\n"},
    "set-array": {b"SET": b"*1\r\n:1\r\n"},
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_server_check_classifies(hostile: Callable[[Script], HostileServer],
                                       shape: str) -> None:
    server = hostile(healthy(SHAPES[shape]))
    for kind in ("redis_ping", "redis_info", "acl_probe", "write_probe"):
        outcome = run(kind, server.url)
        assert outcome.status != "error", f"{kind}: {dump(outcome)}"
