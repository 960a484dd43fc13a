"""Step 1, network: the URL itself, DNS, TCP, TLS, the RESP handshake, Redis nearby.

Its kinds, declared here as data (their code loads when run).
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind, Param, lazy

# redis_nearby's usual ports.
DEFAULT_PORTS = [6379, 6380, 6381, 6382, 6390, 16379]
CONNECT_CODES = ("network.dns_failed", "network.refused", "network.timeout",
                 "network.unreachable", "network.permission_denied")
SOURCE = {
    "source_address": Param(str, "", "local IP to connect from (empty: the kernel's choice), "
                            "e.g. 127.0.0.2 to see what a non-local client sees"),
}
TLS_CODES = ("network.tls_mismatch", "network.tls_failed", "network.not_redis",
             "server.unresponsive")

KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        name="redis_url",
        run=lazy("troubleshooter.checks.network.url:run_redis_url"),
        help="The Redis URL parses, has no invisible characters and is a redis:// URL",
        params={"require_tls": Param(bool, False, "a non-local target without TLS is a warning")},
        codes=("config.missing", "config.malformed_url", "config.not_redis_url",
               "config.insecure"),
        needs_target=False,
    ),
    CheckKind("dns_resolve", lazy("troubleshooter.checks.network.probes:run_dns_resolve"),
              "Resolve the host name (all addresses). data: addresses",
              codes=("network.dns_failed",)),
    CheckKind("tcp_connect", lazy("troubleshooter.checks.network.probes:run_tcp_connect"),
              "Connect once to every resolved address, or to the unix socket. "
              "data: address, connect_ms, attempts", SOURCE, CONNECT_CODES),
    CheckKind("tls_handshake", lazy("troubleshooter.checks.network.probes:run_tls_handshake"),
              "rediss:// only: TLS handshake and certificate verification. data: tls_version, "
              "cipher, cert_subject, cert_san, cert_not_after, verified", SOURCE,
              CONNECT_CODES + TLS_CODES),
    CheckKind("resp_probe", lazy("troubleshooter.checks.network.probes:run_resp_probe"),
              "Send PING and judge the first reply: Redis, a TLS port, something else, silence. "
              "data: first_reply, reply_ms, address, tls", SOURCE,
              CONNECT_CODES + TLS_CODES + ("server.protected_mode",)),
    CheckKind(
        name="redis_nearby",
        run=lazy("troubleshooter.checks.network.discovery:run_redis_nearby"),
        help="Another Redis answers on the same host, on a usual or neighbouring port "
             "(wrong port / instance)",
        params={"ports": Param(list, DEFAULT_PORTS, "usual ports to probe, besides the target's "
                                                   "neighbours (port ± 2)")},
        codes=("config.wrong_instance",),
    ),
)
