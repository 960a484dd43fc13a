"""A hostile RESP server: a real socket on loopback, answering each command from a script.

It speaks enough RESP3 for a client to get through its handshake (HELLO, CLIENT SETNAME,
SELECT) and the server checks, and answers any command with scripted bytes instead: an integer
to HELLO, a bulk of 2^40 bytes, a string that never ends, an array of 2^31 elements, nesting
10,000 deep, garbage, a slow drip. A reply is bytes, or an iterable of chunks (sent in turn,
until the client hangs up); `sent` counts what went out, to prove a client stopped reading.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

Reply = bytes | Iterable[bytes] | None
Script = Callable[[list[bytes]], Reply]
# A scripted reply: bytes, or a function making a fresh one (a generator) per command.
Scripted = Reply | Callable[[], Reply]


class HangUp(bytes):
    """A reply after which the server closes the connection."""


def bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def resp_map(pairs: Mapping[bytes, bytes]) -> bytes:
    """A RESP3 map of bulk strings (`:n` integers when the value is an int)."""
    out = b"%%%d\r\n" % len(pairs)
    for key, value in pairs.items():
        out += bulk(key) + (b":%d\r\n" % value if isinstance(value, int) else bulk(value))
    return out


HELLO = resp_map({b"server": b"redis", b"version": b"7.2.4", b"proto": 3,  # type: ignore[dict-item]
                  b"id": 5, b"mode": b"standalone", b"role": b"master"})  # type: ignore[dict-item]
INFO_TEXT = (b"# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\nrun_id:abc\r\n"
             b"tcp_port:6379\r\nuptime_in_seconds:100000\r\n# Clients\r\nconnected_clients:1\r\n"
             b"maxclients:10000\r\nblocked_clients:0\r\n# Memory\r\nused_memory:1000000\r\n"
             b"maxmemory:0\r\nmaxmemory_policy:noeviction\r\n# Persistence\r\nloading:0\r\n"
             b"rdb_last_bgsave_status:ok\r\naof_enabled:0\r\n# Stats\r\nrejected_connections:0\r\n"
             b"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n# Keyspace\r\n")
HEALTHY: dict[bytes, bytes] = {
    b"HELLO": HELLO,
    b"CLIENT": b"+OK\r\n",
    b"SELECT": b"+OK\r\n",
    b"PING": b"+PONG\r\n",
    b"INFO": bulk(INFO_TEXT),
    b"CONFIG": b"%0\r\n",
    b"MULTI": b"+OK\r\n",
    b"DISCARD": b"+OK\r\n",
    b"SET": b"+OK\r\n",
    b"DEL": b":1\r\n",
}


class Healthy:
    """A Redis 7 that answers the handshake and the server checks, but `overrides` (by command
    name) with their scripted replies. Inside MULTI every command is QUEUED (per connection:
    the server serves each connection with a `fresh()` copy)."""

    def __init__(self, overrides: Mapping[bytes, Scripted] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.replies: dict[bytes, Scripted] = {**HEALTHY, **self.overrides}
        self.multi = False

    def fresh(self) -> Healthy:
        return Healthy(self.overrides)

    def __call__(self, command: list[bytes]) -> Reply:
        name = command[0].upper() if command else b""
        if name not in self.overrides:
            if name == b"MULTI":
                self.multi = True
            elif name == b"DISCARD":
                self.multi = False
            elif self.multi:
                return b"+QUEUED\r\n"
        value = self.replies.get(name, b"-ERR unknown command '%s'\r\n" % name[:20])
        return value() if callable(value) else value


def healthy(overrides: Mapping[bytes, Scripted] | None = None) -> Script:
    """A `Healthy` script (see there)."""
    return Healthy(overrides)


def endless(chunk: bytes = b"a" * 65536, first: bytes = b"+") -> Iterator[bytes]:
    """A reply that never ends: `first`, then `chunk` forever."""
    return itertools.chain([first], itertools.repeat(chunk))


def drip(first: bytes = b"+PO", every: float = 0.1) -> Iterator[bytes]:
    """A reply that trickles in: `first`, then one byte every `every` s, forever."""
    yield first
    while True:
        time.sleep(every)
        yield b"N"


def nested(depth: int) -> bytes:
    return b"*1\r\n" * depth + b":1\r\n"


class HostileServer:
    """Listens on a free loopback port; each connection is served by `script` in a thread."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sent = 0
        self.commands: list[list[bytes]] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> HostileServer:
        thread = threading.Thread(target=self._accept, daemon=True, name="hostile-accept")
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for client in self._clients:
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                client.close()
        for thread in self._threads:
            thread.join(2)

    def served(self) -> int:
        """How many connections are still being served."""
        return sum(t.is_alive() for t in self._threads[1:])

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(client)
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True,
                                      name="hostile-client")
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        fresh = getattr(self.script, "fresh", None)  # per-connection state, where it has some
        script = fresh() if fresh else self.script
        try:
            while not self._stop.is_set():
                command = read_command(reader)
                if command is None:
                    return
                self.commands.append(command)
                reply = script(command)
                if reply is None:
                    return
                for chunk in [reply] if isinstance(reply, bytes) else reply:
                    if self._stop.is_set():
                        return
                    client.sendall(chunk)
                    self.sent += len(chunk)
                if isinstance(reply, HangUp):
                    return
        except OSError:
            return  # the client hung up: what we want it to do
        finally:
            reader.close()
            client.close()


def read_command(reader: object) -> list[bytes] | None:
    """One command, as redis-py (`*N` of bulk strings) or a raw probe (an inline line) sends it."""
    readline = reader.readline  # type: ignore[attr-defined]
    line = readline(65536)
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()
    args = []
    for _ in range(int(line[1:])):
        size = int(readline(65536)[1:])
        args.append(reader.read(size + 2)[:-2])  # type: ignore[attr-defined]
    return args
