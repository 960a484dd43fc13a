"""Configuration files are read as data, in every supported format, never executed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from troubleshooter.checks.config.files import MAX_BYTES, FileProblem, read_settings


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_dotenv(tmp_path: Path) -> None:
    path = _write(tmp_path, "worker.env", "# worker\nexport REDIS_URL='redis://h:6379/1'\n"
                  "RQ_QUEUE_NAME=orchestrator-staging # the staging queue\nnot a setting\n")
    values, fmt = read_settings(path)
    assert fmt == "dotenv"
    assert values == {"REDIS_URL": "redis://h:6379/1", "RQ_QUEUE_NAME": "orchestrator-staging"}


def test_yaml_and_toml_are_flattened(tmp_path: Path) -> None:
    yml = _write(tmp_path, "app.yaml", "redis:\n  url: redis://h:6380/0\nrq:\n  queues: [a, b]\n")
    assert read_settings(yml) == ({"REDIS_URL": "redis://h:6380/0", "RQ_QUEUES": "a,b"}, "yaml")
    toml = _write(tmp_path, "app.toml", '[redis]\nhost = "h"\nport = 6381\n')
    assert read_settings(toml) == ({"REDIS_HOST": "h", "REDIS_PORT": "6381"}, "toml")


def test_a_python_settings_module_is_read_as_text_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = _write(tmp_path, "settings.py", (
        "import os\n"
        f"open({str(marker)!r}, 'w')\n"
        "REDIS_URL = os.getenv('REDIS_URL', 'redis://cache:6379/2')\n"
        "RQ_QUEUE_NAME: str = \"orchestrator\"\n"
        "REDIS_PORT = 6379  # default\n"
        "COMPUTED = 'a' + 'b'\n"))
    values, fmt = read_settings(path)
    assert fmt.startswith("python")
    assert values == {"REDIS_URL": "redis://cache:6379/2", "RQ_QUEUE_NAME": "orchestrator",
                      "REDIS_PORT": "6379"}
    assert not marker.exists()


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.yaml", "a: [1,\n", "bad.yaml:2: not valid YAML"),
    ("bad.toml", "a = \n", "bad.toml: not valid TOML"),
])
def test_broken_files_are_named_precisely(tmp_path: Path, name: str, text: str,
                                          message: str) -> None:
    with pytest.raises(FileProblem) as info:
        read_settings(_write(tmp_path, name, text))
    assert str(info.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message.split(" ", 1)[1] in str(info.value)


def test_missing_binary_and_huge_files(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match="cannot read the settings file: No such file"):
        read_settings(str(tmp_path / "nope.env"))
    os.mkfifo(tmp_path / "fifo.env")  # nobody writes to it: it must not block the run
    with pytest.raises(FileProblem, match="it is a FIFO"):
        read_settings(str(tmp_path / "fifo.env"))
    (tmp_path / "bin.env").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FileProblem, match="not UTF-8"):
        read_settings(str(tmp_path / "bin.env"))
    (tmp_path / "big.env").write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(FileProblem, match="too large"):
        read_settings(str(tmp_path / "big.env"))
