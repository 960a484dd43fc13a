"""How the server checks open their one connection, and what they share about it.

`open_link` adds to `make_client` the two fallbacks a diagnostic needs so that it reports the
real problem instead of its own: RESP2 when the server does not know HELLO (Redis < 6), and no
client name when the ACL denies CLIENT SETNAME (RQ tolerates that denial too). redis is
imported lazily: this module is loaded by `validate` and `--help`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, cast

from troubleshooter.checks.base import MIN_TIMEOUT, Budget, CheckContext, Outcome, outcome_from
from troubleshooter.frozen import record
from troubleshooter.redisclient import make_client
from troubleshooter.target import Target

if TYPE_CHECKING:
    import redis

    from troubleshooter.connector import Connector, Facts

CLIENT_NAME = "troubleshooter"


@record
class Link:
    """One open connection: the client, the protocol it speaks, the HELLO reply (RESP3 only)
    and the workarounds it needed, as lines for `details`."""

    client: redis.Redis
    protocol: int
    hello: Mapping[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # A leased link gives its connection back to the run's connector instead of closing it.
    release: Callable[[], None] | None = None
    # The endpoint's replies shared by the run's checks (a link of its own keeps none).
    facts: Facts | None = None

    def remember(self, key: str, read: Callable[[], Any]) -> Any:
        """`read()`'s reply, or the one an earlier check of this run read under `key` on this
        endpoint (see connector.Facts: never across a change the run made or was told of)."""
        return read() if self.facts is None else self.facts.get(key, read)

    def close(self) -> None:
        self.client.close()  # a leased client does not own its pool: this closes nothing shared
        release, self.release = self.release, None
        if release is not None:
            release()


def open_link(
    source: CheckContext | Target, budget: Budget, *, protocol: int = 3, db: int | None = None,
    connector: Connector | None = None,
) -> Link:
    """Connect, authenticate and select the db; raise the redis error that stopped it.

    Given the check's context, the connection is the run's (`ctx.connector`): the first check
    to reach an endpoint does the handshake, the checks after and beside it reuse it. Given a
    bare Target (another identity, a server just restarted) or a context without a connector,
    a connection of its own; made by the run's `connector` when one is given, so that stopping
    the check past its limit closes it, as the end of the run does.
    `db` overrides the URL's database (redis_info reads INFO even when the URL's db is bad).
    """
    if isinstance(source, Target) or source.connector is None:
        target = source if isinstance(source, Target) else source.target
        make = make_client if connector is None else connector.make
        return _handshake(target, budget, protocol, db, make)
    return _lease(source.connector, source.target, budget, protocol, db)


def own_client(ctx: CheckContext, target: Target, timeout: float, **kwargs: Any) -> redis.Redis:
    """A client of its own to `target` (a cluster node, the server itself unnamed), made by the
    run's connector when there is one: stopping the check closes it (see open_link)."""
    make = make_client if ctx.connector is None else ctx.connector.make
    return make(target, timeout, **kwargs)


def _lease(connector: Connector, target: Target, budget: Budget, protocol: int,
           db: int | None) -> Link:
    import redis

    server = (target.scheme, target.host, target.port, target.path, target.username,
              target.password, tuple(sorted(target.query.items())))
    key = (*server, target.db if db is None else db, protocol)
    # Its reads end with this check's budget, whoever connected (never below MIN_TIMEOUT).
    connector.until(max(budget.end, time.monotonic() + MIN_TIMEOUT))
    try:
        entry = connector.shared(key)
        if entry is None:
            opening = connector.opening(key)
            if not opening.acquire(timeout=budget.left()):
                raise redis.exceptions.TimeoutError(
                    f"no connection to {target.address} within {budget.seconds:g} s "
                    "(another check was still connecting)")
            try:
                entry = connector.shared(key)
                if entry is None:
                    started = budget.clock()
                    first = _handshake(target, budget, protocol, db, connector.make)
                    entry = connector.share(key, first.client, first.protocol, first.hello,
                                            tuple(first.notes), budget.clock() - started,
                                            server)
            finally:
                opening.release()
        if not entry.slots.acquire(timeout=budget.left()):
            raise redis.exceptions.TimeoutError(
                f"no free connection to {target.address} within {budget.seconds:g} s "
                "(the other checks held them)")
    except BaseException:
        connector.until(None)
        raise
    # A client of its own over the shared pool: closing it leaves the pool open.
    client = redis.Redis(connection_pool=entry.client.connection_pool)
    slots = entry.slots

    def release() -> None:
        connector.until(None)
        slots.release()

    return Link(client, entry.protocol, entry.hello, list(entry.notes), release, entry.facts)


def _handshake(target: Target, budget: Budget, protocol: int, db: int | None,
               make: Callable[..., redis.Redis]) -> Link:
    import redis

    protocols = [3, 2] if protocol == 3 else [protocol]
    name, notes = CLIENT_NAME, []
    overrides = {} if db is None else {"db": db}
    while True:
        # As budget.left(): never less than MIN_TIMEOUT to connect, even on a spent budget.
        deadline = max(budget.end, time.monotonic() + MIN_TIMEOUT)
        client = make(target, budget.left(), protocol=protocols[0], client_name=name,
                      deadline=deadline, **overrides)
        try:
            conn = client.connection_pool.get_connection()
        except redis.exceptions.ResponseError as exc:
            client.close()
            if len(protocols) > 1 and _unknown_command(exc, "HELLO"):
                protocols.pop(0)
                notes.append("the server does not know HELLO (Redis < 6): fell back to RESP2")
                continue
            from troubleshooter.checks.server.errors import error_code

            if name and error_code(exc) == "NOPERM" and "client" in str(exc).lower():
                name = ""
                notes.append("CLIENT SETNAME is denied to this user: connected without a name")
                continue
            raise
        except BaseException:
            client.close()
            raise
        hello = _decoded(getattr(conn, "handshake_metadata", None) or {})
        client.connection_pool.release(conn)
        return Link(client, protocols[0], hello, notes)


def _unknown_command(exc: BaseException, command: str) -> bool:
    return f"unknown command '{command}'" in str(exc) or f"unknown command `{command}`" in str(exc)


def _decoded(reply: Mapping[Any, Any]) -> dict[str, Any]:
    return {text(k): text(v) if isinstance(v, bytes) else v for k, v in reply.items()}


def command(client: redis.Redis, *args: str | int) -> Any:
    """Run one command by name (redis-py's execute_command is untyped)."""
    return cast(Any, client).execute_command(*args)


def unexpected(command_name: str) -> Exception:
    """The error for a reply whose shape no Redis sends (ACL GETUSER answered with a number):
    a protocol violation, which every check reports as a finding."""
    from troubleshooter.boundedresp import ProtocolViolation

    return ProtocolViolation(f"its reply to {command_name} has an unexpected form")


def text(value: object) -> str:
    """A Redis reply value as text (replies are bytes: the clients do not decode)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def failure(ctx: CheckContext, exc: BaseException, doing: str, budget: Budget,
            protocol: int | None = None, **facts: Any) -> Outcome:
    """A redis error as the check's outcome: its finding, or "error" when it has no name.

    `facts` are added to the outcome's data.
    """
    from troubleshooter.checks.server.errors import classify, safe_text

    target = ctx.target
    when = f"{doing} after {budget.elapsed_ms():.1f} ms"
    if protocol:
        when += f" (RESP{protocol})"
    found = classify(exc, target.address, when, tls=target.tls, secrets=[target.password])
    data: dict[str, Any] = {"error": safe_text(exc, [target.password]), "failed_at": doing,
                            **facts}
    if protocol:
        data["protocol"] = protocol
    if found is None:
        return Outcome("error", f"{doing} {target.address} failed: {data['error']}", data=data)
    return outcome_from([found], "", **data)


def rq_prefix(ctx: CheckContext) -> str:
    """RQ's key prefix: the `key_prefix` param, else $RQ_KEY_PREFIX, else "rq" (rq >= 3.0)."""
    explicit = ctx.params.get("key_prefix") or ""
    return str(explicit or ctx.environ.get("RQ_KEY_PREFIX") or "rq")
