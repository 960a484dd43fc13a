"""The step-1 network checks against real sockets and real redis-servers on loopback."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from troubleshooter.checks import CHECKS
from troubleshooter.checks.base import REDIS_IMPORTS, REQUIRED, Budget, CheckContext, Outcome
from troubleshooter.checks.network import KINDS
from troubleshooter.checks.network import sockets as _sockets
from troubleshooter.checks.network.probes import _connected
from troubleshooter.findings import CATALOGUE
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.target import parse_target

try:  # `tests` is importable once the suite is a package or on pythonpath
    from tests import tlsutil
except ModuleNotFoundError:
    import tlsutil  # type: ignore[no-redef]

PASSWORD = "n0t-in-any-0utput"
PROBES = ("dns_resolve", "tcp_connect", "tls_handshake", "resp_probe")
KIND = {kind.name: kind for kind in KINDS if kind.name in PROBES}
# Every check must be done within its timeout plus this, whatever happens.
SLACK = 0.3


def run(kind: str, url: str, timeout: float = 1.0, **params: Any) -> tuple[Outcome, float]:
    """Run one kind on `url`; assert the time bound and that the password never leaks."""
    check = KIND[kind]
    filled = {name: p.default for name, p in check.params.items() if p.default is not REQUIRED}
    filled.update(params)
    ctx = CheckContext(target=parse_target(url), params=filled, timeout=timeout)
    started = time.monotonic()
    outcome = check.run(ctx)
    elapsed = time.monotonic() - started
    assert elapsed < timeout + SLACK, f"{kind} took {elapsed:.2f} s"
    dumped = json.dumps({
        "summary": outcome.summary, "data": outcome.data, "details": outcome.details,
        "findings": [f.to_dict() for f in outcome.findings],
    })
    assert PASSWORD not in dumped
    assert {f.code for f in outcome.findings} <= set(check.codes)
    return outcome, elapsed


def expect(outcome: Outcome, status: str, code: str | None = None, *words: str,
           severity: str = "error") -> None:
    """Status, the one finding's code and severity, and words the summary must contain."""
    assert outcome.status == status, (outcome.status, outcome.summary)
    if code is None:
        assert outcome.findings == ()
    else:
        assert [(f.code, f.severity) for f in outcome.findings] == [(code, severity)]
    for word in words:
        assert word in outcome.summary, (word, outcome.summary)


def url(host: str, port: int, scheme: str = "redis", query: str = "") -> str:
    return f"{scheme}://:{PASSWORD}@{host}:{port}/0" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def plain() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tlsutil.make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls(certs: tuple[Path, Path]) -> Iterator[tuple[RedisServer, int]]:
    server, port = tlsutil.start_tls_server(*certs)
    try:
        yield server, port
    finally:
        server.stop()


# --- registry -----------------------------------------------------------------------------------


def test_kinds_are_registered_with_catalogue_codes() -> None:
    from troubleshooter.checks import CHECKS

    assert set(KIND) == set(PROBES)
    for kind in KINDS:
        assert CHECKS[kind.name] is kind
        assert set(kind.codes) <= set(CATALOGUE), kind.name


# --- dns_resolve --------------------------------------------------------------------------------


def test_dns_unknown_host_fails() -> None:
    out, _ = run("dns_resolve", url("no-such-host.invalid", 6379))
    expect(out, "fail", "network.dns_failed", "DNS:", "no-such-host.invalid")
    assert "getaddrinfo('no-such-host.invalid', 6379): [Errno -" in out.findings[0].evidence[0]


def test_dns_resolver_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one mock: a resolver that hangs cannot be made without editing /etc/resolv.conf,
    # which other tests share. getaddrinfo blocks until the test releases it.
    release = threading.Event()

    def hanging_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    try:
        out, elapsed = run("dns_resolve", url("redis.internal.example", 6379), timeout=0.5)
    finally:
        release.set()
    expect(out, "fail", "network.dns_failed", "redis.internal.example",
           "resolver did not answer in 0.5 s")
    assert elapsed < 0.7


def test_dns_localhost_resolves() -> None:
    out, _ = run("dns_resolve", url("localhost", 6379))
    expect(out, "pass", None, "localhost resolves to", "127.0.0.1")
    assert "127.0.0.1" in out.data["addresses"]


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_dns_ip_literal_passes_at_once(host: str) -> None:
    out, elapsed = run("dns_resolve", url(host, 6379))
    expect(out, "pass", None, "is an IP address")
    assert out.data["addresses"] == [host.strip("[]")]
    assert elapsed < 0.2


def test_dns_is_skipped_for_a_unix_socket() -> None:
    out, _ = run("dns_resolve", "unix:///run/redis/redis.sock")
    assert out.status == "skipped" and "unix socket" in out.summary


# --- tcp_connect --------------------------------------------------------------------------------


def test_tcp_connect_to_a_live_server(plain: RedisServer) -> None:
    out, _ = run("tcp_connect", url("localhost", plain.port))
    expect(out, "pass", None, f"localhost:{plain.port} ok", f"127.0.0.1:{plain.port}")
    assert out.data["address"] == f"127.0.0.1:{plain.port}"
    assert out.data["connect_ms"] < 100


def test_tcp_refused_is_fast() -> None:
    port = free_port()
    out, elapsed = run("tcp_connect", url("127.0.0.1", port))
    expect(out, "fail", "network.refused", f"127.0.0.1:{port}", "refused")
    assert "[Errno 111] Connection refused" in out.findings[0].evidence[0]
    assert elapsed < 0.5


def test_tcp_timeout_when_the_accept_queue_is_full() -> None:
    # listen(0) and never accept: once one connection fills the queue the kernel drops SYNs,
    # which is what a firewall that drops packets looks like.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = _fill_accept_queue(port)
        try:
            out, elapsed = run("tcp_connect", url("127.0.0.1", port), timeout=0.8)
        finally:
            for sock in fillers:
                sock.close()
    expect(out, "fail", "network.timeout", f"127.0.0.1:{port}", "no answer in 0.8 s")
    assert elapsed > 0.75


def _fill_accept_queue(port: int) -> list[socket.socket]:
    fillers = []
    for _ in range(4):
        sock = socket.socket()
        sock.settimeout(0.2)
        fillers.append(sock)
        try:
            sock.connect(("127.0.0.1", port))
        except TimeoutError:
            return fillers
    raise AssertionError("the accept queue never filled (SYN cookies?)")


def test_tcp_unreachable() -> None:
    # Real, no mock: Linux refuses a TCP connect to a broadcast address with ENETUNREACH
    # before any packet leaves, the same errno a missing route gives.
    out, elapsed = run("tcp_connect", url("255.255.255.255", 6379))
    expect(out, "fail", "network.unreachable", "255.255.255.255:6379", "Network is unreachable")
    assert "[Errno 101] Network is unreachable" in out.findings[0].evidence[0]
    assert elapsed < 0.5


def test_tcp_one_address_refused_one_accepting_is_a_note(plain: RedisServer) -> None:
    # `localhost` resolves to 127.0.0.1 alone here, so hand both addresses over directly:
    # the server listens on 127.0.0.1 only, so ::1 is really refused.
    addrs = [(socket.AF_INET6, ("::1", plain.port, 0, 0)),
             (socket.AF_INET, ("127.0.0.1", plain.port))]
    attempts = _sockets.connect_all(addrs, Budget(1.0))
    out = _connected(parse_target(url("localhost", plain.port)), attempts)
    expect(out, "pass", None, f"127.0.0.1:{plain.port}")
    assert [a["ok"] for a in out.data["attempts"]] == [False, True]
    assert any(line.startswith(f"warning: [::1]:{plain.port} fails ([Errno 111]")
               and "fall back to 127.0.0.1" in line for line in out.details)


def test_tcp_dns_failure_is_reported_as_dns() -> None:
    out, _ = run("tcp_connect", url("no-such-host.invalid", 6379))
    expect(out, "fail", "network.dns_failed", "no-such-host.invalid")


# --- unix sockets -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unix_server() -> Iterator[tuple[RedisServer, str]]:
    with RedisServer("--port", "0", "--unixsocket", "redis.sock", "--unixsocketperm", "700",
                     wait=False) as server:
        path = str(server.dir / "redis.sock")
        _wait_for(lambda: os.path.exists(path))
        os.chmod(server.dir, 0o755)  # so that only the socket's own mode keeps others out
        yield server, path


def _wait_for(condition: Any, seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.02)


def test_unix_socket_connects_and_speaks_resp(unix_server: tuple[RedisServer, str]) -> None:
    _, path = unix_server
    out, _ = run("tcp_connect", f"unix://{path}")
    expect(out, "pass", None, f"unix socket {path} accepts connections")
    out, _ = run("resp_probe", f"unix://{path}")
    expect(out, "pass", None, "speaks RESP", "+PONG")
    assert out.data["first_reply"] == "+PONG"


def test_unix_socket_missing(tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    for kind in ("tcp_connect", "resp_probe"):
        out, _ = run(kind, f"unix://{path}")
        expect(out, "fail", "network.refused", f"unix socket {path} does not exist")


def test_unix_socket_file_without_a_listener(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # bound, never listening: what a crashed server leaves behind
        out, _ = run("tcp_connect", f"unix://{path}")
    expect(out, "fail", "network.refused", "nobody listening")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to the nobody user")
def test_unix_socket_permission_denied(unix_server: tuple[RedisServer, str]) -> None:
    # Root bypasses file permissions, so the check runs in a child switched to `nobody`.
    _, path = unix_server
    # `nobody` cannot read this venv: what the child runs is imported before it forks.
    for module in (*REDIS_IMPORTS, "troubleshooter.checks.server.errors"):
        __import__(module)
    CHECKS["redis_ping"].run.load()  # type: ignore[attr-defined]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)
            out = KIND["tcp_connect"].run(CheckContext(
                target=parse_target(f"unix://{path}"), params={"source_address": ""},
                timeout=1.0))
            # redis-py's own connection error, as the server checks classify it.
            ping = CHECKS["redis_ping"].run(CheckContext(
                target=parse_target(f"unix://{path}"),
                params={k: p.default for k, p in CHECKS["redis_ping"].params.items()},
                timeout=1.0))
            os.write(write_end, json.dumps([out.status, out.summary,
                                            [f.code for f in out.findings],
                                            [f.code for f in ping.findings]]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        status, summary, found, by_ping = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert (status, found, by_ping) == ("fail", ["network.permission_denied"],
                                        ["network.permission_denied"])
    assert f"unix socket {path}: permission denied (owner root:root, mode 700)" in summary


# --- resp_probe ---------------------------------------------------------------------------------


def test_resp_probe_healthy_server(plain: RedisServer) -> None:
    out, _ = run("resp_probe", url("127.0.0.1", plain.port))
    expect(out, "pass", None, f"127.0.0.1:{plain.port} speaks RESP", "'+PONG'")
    assert out.data["first_reply"] == "+PONG" and out.data["tls"] is False


def test_resp_probe_needs_no_password_to_see_resp() -> None:
    with RedisServer("--requirepass", PASSWORD) as server:
        out, _ = run("resp_probe", f"redis://127.0.0.1:{server.port}/0")
    expect(out, "pass", None, "speaks RESP", "-NOAUTH")


def test_resp_probe_paused_server_is_unresponsive() -> None:
    with RedisServer() as server:
        server.pause()
        try:
            out, elapsed = run("resp_probe", url("127.0.0.1", server.port), timeout=0.8)
            connect, _ = run("tcp_connect", url("127.0.0.1", server.port))
        finally:
            server.resume()
    expect(out, "fail", "server.unresponsive", "accepted the connection",
           "no reply to PING in 0.8 s", "stopped, hung or blocked")
    assert elapsed > 0.75
    expect(connect, "pass")  # the kernel still accepts for a stopped process


def test_resp_probe_refused_reports_the_network_layer() -> None:
    port = free_port()
    out, _ = run("resp_probe", url("127.0.0.1", port))
    expect(out, "fail", "network.refused", f"127.0.0.1:{port}")


def test_protected_mode_denies_a_non_loopback_client() -> None:
    # Redis 7.0 treats only 127.0.0.1 and ::1 as local. Connecting *to* 127.0.0.2 is not
    # enough (the kernel picks 127.0.0.1 as the source): connect *from* 127.0.0.2.
    with RedisServer("--bind", "127.0.0.1", "127.0.0.2", "--protected-mode", "yes") as server:
        local, _ = run("resp_probe", url("127.0.0.1", server.port))
        denied, _ = run("resp_probe", url("127.0.0.2", server.port), source_address="127.0.0.2")
    expect(local, "pass", None, "+PONG")
    expect(denied, "fail", "server.protected_mode", "127.0.0.2", "protected mode")
    assert denied.data["first_reply"].startswith("-DENIED Redis is running in protected mode")


def test_silent_close_is_unresponsive() -> None:
    # A proxy whose backend is down: accepts, then hangs up without a byte.
    with _serve(_CloseAtOnce) as port:
        out, _ = run("resp_probe", url("127.0.0.1", port))
    expect(out, "fail", "server.unresponsive", "closed it without replying to PING")


# --- not Redis ----------------------------------------------------------------------------------


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class _SshBanner(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        self.request.recv(64)


class _CloseAtOnce(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(handler: Any) -> Any:
    """A context manager: a threaded server with `handler` on 127.0.0.1, yielding its port."""
    from contextlib import contextmanager

    @contextmanager
    def serving() -> Iterator[int]:
        server_cls = HTTPServer if issubclass(handler, BaseHTTPRequestHandler) else _Server
        server = server_cls(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

    return serving()


def test_http_server_is_not_redis() -> None:
    with _serve(_Quiet) as port:
        out, _ = run("resp_probe", url("127.0.0.1", port))
        tls_out, _ = run("tls_handshake", url("127.0.0.1", port, "rediss"))
    expect(out, "fail", "network.not_redis", f"127.0.0.1:{port} answers, but not as Redis")
    assert out.data["first_reply"]
    expect(tls_out, "fail", "network.not_redis", "not as Redis")


def test_ssh_banner_is_not_redis() -> None:
    with _serve(_SshBanner) as port:
        out, _ = run("resp_probe", url("127.0.0.1", port))
    expect(out, "fail", "network.not_redis", "SSH-2.0-OpenSSH_9.2p1 Debian-2")


# --- TLS ----------------------------------------------------------------------------------------


def test_tls_verified_with_the_ca(tls: tuple[RedisServer, int], certs: tuple[Path, Path]) -> None:
    _, port = tls
    out, _ = run("tls_handshake", url("localhost", port, "rediss", f"ssl_ca_certs={certs[0]}"))
    expect(out, "pass", None, f"TLS to localhost:{port} ok", "TLSv1.3", "CN=localhost")
    assert out.data["verified"] is True and out.data["cert_san"] == ["DNS:localhost"]
    assert out.data["cert_not_after"].endswith("Z")


def test_tls_untrusted_certificate(tls: tuple[RedisServer, int]) -> None:
    _, port = tls
    out, _ = run("tls_handshake", url("localhost", port, "rediss"))
    expect(out, "fail", "network.tls_failed", "certificate verification failed",
           "self-signed certificate")
    assert "the system store" in out.findings[0].evidence[-1]


def test_tls_host_name_mismatch(tls: tuple[RedisServer, int], certs: tuple[Path, Path]) -> None:
    _, port = tls
    out, _ = run("tls_handshake", url("127.0.0.1", port, "rediss", f"ssl_ca_certs={certs[0]}"))
    expect(out, "fail", "network.tls_failed", "not valid for '127.0.0.1'", "host name mismatch")


def test_tls_verification_disabled_by_the_url(tls: tuple[RedisServer, int]) -> None:
    _, port = tls
    out, _ = run("tls_handshake", url("127.0.0.1", port, "rediss", "ssl_cert_reqs=none"))
    expect(out, "pass", None, "NOT verified")
    assert out.data["verified"] is False


def test_tls_unreadable_ca_file(tls: tuple[RedisServer, int], tmp_path: Path) -> None:
    _, port = tls
    missing = tmp_path / "ca.pem"
    out, _ = run("tls_handshake", url("localhost", port, "rediss", f"ssl_ca_certs={missing}"))
    expect(out, "fail", "network.tls_failed", f"cannot load ssl_ca_certs {missing}")


def test_tls_is_skipped_for_redis_urls(plain: RedisServer) -> None:
    out, _ = run("tls_handshake", url("127.0.0.1", plain.port))
    assert out.status == "skipped" and "redis://" in out.summary


def test_resp_probe_over_tls(tls: tuple[RedisServer, int]) -> None:
    _, port = tls
    out, _ = run("resp_probe", url("127.0.0.1", port, "rediss"))  # no CA: not its job
    expect(out, "pass", None, "speaks RESP", "+PONG")
    assert out.data["tls"] is True


def test_redis_url_on_a_tls_port(tls: tuple[RedisServer, int]) -> None:
    _, port = tls
    out, elapsed = run("resp_probe", url("127.0.0.1", port), timeout=3.0)
    expect(out, "fail", "network.tls_mismatch", "redis:// but", "expects TLS (rediss://)")
    assert "TLSv1.3 established" in out.findings[0].evidence[-1]
    assert elapsed < 1.0


@pytest.mark.parametrize("kind", ["tls_handshake", "resp_probe"])
def test_rediss_url_on_a_plain_port_is_found_quickly(plain: RedisServer, kind: str) -> None:
    out, elapsed = run(kind, url("127.0.0.1", plain.port, "rediss"), timeout=3.0)
    expect(out, "fail", "network.tls_mismatch", "rediss:// but", "speaks plain RESP")
    assert "'+PONG'" in out.findings[0].evidence[-1]
    assert elapsed < 1.5  # not the whole 3 s timeout


def test_paused_tls_server_is_unresponsive(certs: tuple[Path, Path]) -> None:
    server, port = tlsutil.start_tls_server(*certs)
    try:
        server.pause()
        try:
            out, elapsed = run("tls_handshake", url("localhost", port, "rediss",
                                                    f"ssl_ca_certs={certs[0]}"), timeout=1.0)
        finally:
            server.resume()
    finally:
        server.stop()
    expect(out, "fail", "server.unresponsive", "handshake got no answer in 1 s")
    assert elapsed > 0.95


def test_tls_server_requiring_a_client_certificate(certs: tuple[Path, Path]) -> None:
    cert, _ = certs
    server, port = tlsutil.start_tls_server(*certs, "--tls-auth-clients", "yes",
                                            "--tls-ca-cert-file", str(cert))
    try:
        out, _ = run("resp_probe", url("localhost", port, "rediss", f"ssl_ca_certs={cert}"))
    finally:
        server.stop()
    expect(out, "fail", "network.tls_failed", "the server ended the session", "certificate")
