"""What a restart would lose (read from the server while it still answers), and the plan: every
command step 4 would run, in order, shown (and in the JSON) before anything runs."""

from __future__ import annotations

import shlex
from typing import Any

from troubleshooter.checks.base import Budget, CheckContext
from troubleshooter.checks.service.managers import Service
from troubleshooter.target import Target


def read_server(source: Target | CheckContext, budget: Budget) -> dict[str, Any]:
    """INFO persistence/server, DBSIZE and CONFIG GET save: `answers` False when it does not."""
    import redis

    from troubleshooter.checks.server.link import command, open_link, text
    from troubleshooter.checks.server.replies import server_config, server_info

    # A check's context: the run's connection (checks/server/link.open_link).
    target = source if isinstance(source, Target) else source.target
    if target.problem is not None:
        return {"answers": False, "error": "the URL is malformed"}
    try:
        link = open_link(source, Budget(budget.left(1.0)))
    except redis.exceptions.RedisError as exc:
        return {"answers": False, "error": type(exc).__name__}
    try:
        info = server_info(link)  # the run's INFO (persistence and server are in it)
        facts: dict[str, Any] = {
            "answers": True,
            "changes": int(info.get("rdb_changes_since_last_save", 0)),
            "last_save": int(info.get("rdb_last_save_time", 0)),
            "bgsave_status": text(info.get("rdb_last_bgsave_status", "ok")),
            "aof": int(info.get("aof_enabled", 0)) == 1,
            "loading": int(info.get("loading", 0)) == 1,
            "config_file": text(info.get("config_file", "")),
            "executable": text(info.get("executable", "")),
            "run_id": text(info.get("run_id", "")),
            "keys": int(command(link.client, "DBSIZE")),
        }
        config, refused = server_config(link, info)
        facts["save"] = None if refused else config.get("save")  # CONFIG denied: unknown
        return facts
    except redis.exceptions.RedisError as exc:
        return {"answers": False, "error": type(exc).__name__}
    finally:
        link.close()


def unsaved(server: dict[str, Any]) -> list[str]:
    """What a restart now would lose, as evidence lines (empty: nothing, or unknown)."""
    if not server.get("answers"):
        return []
    loses = []
    if server["changes"] > 0:
        loses.append(f"{server['changes']} write(s) since the last save")
    if server.get("save") == "" and not server["aof"] and server["keys"] > 0:
        loses.append(f"persistence is off (no save points, no AOF): all {server['keys']} "
                     "key(s) of this db")
    if server["bgsave_status"] != "ok":
        loses.append("the last background save failed")
    return loses


def make_plan(redis: Service, workers: Service, server: dict[str, Any], restart_redis: bool,
              restart_workers: bool) -> list[dict[str, Any]]:
    """Every command step 4 would run, in order (shown, and in the JSON, before any runs)."""
    plan: list[dict[str, Any]] = []
    if restart_redis and redis.restart:
        if unsaved(server):
            plan.append({"what": "save first", "command": "BGSAVE (then wait for it)",
                         "argv": []})
        plan.append({"what": "restart Redis", "command": shlex.join(redis.restart),
                     "argv": list(redis.restart)})
        plan.append({"what": "verify Redis", "command": "PING until it answers", "argv": []})
    if (restart_redis or restart_workers) and workers.restart:
        plan.append({"what": "restart the workers", "command": shlex.join(workers.restart),
                     "argv": list(workers.restart)})
        plan.append({"what": "verify the workers",
                     "command": "until the workers registered again on the app's queue",
                     "argv": []})
    return plan
