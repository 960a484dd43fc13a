"""`troubleshooter logs`: exit codes, the JSON document, the screen."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from troubleshooter import cli
from troubleshooter.checks.logs import kind, matcher
from troubleshooter.logscan import cli as logscan_cli
from troubleshooter.ui.logs import render_scan

from .conftest import scan

REFUSED = "2026-11-27 16:20:01,000 ERROR app: redis.exceptions.ConnectionError: Error 111 " \
          "connecting to r:6379. Connection refused."


def test_exit_0_when_nothing_matched_1_when_something_did(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    quiet, loud = tmp_path / "quiet.log", tmp_path / "loud.log"
    quiet.write_text("2026-11-27 16:20:01,000 INFO all good\n")
    loud.write_text(f"{REFUSED}\n{REFUSED}\n")
    assert cli.main(["logs", str(quiet)]) == 0
    assert "No Redis error signature matched." in capsys.readouterr().out
    assert cli.main(["logs", str(quiet), str(loud)]) == 1


def test_json_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{REFUSED} url=redis://:pw123456@r:6379\n{REFUSED}\n")
    assert cli.main(["logs", str(log), "--json", "--engine", "python"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["engine"] == "python" and doc["complete"] is True
    assert doc["sources"]["read"] == [str(log)]
    [f] = doc["findings"]
    assert (f["code"], f["severity"], f["corroborates"]) == ("logs.connection_refused",
                                                             "error", "network.refused")
    ev = f["evidence"]
    assert ev["count"] == 2 and ev["files"] == {str(log): 2}
    assert ev["first_seen"].startswith("2026-11-27T16:20:01")
    assert "pw123456" not in json.dumps(doc) and len(ev["samples"]) == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["logs", "x.log", "--since", "soon"],
     "--since 'soon': expected a duration such as 30m, 2h or 1d (units s, m, h, d) or a date "
     "such as 2026-11-25T10:00"),
    (["logs"], "the following arguments are required: SOURCE"),
    (["logs", "x.log", "--time-limit", "0"],
     "--time-limit must be more than 0 and at most 3600 seconds, got 0"),
])
def test_usage_errors_exit_2_with_one_line(argv: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_no_readable_source_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["logs", str(tmp_path / "nope.log")]) == 2
    captured = capsys.readouterr()
    assert f"note: {tmp_path}/nope.log: cannot read the log: No such file or directory" in \
        captured.out
    assert "no log source could be read" in captured.err


def test_stdin_through_the_installed_command(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("troubleshooter")
    done = subprocess.run([str(exe), "logs", "-", "--json"], input=f"{REFUSED}\n".encode(),
                          capture_output=True, timeout=30, env={**os.environ, "COLUMNS": "100"})
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["findings"][0]["evidence"]["count"] == 1


def test_a_silent_stdin_ends_at_the_time_limit() -> None:
    # The writer keeps the pipe open and says one line, then nothing: the scan keeps what it
    # read and stops at its --time-limit instead of waiting for an end that never comes.
    exe = Path(sys.executable).with_name("troubleshooter")
    proc = subprocess.Popen([str(exe), "logs", "-", "--json", "--time-limit", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"})
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(f"{REFUSED}\n".encode())
        proc.stdin.flush()
        proc.wait(timeout=20)  # stdin still open (communicate() would close it)
        out = proc.stdout.read()  # a small document: it fitted in the pipe
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
    doc = json.loads(out)
    assert proc.returncode == 1 and doc["complete"] is False
    assert doc["findings"][0]["evidence"]["count"] == 1
    assert "stopped at the time limit (1 s) while reading stdin" in doc["notes"]


def test_a_scan_cut_by_its_time_limit_is_not_a_clean_exit() -> None:
    # Nothing matched in what was read, and the rest was not: exit 4, not 0.
    exe = Path(sys.executable).with_name("troubleshooter")
    proc = subprocess.Popen([str(exe), "logs", "-", "--time-limit", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    try:
        proc.stdin.write(b"2026-11-27 16:20:01,000 INFO all good\n")
        proc.stdin.flush()
        assert proc.wait(timeout=20) == 4
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()


def test_help_constants_match_the_scanner() -> None:
    assert logscan_cli.ENGINES == matcher.ENGINES
    assert logscan_cli.TIME_LIMIT == kind.TIME_LIMIT


def test_screen_shows_counts_samples_and_a_timeline_safely(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{REFUSED} [bold red]x[/] \x1b]0;pwned\x07\n"
                   + f"{REFUSED.replace('16:20:01', '16:22:01')}\n" * 3)
    console = Console(record=True, width=100, file=io.StringIO())
    render_scan(console, scan([log]))
    text = console.export_text()
    assert "logs.connection_refused  connections to Redis refused: 4 lines" in text
    assert "[bold red]x[/] \\x1b]0;pwned\\x07" in text  # markup shown, escapes visible
    assert "\x1b]0" not in text
    assert "16:20 " + "█" * 13 + " 1" in text and "16:21 ·" in text
    assert "16:22 " + "█" * 40 + " 3" in text


def test_without_the_hyperscan_wheel_auto_falls_back_and_hyperscan_is_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # as where the wheel is missing
    assert isinstance(matcher.make_matcher([b"abcd"]), matcher.PythonMatcher)
    with pytest.raises(matcher.EngineUnavailable):
        matcher.make_matcher([b"abcd"], "hyperscan")
    log = tmp_path / "app.log"
    log.write_text(f"{REFUSED}\n")
    assert cli.main(["logs", str(log), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["engine"] == "python"
    assert cli.main(["logs", str(log), "--engine", "hyperscan"]) == 2
    assert "--engine hyperscan: hyperscan is not installed" in capsys.readouterr().err
