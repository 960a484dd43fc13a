"""`sessions`, `report` and `bundle` as a user runs them, on transcripts of real runs."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.report.conftest import NETWORK_ONLY, run, sessions_dir, state_files
from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.timeout(90)


def stopped_url() -> str:
    server = RedisServer().start()
    server.stop()
    return server.url


@pytest.fixture(scope="module")
def url() -> str:
    return stopped_url()


def a_run(url: str, *extra: str) -> dict:
    done = run("run", "--non-interactive", "--json", "--url", url, *extra)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


def test_sessions_lists_newest_first(url: str) -> None:
    first = a_run(url)
    second = a_run(url, NETWORK_ONLY)
    done = run("sessions")
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line[:8] for line in lines] == [second["trace_id"][:8], first["trace_id"][:8]]
    assert lines[1].endswith(f"  {url}  problems  network.refused")
    listed = json.loads(run("sessions", "--json").stdout)
    assert [s["trace_id"] for s in listed] == [second["trace_id"], first["trace_id"]]
    assert listed[0]["diagnosis"] == "network.refused" and listed[0]["ended_by"] == "finished"


def test_report_in_every_format(url: str, tmp_path: Path) -> None:
    session = a_run(url)
    ident = session["trace_id"][:8]
    md = run("report", ident)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Incident report: Redis outage (RQ workers)\n")
    for heading in ("## Summary", "## Diagnosis", "## Timeline", "## Evidence by step",
                    "### Step 1 · Network connectivity", "## Open manual items",
                    "## Next steps", "## Support"):
        assert f"\n{heading}\n" in md.stdout
    assert "**network.refused — Connection refused: nothing listens there**" in md.stdout
    assert "- **Contact:** your platform on-call" in md.stdout
    as_json = json.loads(run("report", ident, "--format", "json").stdout)
    assert as_json["trace_id"] == session["trace_id"]
    assert as_json["diagnosis"] == session["diagnosis"]
    out = tmp_path / "r.html"
    done = run("report", "--format", "html", "-o", str(out))  # default: the last session
    assert done.returncode == 0 and done.stdout == ""
    assert f"Report written: {out}" in done.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "network.refused" in page
    assert os.stat(out).st_mode & 0o777 == 0o600
    # Self-contained: nothing to fetch, nothing to run.
    assert "<script" not in page and "http://" not in page and "https://" not in page


@pytest.mark.parametrize(("args", "message"), [
    (("report", "ffffffff"), "error: no session with id 'ffffffff'"),
    (("report", "--format", "pdf"), "argument --format: invalid choice: 'pdf'"),
    (("bundle", "ffff"), "error: no session with id 'ffff'"),
    (("resume", "ffff"), "error: no session with id 'ffff'"),
])
def test_bad_ids_and_formats(url: str, args: tuple[str, ...], message: str) -> None:
    a_run(url)
    before = state_files()
    done = run(*args)
    assert (done.returncode, done.stdout) == (2, "")
    assert message in done.stderr and len(done.stderr.splitlines()) == 1
    assert state_files() == before


def test_unwritable_output_path_touches_nothing(url: str, tmp_path: Path) -> None:
    a_run(url)
    before = state_files()
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    missing = tmp_path / "missing"
    for args, why in ((("report", "-o", str(missing / "r.md")), f"no directory {missing}"),
                      (("report", "-o", str(tmp_path)), "it is a directory"),
                      (("bundle", "-o", str(missing / "b.tar.gz")), f"no directory {missing}")):
        done = run(*args)
        assert (done.returncode, done.stdout) == (2, ""), args
        assert done.stderr == f"troubleshooter: error: cannot write {args[-1]}: {why}\n"
    if os.geteuid() != 0:  # root writes anywhere
        assert run("report", "-o", str(locked / "r.md")).returncode == 2
    assert state_files() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked"]


def test_a_damaged_session_is_one_line_and_left_alone(url: str) -> None:
    session = a_run(url)
    [path] = [p for p in sessions_dir().glob("*.json") if session["trace_id"][:8] in p.name]
    path.write_text(path.read_text()[:200])  # a disk that filled up mid-copy
    before = state_files()
    done = run("report", session["trace_id"][:8])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"troubleshooter: error: {path}: a corrupt or truncated session "
                           "file (not valid JSON); move it away or delete it\n")
    listed = run("sessions")
    assert listed.returncode == 0 and "corrupt or truncated" in listed.stderr
    newer = json.loads(json.dumps(session)) | {"schema": "troubleshooter.session/2"}
    path.write_text(json.dumps(newer))
    done = run("resume", session["trace_id"][:8])
    assert done.returncode == 2 and "written by a newer troubleshooter" in done.stderr
    assert state_files().keys() == before.keys()


def test_bundle_contents(url: str, tmp_path: Path) -> None:
    session = a_run(url)
    out = tmp_path / "support.tar.gz"
    done = run("bundle", session["trace_id"][:8], "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out}\n"
    with tarfile.open(out) as tar:
        names = sorted(tar.getnames())
        root = "support"
        assert names == sorted(f"{root}/{n}" for n in (
            "report.md", "report.html", "report.json", "server/README.txt", "playbook.yaml",
            "VERSIONS.txt", "REDACTIONS.txt"))
        versions = tar.extractfile(f"{root}/VERSIONS.txt").read().decode()  # type: ignore
        readme = tar.extractfile(f"{root}/server/README.txt").read().decode()  # type: ignore
    assert "Python 3." in versions and "redis-py " in versions and "rq " in versions
    assert "was not read during this run" in readme
    assert os.stat(out).st_mode & 0o777 == 0o600


def test_resume_refuses_a_finished_session(url: str) -> None:
    session = a_run(url)
    before = state_files()
    done = run("resume", session["trace_id"])
    assert done.returncode == 2
    assert done.stderr == (f"troubleshooter: error: session {session['trace_id'][:8]} is "
                           "finished: nothing to resume (`troubleshooter report "
                           f"{session['trace_id'][:8]}` shows it)\n")
    assert state_files() == before


def test_save_never_follows_a_planted_temp_file(url: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / ".s.json.tmp").symlink_to(victim)  # where the first release wrote its temp
    stale = tmp_path / "s.json.tmp"
    stale.write_text("stale")
    stale.chmod(0o644)
    done = run("run", "--non-interactive", "--url", url, "--save", str(tmp_path / "s.json"))
    assert done.returncode == 1, done.stderr
    assert victim.read_text() == "precious" and stale.read_text() == "stale"
    saved = tmp_path / "s.json"
    assert not saved.is_symlink() and os.stat(saved).st_mode & 0o777 == 0o600
    assert json.loads(saved.read_text())["diagnosis"]["code"] == "network.refused"


def test_reports_and_listings_on_stdout_carry_no_control_character() -> None:
    # A queue name written by an attacker, saved in the transcript as it is (JSON keeps exact
    # values), must not act on the terminal when a report or listing is printed later.
    with RedisServer() as server:
        import redis

        conn = redis.Redis(host=server.host, port=server.port)
        name = "q\x1b]0;owned\x07\x1b[2J\u009b31m\u202e"
        conn.sadd("rq:queues", f"rq:queue:{name}")
        conn.rpush(f"rq:queue:{name}", "j1")
        done = run("run", "--non-interactive", "--json", "--url", server.url)
    assert done.returncode == 1, done.stderr
    for args in (("report", "--format", "md"), ("report", "--format", "html"),
                 ("report", "--format", "json"), ("sessions", "--json")):
        shown = run(*args)
        assert shown.returncode == 0, shown.stderr
        assert not any(ch in shown.stdout for ch in "\x1b\x07\x9b\u202e"), args


def _specials(tmp_path: Path) -> dict[str, Path]:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    made = {"a FIFO": tmp_path / "fifo", "a symbolic link": tmp_path / "link"}
    os.mkfifo(made["a FIFO"])
    made["a symbolic link"].symlink_to(victim)
    if os.geteuid() == 0:  # a device node as root would replace it: the case that matters
        made["a character device"] = tmp_path / "null"
        os.mknod(made["a character device"], 0o20666, os.makedev(1, 3))
    return made


def test_an_output_that_is_not_a_regular_file_is_refused(url: str, tmp_path: Path) -> None:
    ident = a_run(url)["trace_id"][:8]
    specials = _specials(tmp_path)
    for kind, path in specials.items():
        for command in ("report", "bundle"):
            done = run(command, ident, "-o", str(path))
            assert (done.returncode, done.stderr) == (2, (
                f"troubleshooter: error: cannot write {path}: it is {kind}, not a regular "
                "file: not replaced\n")), command
        saved = run("run", "--non-interactive", "--url", url, "--save", str(path))
        assert saved.returncode == 1
        assert f"Could not save the session: it is {kind}" in " ".join(saved.stdout.split())
    assert (tmp_path / "victim").read_text() == "precious"
    assert os.path.islink(specials["a symbolic link"])
    assert all(not path.is_file() or path.is_symlink() for path in specials.values())
