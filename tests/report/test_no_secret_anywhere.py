"""One redaction pass for every output: a full run with a distinctive password, token and
operator-marked secret, through every step and every output format; then every byte written
(stdout, stderr, the state directory, every report, the unpacked bundles) is scanned.

The secrets are really there to leak: the URL's password (and `requirepass` in CONFIG GET *),
a token in an environment variable that also sits in a Redis value the SLOWLOG shows and in a
client name CLIENT LIST shows, and a value marked in $TROUBLESHOOTER_SECRETS in the SLOWLOG.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
import redis

from tests.report.conftest import run
from troubleshooter.lab.server import RedisServer

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

PASSWORD = "Zx-distinct-PW-5521"
TOKEN = "tok-Qq77-distinctive-9"
MARKED = "marked-Secret-Value-31"
SECRETS = (PASSWORD, TOKEN, MARKED)
ANSWERS = """\
log_lines: ["OOM command not allowed"]
restarted: Redis
same_url: true
same_queue: true
want_bundle: true
escalated: true
"""


def scan(blobs: dict[str, bytes]) -> list[str]:
    return [f"{secret!r} in {name}" for name, blob in blobs.items() for secret in SECRETS
            if secret.encode() in blob]


def unpack(archive: Path, into: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return {str(p): p.read_bytes() for p in into.rglob("*") if p.is_file()}


def test_no_secret_in_any_byte_written(tmp_path: Path) -> None:
    server = RedisServer("--requirepass", PASSWORD).start()
    spy = redis.Redis(host="127.0.0.1", port=server.port, password=PASSWORD,
                      socket_timeout=5, client_name=TOKEN)  # CLIENT LIST shows the name
    try:
        spy.config_set("slowlog-log-slower-than", 0)
        spy.set("deploy:token", TOKEN)  # the SLOWLOG keeps the arguments
        spy.set("deploy:marked", MARKED)
        spy.config_set("maxmemory", 1)  # noeviction: writes fail with OOM, an error finding
        answers = tmp_path / "answers.yaml"
        answers.write_text(ANSWERS)
        env = {"DEPLOY_API_TOKEN": TOKEN, "TROUBLESHOOTER_SECRETS": f"{MARKED}\n"}
        done = run("run", "--non-interactive", "--json", "--answers", str(answers),
                   "--url", f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0", env=env)
    finally:
        spy.close()
        server.stop()
    assert done.returncode == 1, done.stderr
    session = json.loads(done.stdout)
    assert session["diagnosis"]["code"] == "server.oom"
    statuses = {s["id"]: s["status"] for s in session["steps"]}
    assert "skipped" not in statuses.values(), statuses  # every step ran
    bundle_check = session["steps"][-1]["checks"][0]
    assert bundle_check["status"] == "pass", bundle_check
    ident = session["trace_id"][:8]

    written: dict[str, bytes] = {"run stdout": done.stdout.encode(),
                                 "run stderr": done.stderr.encode()}
    for args in (("sessions",), ("sessions", "--json"), ("report", ident),
                 ("report", ident, "--format", "html"), ("report", ident, "--format", "json"),
                 ("report", ident, "--format", "md", "-o", str(tmp_path / "r.md")),
                 ("report", "--format", "html", "-o", str(tmp_path / "r.html")),
                 ("bundle", ident, "-o", str(tmp_path / "later.tar.gz"))):
        out = run(*args, env=env)
        assert out.returncode == 0, (args, out.stderr)
        written[f"{args} stdout"], written[f"{args} stderr"] = out.stdout.encode(), \
            out.stderr.encode()
    state = Path(os.environ["XDG_STATE_HOME"])
    written |= {str(p): p.read_bytes() for p in state.rglob("*") if p.is_file()}
    written |= {str(p): p.read_bytes() for p in tmp_path.glob("r.*")}
    [during_run] = (state / "troubleshooter" / "bundles").glob("*.tar.gz")
    members = unpack(during_run, tmp_path / "during")
    written |= members | unpack(tmp_path / "later.tar.gz", tmp_path / "later")
    assert scan(written) == []

    # The secrets were really there, and the bundle says what was removed where.
    by_name = {Path(k).relative_to(tmp_path / "during").as_posix().split("/", 1)[1]: v.decode()
               for k, v in members.items()}
    assert "requirepass ***\n" in by_name["server/CONFIG.txt"]
    assert "set deploy:token ***" in by_name["server/SLOWLOG.txt"].lower()
    assert '"***": 1' in by_name["server/CLIENTS.txt"]
    audit = by_name["REDACTIONS.txt"]
    assert "never the value" in audit
    assert "URL password: target.url" in audit
    assert "requirepass/masterauth: server/CONFIG.txt (1×)" in audit
    assert "known secret (URL password, secret variable or marked value): " \
           "server/SLOWLOG.txt (2×)" in audit
    assert "redis_version" in by_name["server/INFO.txt"]
    later = (tmp_path / "later" / "later" / "REDACTIONS.txt").read_text()
    assert "secret-named value: check bundle: data.snapshot.CONFIG.requirepass (1×)" in later
