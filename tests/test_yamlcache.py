"""The kept YAML parse: the same Source as a fresh parse, believed only for its own text and only
from a file of ours; shipped playbooks use it (a run then never imports PyYAML), users' do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from troubleshooter import library, playbook, yamlsrc
from troubleshooter.yamlcache import KEEP, ParseCache, default_dir

TEXT = """\
id: demo
title: "Demo"
steps:
  - id: one
    items: [1, 2.5, true, null, "x"]
    nested: {a: {b: [c]}}
dup: 1
dup: 2
"""


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


def test_a_kept_parse_is_the_parse(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "c")
    fresh = yamlsrc.load(TEXT)
    first = yamlsrc.load(TEXT, cache)  # parsed, then kept
    assert len(entries(tmp_path / "c")) == 1
    kept = cache.get(TEXT)
    assert kept is not None and kept is not first
    for source in (first, kept):
        assert (source.data, source.lines, source.duplicates, source.nodes) == \
            (fresh.data, fresh.lines, fresh.duplicates, fresh.nodes)
    assert list(kept.lines) == list(fresh.lines)  # in document order
    assert yamlsrc.load(TEXT, cache).data == fresh.data


def test_another_text_is_another_entry(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    yamlsrc.load(TEXT, cache)
    assert cache.get(TEXT + "# edited\n") is None
    assert cache.get(TEXT.replace("Demo", "Demo2")) is None


def test_values_json_would_change_are_not_kept(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    for text in ("when: 2024-01-02\n", "blob: !!binary aGk=\n", "x: .nan\n", "[1, 2]\n"):
        yamlsrc.load(text, cache)
    # the date, the bytes and NaN are not plain JSON; the list is
    assert len(entries(tmp_path)) == 1 and cache.get("[1, 2]\n") is not None


def test_a_file_others_can_write_or_a_link_is_not_believed(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    yamlsrc.load(TEXT, cache)
    [kept] = entries(tmp_path)
    kept.chmod(0o666)
    assert cache.get(TEXT) is None
    kept.chmod(0o600)
    assert cache.get(TEXT) is not None
    real = tmp_path / "elsewhere.data"
    kept.rename(real)
    kept.symlink_to(real)
    assert cache.get(TEXT) is None


@pytest.mark.parametrize("content", [
    b"not json", b"[]", b'{"format": "other/1"}', b'{"format": "troubleshooter.yamlcache/1"}',
    b'{"format": "troubleshooter.yamlcache/1", "data": 1, "nodes": 1, "lines": [[[true], 1]],'
    b' "duplicates": []}',
    b'{"format": "troubleshooter.yamlcache/1", "data": 1, "nodes": -1, "lines": [],'
    b' "duplicates": []}',
    b"[" * 100_000,
])
def test_a_malformed_file_is_a_miss(tmp_path: Path, content: bytes) -> None:
    cache = ParseCache(tmp_path)
    yamlsrc.load(TEXT, cache)
    [kept] = entries(tmp_path)
    kept.write_bytes(content)
    assert cache.get(TEXT) is None
    assert yamlsrc.load(TEXT, cache).data == yamlsrc.load(TEXT).data  # parsed again


def test_at_most_keep_files(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    for i in range(KEEP + 5):
        yamlsrc.load(f"n: {i}\n", cache)
    assert len(entries(tmp_path)) == KEEP
    assert not list(tmp_path.glob(".*.tmp"))


def test_an_unwritable_cache_is_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = ParseCache(blocker / "under")  # cannot be made
    assert yamlsrc.load(TEXT, cache).data["id"] == "demo"
    assert cache.get(TEXT) is None


def test_only_shipped_playbooks_are_kept(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    shipped = library.resolve(None, environ)
    assert library.parse_cache(shipped, environ) is not None
    assert library.parse_cache(shipped, {**environ, "TROUBLESHOOTER_NO_CACHE": "1"}) is None
    mine = tmp_path / "mine.yaml"
    mine.write_text(shipped.read_text())
    assert library.parse_cache(mine, environ) is None
    assert default_dir(environ) == tmp_path / "troubleshooter" / "yaml"
    cache = library.parse_cache(shipped, environ)

    def shape(pb: playbook.Playbook) -> list[object]:
        return [(s.id, s.title, [(a.id, a.check, dict(a.params), a.timeout) for a in s.actions])
                for s in pb.steps]

    kept_first = playbook.load(shipped, cache=cache)  # parsed, kept
    assert shape(playbook.load(shipped, cache=cache)) == shape(kept_first) == \
        shape(playbook.load(shipped)) == shape(library.load(None, environ))


def test_the_shipped_playbook_and_log_catalogue_skip_pyyaml_once_kept(tmp_path: Path) -> None:
    """Both loaded twice, in two processes: the second never imports yaml."""
    code = ("import sys, os; from troubleshooter import library; "
            "from troubleshooter.checks.logs.signatures import catalogue; "
            "library.load(None, os.environ); "
            "assert len(catalogue(os.environ)) > 10; "
            "print('yaml' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=60).stdout.strip() for _ in range(2)]
    assert runs == ["True", "False"]
