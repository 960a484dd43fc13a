"""The acceptance test of the shipped outage playbook: every failure a Redis outage can present,
really injected into a real redis-server, is named by steps 1 and 2 with the right finding code,
in the right layer, with a remedy - within the time limit and without leaking a password.

Each scenario runs `troubleshooter run --non-interactive --json` as an operator would (in-process
through `cli.main`, or as the installed command for a few) and reads the JSON session it prints.
The expected codes are the facts of REDIS-FAILURES.md, not what the checks happen to say today:
a wrong diagnosis is an xfail(strict) with its reason, never a weakened assertion.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue

from tests import tlsutil
from tests.rqworkers import RqWorker, wait_until
from troubleshooter.cli import main
from troubleshooter.lab import faults
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.target import parse_target

PASSWORD = "Tst-pw-9f3k"
WRONG_PASSWORD = "Wrng-pw-4x7q"
SECRETS = (PASSWORD, WRONG_PASSWORD)
# The app's ACL user, made on the command line: the default user keeps no password, so the
# lab's fault injectors (which connect as the default user) work, while every URL carries a
# secret that could leak; and there is nothing to undo on a server a fault has blocked.
APP_USER = "rqapp"
APP_USER_ARGS = ("--user", APP_USER, "on", f">{PASSWORD}", "~*", "&*", "+@all")
TIMEOUT = 2.0
# The whole run, all six steps, must end within the per-check time limit plus this.
RUN_SLACK = 1.0
COMMAND = Path(sys.executable).with_name("troubleshooter")


@dataclass(frozen=True)
class Setup:
    """How the faulty target is handed to the tool, and the place the diagnosis must name."""

    url: str | None  # --url; None: the environment gives it
    env: Mapping[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    place: str = ""  # default: the URL's host:port

    def where(self) -> str:
        if self.place:
            return self.place
        assert self.url is not None
        return parse_target(self.url).address


@dataclass(frozen=True)
class Lab:
    """What scenarios share: a throw-away self-signed certificate (slow to make)."""

    cert: Path
    key: Path


Inject = Callable[[Lab], AbstractContextManager[Setup]]


@dataclass(frozen=True)
class Scenario:
    """A fault, and what the run must conclude: the code, its severity and its step."""

    name: str
    inject: Inject
    expected: str | None
    severity: str = "error"
    step: str = "server"  # the playbook step whose check names the cause
    also: tuple[str, ...] = ()  # other codes the evidence must show besides the cause
    named_in: str = "summary"  # the diagnosis field (summary, evidence) naming Setup.where()
    command: bool = False  # run the installed command in a subprocess, not cli.main
    marks: tuple[Any, ...] = ()


def app_url(host: str, port: int, *, password: str = PASSWORD, user: str = APP_USER,
            scheme: str = "redis", db: int = 0) -> str:
    """The app's URL: its ACL user and password."""
    return f"{scheme}://{user}:{password}@{host}:{port}/{db}"


def server_url(server: RedisServer, **kw: Any) -> str:
    return app_url(server.host, server.port, **kw)


def app_server(*args: str, port: int | None = None) -> RedisServer:
    """A redis-server (not started) with the app's ACL user: all keys, channels and commands."""
    return RedisServer(*APP_USER_ARGS, *args, port=port)


def rq_conn(server: RedisServer) -> redis.Redis:
    return redis.Redis(host=server.host, port=server.port, username=APP_USER, password=PASSWORD,
                       socket_timeout=5, socket_connect_timeout=5)


def relay_port(url: str) -> int:
    return parse_target(url).port


# --- step 1: configuration and network ------------------------------------------------------


@contextmanager
def healthy(lab: Lab) -> Iterator[Setup]:
    with app_server() as server:
        yield Setup(server_url(server))


@contextmanager
def stopped(lab: Lab) -> Iterator[Setup]:
    server = RedisServer().start()
    server.stop()  # the port it had is refused now
    yield Setup(server_url(server))


@contextmanager
def wrong_port(lab: Lab) -> Iterator[Setup]:
    """The URL names port P; the app's Redis runs on P+1 (a port changed in one place)."""
    port = _port_with_free_neighbour()
    with app_server(port=port + 1) as server:
        yield Setup(app_url(server.host, port), place=f"{server.host}:{server.port}")


def _port_with_free_neighbour() -> int:
    """A free port P whose P+1 can be bound too (a bind, not a connect, proves it is free)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@contextmanager
def dns_failure(lab: Lab) -> Iterator[Setup]:
    yield Setup(app_url("no-such-host.invalid", 6379), place="no-such-host.invalid")


@contextmanager
def malformed_url(lab: Lab) -> Iterator[Setup]:
    """A REDIS_URL pasted with an invisible LINE SEPARATOR (U+2028) after its port (at its end,
    redis-py ignores it and the run goes on with a warning: tests/rq/test_url_ends.py)."""
    with app_server() as server:
        url = server_url(server).replace("/0", "\u2028/0")
        yield Setup(None, env={"REDIS_URL": url}, place="REDIS_URL")


@contextmanager
def rest_url(lab: Lab) -> Iterator[Setup]:
    """The provider's HTTPS REST endpoint where a redis:// URL belongs."""
    yield Setup(f"https://default:{PASSWORD}@eu1-rest.no-such-host.invalid", place="--url")


@contextmanager
def plain_to_tls_port(lab: Lab) -> Iterator[Setup]:
    server, tls_port = tlsutil.start_tls_server(lab.cert, lab.key)
    try:
        yield Setup(app_url(server.host, tls_port))
    finally:
        server.stop()


@contextmanager
def tls_to_plain_port(lab: Lab) -> Iterator[Setup]:
    with app_server() as server:
        yield Setup(server_url(server, scheme="rediss"))


@contextmanager
def untrusted_cert(lab: Lab) -> Iterator[Setup]:
    """rediss:// to a TLS port whose self-signed certificate nobody trusts."""
    server, tls_port = tlsutil.start_tls_server(lab.cert, lab.key)
    try:
        yield Setup(app_url("localhost", tls_port, scheme="rediss"))
    finally:
        server.stop()


class _WebPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>not redis</html>")

    def log_message(self, *args: Any) -> None:
        pass  # keep the test output clean


@contextmanager
def http_server(lab: Lab) -> Iterator[Setup]:
    """A web server on the port the URL names."""
    web = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        yield Setup(app_url("127.0.0.1", int(web.server_address[1])))
    finally:
        web.shutdown()
        web.server_close()
        thread.join(timeout=5)


# --- step 2: the server ---------------------------------------------------------------------


@contextmanager
def sigstop(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.paused(server):
        yield Setup(server_url(server))


@contextmanager
def client_pause_all(lab: Lab) -> Iterator[Setup]:
    """CLIENT PAUSE ALL: every command blocks (stopping the server ends it)."""
    with app_server() as server:
        faults.admin_client(server).client_pause(30000, all=True)
        yield Setup(server_url(server))


@contextmanager
def _write_paused(server: RedisServer) -> Iterator[None]:
    """CLIENT PAUSE WRITE with one app client stuck in an LPUSH (blocked_clients:1)."""
    faults.admin_client(server).client_pause(30000, all=False)
    with socket.create_connection((server.host, server.port), timeout=5) as app:
        app.sendall(b"LPUSH rq:queue:orchestrator job\r\n")
        wait_until(lambda: faults.admin_client(server).info("clients")["blocked_clients"],
                   what="the app's LPUSH to block")
        yield


@contextmanager
def client_pause_write(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, _write_paused(server):
        yield Setup(server_url(server))


@contextmanager
def client_pause_write_probed(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, _write_paused(server):
        yield Setup(server_url(server), args=("--write-probe",))


@contextmanager
def auth_required(lab: Lab) -> Iterator[Setup]:
    """requirepass on the server, no password in the URL."""
    with RedisServer() as server, faults.requirepass(server, PASSWORD):
        yield Setup(f"redis://{server.host}:{server.port}/0")


@contextmanager
def auth_failed(lab: Lab) -> Iterator[Setup]:
    """The password was rotated on the server, not in the app."""
    with RedisServer() as server, faults.requirepass(server, PASSWORD):
        yield Setup(f"redis://:{WRONG_PASSWORD}@{server.host}:{server.port}/0")


@contextmanager
def acl_read_only(lab: Lab) -> Iterator[Setup]:
    """REDIS-FAILURES.md's NOPERM recipe: the app's user may only read rq:* keys and PING."""
    with RedisServer() as server, \
            faults.acl_user(server, APP_USER, PASSWORD, "~rq:*", "+@read", "+ping"):
        yield Setup(server_url(server))


@contextmanager
def acl_no_writes(lab: Lab) -> Iterator[Setup]:
    """The app's user may run everything but write commands."""
    with RedisServer() as server, \
            faults.acl_user(server, APP_USER, PASSWORD, "~rq:*", "&*", "+@all", "-@write"):
        yield Setup(server_url(server))


@contextmanager
def protected_mode(lab: Lab) -> Iterator[Setup]:
    """The app connects from 127.0.0.2 (not local to 7.0) to a passwordless default user."""
    with app_server() as server, faults.protected_mode(server) as relay_url:
        yield Setup(app_url("127.0.0.1", relay_port(relay_url)))


@contextmanager
def max_clients(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.max_clients(server, limit=1):
        yield Setup(server_url(server))


@contextmanager
def oom(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.fill_memory(server):
        yield Setup(server_url(server))


@contextmanager
def eviction_policy(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.eviction_policy(server):
        yield Setup(server_url(server))


@contextmanager
def replica_of_dead_master(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.replica_of_dead_master(server):
        yield Setup(server_url(server))


@contextmanager
def misconf(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.misconf(server):
        yield Setup(server_url(server))


@contextmanager
def busy(lab: Lab) -> Iterator[Setup]:
    with app_server() as server, faults.busy_script(server):
        yield Setup(server_url(server))


@contextmanager
def loading(lab: Lab) -> Iterator[Setup]:
    with faults.loading(10, *APP_USER_ARGS) as server:
        yield Setup(server_url(server))


@contextmanager
def db_out_of_range(lab: Lab) -> Iterator[Setup]:
    with app_server() as server:
        yield Setup(server_url(server, db=99))


@contextmanager
def sentinel(lab: Lab) -> Iterator[Setup]:
    """The URL names the Sentinel's port, as if it were the master."""
    with app_server() as master, faults.sentinel(master) as watcher:
        yield Setup(f"redis://{watcher.host}:{watcher.port}/0")


@contextmanager
def cluster(lab: Lab) -> Iterator[Setup]:
    """A plain redis:// URL to one node of a healthy 3-node cluster."""
    with faults.cluster(3) as nodes, ExitStack() as users:
        for node in nodes:  # ACL users are per node in a cluster
            users.enter_context(faults.acl_user(node, APP_USER, PASSWORD, "~*", "&*", "+@all"))
        yield Setup(server_url(nodes[0]))


@contextmanager
def without_hello(lab: Lab) -> Iterator[Setup]:
    """A healthy server that, like Redis < 6, has no HELLO: clients must speak RESP2."""
    with app_server(*faults.NO_HELLO_ARGS) as server:
        yield Setup(server_url(server))


# --- step 2: RQ -----------------------------------------------------------------------------


@contextmanager
def jobs_without_worker(lab: Lab) -> Iterator[Setup]:
    """Jobs wait in `orchestrator`; no worker runs at all (the app's queue is not given)."""
    with app_server() as server:
        queue = Queue("orchestrator", connection=rq_conn(server))
        for _ in range(3):
            queue.enqueue("tests.rqjobs.noop_job")
        yield Setup(server_url(server))


@contextmanager
def queue_mismatch(lab: Lab) -> Iterator[Setup]:
    """The app enqueues to `orchestrator` (RQ_QUEUE_NAME); the only worker serves staging."""
    with app_server() as server:
        conn = rq_conn(server)
        Queue("orchestrator", connection=conn).enqueue("tests.rqjobs.noop_job")
        with RqWorker(server_url(server), "orchestrator-staging", name="w-staging") as worker:
            worker.wait_registered(conn)
            yield Setup(server_url(server), env={"RQ_QUEUE_NAME": "orchestrator"})


@contextmanager
def _killed_mid_job(server: RedisServer, queue_name: str) -> Iterator[None]:
    """A worker SIGKILLed with its work horse while it runs a job, as `kill -9` does."""
    job = Queue(queue_name, connection=rq_conn(server)).enqueue("tests.rqjobs.sleep_job", 30)
    worker = RqWorker(server_url(server), queue_name, name="w-killed").start()
    try:
        wait_until(lambda: job.get_status(refresh=True) == "started", what="the job to start")
    finally:
        worker.kill()
    yield


@contextmanager
def worker_killed_app_queue(lab: Lab) -> Iterator[Setup]:
    """The app's queue lost its only worker mid-job: nobody serves it now."""
    with app_server() as server, _killed_mid_job(server, "orchestrator"):
        yield Setup(server_url(server), args=("--queue", "orchestrator"))


@contextmanager
def worker_killed(lab: Lab) -> Iterator[Setup]:
    """The same kill, the app's queue unknown and nothing else queued: the lost job is all."""
    with app_server() as server, _killed_mid_job(server, "orchestrator"):
        yield Setup(server_url(server))


SCENARIOS = (
    Scenario("healthy", healthy, None, command=True),
    Scenario("stopped", stopped, "network.refused", step="network", command=True),
    # The playbook's rule: refused where the app looks + Redis next door = the wrong instance.
    # The finding is a warning of the `nearby` check; the rule makes it the cause. The rule's
    # summary is generic and the remedy names only the first instance found (a Redis of the
    # developer's own on 6379 would come first), so the evidence must name the other address.
    Scenario("wrong-port", wrong_port, "config.wrong_instance", severity="warning",
             step="network", also=("network.refused",), named_in="evidence"),
    Scenario("dns", dns_failure, "network.dns_failed", step="network"),
    Scenario("malformed-url", malformed_url, "config.malformed_url", step="network",
             command=True),
    Scenario("rest-url", rest_url, "config.not_redis_url", step="network"),
    Scenario("redis-to-tls-port", plain_to_tls_port, "network.tls_mismatch", step="network"),
    Scenario("rediss-to-plain-port", tls_to_plain_port, "network.tls_mismatch", step="network"),
    Scenario("untrusted-cert", untrusted_cert, "network.tls_failed", step="network"),
    Scenario("http-server", http_server, "network.not_redis", step="network"),
    # The kernel accepts, the stopped process never answers: step 1's RESP probe names it.
    Scenario("sigstop", sigstop, "server.unresponsive", step="network"),
    Scenario("client-pause-all", client_pause_all, "server.unresponsive", step="network"),
    # Reads answer, writes hang: INFO's redis_info sees the clients blocked on a write.
    Scenario("client-pause-write", client_pause_write, "server.unresponsive"),
    Scenario("client-pause-write-probed", client_pause_write_probed, "server.unresponsive"),
    Scenario("auth-required", auth_required, "server.auth_required"),
    Scenario("auth-failed", auth_failed, "server.auth_failed", command=True),
    Scenario("acl-read-only", acl_read_only, "server.acl_denied"),
    Scenario("acl-no-writes", acl_no_writes, "server.acl_denied"),
    # -DENIED is sent on accept, before any command: step 1's RESP probe already names it.
    Scenario("protected-mode", protected_mode, "server.protected_mode", step="network"),
    Scenario("max-clients", max_clients, "server.max_clients"),
    Scenario("oom", oom, "server.oom"),
    # A warning, not an outage: the run is healthy but must say it.
    Scenario("eviction-policy", eviction_policy, None, also=("server.eviction_policy",)),
    # READONLY, not replica_link_down: the app writes to a replica, and writes to a replica
    # fail whether or not its master lives - reviving the master would not make the app work,
    # pointing it at a master (or promoting this node) would. The dead link is the evidence
    # that tells the operator there is no master to go back to; it must be shown as well.
    Scenario("replica-of-dead-master", replica_of_dead_master, "server.readonly",
             also=("server.replica_link_down",)),
    Scenario("misconf", misconf, "server.persistence_failed"),
    Scenario("busy-script", busy, "server.busy"),
    Scenario("loading", loading, "server.loading", marks=(pytest.mark.slow,)),
    Scenario("db-out-of-range", db_out_of_range, "server.db_out_of_range"),
    Scenario("sentinel", sentinel, "server.wrong_mode"),
    Scenario("cluster", cluster, "rq.cluster_unsupported", marks=(pytest.mark.slow,)),
    # Redis < 6 has no HELLO: every check falls back to RESP2.
    Scenario("redis-without-hello", without_hello, None),
    Scenario("rq-jobs-no-worker", jobs_without_worker, "rq.no_workers"),
    Scenario("rq-queue-mismatch", queue_mismatch, "rq.queue_mismatch"),
    # The operator must first hear that nobody serves the app's queue (start a worker: later
    # jobs wait for it); the orphaned job is the next thing to repair, and the restart step's
    # requeue acts on it whatever the diagnosis says.
    Scenario("rq-worker-killed-app-queue", worker_killed_app_queue, "rq.no_workers",
             also=("rq.orphaned_jobs", "rq.dead_workers")),
    Scenario("rq-worker-killed", worker_killed, "rq.orphaned_jobs", also=("rq.dead_workers",)),
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    cert, key = tlsutil.make_cert(tmp_path_factory.mktemp("tls"))
    return Lab(cert, key)


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str
    saved: str
    elapsed: float


def _argv(setup: Setup, save: Path) -> list[str]:
    url = ["--url", setup.url] if setup.url is not None else []
    return ["run", *url, *setup.args, "--non-interactive", "--json", "--timeout", f"{TIMEOUT:g}",
            "--save", str(save)]


def run_in_process(setup: Setup, save: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> Result:
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()  # only the run's own output
    started = time.monotonic()
    code = main(_argv(setup, save))
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    return Result(code, out, err, save.read_text(encoding="utf-8"), elapsed)


def run_command(setup: Setup, save: Path) -> Result:
    """The installed `troubleshooter` command, stdin not a terminal."""
    env = {**os.environ, **setup.env}
    started = time.monotonic()
    proc = subprocess.run([str(COMMAND), *_argv(setup, save)], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=30)
    elapsed = time.monotonic() - started
    return Result(proc.returncode, proc.stdout, proc.stderr, save.read_text(encoding="utf-8"),
                  elapsed)


def describe(session: Mapping[str, Any]) -> str:
    """What the run concluded, for assertion messages."""
    diagnosis = session.get("diagnosis") or {}
    found = [(f["code"], f["severity"], f["step"], f["message"])
             for f in session.get("findings", [])]
    return json.dumps({"status": session.get("status"), "diagnosis": diagnosis.get("code"),
                       "summary": diagnosis.get("summary"), "findings": found},
                      indent=1, ensure_ascii=False)


def assert_diagnosis(scenario: Scenario, setup: Setup, result: Result) -> None:
    """Exit code, status, the cause's code, severity and step; the place named; a remedy."""
    session = json.loads(result.stdout)
    assert json.loads(result.saved) == session, "the saved session differs from the printed one"
    seen = describe(session)
    findings: dict[str, dict[str, Any]] = {}
    for found in session["findings"]:  # a code may be found twice: the first is the cause
        findings.setdefault(found["code"], found)
    for code in scenario.also:
        assert code in findings, seen
    if scenario.expected is None:
        assert (result.code, session["status"], session["diagnosis"]) == (0, "healthy", None), seen
        assert not [f for f in findings.values() if f["severity"] == "error"], seen
        return
    diagnosis = session["diagnosis"]
    assert diagnosis is not None, seen
    assert diagnosis["code"] == scenario.expected, seen
    assert (result.code, session["status"]) == (1, "problems"), seen
    cause = findings.get(scenario.expected)
    assert cause is not None, seen
    assert cause["severity"] == scenario.severity, seen
    assert diagnosis["step"] == cause["step"] == scenario.step, seen
    assert diagnosis["summary"].strip() and diagnosis["remedy"].strip(), seen
    named = diagnosis[scenario.named_in]
    text = "\n".join(named) if isinstance(named, list) else named
    assert setup.where() in text, (setup.where(), seen)


def assert_no_secret(result: Result) -> None:
    for secret in SECRETS:
        for where, text in (("stdout", result.stdout), ("stderr", result.stderr),
                            ("the saved session", result.saved)):
            assert secret not in text, f"a password leaked into {where}"


@pytest.mark.parametrize(
    "scenario", [pytest.param(s, id=s.name, marks=s.marks) for s in SCENARIOS],
)
def test_the_playbook_names_the_injected_fault(
    scenario: Scenario, lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    save = tmp_path / "session.json"
    with scenario.inject(lab) as setup:
        if scenario.command:
            result = run_command(setup, save)
        else:
            result = run_in_process(setup, save, capsys, monkeypatch)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Session saved" in result.stderr  # the human report went to stderr, and is checked
    assert_no_secret(result)
    assert_diagnosis(scenario, setup, result)
    assert result.elapsed <= TIMEOUT + RUN_SLACK, f"the run took {result.elapsed:.2f} s"

