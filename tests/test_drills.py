"""`troubleshooter drill`: every scenario, on a real redis-server with its real fault, is found by
the non-interactive walkthrough; the command's usage errors are one line and exit 2."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from troubleshooter.cli import main
from troubleshooter.drill import DRILL_PASSWORD, SCENARIOS, Scenario, pick, score
from troubleshooter.findings import CATALOGUE
from troubleshooter.session import Diagnosis, Session

# The wrong password the auth-failed drill puts in its URL (drill.py): shown nowhere either.
SECRETS = (DRILL_PASSWORD, "not-the-password")
COMMAND = Path(sys.executable).with_name("troubleshooter")


def verdict(scenario: Scenario, concluded: str | None, word: str) -> str:
    """The line `score` prints."""
    injected = (f"the injected fault was {scenario.expected} "
                f"({CATALOGUE[scenario.expected].title})" if scenario.expected
                else "no fault was injected")
    return (f"Drill {scenario.name}: {injected}; "
            f"the walkthrough concluded {concluded or 'no problem'}: {word}")


def drill(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["drill", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_drill_is_found_by_the_walkthrough(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    save = tmp_path / "session.json"
    code, out, err = drill(capsys, name, "--non-interactive", "--timeout", "1",
                           "--save", str(save))
    scenario = SCENARIOS[name]
    assert code == 0, out + err
    assert verdict(scenario, scenario.expected, "correct") in out.splitlines(), out
    assert "Traceback" not in out + err
    saved = json.loads(save.read_text(encoding="utf-8"))
    assert (saved["diagnosis"] or {}).get("code") == scenario.expected
    assert saved["target"]["source"] == "drill"
    assert_no_secret(out, err, save.read_text(encoding="utf-8"))


def test_a_json_drill_prints_the_session_and_the_verdict_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    code, out, err = drill(capsys, "auth-failed", "--non-interactive", "--json", "--timeout",
                           "1", "--save", str(tmp_path))
    assert code == 0, err
    session = json.loads(out)  # stdout is the JSON document alone
    assert session["diagnosis"]["code"] == "server.auth_failed"
    assert verdict(SCENARIOS["auth-failed"], "server.auth_failed", "correct") in err
    assert_no_secret(out, err)


def test_a_random_drill_is_a_fault_and_is_reproducible(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    chosen = pick(None, seed=7)
    assert chosen.expected is not None  # "healthy" is no drill to be dealt at random
    assert pick(None, seed=7) is chosen
    code, out, _ = drill(capsys, "--seed", "7", "--non-interactive", "--timeout", "1",
                         "--save", str(tmp_path))
    assert code == 0
    assert verdict(chosen, chosen.expected, "correct") in out.splitlines()


def test_a_missed_diagnosis_scores_exit_1() -> None:
    """The exit status the drills above assert can fail: a wrong conclusion is MISSED."""
    session = Session(trace_id="t", playbook={}, target={}, mode="non-interactive",
                      variables={})
    session.diagnosis = Diagnosis(code="network.refused", title="", summary="", remedy="")
    out = io.StringIO()
    assert score(SCENARIOS["wrong-port"], session, out) == 1
    assert verdict(SCENARIOS["wrong-port"], "network.refused", "MISSED") in out.getvalue()
    session.diagnosis = None
    assert score(SCENARIOS["stopped"], session, out) == 1
    assert score(SCENARIOS["healthy"], session, out) == 0


def test_list_names_every_scenario_with_its_briefing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = drill(capsys, "--list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    for line, scenario in zip(lines, SCENARIOS.values(), strict=True):
        assert line.endswith(scenario.briefing)


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-drill"], "troubleshooter: error: no drill scenario 'no-such-drill' (known: "
                        + ", ".join(SCENARIOS) + ")"),
    (["--url", "x"],
     "troubleshooter: error: a drill makes its own Redis: drop --url"),
    (["stopped", "--url", "x"], "troubleshooter: error: a drill makes its own Redis: drop --url"),
])
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str,
) -> None:
    code, out, err = drill(capsys, *args)
    assert (code, out) == (2, "")
    assert err.splitlines() == [message]


def test_no_redis_server_is_one_clear_line_from_the_installed_command() -> None:
    env = {**os.environ, "TROUBLESHOOTER_REDIS_SERVER": "/nonexistent"}
    done = subprocess.run([str(COMMAND), "drill", "stopped", "--non-interactive"], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "troubleshooter: error: TROUBLESHOOTER_REDIS_SERVER=/nonexistent is not an executable "
        "file"]


@pytest.mark.parametrize("binary", ["/nonexistent", "directory", "/bin/false"])
def test_an_unusable_redis_server_is_one_line_and_exit_2(
    binary: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Missing, not a program, or a program that dies at once: never a traceback."""
    monkeypatch.setenv("TROUBLESHOOTER_REDIS_SERVER",
                       str(tmp_path) if binary == "directory" else binary)
    code, out, err = drill(capsys, "--seed", "1", "--non-interactive")
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert re.match(r"troubleshooter: error: .*(redis-server|TROUBLESHOOTER_REDIS_SERVER)",
                    line), line
