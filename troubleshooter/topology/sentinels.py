"""Asking Sentinels what they know, each in parallel with its own time limit, no retries.

Used twice: before the run, to resolve the master a `redis+sentinel://` URL names (every server
and RQ check then runs against it), and by the `sentinel_status` check, which looks closer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from troubleshooter.frozen import frozen
from troubleshooter.parallel import first_line, in_parallel
from troubleshooter.target import Target

if TYPE_CHECKING:
    import redis

    from troubleshooter.topology.sentinel_url import SentinelSpec

# Sentinel replies are small; anything larger is not a Sentinel talking.
_MAX_ITEMS = 4096


@frozen
class SentinelView:
    """One Sentinel's answer: its address, whether it answered, and what it says of the master."""

    address: str
    error: str | None = None  # why it did not answer (refused, timeout, auth...)
    error_kind: str | None = None  # unreachable | auth | unknown_master | other
    master: str | None = None  # host:port it calls master
    flags: tuple[str, ...] = ()
    quorum: str | None = None  # CKQUORUM's reply (+OK ... or NOQUORUM ...)
    quorum_ok: bool | None = None
    fields: dict[str, str] = field(default_factory=dict)
    replicas: tuple[dict[str, str], ...] = ()

    @property
    def answered(self) -> bool:
        return self.error is None


def sentinel_client(spec: SentinelSpec, host: str, port: int, timeout: float) -> redis.Redis:
    from troubleshooter.redisclient import make_client

    scheme = "rediss" if spec.data_scheme == "rediss" else "redis"
    node = Target(url=f"{scheme}://{host}:{port}", source="sentinel", scheme=scheme, host=host,
                  port=port, password=spec.sentinel_password)
    # RESP2: a Sentinel older than 6 has no HELLO; no CLIENT SETNAME either.
    return make_client(node, timeout, protocol=2, client_name="")


def ask(spec: SentinelSpec, host: str, port: int, timeout: float,
        detail: bool = False) -> SentinelView:
    """What the Sentinel at host:port says of `spec.master_name` (with `detail`: flags, quorum
    and replicas too)."""
    import redis

    from troubleshooter.checks.server.link import command

    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    client = sentinel_client(spec, host, port, timeout)
    try:
        reply = command(client, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", spec.master_name)
        if not reply:
            return SentinelView(address, f"does not know a master named {spec.master_name!r}",
                                "unknown_master")
        master = f"{_text(reply[0])}:{_text(reply[1])}"
        if not detail:
            return SentinelView(address, master=master)
        return _detail(client, spec.master_name, address, master)
    except redis.AuthenticationError as exc:
        return SentinelView(address, f"refused our credentials: {first_line(exc)}", "auth")
    except redis.ResponseError as exc:
        kind = "auth" if "NOAUTH" in str(exc) or "uthentication" in str(exc) else "other"
        return SentinelView(address, first_line(exc), kind)
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        return SentinelView(address, first_line(exc), "unreachable")
    finally:
        client.close()


def _detail(client: redis.Redis, name: str, address: str, master: str) -> SentinelView:
    import redis

    from troubleshooter.checks.server.link import command

    fields = _pairs(command(client, "SENTINEL", "MASTER", name))
    try:
        quorum = _text(command(client, "SENTINEL", "CKQUORUM", name))
        quorum_ok = True
    except redis.ResponseError as exc:
        quorum, quorum_ok = str(exc), False
    raw = command(client, "SENTINEL", "REPLICAS", name) or []
    replicas = tuple(_pairs(r) for r in list(raw)[:_MAX_ITEMS])
    flags = tuple(f for f in fields.get("flags", "").split(",") if f)
    return SentinelView(address, master=master, flags=flags, quorum=quorum, quorum_ok=quorum_ok,
                        fields=fields, replicas=replicas)


def _pairs(reply: Any) -> dict[str, str]:
    items = list(reply or [])[: 2 * _MAX_ITEMS]
    return {_text(items[i]): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _text(value: Any) -> str:
    from troubleshooter.checks.server.link import text

    return text(value)[:1024]


def ask_all(spec: SentinelSpec, timeout: float, detail: bool = False) -> list[SentinelView]:
    """Every sentinel of the spec, in parallel; one that overruns is reported as a timeout."""
    views = in_parallel(list(spec.sentinels),
                        lambda hp: ask(spec, hp[0], hp[1], timeout, detail), timeout + 0.5)
    return [v if isinstance(v, SentinelView) else SentinelView(
                spec.addresses[i], first_line(v) if v else f"no answer within {timeout:g} s",
                "other" if v else "unreachable") for i, v in enumerate(views)]


def majority_master(views: Sequence[SentinelView]) -> tuple[str | None, list[str]]:
    """The address most answering sentinels call master, and the sentinels that say so."""
    named = Counter(v.master for v in views if v.master)
    if not named:
        return None, []
    master, _ = named.most_common(1)[0]
    return master, [v.address for v in views if v.master == master]


def resolve(target: Target, timeout: float) -> Target:
    """For a `redis+sentinel://` target: the same target pointed at the master the sentinels
    name (host, port, scheme), or with a problem saying why no master could be found. Any other
    target comes back unchanged."""
    from troubleshooter.target import UrlProblem

    spec = target.sentinel
    if spec is None or target.problem is not None:
        return target
    views = ask_all(spec, timeout)
    master, by = majority_master(views)
    if master is None:
        reasons = "; ".join(f"{v.address} {v.error}" for v in views)[:400]
        kinds = {v.error_kind for v in views}
        code, hint = (("server.sentinel_unknown_master", "") if "unknown_master" in kinds else
                      ("server.auth_required", " (the Sentinels need their own password: "
                       "?sentinel_password= or --sentinel-password)") if "auth" in kinds else
                      ("server.sentinel_unreachable", ""))
        return replace(target, problem=UrlProblem(
            code, f"no Sentinel named a master for {spec.master_name!r}: {reasons}{hint}"))
    host, _, port = master.rpartition(":")
    return replace(target, scheme=spec.data_scheme, host=host.strip("[]"), port=int(port),
                   resolved_by=tuple(by))
