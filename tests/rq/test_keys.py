"""Every RQ key name the checks spell is the one the installed rq computes for the same prefix.

rq reads RQ_KEY_PREFIX once, when it is imported: each prefix is asked of a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from troubleshooter.checks.rq.keys import RqKeys

# What rq itself says, for queue "default", job "j1", execution "e1" and worker "w1".
ASK_RQ = """
import json
from unittest.mock import MagicMock
from rq import Queue, Worker
from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE, Execution, ExecutionRegistry
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.results import Result
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

conn = MagicMock()
print(json.dumps({
    "queues": Queue.redis_queues_keys,
    "queue_namespace": Queue.redis_queue_namespace_prefix,
    "queue": Queue("default", connection=conn).key,
    "workers": Worker.redis_workers_keys,
    "queue_workers": WORKERS_BY_QUEUE_KEY % "default",
    "worker_namespace": Worker.redis_worker_namespace_prefix,
    "worker_executions": WORKER_EXECUTIONS_KEY_TEMPLATE.format("w1"),
    "job": Job.key_for("j1"),
    "result": Result.get_key("j1"),
    "started": StartedJobRegistry("default", connection=conn).key,
    "failed": FailedJobRegistry("default", connection=conn).key,
    "execution": Execution("e1", "j1", connection=conn).key,
    "executions": ExecutionRegistry("j1", connection=conn).key,
}))
"""


def ours(keys: RqKeys) -> dict[str, str]:
    return {
        "queues": keys.queues, "queue_namespace": keys.queue_namespace,
        "queue": keys.queue("default"), "workers": keys.workers,
        "queue_workers": keys.queue_workers("default"),
        "worker_namespace": keys.worker_namespace,
        "worker_executions": keys.worker_executions("w1"), "job": keys.job("j1"),
        "result": keys.result("j1"), "started": keys.started("default"),
        "failed": keys.failed("default"), "execution": keys.execution("j1", "e1"),
        "executions": keys.executions("j1"),
    }


@pytest.mark.parametrize("prefix", ["rq", "myapp", "{rq}", "tenant-7.jobs:v2_a"])
def test_each_key_name_is_the_one_rq_computes_for_the_prefix(prefix: str) -> None:
    env = {**os.environ, "RQ_KEY_PREFIX": prefix}
    reply = subprocess.run([sys.executable, "-c", ASK_RQ], env=env, capture_output=True,
                           text=True, check=True, timeout=60)
    assert ours(RqKeys(prefix)) == json.loads(reply.stdout)


def test_the_default_prefix_is_rqs() -> None:
    env = {k: v for k, v in os.environ.items() if k != "RQ_KEY_PREFIX"}
    reply = subprocess.run([sys.executable, "-c", ASK_RQ], env=env, capture_output=True,
                           text=True, check=True, timeout=60)
    assert ours(RqKeys()) == json.loads(reply.stdout)
