"""`acl_probe`: may the connected user run what RQ runs, on RQ's keys and pub/sub channels?

Three ways to ask, cheapest first, none of which writes:
1. `ACL GETUSER <user>`: a user with +@all on every key and channel passes in one command.
2. `ACL DRYRUN <user> <command> <args>` (Redis 7+) for each command RQ needs, when the user may
   read its own ACL but is restricted.
3. Otherwise (an app user may not run ACL commands at all): queue the commands inside MULTI and
   DISCARD. Redis checks ACLs when it queues a command, so each reply is QUEUED or NOPERM, and
   nothing runs: EXEC is never sent, and the connection is dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import field
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import Budget, CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.link import (
    Link,
    command,
    failure,
    open_link,
    rq_prefix,
    text,
    unexpected,
)
from troubleshooter.findings import Finding, finding
from troubleshooter.frozen import record

if TYPE_CHECKING:
    import redis

# SHA1 of the empty script: EVALSHA needs a well-formed digest to be checked.
_EMPTY_SHA = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
# Commands RQ runs (enqueue, dequeue, registries, heartbeats, scripts, worker commands).
_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("HSET", "{key}", "f", "v"), ("HGETALL", "{key}"), ("SET", "{key}", "v"),
    ("LPUSH", "{key}", "v"), ("LRANGE", "{key}", "0", "-1"), ("LREM", "{key}", "0", "v"),
    ("LMOVE", "{key}", "{key}", "LEFT", "RIGHT"), ("BLPOP", "{key}", "1"),
    ("ZADD", "{key}", "1", "m"), ("ZRANGEBYSCORE", "{key}", "-inf", "+inf"), ("ZREM", "{key}", "m"),
    ("SADD", "{key}", "m"), ("SMEMBERS", "{key}"), ("SREM", "{key}", "m"),
    ("EXPIRE", "{key}", "10"), ("DEL", "{key}"), ("EXISTS", "{key}"),
    ("EVALSHA", _EMPTY_SHA, "1", "{key}"), ("PUBLISH", "{channel}", "x"),
)
# Only asked through DRYRUN: inside MULTI they are refused for reasons other than the ACL.
_DRYRUN_ONLY: tuple[tuple[str, ...], ...] = (
    ("WATCH", "{key}"), ("MULTI",), ("EXEC",), ("SUBSCRIBE", "{channel}"),
)


@record
class Denial:
    command: str
    scope: str  # "command", "key" or "channel"
    reason: str


@record
class Probe:
    """What one way of asking found."""

    method: str
    checked: list[str] = field(default_factory=list)
    denied: list[Denial] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    rules: Mapping[str, Any] | None = None


def run_acl_probe(ctx: CheckContext) -> Outcome:
    """Ask the server what the URL's user may run on RQ's keys and channels."""
    import redis

    budget = Budget(ctx.timeout)
    user, prefix = ctx.target.username or "default", rq_prefix(ctx)
    try:
        link = open_link(ctx, budget)
    except redis.exceptions.RedisError as exc:
        return failure(ctx, exc, "connect/AUTH/SELECT", budget)
    with closing(link):
        try:
            probe = _probe(link, user, prefix)
        except redis.exceptions.RedisError as exc:
            return failure(ctx, exc, "ACL probe", budget, link.protocol)
    return _outcome(ctx, user, prefix, probe, link.notes)


def _probe(link: Link, user: str, prefix: str) -> Probe:
    commands = _expand(_COMMANDS, prefix)
    rules = _getuser(link.client, user)
    if rules is not None and _grants_everything(rules):
        return Probe("getuser", [c[0] for c in commands], rules=rules)
    if rules is not None:
        dry = _dryrun(link.client, user, commands + _expand(_DRYRUN_ONLY, prefix))
        if dry is not None:
            dry.rules = rules
            return dry
    return _queued(link, commands)


def _expand(commands: Sequence[tuple[str, ...]], prefix: str) -> list[tuple[str, ...]]:
    names = {"{key}": f"{prefix}:troubleshooter:acl-probe",
             "{channel}": f"{prefix}:pubsub:troubleshooter-acl-probe"}
    return [tuple(names.get(arg, arg) for arg in command) for command in commands]


def _getuser(client: redis.Redis, user: str) -> dict[str, Any] | None:
    """The user's rules, or None when this user may not read them (or ACL is unknown)."""
    import redis

    try:
        reply = command(client, "ACL", "GETUSER", user)
    except redis.exceptions.ResponseError as exc:
        # An app user without @admin, or no ACL at all (Redis < 6, renamed): ask another way.
        from troubleshooter.checks.server.errors import error_code

        if error_code(exc) == "NOPERM" or "unknown command" in str(exc):
            return None
        raise
    if reply is None:  # no such user
        return None
    if isinstance(reply, list):  # RESP2: a flat list of name, value pairs
        reply = dict(zip(reply[::2], reply[1::2], strict=False)) if all(
            isinstance(k, bytes) for k in reply[::2]) else None
    if not isinstance(reply, Mapping) or not isinstance(reply.get(b"flags", []), list):
        raise unexpected("ACL GETUSER")
    return {text(k): v for k, v in reply.items()}


def _grants_everything(rules: Mapping[str, Any]) -> bool:
    """+@all on every key and channel, no selectors (7.x rules, or 6.x's all* flags)."""
    flags = {text(f) for f in rules.get("flags") or []}

    def rule(name: str) -> str:
        value = rules.get(name)
        return text(value) if not isinstance(value, list) else ""

    return (rule("commands") == "+@all"
            and (rule("keys") in ("~*", "%RW~*") or "allkeys" in flags)
            and (rule("channels") == "&*" or "allchannels" in flags)
            and not rules.get("selectors"))


def _dryrun(client: redis.Redis, user: str, commands: list[tuple[str, ...]]) -> Probe | None:
    """ACL DRYRUN for each command in one round trip; None when the server has no DRYRUN."""
    import redis

    pipe: Any = client.pipeline(transaction=False)
    for argv in commands:
        pipe.execute_command("ACL", "DRYRUN", user, *argv)
    replies = pipe.execute(raise_on_error=False)
    probe = Probe("dryrun")
    for argv, reply in zip(commands, replies, strict=True):
        if isinstance(reply, redis.exceptions.ResponseError):
            if "subcommand" in str(reply).lower():
                return None  # Redis 6: no DRYRUN
            probe.unchecked.append(f"{argv[0]}: {reply}")
            continue
        probe.checked.append(argv[0])
        if text(reply) != "OK":
            probe.denied.append(Denial(argv[0], _scope(text(reply)), text(reply)))
    return probe


def _queued(link: Link, commands: list[tuple[str, ...]]) -> Probe:
    """Queue `commands` in MULTI and DISCARD them: the ACL answers at queue time."""
    import redis

    probe = Probe("multi")
    conn: Any = link.client.connection_pool.get_connection()
    try:
        # MULTI alone first: were it refused, the commands after it would really run.
        conn.send_command("MULTI")
        try:
            conn.read_response()
        except redis.exceptions.ResponseError as exc:
            from troubleshooter.checks.server.errors import error_code

            probe.checked.append("MULTI")
            if error_code(exc) == "NOPERM":
                probe.denied.append(Denial("MULTI", "command", str(exc)))
            probe.unchecked.extend(c[0] for c in commands)
            return probe
        conn.send_packed_command(conn.pack_commands([*commands, ("DISCARD",)]))
        for command in commands:
            _read_queued(conn, command[0], probe)
        conn.read_response()  # DISCARD's OK
        return probe
    finally:
        # Never reuse it: whatever state the transaction is in dies with the connection.
        conn.disconnect()
        link.client.connection_pool.release(conn)


def _read_queued(conn: Any, name: str, probe: Probe) -> None:
    import redis

    try:
        conn.read_response()
        probe.checked.append(name)
    except redis.exceptions.ResponseError as exc:
        from troubleshooter.checks.server.errors import error_code

        if error_code(exc) == "NOPERM":
            probe.checked.append(name)
            probe.denied.append(Denial(name, _scope(str(exc)), str(exc)))
        else:  # OOM, READONLY...: refused at queue time for another reason
            probe.unchecked.append(f"{name}: {exc}")


def _scope(reason: str) -> str:
    lowered = reason.lower()
    if "channel" in lowered:
        return "channel"
    return "key" if "key" in lowered else "command"


# --- outcome ---------------------------------------------------------------------------------


def _outcome(ctx: CheckContext, user: str, prefix: str, probe: Probe,
             notes: list[str]) -> Outcome:
    where = ctx.target.address
    findings = _denial_findings(user, prefix, where, probe) + _password_note(ctx, user, probe)
    data = {
        "user": user,
        "method": probe.method,
        "checked": probe.checked,
        "denied": [{"command": d.command, "scope": d.scope, "reason": d.reason}
                   for d in probe.denied],
        "unchecked": probe.unchecked,
    }
    details = [*notes, *(f"not checked: {u}" for u in probe.unchecked)]
    if not findings and not probe.checked:
        return Outcome("skipped", f"ACL of user {user} at {where} could not be probed",
                       data=data, details=tuple(details))
    ok = (f"ACL: user {user} at {where} may run the {len(probe.checked)} commands RQ needs on "
          f"{prefix}:* keys and channels (via {_METHODS[probe.method]})")
    outcome = outcome_from(findings, ok, **data)
    return Outcome(outcome.status, outcome.summary, outcome.findings, outcome.data,
                   tuple(details))


_METHODS = {"getuser": "ACL GETUSER", "dryrun": "ACL DRYRUN", "multi": "MULTI/DISCARD"}


def _denial_findings(user: str, prefix: str, where: str, probe: Probe) -> list[Finding]:
    channel = [d for d in probe.denied if d.scope == "channel"]
    other = [d for d in probe.denied if d.scope != "channel"]
    found = []
    if other:
        names = ", ".join(dict.fromkeys(d.command for d in other))
        only_multi = [d.command for d in other] == ["MULTI"]
        why = (": RQ wraps every enqueue in MULTI/EXEC, the other commands could not be checked"
               if only_multi else "")
        # With MULTI refused nothing else could be probed: "grant what is listed" would not do.
        least = ("the transaction commands and RQ's data commands: +@transaction +@write "
                 "+@read +@scripting" if only_multi else "the commands listed")
        found.append(finding(
            "server.acl_denied",
            f"ACL denies user {user} at {where} commands RQ needs on {prefix}:*: {names}{why}",
            *_evidence(other),
            remedy=f"ACL SETUSER {user} ~{prefix}:* &{prefix}:* +@all (or at least {least})",
        ))
    if channel:
        found.append(finding(
            "server.acl_denied",
            f"ACL denies user {user} at {where} the RQ pub/sub channels {prefix}:pubsub:*: "
            "workers log 'pubsub thread exiting' and ignore `rq` commands (stop job, shutdown)",
            *_evidence(channel),
            severity="warning",
            remedy=f"ACL SETUSER {user} &{prefix}:pubsub:* (Redis 7 gives new users no channels: "
                   "acl-pubsub-default resetchannels)",
        ))
    return found


def _evidence(denials: list[Denial], limit: int = 6) -> list[str]:
    lines = [f"{d.command}: {d.reason}" for d in denials[:limit]]
    if len(denials) > limit:
        lines.append(f"... and {len(denials) - limit} more")
    return lines


def _password_note(ctx: CheckContext, user: str, probe: Probe) -> list[Finding]:
    flags = [text(f) for f in (probe.rules or {}).get("flags", [])]
    if user != "default" or "nopass" not in flags or not ctx.target.password:
        return []
    return [finding(
        "server.auth_failed",
        f"The URL sends a password but {ctx.target.address} has none (default user nopass): "
        "RESP2 clients fail with 'AUTH <password> called without any password configured'",
        "ACL GETUSER default: flags " + " ".join(flags),
        severity="warning",
        remedy="Remove the password from the URL, or set one on the server (requirepass).",
    )]


