"""Step 1, the network: does the name resolve, does the port accept, does TLS work, and does
whatever listens there speak Redis at all.

Each check works at the socket level, below redis-py, so that it can say which layer failed:
redis-py folds DNS, refused, reset and TLS errors into one ConnectionError. Every step shares
the check's deadline (`ctx.timeout`); nothing retries.
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
import time
from collections.abc import Callable
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.network import sockets as so
from troubleshooter.findings import Finding, finding
from troubleshooter.target import Target

_PING = b"PING\r\n"
# How long a TLS handshake may stay silent before we ask, on a second connection, whether the
# port speaks plain RESP: a plain Redis says nothing to a ClientHello, so without this a
# rediss:// URL on a plain port would only be diagnosed when the whole timeout ran out.
_TLS_PATIENCE = 0.5
# Redis sends -DENIED and the max-clients error unprompted, on accept: how long to listen for
# them before deciding a silent close means something else.
_GREETING_WAIT = 0.2
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, _EMAIL_MISMATCH, _IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = (62, 63, 64)


class _Fail(Exception):
    """A conclusion reached deep in a helper: its findings, and the facts learnt so far."""

    def __init__(self, *found: Finding, **data: Any) -> None:
        super().__init__(found[0].message)
        self.found = found
        self.data = data

    def outcome(self) -> Outcome:
        return outcome_from(list(self.found), "", **self.data)


def _concluded(body: Callable[[CheckContext, Budget], Outcome], ctx: CheckContext) -> Outcome:
    """Run a check body on the check's deadline; a _Fail raised anywhere is its outcome."""
    try:
        return body(ctx, Budget(ctx.timeout))
    except _Fail as fail:
        return fail.outcome()


# --- dns_resolve -----------------------------------------------------------------------------


def run_dns_resolve(ctx: CheckContext) -> Outcome:
    """Resolve the target's host name to all its addresses; data: `addresses`."""
    target = ctx.target
    if target.is_unix:
        return Outcome("skipped", f"unix socket {target.path}: no host name to resolve")
    if so.is_ip(target.host):
        return Outcome("pass", f"{target.host} is an IP address: nothing to resolve",
                       data={"addresses": [target.host]})
    started = time.monotonic()
    try:
        addrs = _resolve(target, ctx.timeout)
    except _Fail as fail:
        return fail.outcome()
    ips = list(dict.fromkeys(sockaddr[0] for _family, sockaddr in addrs))
    ms = (time.monotonic() - started) * 1000
    shown = ", ".join(ips[:4]) + (f" and {len(ips) - 4} more" if len(ips) > 4 else "")
    return outcome_from([], f"DNS: {target.host} resolves to {shown} ({ms:.0f} ms)",
                        addresses=ips, resolve_ms=round(ms, 1))


def _resolve(target: Target, timeout: float) -> list[so.Addr]:
    host, port = target.host, target.port
    try:
        return so.resolve(host, port, timeout)  # never empty: getaddrinfo raises instead
    except TimeoutError as exc:
        message, evidence = f"DNS: cannot resolve {host}: {exc}", str(exc)
    except socket.gaierror as exc:
        # EAI_AGAIN: the name may be fine, it is the resolver that failed.
        failed = "the resolver failed for" if exc.errno == socket.EAI_AGAIN else "cannot resolve"
        message, evidence = f"DNS: {failed} {host}: {exc.strerror}", so.errno_text(exc)
    except (UnicodeError, ValueError) as exc:
        # idna refuses empty or over-long labels before any query is sent.
        message, evidence = f"DNS: {host!r} is not a valid host name ({exc})", str(exc)
    raise _Fail(finding("network.dns_failed", message,
                        f"getaddrinfo({host!r}, {port}): {evidence}"))


# --- connecting (tcp_connect, and the first step of the other checks) ------------------------


def run_tcp_connect(ctx: CheckContext) -> Outcome:
    """Connect to every address of the target (or its unix socket) once, no retries.

    data: `address` and `connect_ms` of the first address that accepted (the one clients use),
    `attempts` (every address: ok, error, ms).
    """
    return _concluded(_tcp_connect, ctx)


def _tcp_connect(ctx: CheckContext, deadline: Budget) -> Outcome:
    target = ctx.target
    if target.is_unix:
        started = time.monotonic()
        _open_unix(target, deadline).close()
        ms = (time.monotonic() - started) * 1000
        return outcome_from([], f"unix socket {target.path} accepts connections ({ms:.1f} ms)",
                            address=target.path, connect_ms=round(ms, 2))
    return _connected(target, _connect(target, deadline, ctx.param("source_address")))


def _connected(target: Target, attempts: list[so.Attempt]) -> Outcome:
    """The outcome once at least one address accepted; closes the sockets."""
    good = so.keep_first(attempts)
    assert good.sock is not None
    good.sock.close()
    data = {"address": good.address, "connect_ms": round(good.ms, 2),
            "attempts": [a.to_dict() for a in attempts]}
    details = tuple(a.line() for a in attempts) + tuple(
        _fallback_note(a, good) for a in attempts if a.error is not None)
    summary = f"TCP connect to {target.address} ok ({good.address} in {good.ms:.1f} ms)"
    return Outcome("pass", summary, (), data, details)


def _fallback_note(failed: so.Attempt, good: so.Attempt) -> str:
    # Not a failure: redis-py, like most clients, tries the next address; a timeout still
    # costs each new connection the whole connect timeout first.
    cost = " after their connect timeout" if isinstance(failed.error, TimeoutError) else ""
    return (f"warning: {failed.address} fails ({failed.result}); clients that try it first "
            f"fall back to {good.address}{cost}")


def _connect(target: Target, deadline: Budget, source: str) -> list[so.Attempt]:
    """Resolve and connect to every address; raises _Fail when none accepts."""
    addrs = _resolve(target, deadline.left())
    attempts = so.connect_all(addrs, deadline, source)
    if any(a.sock is not None for a in attempts):
        return attempts
    first = attempts[0]  # the address clients try first decides what they report
    assert first.error is not None
    where = target.address if first.address == target.address else (
        f"{target.address} ({first.address})")
    code, why = _connect_error(first.error, deadline)
    raise _Fail(finding(code, f"TCP connect to {where} {why}",
                        *(a.line() for a in attempts)), address=first.address)


def _connect_error(exc: OSError, deadline: Budget) -> tuple[str, str]:
    if isinstance(exc, ConnectionRefusedError):
        return "network.refused", "refused: nothing listens on that port"
    if isinstance(exc, TimeoutError):
        return "network.timeout", (f"got no answer in {deadline.seconds:g} s: packets dropped "
                                   "(firewall, security group) or the host is down")
    # EHOSTUNREACH, ENETUNREACH, and the rarer EPERM/ENETDOWN a local firewall or a down
    # interface gives: the packets never reach the server.
    return "network.unreachable", f"failed: {exc.strerror or exc}"


def _open_unix(target: Target, deadline: Budget) -> socket.socket:
    try:
        return so.connect_unix(target.path, deadline.left())
    except OSError as exc:
        raise _Fail(_unix_finding(target.path, exc, deadline), address=target.path) from None


def _unix_finding(path: str, exc: OSError, deadline: Budget) -> Finding:
    evidence = f"connect {path}: {so.errno_text(exc)}"
    if isinstance(exc, TimeoutError):
        return finding("network.timeout", f"unix socket {path} accepts no connection in "
                       f"{deadline.seconds:g} s (backlog full: Redis is hung)", evidence)
    if isinstance(exc, PermissionError):
        return finding("network.permission_denied", f"unix socket {path}: permission denied "
                       f"({so.owner(path)}): run as its owner or a member of its group", evidence)
    if isinstance(exc, FileNotFoundError):
        why = "does not exist (Redis is down, or its unixsocket setting names another path)"
    elif os.path.exists(path) and not stat.S_ISSOCK(os.stat(path).st_mode):
        why = "is not a socket"
    else:
        why = "has nobody listening (stale socket file: Redis is down)"
    return finding("network.refused", f"unix socket {path} {why}", evidence)


# --- TLS --------------------------------------------------------------------------------------


def run_tls_handshake(ctx: CheckContext) -> Outcome:
    """For rediss:// targets: TCP connect, then the TLS handshake with verification as redis-py
    does it (query: ssl_ca_certs, ssl_ca_path, ssl_certfile, ssl_keyfile, ssl_cert_reqs,
    ssl_check_hostname).

    data: `tls_version`, `cipher`, `cert_subject`, `cert_san`, `cert_not_after` (ISO, UTC),
    `verified`, `address`, `handshake_ms`.
    """
    target = ctx.target
    if not target.tls:
        return Outcome("skipped", f"{target.scheme}:// URL: no TLS to check "
                       "(resp_probe tells whether the port expects TLS)")
    return _concluded(_tls_handshake, ctx)


def _tls_handshake(ctx: CheckContext, deadline: Budget) -> Outcome:
    target, source = ctx.target, ctx.param("source_address")
    sslctx = _ssl_context(target, verify=True)
    opened = so.keep_first(_connect(target, deadline, source))
    assert opened.sock is not None
    started = time.monotonic()
    with _tls_wrap(target, opened.sock, opened.addr, sslctx, deadline, source) as tls:
        ms = (time.monotonic() - started) * 1000
        facts = so.tls_facts(tls)
    facts.update(address=opened.address, handshake_ms=round(ms, 1),
                 verified=sslctx.verify_mode != ssl.CERT_NONE)
    cert = (f"certificate {facts['cert_subject']} valid until {facts['cert_not_after']}"
            if facts["verified"] else "certificate NOT verified (ssl_cert_reqs=none)")
    return outcome_from([], f"TLS to {target.address} ok: {facts['tls_version']}, {cert}",
                        **facts)


def _ssl_context(target: Target, verify: bool) -> ssl.SSLContext:
    try:
        return so.ssl_context(target.query, verify)
    except ValueError as exc:
        raise _Fail(finding("network.tls_failed", f"TLS to {target.address}: {exc}")) from None


def _tls_wrap(target: Target, sock: socket.socket, addr: so.Addr, sslctx: ssl.SSLContext,
              deadline: Budget, source: str) -> ssl.SSLSocket:
    """`sock` after a completed handshake; raises _Fail saying which part failed."""
    tls = sslctx.wrap_socket(sock, server_hostname=target.host, do_handshake_on_connect=False)
    try:
        _handshake(tls, target, addr, deadline, source)
    except BaseException:
        tls.close()
        raise
    return tls


def _handshake(tls: ssl.SSLSocket, target: Target, addr: so.Addr, deadline: Budget,
               source: str) -> None:
    where = target.address
    try:
        tls.settimeout(deadline.left(min(_TLS_PATIENCE, deadline.seconds / 3)))
        try:
            tls.do_handshake()
            return
        except TimeoutError:
            _fail_if_plain(target, addr, deadline, source, "sent nothing back to the ClientHello")
        tls.settimeout(deadline.left())
        tls.do_handshake()  # the handshake resumes where it waited
    except ssl.SSLCertVerificationError as exc:
        raise _Fail(_verify_finding(target, exc)) from None
    except TimeoutError:
        raise _Fail(finding(
            "server.unresponsive", f"TLS to {where}: the connection is accepted but the "
            f"handshake got no answer in {deadline.seconds:g} s (nor did a plain PING): the "
            "server is stopped, hung or blocked", f"connect {so.label(addr)}: ok; TLS "
            f"ClientHello sent; no byte back in {deadline.seconds:g} s"),
            address=so.label(addr)) from None
    except OSError as exc:  # ssl.SSLError, a reset, an EOF mid-handshake
        reason = so.ssl_reason(exc)
        _fail_if_plain(target, addr, deadline, source, f"broke off the handshake ({reason})")
        raise _Fail(finding("network.tls_failed", f"TLS handshake with {where} failed: {reason}",
                            f"handshake: {so.errno_text(exc)}")) from None


def _fail_if_plain(target: Target, addr: so.Addr, deadline: Budget, source: str,
                   what: str) -> None:
    """Raise tls_mismatch (or not_redis) if the port answers a plain PING; else return."""
    reply = so.plain_ping(addr, min(_TLS_PATIENCE, deadline.remaining()), source)
    evidence = (f"TLS handshake: the server {what}",
                f"plain PING on a second connection: {so.printable(reply)!r}")
    if so.is_resp_line(reply):
        raise _Fail(finding("network.tls_mismatch", f"rediss:// but {target.address} speaks "
                            "plain RESP (no TLS): use redis://, or the server's tls-port",
                            *evidence))
    if reply and not so.is_tls_record(reply):
        raise _Fail(_not_redis(target.address, reply, "a plain PING", evidence[0]))


def _verify_finding(target: Target, exc: ssl.SSLCertVerificationError) -> Finding:
    evidence = so.errno_text(exc)
    if exc.verify_code in _NAME_MISMATCH:
        return finding("network.tls_failed", f"TLS to {target.address}: the certificate is not "
                       f"valid for '{target.host}' (host name mismatch)", evidence,
                       "connect by a name the certificate lists (subjectAltName), or reissue it")
    cas = target.query.get("ssl_ca_certs") or "the system store (no ssl_ca_certs in the URL)"
    return finding("network.tls_failed", f"TLS to {target.address}: certificate verification "
                   f"failed: {exc.verify_message}", evidence, f"trusted CAs: {cas}")


# --- resp_probe -------------------------------------------------------------------------------


def run_resp_probe(ctx: CheckContext) -> Outcome:
    """Send a plain PING (over TLS without verification for rediss://) and judge the first
    reply: RESP, TLS expected, something else, or silence.

    data: `first_reply` (first line, sanitised), `reply_ms`, `address`, `tls`.
    """
    return _concluded(_resp_probe, ctx)


def _resp_probe(ctx: CheckContext, deadline: Budget) -> Outcome:
    target, source = ctx.target, ctx.param("source_address")
    where: so.Addr | str
    if target.is_unix:
        sock, where, address = _open_unix(target, deadline), target.path, target.path
    else:
        opened = so.keep_first(_connect(target, deadline, source))
        assert opened.sock is not None
        sock, where, address = opened.sock, opened.addr, opened.address
        if target.tls:
            sock = _tls_wrap(target, sock, opened.addr, _ssl_context(target, verify=False),
                             deadline, source)
    started = time.monotonic()
    with sock:
        reply = _ping(sock, target, address, deadline)
    if not reply:
        reply = _explain_silent_close(target, where, deadline, source)
    ms = (time.monotonic() - started) * 1000
    return _judge_reply(target, reply, address=address, reply_ms=round(ms, 2), tls=target.tls)


def _ping(sock: socket.socket, target: Target, address: str, deadline: Budget) -> bytes:
    """The first reply line to PING; b"" if the server closed or reset without one."""
    try:
        sock.sendall(_PING)
        return so.read_first_line(sock, deadline)
    except TimeoutError:
        raise _Fail(finding(
            "server.unresponsive", f"{target.address} accepted the connection (kernel) but sent "
            f"no reply to PING in {deadline.seconds:g} s: the process is stopped, hung or "
            "blocked", f"connect {address}: ok; PING sent; no byte back in {deadline.seconds:g} s"),
            address=address) from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return b""
    except ssl.SSLError as exc:  # e.g. the server wants a client certificate
        raise _session_ended(target, exc) from None
    except OSError:  # reset or broken pipe: the server hung up on us
        return b""


def _session_ended(target: Target, exc: ssl.SSLError) -> _Fail:
    return _Fail(finding("network.tls_failed", f"TLS to {target.address}: the server ended the "
                         f"session: {so.ssl_reason(exc)}", so.errno_text(exc)))


def _explain_silent_close(target: Target, where: so.Addr | str, deadline: Budget,
                          source: str) -> bytes:
    """The server hung up on PING: look for an unprompted greeting (-DENIED races the close),
    then for a TLS port. Returns a greeting to judge, or raises _Fail."""
    # Over TLS too: a server rejecting our certificate sends its alert after the handshake,
    # and with PING in flight its close can turn into a reset that loses the alert.
    sslctx = _ssl_context(target, verify=False) if target.tls else None
    try:
        greeting = so.greeting(where, deadline, _GREETING_WAIT, source, sslctx, target.host)
    except ssl.SSLError as exc:
        raise _session_ended(target, exc) from None
    if greeting:
        return greeting
    # Silent on accept, as a TLS server is while it waits for a ClientHello.
    if greeting is None and not (target.tls or target.is_unix):
        tls_version = so.tls_spoken(where, deadline.left(), source)
        if tls_version:
            raise _Fail(finding(
                "network.tls_mismatch", f"redis:// but {target.address} expects TLS (rediss://)",
                "plain PING: the server reset the connection",
                f"TLS handshake (no verification): {tls_version} established"))
    raise _Fail(finding(
        "server.unresponsive", f"{target.address} accepted the connection and closed it "
        "without replying to PING: a proxy in front of a Redis that is down, or Redis "
        "dropping clients", f"PING to {so.label(where)}: closed or reset with no reply"),
        address=so.label(where))


def _judge_reply(target: Target, reply: bytes, **data: Any) -> Outcome:
    where = target.address
    data["first_reply"] = so.printable(reply, 200)
    if reply.startswith(b"-DENIED"):
        found = finding("server.protected_mode", f"{where} refuses this client: protected mode "
                        "(no password set and the client is not on the loopback interface)",
                        f"reply: {so.printable(reply, 100)!r}")
    elif so.is_resp_line(reply):  # other errors (-NOAUTH, -LOADING...) are the server checks'
        return outcome_from([], f"{where} speaks RESP: PING got {so.printable(reply, 40)!r}",
                            **data)
    elif so.is_tls_record(reply) and not target.tls:
        found = finding("network.tls_mismatch", f"redis:// but {where} expects TLS (rediss://)",
                        "PING answered with a TLS alert record")
    else:
        found = _not_redis(where, reply, "PING")
    return outcome_from([found], "", **data)


def _not_redis(where: str, reply: bytes, asked: str, *evidence: str) -> Finding:
    return finding("network.not_redis", f"{where} answers, but not as Redis: "
                   f"{so.printable(reply)!r}", *evidence, f"reply to {asked}: "
                   f"{so.printable(reply)!r}")
