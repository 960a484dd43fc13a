"""Is the system healthy again? The SadServers check, on the real lab.

Redis answers the app (its REDIS_URL as now written), the Redis settings the scenario names are
right, a live worker listens to the app's queue, a fresh job the app enqueues runs, and every
job the app ever enqueued in the drill ran exactly once: none lost, none run twice.
"""

from __future__ import annotations

import time

from troubleshooter.drill.lab import Lab
from troubleshooter.drill.looks import app_client, error_text
from troubleshooter.frozen import frozen
from troubleshooter.sanitize import visible


@frozen
class Verdict:
    ok: bool
    checks: tuple[tuple[bool, str], ...]


def verify(lab: Lab, deadline: float = 15.0) -> Verdict:
    """Each check in turn; the first that fails ends it (later ones would only repeat it)."""
    checks: list[tuple[bool, str]] = []
    end = time.monotonic() + deadline
    for check in (_ping, _config, _workers, lambda lab: _jobs(lab, end)):
        ok, text = check(lab)
        checks.append((ok, visible(lab.mask(text))))
        if not ok:
            return Verdict(False, tuple(checks))
    return Verdict(True, tuple(checks))


def _ping(lab: Lab, settle: float = 2.0) -> tuple[bool, str]:
    """PING as the app. An error reply (MISCONF until a BGSAVE succeeds, LOADING) is asked
    again for `settle` seconds: the trainee's fix may still be completing."""
    import redis

    end = time.monotonic() + settle
    while True:
        try:
            app_client(lab).ping()
            return True, "Redis answers the app (REDIS_URL from app.env)"
        except redis.exceptions.ResponseError as exc:
            if time.monotonic() > end:
                return False, f"the app cannot use Redis: {error_text(exc)}"
            time.sleep(0.1)
        except Exception as exc:
            return False, f"the app cannot use Redis: {error_text(exc)}"


def _config(lab: Lab) -> tuple[bool, str]:
    wanted = lab.scenario.verify_config
    if not wanted:
        return True, "no Redis setting to check"
    try:
        client = lab.admin()
        wrong = [f"{name} is {client.config_get(name).get(name)!r}, should be {value!r}"
                 for name, value in wanted.items()
                 if client.config_get(name).get(name) != value]
    except Exception as exc:
        return False, f"cannot read the Redis settings: {error_text(exc)}"
    if wrong:
        return False, "; ".join(wrong)
    return True, ", ".join(f"{k} {v}" for k, v in wanted.items())


def _workers(lab: Lab) -> tuple[bool, str]:
    queue = lab.app_queue
    try:
        client = app_client(lab)
        listening = {m.decode() if isinstance(m, bytes) else str(m)
                     for m in client.smembers(f"rq:workers:{queue}")}
    except Exception as exc:
        return False, f"cannot read the workers: {error_text(exc)}"
    alive = [f"rq:worker:{name}" for name in lab.live_worker_names()]
    serving = sorted(set(alive) & listening)
    if not serving:
        return False, (f"no live worker listens to the app's queue {queue!r} "
                       f"({len(alive)} worker process(es) running)")
    return True, f"{len(serving)} live worker(s) on {queue!r}: " + ", ".join(
        s.removeprefix("rq:worker:") for s in serving)


def _jobs(lab: Lab, end: float) -> tuple[bool, str]:
    probe = f"probe-{len(lab.outbox_entries()) + 1}"
    try:
        lab.enqueue(app_client(lab, timeout=2.0), lab.app_queue, probe)
    except Exception as exc:
        return False, f"the app cannot enqueue a job: {error_text(exc)}"
    tokens = list(dict.fromkeys(e["token"] for e in lab.outbox_entries()))
    while True:
        counts = lab.run_counts()
        twice = [t for t in tokens if counts.get(t, 0) > 1]
        if twice:
            return False, f"job(s) run more than once: {', '.join(twice)}"
        missing = [t for t in tokens if not counts.get(t)]
        if not missing:
            return True, f"all {len(tokens)} job(s) ran exactly once (a new one too)"
        if time.monotonic() > end:
            return False, (f"{len(missing)} job(s) never ran: {', '.join(missing)} "
                           "(lost, or still waiting in a queue)")
        time.sleep(0.05)
