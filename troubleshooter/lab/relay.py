"""A TCP relay in front of a lab server: to make it see another client address, or latency.

Some faults live between client and server: a client from a non-loopback address (protected
mode answers -DENIED) or a slow network. The relay produces them for real on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from troubleshooter.lab.server import RedisServer


class Forwarder:
    """A TCP relay on 127.0.0.1 to a server, connecting from `source` and delaying replies.

    From 127.0.0.2 the server sees a non-loopback client (protected mode); `delay_ms` adds
    real latency to every reply.
    """

    def __init__(self, server: RedisServer, source: str = "127.0.0.1",
                 delay_ms: float = 0) -> None:
        self.server, self.source, self.delay = server, source, delay_ms / 1000
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._sockets: list[socket.socket] = [self.listener]
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Forwarder:
        self._spawn(self._accept)
        return self

    def close(self) -> None:
        self._closed.set()
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(
                    (self.server.host, self.server.port), timeout=5,
                    source_address=(self.source, 0))
            except OSError:
                return
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, 0.0)
            self._spawn(self._pump, upstream, client, self.delay)

    def _pump(self, src: socket.socket, dst: socket.socket, delay: float) -> None:
        try:
            while chunk := src.recv(65536):
                if delay:
                    time.sleep(delay)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> Forwarder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
