"""The one redaction layer: every string that leaves the engine passes through a Redactor.

It knows the secrets of this run (the URL's password, secret-looking environment variables,
values the operator marked secret) and masks them wherever they appear; it also masks what
looks like a secret without knowing it: the password of any URL, AUTH/HELLO arguments,
`requirepass`/`masterauth` and ACL passwords in CONFIG/ACL output and redis.conf lines,
`NAME=value` where NAME says password/secret/token/key, and such keys in structured data.

Every removal is noted as (kind, where) - never the value - for the support bundle's
REDACTIONS.txt.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from troubleshooter.lazyre import lazy_compile
from troubleshooter.target import redact_url, url_secrets

MASK = "***"
# REDISCLI_AUTH: redis-cli's password, which the triage uses too (credentials.py).
_SECRET_ENV = lazy_compile(r"PASS(WORD)?|SECRET|TOKEN|API_?KEY|CREDENTIAL|_AUTH$", re.IGNORECASE)
# Names whose values are secrets: *PASSWORD*, *SECRET*, *TOKEN* in any case; *KEY* only in
# upper case (a variable), since `key` alone is an ordinary word in Redis data (a key name).
_SECRET_NAME = lazy_compile(
    r"(?i:passw(?:or)?d|(?:^|[-_])pass(?:$|[-_])|secret|token|credential|requirepass|masterauth"
    r"|api_?key|private_?key|access_?key)|KEY")
# Values the operator marks secret: one a line (set it from a file, not on the command line).
OPERATOR_SECRETS = "TROUBLESHOOTER_SECRETS"
# Shorter values are too likely to collide with ordinary words to be masked everywhere.
_MIN_SECRET = 4

class _Pattern(Protocol):
    def search(self, text: str) -> object: ...

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str: ...


_Rule = tuple[str, _Pattern, Callable[[re.Match[str]], str]]


class _AfterWord:
    """A secret that follows a word announcing it later on the same line (`redis-cli ... -a pw`,
    `ACL SETUSER u ... >pw`): every match of `secret` after the line's first `word`.

    One regular expression spanning from the word to the secret would read the rest of the line
    again from each occurrence of the word: a line full of the word would cost its length
    squared. Here the word is looked for once a line and the rest of the line read once."""

    def __init__(self, word: str, secret: str) -> None:
        self.word, self.secret = lazy_compile(word), lazy_compile(secret)

    def _matches(self, text: str) -> Iterator[re.Match[str]]:
        pos = 0
        while (word := self.word.search(text, pos)) is not None:
            end = text.find("\n", word.end())
            end = len(text) if end < 0 else end
            yield from self.secret.finditer(text, word.end(), end)
            pos = end + 1

    def search(self, text: str) -> re.Match[str] | None:
        return next(self._matches(text), None)

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str:
        parts, kept = [], 0
        for match in self._matches(text):
            parts += [text[kept:match.start()], repl(match)]
            kept = match.end()
        return "".join([*parts, text[kept:]])


def _keep_mask(group: str) -> Callable[[re.Match[str]], str]:
    """Replace the named group with MASK, keep the rest of the match."""
    def sub(m: re.Match[str]) -> str:
        start, end = m.span(group)
        if start < 0 or m[group] == MASK:
            return m[0]
        return m[0][: start - m.start()] + MASK + m[0][end - m.start():]
    return sub


# Patterns for secrets we do not know but can see: (kind, pattern, replacement). Each is
# anchored on a word that announces a secret, so ordinary prose ("AUTH failed for x") is kept.
_RULES: tuple[_Rule, ...] = (
    # MONITOR / redis-cli quoting: "AUTH" "pw", "AUTH" "user" "pw", "HELLO" "3" "AUTH" "u" "pw"
    ("AUTH/HELLO argument",
     lazy_compile(r'"(?i:auth)"(?:\s+"(?:[^"\\]|\\.)*")?\s+"(?P<pw>(?:[^"\\]|\\.)*)"'),
     _keep_mask("pw")),
    # A command as typed or logged: `AUTH pw`, `AUTH user pw`, `HELLO 3 AUTH user pw`, ending
    # the line (`AUTH failed for x; retry` is prose); lower case only where a line starts.
    ("AUTH/HELLO argument",
     lazy_compile(r"(?m)(?:(?:^|[>$#]\s*|\bHELLO\s+\d\s+)(?i:AUTH)|\bAUTH)\s+(?:\S+\s+)?"
                  r"(?!\(redacted\))"
                  r"(?P<pw>[^\s*]\S*)(?=\s*(?:SETNAME\s+\S+\s*)?$)"),
     _keep_mask("pw")),
    ("redis-cli password", _AfterWord(r"\bredis-cli\b", r"\s(?:-a|--pass)\s+(?P<pw>[^\s*]\S*)"),
     _keep_mask("pw")),
    # redis.conf lines, CONFIG SET/GET output: `requirepass pw`, "masterauth" "pw"
    ("requirepass/masterauth",
     lazy_compile(r'(?im)(?:^[ \t]*|\bCONFIG\s+SET\s+|")'
                  r'(?:requirepass|masterauth|tls-(?:client-)?key-file-pass)"?'
                  r'(?:[ \t]*[=:][ \t]*|[ \t]+|\n\s*\d+\)[ \t]*)"?(?P<pw>[^\s"\',*][^\s"\',]*)'),
     _keep_mask("pw")),
    # ACL SETUSER / ACL LIST / users.acl: `>password` and `#<sha256>` of a user's rules
    ("ACL password",
     _AfterWord(r"(?im)\bsetuser\b|^[ \t]*\"?user\s", r"(?<![^\s\"])[>#](?P<pw>[^\s\"*]+)"),
     _keep_mask("pw")),
    # NAME=value / NAME: value where the name says it holds a secret (env dumps, log lines)
    # `NAME=value` in any form; `NAME: value` only where NAME is an identifier (DB_PASSWORD,
    # API_TOKEN) or a quoted key, since "password: in the URL" is prose.
    ("secret-named value",
     lazy_compile(r"(?:(?P<name>\b[A-Za-z_][A-Za-z0-9_.-]*)(?:=|\s*=\s*(?=[\"']))|"
                  r"(?:(?P<ident>\b[A-Z][A-Z0-9]*_[A-Z0-9_]*|\b[a-z][a-z0-9]*_[a-z0-9_]+)|"
                  r"[\"'](?P<key>[A-Za-z_][A-Za-z0-9_.-]*)[\"'])\s*:\s*)"
                  r"(?P<q>[\"']?)(?P<pw>[\w+/.~!@$%^-][^\s\"',;&`)]*)(?P=q)"),
     lambda m: _keep_mask("pw")(m)
     if _names_secret(m["name"] or m["ident"] or m["key"]) else m[0]),
)


# Every rule above needs one of these words (or an `=`/`:` after a secret-looking name): text
# without them, nearly all text, skips the rules.
_TRIGGER = lazy_compile(r"(?i)auth|redis-cli|requirepass|masterauth|setuser|user|passw|secret|"
                        r"token|credential|key")


def _names_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not name.lower().endswith(("_set", "_file"))


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(found, key=len, reverse=True)
        self._lock = threading.Lock()
        # (kind, where) -> how many values were removed; never the values themselves.
        self.removed: Counter[tuple[str, str]] = Counter()
        # Strings already seen to hold nothing to remove: the transcript is saved after every
        # action, and most of it is the same text each time.
        self._clean: set[str] = set()

    @classmethod
    def for_run(cls, secrets: Iterable[str], environ: Mapping[str, str]) -> Redactor:
        """The target's secrets, secret-named environment variables, passwords in env URLs,
        and the values listed in $TROUBLESHOOTER_SECRETS (one a line)."""
        env_secrets = [v for k, v in environ.items() if _SECRET_ENV.search(k)]
        env_urls = [pw for v in environ.values() if "://" in v for pw in url_secrets(v)]
        marked = [line.strip() for line in environ.get(OPERATOR_SECRETS, "").splitlines()]
        return cls([*secrets, *env_secrets, *env_urls, *marked])

    def text(self, value: str, where: str = "") -> str:
        """`value` with every secret masked; each removal is noted under `where`."""
        if value in self._clean:
            return value
        masked = redact_url(value)
        if masked != value:
            self._note("URL password", where, masked.count(MASK) - value.count(MASK))
        for kind, pattern, sub in _RULES if _TRIGGER.search(masked) else ():
            if pattern.search(masked):
                before = masked.count(MASK)
                masked = pattern.sub(sub, masked)
                self._note(kind, where, masked.count(MASK) - before)
        for secret in self._secrets:
            if secret in masked:
                self._note("known secret (URL password, secret variable or marked value)",
                           where, masked.count(secret))
                masked = masked.replace(secret, MASK)
        if masked == value and len(value) < 4096:
            if len(self._clean) > 100_000:
                self._clean.clear()
            self._clean.add(value)
        return masked

    def value(self, value: Any, where: str = "") -> Any:
        """Any JSON-like value with every string redacted; a string under a key that names a
        secret (`requirepass`, `API_TOKEN`...) is masked whole."""
        if isinstance(value, str):
            return self.text(value, where)
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                key, path = self.text(str(k), where), _join(where, str(k))
                if isinstance(v, str) and v and v != MASK and _names_secret(key):
                    self._note("secret-named value", path, 1)
                    out[key] = MASK
                else:
                    out[key] = self.value(v, path)
            return out
        if isinstance(value, list | tuple):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def audit(self) -> list[dict[str, Any]]:
        """What was removed: `[{kind, where, count}]`, sorted; never a value."""
        with self._lock:
            items = sorted(self.removed.items())
        return [{"kind": kind, "where": where or "messages", "count": n}
                for (kind, where), n in items]

    def _note(self, kind: str, where: str, count: int) -> None:
        if count > 0:
            with self._lock:
                self.removed[(kind, where)] += count


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# `password=hunter2`, `"token": "abc"`, `Authorization: Bearer x`: secrets written into log
# lines by the programs themselves, whose values this run cannot know in advance.
_ASSIGNMENT = lazy_compile(
    # From the secret's word on: what precedes it in the name (DB_, spring.redis.) stays as it
    # is, and reading it from each `.` or `-` of a long name would cost the name's length squared.
    r"""(?P<key>(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|auth(?:orization)?)"""
    r"""["']?\s*[=:]\s*)(?P<q>["']?)(?:(?:Bearer|Basic)\s+)?(?P<value>[^\s"',;&]+)""",
    re.IGNORECASE)


def mask_assignments(text: str) -> str:
    """`text` with the value of every secret-named assignment masked (`password=***`)."""
    return _ASSIGNMENT.sub(lambda m: f"{m.group('key')}{m.group('q')}{MASK}", text)
