"""Servers the check tests share: a never-faulted one per module, and a fresh one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from troubleshooter.lab.server import RedisServer


@pytest.fixture(scope="module")
def healthy() -> Iterator[RedisServer]:
    """Never faulted: the healthy baseline and the command budget."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def fresh() -> Iterator[RedisServer]:
    """For faults that leave the server changed: a new one per test."""
    with RedisServer() as server:
        yield server
