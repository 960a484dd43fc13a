"""The redaction layer's rules for secrets it does not know but can see, and its audit."""

from __future__ import annotations

import pytest

from troubleshooter.redaction import MASK, Redactor

PW = "hunter2-Distinct"


@pytest.mark.parametrize(("text", "expected"), [
    # AUTH / HELLO, as typed, as MONITOR or redis-cli quote them
    (f"127.0.0.1:6379> AUTH {PW}", "127.0.0.1:6379> AUTH ***"),
    (f"AUTH rqapp {PW}", "AUTH rqapp ***"),
    (f"2026-01-01 10:00:02 DEBUG sent AUTH {PW}", "2026-01-01 10:00:02 DEBUG sent AUTH ***"),
    (f"HELLO 3 AUTH rqapp {PW} SETNAME worker", "HELLO 3 AUTH rqapp *** SETNAME worker"),
    (f'1700000000.1 [0 10.0.0.5:5123] "AUTH" "{PW}"',
     '1700000000.1 [0 10.0.0.5:5123] "AUTH" "***"'),
    (f'"HELLO" "3" "AUTH" "default" "{PW}"', '"HELLO" "3" "AUTH" "default" "***"'),
    (f"redis-cli -h cache -p 6380 -a {PW} --no-auth-warning ping",
     "redis-cli -h cache -p 6380 -a *** --no-auth-warning ping"),
    # requirepass / masterauth: redis.conf, CONFIG SET, CONFIG GET as redis-cli prints it
    (f"requirepass {PW}", "requirepass ***"),
    (f'  masterauth "{PW}"', '  masterauth "***"'),
    (f"CONFIG SET requirepass {PW}", "CONFIG SET requirepass ***"),
    (f'1) "requirepass"\n2) "{PW}"', '1) "requirepass"\n2) "***"'),
    # ACL passwords and their hashes
    (f"ACL SETUSER rq on >{PW} ~rq:* +@all", "ACL SETUSER rq on >*** ~rq:* +@all"),
    ("user rq on #" + "ab" * 32 + " ~rq:* +@all", "user rq on #*** ~rq:* +@all"),
    # NAME=value where the name says secret; log lines
    (f"starting with API_TOKEN={PW} QUEUE=default", "starting with API_TOKEN=*** QUEUE=default"),
    (f"db_password: '{PW}'", "db_password: '***'"),
    (f"GET /hook?secret={PW}&x=1", "GET /hook?secret=***&x=1"),
    (f"AWS_SECRET_ACCESS_KEY={PW}", "AWS_SECRET_ACCESS_KEY=***"),
    (f"Error 111 connecting to redis://:{PW}@h:6379/0", "Error 111 connecting to redis://:***@h:6379/0"),
])
def test_secrets_it_can_see(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


@pytest.mark.parametrize("text", [
    "AUTH failed for rqapp; retry",  # prose about AUTH keeps its words
    "key: rq:queue:default",         # `key` is a Redis word, not a secret
    "password_set: True",
    "set requirepass to a long random value",
    "HELLO 3 AUTH (redacted) (redacted)",  # Redis's own redaction kept as it is
    "pass: PING answered in 0.2 ms",
    "Give the app the password: in the URL as :PASSWORD@ before the host",
    "the Sentinels need their own password: ?sentinel_password= or --sentinel-password",
    "127.0.0.1:26379 refused our credentials: NOAUTH Authentication required.",
])
def test_ordinary_text_is_kept(text: str) -> None:
    r = Redactor()
    assert r.text(text) == text
    assert r.audit() == []


def test_structured_values_under_secret_names() -> None:
    r = Redactor()
    config = {"requirepass": PW, "masterauth": PW, "maxmemory": "0", "key": "rq:x",
              "DEPLOY_TOKEN": PW, "password_set": True, "nested": {"SECRET_KEY": PW}}
    assert r.value(config, "config") == {
        "requirepass": MASK, "masterauth": MASK, "maxmemory": "0", "key": "rq:x",
        "DEPLOY_TOKEN": MASK, "password_set": True, "nested": {"SECRET_KEY": MASK}}


def test_operator_marked_secrets_one_a_line() -> None:
    r = Redactor.for_run([], {"TROUBLESHOOTER_SECRETS": "first-marked-1\n second-marked-2 \n"})
    assert r.text("a first-marked-1 b second-marked-2") == "a *** b ***"


def test_the_audit_says_what_and_where_never_the_value() -> None:
    r = Redactor([PW])
    r.text(f"AUTH {PW}", "logs/app.log")
    r.value({"requirepass": "other-secret-1"}, "server/CONFIG")
    r.text(f"x {PW} y {PW}", "report")
    audit = r.audit()
    assert audit == [
        {"kind": "AUTH/HELLO argument", "where": "logs/app.log", "count": 1},
        {"kind": "known secret (URL password, secret variable or marked value)",
         "where": "report", "count": 2},
        {"kind": "secret-named value", "where": "server/CONFIG.requirepass", "count": 1},
    ]
    assert PW not in repr(audit) and "other-secret-1" not in repr(audit)


def test_redacting_twice_changes_nothing_and_notes_nothing() -> None:
    r = Redactor([PW])
    once = r.value({"a": f"AUTH {PW}", "requirepass": PW, "u": f"redis://:{PW}@h"})
    before = r.audit()
    assert r.value(once) == once
    assert r.audit() == before


def test_our_own_words_are_never_redacted() -> None:
    """Every title and remedy of the catalogue, and every text of the shipped playbook, reads
    the same after redaction: over-masking would garble the advice an on-call engineer needs."""
    from pathlib import Path

    import yaml

    from troubleshooter.findings import CATALOGUE

    texts = [t for code in CATALOGUE.values() for t in (code.title, code.remedy)]
    root = Path(__file__).resolve().parents[2]

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return []

    texts += strings(yaml.safe_load((root / "playbooks" / "redis-outage.yaml").read_text()))
    r = Redactor()
    assert [t for t in texts if r.text(t) != t] == []


def test_tls_key_file_passphrases_in_config() -> None:
    # CONFIG GET * as the support bundle reads it: the TLS key passphrases are secrets too.
    r = Redactor()
    config = {"tls-key-file-pass": PW, "tls-client-key-file-pass": PW, "tls-port": "0",
              "passes": "3"}
    assert r.value(config) == {"tls-key-file-pass": MASK, "tls-client-key-file-pass": MASK,
                               "tls-port": "0", "passes": "3"}
    assert r.text(f"tls-key-file-pass {PW}") == f"tls-key-file-pass {MASK}"
    assert r.text(f"CONFIG SET tls-client-key-file-pass {PW}").endswith(MASK)
