"""The run's seams against a real Redis: one connection per endpoint, checks stopped at their
limit (connection closed, command killed), the run's deadline, resolved endpoints."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from troubleshooter import playbook
from troubleshooter.checks import CHECKS
from troubleshooter.checks.base import Budget, CheckContext, CheckKind, Outcome, Param, Resolved
from troubleshooter.checks.server.link import command, open_link
from troubleshooter.checks.service.restart import COMMAND_S
from troubleshooter.connector import Connector
from troubleshooter.engine import Engine, RunOptions
from troubleshooter.lab.relay import Forwarder
from troubleshooter.lab.server import RedisServer
from troubleshooter.session import Session
from troubleshooter.target import parse_target

pytestmark = pytest.mark.timeout(30)

SERVER_STEP = """
id: t
title: T
steps:
  - id: server
    title: Server
    actions:
      - {id: ping, check: redis_ping}
      - {id: info, check: redis_info, when: "ping.data.connected"}
      - {id: acl, check: acl_probe, when: "ping.data.connected"}
      - {id: queues, check: rq_queues, when: "ping.data.connected"}
      - {id: workers, check: rq_workers, when: "ping.data.connected"}
      - {id: registries, check: rq_registries, when: "ping.data.connected"}
"""


def run(text: str, url: str, kinds: dict[str, CheckKind] | None = None,
        connector: Connector | None = None, **options: Any) -> Session:
    registry = {**CHECKS, **(kinds or {})}
    pb = playbook.loads(text, "t.yaml", checks=registry)
    opts = RunOptions(**{"timeout": 2.0, **options})
    from troubleshooter.events import Nobody

    return Engine(pb, parse_target(url), Nobody(), opts, registry, environ={},
                  connector=connector).run()


def stats(server: RedisServer, section: str) -> dict[str, Any]:
    import redis

    with redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5, protocol=2) as client:
        return dict(client.info(section))


# -- one connection per endpoint -------------------------------------------------------------------
def test_the_server_checks_share_their_connections(redis_server: RedisServer) -> None:
    before = stats(redis_server, "stats")["total_connections_received"]
    session = run(SERVER_STEP, redis_server.url)
    after = stats(redis_server, "stats")["total_connections_received"]
    assert {c.status for c in session.steps[0].checks} <= {"pass", "warn"}  # warn: just started
    # Six checks on loopback take turns on one connection (one more: the INFO above).
    assert after - before - 1 == 1
    hellos = stats(redis_server, "commandstats").get("cmdstat_hello", {}).get("calls", 0)
    assert hellos == 1


def test_a_connector_opens_each_endpoint_once(redis_server: RedisServer) -> None:
    connector = Connector()
    ctx = CheckContext(parse_target(redis_server.url), {}, 2.0, connector=connector)
    try:
        for _ in range(3):
            link = open_link(ctx, ctx.budget())
            assert command(link.client, "PING") is True
            link.close()
        other = open_link(ctx, ctx.budget(), db=1)  # another db is another endpoint
        other.close()
        assert connector.opened == 2
    finally:
        connector.close()


def test_a_bare_target_still_gets_a_connection_of_its_own(redis_server: RedisServer) -> None:
    target = parse_target(redis_server.url)
    link = open_link(target, CheckContext(target, {}, 2.0).budget())
    link.close()
    assert link.protocol == 3 and link.hello["version"].startswith("7")


# -- stopping a check past its limit ---------------------------------------------------------------
def _stubborn(ctx: CheckContext) -> Outcome:
    """Waits on BLPOP with no time limit of its own (straight on the socket: the bounded reader
    would stop at the check's deadline): only its connection being closed ends it."""
    link = open_link(ctx, ctx.budget())
    try:
        conn: Any = link.client.connection_pool.get_connection()
        conn.send_command("BLPOP", "troubleshooter:test:never", 0)
        conn._sock.settimeout(None)
        got = conn._sock.recv(1)  # b"" once the connection is shut down
        conn.disconnect()
        link.client.connection_pool.release(conn)
        return Outcome("error", "connection closed", data={"rounds": 1, "got": repr(got)},
                       details=("waited 1 rounds",))
    finally:
        link.close()


STUBBORN = CheckKind("stubborn", _stubborn, "waits until stopped")
ONE_STUBBORN = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: wait, check: stubborn, timeout: 0.3}
      - {id: after, check: redis_ping}
"""


def test_a_check_past_its_limit_is_stopped_and_keeps_what_it_found(
        redis_server: RedisServer) -> None:
    start = time.monotonic()
    session = run(ONE_STUBBORN, redis_server.url, {"stubborn": STUBBORN})
    took = time.monotonic() - start
    wait, after = session.steps[0].checks
    assert wait.status == "timeout"
    assert wait.summary == "did not finish within 0.3 s; abandoned"
    # Stopped by closing its connection: it returned what it had, and no finding of it.
    assert wait.data["rounds"] >= 1 and wait.details == (f"waited {wait.data['rounds']} rounds",)
    assert wait.findings == ()
    assert after.status == "pass"  # the connection it shared is usable again
    assert took < 0.3 + 0.5 + 1.0
    assert session.status == "incomplete"


def _sleeper(ctx: CheckContext) -> Outcome:
    assert ctx.runner is not None
    result = ctx.runner.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=30)
    return Outcome("pass", result.describe(), data={"timed_out": result.timed_out,
                                                    "took": result.duration_s})


SLEEPER = CheckKind("sleeper", _sleeper, "runs a long command", time_limit=0.5,
                    capped_by_timeout=False)


def test_a_command_cannot_outlive_its_check(redis_server: RedisServer) -> None:
    text = ONE_STUBBORN.replace("{id: wait, check: stubborn, timeout: 0.3}",
                                "{id: cmd, check: sleeper}")
    start = time.monotonic()
    session = run(text, redis_server.url, {"sleeper": SLEEPER})
    cmd = session.steps[0].checks[0]
    # The runner cut the command at the check's limit and killed it; the check then finished.
    assert cmd.data["timed_out"] is True and cmd.data["took"] < 1.0
    assert time.monotonic() - start < 3.0


def _poller(own: bool) -> CheckKind:
    """A check that holds a connection only while it sends: PING, then sleep, for 10 s."""
    def poll(ctx: CheckContext) -> Outcome:
        import redis

        rounds, until = 0, time.monotonic() + 10
        try:
            while time.monotonic() < until:
                budget = Budget(1.0)
                link = (open_link(ctx.target, budget, connector=ctx.connector) if own
                        else open_link(ctx, budget))
                try:
                    link.client.ping()
                finally:
                    link.close()
                rounds += 1
                time.sleep(0.1)
        except redis.exceptions.ConnectionError as exc:
            return Outcome("error", str(exc), data={"rounds": rounds, "error": str(exc)})
        return Outcome("pass", "polled for 10 s", data={"rounds": rounds})

    return CheckKind("poller", poll, "polls until stopped")


def _check_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("check-")]


@pytest.mark.parametrize("own", [False, True], ids=["shared link", "link of its own"])
def test_a_stopped_check_gets_no_connection_after(redis_server: RedisServer, own: bool) -> None:
    # Stopped while it sleeps between two commands (nothing to close), it ends at the next.
    text = ONE_STUBBORN.replace("{id: wait, check: stubborn, timeout: 0.3}",
                                "{id: poll, check: poller, timeout: 0.3}")
    session = run(text, redis_server.url, {"poller": _poller(own)})
    poll, after = session.steps[0].checks
    assert poll.status == "timeout"
    assert poll.data["rounds"] >= 1
    # Refused its next connection (or, if stopped while it sent, its socket closed): it ended.
    assert poll.data["error"] in ("stopped: the check is past its time limit",
                                  "Error 32 while writing to socket. Broken pipe.",
                                  "Connection closed by server.")
    assert after.status == "pass"  # the run's other checks still connect
    give_up = time.monotonic() + 2
    while _check_threads() and time.monotonic() < give_up:
        time.sleep(0.05)
    assert _check_threads() == []


@pytest.fixture
def slow_save(tmp_path: Path) -> Iterator[RedisServer]:
    """A real server whose BGSAVE takes 0.1 s a key (rdb-key-save-delay)."""
    server = RedisServer(directory=tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def _save(server: RedisServer, keys: int, timeout: float) -> tuple[Any, Any]:
    import redis

    admin = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    admin.mset({f"k{i}": "v" for i in range(keys)})
    admin.config_set("rdb-key-save-delay", 100_000)  # µs a key
    text = ONE_STUBBORN.replace("{id: wait, check: stubborn, timeout: 0.3}",
                                f"{{id: save, check: redis_bgsave, timeout: {timeout}, "
                                "destructive: true}")
    return run(text, server.url, assume_yes=True).steps[0].checks[0], admin


def test_a_save_longer_than_one_command_is_waited_for(slow_save: RedisServer) -> None:
    save, admin = _save(slow_save, 30, timeout=20)  # ~3 s: longer than COMMAND_S
    assert (save.status, save.data) == ("pass", {"saved": True}), save.summary
    assert int(admin.info("persistence")["rdb_bgsave_in_progress"]) == 0


def test_a_server_that_stops_answering_during_the_save_is_seen_at_once(
        slow_save: RedisServer) -> None:
    pause = threading.Timer(0.5, slow_save.pause)  # mid-save: ~10 s of it left
    pause.start()
    try:
        save, _ = _save(slow_save, 100, timeout=20)
    finally:
        pause.join()
        slow_save.resume()
    # One INFO of the wait timed out (COMMAND_S), not the whole wait (60 s) or the limit (20 s).
    assert save.status == "error" and "Timeout" in save.summary, save.summary
    assert save.duration_ms < (0.5 + COMMAND_S + 1.5) * 1000


def test_a_bgsave_past_its_limit_stops_waiting(slow_save: RedisServer) -> None:
    start = time.monotonic()
    save, admin = _save(slow_save, 100, timeout=0.5)  # ~10 s
    assert save.status == "timeout"
    assert int(admin.info("persistence")["rdb_bgsave_in_progress"]) == 1  # still saving
    give_up = time.monotonic() + 2
    while _check_threads() and time.monotonic() < give_up:
        time.sleep(0.05)
    # Its wait (60 s) ended with its limit: no thread of it still polls the server.
    assert _check_threads() == []
    assert time.monotonic() - start < 5


# -- the run's deadline ----------------------------------------------------------------------------
@pytest.fixture
def slow_link(redis_server: RedisServer) -> Iterator[Forwarder]:
    relay = Forwarder(redis_server, delay_ms=300).start()
    try:
        yield relay
    finally:
        relay.close()


NETWORK_AND_SERVER = SERVER_STEP.replace("""steps:
""", """steps:
  - id: network
    title: Network
    actions:
      - {id: tcp, check: tcp_connect}
      - {id: resp, check: resp_probe}
""")


def test_behind_a_slow_link_the_deadline_ends_the_run(slow_link: Forwarder) -> None:
    start = time.monotonic()
    session = run(NETWORK_AND_SERVER, slow_link.url, deadline=1.5)
    took = time.monotonic() - start
    assert took < 1.5 + 0.5
    checks = {c.id: c for s in session.steps for c in s.checks}
    stopped = [c for c in checks.values() if c.status == "timeout"]
    cut = [c for c in checks.values() if c.status == "skipped"]
    assert stopped and all("the run's deadline passed" in c.summary for c in stopped)
    assert cut and all(c.summary.startswith("deadline: the run's 1.5 s deadline passed")
                       for c in cut)
    assert (session.status, session.ended_by) == ("incomplete", "finished")


def test_without_a_deadline_the_same_run_completes(redis_server: RedisServer) -> None:
    session = run(NETWORK_AND_SERVER, redis_server.url, deadline=None)
    assert session.status == "healthy"


# -- endpoints resolved during the run -------------------------------------------------------------
def test_a_resolved_endpoint_is_where_later_checks_go(redis_server: RedisServer) -> None:
    def resolve(ctx: CheckContext) -> Outcome:
        real = parse_target(redis_server.url, "sentinel")
        return Outcome("pass", "the master is elsewhere",
                       resolved=Resolved(real, "master", "SENTINEL GET-MASTER-ADDR-BY-NAME x"))

    def where(ctx: CheckContext) -> Outcome:
        assert ctx.given is not None
        return Outcome("pass", ctx.target.address, data={"given": ctx.given.address})

    kinds = {"resolve": CheckKind("resolve", resolve, "resolves"),
             "where": CheckKind("where", where, "says where", params={"x": Param(int, 0)})}
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: before, check: where}
      - {id: master, check: resolve}
      - {id: after, check: where, when: "master.status == 'pass'"}
      - {id: ping, check: redis_ping, when: "after.status == 'pass'"}
"""
    session = run(text, "redis://127.0.0.1:1/0", kinds)
    checks = {c.id: c for c in session.steps[0].checks}
    assert checks["before"].summary == "127.0.0.1:1"
    assert checks["after"].summary == f"127.0.0.1:{redis_server.port}"
    assert checks["after"].data == {"given": "127.0.0.1:1"}
    assert checks["ping"].status == "pass"
    doc = session.to_dict()
    assert doc["target"]["port"] == 1  # the given target stays what it was
    assert doc["resolved_targets"] == [{
        "by": "master", "role": "master", "evidence": "SENTINEL GET-MASTER-ADDR-BY-NAME x",
        "target": parse_target(redis_server.url, "sentinel").to_dict()}]


def test_checks_after_the_deadline_are_skipped_and_the_run_is_incomplete() -> None:
    # The clock jumps while the operator answers: nothing is running when the deadline passes.
    now = [0.0]

    class Slow:
        def ask(self, step: Any, action: Any, question: str) -> Any:
            from troubleshooter.engine import Answered

            now[0] += 10
            return Answered(True)

        def confirm(self, step: Any, action: Any, question: str) -> bool:
            return False

    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: before, check: redis_url}
      - {id: slow, prompt: confirm, question: Ready?}
      - {id: after, check: redis_url}
"""
    pb = playbook.loads(text, "t.yaml")
    session = Engine(pb, parse_target("redis://127.0.0.1:1/0"), Slow(),
                     RunOptions(timeout=1.0, deadline=5.0), CHECKS, environ={},
                     clock=lambda: now[0]).run()
    before, after = session.steps[0].checks
    assert (before.status, after.status) == ("pass", "skipped")
    assert after.summary == "deadline: the run's 5 s deadline passed before it could run"
    assert (session.steps[0].status, session.status) == ("incomplete", "incomplete")


def test_a_budget_runs_on_the_injected_clock() -> None:
    now = [100.0]
    budget = CheckContext(parse_target("redis://127.0.0.1:1/0"), {}, 2.0,
                          clock=lambda: now[0]).budget()
    assert (budget.remaining(), budget.spent()) == (2.0, False)
    now[0] += 1.5
    assert (budget.remaining(), budget.elapsed_ms()) == (0.5, 1500.0)
    now[0] += 1.0
    assert budget.spent() and budget.left() == 0.05  # never a zero socket timeout


def test_what_a_kind_imports_is_loaded_before_its_clock_starts() -> None:
    sys.modules.pop("colorsys", None)

    def loaded(ctx: CheckContext) -> Outcome:
        return Outcome("pass", "ran", data={"loaded": "colorsys" in sys.modules})

    kinds = {"early": CheckKind("early", loaded, "imports", imports=("colorsys",)),
             "broken": CheckKind("broken", loaded, "imports", imports=("no_such_module_xyz",))}
    text = """
id: t
title: T
steps:
  - id: s
    title: S
    actions:
      - {id: early, check: early}
      - {id: broken, check: broken}
"""
    early, broken = run(text, "redis://127.0.0.1:1/0", kinds).steps[0].checks
    assert early.data == {"loaded": True}
    assert broken.status == "pass"  # a missing module is the check's to report, not the run's


def test_a_shared_connection_reads_until_its_current_check_s_deadline(
        redis_server: RedisServer) -> None:
    connector = Connector()
    target = parse_target(redis_server.url)
    try:
        short = CheckContext(target, {}, 0.3, connector=connector)
        link = open_link(short, short.budget())
        assert command(link.client, "PING") is True
        link.close()
        time.sleep(0.4)  # the first check's deadline has passed; its connection lives on
        later = CheckContext(target, {}, 2.0, connector=connector)
        link = open_link(later, later.budget())
        assert command(link.client, "PING") is True
        link.close()
        assert connector.opened == 1
    finally:
        connector.close()


@pytest.mark.parametrize(("handshake_s", "parallel"), [(0.002, 1), (0.3, 2)])
def test_checks_take_turns_on_a_near_endpoint_and_share_two_over_a_slow_link(
        handshake_s: float, parallel: int) -> None:
    entry = Connector().share("key", Any, 3, {}, (), handshake_s)  # type: ignore[arg-type]
    leases = [entry.slots.acquire(blocking=False) for _ in range(3)]
    assert leases.count(True) == parallel


# -- what a server said, read once per run ---------------------------------------------------------
INFO_TWICE = """
id: t
title: T
steps:
  - id: server
    title: Server
    actions:
      - {id: info, check: redis_info}
      - {id: config_server, check: config_server}
  - id: later
    title: Later
    actions:
      - {id: fixed, prompt: confirm, question: "Fixed it?"}
      - {id: again, check: config_server}
"""


def calls(server: RedisServer) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): row["calls"]
            for name, row in stats(server, "commandstats").items()}


def test_info_and_config_are_read_once_until_the_operator_answers(
        redis_server: RedisServer) -> None:
    from troubleshooter.events import Answered

    class Yes:  # the operator answers: they may have changed the server meanwhile
        def ask(self, *args: Any) -> Answered:
            return Answered(True, "operator")

        def confirm(self, *args: Any) -> bool:
            return True

    before = calls(redis_server)
    pb = playbook.loads(INFO_TWICE, "t.yaml", checks=CHECKS)
    session = Engine(pb, parse_target(redis_server.url), Yes(), RunOptions(timeout=2.0),
                     CHECKS, environ={}).run()
    after = calls(redis_server)
    assert [c.status in ("pass", "warn") for s in session.steps for c in s.checks] == [True] * 3
    read = {name: after.get(name, 0) - before.get(name, 0) for name in ("info", "config|get")}
    # redis_info reads both; config_server reuses them; after the answer they are read again
    # (the 1 extra INFO below is the `stats` call of this test).
    assert read == {"info": 2 + 1, "config|get": 2}


def test_facts_keep_a_reply_until_forgotten_or_too_old_and_never_an_error() -> None:
    from troubleshooter.connector import Facts

    now = [0.0]
    facts = Facts(clock=lambda: now[0], max_age=5.0)
    replies = iter(["first", "second", "third"])
    assert facts.get("INFO", lambda: next(replies)) == "first"
    assert facts.get("INFO", lambda: next(replies)) == "first"
    now[0] = 5.1  # too old
    assert facts.get("INFO", lambda: next(replies)) == "second"
    facts.forget()
    assert facts.get("INFO", lambda: next(replies)) == "third"

    def broken() -> str:
        raise ConnectionError("gone")

    with pytest.raises(ConnectionError):
        facts.get("CONFIG", broken)
    assert facts.get("CONFIG", lambda: "read") == "read"  # the error was not kept
    assert facts.reads == 4


# -- the registry declares, the checks load when they run ------------------------------------------
def test_every_lazy_reference_of_the_registry_resolves() -> None:
    from troubleshooter.checks.base import Lazy

    for kind in CHECKS.values():
        for fn in (kind.run, kind.preview, kind.check_params):
            if isinstance(fn, Lazy):
                assert callable(fn.load()), f"{kind.name}: {fn.ref}"


def test_loading_the_registry_imports_no_check_code() -> None:
    import json
    import subprocess

    code = ("import json, sys; import troubleshooter.checks; "
            "print(json.dumps([m for m in sys.modules if m.startswith('troubleshooter.checks.')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    loaded = set(json.loads(out))
    for module in ("network.probes", "network.discovery", "server.ping", "server.info",
                   "server.acl", "topology.cluster", "topology.sentinel", "topology.stale",
                   "support.bundle_check", "service.detect", "service.restart",
                   "rq.requeue", "rq.queues", "config.check"):
        assert f"troubleshooter.checks.{module}" not in loaded, module


def test_a_read_in_flight_when_the_run_forgets_is_not_kept() -> None:
    from troubleshooter.connector import Facts

    facts = Facts()

    def read_across_a_change() -> str:
        facts.forget()  # the operator answered while INFO was on its way
        return "before"

    assert facts.get("INFO", read_across_a_change) == "before"
    assert facts.get("INFO", lambda: "after") == "after"


def test_after_forget_the_next_check_handshakes_again(redis_server: RedisServer) -> None:
    from troubleshooter.checks.base import Budget

    connector = Connector()
    ctx = CheckContext(parse_target(redis_server.url), {}, 2.0, connector=connector)
    try:
        open_link(ctx, Budget(2.0)).close()
        open_link(ctx, Budget(2.0)).close()
        assert connector.opened == 1
        connector.forget()  # e.g. a restart ran: HELLO's role and version may have changed
        open_link(ctx, Budget(2.0)).close()
        assert connector.opened == 2
    finally:
        connector.close()


_RECORD_IMPORTS = """
import json, sys, threading
on_threads = []
class _Seen:
    def find_spec(self, name, path=None, target=None):
        if name.startswith("troubleshooter") and threading.current_thread() is not \\
                threading.main_thread():
            on_threads.append(name)
sys.meta_path.insert(0, _Seen())
"""


def test_a_healthy_triage_imports_none_of_what_it_does_not_use(tmp_path: Any) -> None:
    """The shipped playbook, no log, no worker, no job, no .env here: no command run, no
    transcript read back, no Sentinel URL, no password file, nothing to judge, no file to read."""
    import json
    import os
    import subprocess

    loaded = tmp_path / "loaded.json"
    code = _RECORD_IMPORTS + (
        "from troubleshooter.cli import main; code = main(sys.argv[2:]); "
        "open(sys.argv[1], 'w').write(json.dumps([code, sorted(sys.modules), on_threads]))")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with RedisServer("--logfile", "") as server:  # a Redis log would be read
        for _ in range(2):  # the first run keeps the playbook's parse
            done = subprocess.run([sys.executable, "-X", "importtime", "-c", code, str(loaded),
                                   "run", "--non-interactive", "--json", "--url", server.url],
                                  env=env, capture_output=True, check=True, timeout=60,
                                  stdin=subprocess.DEVNULL, cwd=tmp_path, text=True)
    code, modules, on_threads = json.loads(loaded.read_text())
    # What a check needs is imported before its clock starts (CheckKind.imports, its code),
    # on the run's own thread: not inside the check, where its import would count as its time.
    assert on_threads == []
    # Start-up time is measured with -X importtime: it must see every module of ours loaded.
    timed = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:")}
    assert {m for m in modules if m.startswith("troubleshooter")} <= timed
    assert code in (0, 1)  # a server that just started may warn
    assert {"troubleshooter.checks.rq.registries", "troubleshooter.checks.logs.kind"} <= \
        set(modules)  # the run went through its RQ and log checks
    for module in ("cmdrunner", "sessionload", "credentials", "commands", "logscan",
                   "logscan.cli", "topology.sentinel_url", "checks.rq.horse", "checks.rq.judge",
                   "checks.rq.failures", "checks.logs.timestamps", "checks.config.files",
                   "checks.server.master", "yamlparse", "ui.prompts", "checks.server.errors"):
        assert f"troubleshooter.{module}" not in modules, module
    # Drawn into a pipe without rich; the shipped playbook's parse was kept by the run before.
    assert not any(m == "rich" or m.startswith(("rich.", "yaml")) for m in modules)


_COUNT_COLLECTIONS = """
import gc, json, os, sys
from troubleshooter import cli
path, runs = sys.argv[1], []
gc.callbacks.append(lambda phase, info: phase == "start" and runs.append(info["generation"]))
leave = os._exit
def _exit(code):
    open(path, "w").write(json.dumps([code, runs]))
    leave(code)
os._exit = _exit
sys.argv = ["troubleshooter", *sys.argv[2:]]
cli.entry()
"""


def test_a_healthy_triage_is_not_paused_by_the_garbage_collector(tmp_path: Any) -> None:
    """The installed command's entry: what a command allocates mostly lives as long as it
    does; a healthy triage allocates fewer objects than one young collection waits for."""
    import json
    import os
    import subprocess

    result = tmp_path / "result.json"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with RedisServer("--logfile", "") as server:
        subprocess.run([sys.executable, "-c", _COUNT_COLLECTIONS, str(result), "run",
                        "--non-interactive", "--json", "--url", server.url], env=env,
                       capture_output=True, check=False, timeout=60, stdin=subprocess.DEVNULL,
                       cwd=tmp_path)
    code, collections = json.loads(result.read_text())
    assert code in (0, 1)  # a server that just started may warn
    assert collections == []


def test_a_long_command_still_collects_its_cycles() -> None:
    """`watch`, a drill, an interactive run: cyclic garbage waits for at most one young
    collection's worth of objects, then is collected without anyone asking."""
    import subprocess

    code = ("import gc; from troubleshooter.cli import _gc_for_a_command, GC_YOUNG_OBJECTS\n"
            "_gc_for_a_command()\n"
            "for _ in range(3 * GC_YOUNG_OBJECTS):\n"
            "    a = []; a.append(a)\n"
            "del a\n"
            "left = gc.collect()\n"
            "print(left, GC_YOUNG_OBJECTS, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    left, young, enabled = int(out[0]), int(out[1]), out[2]
    assert enabled == "True"
    assert left <= young  # the other 2-3 young collections' worth went on their own
