"""The benchmark's scenarios: a real server on 127.0.0.1 with one fault really injected.

Each `setup(lab)` returns the URL to diagnose and registers the teardown of everything it
started (servers, a worker, a thread) on `lab.stack`, so the caller's `with ExitStack()` stops
them by PID whatever happens. Server faults come from `troubleshooter.lab.faults` (the same
injectors the tests and drills use); the rest (a stopped port, TLS, HTTP, DNS, RQ data and a
live worker) are set up here.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from troubleshooter.lab import faults
from troubleshooter.lab.server import RedisServer, free_port

PASSWORD = "bench-s3cret"  # the server's password; never printed
QUEUE = "default"


@dataclass
class Lab:
    """What a setup needs: the stack that tears down, the clean environment, the venv's bin."""

    stack: ExitStack
    env: Mapping[str, str]
    bin_dir: Path


@dataclass(frozen=True)
class Scenario:
    """One row of the table. `expect` is the diagnosis code (None: no error diagnosis);
    `expect_finding` a code that must be among the findings (faults that are only warnings)."""

    name: str
    setup: Callable[[Lab], str]
    expect: str | None
    expect_finding: str | None = None
    count_commands: bool = False
    ratio_target: bool = False
    max_seconds: float | None = None
    about: str = ""
    also_ok: tuple[str, ...] = ()
    still_faulty: Callable[[str], bool] | None = None


# --- helpers -------------------------------------------------------------------------------

def server(lab: Lab, *args: str, **kwargs: Any) -> RedisServer:
    """A started redis-server that `lab.stack` stops (SIGCONT + SIGKILL by PID, then reaped)."""
    srv = RedisServer(*args, **kwargs)
    lab.stack.callback(srv.stop)
    return srv.start()


def client(lab: Lab, port: int, **kwargs: Any) -> redis.Redis:
    """A no-retry client: a setup step that fails must fail at once, not after 4 s."""
    conn = redis.Redis(host="127.0.0.1", port=port, socket_timeout=3, socket_connect_timeout=3,
                       retry=Retry(NoBackoff(), 0), protocol=2, **kwargs)
    lab.stack.callback(conn.close)
    return conn


def until(predicate: Callable[[], bool], what: str, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def url(port: int, userinfo: str = "") -> str:
    return f"redis://{userinfo + '@' if userinfo else ''}127.0.0.1:{port}/0"


# --- network faults ------------------------------------------------------------------------

def healthy(lab: Lab) -> str:
    return server(lab).url


def stopped(lab: Lab) -> str:
    """A server that ran and was stopped: its port now refuses connections."""
    srv = RedisServer().start()
    srv.stop()
    return srv.url


def dns_failure(lab: Lab) -> str:
    return "redis://no-such-host.invalid:6379/0"


def not_redis(lab: Lab) -> str:
    """A tiny HTTP server: it answers `PING` with an HTTP 400 page."""

    class Quiet(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    lab.stack.callback(httpd.server_close)
    lab.stack.callback(thread.join, 5)
    lab.stack.callback(httpd.shutdown)
    return url(httpd.server_address[1])


def tls_mismatch(lab: Lab) -> str:
    """`redis://` to a TLS-only port: the server resets the plain-text connection."""
    certs = Path(tempfile.mkdtemp(prefix="ts-bench-tls-"))
    lab.stack.callback(shutil.rmtree, certs, True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(certs / "k.pem"), "-out", str(certs / "c.pem")],
        check=True, capture_output=True, timeout=60,
    )
    tls_port = free_port()
    srv = server(lab, "--port", "0", "--tls-port", str(tls_port), "--tls-cert-file",
                 str(certs / "c.pem"), "--tls-key-file", str(certs / "k.pem"),
                 "--tls-auth-clients", "no", wait=False)
    until(lambda: _tls_ready(tls_port), f"the TLS port {tls_port} ({srv.log_tail()})")
    return url(tls_port)


def _tls_ready(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw, \
                ctx.wrap_socket(raw):
            return True
    except OSError:
        return False


# --- server faults: troubleshooter.lab.faults injects them ----------------------------------

def sigstop(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.paused(srv))
    return srv.url


def auth_required(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.requirepass(srv, PASSWORD))
    return srv.url


def auth_failed(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.requirepass(srv, PASSWORD))
    return url(srv.port, ":not-the-password")


def acl_denied(lab: Lab) -> str:
    """A user that logs in and reads, but may not write (RQ cannot enqueue or heartbeat)."""
    srv = server(lab)
    lab.stack.enter_context(faults.acl_user(srv, "rqapp", "apppw", "~*", "&*", "+@all",
                                            "-@write"))
    return url(srv.port, "rqapp:apppw")


def protected_mode(lab: Lab) -> str:
    """Through a relay from 127.0.0.2, which Redis 7.0 does not count as local: -DENIED."""
    return lab.stack.enter_context(faults.protected_mode(server(lab)))


def max_clients(lab: Lab) -> str:
    """maxclients 1 while this process holds the one connection."""
    srv = server(lab)
    lab.stack.enter_context(faults.max_clients(srv, limit=1))
    return srv.url


def oom(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.fill_memory(srv, "2mb", "noeviction"))
    return srv.url


def eviction_policy(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.eviction_policy(srv, "allkeys-lru"))
    return srv.url


def replica_dead_master(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.replica_of_dead_master(srv))
    return srv.url


def misconf(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.misconf(srv))
    return srv.url


def busy(lab: Lab) -> str:
    srv = server(lab)
    lab.stack.enter_context(faults.busy_script(srv, seconds=60))
    return srv.url


def loading(lab: Lab) -> str:
    """Loading lasts ~40 s: longer than the measurement (checked after it), and the server is
    stopped as soon as the row is done."""
    return lab.stack.enter_context(faults.loading(seconds=40)).url


def still_loading(target: str) -> bool:
    """Whether the server still loads: the measurement saw the fault from start to end."""
    conn = redis.Redis.from_url(target, protocol=2, socket_timeout=2, retry=Retry(NoBackoff(), 0))
    try:
        return bool(conn.info("persistence")["loading"] == 1)
    finally:
        conn.close()


def sentinel(lab: Lab) -> str:
    """A Sentinel's port (monitoring a healthy master) used as if it were Redis."""
    return lab.stack.enter_context(faults.sentinel(server(lab))).url


def cluster_node(lab: Lab) -> str:
    """One node of a healthy 3-node cluster: RQ does not support Cluster."""
    return lab.stack.enter_context(faults.cluster(3))[0].url


# --- RQ ------------------------------------------------------------------------------------

def rq_backlog(lab: Lab) -> str:
    """1,200 queued jobs (over the playbook's 1,000) and no worker."""
    from rq import Queue

    srv = server(lab)
    conn = client(lab, srv.port)
    queue = Queue(QUEUE, connection=conn)
    with conn.pipeline() as pipe:
        queue.enqueue_many([Queue.prepare_data("time.sleep", (0,)) for _ in range(1200)],
                           pipeline=pipe)
        pipe.execute()
    return srv.url


def rq_worker(lab: Lab) -> str:
    """The realistic healthy case: a live `rq worker` that has finished jobs and failed one."""
    from rq import Queue, Worker

    srv = server(lab)
    conn = client(lab, srv.port)
    queue = Queue(QUEUE, connection=conn)
    for _ in range(5):
        queue.enqueue("time.sleep", 0)
    queue.enqueue("math.sqrt", -1)  # ValueError: one job in the failed registry
    worker = subprocess.Popen(
        [str(lab.bin_dir / "rq"), "worker", "--url", srv.url, "--name", "bench-worker", QUEUE],
        env=dict(lab.env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lab.stack.callback(_stop_worker, worker)
    until(lambda: len(Worker.all(connection=conn)) == 1 and queue.count == 0
          and queue.failed_job_registry.count == 1, "the worker to run the jobs", 20.0)
    return srv.url


def _stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM is rq's warm shutdown; SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(timeout=5)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("healthy", healthy, None, count_commands=True, ratio_target=True,
             about="a fresh, empty redis-server"),
    Scenario("stopped", stopped, "network.refused", max_seconds=0.5,
             about="the server was stopped"),
    Scenario("sigstop", sigstop, "server.unresponsive", about="SIGSTOPped process"),
    Scenario("auth_required", auth_required, "server.auth_required",
             about="requirepass, no password in the URL"),
    Scenario("auth_failed", auth_failed, "server.auth_failed", about="a wrong password"),
    Scenario("acl_denied", acl_denied, "server.acl_denied", about="ACL user +@all -@write"),
    Scenario("protected_mode", protected_mode, "server.protected_mode",
             about="a client from 127.0.0.2 (relay), no password"),
    Scenario("max_clients", max_clients, "server.max_clients",
             about="maxclients 1, one connection held"),
    Scenario("oom", oom, "server.oom", about="maxmemory reached under noeviction"),
    Scenario("eviction", eviction_policy, None, "server.eviction_policy",
             about="maxmemory-policy allkeys-lru (a warning)"),
    Scenario("replica", replica_dead_master, "server.readonly",
             also_ok=("server.replica_link_down",), about="replica of a dead master"),
    Scenario("misconf", misconf, "server.persistence_failed", about="a failed BGSAVE"),
    Scenario("busy", busy, "server.busy", about="an endless Lua script"),
    Scenario("loading", loading, "server.loading", still_faulty=still_loading,
             about="a slow dataset load"),
    Scenario("sentinel", sentinel, "server.wrong_mode", about="a Sentinel's port"),
    Scenario("cluster", cluster_node, "rq.cluster_unsupported",
             about="a node of a 3-node cluster (RQ is not cluster-aware)"),
    Scenario("tls_mismatch", tls_mismatch, "network.tls_mismatch",
             about="redis:// to a TLS-only port"),
    Scenario("not_redis", not_redis, "network.not_redis", about="an HTTP server"),
    Scenario("dns", dns_failure, "network.dns_failed", about="no-such-host.invalid"),
    Scenario("rq_backlog", rq_backlog, "rq.no_workers", "rq.backlog",
             about="1,200 queued jobs, no worker"),
    Scenario("rq_worker", rq_worker, None, count_commands=True, ratio_target=True,
             about="healthy, with a live rq worker and finished/failed jobs"),
)
