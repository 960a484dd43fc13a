"""The installed command against a real Redis whose RQ queue, worker and job carry terminal
escapes and rich markup in their names: nothing but our own bytes reaches the terminal.

The queue is made by rq itself (Queue.enqueue); the worker is a real `rq worker` started with
the hostile name and SIGKILLed, so its registration is exactly what rq leaves behind.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
import redis
from rq import Queue

from tests.hostile.terminal_kit import FAKE_HEALTHY, foreign_controls
from tests.rqjobs import sleep_job
from tests.rqworkers import RqWorker
from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.timeout(90)

TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")
# Clears the screen and prints a fake all-clear; recolours; sets the title; a link; a bidi
# override; rich markup that would close a style or start a link.
QUEUE = f"{FAKE_HEALTHY}[/x][link=http://evil.example/]q\u202e\x9b2J"
WORKER = "w\x1b]8;;http://evil.example/\x1b\\name\x1b]8;;\x1b\\\x08\x08[red]"


@pytest.fixture(scope="module")
def hostile_rq() -> Iterator[RedisServer]:
    """Jobs waiting on the hostile queue, whose only worker (hostile name) was SIGKILLed."""
    with RedisServer() as server:
        client = redis.Redis(host=server.host, port=server.port)
        Queue(QUEUE, connection=client).enqueue(sleep_job, 1, description=FAKE_HEALTHY)
        worker = RqWorker(server.url, "idle", name=WORKER).start()
        try:
            worker.wait_registered(client, 20)
        finally:
            worker.kill()
        yield server


def args(server: RedisServer) -> list[str]:
    return ["--non-interactive", "--url", server.url, "--queue", QUEUE]


def test_piped_output_has_no_control_character_at_all(hostile_rq: RedisServer) -> None:
    done = subprocess.run([TROUBLESHOOTER, *args(hostile_rq)], capture_output=True,
                          timeout=60, env={**os.environ, "COLUMNS": "300"})
    out = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 1, out
    assert [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f] == []
    assert "\u202e" not in out
    # The queue's fake all-clear is shown for what it is: characters in a queue name.
    assert "\\x1b[2J\\x1b[H\\x1b[32mNo problem found. Redis is healthy." in out
    assert not any(line.startswith("No problem found") for line in out.splitlines())
    assert "[/x][link=http://evil.example/]q\\u202e\\x9b2J" in out  # markup not interpreted


def test_a_colour_terminal_gets_only_our_own_sequences(hostile_rq: RedisServer) -> None:
    environ = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(TROUBLESHOOTER, args(hostile_rq), env=environ, timeout=60,
                          dimensions=(50, 200))
    child.logfile_read = io.BytesIO()
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1
    raw = child.logfile_read.getvalue().decode()
    assert "rq.no_workers" in raw
    assert foreign_controls(raw) == []
    assert "\x1b]" not in raw and "\x1b[2J" not in raw and "\x07" not in raw


def test_a_playbook_key_of_rich_markup_validates_and_runs(tmp_path: Path,
                                                          redis_server: RedisServer) -> None:
    playbook = tmp_path / "markup.yaml"
    playbook.write_text('id: markup\ntitle: "[bold]T[/x]"\n"[/x]": 1\nsteps:\n'
                        '  - id: s\n    title: "[link=http://e/]S"\n    guidance: "[/]"\n'
                        '    actions:\n'
                        '      - {id: q, prompt: text, question: "[/x] \\e]0;t\\a?"}\n')
    checked = subprocess.run([TROUBLESHOOTER, "validate", str(playbook)], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    done = subprocess.run([TROUBLESHOOTER, str(playbook), "--url", redis_server.url],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unknown key" in done.stdout and "[link=http://e/]S" in done.stdout
    assert "[/x] \\x1b]0;t\\x07?" in done.stdout


def test_a_save_path_of_markup_and_escapes_is_shown_as_its_characters(
        tmp_path: Path, redis_server: RedisServer) -> None:
    path = tmp_path / "[/x]\x1b]0;t\x07.json"
    done = subprocess.run([TROUBLESHOOTER, "--non-interactive", "--url", redis_server.url,
                           "--save", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert path.exists()
    assert f"Session saved: {tmp_path}/[/x]\\x1b]0;t\\x07.json" in done.stdout


def test_json_keeps_the_exact_names_and_prints_nothing_a_terminal_acts_on(
        hostile_rq: RedisServer) -> None:
    done = subprocess.run([TROUBLESHOOTER, *args(hostile_rq), "--json"], capture_output=True,
                          timeout=60)
    assert done.returncode == 1
    out = done.stdout.decode()
    assert [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f
            or c in "\u202e\u2028"] == []
    doc = json.loads(out)
    assert doc["variables"]["app_queue"] == QUEUE  # the exact value, escaped by JSON


def test_a_url_with_escapes_is_shown_made_visible() -> None:
    url = "redis://127.0.0.1:1/0\x1b]0;pwned\x07[/x]\u202e"
    done = subprocess.run([TROUBLESHOOTER, "--non-interactive", "--url", url],
                          capture_output=True, text=True, timeout=30)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "config.malformed_url" in out
    assert [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f
            or c == "\u202e"] == []
