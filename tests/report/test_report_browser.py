"""The HTML report in a real browser: headless Chromium renders it, the DOM holds the
diagnosis, and screenshots (phone and desktop) and a PDF are left for a person to look at.

Debian's `chromium` package (`.ci/run` installs it); skipped, saying so, where it is absent.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.report.conftest import run
from troubleshooter.lab.server import RedisServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.timeout(120), pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install chromium; .ci/run does)"),
]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)


class _Section(HTMLParser):
    """The text inside the element with id `anchor`."""

    def __init__(self, anchor: str) -> None:
        super().__init__()
        self.anchor, self.depth, self.parts = anchor, 0, []  # type: ignore[var-annotated]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.anchor:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_report_renders_in_chromium(tmp_path: Path,
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    server = RedisServer("--requirepass", "browser-test-pw").start()
    try:
        done = run("run", "--non-interactive", "--json", "--url",
                   f"redis://:not-it-9876@127.0.0.1:{server.port}/0")
    finally:
        server.stop()
    trace = json.loads(done.stdout)["trace_id"]
    page = tmp_path / "report.html"
    assert run("report", trace[:8], "--format", "html", "-o", str(page)).returncode == 0

    dom = chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    diagnosis = _Section("diagnosis")
    diagnosis.feed(dom.stdout)
    assert diagnosis.text.startswith("Diagnosis server.auth_failed — Wrong password or user")
    assert "Remedy: Check the password / ACL user" in diagnosis.text
    assert "not-it-9876" not in dom.stdout and "browser-test-pw" not in dom.stdout

    # For a person to look at: `pytest --basetemp=DIR` keeps them in DIR/screens*/.
    shots = tmp_path_factory.mktemp("screens")
    for name, size in (("phone", "390,1400"), ("desktop", "1280,1000")):
        shot = shots / f"report-{name}.png"
        taken = chromium(tmp_path / "profile", f"--window-size={size}",
                         "--hide-scrollbars", f"--screenshot={shot}", page.as_uri())
        assert taken.returncode == 0, taken.stderr[-2000:]
        assert png_size(shot) == tuple(int(x) for x in size.split(","))
        assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    pdf = shots / "report.pdf"
    printed = chromium(tmp_path / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                       page.as_uri())
    assert printed.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"
    print(f"screenshots and PDF: {shots}")
