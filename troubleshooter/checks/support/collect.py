"""What the support bundle carries of the server: INFO, CONFIG, SLOWLOG, LATENCY and the
CLIENT LIST as counts, read once during the run (read-only, each reply capped).

Each part is text (or counts) or the one-line reason it could not be read: managed Redis often
forbids CONFIG, and a support engineer needs to know that it was forbidden, not just absent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from contextlib import closing
from typing import Any

from troubleshooter.checks.base import Budget
from troubleshooter.checks.server.errors import safe_text
from troubleshooter.checks.server.link import command, open_link, text
from troubleshooter.target import Target

# Per part: a CONFIG GET * is ~10 KB, an INFO ~6 KB; a CLIENT LIST of 10,000 clients is 3 MB,
# of which only the counts are kept.
MAX_PART_CHARS = 64 * 1024
SLOWLOG_ENTRIES = 128
TOP = 10


def snapshot(target: Target, budget: Budget) -> dict[str, Any]:
    """{part: text | counts | {"error": why}} for INFO, CONFIG, SLOWLOG, LATENCY, CLIENTS."""
    import redis

    try:
        link = open_link(target, budget, db=0)
    except redis.exceptions.RedisError as exc:
        return {"error": safe_text(exc, [target.password])}
    parts: dict[str, Any] = {}
    with closing(link):
        readers = (("INFO", ("INFO", "everything"), _text), ("CONFIG", ("CONFIG", "GET", "*"),
                                                               _config),
                   ("SLOWLOG", ("SLOWLOG", "GET", SLOWLOG_ENTRIES), _slowlog),
                   ("LATENCY", ("LATENCY", "LATEST"), _latency),
                   ("CLIENTS", ("CLIENT", "LIST"), _clients))
        for name, args, read in readers:
            if budget.spent():
                parts[name] = {"error": "not read: the check's time ran out"}
                continue
            try:
                parts[name] = read(command(link.client, *args))
            except redis.exceptions.RedisError as exc:
                parts[name] = {"error": safe_text(exc, [target.password])}
    return parts


def _capped(value: str) -> str:
    if len(value) <= MAX_PART_CHARS:
        return value
    return value[:MAX_PART_CHARS] + f"\n… cut at {MAX_PART_CHARS} characters"


def _text(reply: Any) -> str:
    if isinstance(reply, Mapping):  # RESP3 may answer INFO as a map
        return _capped("\n".join(f"{text(k)}:{text(v)}" for k, v in reply.items()))
    return _capped(text(reply))


def _config(reply: Any) -> dict[str, str]:
    """CONFIG GET * as {name: value} (a map in RESP3, a flat list in RESP2)."""
    items = list(reply.items()) if isinstance(reply, Mapping) else list(
        zip(reply[::2], reply[1::2], strict=False))
    size = 0
    out: dict[str, str] = {}
    for k, v in items:
        size += len(text(k)) + len(text(v))
        if size > MAX_PART_CHARS:
            out["…"] = f"cut after {len(out)} settings"
            break
        out[text(k)] = text(v)
    return out


def _slowlog(reply: Any) -> list[str]:
    lines = []
    for entry in reply or []:
        if isinstance(entry, list | tuple) and len(entry) >= 4:
            args = " ".join(text(a)[:64] for a in list(entry[3])[:8])
            lines.append(f"id={text(entry[0])} at={text(entry[1])} took={text(entry[2])}us "
                         f"{args}")
    return lines[:SLOWLOG_ENTRIES]


def _latency(reply: Any) -> list[str]:
    return [" ".join(text(x) for x in entry) for entry in (reply or [])
            if isinstance(entry, list | tuple)][:64]


def _clients(reply: Any) -> dict[str, Any]:
    """Counts only: how many clients, by name, by source host, by last command, idle."""
    by_name: Counter[str] = Counter()
    by_host: Counter[str] = Counter()
    by_cmd: Counter[str] = Counter()
    idle_60 = total = 0
    for line in text(reply).splitlines():
        fields = dict(f.partition("=")[::2] for f in line.split(" ") if "=" in f)
        total += 1
        by_name[fields.get("name") or "(no name)"] += 1
        by_host[fields.get("addr", "?").rsplit(":", 1)[0]] += 1
        by_cmd[fields.get("cmd", "?")] += 1
        idle_60 += fields.get("idle", "0").isdigit() and int(fields["idle"]) > 60
    return {"total": total, "idle_over_60s": idle_60,
            "by_name": dict(by_name.most_common(TOP)), "by_host": dict(by_host.most_common(TOP)),
            "by_command": dict(by_cmd.most_common(TOP))}
