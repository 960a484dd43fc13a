"""Training drills: a real local redis-server with a real fault, walked through and scored.

`troubleshooter drill` is also what a fresh machine with no Redis of its own runs: the wizard
against an embedded, deliberately broken Redis on a loopback port.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TextIO

from troubleshooter.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_PROBLEMS, UsageError
from troubleshooter.findings import CATALOGUE
from troubleshooter.lab.server import RedisServer, free_port
from troubleshooter.session import Session

DRILL_PASSWORD = "drill-s3cret-pw"


@dataclass(frozen=True)
class Scenario:
    name: str
    expected: str | None  # the diagnosis code a correct walkthrough reaches (None: healthy)
    briefing: str
    setup: Callable[[], AbstractContextManager[str]]  # yields the URL the trainee is given


@contextmanager
def _healthy() -> Iterator[str]:
    with RedisServer() as server:
        yield server.url


@contextmanager
def _stopped() -> Iterator[str]:
    server = RedisServer().start()
    url = server.url
    server.stop()
    yield url


@contextmanager
def _auth_required() -> Iterator[str]:
    with RedisServer("--requirepass", DRILL_PASSWORD) as server:
        yield server.url


@contextmanager
def _auth_failed() -> Iterator[str]:
    with RedisServer("--requirepass", DRILL_PASSWORD) as server:
        yield f"redis://:not-the-password@{server.host}:{server.port}/0"


@contextmanager
def _hung() -> Iterator[str]:
    with RedisServer() as server:
        server.pause()
        try:
            yield server.url
        finally:
            server.resume()


@contextmanager
def _wrong_port() -> Iterator[str]:
    with RedisServer() as server:
        yield f"redis://{server.host}:{_free_neighbour(server.port)}/0"


def _free_neighbour(port: int) -> int:
    """A port next to `port` that nothing listens on (the URL's typo)."""
    import socket

    for candidate in (port + 1, port - 1, port + 2, port - 2):
        with socket.socket() as s:
            s.settimeout(1.0)
            if s.connect_ex(("127.0.0.1", candidate)) != 0:
                return candidate
    return free_port()


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("healthy", None, "Users say jobs are slow. Is Redis the problem at all?", _healthy),
    Scenario("stopped", "network.refused",
             "Every request fails with 'Error 111 connecting'. Find out why.", _stopped),
    Scenario("auth-required", "server.auth_required",
             "After a config change the worker crashes at start-up.", _auth_required),
    Scenario("auth-failed", "server.auth_failed",
             "The password was rotated last night; the app now fails.", _auth_failed),
    Scenario("hung", "server.unresponsive",
             "Requests hang until they time out, nothing is refused.", _hung),
    Scenario("wrong-port", "config.wrong_instance",
             "A new deployment cannot reach Redis, the old one could.", _wrong_port),
)}


def pick(name: str | None, seed: int | None) -> Scenario:
    if name is None:
        faults = [s for s in SCENARIOS.values() if s.expected]
        return random.Random(seed).choice(faults)
    if name not in SCENARIOS:
        raise UsageError(f"no drill scenario {name!r} (known: {', '.join(SCENARIOS)})")
    return SCENARIOS[name]


def run_drill(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.list:
        for s in SCENARIOS.values():
            print(f"{s.name:15} {s.briefing}")
        return EXIT_OK
    if args.url:
        raise UsageError("a drill makes its own Redis: drop --url")
    scenario = pick(args.scenario, args.seed)
    from troubleshooter.target import parse_target
    from troubleshooter.wizard import run_wizard

    sessions: list[Session] = []
    with scenario.setup() as url:
        intro = (f"[bold]Drill[/]: {scenario.briefing}\n"
                 "A real redis-server runs on a loopback port with a real fault injected.")
        code = run_wizard(args, {**environ, "RQ_REDIS_URL": url, "REDIS_URL": url},
                          target=parse_target(url, "drill"), intro=intro,
                          on_session=sessions.append)
    if code not in (EXIT_OK, EXIT_PROBLEMS, EXIT_INCOMPLETE) or not sessions:
        return code
    return score(scenario, sessions[0], sys.stderr if args.json else sys.stdout)


def score(scenario: Scenario, session: Session, out: TextIO) -> int:
    """Compare the walkthrough's diagnosis with the injected fault; 0 when they agree."""
    got = session.diagnosis.code if session.diagnosis else None
    if scenario.expected:
        injected = (f"the injected fault was {scenario.expected} "
                    f"({CATALOGUE[scenario.expected].title})")
    else:
        injected = "no fault was injected"
    verdict = "correct" if got == scenario.expected else "MISSED"
    print(f"\nDrill {scenario.name}: {injected}; "
          f"the walkthrough concluded {got or 'no problem'}: {verdict}", file=out)
    return EXIT_OK if got == scenario.expected else EXIT_PROBLEMS
