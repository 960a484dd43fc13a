"""journal:UNIT and docker:NAME through the real command runner, against recorded output."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from troubleshooter.cmdrunner import CommandRunner

from .conftest import RESOURCES, counts, scan

SINCE = datetime(2026, 11, 27, 16, 0, tzinfo=UTC).timestamp()
NOW = SINCE + 3600


def stand_in(tmp_path: Path, name: str, fixture: str | None, code: int = 0,
             message: str = "") -> CommandRunner:
    """A program called `name` on PATH that records its argv and prints `fixture`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    body = f"cat {RESOURCES / 'commands' / fixture}\n" if fixture else ""
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / (name + ".argv")}\n'
                      f"{body}{f'echo {message!r}' if message else ''}\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return CommandRunner({"PATH": f"{bin_dir}:{os.environ['PATH']}"})


def argv(tmp_path: Path, name: str) -> list[str]:
    return (tmp_path / f"{name}.argv").read_text().splitlines()


def test_journal_output_is_parsed_and_dated(tmp_path: Path) -> None:
    runner = stand_in(tmp_path, "journalctl", "journalctl-short-iso.txt")
    result = scan(["journal:redis-server"], since=SINCE, now=NOW, runner=runner)
    assert argv(tmp_path, "journalctl") == ["--no-pager", "-o", "short-iso", "-u",
                                            "redis-server", "--since", f"@{int(SINCE)}"]
    assert counts(result) == {"redis_shutdown": 2, "redis_started": 2, "job_failed": 1,
                              "db_loaded": 1}
    started = next(m for m in result.matches if m.signature.id == "redis_started")
    assert started.first_seen == datetime(2026, 11, 27, 16, 21, 10, tzinfo=UTC).timestamp()
    assert started.files == {"journal:redis-server": 2} and result.notes == ()


def test_docker_output_is_parsed_and_dated(tmp_path: Path) -> None:
    runner = stand_in(tmp_path, "docker", "docker-logs-timestamps.txt")
    result = scan(["docker:cache"], since=SINCE, now=NOW, runner=runner)
    assert argv(tmp_path, "docker") == ["logs", "--timestamps", "--since",
                                        "2026-11-27T16:00:00Z", "--", "cache"]
    assert counts(result) == {"fork_failed": 1, "redis_shutdown": 2, "redis_started": 2}
    fork = result.matches[0]
    assert fork.first_seen == datetime(2026, 11, 27, 16, 23, 45, 500000, tzinfo=UTC).timestamp()


def test_a_failing_or_missing_command_is_a_note(tmp_path: Path) -> None:
    runner = stand_in(tmp_path, "docker", None, code=1,
                      message="Error response from daemon: No such container: nope")
    result = scan(["docker:nope", "journal:redis"], since=SINCE, now=NOW,
                  runner=CommandRunner({"PATH": runner.environ["PATH"].split(":")[0]}))
    assert result.notes == ("docker:nope: docker exited 1 after "
                            + result.notes[0].split(" after ")[1],
                            "journal:redis: journalctl is not installed here: not read")
    assert result.notes[0].endswith(": Error response from daemon: No such container: nope")
    assert result.read == () and result.skipped == ("docker:nope", "journal:redis")


def test_names_that_would_be_options_are_refused(tmp_path: Path) -> None:
    runner = stand_in(tmp_path, "docker", "docker-logs-timestamps.txt")
    result = scan(["docker:--help", "journal:", "docker:a b"], runner=runner)
    assert result.notes == ("docker:--help: not a container name: not read",
                            "journal:: not a unit name: not read",
                            "docker:a b: not a container name: not read")
    assert not (tmp_path / "docker.argv").exists()
