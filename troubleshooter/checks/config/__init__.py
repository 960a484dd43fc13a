"""Step 5, configuration: every source (environment, .env and --config files, the rq workers
and app processes running here), side by side and compared, then held against the server.

Its kinds, declared here as data, as the playbook refers to them (their code loads when run).
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind, Param, lazy

KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        name="config_sources",
        run=lazy("troubleshooter.checks.config.check:run_config_sources"),
        help="Every configuration source (environment, .env and --config files, the rq workers "
             "and --pid processes running here: command line, environment, connections), "
             "side by side with secrets masked, compared with each other and this run's URL. "
             "data: target, sources [{name, kind, url, endpoint, queues, connected_to}], "
             "workers_seen, worker_urls_known, worker_queues_known.",
        params={
            "files": Param(list, [], "configuration files (--config): dotenv, YAML, TOML, "
                                     "a Python settings module (read as text)"),
            "env_files": Param(list, [".env"], ".env files read when present"),
            "pids": Param(list, [], "app processes to read (--pid)"),
            "app_queue": Param(str, "", "the queue the app enqueues to"),
            "scan_workers": Param(bool, True, "read the rq worker processes on this host"),
        },
        codes=("config.missing", "config.malformed_url", "config.not_redis_url",
               "config.mismatch", "config.insecure"),
        needs_target=False,
        time_limit=10.0,
        capped_by_timeout=False,
    ),
    CheckKind(
        name="config_server",
        run=lazy("troubleshooter.checks.config.check:run_config_server"),
        help="The server against the configuration: maxmemory-policy noeviction, requirepass "
             "set but a source sends no password, TLS a source expects but the port does not "
             "speak, run_id / role against the expected ones. data: maxmemory_policy, run_id, "
             "role, requires_auth.",
        params={
            "sources": Param(str, "sources", "the id of the config_sources action"),
            "expected_run_id": Param(str, "", "the run_id of the instance the app should use"),
            "expected_role": Param(str, "", "master or slave ('' = either)"),
        },
        codes=("server.eviction_policy", "server.auth_required", "network.tls_mismatch",
               "config.wrong_instance"),
    ),
)
