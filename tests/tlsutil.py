"""TLS for tests: a throw-away self-signed certificate and a TLS-only redis-server."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from pathlib import Path

from troubleshooter.lab.server import LabError, RedisServer, free_port


def make_cert(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for `name` (CN and subjectAltName), valid one day.

    Returns (certificate, key); the certificate is its own CA, so pass it as ssl_ca_certs.
    """
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def start_tls_server(cert: Path, key: Path, *args: str) -> tuple[RedisServer, int]:
    """A started redis-server listening only on a TLS port: (server, tls_port).

    `--port 0` after RedisServer's own `--port` turns the plain port off (the last one wins);
    RedisServer.wait_ready pings the plain port, so readiness is polled on the TLS port here.
    """
    tls_port = free_port()
    server = RedisServer(
        "--port", "0", "--tls-port", str(tls_port), "--tls-cert-file", str(cert),
        "--tls-key-file", str(key), "--tls-auth-clients", "no", *args, wait=False,
    )
    server.start()
    try:
        wait_tls_ready(server, tls_port)
    except BaseException:
        server.stop()
        raise
    return server, tls_port


def wait_tls_ready(server: RedisServer, port: int, deadline: float = 10.0) -> None:
    """Block until a TLS handshake (unverified) on `port` succeeds, or raise LabError."""
    sslctx = ssl.create_default_context()
    sslctx.check_hostname = False
    sslctx.verify_mode = ssl.CERT_NONE
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.proc is not None and server.proc.poll() is not None:
            raise LabError(f"redis-server exited: {server.log_tail()}")
        try:
            with socket.create_connection((server.host, port), timeout=0.5) as raw, \
                    sslctx.wrap_socket(raw):
                return
        except OSError:
            time.sleep(0.02)
    raise LabError(f"TLS port {port} not ready: {server.log_tail()}")
