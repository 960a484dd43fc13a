"""The one redaction layer: the run's secrets never leave the engine, wherever they appear."""

from __future__ import annotations

import json

import pytest

from troubleshooter.redaction import MASK, Redactor

PASSWORD = "Sup3rSecret"


def test_password_masked_in_plain_text() -> None:
    r = Redactor([PASSWORD])
    assert r.text(f"AUTH failed for {PASSWORD}; retry") == "AUTH failed for ***; retry"
    assert r.text(f"{PASSWORD}{PASSWORD}") == "******"


def test_password_of_any_url_is_masked_without_knowing_it() -> None:
    r = Redactor()
    assert r.text("Error connecting to rediss://rqapp:other-pass@h:6380/0") == (
        "Error connecting to rediss://rqapp:***@h:6380/0")


def test_nested_data() -> None:
    r = Redactor([PASSWORD])
    data = {
        "summary": f"connected with {PASSWORD}",
        "urls": [f"redis://:{PASSWORD}@h:6379/0", ("tuple", PASSWORD)],
        "nested": {"deeper": {"value": f"x{PASSWORD}y", "n": 3, "ok": True, "none": None}},
        PASSWORD: "a key too",
    }
    assert r.value(data) == {
        "summary": "connected with ***",
        "urls": ["redis://:***@h:6379/0", ["tuple", "***"]],
        "nested": {"deeper": {"value": "x***y", "n": 3, "ok": True, "none": None}},
        "***": "a key too",
    }


def test_longest_secret_first() -> None:
    r = Redactor(["abcd", "abcdefgh"])
    assert r.text("abcdefgh abcd") == "*** ***"


def test_short_and_empty_secrets_are_not_masked() -> None:
    # Masking "pw" or "1" everywhere would garble ordinary text (ports, words) for no gain.
    r = Redactor(["pw", "abc", "", None])
    assert r.text("the pw is abc on port 1") == "the pw is abc on port 1"


def test_for_run_collects_the_url_password_and_env_secrets() -> None:
    environ = {
        "REDIS_PASSWORD": "envpass123",
        "API_KEY": "key-4567",
        "GITHUB_TOKEN": "ghp_abcdef",
        "DB_SECRET": "dbsecret9",
        "WORKER_URL": "rediss://worker:workerpass@h:6380/0",
        "HOME": "/root",
        "PATH": "/usr/bin:/bin",
    }
    r = Redactor.for_run([PASSWORD], environ)
    text = (f"{PASSWORD} envpass123 key-4567 ghp_abcdef dbsecret9 workerpass "
            "/root /usr/bin:/bin")
    assert r.text(text) == "*** *** *** *** *** *** /root /usr/bin:/bin"


def test_env_url_with_an_unencoded_password_is_masked_whole() -> None:
    # redis-py would read this password as "p"; the whole "p@ss#x" is still the secret.
    r = Redactor.for_run([], {"REDIS_URL": "redis://:p@ss#x@h:6379/0"})
    assert r.text("redis://:p@ss#x@h:6379/0") == "redis://:***@h:6379/0"
    assert r.text("AUTH p@ss#x") == "AUTH ***"


def test_env_url_percent_encoded_password_is_masked_decoded_too() -> None:
    r = Redactor.for_run([], {"REDIS_URL": "redis://:p%40ssw0rd@h:6379/0"})
    assert r.text("sent p@ssw0rd and p%40ssw0rd") == f"sent {MASK} and {MASK}"


def test_no_secret_survives_json_serialisation() -> None:
    r = Redactor.for_run([PASSWORD], {"REDIS_PASSWORD": "envpass123"})
    session = {"findings": [{"message": f"WRONGPASS for {PASSWORD}",
                             "evidence": [f"value (redacted): 'redis://:{PASSWORD}@h'",
                                          "REDIS_PASSWORD=envpass123"]}]}
    dumped = json.dumps(r.value(session))
    assert PASSWORD not in dumped and "envpass123" not in dumped


@pytest.mark.parametrize("value", [3, 2.5, True, None])
def test_non_strings_pass_through(value: object) -> None:
    assert Redactor([PASSWORD]).value(value) == value
