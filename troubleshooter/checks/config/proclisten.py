"""Which process listens on a TCP port, read from /proc (Linux) without psutil.

psutil's `net_connections()` reads every file descriptor of every process: on a host whose
processes hold thousands of sockets (a Redis with 5,000 clients on the same machine) that took
0.3 s, plus 30 ms to import psutil. Here the listening sockets come from /proc/net/tcp and
tcp6 (their inodes), and the owner is looked for first among the processes that look like a
Redis server, then among the others until a time limit: most hosts have it in the first few.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from troubleshooter.checks.config.procs import ProcInfo, _cmdline

# A kernel name for each state letter of /proc/PID/stat, as psutil reports them.
STATUS = {"R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped",
          "t": "tracing-stop", "Z": "zombie", "X": "dead", "x": "dead", "K": "wake-kill",
          "W": "waking", "I": "idle", "P": "parked"}
LISTEN = "0A"
# /proc/net/tcp of a host with very many sockets: read at most this much of each table.
TABLE_BYTES = 64 * 1024 * 1024
# Looking through the other processes' descriptors stops here (seconds).
SEARCH_S = 1.0
SERVER_NAMES = ("redis", "valkey", "keydb", "dragonfly")


def listening_inodes(port: int, root: str = "/proc") -> set[str] | None:
    """The inodes of the TCP sockets listening on `port` (any address, IPv4 and IPv6); None
    when they cannot be read (not Linux, or /proc hidden).

    Asked of the kernel by netlink (sock_diag, as `ss -l` does: only the listening sockets);
    where that is refused, read from /proc/net/tcp and tcp6, which list every socket (a host
    with thousands of connections or TIME_WAITs takes ~10 ms a table there)."""
    if root == "/proc":
        asked = _netlink_listening(port)
        if asked is not None:
            return asked
    inodes: set[str] = set()
    read_any = False
    for table in ("tcp", "tcp6"):
        try:
            data = _read_capped(os.path.join(root, "net", table), TABLE_BYTES)
        except OSError:
            continue
        read_any = True
        for line in data.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3].decode() != LISTEN:
                continue
            local = fields[1].decode()
            try:
                if int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9].decode())
            except (IndexError, ValueError):
                continue
    return inodes if read_any else None


def owner(inodes: set[str], root: str = "/proc",
          limit_s: float = SEARCH_S) -> tuple[int | None, bool]:
    """The pid holding one of `inodes`, and whether every process could be looked at (False:
    some were not readable, or the time limit came first)."""
    try:
        pids = [int(n) for n in os.listdir(root) if n.isdigit()]
    except OSError:
        return None, False
    end = time.monotonic() + limit_s
    likely = [pid for pid in pids if time.monotonic() <= end and _looks_like_server(root, pid)]
    seen = set(likely)
    rest = [pid for pid in pids if pid not in seen]
    wanted = {f"socket:[{inode}]" for inode in inodes}
    complete = True
    for pid in [*likely, *rest]:
        if time.monotonic() > end:
            return None, False
        found = _holds(root, pid, wanted)
        if found is None:
            complete = False
        elif found:
            return pid, True
    return None, complete


def read_basic(pid: int, root: str = "/proc") -> ProcInfo | None:
    """A process's name, command line and state, as psutil would report them; None if gone."""
    try:
        with open(os.path.join(root, str(pid), "stat"), "rb") as fh:
            stat = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    # "PID (comm) S ...": the name may itself hold spaces and parentheses.
    comm = stat[stat.find("(") + 1:stat.rfind(")")]
    state = stat[stat.rfind(")") + 2:stat.rfind(")") + 3]
    cmdline = tuple(_cmdline(root, pid))
    name = comm
    if len(comm) >= 15 and cmdline:  # the kernel cuts names at 15 characters
        base = os.path.basename(cmdline[0])
        if base.startswith(comm):
            name = base
    return ProcInfo(pid, name, cmdline, STATUS.get(state, state))


# netlink sock_diag (linux/inet_diag.h): a dump of the TCP sockets in state LISTEN, per family.
NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLMSG_ERROR, NLMSG_DONE = 4, 20, 2, 3
NLM_F_REQUEST_DUMP = 0x1 | 0x300
TCP_LISTEN = 10
MAX_MESSAGES = 100_000


def _netlink_listening(port: int, timeout: float = 1.0) -> set[str] | None:
    """Inodes of the sockets listening on `port`, from the kernel; None if it would not say."""
    import socket
    import struct

    if not hasattr(socket, "AF_NETLINK"):
        return None
    inodes: set[str] = set()
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
            sock.settimeout(timeout)
            for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), 1):
                request = struct.pack("=BBBBI48x", family, socket.IPPROTO_TCP, 0, 0,
                                      1 << TCP_LISTEN)
                sock.send(struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY,
                                      NLM_F_REQUEST_DUMP, seq, 0) + request)
                if not _netlink_replies(sock, seq, port, inodes):
                    return None
    except OSError:
        return None
    return inodes


def _netlink_replies(sock: Any, seq: int, port: int, inodes: set[str]) -> bool:
    """Read one dump's messages into `inodes`; False on an error reply or a malformed one."""
    import struct

    seen = 0
    while True:
        data = sock.recv(65536)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, _, got_seq, _ = struct.unpack_from("=IHHII", data, offset)
            if length < 16 or offset + length > len(data):
                return False
            if got_seq == seq:
                if kind == NLMSG_DONE:
                    return True
                if kind == NLMSG_ERROR or (seen := seen + 1) > MAX_MESSAGES:
                    return False
                if kind == SOCK_DIAG_BY_FAMILY and length >= 16 + 72:
                    sport = struct.unpack_from("!H", data, offset + 16 + 4)[0]
                    inode = struct.unpack_from("=I", data, offset + 16 + 68)[0]
                    if sport == port:
                        inodes.add(str(inode))
            offset += (length + 3) & ~3
        if not data:
            return False


def _read_capped(path: str, cap: int) -> bytes:
    """At most `cap` bytes of a file, read as it comes (read(cap) would allocate all of it)."""
    chunks: list[bytes] = []
    size = 0
    with open(path, "rb") as fh:
        while size < cap:
            chunk = fh.read(min(256 * 1024, cap - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks)


def _looks_like_server(root: str, pid: int) -> bool:
    try:
        with open(os.path.join(root, str(pid), "comm"), "rb") as fh:
            comm = fh.read(64).decode("utf-8", "replace").lower()
    except OSError:
        return False
    return any(name in comm for name in SERVER_NAMES)


def _holds(root: str, pid: int, wanted: Iterable[str]) -> bool | None:
    """Whether `pid` has one of the `wanted` sockets open; None when we may not look."""
    fd_dir = os.path.join(root, str(pid), "fd")
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return False  # exited meanwhile
    except OSError:
        return None  # another user's process
    targets = set(wanted)
    for fd in fds:
        try:
            if os.readlink(os.path.join(fd_dir, fd)) in targets:
                return True
        except OSError:
            continue
    return False
