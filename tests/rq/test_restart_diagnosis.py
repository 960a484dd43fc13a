"""A restart that lost or rewound the data is the cause of the RQ state after it."""

from __future__ import annotations

from troubleshooter.conditions import Scope
from troubleshooter.diagnosis import diagnose
from troubleshooter.findings import Finding, finding


def diagnosed(*findings: Finding) -> str | None:
    d = diagnose(findings, [], Scope({}, [f.code for f in findings], {}, {}))
    return d.code if d else None


def test_a_snapshot_restart_warning_explains_the_orphans_after_it() -> None:
    snapshot = finding("server.restored_from_snapshot", "restarted from its RDB snapshot")
    orphans = finding("rq.orphaned_jobs", "3 in-flight jobs lost their worker")
    assert diagnosed(orphans, snapshot) == "server.restored_from_snapshot"
    d = diagnose([orphans, snapshot], [], Scope({}, [], {}, {}))
    assert d is not None and any("rq.orphaned_jobs" in line for line in d.evidence)


def test_data_lost_outranks_no_workers_and_orphans() -> None:
    lost = finding("server.data_lost", "restarted empty")
    assert diagnosed(finding("rq.no_workers", "no worker"), lost,
                     finding("rq.orphaned_jobs", "o")) == "server.data_lost"


def test_a_restart_warning_does_not_mask_an_upstream_server_error() -> None:
    snapshot = finding("server.restored_from_snapshot", "restarted from its RDB snapshot")
    readonly = finding("server.readonly", "a replica")
    assert diagnosed(readonly, snapshot, finding("rq.no_workers", "n")) == "server.readonly"
    # Alone, a warning is no diagnosis.
    assert diagnosed(snapshot) is None
