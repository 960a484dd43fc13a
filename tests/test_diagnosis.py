"""The one root cause: the most upstream error (config, network, server, rq), unless a playbook
rule says a pairing means something else; warnings alone are no diagnosis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from troubleshooter.conditions import Scope, parse
from troubleshooter.diagnosis import diagnose
from troubleshooter.findings import CATALOGUE, Finding, finding, upstream_rank
from troubleshooter.playbook import DiagnosisRule


def found(code: str, message: str = "", *evidence: str, severity: str | None = None,
          step: str = "") -> Finding:
    return replace(finding(code, message or f"{code} seen", *evidence, severity=severity),
                   step=step)


def scope_of(findings: Sequence[Finding], **names: Any) -> Scope:
    return Scope(names, [f.code for f in findings], {}, {})


def cause(findings: Sequence[Finding], rules: Sequence[DiagnosisRule] = (),
          **names: Any) -> str | None:
    d = diagnose(findings, rules, scope_of(findings, **names))
    return d.code if d else None


# -- nothing broken ------------------------------------------------------------------------------
def test_no_findings_no_diagnosis() -> None:
    assert diagnose([], [], scope_of([])) is None


def test_warnings_alone_are_no_diagnosis() -> None:
    findings = [found("config.insecure"), found("server.eviction_policy"),
                found("rq.backlog"), found("server.slow"), found("restart.recovered")]
    assert {f.severity for f in findings} == {"warning", "info"}
    assert cause(findings) is None


def test_a_finding_downgraded_to_warning_is_no_diagnosis() -> None:
    assert cause([found("network.refused", severity="warning")]) is None


# -- the most upstream error -------------------------------------------------------------------
@pytest.mark.parametrize("codes, expected", [
    (["network.refused", "config.malformed_url"], "config.malformed_url"),
    (["server.auth_failed", "network.timeout"], "network.timeout"),
    (["rq.no_workers", "server.oom"], "server.oom"),
    (["rq.orphaned_jobs", "logs.fork_failed"], "rq.orphaned_jobs"),
    (["rq.no_workers", "server.readonly", "network.dns_failed", "config.mismatch"],
     "config.mismatch"),
    # inside a family, the catalogue's order
    (["network.refused", "network.dns_failed"], "network.dns_failed"),
    (["server.oom", "server.unresponsive"], "server.unresponsive"),
])
def test_most_upstream_error_wins(codes: list[str], expected: str) -> None:
    assert cause([found(c) for c in codes]) == expected
    assert cause([found(c) for c in reversed(codes)]) == expected


def test_an_upstream_warning_does_not_beat_a_downstream_error() -> None:
    assert cause([found("config.insecure"), found("rq.no_workers")]) == "rq.no_workers"


def test_upstream_rank_orders_families() -> None:
    order = ["config.missing", "network.dns_failed", "server.unresponsive", "rq.no_workers",
             "logs.oom", "restart.failed", "support.bundle_written"]
    assert sorted(order, key=upstream_rank) == order
    assert upstream_rank("nope.thing") > upstream_rank("support.bundle_written")


def test_the_diagnosis_carries_the_cause_and_what_else_was_seen() -> None:
    refused = found("network.refused", "tcp 127.0.0.1:6379: connection refused",
                    "connect 127.0.0.1:6379: [Errno 111] Connection refused after 0.4 ms",
                    step="network")
    refused_again = found("network.refused", "resp 127.0.0.1:6379: connection refused",
                          step="network")
    no_workers = found("rq.no_workers", "no worker listens to orchestrator", step="server")
    slow = found("server.slow", "PING 250 ms", step="server")
    d = diagnose([no_workers, refused, slow, refused_again], [],
                 scope_of([no_workers, refused, slow]))
    assert d is not None
    assert d.to_dict() == {
        "code": "network.refused",
        "title": CATALOGUE["network.refused"].title,
        "summary": "tcp 127.0.0.1:6379: connection refused",
        "remedy": CATALOGUE["network.refused"].remedy,
        "evidence": ["connect 127.0.0.1:6379: [Errno 111] Connection refused after 0.4 ms",
                     "also seen: rq.no_workers: no worker listens to orchestrator"],
        "step": "network",
        "by_rule": False,
    }


def test_the_cause_s_own_remedy_wins() -> None:
    oom = replace(found("server.oom", "used 2 MB of 2 MB"), remedy="Raise maxmemory to 4 GB.")
    d = diagnose([oom], [], scope_of([oom]))
    assert d is not None and d.remedy == "Raise maxmemory to 4 GB."


# -- playbook rules ------------------------------------------------------------------------------
WRONG_INSTANCE = DiagnosisRule(
    parse("finding('network.refused') and nearby.data.found"), "config.wrong_instance",
    "Nothing listens where the app looks, but Redis answers on 127.0.0.1:6380.")


def test_a_rule_overrides_the_upstream_order() -> None:
    refused = found("network.refused", "127.0.0.1:6379 refused", step="network")
    findings = [refused, found("rq.no_workers", "no workers")]
    d = diagnose(findings, [WRONG_INSTANCE],
                 scope_of(findings, nearby={"data": {"found": True}}))
    assert d is not None
    assert d.to_dict() == {
        "code": "config.wrong_instance",
        "title": CATALOGUE["config.wrong_instance"].title,
        "summary": "Nothing listens where the app looks, but Redis answers on 127.0.0.1:6380.",
        "remedy": CATALOGUE["config.wrong_instance"].remedy,
        "evidence": ["also seen: network.refused: 127.0.0.1:6379 refused",
                     "also seen: rq.no_workers: no workers"],
        "step": "",
        "by_rule": True,
    }


def test_a_rule_that_does_not_match_leaves_the_upstream_order() -> None:
    findings = [found("network.refused"), found("rq.no_workers")]
    assert cause(findings, [WRONG_INSTANCE], nearby={"data": {"found": False}}) == (
        "network.refused")
    assert cause(findings, [WRONG_INSTANCE]) == "network.refused"  # nearby never ran


def test_the_first_matching_rule_wins() -> None:
    findings = [found("server.readonly", "READONLY on write", step="server")]
    rules = [
        DiagnosisRule(parse("finding('network.*')"), "config.wrong_instance"),
        DiagnosisRule(parse("finding('server.readonly')"), "config.mismatch", ""),
        DiagnosisRule(parse("finding('server.*')"), "server.wrong_mode"),
    ]
    d = diagnose(findings, rules, scope_of(findings))
    assert d is not None
    # No finding of the rule's code: the rule's (empty) summary falls back to the title.
    assert (d.code, d.by_rule, d.summary) == (
        "config.mismatch", True, CATALOGUE["config.mismatch"].title)


def test_a_rule_naming_a_found_code_takes_its_message_and_evidence() -> None:
    mismatch = found("config.mismatch", "the workers do not listen to the app's queue",
                     "operator answer to: same queue?", step="configuration")
    refused = found("network.refused", "refused")
    rule = DiagnosisRule(parse("finding('config.mismatch') and finding('network.refused')"),
                         "config.mismatch")
    d = diagnose([refused, mismatch], [rule], scope_of([refused, mismatch]))
    assert d is not None
    assert (d.code, d.summary, d.evidence, d.step, d.by_rule) == (
        "config.mismatch", "the workers do not listen to the app's queue",
        ("operator answer to: same queue?", "also seen: network.refused: refused"),
        "configuration", True)


def test_a_rule_may_name_a_cause_when_only_warnings_were_seen() -> None:
    evicting = found("server.eviction_policy", "maxmemory-policy allkeys-lru")
    rule = DiagnosisRule(parse("finding('server.eviction_policy') and answer('jobs_lost')"),
                         "server.eviction_policy", "Evicted keys took the RQ jobs with them.")
    scope = Scope({}, ["server.eviction_policy"], {"jobs_lost": True}, {})
    d = diagnose([evicting], [rule], scope)
    # The rule says what the pairing means, the finding where it was seen.
    assert d is not None and (d.code, d.summary) == (
        "server.eviction_policy",
        "Evicted keys took the RQ jobs with them. (maxmemory-policy allkeys-lru)")
    assert diagnose([evicting], [rule], Scope({}, ["server.eviction_policy"], {}, {})) is None


def test_shipped_rule_shape() -> None:
    from pathlib import Path

    from troubleshooter import playbook

    pb = playbook.load(Path(__file__).resolve().parent.parent / "playbooks" / "redis-outage.yaml")
    for rule in pb.rules:
        assert rule.code in CATALOGUE
        assert diagnose([], [rule], Scope({}, [], {}, {})) is None
