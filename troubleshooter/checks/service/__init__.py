"""Step 4, restarting services: how Redis and the workers are run here (systemd, supervisor,
Docker, a bare process, or the playbook's command), then a verified restart of each.

Its kinds, declared here as data, as the playbook refers to them (their code loads when run).
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind, Param, lazy

_DRY_RUN = Param(bool, False, "show what would run, run nothing (--dry-run)")

KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        name="service_detect",
        run=lazy("troubleshooter.checks.service.detect:run_service_detect"),
        help="How Redis and the RQ workers are run here (playbook command, systemd, "
             "supervisor, Docker, a bare process) and what a restart would lose; changes "
             "nothing. data: redis, workers {manager, name, restart, evidence, manual}, "
             "server, plan, restart_redis, restart_workers, evidence.",
        params={
            "redis_restart": Param(str, "", "a command line that restarts Redis; overrides "
                                            "detection"),
            "workers_restart": Param(str, "", "a command line that restarts the workers; "
                                              "overrides detection"),
            "supervisor_conf": Param(str, "", "supervisorctl's config file ('' = its default "
                                              "search)"),
            "dry_run": _DRY_RUN,
        },
        codes=("restart.unmanaged", "restart.unsaved_changes", "restart.loss_unknown"),
        needs_target=False,
        time_limit=15.0,
        capped_by_timeout=False,
    ),
    CheckKind(
        name="service_restart",
        run=lazy("troubleshooter.checks.service.restart:run_service_restart"),
        help="Restart Redis or the workers with the command service_detect found, then verify: "
             "PING with backoff, or workers registered again on the app's queue. data: "
             "command, returncode, output, time_to_recovery_s.",
        params={
            "role": Param(str, "redis", "redis or workers"),
            "detection": Param(str, "services", "the id of the service_detect action"),
            "app_queue": Param(str, "", "the queue the restarted workers must listen to"),
            "command_timeout_s": Param((int, float), 90, "time limit of the restart command"),
            "recovery_s": Param((int, float), 60, "how long to wait for it to come back"),
            "dry_run": _DRY_RUN,
        },
        codes=("restart.failed", "restart.not_recovered", "restart.recovered"),
        destructive=True,
        preview=lazy("troubleshooter.checks.service.restart:preview_restart"),
        time_limit=180.0,
        capped_by_timeout=False,
    ),
    CheckKind(
        name="redis_bgsave",
        run=lazy("troubleshooter.checks.service.restart:run_redis_bgsave"),
        help="BGSAVE before a restart, and wait for it to finish.",
        params={"wait_s": Param((int, float), 60, "how long to wait for the save"),
                "dry_run": _DRY_RUN},
        codes=("server.persistence_failed",),
        destructive=True,
        preview=lazy("troubleshooter.checks.service.restart:preview_bgsave"),
        time_limit=90.0,
        capped_by_timeout=False,
    ),
)
