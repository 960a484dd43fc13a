"""The command runner against real programs: exit codes, time limits, output caps, redaction."""

from __future__ import annotations

import os
import sys
import time

from troubleshooter.cmdrunner import CommandRunner


def test_captures_output_and_exit_code() -> None:
    result = CommandRunner().run([sys.executable, "-c", "print('hi'); raise SystemExit(3)"], 10)
    assert result.returncode == 3 and result.output.strip() == "hi"
    assert not result.timed_out and not result.ok


def test_missing_program_is_a_result_not_an_exception() -> None:
    result = CommandRunner().run(["/nonexistent/program"], 5)
    assert result.returncode is None and result.error
    assert "could not run" in result.describe()


def test_timeout_kills_the_whole_process_group(tmp_path) -> None:
    pidfile = tmp_path / "child.pid"
    script = ("import os, subprocess, sys, time\n"
              f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
              "time.sleep(60)\n")
    start = time.monotonic()
    result = CommandRunner().run([sys.executable, "-c", script], 1.0)
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - start < 5
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the grandchild survived the timeout")


def test_closed_output_but_still_running_is_a_timeout() -> None:
    script = "import os, time; os.close(1); os.close(2); time.sleep(30)"
    result = CommandRunner().run([sys.executable, "-c", script], 0.5)
    assert result.timed_out


def test_output_is_capped_while_read_and_the_child_is_drained() -> None:
    script = "import sys; sys.stdout.write('x' * 5_000_000)"
    result = CommandRunner(output_cap=1000).run([sys.executable, "-c", script], 20)
    assert result.returncode == 0 and result.truncated and len(result.output) == 1000


def test_output_is_redacted_before_it_leaves() -> None:
    runner = CommandRunner(redact=lambda text: text.replace("s3cret", "****"))
    result = runner.run([sys.executable, "-c", "print('password s3cret')"], 10)
    assert "s3cret" not in result.output and "****" in result.output


def test_stdin_is_fed_and_closed() -> None:
    script = "import sys; print(sys.stdin.read()[::-1])"
    result = CommandRunner().run([sys.executable, "-c", script], 10, stdin=b"abc")
    assert result.output.strip() == "cba"
