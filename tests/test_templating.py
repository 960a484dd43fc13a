"""`{{ name }}` templates: what they refer to, what validation says, what they render to."""

from __future__ import annotations

from typing import Any

import pytest

from troubleshooter.templating import TARGET_FIELDS, references, render, unknown_reference

NAMES: dict[str, Any] = {
    "slow_ms": 100,
    "logs": ["/var/log/redis/redis-server.log", "/var/log/app.log"],
    "queue": "orchestrator",
    "write": False,
    "empty": None,
    "opts": {"k": 1},
    "target": {"url": "redis://:***@127.0.0.1:6379/0", "host": "127.0.0.1", "port": 6379,
               "db": 0, "scheme": "redis", "address": "127.0.0.1:6379", "source": "--url"},
}


@pytest.mark.parametrize("value, names", [
    ("no templates", []),
    ("{{ slow_ms }}", ["slow_ms"]),
    ("{{slow_ms}} and {{  queue  }}", ["slow_ms", "queue"]),
    ("at {{ target.url }} from {{ target.source }}", ["target.url", "target.source"]),
    (["{{ a }}", {"k": "{{ b }}", "{{ key_not_rendered }}": 1}, 3, None, True], ["a", "b"]),
    ("{{ x.y.z }} {{ 1x }} {{ }}", ["x.y.z", "1x", ""]),
    ("{{ a }}{{ b }}", ["a", "b"]),
    ("{ single } {{ unclosed", []),
    (42, []),
])
def test_references(value: Any, names: list[str]) -> None:
    assert references(value) == names


@pytest.mark.parametrize("name, why", [
    ("slow_ms", None),
    ("target.url", None),
    ("target.password", "unknown template name 'target.password' (target has: url, host, port, "
                        "db, scheme, address, source)"),
    ("target", "unknown template name 'target' (target has: url, host, port, db, scheme, "
               "address, source)"),
    ("target.url.x", "unknown template name 'target.url.x' (target has: url, host, port, db, "
                     "scheme, address, source)"),
    ("slow", "unknown template variable 'slow' (variables: queue, slow_ms)"),
    ("slow_ms.x", "unknown template variable 'slow_ms.x' (variables: queue, slow_ms)"),
    ("1x", "unknown template variable '1x' (variables: queue, slow_ms)"),
    ("", "empty template `{{ }}`: put a variable name (or target.<field>) inside"),
])
def test_unknown_reference(name: str, why: str | None) -> None:
    assert unknown_reference(name, {"slow_ms": 100, "queue": ""}) == why


def test_unknown_reference_without_variables() -> None:
    assert unknown_reference("x", {}) == "unknown template variable 'x' (variables: none declared)"


def test_every_target_field_is_known() -> None:
    assert all(unknown_reference(f"target.{f}", {}) is None for f in TARGET_FIELDS)


@pytest.mark.parametrize("value, rendered", [
    # A string that is exactly one template keeps the value's type.
    ("{{ slow_ms }}", 100),
    ("  {{ slow_ms }} ", 100),
    ("{{ logs }}", ["/var/log/redis/redis-server.log", "/var/log/app.log"]),
    ("{{ write }}", False),
    ("{{ empty }}", None),
    ("{{ opts }}", {"k": 1}),
    ("{{ target.port }}", 6379),
    # Otherwise values are substituted as text.
    ("{{ slow_ms }} ms", "100 ms"),
    ("queue {{ queue }}!", "queue orchestrator!"),
    ("logs: {{ logs }}", "logs: /var/log/redis/redis-server.log, /var/log/app.log"),
    ("[{{ empty }}]", "[]"),
    ("{{ slow_ms }}{{ slow_ms }}", "100100"),
    ("{{ target.address }} ({{ target.source }})", "127.0.0.1:6379 (--url)"),
    ("{{target.url}}", "redis://:***@127.0.0.1:6379/0"),
    # Unknown names render as nothing (validation reports them before a run).
    ("{{ missing }}", None),
    ("x{{ missing }}y", "xy"),
    ("{{ target.nope }}", None),
    ("{{ slow_ms.x }}", None),
    ("no templates", "no templates"),
    # Containers are rendered item by item; other values pass through.
    (["{{ slow_ms }}", "q={{ queue }}"], [100, "q=orchestrator"]),
    ({"slow_ms": "{{ slow_ms }}", "n": 3}, {"slow_ms": 100, "n": 3}),
    (7, 7),
    (None, None),
])
def test_render(value: Any, rendered: Any) -> None:
    assert render(value, NAMES) == rendered


def test_render_does_not_evaluate_anything() -> None:
    assert render("{{ __import__('os') }}", NAMES) is None
    assert render("x {{ __import__('os') }}", NAMES) == "x "
    assert render("{{ target.__class__ }}", NAMES) is None
