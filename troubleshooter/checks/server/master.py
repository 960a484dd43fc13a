"""Probe the master a replica names: is there a master to point the app at at all?

A replica whose link is down says only `master_link_status:down`; whether its master is gone
or merely unreachable from the replica decides the remedy. One TCP connect and one PING, with
a short timeout and no retry; any reply (even -NOAUTH) means something Redis-like answers.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from troubleshooter.checks.base import Budget

PROBE_CAP_S = 1.0


def probe_master(info: Mapping[str, Any], budget: Budget) -> str:
    """"up", or why the master at master_host:master_port does not answer ("" if unnamed)."""
    host, port = info.get("master_host"), info.get("master_port")
    if not isinstance(host, str) or not host or not isinstance(port, int):
        return ""
    if budget.spent():
        return ""
    timeout = budget.left(PROBE_CAP_S)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return f"no answer within {timeout:.1f} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return "up" if reply else "it closed the connection without a reply"
