"""What a Redis error means: one classifier from a redis-py exception to a finding.

redis-py folds very different failures into few exception classes (a refused port, a DNS
failure and a max-clients refusal are all `ConnectionError`), strips the error prefix of the
replies it knows (`NOAUTH`, `LOADING`...) and keeps it for the ones it does not (`MISCONF`,
`BUSY`, `DENIED`). `classify` looks at the class, `status_code`, the reply text and the
underlying OSError, in that order, so the server and RQ checks name the same layer for the same
failure. redis is imported lazily: this module is loaded by `validate` and `--help`.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterable

from troubleshooter.findings import Finding, finding
from troubleshooter.lazyre import lazy_compile
from troubleshooter.target import redact_url

# Redis echoes the arguments of an unknown command ("unknown command 'HELLO', with args
# beginning with: '3' 'AUTH' 'default' 'PASSWORD'"): everything after this marker may be secret.
_ECHOED_ARGS = lazy_compile(r",? with args beginning with:.*", re.DOTALL)
_MAX_TEXT = 240

NOREPLICAS_REMEDY = (
    "Bring the master's replicas back (INFO replication: connected_slaves), or lower "
    "min-replicas-to-write if fewer replicas are expected."
)


def safe_text(exc: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """`Type: message` of an exception, without echoed arguments, URL passwords or `secrets`."""
    text = _ECHOED_ARGS.sub(" (arguments not shown)", str(exc))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = redact_url(f"{type(exc).__name__}: {text}")
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def error_code(exc: BaseException) -> str:
    """The Redis error prefix (`NOAUTH`, `MISCONF`...), or "" when the reply had none."""
    code = getattr(exc, "status_code", None)
    if isinstance(code, str) and code:
        return code
    first = str(exc).split(" ", 1)[0]
    return first if first.isupper() and first.isalpha() else ""


def classify(
    exc: BaseException,
    where: str = "",
    *evidence: str,
    tls: bool = False,
    secrets: Iterable[str | None] = (),
) -> Finding | None:
    """The finding a Redis failure stands for, or None when it is not one we can name.

    `where` is the host:port (or socket path) messages name; `evidence` lines are appended to
    the exception's own text; `tls` tells a reset or connect timeout which hint to give;
    `secrets` (the password) are scrubbed from the evidence.
    """
    at = f" at {where}" if where else ""
    lines = (safe_text(exc, secrets), *evidence)
    for rule in (_protocol, _network, _auth, _server_state, _replication, _mode):
        found = rule(exc, at, tls)
        if found is not None:
            code, message = found
            remedy = NOREPLICAS_REMEDY if error_code(exc) == "NOREPLICAS" else None
            return finding(code, message, *lines, remedy=remedy)
    return None


# A rule returns (code, message) or None.
_Match = tuple[str, str] | None


def _protocol(exc: BaseException, at: str, tls: bool) -> _Match:
    from troubleshooter.boundedresp import ProtocolViolation

    if isinstance(exc, ProtocolViolation):
        return ("server.protocol_error", f"The server{at} breaks the Redis protocol: {exc}")
    return None


def _network(exc: BaseException, at: str, tls: bool) -> _Match:
    import redis

    text = str(exc)
    if isinstance(exc, redis.exceptions.TimeoutError):
        if "connecting" in text:
            hint = " (or the port does not speak TLS)" if tls else ""
            return ("network.timeout",
                    f"TCP connect{at} got no answer in time{hint}")
        return ("server.unresponsive",
                f"Redis{at} accepted the connection but did not answer in time")
    if isinstance(exc, redis.exceptions.InvalidResponse):
        return ("network.not_redis",
                f"Something answers{at}, but it does not speak the Redis protocol")
    if not isinstance(exc, redis.exceptions.ConnectionError):
        return None
    if isinstance(exc, redis.exceptions.AuthenticationError | redis.exceptions.BusyLoadingError):
        return None
    return _socket_error(exc, at, tls)


def _socket_error(exc: BaseException, at: str, tls: bool) -> _Match:
    cause = exc.__cause__ or exc.__context__
    text = str(exc)
    if isinstance(cause, socket.gaierror) or re.search(r"Error -\d+ connecting", text):
        return ("network.dns_failed", f"DNS failed{at}: the host name does not resolve")
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
        return ("network.refused", f"TCP connect{at} refused: nothing listens there")
    # On a unix socket only (redis-py names its path): over TCP, EACCES is a local firewall's.
    if "connecting to /" in text and (isinstance(cause, PermissionError)
                                      or "Permission denied" in text):
        return ("network.permission_denied", f"connect{at}: permission denied (the unix "
                "socket's owner, group and mode)")
    unreachable = (errno.EHOSTUNREACH, errno.ENETUNREACH)
    if (isinstance(cause, OSError) and cause.errno in unreachable) or re.search(
            r"No route to host|Network is unreachable", text):
        return ("network.unreachable", f"TCP connect{at} failed: no route to the host")
    if isinstance(cause, ssl.SSLError) or "SSL" in text:
        return ("network.tls_failed", f"TLS handshake{at} failed")
    if "max number of clients reached" in text:
        return ("server.max_clients",
                f"New connections rejected{at}: maxclients reached, Redis turns every new "
                "client away")
    if "Connection closed by server" in text:
        return ("server.unresponsive",
                f"The server{at} closed the connection without a (complete) reply: Redis "
                "dropping clients, a proxy in front of a Redis that is down, or not Redis")
    if not tls and "Connection reset by peer" in text:
        return ("network.tls_mismatch",
                f"The server{at} reset the connection during the handshake: likely a TLS port "
                "reached with redis:// (or the server dropped the client)")
    return None


_AUTH_REQUIRED = ("NOAUTH", "Authentication required", "HELLO must be called with the client")
_AUTH_FAILED = ("WRONGPASS", "invalid username-password pair", "invalid password",
                "user is disabled")
_NO_PASSWORD_SET = ("called without any password configured", "no password is set")


def _auth(exc: BaseException, at: str, tls: bool) -> _Match:
    text, code = str(exc), error_code(exc)
    # First: the DENIED text also says "no password is set".
    if code == "DENIED" or "running in protected mode" in text:
        return ("server.protected_mode",
                f"Refused by protected mode{at}: the server has no password and accepts "
                "loopback clients only")
    if code == "NOAUTH" or any(s in text for s in _AUTH_REQUIRED):
        return ("server.auth_required",
                f"AUTH required{at}: the server requires a password and the URL has none")
    if any(s in text for s in _NO_PASSWORD_SET):
        return ("server.auth_failed",
                f"AUTH failed{at}: the URL sends a password but the server has none configured "
                "(RESP2 clients fail to connect; remove the password or set requirepass)")
    if code == "WRONGPASS" or any(s in text for s in _AUTH_FAILED):
        return ("server.auth_failed",
                f"AUTH failed{at}: wrong password or user name, or the user is disabled")
    if code == "NOPERM":
        return ("server.acl_denied", f"ACL denied{at}: {text}")
    return None


def _server_state(exc: BaseException, at: str, tls: bool) -> _Match:
    code, text = error_code(exc), str(exc)
    if code == "LOADING" or "loading the dataset" in text:
        return ("server.loading", f"Redis{at} is loading its dataset and refuses commands")
    if code == "BUSY":
        return ("server.busy",
                f"Redis{at} is blocked by a long-running script or function (BUSY)")
    if code == "MISCONF":
        what = "AOF write" if "AOF" in text else "RDB save"
        return ("server.persistence_failed",
                f"Redis{at} refuses writes (and PING): the last {what} failed (MISCONF)")
    if code == "OOM":
        return ("server.oom",
                f"Writes refused{at}: used memory is at maxmemory under noeviction (OOM)")
    if "DB index is out of range" in text or "invalid DB index" in text:
        return ("server.db_out_of_range",
                f"SELECT failed{at}: the database index in the URL does not exist")
    return None


def _replication(exc: BaseException, at: str, tls: bool) -> _Match:
    code = error_code(exc)
    if code == "READONLY":
        return ("server.readonly", f"Writes refused{at}: the target is a read-only replica")
    if code == "MASTERDOWN":
        return ("server.replica_link_down",
                f"The replica{at} lost its master and refuses commands (MASTERDOWN: "
                "replica-serve-stale-data is no)")
    if code == "NOREPLICAS":
        return ("server.not_enough_replicas",
                f"Writes refused{at}: fewer good replicas than min-replicas-to-write "
                "(NOREPLICAS)")
    return None


_CLUSTER_CODES = ("MOVED", "ASK", "CLUSTERDOWN", "CROSSSLOT", "TRYAGAIN")


def _mode(exc: BaseException, at: str, tls: bool) -> _Match:
    code, text = error_code(exc), str(exc)
    if code in _CLUSTER_CODES or "not allowed in cluster mode" in text:
        return ("server.wrong_mode",
                f"The target{at} is a Redis Cluster node used as a plain Redis ({code or text})")
    if "unknown command 'SELECT'" in text:
        return ("server.wrong_mode",
                f"The target{at} does not know SELECT: it is a Sentinel, not a Redis server")
    return None


__all__ = ["classify", "error_code", "safe_text"]
