"""Fixtures for every test: a clean, private environment and a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from troubleshooter.lab.server import RedisServer

# Variables that change what the tool targets or how rich / prompt_toolkit draw.
CLEARED_ENV = (
    "NO_COLOR", "FORCE_COLOR", "TERM", "COLORTERM", "COLUMNS", "LINES", "TTY_COMPATIBLE",
    "TTY_INTERACTIVE", "CLICOLOR", "CLICOLOR_FORCE", "REDIS_URL", "RQ_REDIS_URL",
    "RQ_QUEUE_NAME", "TROUBLESHOOTER_PLAYBOOKS", "TROUBLESHOOTER_NO_CACHE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No developer setting leaks in; sessions and crash logs land in a throwaway directory."""
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    xdg = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_STATE_HOME", str(xdg / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg / "cache"))
    # Without it every prompt first waits for the terminal's cursor-position reply.
    monkeypatch.setenv("PROMPT_TOOLKIT_NO_CPR", "1")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, stopped (by PID) after the test."""
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.stop()
