"""Playbook and answers files are refused at once when they are not regular files, too large,
or expand without bound: one line, exit 2, never a hang, a traceback or a MemoryError."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from troubleshooter import inputfiles, playbook
from troubleshooter.errors import PlaybookError, UsageError
from troubleshooter.runconfig import load_answers

pytestmark = pytest.mark.timeout(60)

TROUBLESHOOTER = str(Path(sys.executable).parent / "troubleshooter")
NETWORK_ONLY = str(Path(__file__).resolve().parent.parent / "resources" / "network-only.yaml")
MiB = 1024 * 1024


def laughs(levels: int = 9) -> str:
    """The billion laughs: each level refers to the one before nine times."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def flat(size: int) -> str:
    """A syntactically fine playbook of `size` bytes: one huge list of steps."""
    line = "  - {id: s, title: t}\n"
    return "id: x\ntitle: x\nsteps:\n" + line * (size // len(line))


def command(*args: str) -> tuple[int, str, str, int]:
    """Run the installed command; return its code, stdout, stderr and peak memory in MB."""
    # Through a small launcher: a child exec'd straight from this (large) test process keeps
    # the test process's peak as its own ru_maxrss (Linux carries it across a vfork+exec).
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.TemporaryFile("w+") as peak:
        launched = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(peak.fileno()),
                                     TROUBLESHOOTER, *args], stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, pass_fds=(peak.fileno(),))
        code = launched.wait()
        out.seek(0)
        err.seek(0)
        peak.seek(0)
        return code, out.read(), err.read(), int(peak.read() or 0) // 1024


_LAUNCHER = """
import os, subprocess, sys
fd = int(sys.argv[1])
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
os.write(fd, str(usage.ru_maxrss).encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.parametrize("name", ["dev-zero", "fifo", "directory"])
def test_validate_refuses_what_is_not_a_regular_file_at_once(name: str, tmp_path: Path) -> None:
    path = {"dev-zero": Path("/dev/zero"), "fifo": tmp_path / "p.yaml",
            "directory": tmp_path}[name]
    if name == "fifo":
        os.mkfifo(path)  # nobody will ever write to it: opening it must not wait
    kind = {"dev-zero": "a device", "fifo": "a FIFO (named pipe)", "directory": "a directory"}
    code, out, err, _ = command("validate", str(path))
    assert (code, out) == (2, "")
    assert err == f"{path}: cannot read playbook: it is {kind[name]}, not a regular file\n"


def test_an_answers_fifo_or_device_is_one_line_and_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "answers.yaml"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        code, out, err, _ = command(NETWORK_ONLY, "--answers", str(path), "--url",
                                    "redis://127.0.0.1:1/0")
        assert code == 2 and out == ""
        assert err.startswith(f"troubleshooter: error: {path}: cannot read answers file: it is ")
        assert len(err.splitlines()) == 1


def test_a_huge_playbook_is_refused_by_its_size_without_reading_it(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.yaml"
    with open(sparse, "wb") as fh:
        fh.truncate(200 * MiB)  # 200 MB that take no disk and no time to make
    big = tmp_path / "big.yaml"
    big.write_text(flat(14 * MiB))
    code, out, err, peak = command("validate", str(sparse), str(big))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{sparse}: cannot read playbook: it is too large (200.0 MB; at most 2.0 MB)",
        f"{big}: cannot read playbook: it is too large (14.0 MB; at most 2.0 MB)"]
    assert peak < 100, peak


def test_a_playbook_of_too_many_values_is_refused_before_it_is_composed(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(flat(2 * MiB - 1000))
    start = time.process_time()
    with pytest.raises(PlaybookError) as exc:
        playbook.load(path)
    assert exc.value.problems == [f"{path}:20002:13: YAML syntax error: document has more than "
                                  "100000 values: too large for a hand-written file"]
    # Composing it took 3.7 s and 150 MB; counting its events stops at a tenth of it.
    assert time.process_time() - start < 2


def test_a_billion_laughs_answers_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(laughs())
    with pytest.raises(UsageError) as exc:
        load_answers(str(path))
    assert str(exc.value) == (f"{path}:1:16: answers file is not valid YAML: document nests too "
                              "deep or expands too far (recursive alias?)")


def test_a_billion_laughs_playbook_is_refused_and_costs_little(tmp_path: Path) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs())
    answers = tmp_path / "answers.yaml"
    answers.write_text(laughs())
    code, _, err, peak = command("validate", str(path))
    assert code == 2 and "expands too far" in err
    code, _, err, peak2 = command(NETWORK_ONLY, "--answers", str(answers), "--url",
                                  "redis://127.0.0.1:1/0")
    assert code == 2 and "expands too far" in err
    assert max(peak, peak2) < 100


def test_an_offending_answer_is_quoted_short(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(f"seen: {'x' * 5000}\n")
    code, _, err, _ = command(NETWORK_ONLY, "--answers", str(path), "--url",
                              "redis://127.0.0.1:1/0")
    assert code == 2
    assert err == (f"troubleshooter: error: {path}: seen: expected true or false, got "
                   f"'{'x' * 78}…\n")


def test_read_text_caps_a_file_that_grows_past_its_size(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"x" * 100)
    assert inputfiles.read_text(path, 100, "log") == "x" * 100
    with pytest.raises(inputfiles.InputFileError) as exc:
        inputfiles.read_text(path, 99, "log")
    assert str(exc.value) == (f"{path}: cannot read log: it is too large (100 bytes; at most "
                              "99 bytes)")
    with inputfiles.open_regular(path, "log") as fh:  # for a scanner that reads a tail
        fh.seek(-10, os.SEEK_END)
        assert fh.read() == b"x" * 10


def test_validate_quotes_at_most_80_characters_of_an_offending_value(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(f"id: x\ntitle: t\n{'k' * 900}: 1\nsteps:\n  - id: s\n    title: s\n"
                    "    actions:\n"
                    f"      - {{id: b, prompt: select, question: q, choices: [a], "
                    f"default: \"{'y' * 3000}\"}}\n"
                    f"      - {{id: c, check: \"{'z' * 3000}\"}}\n"
                    f"      - {{id: d, prompt: text, question: q, when: \"{'w' * 3000} ==\"}}\n")
    code, out, err, _ = command("validate", str(path))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 4
    assert lines[0] == f"{path}:3: {'k' * 119}…: warning: unknown key (ignored)"
    assert lines[1] == (f"{path}:8: steps[s].actions[b].default: default '{'y' * 77}…' is not "
                        "one of the choices")
    assert f"unknown check kind '{'z' * 77}…' (known: " in lines[2]
    assert lines[3] == f"{path}:10: steps[s].actions[d].when: bad expression '{'w' * 77}…': " \
                       "invalid syntax"


def test_a_usage_error_quotes_at_most_80_characters_of_the_value() -> None:
    code, out, err, _ = command("--var", f"slow_ping_ms={'x' * 3000}\x1b[2J", "--url",
                                "redis://127.0.0.1:1/0")
    assert (code, out) == (2, "")
    assert err == f"troubleshooter: error: --var slow_ping_ms='{'x' * 77}…': expected a number\n"


def test_run_names_what_a_non_regular_playbook_path_is(tmp_path: Path) -> None:
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO (named pipe)"), (Path("/dev/zero"), "a device")):
        code, out, err, _ = command("run", str(path), "--url", "redis://127.0.0.1:1/0")
        assert (code, out) == (2, "")
        assert err == (f"troubleshooter: error: {path}: cannot read playbook: it is {kind}, "
                       "not a regular file\n")
