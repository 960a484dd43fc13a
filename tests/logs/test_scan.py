"""Scanning real files: exact counts, time windows, rotated sets, and every kind of bad input."""

from __future__ import annotations

import gzip
import io
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from troubleshooter.checks.logs import reader
from troubleshooter.checks.logs.scan import MAX_LINE, Scanner
from troubleshooter.checks.logs.signatures import catalogue

from .conftest import counts, scan

T0 = datetime(2026, 11, 25, 10, 0, 0).timestamp()
REFUSED = "redis.exceptions.ConnectionError: Error 111 connecting to r:6379. Connection refused."
OOM = "redis.exceptions.OutOfMemoryError: command not allowed when used memory > 'maxmemory'."


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S,000")


def write_log(path: Path, seconds: int, every: int = 60, error_every: int = 600,
              error: str = REFUSED, start: float = T0) -> int:
    """One line per `every` seconds; an error line every `error_every`. Returns the errors."""
    errors = 0
    with open(path, "w") as fh:
        for s in range(0, seconds, every):
            if s % error_every == 0:
                fh.write(f"{stamp(start + s)} ERROR app: {error}\n")
                errors += 1
            else:
                fh.write(f"{stamp(start + s)} INFO app: GET /health 200 user=u{s}\n")
    os.utime(path, (start + seconds, start + seconds))
    return errors


def test_counts_are_exact_lines_not_occurrences(tmp_path: Path, engine: str) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{stamp(T0)} {REFUSED} again: Error 111 connecting to r:6379\n"
                   f"{stamp(T0 + 60)} {OOM}\n" f"{stamp(T0 + 120)} {REFUSED}\n")
    result = scan([log], engine)
    assert counts(result) == {"connection_refused": 2, "oom": 1}
    refused = next(m for m in result.matches if m.signature.id == "connection_refused")
    assert (refused.first_seen, refused.last_seen) == (T0, T0 + 120)
    assert refused.files == {str(log): 2}
    assert refused.minutes == {int(T0 // 60): 1, int(T0 // 60) + 2: 1}


def test_a_window_counts_only_its_lines_and_reads_only_its_part(tmp_path: Path,
                                                                engine: str) -> None:
    log = tmp_path / "app.log"
    write_log(log, seconds=3 * 86400, every=5)  # 52k lines, an error every 10 minutes
    now = T0 + 3 * 86400
    result = scan([log], engine, since=now - 3600, now=now)
    assert counts(result) == {"connection_refused": 6}
    assert result.bytes < os.path.getsize(log) / 50  # the binary search skipped the rest
    everything = scan([log], engine)
    assert counts(everything) == {"connection_refused": 3 * 86400 // 600}


def test_lines_without_a_time_take_the_time_of_the_record_above(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(f"{stamp(T0)} ERROR job failed\nTraceback (most recent call last):\n"
                   f"  File \"x.py\", line 1\n{REFUSED}\n"
                   f"{stamp(T0 + 7200)} ERROR job failed\nTraceback:\n{REFUSED}\n")
    result = scan([log], since=T0 + 3600, now=T0 + 7300)
    refused = result.matches[0]
    assert (refused.count, refused.first_seen) == (1, T0 + 7200)


def test_a_rotated_set_is_read_newest_first_and_old_files_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    write_log(log, 3600, start=T0)
    write_log(tmp_path / "app.log.1", 3600, start=T0 - 3600, error=OOM)
    write_log(tmp_path / "app.log.2", 3600, start=T0 - 7200, error=OOM)
    with gzip.open(tmp_path / "app.log.3.gz", "wt") as gz:
        gz.write(f"{stamp(T0 - 9000)} {OOM}\n")
    os.utime(tmp_path / "app.log.3.gz", (T0 - 9000, T0 - 9000))
    (tmp_path / "app.log.bak").write_text(f"{OOM}\n")  # not a rotation: not read
    result = scan([log], now=T0 + 3600)
    assert result.read == (str(log), str(log) + ".1", str(log) + ".2", str(log) + ".3.gz")
    assert counts(result) == {"connection_refused": 6, "oom": 13}
    windowed = scan([log], since=T0 - 1800, now=T0 + 3600)
    assert windowed.read == (str(log), str(log) + ".1")
    assert windowed.older == (str(log) + ".2", str(log) + ".3.gz")
    assert counts(windowed) == {"connection_refused": 6, "oom": 3}


def test_globs_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(f"{REFUSED}\n")
    (tmp_path / "b.log").write_text(f"{OOM}\n")
    assert counts(scan([tmp_path / "*.log"])) == {"connection_refused": 1, "oom": 1}
    assert counts(scan([tmp_path])) == {"connection_refused": 1, "oom": 1}
    assert scan([tmp_path / "*.txt"]).notes == (f"{tmp_path}/*.txt: no file matches",)


def test_stdin(engine: str) -> None:
    data = io.BytesIO(f"{stamp(T0)} {OOM}\n{stamp(T0)} {OOM}".encode())
    result = scan(["-"], engine, stdin=data)
    assert counts(result) == {"oom": 2} and result.read == ("stdin",)


def test_missing_unreadable_binary_fifo_device_and_directory_are_notes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.log"
    good.write_text(f"{REFUSED}\n")
    binary = tmp_path / "core.bin"
    binary.write_bytes(b"\x7fELF\x00\x00" + REFUSED.encode())
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    secret = tmp_path / "secret.log"
    secret.write_text(f"{OOM}\n")
    real_open = os.open

    def deny(path: str, *args: int) -> int:  # root reads anything: inject the denial
        if str(path) == str(secret):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args)

    monkeypatch.setattr(reader.os, "open", deny)
    result = scan([good, tmp_path / "missing.log", binary, fifo, "/dev/zero", secret])
    assert counts(result) == {"connection_refused": 1}
    assert result.notes == (
        f"{tmp_path}/missing.log: cannot read the log: No such file or directory",
        f"{binary}: binary data (NUL bytes near the start), not a log: skipped",
        f"{fifo}: cannot read the log: it is a FIFO (named pipe), not a regular file",
        "/dev/zero: cannot read the log: it is a device, not a regular file",
        f"{secret}: cannot read the log: Permission denied",
    )


def test_a_broken_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    whole = gzip.compress((f"{REFUSED}\n" * 2000).encode() + os.urandom(200_000).hex().encode())
    broken = tmp_path / "app.log.1.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    result = scan([broken])
    assert counts(result)["connection_refused"] == 2000
    assert len(result.notes) == 1 and result.notes[0].startswith(f"{broken}: broken gzip after ")


def test_a_10_mb_line_is_scanned_in_pieces_and_counted_once(tmp_path: Path,
                                                            engine: str) -> None:
    log = tmp_path / "huge.log"
    filler = "x" * (10 * MAX_LINE)
    log.write_text(f"{stamp(T0)} start {REFUSED} {filler} {REFUSED} {filler} {OOM}\n"
                   f"{stamp(T0 + 1)} {REFUSED}\n")
    result = scan([log], engine)
    assert counts(result) == {"connection_refused": 2, "oom": 1}
    assert result.matches[0].first_seen == T0
    assert result.notes == (f"{log}: a line longer than 1 MB was scanned in pieces",)
    assert all(len(s) <= 400 for m in result.matches for s in m.samples)


def test_mixed_encodings_still_match_and_samples_say_so(tmp_path: Path) -> None:
    log = tmp_path / "latin1.log"
    log.write_bytes(f"caf\xe9 {REFUSED}\n".encode("latin-1") + f"café {OOM}\n".encode())
    result = scan([log])
    assert counts(result) == {"connection_refused": 1, "oom": 1}
    assert result.matches[0].samples[0].startswith("caf\ufffd ")
    assert result.notes == (f"{log}: some lines are not UTF-8 (shown with \ufffd)",)


def test_a_file_truncated_while_read_keeps_what_was_read(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{REFUSED}\n" * 1000)
    opened = reader.open_regular(str(log))
    notes: list[str] = []
    scanner = Scanner(catalogue(), since=None, now=T0)
    blocks = reader.plain_blocks(opened, 0, notes, block=4096)
    first = next(blocks)
    os.truncate(log, 8192)  # logrotate's copytruncate, halfway through our read
    scanner.feed(str(log), [first, *blocks])
    opened.close()
    assert scanner.hits[0].count == 8192 // len(REFUSED + "\n")
    assert notes == [f"{log}: truncated while it was read (read 8,192 of "
                     f"{os.path.getsize(log) and 1000 * (len(REFUSED) + 1):,} bytes); the "
                     "lines read were counted"]


def test_a_file_rotated_while_read_says_so(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{REFUSED}\n" * 10)
    opened = reader.open_regular(str(log))
    notes: list[str] = []
    blocks = reader.plain_blocks(opened, 0, notes, block=64)
    next(blocks)
    os.rename(log, tmp_path / "app.log.1")
    log.write_text("new\n")
    list(blocks)
    opened.close()
    assert notes == [f"{log}: rotated while it was read; the new file was not read"]


def test_the_time_limit_stops_the_scan_and_says_where(tmp_path: Path) -> None:
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_text(f"{REFUSED}\n" * 300_000)
    ticks = iter(range(1000))
    result = scan([tmp_path / "a.log", tmp_path / "b.log"], engine="python",
                  time_limit=0.5, clock=lambda: next(ticks) * 1.0)
    assert not result.complete
    assert result.notes[-1] == (f"stopped at the time limit (0.5 s) while reading "
                                f"{tmp_path}/a.log; 1 more source(s) not read")


def test_samples_mask_secrets(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"connect redis://:hunter22@r:6379/0 password=hunter22 {REFUSED}\n")
    sample = scan([log]).matches[0].samples[0]
    assert "hunter22" not in sample and "password=***" in sample


def test_times_in_other_formats_are_read(tmp_path: Path) -> None:
    now = time.time()
    log = tmp_path / "mixed.log"
    log.write_text(
        f'{{"time": "{datetime.fromtimestamp(now - 30).isoformat()}", "msg": "{OOM}"}}\n'
        f"{int(now - 20)} {OOM}\n"
        f"{datetime.fromtimestamp(now - 10).strftime('%b %d %H:%M:%S')} host app[1]: {OOM}\n")
    m = scan([log], since=now - 60, now=now).matches[0]
    assert m.count == 3 and m.untimed == 0
    assert m.first_seen == pytest.approx(now - 30, abs=1)
