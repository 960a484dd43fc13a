"""The README stays true: its commands run as written, its example playbook validates."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from troubleshooter.lab.server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
COMMAND = Path(sys.executable).with_name("troubleshooter")


def shell_lines() -> list[str]:
    """`troubleshooter ...` lines of the README's sh blocks, comments stripped."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("troubleshooter")]


def inline_commands() -> list[str]:
    found = re.findall(r"`(troubleshooter(?: [^`]*)?)`", README)
    return sorted({c for c in found if "FILE" not in c and "SCENARIO" not in c
                   and "my.yaml" not in c})


def run(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    args = shlex.split(line.split(">")[0])
    out = (cwd / line.split(">")[1].strip()) if ">" in line else None
    done = subprocess.run([str(COMMAND), *args[1:]], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60, stdin=subprocess.DEVNULL)
    if out is not None:
        out.write_text(done.stdout)
    return done


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "PROMPT_TOOLKIT_NO_CPR": "1"}


def test_the_readme_shows_the_commands_this_test_runs() -> None:
    assert "troubleshooter run --non-interactive --json > report.json" in shell_lines()
    assert "troubleshooter drill --list" in inline_commands()


@pytest.mark.parametrize("line", [line for line in shell_lines() if "redis.internal" not in line])
def test_readme_shell_commands_run_against_the_local_default(
    line: str, env: dict[str, str], tmp_path: Path
) -> None:
    # The README's examples diagnose the environment's Redis: give them a real local one.
    with RedisServer() as server:
        done = run(line, {**env, "REDIS_URL": server.url}, tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    if ">" in line:
        import json

        doc = json.loads((tmp_path / "report.json").read_text())
        assert doc["target"]["url"] == server.url and doc["status"] in ("healthy", "problems")


@pytest.mark.parametrize("line", inline_commands())
def test_readme_inline_commands_run(line: str, env: dict[str, str], tmp_path: Path) -> None:
    if line in ("troubleshooter", "troubleshooter drill"):
        pytest.skip("run in test_readme_shell_commands / test_drills")
    done = run(line + (" --non-interactive" if line.startswith("troubleshooter drill ") and
                       "--list" not in line else ""), env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_the_example_playbook_validates_without_warnings(tmp_path: Path) -> None:
    [example] = re.findall(r"```yaml\n(.*?)```", README, re.S)
    path = tmp_path / "my.yaml"
    path.write_text(example)
    done = subprocess.run([str(COMMAND), "validate", str(path)], capture_output=True, text=True,
                          timeout=30)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{path}: ok (my-redis: 2 steps, 4 actions)\n"
