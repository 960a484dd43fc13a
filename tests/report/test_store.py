"""The session store: private atomic files, ids by prefix, damaged files refused, pruning."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from troubleshooter import store
from troubleshooter.errors import UsageError

TRACE = "0123abcd" + "e" * 24


def doc(trace: str = TRACE, started: str = "2026-01-02T03:04:05.000Z", **extra: object) -> dict:
    return {"schema": "troubleshooter.session/1", "trace_id": trace, "started_at": started,
            "ended_by": "finished", "status": "healthy", "target": {"url": "redis://h:1/0"},
            **extra}


def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(tmp_path / "state")}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_saved_private_in_private_directories(tmp_path: Path) -> None:
    path = store.save_document(doc(), env(tmp_path))
    assert path.parent == tmp_path / "state" / "troubleshooter" / "sessions"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
    assert json.loads(path.read_text())["trace_id"] == TRACE
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_an_older_world_readable_sessions_directory_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "troubleshooter" / "sessions"
    directory.mkdir(parents=True)
    directory.chmod(0o755)  # as the first release left it
    store.save_document(doc(), env(tmp_path))
    assert mode(directory) == 0o700
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    store.save_document(doc(), env(tmp_path), str(mine))  # --save: the user's directory
    assert mode(mine) == 0o755


def test_a_planted_temp_file_or_symlink_is_never_followed_or_reused(tmp_path: Path) -> None:
    directory = store.private_dir(tmp_path / "state" / "troubleshooter" / "sessions")
    name = store.file_name(TRACE, doc()["started_at"])
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (directory / f".{name}.tmp").symlink_to(victim)  # the old fixed temp name
    (directory / f"{name}.tmp").symlink_to(victim)
    planted = directory / f".{name}.0.tmp"
    planted.write_text("planted")
    planted.chmod(0o644)
    path = store.save_document(doc(), env(tmp_path))
    assert victim.read_text() == "precious"
    assert planted.read_text() == "planted" and mode(planted) == 0o644
    assert mode(path) == 0o600 and not path.is_symlink()


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    directory = store.private_dir(tmp_path / "state" / "troubleshooter" / "sessions")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (directory / store.file_name(TRACE, doc()["started_at"])).symlink_to(victim)
    path = store.save_document(doc(), env(tmp_path))
    assert victim.read_text() == "precious" and not path.is_symlink()


def test_a_failed_write_leaves_the_previous_transcript(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = store.save_document(doc(status="problems"), env(tmp_path))

    def full_disk(src: object, dst: object) -> None:  # a failure we cannot cause for real
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        store.save_document(doc(status="healthy"), env(tmp_path))
    assert json.loads(path.read_text())["status"] == "problems"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_find_by_prefix_newest_and_unfinished(tmp_path: Path) -> None:
    e = env(tmp_path)
    store.save_document(doc(), e)
    other = "0123ffff" + "1" * 24
    store.save_document(doc(other, "2026-01-03T00:00:00.000Z", ended_by="quit"), e)
    newest = "99999999" + "2" * 24
    store.save_document(doc(newest, "2026-01-04T00:00:00.000Z"), e)
    assert store.find(e, "0123a").trace_id == TRACE
    assert store.find(e, TRACE.upper()).trace_id == TRACE
    assert store.find(e, None).trace_id == newest
    assert store.find(e, None, unfinished=True).trace_id == other
    with pytest.raises(UsageError, match=r"session id '0123' is ambiguous: it starts "
                                         r"0123ffff1111, 0123abcdeeee; give more characters"):
        store.find(e, "0123")
    with pytest.raises(UsageError, match=r"no session with id 'beef' \(see `troubleshooter "
                                         r"sessions`\)"):
        store.find(e, "beef")


@pytest.mark.parametrize(("content", "message"), [
    (b'{"schema": "troubleshooter.session/1", "trace_id": "0123abcd', "corrupt or truncated"),
    (b"\xff\xfe", "corrupt or truncated"),
    (b"[1, 2]", "not a troubleshooter transcript"),
    (json.dumps(doc(schema="troubleshooter.session/2")).encode(),
     r"written by a newer troubleshooter \(troubleshooter.session/2; this version reads "
     r"troubleshooter.session/1\): upgrade to read it"),
])
def test_damaged_files_are_refused_in_one_line(tmp_path: Path, content: bytes,
                                               message: str) -> None:
    directory = store.private_dir(tmp_path / "state" / "troubleshooter" / "sessions")
    bad = directory / "2026-01-02T030405-0123abcd.json"
    bad.write_bytes(content)
    with pytest.raises(UsageError, match=message) as err:
        store.find(env(tmp_path), "0123abcd")
    assert "\n" not in str(err.value)
    assert bad.read_bytes() == content  # nothing touched


def test_prune_by_count_and_age_keeps_the_current_one(tmp_path: Path) -> None:
    e = env(tmp_path) | {store.KEEP_COUNT_ENV: "2", store.KEEP_DAYS_ENV: "10"}
    paths = [store.save_document(doc(f"{i:08x}" + "a" * 24, f"2026-01-0{i}T00:00:00.000Z"), e)
             for i in range(1, 6)]
    old = time.time() - 11 * 86400
    os.utime(paths[4], (old, old))  # the newest by name, but 11 days old
    removed = store.prune(e, keep=paths[0].name)
    assert sorted(removed) == sorted([paths[1], paths[2], paths[4]])
    assert sorted(p for p in paths if p.exists()) == [paths[0], paths[3]]


def test_prune_defaults_and_bad_settings(tmp_path: Path) -> None:
    e = env(tmp_path)
    paths = [store.save_document(doc(f"{i:08x}" + "a" * 24, f"2026-01-0{i}T00:00:00.000Z"), e)
             for i in range(1, 4)]
    assert store.prune(e) == [] and all(p.exists() for p in paths)
    bad = e | {store.KEEP_COUNT_ENV: "none"}
    assert store.prune(bad) == []  # a finished run is not failed for it
    with pytest.raises(UsageError, match=r"\$TROUBLESHOOTER_KEEP_SESSIONS='none': expected a "
                                         "whole number of at least 1"):
        store.check_limits(bad)


def test_state_directory_per_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.setattr(store.sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert store.state_dir({}) == tmp_path / ".local" / "state" / "troubleshooter"
    assert store.state_dir({"XDG_STATE_HOME": "/x"}) == Path("/x/troubleshooter")
    monkeypatch.setattr(store.sys, "platform", "darwin")  # macOS: the native place
    assert store.state_dir({}) == Path(platformdirs.user_state_dir("troubleshooter",
                                                                   appauthor=False))


def test_a_watch_transcript_is_not_listed_as_a_session(tmp_path: Path) -> None:
    from troubleshooter import report
    from troubleshooter.session import Session

    session = Session(TRACE, {}, {}, "non-interactive", {},
                      started_at="2026-01-02T03:04:05.000Z")
    e = env(tmp_path)
    path = report.save(session, json.dumps({"schema": "troubleshooter.watch/1", "rounds": []}),
                       e)
    assert path.name == "2026-01-02T030405-0123abcd.json" and mode(path) == 0o600
    assert store.listing(e) == ([], [])
    with pytest.raises(UsageError, match="no session with id '0123'"):
        store.find(e, "0123")


def test_a_fifo_among_the_sessions_does_not_block(tmp_path) -> None:
    import os

    import pytest

    from troubleshooter.errors import UsageError
    from troubleshooter.store import read

    fifo = tmp_path / "2026-01-01T000000-deadbeef.json"
    os.mkfifo(fifo)  # nobody will write to it
    with pytest.raises(UsageError, match="not a regular file"):
        read(fifo)
