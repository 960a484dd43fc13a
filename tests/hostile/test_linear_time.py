"""Text read from Redis, a log or a file passes through regular expressions before anyone sees
it: redaction (every string of a session), URL masking, wrapping for a narrow screen, making it
visible. None may cost the text's length squared: a 40 kB queue name or a 1 MB failure text
once stalled a run for minutes (--deadline, ^C and SIGTERM included; the pattern held the GIL).

Each input is 200 kB of one short piece repeated, chosen against the patterns' shapes (runs of
letters, of `a.`, of spaces, of words that announce a secret). Linear, each takes well under a
second; squared, the slowest took hours. The timeout is the judge, not a measured time.
"""

from __future__ import annotations

import pytest

from troubleshooter.redaction import Redactor, mask_assignments
from troubleshooter.sanitize import shorten, shorten_quoted, visible
from troubleshooter.target import redact_url, url_passwords, url_secrets
from troubleshooter.ui.plainscreen import _breaks

pytestmark = pytest.mark.timeout(60)

SIZE = 200_000
PIECES = ["A", "a1", "a.", "e-", "0.", "a:", "a@", "@", ":", " ", "\n", "\t", " \n", "a://",
          "a://u:", "redis-cli ", "setuser ", "user ", "auth ", "AUTH a ", '"auth" ', "x=\"",
          "export A=", "password", "password ", "?password=", ">", "\\", "'", '"']


def _long(piece: str) -> str:
    return (piece * (SIZE // len(piece) + 1))[:SIZE]


@pytest.mark.parametrize("piece", PIECES)
def test_every_text_pattern_is_linear(piece: str) -> None:
    text = _long(piece)
    redactor = Redactor.for_run(["hunter22"], {})
    assert len(redactor.text(text)) <= SIZE
    redact_url(text)
    url_passwords(text)
    url_secrets(text)
    mask_assignments(text)
    visible(text, multiline=True)
    shorten(text)
    shorten_quoted(text)
    _breaks(text, 40)


def test_a_url_password_is_still_found_after_a_long_run() -> None:
    # The bounds are on where a scheme may start, not on what a URL may follow.
    text = "x" * 100_000 + " redis://u:s3cret-pw@h:6379/0 " + "a." * 50_000
    assert "s3cret-pw" not in redact_url(text)
    assert "s3cret-pw" not in Redactor.for_run([], {}).text(text)
    assert url_passwords(text) == ["s3cret-pw"]
