"""The one redaction layer: every string that leaves the engine passes through a Redactor.

It knows the secrets of this run (the URL's password, secret-looking environment variables) and
masks them wherever they appear, and masks the password part of any URL it sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from troubleshooter.target import redact_url, url_secrets

MASK = "***"
# REDISCLI_AUTH: redis-cli's password, which the triage uses too (credentials.py).
_SECRET_ENV = re.compile(r"PASS(WORD)?|SECRET|TOKEN|API_?KEY|CREDENTIAL|_AUTH$", re.IGNORECASE)
# Shorter values are too likely to collide with ordinary words to be masked everywhere.
_MIN_SECRET = 4


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(found, key=len, reverse=True)

    @classmethod
    def for_run(cls, secrets: Iterable[str], environ: Mapping[str, str]) -> Redactor:
        """The target's secrets, secret-named environment variables, passwords in env URLs."""
        env_secrets = [v for k, v in environ.items() if _SECRET_ENV.search(k)]
        env_urls = [pw for v in environ.values() if "://" in v for pw in url_secrets(v)]
        return cls([*secrets, *env_secrets, *env_urls])

    def text(self, value: str) -> str:
        value = redact_url(value)
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        """Any JSON-like value with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

