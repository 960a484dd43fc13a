"""The hostile server, started per test and stopped after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.hostile.server import HostileServer, Script


@pytest.fixture
def hostile() -> Iterator[Callable[[Script], HostileServer]]:
    """Start a HostileServer with a script; every one started is stopped after the test."""
    started: list[HostileServer] = []

    def start(script: Script) -> HostileServer:
        server = HostileServer(script).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
