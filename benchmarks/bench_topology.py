"""A 6-node Redis Cluster (3 masters, 3 replicas, all on loopback) triaged next to a single
node, whole-process, alternating, in the same run: the issue's target is <= 1.5x.

    .venv/bin/python benchmarks/bench_topology.py [--repeat 9]

Prints the median wall time of each and the ratio. Every server is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from troubleshooter.lab.faults import admin_client
from troubleshooter.lab.server import RedisServer

CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "1000")


def triage(url: str, env: dict[str, str]) -> tuple[float, int]:
    exe = Path(sys.executable).with_name("troubleshooter")
    start = time.perf_counter()
    proc = subprocess.run([str(exe), "run", "--non-interactive", "--json", "--url", url],
                          capture_output=True, env=env, timeout=60)
    return time.perf_counter() - start, proc.returncode


def wait_ok(nodes: list[RedisServer]) -> None:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        infos = [admin_client(n).execute_command("CLUSTER", "INFO") for n in nodes]
        if all("cluster_state:ok" in i and f"cluster_known_nodes:{len(nodes)}" in i
               for i in infos):
            return
        time.sleep(0.2)
    raise SystemExit("the cluster did not come up")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    home = tempfile.mkdtemp()
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": home,
           "XDG_STATE_HOME": home, "XDG_CONFIG_HOME": home}
    with ExitStack() as stack:
        single = stack.enter_context(RedisServer())
        nodes = [stack.enter_context(RedisServer(*CLUSTER_ARGS)) for _ in range(6)]
        subprocess.run(["redis-cli", "--cluster", "create",
                        *(f"127.0.0.1:{n.port}" for n in nodes), "--cluster-replicas", "1",
                        "--cluster-yes"], check=True, capture_output=True, timeout=60)
        wait_ok(nodes)
        triage(single.url, env)  # warm the page cache
        one, six = [], []
        for _ in range(args.repeat):
            one.append(triage(single.url, env)[0])
            t, code = triage(nodes[0].url, env)
            six.append(t)
        a, b = statistics.median(one), statistics.median(six)
        print(f"single node      median {a:.3f} s  (n={len(one)})")
        print(f"6-node cluster   median {b:.3f} s  (n={len(six)}, exit {code}: "
              "rq.cluster_unsupported is the expected diagnosis)")
        print(f"ratio cluster/single: {b / a:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
