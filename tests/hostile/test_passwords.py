"""Passwords from every place redis-py (and redis-cli) reads them: used, and never shown.

Run as a user runs it: the installed command against a real redis-server with requirepass,
reading the JSON document, the human output and the saved transcript.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from troubleshooter.lab.server import RedisServer
from troubleshooter.target import parse_target

pytestmark = pytest.mark.timeout(60)

COMMAND = str(Path(sys.executable).with_name("troubleshooter"))
PLAYBOOK = str(Path(__file__).with_name("resources") / "server-only.yaml")
PASSWORD = "Hst-pw+7 q%x"  # a space, a plus and a percent: decoded the way redis-py does
USER = "rqapp"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    lab = RedisServer("--requirepass", PASSWORD, "--user", USER, "on", f">{PASSWORD}",
                      "~*", "&*", "+@all")
    try:
        yield lab.start()
    finally:
        lab.stop()


def triage(*args: str, env: dict[str, str] | None = None,
           input: bytes | None = None) -> tuple[subprocess.CompletedProcess[bytes], Any]:
    done = subprocess.run([COMMAND, "run", PLAYBOOK, "--non-interactive", "--json", *args],
                          capture_output=True, timeout=30, input=input,
                          env={**os.environ, **(env or {})})
    shown = done.stdout + done.stderr
    for saved in (Path(os.environ["XDG_STATE_HOME"]) / "troubleshooter").rglob("*"):
        if saved.is_file():
            shown += saved.read_bytes()
    for form in (PASSWORD, PASSWORD.replace(" ", "+"), "Hst-pw%2B7"):
        assert form.encode() not in shown, f"the password ({form}) is shown"
    return done, json.loads(done.stdout) if done.stdout.startswith(b"{") else None


def status(doc: Any, action: str) -> tuple[str, list[str]]:
    for step in doc["steps"]:
        for check in step["checks"]:
            if check["id"] == action:
                return check["status"], [f["code"] for f in check["findings"]]
    raise AssertionError(f"no action {action}")


def base(server: RedisServer) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


def test_the_query_password_is_used_and_masked(server: RedisServer) -> None:
    query = PASSWORD.replace("%", "%25").replace("+", "%2B").replace(" ", "+")
    done, doc = triage("--url", f"{base(server)}?password={query}")
    assert status(doc, "ping") == ("pass", []), done.stderr.decode()
    assert doc["target"]["url"].endswith("?password=***")


def test_the_query_username_is_used(server: RedisServer) -> None:
    query = PASSWORD.replace("%", "%25").replace("+", "%2B").replace(" ", "+")
    done, doc = triage("--url", f"{base(server)}?username={USER}&password={query}")
    assert status(doc, "ping") == ("pass", [])
    assert doc["target"]["username"] == USER


def test_rediscli_auth_is_used_masked_and_said(server: RedisServer) -> None:
    done, doc = triage("--url", base(server), env={"REDISCLI_AUTH": PASSWORD})
    assert status(doc, "ping") == ("pass", [])
    assert "from $REDISCLI_AUTH" in done.stderr.decode()


def test_a_password_file(server: RedisServer, tmp_path: Path) -> None:
    secret = tmp_path / "redis-password"
    secret.write_text(PASSWORD + "\n")
    done, doc = triage("--url", base(server), "--password-file", str(secret))
    assert status(doc, "ping") == ("pass", [])


def test_a_password_file_wins_over_a_wrong_url_password(server: RedisServer,
                                                        tmp_path: Path) -> None:
    secret = tmp_path / "redis-password"
    secret.write_text(PASSWORD)
    done, doc = triage("--url", base(server).replace("//", "//:wrong-Pw-123@"),
                       "--password-file", str(secret))
    assert status(doc, "ping") == ("pass", [])


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"p\xffw\n", "the password is not UTF-8 text (byte 0xFF at position 1): redis-py cannot "
                  "send it (UnicodeEncodeError)"),
    (b"x" * 70_000, "larger than 64 KB"),
])
def test_a_bad_password_file_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    secret = tmp_path / "pw"
    secret.write_bytes(content)
    done, _doc = triage("--url", "redis://127.0.0.1:1/0", "--password-file", str(secret))
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (f"troubleshooter: error: --password-file {secret}: "
                                            f"{message}" + ("; a password file holds the "
                                                            "password only" if "64" in message
                                                            else ""))


def test_a_directory_or_device_is_refused_at_once() -> None:
    for path in ("/dev/zero", "/tmp"):
        done, _doc = triage("--url", "redis://127.0.0.1:1/0", "--password-file", path)
        assert done.returncode == 2
        assert b"not a regular file or a pipe" in done.stderr


def test_ask_password_without_a_terminal_is_a_usage_error() -> None:
    done, _doc = triage("--ask-password")
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        "troubleshooter: error: --ask-password needs a person at a terminal; without one, "
        "give the password with --password-file FILE")


def test_a_non_utf8_password_is_a_finding_not_a_crash(server: RedisServer) -> None:
    # The environment holds bytes, not text: Python keeps 0xFF as a lone surrogate.
    env = {**os.environ}
    env_bytes = {k.encode(): v.encode() for k, v in env.items()}
    env_bytes[b"REDIS_URL"] = b"redis://:p\xffw@127.0.0.1:%d/0" % server.port
    done = subprocess.run([COMMAND, "run", PLAYBOOK, "--non-interactive", "--json"],
                          capture_output=True, timeout=30, env=env_bytes)  # type: ignore[arg-type]
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["diagnosis"]["code"] == "config.malformed_url"
    assert "not UTF-8 text (byte 0xFF" in json.dumps(doc["findings"])
    assert b"crashed" not in done.stdout + done.stderr


def test_parse_target_reads_the_query_as_redis_py_does() -> None:
    t = parse_target("redis://h:1/0?password=a%2Bb+c&username=bob")
    assert (t.password, t.username, t.password_source) == ("a+b c", "bob", "url query")
    assert t.redacted == "redis://h:1/0?password=***&username=bob"
    # The userinfo wins, as in redis-py.
    t = parse_target("redis://ann:first@h:1/0?password=second&username=bob")
    assert (t.password, t.username, t.password_source) == ("first", "ann", "url")


def test_ask_password_prompts_without_echo_in_a_terminal(server: RedisServer) -> None:
    import pexpect

    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
    child = pexpect.spawn(COMMAND, ["run", PLAYBOOK, "--url", base(server), "--ask-password",
                                    "--json"], env=env, timeout=20, dimensions=(40, 120))
    screen = io.BytesIO()
    child.logfile_read = screen
    try:
        child.expect("Redis password \\(not shown\\): ")
        child.sendline(PASSWORD)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    shown = screen.getvalue()
    assert PASSWORD.encode() not in shown  # not echoed, not printed, not in the JSON
    assert b'"status": "pass"' in shown and b"server.auth_required" not in shown
    assert child.exitstatus == 0, shown.decode(errors="replace")[-2000:]
