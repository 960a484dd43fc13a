"""A plain URL that names a replica: is a Sentinel watching it, and which node does it call
master? Sentinels announce themselves and the master they follow every 2 s on each monitored
node's `__sentinel__:hello` channel, so the node itself tells us, with no Sentinel address
given. The classic case: after a failover the app's REDIS_URL still names the old master, which
came back as a replica (READONLY on every write)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.link import command, own_client
from troubleshooter.findings import finding
from troubleshooter.frozen import frozen

if TYPE_CHECKING:
    import redis

CHANNEL = "__sentinel__:hello"
_MAX_MESSAGES = 50


@frozen
class Hello:
    sentinel: str
    master_name: str
    master: str


def parse_hello(data: bytes | str) -> Hello | None:
    """`ip,port,runid,epoch,master_name,master_ip,master_port,master_epoch` (8 fields)."""
    text = data[:1024].decode("utf-8", "replace") if isinstance(data, bytes) else data[:1024]
    parts = text.split(",")
    if len(parts) != 8 or not parts[1].isdigit() or not parts[6].isdigit():
        return None
    return Hello(f"{parts[0]}:{parts[1]}", parts[4], f"{parts[5]}:{parts[6]}")


def listen(client: redis.Redis, seconds: float) -> list[Hello]:
    """Hello messages heard within `seconds` (stops early once every sentinel heard twice)."""
    pubsub = cast(Any, client).pubsub(ignore_subscribe_messages=True)
    heard: list[Hello] = []
    try:
        pubsub.subscribe(CHANNEL)
        end = time.monotonic() + seconds
        while time.monotonic() < end and len(heard) < _MAX_MESSAGES:
            message = pubsub.get_message(timeout=max(end - time.monotonic(), 0.01))
            if message and message.get("type") == "message":
                hello = parse_hello(message["data"])
                if hello:
                    heard.append(hello)
                    if len(heard) > 2 * len({h.sentinel for h in heard}):
                        break
    finally:
        pubsub.close()
    return heard


def _sentinels_connected(client: redis.Redis) -> bool:
    """Sentinels subscribe to every node they watch with a connection named
    `sentinel-<id>-pubsub`: one cheap look saves listening on a node nobody watches. Where
    CLIENT LIST is denied, listen anyway."""
    import redis

    try:
        reply = command(client, "CLIENT", "LIST", "TYPE", "pubsub")
    except redis.ResponseError:
        return True
    listing = reply[:1_000_000] if isinstance(reply, bytes) else str(reply)[:1_000_000].encode()
    return b"name=sentinel-" in listing


def run_sentinel_hint(ctx: CheckContext) -> Outcome:
    if ctx.target.sentinel is not None:
        return Outcome("skipped", "the URL already goes through Sentinel")
    client = own_client(ctx, ctx.target, ctx.timeout, protocol=2, client_name="")
    try:
        if not _sentinels_connected(client):
            return Outcome("pass", f"no Sentinel is connected to {ctx.target.address}",
                           data={"sentinels": []})
        heard = listen(client, min(ctx.param("listen_s"), max(ctx.timeout * 0.8, 0.1)))
    finally:
        client.close()
    if not heard:
        return Outcome("pass", f"no Sentinel announces itself on {ctx.target.address}",
                       data={"sentinels": []})
    sentinels = sorted({h.sentinel for h in heard})
    masters = {h.master for h in heard}
    name = heard[0].master_name
    here = ctx.target.address
    data = {"sentinels": sentinels, "master_name": name, "masters": sorted(masters)}
    if here in masters:
        return Outcome("pass", f"{len(sentinels)} Sentinel(s) call {here} the master of "
                       f"{name!r}", data=data)
    master = sorted(masters)[0]
    url = f"redis+sentinel://{','.join(sentinels)}/{name}"
    return outcome_from([finding(
        "config.stale_master",
        f"the URL names {here}, but the Sentinels watching it call {master} the master of "
        f"{name!r}: the app points at a replica (an old master after a failover?)",
        *(f"{h.sentinel} announces master {h.master_name} at {h.master}"
          for h in heard[:5]),
        remedy=f"connect through Sentinel ({url}) so the app follows failovers, or point "
               f"the URL at {master}")], "", **data)
