"""Comparing the sources with each other and with this run's target: `config.*` findings.

Messages name both sides (`rq worker pid 4242 says 127.0.0.1:6380/0, this run's --url says
127.0.0.1:6379/0`) and never a password: a differing password reads as "the passwords differ".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from troubleshooter.checks.config.sources import Source, endpoint_text, mask
from troubleshooter.findings import Finding, finding
from troubleshooter.target import Target

FIELDS = ("scheme", "host", "port", "db", "username", "password")


def _host(host: str) -> str:
    """Loopback spellings are one host."""
    if host == "localhost":
        return "loopback"
    try:
        return "loopback" if ipaddress.ip_address(host).is_loopback else host
    except ValueError:
        return host.lower()


def _is_loopback(host: str) -> bool:
    return _host(host) == "loopback"


def differences(a: Target, b: Target) -> list[str]:
    """The fields on which two parsed URLs disagree.

    A Sentinel URL names a master, not an address: two of them compare by master name; one
    against a plain URL by the master's address only once its sentinels have named it (this
    run's target), else by db and credentials alone."""
    if a.sentinel is not None and b.sentinel is not None:
        return _sentinel_differences(a, b)
    if a.sentinel is not None or b.sentinel is not None:
        resolved = (a if a.sentinel is not None else b).resolved_by
        return _compare(a, b, (("host", "port") if resolved else ()) + ("db", "username",
                                                                        "password"))
    return _compare(a, b, FIELDS)


def comparable(a: Target, b: Target) -> bool:
    """Whether the two URLs' addresses can be compared at all (not an unresolved Sentinel)."""
    return not any(t.sentinel is not None and not t.resolved_by for t in (a, b))


def _compare(a: Target, b: Target, fields: Sequence[str]) -> list[str]:
    diff = []
    for name in fields:
        x, y = getattr(a, name), getattr(b, name)
        if name == "host":
            x, y = _host(x), _host(y)
        if (x or None) != (y or None):
            diff.append(name)
    return diff


def _sentinel_differences(a: Target, b: Target) -> list[str]:
    assert a.sentinel is not None and b.sentinel is not None
    names = ["master name"] if a.sentinel.master_name != b.sentinel.master_name else []
    return names + _compare(a, b, ("db", "username", "password"))


def url_findings(sources: Sequence[Source], target: Target) -> list[Finding]:
    """Malformed, REST-only, insecure and disagreeing URLs."""
    found: list[Finding] = []
    for s in sources:
        t = s.target
        if s.rest_url and t is None:
            found.append(finding(
                "config.not_redis_url",
                f"{s.name} has only a REST URL ({mask(s.rest_url)}): redis-py and RQ need a "
                "redis:// or rediss:// URL", f"{s.name}: {s.rest_url and 'REST URL'} only"))
        if t is None:
            continue
        if t.problem is not None:
            found.append(finding(t.problem.code, f"{s.name} ({s.url_from}): {t.problem.message}",
                                 f"{s.name}: {mask(s.url or '')}"))
            continue
        if t.password and not t.tls and not t.is_unix and not _is_loopback(t.host):
            found.append(finding(
                "config.insecure",
                f"{s.name} sends its password unencrypted to {t.address} (redis://, not "
                "rediss://)", f"{s.name}: {mask(s.url or '')}"))
        if target.problem is None:
            diff = differences(t, target)
            if diff:
                found.append(finding(
                    "config.mismatch",
                    f"{s.name} ({s.url_from}) says {endpoint_text(t)}, this run's "
                    f"{target.source} says {endpoint_text(target)} (they differ in: "
                    f"{', '.join(diff)})",
                    f"{s.name}: {mask(s.url or '')}", f"{target.source}: {target.redacted}",
                    severity=_severity(s, diff, comparable(t, target))))
    return found


def _severity(source: Source, diff: list[str], comparable: bool) -> str | None:
    """A worker found on this host that talks to another Redis altogether (or one we cannot
    place) may belong to another app: a warning. One on this Redis with another db or
    password, or a source the operator named, is an error."""
    if source.kind == "worker" and ("host" in diff or "port" in diff or not comparable):
        return "warning"
    return None


def on_target(source: Source, target: Target) -> bool:
    """A worker whose URL names the target's endpoint (host, port, scheme; any db/password)."""
    t = source.target
    if t is None or t.problem is not None or target.problem is not None:
        return False
    return comparable(t, target) and not {"scheme", "host", "port"} & set(differences(t, target))


def connection_findings(sources: Sequence[Source], target: Target) -> list[Finding]:
    """A worker whose URL we cannot read, connected to another Redis than the target."""
    found: list[Finding] = []
    if target.problem is not None or target.is_unix:
        return found
    for s in sources:
        if s.kind not in ("worker", "process") or s.target is not None or not s.remotes:
            continue
        if any(_same_endpoint(host, port, target) for host, port in s.remotes):
            continue
        peers = ", ".join(f"{h}:{p}" for h, p in s.remotes[:5])
        found.append(finding(
            "config.mismatch",
            f"{s.name} is connected to {peers}, not to this run's {target.address}",
            f"{s.name}: established connections {peers}",
            f"{target.source}: {target.redacted}",
            severity="warning" if s.kind == "worker" else None))
    return found


def _same_endpoint(host: str, port: int, target: Target) -> bool:
    if port != target.port:
        return False
    try:
        ipaddress.ip_address(target.host)
    except ValueError:
        return not _is_loopback(target.host) or _is_loopback(host)  # a name: port must do
    return _host(host) == _host(target.host)


def queue_findings(sources: Sequence[Source], app_queue: str, target: Target,
                   known: bool = False) -> list[Finding]:
    """The app's queue (from --queue / RQ_QUEUE_NAME or a file) against what the workers here
    really listen to, and queue settings that disagree between files.

    `known`: step 2 already found it in Redis (rq.queue_mismatch): the processes corroborate it
    (a warning naming them) rather than diagnose it a second time."""
    found: list[Finding] = []
    configured = [s for s in sources if s.kind in ("environment", "file", "process") and s.queues]
    named = {q for s in configured for q in s.queues}
    if len(named) > 1:
        found.append(finding(
            "config.mismatch",
            "the sources name different queues: " + "; ".join(
                f"{s.name}: {', '.join(s.queues)}" for s in configured),
            *(f"{s.name} ({s.queues_from}): {', '.join(s.queues)}" for s in configured)))
    if app_queue and named and app_queue not in named:
        found.append(finding(
            "config.mismatch",
            f"this run's app queue is {app_queue!r} (--queue, or $RQ_QUEUE_NAME here); the "
            "app's configuration says " + "; ".join(
                f"{s.name}: {', '.join(s.queues)}" for s in configured),
            *(f"{s.name} ({s.queues_from}): {', '.join(s.queues)}" for s in configured)))
    wanted = app_queue or (next(iter(named)) if len(named) == 1 else "")
    workers = [s for s in sources if s.kind == "worker" and _serves(s, target)]
    if wanted and workers and not any(wanted in w.queues for w in workers):
        found.append(finding(
            "config.mismatch",
            f"the app enqueues to {wanted!r}; the workers here listen to " + "; ".join(
                f"{w.name}: {', '.join(w.queues)}" for w in workers),
            *(f"{w.name}: queues {', '.join(w.queues)} ({w.queues_from})" for w in workers),
            severity="warning" if known else None))
    return found


def prefix_findings(sources: Sequence[Source], prefix: str, target: Target) -> list[Finding]:
    """Workers on this Redis whose RQ key prefix is not the one this run reads: their queues,
    workers and jobs are invisible to the RQ checks (which then see no worker at all)."""
    other = [w for w in sources if w.kind == "worker" and w.key_prefix
             and w.key_prefix != prefix and _serves(w, target)]
    return [finding(
        "config.mismatch",
        f"{w.name} uses the RQ key prefix {w.key_prefix!r} (RQ_KEY_PREFIX in its environment); "
        f"this run reads {prefix!r}: run it again with RQ_KEY_PREFIX={w.key_prefix} (the RQ "
        "checks did not see its keys)",
        f"{w.name}: RQ_KEY_PREFIX={w.key_prefix}", f"this run: {prefix}") for w in other[:5]]


def _serves(worker: Source, target: Target) -> bool:
    """A worker counts for the queue comparison when it talks to the target (or may)."""
    t = worker.target
    if t is None or t.problem is not None or target.problem is not None:
        return True
    return on_target(worker, target) and "db" not in differences(t, target)


def missing(sources: Sequence[Source], target: Target) -> list[Finding]:
    """No URL anywhere and the run fell back to the default."""
    if target.source != "default" or any(s.url or s.rest_url for s in sources):
        return []
    return [finding("config.missing",
                    "no Redis URL is configured anywhere (environment, files, processes): this "
                    f"run fell back to {target.redacted}",
                    "RQ_REDIS_URL, REDIS_URL, REDIS_HOST: not set")]
