"""Which process listens on a port, from the kernel (netlink sock_diag) or /proc/net, without
psutil: compared with psutil on real processes and a real redis-server; a fake /proc only for
the fallback table's format."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from troubleshooter.checks.config import proclisten, procs
from troubleshooter.lab.server import RedisServer, wait_stopped

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")

LISTEN = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
          "s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)")


@pytest.fixture
def listening() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A real process listening on an ephemeral loopback port: (process, port)."""
    proc = subprocess.Popen([sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        yield proc, int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(10)


def as_psutil_sees(pid: int) -> tuple[str, tuple[str, ...], str]:
    proc = psutil.Process(pid)
    return proc.name(), tuple(proc.cmdline()), proc.status()


def test_the_kernel_and_the_tables_agree_and_name_the_owner(
        listening: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = listening
    asked = proclisten._netlink_listening(port)
    read = proclisten.listening_inodes(port, root="/proc/.")  # the /proc/net tables
    assert asked and asked == read
    assert proclisten.owner(asked) == (proc.pid, True)
    info, notes = procs.listener(port)
    assert info is not None and notes == []
    assert (info.pid, info.name, info.cmdline, info.status) == (proc.pid,
                                                                *as_psutil_sees(proc.pid))


def test_a_redis_server_and_its_stopped_state_as_psutil_reports_them() -> None:
    with RedisServer() as server:
        info, _ = procs.listener(server.port)
        assert info is not None and info.name == "redis-server"
        assert (info.name, info.cmdline, info.status) == as_psutil_sees(info.pid)
        os.kill(info.pid, signal.SIGSTOP)
        wait_stopped(info.pid)
        try:
            stopped, _ = procs.listener(server.port)
            assert stopped is not None and stopped.status == "stopped" == \
                psutil.Process(info.pid).status()
        finally:
            os.kill(info.pid, signal.SIGCONT)


def test_nothing_listening_is_nobody() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening
        assert proclisten._netlink_listening(port) == set()
        assert procs.listener(port) == (None, [])


def test_no_psutil_import_on_linux(listening: tuple[subprocess.Popen[str], int]) -> None:
    _, port = listening
    code = ("import json, sys; from troubleshooter.checks.config import procs; "
            f"info, _ = procs.listener({port}); "
            "print(json.dumps([info.name, 'psutil' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30)
    name, imported = json.loads(out.stdout)
    assert name.startswith("python") and imported is False


def test_the_fallback_table_and_a_hidden_owner(tmp_path: Path) -> None:
    net = tmp_path / "net"
    net.mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt" \
             "   uid  timeout inode\n"
    rows = [  # port 0x1C8F = 7311: listening (0A) on 127.0.0.1, and a connection (01) from it
        "   0: 0100007F:1C8F 00000000:0000 0A 00000000:00000000 00:00000000 00000000 "
        "  0        0 4242 1 0000000000000000 100 0 0 10 0\n",
        "   1: 0100007F:1C8F 0100007F:D431 01 00000000:00000000 00:00000000 00000000 "
        "  0        0 4343 1 0000000000000000 20 4 30 10 -1\n",
    ]
    (net / "tcp").write_text(header + "".join(rows))
    assert proclisten.listening_inodes(7311, str(tmp_path)) == {"4242"}
    assert proclisten.listening_inodes(7312, str(tmp_path)) == set()
    fds = tmp_path / "31337" / "fd"
    fds.mkdir(parents=True)
    (fds / "3").symlink_to("socket:[4343]")
    assert proclisten.owner({"4242"}, str(tmp_path)) == (None, True)
    (fds / "7").symlink_to("socket:[4242]")
    assert proclisten.owner({"4242"}, str(tmp_path)) == (31337, True)
    assert proclisten.listening_inodes(7311, str(tmp_path / "none")) is None


def test_a_kernel_thread_has_no_command_line_as_psutil_says(tmp_path: Path) -> None:
    (tmp_path / "2").mkdir()
    (tmp_path / "2" / "cmdline").write_bytes(b"")
    (tmp_path / "2" / "stat").write_text("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0")
    info = proclisten.read_basic(2, str(tmp_path))
    assert info is not None and (info.name, info.cmdline, info.status) == (
        "kthreadd", (), "sleeping")
    if os.path.exists("/proc/2/stat") and proclisten.read_basic(2) is not None:
        assert proclisten.read_basic(2).cmdline == tuple(psutil.Process(2).cmdline())  # type: ignore[union-attr]
