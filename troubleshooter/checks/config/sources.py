"""Where the configuration comes from: the environment, .env files, --config files, and the
processes running here (every `rq worker`, and app processes named with --pid).

A `Source` keeps the values that matter (a Redis URL, queue names, the endpoints the process is
really connected to); `to_dict` is what leaves this module, with every password masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from troubleshooter.checks.config import procs
from troubleshooter.frozen import frozen
from troubleshooter.target import Target, parse_target, url_secrets

URL_KEYS = ("RQ_REDIS_URL", "REDIS_URL")
QUEUE_KEYS = ("RQ_QUEUE_NAME", "RQ_QUEUE", "RQ_QUEUES")
REST_KEYS = ("UPSTASH_REDIS_REST_URL", "KV_REST_API_URL")
# rq's own default when a worker is given no URL (and no config module).
RQ_DEFAULT_URL = "redis://localhost:6379/0"
# What `rq worker` reads from its environment without --url (rq >= 1.9), after REDIS_URL.
RQ_ENV_KEYS = ("REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD")


@frozen
class Source:
    """One place that says which Redis and which queues."""

    name: str  # "environment", "/srv/app/.env", "rq worker pid 123"
    kind: str  # environment | file | worker | process
    url: str | None = None
    url_from: str = ""  # the key or flag the URL came from
    queues: tuple[str, ...] = ()
    queues_from: str = ""
    rest_url: str | None = None
    remotes: tuple[tuple[str, int], ...] = ()
    pid: int | None = None
    notes: tuple[str, ...] = ()
    password_set: bool = False
    target: Target | None = None  # `url` parsed
    # An rq worker's key prefix (RQ_KEY_PREFIX in its environment, else rq's "rq"); "" unknown.
    key_prefix: str = ""

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "name": self.name, "kind": self.kind, "pid": self.pid,
            "url": mask(self.url) if self.url else None, "url_from": self.url_from,
            "endpoint": endpoint_text(t) if t and not t.problem else None,
            "scheme": t.scheme if t and not t.problem else None,
            "host": t.host if t and not t.problem else None,
            "port": t.port if t and not t.problem else None,
            "password_set": bool(t and t.password) or self.password_set,
            "queues": list(self.queues), "queues_from": self.queues_from,
            "rest_url": mask(self.rest_url) if self.rest_url else None,
            "connected_to": [f"{h}:{p}" for h, p in self.remotes],
            "notes": list(self.notes), "key_prefix": self.key_prefix or None,
        }


def mask(url: str) -> str:
    """A URL with its password (however malformed the URL) replaced by ***."""
    from troubleshooter.target import redact_url

    shown = redact_url(url)
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        shown = shown.replace(secret, "***")
    return shown


def endpoint_text(t: Target) -> str:
    return f"{t.scheme}://{t.address}/{t.db}"


def from_settings(name: str, kind: str, values: Mapping[str, str]) -> Source | None:
    """A source from a flat mapping of settings, or None when it says nothing about Redis."""
    url, url_from = _url(values)
    rest = next((values[k] for k in REST_KEYS if values.get(k)), None)
    queue_key = next((k for k in QUEUE_KEYS if values.get(k)), "")
    queues = tuple(q.strip() for q in values.get(queue_key, "").split(",") if q.strip())
    if url is None and rest is None and not queues:
        return None
    return make(name, kind, url, url_from, queues, queue_key, rest_url=rest,
                password_set=bool(values.get("REDIS_PASSWORD")))


def _url(values: Mapping[str, str]) -> tuple[str | None, str]:
    """RQ_REDIS_URL, REDIS_URL, any *_REDIS_URL, else REDIS_HOST/PORT/DB (password masked)."""
    for key in URL_KEYS:
        if values.get(key):
            return values[key], key
    for key, value in values.items():
        if key.endswith("_REDIS_URL") and key not in REST_KEYS and value:
            return value, key
    if values.get("REDIS_HOST"):
        return _rq_env_url(values), "REDIS_HOST/PORT/DB"
    return None, ""


def _rq_env_url(env: Mapping[str, str]) -> str:
    """The URL of REDIS_HOST, REDIS_PORT, REDIS_DB and REDIS_PASSWORD (each with rq's default;
    the password percent-encoded, so that any character of it keeps the URL whole)."""
    auth = ":" + quote(env["REDIS_PASSWORD"], safe="") + "@" if env.get("REDIS_PASSWORD") else ""
    return (f"redis://{auth}{env.get('REDIS_HOST') or 'localhost'}:"
            f"{env.get('REDIS_PORT') or '6379'}/{env.get('REDIS_DB') or '0'}")


def make(name: str, kind: str, url: str | None, url_from: str, queues: Sequence[str],
         queues_from: str, **rest: Any) -> Source:
    target = parse_target(url, name) if url is not None else None
    return Source(name, kind, url, url_from, tuple(queues), queues_from, target=target, **rest)


def environment(environ: Mapping[str, str]) -> Source | None:
    return from_settings("environment", "environment", environ)


def files(paths: Sequence[str], optional: Sequence[str]) -> tuple[list[Source], list[str]]:
    """Sources from files named with --config (must be readable) and default .env files
    (read when present)."""
    found: list[Source] = []
    problems: list[str] = []
    import os

    wanted = [*paths, *(p for p in optional if os.path.isfile(p) and p not in paths)]
    if not wanted:
        return found, problems
    from troubleshooter.checks.config.files import FileProblem, read_settings  # only to read one

    for path in wanted:
        try:
            values, fmt = read_settings(path)
        except FileProblem as exc:
            problems.append(str(exc))
            continue
        source = from_settings(path, "file", values)
        if source is None:
            problems.append(f"{path}: no Redis URL, host or queue setting found ({fmt})")
        else:
            found.append(source)
    return found, problems


def worker_source(info: procs.ProcInfo) -> Source:
    """An rq worker process's Redis as `rq worker` chooses it: its -u URL, else RQ_REDIS_URL in
    its environment, else its settings module, else (rq >= 1.9) REDIS_URL or REDIS_HOST/PORT/
    DB/PASSWORD in its environment, else rq's default; its queues from the command line, else
    `default`."""
    args = procs.parse_worker_args(info.cmdline)
    env = info.environ or {}
    notes = list(info.notes)
    if args.url:
        url, url_from = args.url, "--url"
    elif env.get("RQ_REDIS_URL"):
        url, url_from = env["RQ_REDIS_URL"], "RQ_REDIS_URL (its environment)"
    elif args.config or env.get("RQ_CONFIG"):
        url, url_from = None, ""
        notes.append(f"its URL comes from the settings module {args.config or env['RQ_CONFIG']}"
                     " (not imported: pass the file with --config)")
    elif info.environ is None:
        url, url_from = None, ""
    elif env.get("REDIS_URL"):
        url, url_from = env["REDIS_URL"], "REDIS_URL (its environment)"
    elif any(env.get(key) for key in RQ_ENV_KEYS):
        url, url_from = _rq_env_url(env), "REDIS_HOST/PORT/DB (its environment)"
    else:
        url, url_from = RQ_DEFAULT_URL, "rq's default (no --url, RQ_REDIS_URL or REDIS_URL)"
    queues = args.queues or ("default",)
    prefix = "" if info.environ is None else env.get("RQ_KEY_PREFIX") or "rq"
    return make(f"rq worker pid {info.pid}", "worker", url, url_from, queues,
                "command line" if args.queues else "rq's default", remotes=info.remotes,
                pid=info.pid, notes=tuple(notes), key_prefix=prefix)


def process_source(info: procs.ProcInfo) -> Source:
    """An app process named with --pid: its environment and its connections."""
    env = info.environ or {}
    base = from_settings(f"pid {info.pid} ({info.name})", "process", env)
    url, url_from = (base.url, base.url_from) if base else (None, "")
    queues = base.queues if base else ()
    return make(f"pid {info.pid} ({info.name})", "process", url, url_from, queues,
                base.queues_from if base else "", remotes=info.remotes, pid=info.pid,
                notes=info.notes)


def collect(environ: Mapping[str, str], config_files: Sequence[str],
            env_files: Sequence[str], pids: Sequence[int],
            scan_workers: bool) -> tuple[list[Source], list[str], list[str]]:
    """Every source: (sources, problems with named files, notes on what was not readable)."""
    sources: list[Source] = []
    env = environment(environ)
    if env is not None:
        sources.append(env)
    found, problems = files(config_files, env_files)
    sources += found
    notes: list[str] = []
    if scan_workers:
        workers, more = procs.rq_workers()
        sources += [worker_source(w) for w in workers]
        notes += more
    if pids:
        named, more = procs.by_pid(pids)
        sources += [process_source(p) for p in named]
        notes += more
    return sources, problems, notes
