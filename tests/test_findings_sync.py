"""docs/FINDINGS.md (the project's own vocabulary) and findings.CATALOGUE name the same codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from troubleshooter.findings import CATALOGUE, FAMILIES, SEVERITIES, finding, step_of

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "FINDINGS.md"
TABLE_ROW = re.compile(r"^\| ([a-z]+\.[a-z_]+) \|", re.MULTILINE)


def documented_codes(text: str) -> set[str]:
    """Codes in the tables, plus the `logs.*` signatures listed in the Logs section."""
    codes = set(TABLE_ROW.findall(text))
    logs = re.search(r"^## \d+ Logs.*?(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert logs, "FINDINGS.md has no Logs section"
    codes |= set(re.findall(r"`(logs\.[a-z_]+)`", logs.group(0)))
    return codes


def test_every_documented_code_is_in_the_catalogue_and_back() -> None:
    documented = documented_codes(DOC.read_text(encoding="utf-8"))
    assert sorted(documented - set(CATALOGUE)) == [], "documented but not in CATALOGUE"
    assert sorted(set(CATALOGUE) - documented) == [], "in CATALOGUE but not documented"


def test_the_logs_list_is_not_empty() -> None:
    # Guards the parser: a Logs section it failed to read would make the check above vacuous.
    assert {c for c in documented_codes(DOC.read_text(encoding="utf-8"))
            if c.startswith("logs.")} >= {"logs.oom", "logs.connection_refused"}


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_catalogue_entries_are_sound(code: str) -> None:
    entry = CATALOGUE[code]
    assert entry.code == code
    assert re.fullmatch(r"[a-z]+\.[a-z_]+", code)
    assert code.split(".")[0] in FAMILIES and step_of(code) != "unknown"
    assert entry.severity in SEVERITIES
    assert entry.title and entry.remedy and not entry.title.endswith(".")


def test_finding_uses_catalogue_defaults() -> None:
    f = finding("server.oom", "used 2 MB of 2 MB", "INFO memory: used_memory:2097152")
    assert (f.code, f.severity, f.remedy, f.evidence) == (
        "server.oom", "error", CATALOGUE["server.oom"].remedy,
        ("INFO memory: used_memory:2097152",))
    g = finding("server.oom", "m", severity="warning", remedy="")
    assert (g.severity, g.remedy) == ("warning", "")
    with pytest.raises(KeyError):
        finding("server.nope", "m")
