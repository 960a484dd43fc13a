"""Fixtures of the RQ tests: one real redis-server per module, and a client on it that starts
each test from an empty server with zeroed command statistics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from troubleshooter.lab.server import RedisServer


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as srv:
        yield srv


@pytest.fixture
def conn(server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=server.host, port=server.port)
    client.flushall()
    client.config_resetstat()
    yield client
    client.close()
