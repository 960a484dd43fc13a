"""Helpers for the log scanner tests: real files in tmp_path, scans with both engines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from troubleshooter.checks.logs.api import ScanResult, scan_logs
from troubleshooter.checks.logs.signatures import catalogue

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "logs"
ENGINES = ("hyperscan", "python")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scan(specs: Sequence[str | Path], engine: str = "auto", since: float | None = None,
         now: float = 1.8e9, **kw: object) -> ScanResult:
    return scan_logs([str(s) for s in specs], catalogue(), since=since, now=now,
                     time_limit=kw.pop("time_limit", 30.0), engine=engine, **kw)  # type: ignore[arg-type]


def counts(result: ScanResult) -> dict[str, int]:
    return {m.signature.id: m.count for m in result.matches}
