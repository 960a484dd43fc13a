"""The finding-code vocabulary (docs/FINDINGS.md), as data.

Every check, log signature, drill and test speaks these codes. The order of `FAMILIES` and of
the codes inside each family is the diagnosis order: the most upstream error wins.
"""

from __future__ import annotations

from typing import Any

from troubleshooter.frozen import frozen

SEVERITIES = ("error", "warning", "info")

# family -> the outage-guide step it belongs to; the order is the diagnosis order.
FAMILIES = {
    "config": "configuration",
    "network": "network",
    "server": "server",
    "rq": "server",
    "logs": "logs",
    "restart": "restart",
    "support": "support",
}


@frozen
class Code:
    """A catalogue entry: what a code means and what to do about it by default."""

    code: str
    title: str
    remedy: str
    severity: str = "error"


def _codes(*entries: tuple[str, str, str] | tuple[str, str, str, str]) -> dict[str, Code]:
    return {e[0]: Code(*e) for e in entries}


CATALOGUE: dict[str, Code] = _codes(
    # 5 configuration (diagnosed first: a wrong target makes every other check lie)
    ("config.missing", "No Redis target is configured",
     "Set REDIS_URL (or RQ_REDIS_URL) for the app and its workers."),
    ("config.malformed_url", "The Redis URL is malformed",
     "Re-type the URL by hand as redis://host:port/db (credentials go before the host as "
     "user:password@, the password percent-encoded)."),
    ("config.not_redis_url", "An HTTP(S) URL is used where a redis:// URL is required",
     "Use the provider's redis:// or rediss:// endpoint; REST URLs cannot serve redis-py or RQ."),
    ("config.mismatch", "Configuration sources disagree",
     "Make the web service and the workers read the same Redis URL and queue names."),
    ("config.insecure", "A production target without TLS",
     "Use rediss:// for production targets.", "warning"),
    ("config.wrong_instance", "The Redis that answers is not the one configured",
     "Point the app at the instance that holds its data (check host, port and db)."),
    # 1 network
    ("config.stale_master", "The app's URL names a node that is no longer the master",
     "Connect through Sentinel (redis+sentinel://...) or point the URL at the current master."),
    ("network.dns_failed", "The host name does not resolve",
     "Check the host name for typos; check DNS (resolv.conf, the provider's endpoint name)."),
    ("network.refused", "Connection refused: nothing listens there",
     "Start Redis (or check the port): `systemctl status redis-server`, then the Redis log."),
    ("network.timeout", "TCP connect gets no answer in time",
     "Check firewalls / security groups between this host and Redis, and that the host is up."),
    ("network.unreachable", "No route to the Redis host",
     "Check routing / VPN / VPC peering between this host and Redis."),
    ("network.permission_denied", "This user may not connect to Redis's unix socket",
     "Run the app and its workers as a user of the socket's group, or set Redis's "
     "unixsocketperm (e.g. 770) and add that user to the socket's group."),
    ("network.tls_mismatch", "The URL scheme does not match what the server speaks",
     "Use rediss:// for a TLS port and redis:// for a plain one."),
    ("network.tls_failed", "TLS handshake or certificate verification failed",
     "Check the CA bundle (ssl_ca_certs), the certificate's host name and its validity dates."),
    ("network.not_redis", "Something answers on the port, but it is not Redis",
     "Check the port: another service listens there."),
    # 2 server
    ("server.unresponsive", "Redis accepts connections but does not answer",
     "Check whether the Redis process is stopped, swapping or blocked (SLOWLOG, the Redis log); "
     "restart it if it stays hung."),
    ("server.protocol_error", "The server breaks the Redis protocol",
     "Check what answers on this port (a proxy, a Redis module, another service) and its "
     "version: its reply was malformed, over this tool's limits (8 MiB a reply, 1 MiB for INFO, "
     "32 levels of nesting) or never ended."),
    ("server.auth_required", "Redis needs credentials and none were given",
     "Give the app the password: in the URL as :PASSWORD@ before the host "
     "(percent-encoded), or in REDIS_PASSWORD."),
    ("server.auth_failed", "Wrong password or user",
     "Check the password / ACL user in the app's configuration against the server's."),
    ("server.acl_denied", "The user may not run what the app or RQ needs",
     "Grant the RQ user its commands, keys and channels: ACL SETUSER <user> ~rq:* &rq:* +@all."),
    ("server.protected_mode", "Refused by protected mode",
     "Set a password (requirepass) or bind to the intended interface; do not just disable "
     "protected-mode."),
    ("server.max_clients", "maxclients reached",
     "Find the client leaking connections (CLIENT LIST); raise maxclients as a stopgap."),
    ("server.oom", "Used memory at maxmemory under noeviction: writes fail",
     "Free memory (delete stale keys, trim finished/failed registries) or raise maxmemory."),
    ("server.eviction_policy", "The eviction policy can silently delete RQ jobs",
     "Set maxmemory-policy noeviction on the Redis that RQ uses.", "warning"),
    ("server.readonly", "The target is a read-only replica",
     "Point the app at the current master (after a failover the old master becomes a replica)."),
    ("server.replica_link_down", "The replica has lost its master",
     "Check the master named by master_host:master_port, and the link between them."),
    ("server.not_enough_replicas", "Fewer good replicas than min-replicas-to-write: writes fail",
     "Bring the replicas back (check their master_link_status), or lower min-replicas-to-write "
     "if fewer are expected."),
    ("server.loading", "Redis is loading its dataset",
     "Wait for loading to finish (loading_eta_seconds); do not restart it meanwhile."),
    ("server.persistence_failed", "The last save failed: writes are refused (MISCONF)",
     "Fix the disk / permissions / fork problem in the Redis log, then run BGSAVE."),
    ("server.busy", "A script or function is blocking the server",
     "SCRIPT KILL (or FUNCTION KILL); SHUTDOWN NOSAVE only as a last resort."),
    ("server.db_out_of_range", "The database index in the URL does not exist",
     "Use a db index below the server's `databases` setting (usually 0-15)."),
    ("server.wrong_mode", "The target is a Sentinel or Cluster node used as a plain Redis",
     "RQ needs a standalone Redis (or the master behind Sentinel): fix the URL / connection."),
    # Sentinel and Cluster (topology): after wrong_mode, before the single-node facts
    ("server.sentinel_unreachable", "Sentinels do not answer",
     "Start the Sentinels or open port 26379 to them; the app finds the master through them."),
    ("server.sentinel_unknown_master", "The Sentinels do not know the master name",
     "Use the name from `sentinel monitor NAME ...` in sentinel.conf (SENTINEL MASTERS)."),
    ("server.sentinel_disagree", "Sentinels disagree on which node is the master",
     "Wait for the failover to settle; if it persists the Sentinels are partitioned."),
    ("server.sentinel_no_quorum", "The Sentinels cannot reach their quorum",
     "Bring enough Sentinels back: without quorum no failover can happen."),
    ("server.sentinel_failover", "The master is down or a failover is in progress",
     "Writes fail until a replica is promoted; reconnect through Sentinel afterwards."),
    ("server.sentinel_no_replica", "The master has no replica to fail over to",
     "Add a replica: with none, Sentinel cannot fail over.", "warning"),
    ("server.cluster_down", "The cluster is down (cluster_state:fail)",
     "Bring back the failed masters or fail over to their replicas; then check slot coverage."),
    ("server.cluster_slots_uncovered", "Hash slots are not served by any live master",
     "Assign the missing slots (redis-cli --cluster fix) or bring their master back."),
    ("server.cluster_node_failing", "A cluster node is failing or unreachable",
     "Restart the node or remove it (CLUSTER FORGET) after its slots have moved."),
    ("server.cluster_no_replica", "A cluster master has no replica",
     "Add a replica to every master: a master failure otherwise takes its slots down.",
     "warning"),
    ("server.cluster_empty_master", "A cluster master serves no slots",
     "Rebalance (redis-cli --cluster rebalance) or remove the node.", "warning"),
    ("server.cluster_epoch_disagree", "Cluster nodes disagree on the epoch",
     "Usually transient after a failover; if it persists, check links between nodes.",
     "warning"),
    ("rq.cluster_unsupported", "RQ is pointed at a Redis Cluster",
     "RQ is not cluster-aware (its keys span slots): run it on a standalone Redis or behind "
     "Sentinel."),
    ("server.recently_restarted", "Redis restarted recently",
     "Unsaved data and in-flight jobs may be gone: check the RQ registries and requeue.",
     "warning"),
    ("server.data_lost", "Redis restarted empty: every RQ job from before is gone",
     "Re-enqueue the work from its source (the app's records); turn persistence on "
     "(appendonly yes, or save points) so the next restart keeps the queues."),
    ("server.restored_from_snapshot", "Redis restarted from a snapshot: later writes are lost",
     "Check the jobs that ran shortly before the crash before requeueing: they may run again.",
     "warning"),
    ("server.slow", "PING round trips are slow",
     "Check the server's load (SLOWLOG, LATENCY DOCTOR) and the network path.", "warning"),
    # 2b RQ
    ("rq.no_workers", "No live worker listens to a queue that needs one",
     "Start (or restart) the RQ worker for that queue: `rq worker QUEUE --url ...`."),
    ("rq.dead_workers", "Registered workers are dead",
     "Restart the workers; dead registrations are cleaned up by `rq info` / worker maintenance.",
     "warning"),
    ("rq.workers_suspended", "RQ workers are suspended: they take no job",
     "If nobody suspended them on purpose (a deploy, maintenance), run `rq resume --url URL`; "
     "new workers would be suspended too (the rq:suspended key)."),
    ("rq.scheduler_missing", "Scheduled jobs are due and no RQ scheduler enqueues them",
     "Run a worker with the scheduler (`rq worker QUEUE --with-scheduler`), or the app's own "
     "scheduler process; the jobs are enqueued as soon as one runs."),
    ("rq.orphaned_jobs", "In-flight jobs lost their worker",
     "Requeue the orphaned jobs once Redis and the workers are healthy (`rq requeue`)."),
    ("rq.failed_jobs", "Jobs failed",
     "Inspect the failed registry; requeue the jobs that failed on Redis errors.", "warning"),
    ("rq.unregistered_workers", "Live workers are missing from rq:workers",
     "Restart those workers so they register again (`rq info` and dashboards miss them).",
     "warning"),
    ("rq.backlog", "A queue is backed up",
     "Add workers or find what slows the current ones.", "warning"),
    ("rq.queue_mismatch", "The app's queue is not served by any worker",
     "Make RQ_QUEUE_NAME match the queue the workers listen to."),
    # 3 logs
    ("logs.connection_refused", "Logs show refused connections", "See network.refused."),
    ("logs.timeout", "Logs show Redis timeouts", "See network.timeout / server.unresponsive."),
    ("logs.auth_failed", "Logs show authentication failures", "See server.auth_failed."),
    ("logs.oom", "Logs show OOM errors", "See server.oom."),
    ("logs.readonly", "Logs show READONLY errors", "See server.readonly."),
    ("logs.max_clients", "Logs show max-clients errors", "See server.max_clients."),
    ("logs.loading", "Logs show LOADING errors", "See server.loading."),
    ("logs.persistence_failed", "Logs show failed saves", "See server.persistence_failed."),
    ("logs.dns_failed", "Logs show DNS failures", "See network.dns_failed."),
    ("logs.connection_reset", "Logs show reset connections",
     "Check TLS settings and server-side limits.", "warning"),
    ("logs.fork_failed", "Logs show fork failures",
     "Enable memory overcommit (vm.overcommit_memory=1) and check free memory."),
    ("logs.master_link_lost", "Logs show the replica lost its master",
     "See server.replica_link_down."),
    ("logs.worker_killed", "Logs show a worker killed mid-job", "See rq.orphaned_jobs."),
    ("logs.auth_required", "Logs show NOAUTH: credentials missing", "See server.auth_required."),
    ("logs.acl_denied", "Logs show NOPERM: the user lacks permissions", "See server.acl_denied."),
    ("logs.protected_mode", "Logs show clients refused by protected mode",
     "See server.protected_mode."),
    ("logs.out_of_fds", "Logs show Redis out of file descriptors",
     "Raise the open-files limit of the Redis service (LimitNOFILE) or lower maxclients."),
    ("logs.master_down", "Logs show MASTERDOWN replies", "See server.replica_link_down."),
    ("logs.overcommit_disabled", "Logs show memory overcommit disabled",
     "Run `sysctl vm.overcommit_memory=1` and persist it in /etc/sysctl.conf.", "warning"),
    ("logs.busy", "Logs show BUSY: a script blocked Redis", "See server.busy."),
    ("logs.cluster", "Logs show cluster redirections or a failed cluster",
     "See server.wrong_mode: RQ needs a standalone Redis."),
    ("logs.sentinel_no_master", "Logs show Sentinel naming no master",
     "Check the Sentinels (SENTINEL MASTERS) and the master name the app asks for."),
    ("logs.failover", "Logs show a Sentinel failover",
     "Make sure the app follows the new master through Sentinel.", "warning"),
    ("logs.job_abandoned", "Logs show abandoned RQ jobs", "See rq.orphaned_jobs.", "warning"),
    ("logs.job_failed", "Logs show RQ jobs failing", "See rq.failed_jobs.", "warning"),
    ("logs.worker_shutdown", "Logs show RQ workers shutting down", "See rq.no_workers.",
     "warning"),
    ("logs.worker_name_taken", "Logs show a worker refused: its name is still registered",
     "See rq.dead_workers: the dead registration must expire or be removed."),
    ("logs.redis_started", "Logs show Redis (re)starting", "See server.recently_restarted.",
     "warning"),
    ("logs.redis_shutdown", "Logs show Redis shutting down", "See server.recently_restarted.",
     "warning"),
    ("logs.db_loaded", "Logs show Redis loading its dataset from disk",
     "Jobs finished after the snapshot may run again.", "info"),
    ("logs.outage_passed", "The logs show an outage that has passed",
     "Check what it left behind: orphaned and failed RQ jobs (requeue them), and what the app "
     "lost meanwhile.", "warning"),
    # 4 restart
    ("restart.unmanaged", "No known way to restart Redis here",
     "Restart Redis by hand (systemctl, docker, the provider's console).", "warning"),
    ("restart.unsaved_changes", "A restart now would lose unsaved writes",
     "Run BGSAVE (or SAVE) and wait for it before restarting.", "warning"),
    ("restart.loss_unknown", "What a restart would lose cannot be read",
     "Writes since the last save are lost by a restart: if Redis answers at all, read INFO "
     "persistence (rdb_changes_since_last_save, aof_enabled) and run BGSAVE first.", "warning"),
    ("restart.failed", "The restart command failed", "Read the service manager's log."),
    ("restart.not_recovered", "Redis did not come back after the restart",
     "Read the Redis log from the restart on."),
    ("restart.recovered", "Redis answers again", "Verify the workers reconnected.", "info"),
    # 6 support
    ("support.bundle_written", "The support bundle was written", "Attach it to the ticket.",
     "info"),
)


def family(code: str) -> str:
    return code.split(".", 1)[0]


def step_of(code: str) -> str:
    """The outage-guide step a code belongs to."""
    return FAMILIES.get(family(code), "unknown")


def upstream_rank(code: str) -> tuple[int, int]:
    """Sort key: smaller is further upstream (configuration, network, server, rq, ...)."""
    fams = list(FAMILIES)
    codes = list(CATALOGUE)
    fam = family(code)
    return (
        fams.index(fam) if fam in fams else len(fams),
        codes.index(code) if code in codes else len(codes),
    )


def is_known(code: str) -> bool:
    return code in CATALOGUE


@frozen
class Finding:
    """One conclusion of a check: `{code, severity, step, message, evidence, remedy}`."""

    code: str
    severity: str
    message: str
    evidence: tuple[str, ...] = ()
    remedy: str = ""
    step: str = ""
    source: str = ""  # the id of the check or prompt that found it

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "step": self.step,
            "source": self.source,
            "message": self.message,
            "evidence": list(self.evidence),
            "remedy": self.remedy,
        }


def finding(
    code: str,
    message: str,
    *evidence: str,
    severity: str | None = None,
    remedy: str | None = None,
) -> Finding:
    """A finding with the catalogue's default severity and remedy unless given."""
    entry = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity or entry.severity,
        message=message,
        evidence=tuple(evidence),
        remedy=entry.remedy if remedy is None else remedy,
    )


__all__ = ["CATALOGUE", "Code", "Finding", "finding"]
