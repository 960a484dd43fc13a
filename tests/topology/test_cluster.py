"""Cluster targets against real clusters made with `redis-cli --cluster create`."""

from __future__ import annotations

import pytest

from tests.topology.conftest import check, codes, triage, wait_for
from troubleshooter.checks.topology.cluster import parse_nodes, uncovered
from troubleshooter.lab.faults import admin_client
from troubleshooter.lab.server import RedisServer

pytestmark = pytest.mark.slow


def severities(doc: dict, code: str) -> set[str]:
    return {f["severity"] for f in doc["findings"] if f["code"] == code}


def test_parse_nodes_and_coverage() -> None:
    text = (
        "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
        "b2 127.0.0.1:7001@17001,host master - 0 0 2 connected 5461-10922 [10923->-c3]\n"
        "c3 127.0.0.1:7002@17002 master,fail - 0 0 3 disconnected 10923-16383\n"
        "d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected\n"
        "garbage line\n")
    nodes = parse_nodes(text)
    assert [n.id for n in nodes] == ["a1", "b2", "c3", "d4"]
    assert nodes[2].failing and not nodes[3].is_master
    assert uncovered(nodes) == [(10923, 16383)]


def test_healthy_six_node_cluster(six_node_cluster: list[RedisServer]) -> None:
    code, doc, _ = triage(six_node_cluster[3].url)
    c = check(doc, "cluster")
    assert c["status"] == "fail"  # RQ on a cluster: said plainly, and nothing else
    assert codes(doc) & {f for f in codes(doc) if f.startswith("server.cluster")} == set()
    assert doc["diagnosis"]["code"] == "rq.cluster_unsupported" and code == 1
    assert c["data"]["slots_served"] == 16384 and len(c["data"]["nodes"]) == 6
    assert "server.wrong_mode" not in codes(doc)


def test_masters_without_replicas(three_masters: list[RedisServer]) -> None:
    _, doc, _ = triage(three_masters[0].url)
    assert severities(doc, "server.cluster_no_replica") == {"warning"}


def test_removed_slot_range_takes_the_cluster_down(three_masters: list[RedisServer]) -> None:
    node = three_masters[1]
    nodes = admin_client(node).execute_command("CLUSTER", "NODES")
    mine = next(line for line in nodes.splitlines() if "myself" in line)
    first, last = mine.split()[8].split("-")
    admin_client(node).execute_command("CLUSTER", "DELSLOTSRANGE", first, last)
    # Only the node itself forgets the slots (removals do not propagate): triage it.
    wait_for(lambda: "cluster_state:fail" in admin_client(node).execute_command(
        "CLUSTER", "INFO"), 15, "cluster_state:fail")
    code, doc, _ = triage(node.url)
    assert code == 1
    assert {"server.cluster_down", "server.cluster_slots_uncovered"} <= codes(doc)
    gap = next(f for f in doc["findings"] if f["code"] == "server.cluster_slots_uncovered")
    assert f"{first}-{last}" in gap["message"]
    assert doc["diagnosis"]["code"] == "server.cluster_down"


def test_killed_master(three_masters: list[RedisServer]) -> None:
    victim = three_masters[2]
    victim.stop()
    wait_for(lambda: "cluster_state:fail" in admin_client(three_masters[0]).execute_command(
        "CLUSTER", "INFO"), 20, "the others to mark it failed")
    code, doc, _ = triage(three_masters[0].url, "--timeout", "1")
    assert code == 1
    failing = [f for f in doc["findings"] if f["code"] == "server.cluster_node_failing"]
    assert failing and f"127.0.0.1:{victim.port}" in str(failing[0]["evidence"])
    assert failing[0]["severity"] == "error"
    assert "server.cluster_slots_uncovered" in codes(doc)


def test_cluster_flag_forces_the_check_on_a_resp2_path(three_masters: list[RedisServer]) -> None:
    code, doc, _ = triage(three_masters[0].url, "--cluster")
    assert check(doc, "cluster")["status"] in ("fail", "warn")


def test_acl_user_on_one_node_only(three_masters: list[RedisServer]) -> None:
    admin_client(three_masters[0]).execute_command(
        "ACL", "SETUSER", "app", "on", ">clusterpw5", "~*", "&*", "+@all")
    port = three_masters[0].port
    code, doc, err = triage(f"redis://app:clusterpw5@127.0.0.1:{port}/0")
    refused = [f for f in doc["findings"] if f["code"] == "server.auth_failed"]
    assert refused and "2 cluster node(s) refuse" in refused[0]["message"]
    assert "server.cluster_node_failing" not in codes(doc)
    assert "clusterpw5" not in err + str(doc)


def test_shape_and_epoch_rules_on_parsed_nodes() -> None:
    from troubleshooter.checks.base import CheckContext
    from troubleshooter.checks.topology.cluster import _findings
    from troubleshooter.target import parse_target

    text = ("a1 h:1@2 myself,master - 0 0 1 connected 0-16383\n"
            "b2 h:2@2 master - 0 0 2 connected\n"
            "c3 h:3@2 slave b2 0 0 2 connected\n"
            "d4 h:4@2 master,fail? - 0 0 4 connected\n")
    nodes = parse_nodes(text)
    views = {"a1": {"cluster_state": "ok", "cluster_current_epoch": "4"},
             "b2": {"cluster_state": "ok", "cluster_current_epoch": "3"},
             "c3": {"cluster_state": "ok", "cluster_current_epoch": "4"},
             "d4": {"cluster_state": "ok", "cluster_current_epoch": "4"}}
    ctx = CheckContext(parse_target("redis://h:1"), {"rq": False}, 1.0)
    found = {(f.code, f.severity) for f in _findings(ctx, {"cluster_state": "ok"}, nodes, views)}
    assert found == {("server.cluster_no_replica", "warning"),     # a1 serves slots, no replica
                     ("server.cluster_empty_master", "warning"),   # b2 and d4 serve none
                     ("server.cluster_epoch_disagree", "warning"),
                     ("server.cluster_node_failing", "warning")}   # d4 suspected
