"""Saved sessions for the report tests: real transcripts written by real runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
TROUBLESHOOTER = str(BIN / "troubleshooter")
ROOT = Path(__file__).resolve().parents[2]
NETWORK_ONLY = str(ROOT / "tests" / "resources" / "network-only.yaml")


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, stdin not a terminal, both outputs captured."""
    return subprocess.run([TROUBLESHOOTER, *args], capture_output=True, text=True,
                          timeout=timeout, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


def sessions_dir() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "troubleshooter" / "sessions"


def state_files() -> dict[str, bytes]:
    """Every file under the state directory and its bytes: to show nothing was touched."""
    root = Path(os.environ["XDG_STATE_HOME"])
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
