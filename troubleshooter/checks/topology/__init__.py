"""Beyond one node: Sentinel (the sentinels themselves) and Cluster (every node).

Its kinds, declared here as data (their code loads when run).
"""

from __future__ import annotations

from troubleshooter.checks.base import CheckKind, Param, lazy

KINDS: tuple[CheckKind, ...] = (
    CheckKind(
        name="sentinel_status",
        run=lazy("troubleshooter.checks.topology.sentinel:run_sentinel_status"),
        help="For a redis+sentinel:// URL: the Sentinels answer, agree on the master, reach "
             "quorum, no failover is under way, replicas are linked",
        codes=("server.sentinel_unreachable", "server.sentinel_unknown_master",
               "server.sentinel_disagree", "server.sentinel_no_quorum",
               "server.sentinel_failover", "server.sentinel_no_replica",
               "server.replica_link_down", "server.auth_required"),
        needs_target=False,
    ),
    CheckKind(
        name="cluster_status",
        run=lazy("troubleshooter.checks.topology.cluster:run_cluster_status"),
        help="For a Redis Cluster node: the cluster's state, slot coverage, failing nodes, "
             "masters without replicas, epochs (every node asked in parallel)",
        params={"rq": Param(bool, True, "the app runs RQ on this Redis (RQ is not "
                                        "cluster-aware)")},
        codes=("server.cluster_down", "server.cluster_slots_uncovered",
               "server.cluster_node_failing", "server.cluster_no_replica",
               "server.cluster_empty_master", "server.cluster_epoch_disagree",
               "server.auth_failed", "rq.cluster_unsupported"),
    ),
    CheckKind(
        name="sentinel_hint",
        run=lazy("troubleshooter.checks.topology.stale:run_sentinel_hint"),
        help="For a plain URL naming a replica: do Sentinels watch it, and which node do they "
             "call master (their __sentinel__:hello announcements)",
        params={"listen_s": Param((int, float), 2.2, "how long to listen for announcements "
                                                     "(Sentinels announce every 2 s)")},
        codes=("config.stale_master",),
    ),
)
