"""Looks: the raw evidence an on-call engineer would pull up, on request, as text.

Each look answers as the app would see it (its REDIS_URL from app.env), so a wrong URL shows
what the app sees. Everything read from Redis, a log or a file is masked (passwords) and made
visible (control characters) before a terminal sees it; nothing is deserialized.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from troubleshooter.drill.lab import Lab
from troubleshooter.frozen import frozen
from troubleshooter.sanitize import visible

if TYPE_CHECKING:
    import redis

MAX_LINES = 60
MAX_BYTES = 64 * 1024
MAX_ITEMS = 20


@frozen
class Look:
    id: str
    title: str
    step: str  # the guide's step it belongs to
    run: Callable[[Lab], str]


def app_client(lab: Lab, timeout: float = 1.0) -> redis.Redis:
    """The app's view: its URL as written, fail-fast, no retries."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(lab.app_url, socket_timeout=timeout,
                                socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                                protocol=2)


def error_text(exc: BaseException) -> str:
    module = type(exc).__module__
    where = "" if module == "builtins" else f"{module}."
    return f"{where}{type(exc).__name__}: {exc}"


def _as_app(lab: Lab, action: Callable[[Any], str]) -> str:
    try:
        return action(app_client(lab))
    except Exception as exc:  # the error is the evidence: show it as the app would log it
        return error_text(exc)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _ping(lab: Lab) -> str:
    return _as_app(lab, lambda c: "PONG" if c.ping() else "no PONG")


def _info(section: str) -> Callable[[Lab], str]:
    def run(lab: Lab) -> str:
        return _as_app(lab, lambda c: _text(c.execute_command("INFO", section)))
    return run


def _workers(lab: Lab) -> str:
    def read(c: Any) -> str:
        total, members = _bounded_members(c, "rq:workers")
        names = sorted(_text(n).removeprefix("rq:worker:") for n in members)
        lines = [f"{total} worker(s) registered in rq:workers"]
        pipe = c.pipeline(transaction=False)
        for name in names[:MAX_ITEMS]:
            pipe.hmget(f"rq:worker:{name}", "state", "queues", "last_heartbeat", "pid")
        for name, fields in zip(names, pipe.execute(), strict=False):
            state, queues, beat, pid = (_text(f) if f is not None else "-" for f in fields)
            lines.append(f"  {name}: state={state} queues={queues} last_heartbeat={beat} "
                         f"pid={pid}")
        if total > MAX_ITEMS:
            lines.append(f"  ... and {total - MAX_ITEMS} more")
        return "\n".join(lines)
    return _as_app(lab, read)


def _bounded_members(c: Any, key: str) -> tuple[int, list[Any]]:
    """(SCARD, at most MAX_ITEMS members): a look never reads a whole set."""
    total = int(c.scard(key))
    members = c.smembers(key) if total <= MAX_ITEMS else c.srandmember(key, MAX_ITEMS)
    return total, list(members)


def _queues(lab: Lab) -> str:
    def read(c: Any) -> str:
        total, members = _bounded_members(c, "rq:queues")
        names = sorted(_text(n).removeprefix("rq:queue:") for n in members)
        lines = [f"{total} queue(s) in rq:queues"]
        pipe = c.pipeline(transaction=False)
        for q in names[:MAX_ITEMS]:
            pipe.llen(f"rq:queue:{q}")
            for registry in ("wip", "failed", "finished"):
                pipe.zcard(f"rq:{registry}:{q}")
        counts = pipe.execute()
        for i, q in enumerate(names[:MAX_ITEMS]):
            queued, started, failed, finished = counts[4 * i:4 * i + 4]
            lines.append(f"  {q}: queued={queued} started={started} failed={failed} "
                         f"finished={finished}")
        return "\n".join(lines)
    return _as_app(lab, read)


def _file(name: str) -> Callable[[Lab], str]:
    def run(lab: Lab) -> str:
        path = lab.dir / name
        try:
            with open(path, "rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                fh.seek(max(size - MAX_BYTES, 0))
                data = fh.read(MAX_BYTES).decode("utf-8", "replace")  # it may grow meanwhile
        except OSError as exc:
            return f"cannot read {name}: {exc.strerror}"
        # Only "\n" ends a line: splitlines() would also split at U+2028 and hide it.
        lines = data.removesuffix("\n").split("\n") if data else []
        head = f"({len(lines) - MAX_LINES} earlier lines not shown)\n" \
            if len(lines) > MAX_LINES else ""
        return head + "\n".join(lines[-MAX_LINES:]) if lines else f"{name} is empty"
    return run


def _processes(lab: Lab) -> str:
    lines = []
    for program, state in lab.sup.status():
        argv = " ".join(a.replace(str(lab.dir) + "/", "") for a in program.argv)
        lines.append(f"{program.name:18} {state:17} pid={program.pid or '-':<7} {argv}")
    return "\n".join(lines)


LOOKS: dict[str, Look] = {look.id: look for look in (
    Look("ping", "PING as the app (REDIS_URL from app.env)", "network", _ping),
    Look("processes", "The drill's processes (its supervisor)", "network", _processes),
    Look("info:server", "INFO server", "server", _info("server")),
    Look("info:memory", "INFO memory", "server", _info("memory")),
    Look("info:replication", "INFO replication", "server", _info("replication")),
    Look("info:persistence", "INFO persistence", "server", _info("persistence")),
    Look("info:clients", "INFO clients", "server", _info("clients")),
    Look("info:stats", "INFO stats", "server", _info("stats")),
    Look("workers", "RQ workers (rq:workers)", "server", _workers),
    Look("queues", "RQ queue lengths and registries", "server", _queues),
    Look("app.log", "The app's log", "logs", _file("app.log")),
    Look("worker.log", "The workers' log", "logs", _file("worker.log")),
    Look("redis.log", "The Redis log", "logs", _file("redis.log")),
    Look("app.env", "The app's env file", "configuration", _file("app.env")),
    Look("worker.env", "The worker's env file", "configuration", _file("worker.env")),
    Look("redis.conf", "The Redis config file", "configuration", _file("redis.conf")),
)}


def reveal(text: str) -> str:
    """Format characters (zero-width space, BOM, word joiner...) as escapes too: a look is a
    forensic view, like `cat -A`; an invisible character is exactly what it must show."""
    import unicodedata

    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cf" else c for c in text)


def look(lab: Lab, look_id: str) -> str:
    """The look's text: masked and made safe for a terminal."""
    return reveal(visible(lab.mask(LOOKS[look_id].run(lab)), multiline=True))
