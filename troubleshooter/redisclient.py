"""The one way this tool opens a Redis connection: explicit timeouts, no retries, no surprises.

redis-py 8 retries a refused connection ~10 times (3.5-4.6 s) and re-sends timed-out commands;
a diagnostic must see the first failure as it is. Every reply is read within bounds (size,
nesting, time: boundedresp.py), so a broken or hostile server gives a ProtocolViolation, never
a crash or a thread that keeps reading. redis is imported lazily (start-up time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from troubleshooter.target import Target

if TYPE_CHECKING:
    import redis


def make_client(
    target: Target,
    timeout: float,
    *,
    protocol: int = 3,
    client_name: str = "troubleshooter",
    deadline: float | None = None,
    **overrides: Any,
) -> redis.Redis:
    """A client for `target` that fails fast: one attempt, `timeout` for connect and for each
    whole reply, nothing read past `deadline` (time.monotonic()), each reply within budget.

    `protocol=3` is what redis-py 8 and RQ use by default; pass 2 for servers older than 6.
    TLS (`rediss://`) verifies the certificate against the system store unless the URL's query
    sets `ssl_cert_reqs=none` or `ssl_ca_certs=...`.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from troubleshooter import boundedresp

    kwargs: dict[str, Any] = {
        "db": target.db,
        "username": target.username,
        "password": target.password,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "protocol": protocol,
        "client_name": client_name,
        "health_check_interval": 0,
        "redis_connect_func": boundedresp.checked_handshake,
    }
    if target.is_unix:
        kwargs["unix_socket_path"] = target.path
        kwargs.pop("socket_connect_timeout")
    else:
        kwargs["host"] = target.host
        kwargs["port"] = target.port
    if target.tls:
        kwargs["ssl"] = True
        reqs = target.query.get("ssl_cert_reqs")
        if reqs:
            kwargs["ssl_cert_reqs"] = reqs
        for key in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
            if target.query.get(key):
                kwargs[key] = target.query[key]
    kwargs.update(overrides)
    client = redis.Redis(**kwargs)
    pool = client.connection_pool
    pool.connection_kwargs = {**pool.connection_kwargs,
                              "parser_class": boundedresp.parser_class(protocol, deadline)}
    boundedresp.guard_callbacks(client.response_callbacks)
    return client
