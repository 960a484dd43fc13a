"""The command-line contract, run as a user runs it: the installed command in a subprocess."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from troubleshooter import __version__
from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.timeout(60)

BIN = Path(sys.executable).parent
TROUBLESHOOTER = str(BIN / "troubleshooter")
ROOT = Path(__file__).resolve().parent.parent
NETWORK_ONLY = str(ROOT / "tests" / "resources" / "network-only.yaml")
OUTAGE = ROOT / "playbooks" / "redis-outage.yaml"
PASSWORD = "cli-Pa55word-xyz"
COLOUR = re.compile(r"\x1b\[(3[0-7]|9[0-7]|38;)")


def run(*args: str, cmd: tuple[str, ...] = (TROUBLESHOOTER,), env: dict[str, str] | None = None,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """One run with stdin not a terminal (so non-interactive) and both outputs captured."""
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def sessions() -> list[Path]:
    return sorted((Path(os.environ["XDG_STATE_HOME"]) / "troubleshooter" / "sessions")
                  .glob("*.json"))


def stopped_url() -> str:
    server = RedisServer().start()
    server.stop()
    return server.url


@pytest.fixture
def auth_server() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD)
    try:
        yield server.start()
    finally:
        server.stop()


def url_of(server: RedisServer) -> str:
    return f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
    for path in sessions():
        assert PASSWORD not in path.read_text()


# -- exit codes and the verdict ------------------------------------------------------------------
@pytest.mark.parametrize("cmd", [(TROUBLESHOOTER,), (sys.executable, "-m", "troubleshooter")])
def test_healthy_exits_0(auth_server: RedisServer, cmd: tuple[str, ...]) -> None:
    done = run("run", NETWORK_ONLY, "--url", url_of(auth_server), cmd=cmd)
    assert done.returncode == 0, done.stderr
    assert "No problem found." in done.stdout
    assert "mode    non-interactive" in done.stdout
    assert done.stderr == ""
    assert_no_secret(done.stdout, done.stderr)


def test_run_is_the_default_command(redis_server: RedisServer) -> None:
    done = run(NETWORK_ONLY, "--json", env={"RQ_REDIS_URL": redis_server.url,
                                            "REDIS_URL": "redis://127.0.0.1:1/0"})
    doc = json.loads(done.stdout)
    assert done.returncode == 0
    assert (doc["target"]["source"], doc["target"]["port"]) == ("RQ_REDIS_URL", redis_server.port)


def test_stopped_redis_exits_1_with_network_refused() -> None:
    done = run(NETWORK_ONLY, "--url", stopped_url(), "--json")
    doc = json.loads(done.stdout)
    assert done.returncode == 1
    assert doc["status"] == "problems"
    assert doc["diagnosis"]["code"] == "network.refused"
    assert [(f["code"], f["severity"], f["step"]) for f in doc["findings"]] == [
        ("network.refused", "error", "network")]
    assert "network.refused — Connection refused" in done.stderr


@pytest.mark.parametrize(("url", "code"), [
    ("http://127.0.0.1:6379", "config.not_redis_url"),
    ("redis://127.0.0.1:notaport/0", "config.malformed_url"),
    (f"redis://:{PASSWORD}#x@127.0.0.1:6379/0", "config.malformed_url"),
    ("", "config.missing"),
])
def test_a_bad_url_is_the_diagnosis_not_a_crash(url: str, code: str) -> None:
    done = run(NETWORK_ONLY, "--url", url, "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["diagnosis"]["code"] == code
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)


def test_a_password_with_a_space_is_masked_too() -> None:
    done = run(NETWORK_ONLY, "--url", f"redis://:{PASSWORD} x@127.0.0.1:1/0", "--json")
    assert_no_secret(done.stdout, done.stderr)


# -- --json ---------------------------------------------------------------------------------------
def test_json_document_fields_and_types(auth_server: RedisServer) -> None:
    done = run(NETWORK_ONLY, "--url", url_of(auth_server), "--json", "--timeout", "2")
    assert done.returncode == 0
    assert done.stdout.startswith("{") and done.stdout.endswith("}\n")  # nothing else on stdout
    doc = json.loads(done.stdout)
    assert doc["schema"] == "troubleshooter.session/1"
    assert re.fullmatch(r"[0-9a-f]{32}", doc["trace_id"])
    assert doc["playbook"]["id"] == "network-only"
    assert doc["target"] == {
        "url": f"redis://:***@127.0.0.1:{auth_server.port}/0", "source": "--url",
        "scheme": "redis", "host": "127.0.0.1", "port": auth_server.port, "path": "", "db": 0,
        "username": None, "password_set": True}
    for stamp in (doc["started_at"], doc["finished_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert doc["started_at"] <= doc["finished_at"]
    assert (doc["status"], doc["ended_by"], doc["diagnosis"], doc["findings"]) == (
        "healthy", "finished", None, [])
    [network] = doc["steps"]
    assert {"id", "title", "status", "duration_ms", "checks", "answers"} <= set(network)
    assert isinstance(network["duration_ms"], int | float)
    assert [(c["id"], c["status"]) for c in network["checks"]] == [
        ("url", "pass"), ("dns", "pass"), ("tcp", "pass"), ("resp", "pass")]
    assert all(c["timeout"] == 2 for c in network["checks"])
    assert network["answers"][0]["status"] == "pending"
    # Human output went to stderr, and the saved session is the same document.
    assert "Step 1/1 · Network connectivity" in done.stderr
    [saved] = sessions()
    assert json.loads(saved.read_text())["trace_id"] == doc["trace_id"]
    assert saved.stat().st_mode & 0o777 == 0o600
    assert_no_secret(done.stdout, done.stderr)


def test_save_into_a_directory(tmp_path: Path) -> None:
    done = run(NETWORK_ONLY, "--url", stopped_url(), "--save", str(tmp_path))
    [saved] = tmp_path.iterdir()  # and no temporary file left next to it
    assert saved.suffix == ".json"
    assert f"Session saved: {saved}\n" in done.stdout  # one line, to copy
    assert json.loads(saved.read_text())["status"] == "problems"


def test_json_finding_fields() -> None:
    doc = json.loads(run(NETWORK_ONLY, "--url", stopped_url(), "--json").stdout)
    [found] = doc["findings"]
    assert set(found) == {"code", "severity", "step", "source", "message", "evidence", "remedy"}
    assert found["source"] == "tcp"
    assert isinstance(found["evidence"], list) and found["evidence"]
    assert {"code", "title", "summary", "remedy"} <= set(doc["diagnosis"])


# -- bad input: one line, exit 2, no traceback ----------------------------------------------------
@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "broken.yaml").write_text("seen: [unclosed\n")
    (tmp_path / "wrong.yaml").write_text("nope: true\n")
    (tmp_path / "binary.yaml").write_bytes(b"seen: \xff\xfe\n")
    (tmp_path / "bad-playbook.yaml").write_text("id: x\ntitle: X\nsteps: 3\n")
    return tmp_path


@pytest.mark.parametrize(("args", "message"), [
    (["--timeout", "abc"], "argument --timeout: not a number: 'abc'"),
    (["--timeout", "0"], "argument --timeout: must be more than 0 and at most 3600 seconds, got 0"),
    (["--url"], "argument --url: expected one argument"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ([NETWORK_ONLY, "--var", "nope=1"], "--var nope: network-only has no such variable"),
    ([NETWORK_ONLY, "--var", "novalue"], "--var takes NAME=VALUE, got 'novalue'"),
    (["missing.yaml"], "playbook file not found: missing.yaml"),
    (["no-such-playbook"], "no playbook named 'no-such-playbook'"),
    ([NETWORK_ONLY, "--answers", "absent.yaml"],
     "absent.yaml: cannot read answers file: No such file or directory"),
    ([NETWORK_ONLY, "--answers", "broken.yaml"], "broken.yaml:2:1: answers file is not valid YAML"),
    ([NETWORK_ONLY, "--answers", "wrong.yaml"],
     "wrong.yaml: 'nope' is not a manual action of network-only (known: seen)"),
    ([NETWORK_ONLY, "--answers", "binary.yaml"],
     "binary.yaml:1: cannot read answers file: byte 0xff is not UTF-8"),
    (["drill", "no-such-drill"], "no drill scenario 'no-such-drill'"),
    (["drill", "--url", "redis://x"], "a drill makes its own Redis: drop --url"),
])
def test_bad_input_is_one_line_and_exit_2(inputs: Path, monkeypatch: pytest.MonkeyPatch,
                                          args: list[str], message: str) -> None:
    monkeypatch.chdir(inputs)
    done = run(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("troubleshooter: error: ") and message in line
    assert "Traceback" not in done.stderr


def test_invalid_playbook_lists_every_problem(inputs: Path) -> None:
    done = run(str(inputs / "bad-playbook.yaml"), "--url", "redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert "bad-playbook.yaml:3: steps" in done.stderr
    assert "Traceback" not in done.stderr


def test_version() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout) == (0, f"troubleshooter {__version__}\n")


# -- cheap commands stay cheap ---------------------------------------------------------------------
PROBE = """
import sys, time
start = time.perf_counter()
from troubleshooter.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("redis", "rq", "questionary", "prompt_toolkit") if m in sys.modules)
print("PROBE", code, heavy, round(time.perf_counter() - start, 3), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [
    ["--help"], ["run", "--help"], ["drill", "--help"], ["--version"],
    ["validate", NETWORK_ONLY], ["checks"], ["playbooks"], ["drill", "--list"],
])
def test_cheap_commands_import_neither_redis_nor_questionary(args: list[str]) -> None:
    done = run(*args, cmd=(sys.executable, "-c", PROBE))
    probe = done.stderr.splitlines()[-1].split(" ", 3)
    assert probe[:3] == ["PROBE", "0", "[]"], done.stderr
    assert float(probe[3]) < 1.5  # typically 0.1 s; redis + questionary would add ~0.2 s


@pytest.mark.parametrize("command", ["run", "validate", "drill", "watch", "logs", "sessions",
                                     "resume", "report", "bundle"])
def test_the_parser_of_one_command_parses_and_explains_it_as_the_whole_parser(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A run builds only its own command's arguments (cli.build_parser(command)): its help, its
    errors and what it parses are those of the parser of every command."""
    from troubleshooter.cli import build_parser
    from troubleshooter.errors import UsageError

    def outcome(parser: Any, args: list[str]) -> str:
        try:
            return repr(sorted(vars(parser.parse_args(args)).items()))
        except UsageError as exc:
            return f"UsageError: {exc}"
        except SystemExit as exc:
            return f"exit {exc.code}: {capsys.readouterr().out}"

    for args in ([command, "--help"], [command, "--bogus"], [command, "--json", "x"], [command]):
        assert outcome(build_parser(command), args) == outcome(build_parser(), args), args


def test_help_names_the_contract() -> None:
    done = run("run", "--help")
    for flag in ("--url", "--log", "--non-interactive", "--yes", "--answers", "--json",
                 "--timeout"):
        assert flag in done.stdout


# -- output honours NO_COLOR, TERM=dumb and pipes ------------------------------------------------
@pytest.mark.parametrize(("env", "colour"), [
    ({"TERM": "xterm-256color"}, False),          # a pipe is not a terminal: no colour
    ({"FORCE_COLOR": "1", "TERM": "xterm-256color"}, True),
    ({"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": "1"}, False),
    ({"FORCE_COLOR": "1", "TERM": "dumb"}, False),
])
def test_colour_only_when_wanted(env: dict[str, str], colour: bool) -> None:
    done = run(NETWORK_ONLY, "--url", stopped_url(), env=env)
    assert done.returncode == 1
    assert bool(COLOUR.search(done.stdout)) is colour


def test_term_dumb_uses_ascii_marks() -> None:
    done = run(NETWORK_ONLY, "--url", stopped_url(), env={"TERM": "dumb"})
    assert "  FAIL tcp  TCP connect to 127.0.0.1" in done.stdout
    assert "✗" not in done.stdout and "\x1b[" not in done.stdout


# -- ^C -------------------------------------------------------------------------------------------
def wait_for(stream: Any, text: str, deadline: float) -> str:
    """Read lines from `stream` until one contains `text` (or fail at `deadline`)."""
    seen = ""
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not seen in: {seen}"
        if select.select([stream], [], [], left)[0]:
            line = stream.readline()
            assert line, f"the process ended before {text!r}: {seen}"
            seen += line
    return seen


def test_sigint_while_a_check_hangs_exits_130_and_keeps_the_session(
        auth_server: RedisServer) -> None:
    auth_server.pause()  # SIGSTOP: connections open, nothing answers
    proc = subprocess.Popen(
        [TROUBLESHOOTER, NETWORK_ONLY, "--url", url_of(auth_server), "--timeout", "60", "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        before = wait_for(proc.stderr, " tcp ", time.monotonic() + 20)
        time.sleep(0.2)  # resp is now waiting for its PONG
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "Interrupted; what was done is kept." in err
    doc = json.loads(out)
    assert (doc["status"], doc["ended_by"]) == ("incomplete", "interrupted")
    [saved] = sessions()
    kept = json.loads(saved.read_text())
    assert (kept["ended_by"], kept["trace_id"]) == ("interrupted", doc["trace_id"])
    assert [c["id"] for c in kept["steps"][0]["checks"]][:3] == ["url", "dns", "tcp"]
    assert_no_secret(before, out, err)


# -- the shipped outage playbook (also what `troubleshooter` alone runs) ---------------------------
def _outage_problem() -> str | None:
    done = run("validate", str(OUTAGE))
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[0]


OUTAGE_PROBLEM = _outage_problem()
needs_outage = pytest.mark.skipif(
    OUTAGE_PROBLEM is not None,
    reason=f"`troubleshooter validate playbooks/redis-outage.yaml` fails: {OUTAGE_PROBLEM}")


@needs_outage
def test_bare_command_runs_the_outage_playbook(auth_server: RedisServer) -> None:
    done = run("--json", env={"RQ_REDIS_URL": url_of(auth_server)})
    doc = json.loads(done.stdout)
    assert doc["playbook"]["id"] == "redis-outage"
    assert doc["target"]["source"] == "RQ_REDIS_URL"
    assert doc["mode"] == "non-interactive"
    assert done.returncode == (1 if doc["status"] == "problems" else 0)
    assert [s["id"] for s in doc["steps"]] == [
        "network", "server", "logs", "restart", "configuration", "support"]
    assert_no_secret(done.stdout, done.stderr)


@needs_outage
def test_outage_playbook_stopped_redis_exits_1() -> None:
    done = run("run", "--url", stopped_url(), "--json")
    doc = json.loads(done.stdout)
    assert done.returncode == 1
    assert doc["diagnosis"]["code"] == "network.refused"


@needs_outage
def test_log_and_queue_flags_set_the_playbook_variables(redis_server: RedisServer,
                                                        tmp_path: Path) -> None:
    logs = [str(tmp_path / "app.log"), str(tmp_path / "worker.log")]
    done = run("--url", redis_server.url, "--log", logs[0], "--log", logs[1], "--queue", "emails",
               "--var", "slow_ping_ms=250", "--json")
    variables = json.loads(done.stdout)["variables"]
    assert (variables["logs"], variables["app_queue"]) == (logs, "emails")
    assert str(variables["slow_ping_ms"]) == "250"


def test_nothing_at_the_default_target_points_to_url_and_drills() -> None:
    import socket

    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) == 0:
            pytest.skip("a Redis listens on localhost:6379 here")
    done = run(NETWORK_ONLY)
    assert done.returncode == 1
    assert "give the app's URL with --url (or REDIS_URL)" in " ".join(done.stdout.split())
    assert "troubleshooter drill" in done.stdout


def test_a_unix_socket_target_is_triaged_end_to_end(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    with RedisServer("--unixsocket", str(sock), "--unixsocketperm", "700"):
        done = run("--url", f"unix://{sock}?db=2", "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, doc["status"], doc["target"]["db"]) == (0, "healthy", 2)
    ran = {c["id"]: c["status"] for s in doc["steps"] for c in s["checks"]}
    assert ran["tcp"] == ran["resp"] == ran["ping"] == ran["registries"] == "pass"
    assert ran["dns"] == "skipped"


@pytest.mark.parametrize("how", ["user without INFO", "INFO renamed away"])
def test_without_info_the_triage_still_judges_rq(how: str) -> None:
    # RQ needs no INFO: a user denied it (or a server that renamed it) is not an ACL problem,
    # and the checks that would read it (the RQ ones, config_server) still answer.
    from troubleshooter.lab import faults

    args = ("--rename-command", "INFO", "") if how == "INFO renamed away" else ()
    with RedisServer(*args) as server:
        url = server.url
        if how == "user without INFO":
            with faults.acl_user(server, "noinfo", "noinfo-Pw-1", "~*", "&*", "+@all", "-info"):
                done = run("--url", f"redis://noinfo:noinfo-Pw-1@127.0.0.1:{server.port}",
                           "--json")
        else:
            done = run("--url", url, "--json")
    doc = json.loads(done.stdout)
    assert (done.returncode, doc["status"]) == (0, "healthy"), done.stderr
    checks = {c["id"]: c for s in doc["steps"] for c in s["checks"]}
    why = "is not permitted to user noinfo" if how == "user without INFO" else "is renamed"
    assert checks["info"]["status"] == "skipped" and why in checks["info"]["summary"]
    for name in ("queues", "workers", "registries", "config_server"):
        assert checks[name]["status"] == "pass", checks[name]
    assert "role unknown" in checks["config_server"]["summary"]


def test_a_password_that_cuts_the_url_is_in_no_output(redis_server: RedisServer) -> None:
    # Unencoded `@` and `/`: the URL is malformed, and the password's tail looked like a host.
    password = "p@ss:w/rd#1"
    before = set(sessions())
    done = run("--url", f"redis://sp:{password}@127.0.0.1:{redis_server.port}", "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["diagnosis"]["code"] == "config.malformed_url"
    saved = "".join(p.read_text() for p in set(sessions()) - before)
    assert saved
    for part in (password, "ss:w/rd", "w/rd#1"):
        assert part not in done.stdout + done.stderr + saved, part


def test_a_healthy_tls_target_is_triaged_end_to_end(tmp_path: Path) -> None:
    from tests.tlsutil import make_cert, start_tls_server

    cert, key = make_cert(tmp_path)
    server, port = start_tls_server(cert, key, "--requirepass", PASSWORD)
    try:
        done = run("--url", f"rediss://:{PASSWORD}@localhost:{port}/0?ssl_ca_certs={cert}",
                   "--json")
    finally:
        server.stop()
    doc = json.loads(done.stdout)
    assert (done.returncode, doc["status"]) == (0, "healthy"), done.stderr
    ran = {c["id"]: c["status"] for s in doc["steps"] for c in s["checks"]}
    assert ran["tls"] == ran["resp"] == ran["ping"] == ran["registries"] == "pass"
    assert PASSWORD not in done.stdout + done.stderr
