"""Sentinel: every sentinel reachable, agreeing on the master, quorum reachable, no failover
under way, replicas linked. The master itself is checked by the server and RQ checks, which run
against the address the sentinels resolved before the run (topology.sentinels.resolve)."""

from __future__ import annotations

from collections import Counter

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.findings import Finding, finding
from troubleshooter.topology.sentinels import SentinelView, ask_all

_EVIDENCE = 10


def run_sentinel_status(ctx: CheckContext) -> Outcome:
    spec = ctx.target.sentinel
    if spec is None:
        return Outcome("skipped", "the target is not a redis+sentinel:// URL")
    views = ask_all(spec, ctx.timeout, detail=True)
    answered = [v for v in views if v.answered]
    findings = [*_reachability(views, answered, spec.master_name)]
    if answered:
        findings += _agreement(answered, spec.master_name)
        findings += _quorum(answered, spec.master_name)
        findings += _master_state(answered, spec.master_name)
        findings += _replicas(answered[0], spec.master_name)
    masters = Counter(v.master for v in answered if v.master)
    master = masters.most_common(1)[0][0] if masters else None
    summary = (f"{len(answered)}/{len(views)} Sentinels answer; master of "
               f"{spec.master_name!r} is {master}" if master else
               f"no Sentinel names a master for {spec.master_name!r}")
    return outcome_from(findings, summary, master=master, master_name=spec.master_name,
                        sentinels=[_view_data(v) for v in views])


def _view_data(v: SentinelView) -> dict[str, object]:
    return {"address": v.address, "answered": v.answered, "error": v.error, "master": v.master,
            "flags": list(v.flags), "quorum": v.quorum, "replicas": len(v.replicas)}


def _reachability(views: list[SentinelView], answered: list[SentinelView],
                  name: str) -> list[Finding]:
    out: list[Finding] = []
    auth = [v for v in views if v.error_kind == "auth"]
    if auth:
        out.append(finding(
            "server.auth_required", f"{len(auth)} Sentinel(s) refuse us: they require their own "
            "password", *(f"{v.address}: {v.error}" for v in auth[:_EVIDENCE]),
            remedy="give the Sentinels' password with ?sentinel_password= in the URL or "
                   "--sentinel-password (it is not the master's password)"))
    down = [v for v in views if v.error_kind == "unreachable"]
    if down:
        severity = "error" if not answered else "warning"
        out.append(finding(
            "server.sentinel_unreachable",
            f"{len(down)} of {len(views)} Sentinels do not answer" +
            ("" if answered else ": nobody can tell the app where the master is"),
            *(f"{v.address}: {v.error}" for v in down[:_EVIDENCE]), severity=severity))
    unknown = [v for v in views if v.error_kind == "unknown_master"]
    if unknown:
        severity = "error" if len(unknown) == len(answered) + len(unknown) and not any(
            v.master for v in views) else "warning"
        out.append(finding(
            "server.sentinel_unknown_master",
            f"{len(unknown)} Sentinel(s) do not monitor a master named {name!r}",
            *(v.address for v in unknown[:_EVIDENCE]), severity=severity,
            remedy="check the master name in the URL (case matters) against `sentinel monitor` "
                   "in sentinel.conf; SENTINEL MASTERS lists the names they know"))
    return out


def _agreement(answered: list[SentinelView], name: str) -> list[Finding]:
    masters = Counter(v.master for v in answered if v.master)
    if len(masters) < 2:
        return []
    return [finding(
        "server.sentinel_disagree",
        f"the Sentinels disagree on the master of {name!r}: " +
        ", ".join(f"{n} say {m}" for m, n in masters.most_common()),
        *(f"{v.address} says {v.master}" for v in answered[:_EVIDENCE] if v.master),
        remedy="a failover may be propagating (wait a few seconds), or the sentinels are "
               "partitioned: check that they reach each other (port 26379) and share one "
               "`sentinel monitor` line")]


def _quorum(answered: list[SentinelView], name: str) -> list[Finding]:
    failing = [v for v in answered if v.quorum_ok is False]
    if not failing:
        return []
    return [finding(
        "server.sentinel_no_quorum",
        f"SENTINEL CKQUORUM {name}: {failing[0].quorum}",
        *(f"{v.address}: {v.quorum}" for v in failing[:_EVIDENCE]),
        remedy="start the stopped Sentinels (or fix the network between them): without a quorum "
               "no failover can happen when the master fails")]


def _master_state(answered: list[SentinelView], name: str) -> list[Finding]:
    flags = {f for v in answered for f in v.flags}
    first = answered[0]
    where = first.master or "?"
    evidence = [f"{v.address}: flags={','.join(v.flags)}" for v in answered[:_EVIDENCE]]
    if "failover_in_progress" in flags or first.fields.get("failover-state", "none") not in (
            "none", ""):
        return [finding("server.sentinel_failover",
                        f"a failover of {name!r} is in progress (master was {where})", *evidence,
                        remedy="writes fail until it ends (usually seconds); the app must "
                               "reconnect through Sentinel to reach the new master")]
    if "o_down" in flags:
        return [finding("server.sentinel_failover",
                        f"the Sentinels agree the master of {name!r} at {where} is down "
                        "(o_down) and no failover has started", *evidence,
                        remedy="check that a replica is healthy and that the quorum can be "
                               "reached; see why the master stopped (step 3 logs)")]
    if "s_down" in flags:
        return [finding("server.sentinel_failover",
                        f"a Sentinel sees the master of {name!r} at {where} as down (s_down)",
                        *evidence, severity="warning")]
    return []


def _replicas(view: SentinelView, name: str) -> list[Finding]:
    if not view.replicas:
        return [finding("server.sentinel_no_replica",
                        f"{name!r} has no replica: Sentinel has nothing to fail over to",
                        f"{view.address}: SENTINEL REPLICAS {name} is empty", severity="warning")]
    bad = [r for r in view.replicas
           if {"s_down", "o_down", "disconnected"} & set(r.get("flags", "").split(","))
           or r.get("master-link-status", "ok") != "ok"]
    if not bad:
        return []
    return [finding("server.replica_link_down",
                    f"{len(bad)} of {len(view.replicas)} replicas of {name!r} are down or "
                    "not linked to the master",
                    *(f"{r.get('ip')}:{r.get('port')} flags={r.get('flags')} "
                      f"master-link-status={r.get('master-link-status')}" for r in bad[:_EVIDENCE]),
                    severity="warning")]
