"""When did this Redis start, and with what data: the frame every RQ judgement needs.

After a restart from a snapshot, a `started` job may have finished after the snapshot was taken
(it will not be running anywhere, and it must not be requeued blindly); after a restart with
nothing loaded, workers born before it and worker keys missing from `rq:workers` prove that
work was lost, which INFO alone cannot tell from a first start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from datetime import UTC, datetime
from typing import Any

from troubleshooter.checks.rq.common import Session
from troubleshooter.checks.server.replies import server_config, server_info_if_allowed
from troubleshooter.checks.server.rules import Facts, restart_finding
from troubleshooter.findings import Finding
from troubleshooter.frozen import frozen


@frozen
class Restart:
    """The server's start (epoch seconds) and what it loaded; info is INFO's reply."""

    started_at: float | None
    uptime_s: int | None
    keys_loaded: int | None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def from_snapshot(self) -> bool:
        return bool(self.keys_loaded)


def read_restart(session: Session) -> Restart:
    """Uptime and what the last start loaded: the run's INFO (server/replies.py), read here
    only when no check of the run has read it yet."""
    session.spend("reading the server's start time")
    info = server_info_if_allowed(session.replies)[0]  # refused or renamed: start unknown
    uptime = info.get("uptime_in_seconds")
    loaded = info.get("rdb_last_load_keys_loaded")
    if not isinstance(uptime, int):
        return Restart(None, None, None, info)
    # The server's own clock, like the timestamps RQ's workers wrote into it.
    server_now = info.get("server_time_usec")
    now = server_now / 1e6 if isinstance(server_now, int) else session.now
    return Restart(now - uptime, uptime, loaded if isinstance(loaded, int) else None, info)


def data_lost(session: Session, restart: Restart, where: str, recent_s: float,
              survivors: Sequence[str]) -> Finding | None:
    """server.data_lost when the server restarted empty and RQ shows work from before."""
    if not survivors or restart.uptime_s is None or restart.uptime_s >= recent_s:
        return None
    found = restart_finding(Facts(restart.info, _save_policy(session, restart.info), where, 0,
                                  {"recent_restart_s": recent_s}, survivors=tuple(survivors)),
                            restart.uptime_s)
    if found.code != "server.data_lost":
        return None
    return replace(found, evidence=(*found.evidence, *_what_is_missing(session, restart)))


def _what_is_missing(session: Session, restart: Restart) -> list[str]:
    """When it started, and the RQ keys an RQ that ran before would have and that are gone."""
    queues_key, workers_key = session.keys.queues, session.keys.workers
    lines = []
    if restart.started_at is not None:
        when = datetime.fromtimestamp(restart.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"Redis started at {when}: anything enqueued before then is gone")
    session.spend("reading which RQ keys are left")
    pipe = session.pipeline()
    pipe.scard(queues_key)
    pipe.scard(workers_key)
    queues, workers = pipe.execute()
    lines.append(f"{queues_key}: " + (
        "missing (no queue was enqueued to since)" if not queues
        else f"{queues} queue(s), recreated since the restart"))
    lines.append(f"{workers_key}: " + (
        "missing (no worker registered since)" if not workers
        else f"{workers} worker(s), registered since the restart"))
    return lines


def _save_policy(session: Session, info: Mapping[str, Any]) -> dict[str, str]:
    """The run's CONFIG (`save` among it); {} when CONFIG GET is renamed or not permitted:
    the finding then says the policy is unknown."""
    return server_config(session.replies, info)[0]
