"""Read RQ jobs as bytes: the hash fields a diagnosis needs, never the payload.

rq's own readers (`Job.fetch`, `fetch_many`, `restore`, `latest_result`, `Result.fetch_latest`,
`job.result`, `job.return_value`) unpickle `data`, `meta`, `result` and a result stream's
`return_value`: code planted there by anyone who can write to Redis would run in the operator's
shell. Here the fields are read by name with HMGET (the payload fields are never requested),
one pipelined round trip per batch, and a failure's text is decompressed with a size cap.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.server.link import text
from troubleshooter.frozen import frozen
from troubleshooter.lazyre import lazy_compile

if TYPE_CHECKING:
    from troubleshooter.checks.rq.common import Session

# What a diagnosis reads from a job hash: never data, meta, result or exc_info's payload.
JOB_FIELDS = ("status", "origin", "description", "worker_name", "enqueued_at", "started_at",
              "last_heartbeat", "rate_limit_key")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # rq.utils._TIMESTAMP_FORMAT
_RQ_TIME = lazy_compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z")
DESCRIPTION_CAP = 200  # characters shown of a job's description (its function call)
EXC_TEXT_CAP = 64 * 1024  # bytes of a decompressed traceback we are willing to hold


@frozen
class JobRecord:
    """The plain fields of one job hash (found=False: the hash is gone)."""

    job_id: str
    found: bool
    status: str = ""
    origin: str = ""
    description: str = ""
    worker_name: str = ""
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    last_heartbeat: datetime | None = None
    rate_limited: bool = False

    @property
    def func_name(self) -> str:
        """The function name from the description (`module.func(args)`), never the payload."""
        return self.description.split("(", 1)[0] or "?"


def read_jobs(session: Session, job_ids: Sequence[str]) -> list[JobRecord]:
    """Each job's plain fields: one HMGET per job, all in one round trip."""
    if not job_ids:
        return []
    session.spend("reading job records")
    pipe = session.pipeline()
    for job_id in job_ids:
        pipe.hmget(session.keys.job(job_id), JOB_FIELDS)
    return [record(job_id, values)
            for job_id, values in zip(job_ids, pipe.execute(), strict=True)]


def record(job_id: str, values: Sequence[Any]) -> JobRecord:
    """A JobRecord from HMGET's reply, in JOB_FIELDS order."""
    fields = dict(zip(JOB_FIELDS, (None if v is None else text(v) for v in values),
                      strict=True))
    if all(v is None for v in fields.values()):
        return JobRecord(job_id, found=False)

    def get(name: str) -> str:
        return fields.get(name) or ""

    return JobRecord(
        job_id, found=True, status=get("status"), origin=get("origin"),
        description=get("description")[:DESCRIPTION_CAP], worker_name=get("worker_name"),
        enqueued_at=parse_time(get("enqueued_at")), started_at=parse_time(get("started_at")),
        last_heartbeat=parse_time(get("last_heartbeat")), rate_limited=bool(get("rate_limit_key")),
    )


def read_failure_texts(session: Session, job_ids: Sequence[str]) -> dict[str, str]:
    """The failure text of each job: its result stream's latest `exc_string` (rq >= 1.12),
    else the job hash's `exc_info` (older rq). Two round trips at most; never `return_value`."""
    if not job_ids:
        return {}
    session.spend("reading the failures' exceptions")
    pipe = session.pipeline()
    for job_id in job_ids:
        pipe.xrevrange(session.keys.result(job_id), "+", "-", count=1)
    texts: dict[str, str] = {}
    for job_id, entries in zip(job_ids, pipe.execute(), strict=True):
        fields = entries[0][1] if entries else {}
        raw = fields.get(b"exc_string") or fields.get("exc_string")
        if raw:
            texts[job_id] = _b64_zlib(raw)
    missing = [job_id for job_id in job_ids if job_id not in texts]
    if missing:
        session.spend("reading the failures' exceptions from the job hashes")
        pipe = session.pipeline()
        for job_id in missing:
            pipe.hget(session.keys.job(job_id), "exc_info")
        for job_id, raw in zip(missing, pipe.execute(), strict=True):
            if raw:
                texts[job_id] = capped_decompress(raw)
    return texts


def _b64_zlib(raw: bytes | str) -> str:
    try:
        packed = base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError):
        return ""
    return capped_decompress(packed)


def capped_decompress(raw: bytes | str, cap: int = EXC_TEXT_CAP) -> str:
    """zlib text inflated to at most `cap` bytes (a bomb stops there); plain text as is."""
    data = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw
    try:
        inflated = zlib.decompressobj().decompress(data, cap)
    except zlib.error:
        inflated = data[:cap]  # rq < 1.0 stored it uncompressed
    return inflated.decode("utf-8", "replace")


def parse_time(value: str) -> datetime | None:
    """An rq timestamp (utcformat, or rq's older layout without microseconds), or None when
    absent or malformed: rq.utils.utcparse without importing rq.

    The layouts rq writes are read with one pattern (a third of strptime's ~6 µs; a run reads
    two per registered worker); anything else goes through strptime, which decides as before."""
    if not value:
        return None
    match = _RQ_TIME.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second = map(int, match.groups()[:6])
        micro = int((match.group(7) or "0").ljust(6, "0"))
        try:
            return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        except (ValueError, OverflowError):
            return None
    for layout in (TIMESTAMP_FORMAT, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            continue
    return None


def utcformat(moment: datetime) -> str:
    """A timestamp as rq writes it (rq.utils.utcformat)."""
    return moment.strftime(TIMESTAMP_FORMAT)
