"""Socket plumbing for the network checks: bounded resolving, connecting and reading.

Nothing here decides what a failure means; `network.py` turns these results into findings.
Every call takes a deadline or a timeout, and none retries.
"""

from __future__ import annotations

import errno
import grp
import ipaddress
import os
import pwd
import selectors
import socket
import ssl
import stat
import threading
import time
from collections.abc import Mapping
from typing import Any

from troubleshooter.checks.base import Budget
from troubleshooter.frozen import record

# (family, sockaddr) as getaddrinfo returns them.
Addr = tuple[int, tuple[Any, ...]]


def resolve(host: str, port: int, timeout: float) -> list[Addr]:
    """All stream addresses of `host`, in the resolver's order, without duplicates.

    getaddrinfo has no timeout of its own, so it runs in a daemon thread we stop waiting for:
    raises TimeoutError if the resolver does not answer in `timeout`, else what it raised.
    """
    box: dict[str, Any] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # handed back to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"resolver did not answer in {timeout:g} s")
    if "error" in box:
        raise box["error"]
    found: list[Addr] = []
    for family, _type, _proto, _name, sockaddr in box["infos"]:
        if (family, sockaddr) not in found:
            found.append((family, sockaddr))
    return found


def is_ip(host: str) -> bool:
    """Whether `host` is an IPv4 or IPv6 address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def label(where: Addr | str) -> str:
    """How messages name an endpoint: `ip:port`, or the unix socket path."""
    return where if isinstance(where, str) else format_addr(where[1])


def format_addr(sockaddr: tuple[Any, ...]) -> str:
    """`ip:port`, with IPv6 addresses in brackets."""
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@record
class Attempt:
    """One connect to one address: the open socket, or the error, and how long it took."""

    addr: Addr
    sock: socket.socket | None = None
    error: OSError | None = None
    ms: float = 0.0

    @property
    def address(self) -> str:
        return format_addr(self.addr[1])

    @property
    def result(self) -> str:
        return "ok" if self.error is None else errno_text(self.error)

    def line(self) -> str:
        """`connect 127.0.0.1:6379: [Errno 111] Connection refused after 0.2 ms`"""
        return f"connect {self.address}: {self.result} after {self.ms:.1f} ms"

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "ok": self.error is None, "ms": round(self.ms, 2),
                "error": None if self.error is None else errno_text(self.error)}


def keep_first(attempts: list[Attempt]) -> Attempt:
    """The first attempt that connected (the one a client uses); closes the others' sockets."""
    good = next(a for a in attempts if a.sock is not None)
    for attempt in attempts:
        if attempt is not good and attempt.sock is not None:
            attempt.sock.close()
    return good


def connect_all(addrs: list[Addr], deadline: Budget, source: str = "") -> list[Attempt]:
    """Connect to every address at once (non-blocking), each bounded by the deadline.

    In parallel rather than in turn so that one blackholed address cannot eat the budget of
    the others. An address still pending at the deadline gets a TimeoutError.
    """
    started = time.monotonic()
    attempts = [Attempt(addr) for addr in addrs]
    pending: dict[socket.socket, Attempt] = {}
    for attempt in attempts:
        sock = _start_connect(attempt, source)
        if sock is not None:
            pending[sock] = attempt
    with selectors.DefaultSelector() as selector:
        for sock in pending:
            selector.register(sock, selectors.EVENT_WRITE, sock)
        while pending and deadline.remaining() > 0:
            for key, _events in selector.select(deadline.remaining()):
                sock = key.data
                selector.unregister(sock)
                _finish_connect(pending.pop(sock), sock, started)
    for sock, attempt in pending.items():
        sock.close()
        attempt.ms = (time.monotonic() - started) * 1000
        attempt.error = TimeoutError(f"no answer in {deadline.seconds:g} s")
    return attempts


def _start_connect(attempt: Attempt, source: str) -> socket.socket | None:
    family, sockaddr = attempt.addr
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if source:
            sock.bind((source, 0))
        sock.setblocking(False)
        code = sock.connect_ex(sockaddr)
    except OSError as exc:
        sock.close()
        attempt.error = exc
        return None
    if code == 0:
        attempt.sock = sock
        return None
    if code != errno.EINPROGRESS:
        sock.close()
        # OSError(errno, text) builds the specific subclass (ConnectionRefusedError...).
        attempt.error = OSError(code, os.strerror(code))
        return None
    return sock


def _finish_connect(attempt: Attempt, sock: socket.socket, started: float) -> None:
    attempt.ms = (time.monotonic() - started) * 1000
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        sock.close()
        attempt.error = OSError(code, os.strerror(code))
    else:
        sock.setblocking(True)
        attempt.sock = sock


def connect_one(where: Addr | str, timeout: float, source: str = "") -> socket.socket:
    """A connected socket to one address, or to a unix socket path when `where` is a str."""
    if isinstance(where, str):
        return connect_unix(where, timeout)
    family, sockaddr = where
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if source:
            sock.bind((source, 0))
        sock.connect(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


def connect_unix(path: str, timeout: float) -> socket.socket:
    """A connected AF_UNIX socket; raises what connect raised (FileNotFoundError...)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def read_first_line(sock: socket.socket, deadline: Budget, limit: int = 1024) -> bytes:
    """The first bytes the peer sends, up to a newline, `limit` bytes or EOF.

    Returns b"" when the peer closes without a byte; raises TimeoutError when nothing came by
    the deadline (what came before the deadline is returned).
    """
    data = b""
    while b"\n" not in data and len(data) < limit:
        sock.settimeout(deadline.left())
        try:
            chunk = sock.recv(limit - len(data))
        except TimeoutError:
            if data:
                return data
            raise
        if not chunk:
            break
        data += chunk
        if deadline.remaining() == 0:
            break
    return data


def printable(data: bytes, limit: int = 60) -> str:
    """The first line of `data` as safe text: non-printable bytes as \\xNN, cut at `limit`."""
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    text = "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in line)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_resp_line(data: bytes) -> bool:
    """A RESP simple-string or error reply: `+PONG`, `-ERR ...`, `-NOAUTH ...`."""
    return len(data) >= 2 and data[:1] in (b"+", b"-") and data[1:2].isalpha()


def is_tls_record(data: bytes) -> bool:
    """A TLS alert or handshake record: what a TLS server answers to plain bytes."""
    return len(data) >= 2 and data[0] in (0x15, 0x16) and data[1] == 0x03


def errno_text(exc: BaseException) -> str:
    """`[Errno 111] Connection refused`, or the exception's own text."""
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return str(exc) or type(exc).__name__


def greeting(where: Addr | str, deadline: Budget, wait: float, source: str = "",
             sslctx: ssl.SSLContext | None = None, hostname: str = "") -> bytes | None:
    """What the server sends unprompted within `wait` s on a new connection (inside a TLS
    session with `sslctx`): b"" if it closes or cannot be reached, None if it stays silent.

    Raises ssl.SSLError when the server answers with a TLS alert.
    """
    try:
        with connect_one(where, deadline.left(), source) as raw:
            sock = raw if sslctx is None else sslctx.wrap_socket(raw, server_hostname=hostname)
            with sock:
                return read_first_line(sock, Budget(min(wait, deadline.remaining())))
    except TimeoutError:
        return None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return b""
    except ssl.SSLError:
        raise
    except OSError:
        return b""


def plain_ping(where: Addr | str, timeout: float, source: str = "") -> bytes:
    """The first reply line to PING on a new plain connection; b"" if none came in `timeout`."""
    window = Budget(timeout)
    try:
        with connect_one(where, window.left(), source) as sock:
            sock.sendall(b"PING\r\n")
            return read_first_line(sock, window)
    except OSError:
        return b""


def owner(path: str) -> str:
    """`owner user:group, mode 700` of a file, for permission messages."""
    try:
        info = os.stat(path)
        user = pwd.getpwuid(info.st_uid).pw_name
        group = grp.getgrgid(info.st_gid).gr_name
    except (OSError, KeyError):
        return "cannot stat it"
    return f"owner {user}:{group}, mode {stat.S_IMODE(info.st_mode):o}"


# --- TLS ---------------------------------------------------------------------------------------

_FALSE_STRINGS = ("0", "F", "FALSE", "N", "NO")  # what redis-py's URL parser reads as false


def ssl_context(query: Mapping[str, str], verify: bool) -> ssl.SSLContext:
    """The context redis-py builds from a URL's query; `verify=False` only to sniff a port.

    Raises ValueError naming the setting when a CA, certificate or key file cannot be loaded.
    """
    sslctx = ssl.create_default_context()
    files = {name: query[name] for name in ("ssl_ca_certs", "ssl_ca_path", "ssl_certfile")
             if query.get(name)}
    try:
        for name, path in files.items():
            if name == "ssl_ca_certs":
                sslctx.load_verify_locations(cafile=path)
            elif name == "ssl_ca_path":
                sslctx.load_verify_locations(capath=path)
            else:
                sslctx.load_cert_chain(path, query.get("ssl_keyfile") or None)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ValueError(f"cannot load {name} {path}: {ssl_reason(exc)}") from None
    reqs = query.get("ssl_cert_reqs", "required").lower()
    if not verify or reqs == "none":
        sslctx.check_hostname = False
        sslctx.verify_mode = ssl.CERT_NONE
    else:
        sslctx.check_hostname = query.get("ssl_check_hostname", "").upper() not in _FALSE_STRINGS
        sslctx.verify_mode = ssl.CERT_OPTIONAL if reqs == "optional" else ssl.CERT_REQUIRED
    return sslctx


def ssl_reason(exc: BaseException) -> str:
    """OpenSSL's reason in words (`wrong version number`), or the errno text."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, ssl.SSLError) and isinstance(reason, str):
        return reason.lower().replace("_", " ")
    return errno_text(exc)


# The short names people know from `openssl x509 -subject`.
_RDN = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
        "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L"}


def tls_facts(tls: ssl.SSLSocket) -> dict[str, Any]:
    """Protocol, cipher and certificate facts of an established session (JSON-safe)."""
    # Empty when the certificate was not verified.
    cert: dict[str, Any] = dict(tls.getpeercert() or {})
    cipher = tls.cipher()
    not_after = cert.get("notAfter")
    subject = cert.get("subject", ())
    return {
        "tls_version": tls.version(),
        "cipher": cipher[0] if cipher else None,
        "cert_subject": ",".join(f"{_RDN.get(k, k)}={v}" for rdn in subject
                                 for k, v in rdn) or None,
        "cert_san": [f"{kind}:{value}" for kind, value in cert.get("subjectAltName", ())],
        "cert_not_after": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
            ssl.cert_time_to_seconds(not_after))) if isinstance(not_after, str) else None,
    }


def tls_spoken(where: Addr | str, timeout: float, source: str = "") -> str | None:
    """Whether a port speaks TLS: the version of an unverified handshake, `TLS alert (...)`
    if the server answered with an alert, None if it does not speak TLS."""
    sslctx = ssl.create_default_context()
    sslctx.check_hostname = False
    sslctx.verify_mode = ssl.CERT_NONE
    try:
        with connect_one(where, timeout, source) as raw, sslctx.wrap_socket(raw) as tls:
            return tls.version()
    except ssl.SSLError as exc:
        # An alert from the server (it wants a client certificate...) is TLS too.
        return f"TLS alert ({ssl_reason(exc)})" if "ALERT" in str(exc.reason) else None
    except OSError:
        return None
