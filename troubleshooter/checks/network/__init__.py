"""Step 1, network: the URL itself, DNS, TCP, TLS, the RESP handshake, Redis nearby."""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind
from troubleshooter.checks.network import kinds

KINDS: tuple[CheckKind, ...] = kinds.KINDS
