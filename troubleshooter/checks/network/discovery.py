"""Looking around the target: is Redis answering somewhere other than where the app looks?

A refused connection on the configured port while Redis answers on a neighbouring port is the
classic wrong-instance outage (a port changed in one place, a second instance left running);
`network.refused` alone would send the operator to restart a Redis that is not down.
"""

from __future__ import annotations

import socket

from troubleshooter.checks.base import CheckContext, Outcome
from troubleshooter.findings import finding
from troubleshooter.parallel import in_parallel

# Each probe is tiny: loopback or LAN answers in milliseconds; this bounds the whole scan.
PROBE_TIMEOUT = 0.5


def _speaks_resp(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            first = sock.recv(64)
    except OSError:
        return False
    return first[:1] in (b"+", b"-") and first.endswith(b"\r\n")


def run_redis_nearby(ctx: CheckContext) -> Outcome:
    """Probe the target's host on other usual Redis ports; data: answering ["host:port"]."""
    t = ctx.target
    if t.is_unix:
        return Outcome("skipped", "a unix socket target has no neighbouring ports")
    # The usual ports, and the target's neighbours (6379 vs 6380 is the typical slip).
    wanted = [*map(int, ctx.param("ports")), *(t.port + d for d in (-2, -1, 1, 2))]
    ports = sorted({p for p in wanted if 0 < p < 65536 and p != t.port})
    timeout = min(ctx.timeout, PROBE_TIMEOUT)
    replies = in_parallel(ports, lambda port: _speaks_resp(t.host, port, timeout),
                          timeout * 2 + 0.1)
    answering = {p: r is True for p, r in zip(ports, replies, strict=True)}
    host = f"[{t.host}]" if ":" in t.host else t.host
    # Nearest first: a neighbour of the configured port is likelier the intended instance than
    # a developer's own Redis on 6379.
    nearest = sorted((p for p in ports if answering.get(p)), key=lambda p: abs(p - t.port))
    found = [f"{host}:{p}" for p in nearest]
    scanned = ", ".join(str(p) for p in ports)
    if not found:
        return Outcome("pass", f"no other Redis answers on {t.host} (ports {scanned})",
                       data={"answering": []})
    f = finding("config.wrong_instance",
                f"Redis answers on {', '.join(found)}, not on {t.address} where the app looks",
                *(f"{where} answers PING" for where in found),
                f"configured: {t.address} (from {t.source})",
                severity="warning",
                remedy=f"Check which port the app should use: if the data lives on "
                       f"{found[0]}, fix the URL; if not, start the Redis on {t.address}.")
    return Outcome("warn", f.message, (f,), {"answering": found})
