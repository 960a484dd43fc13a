"""Redis Cluster: read CLUSTER INFO and CLUSTER NODES once from the node the URL names, then ask
every node in parallel (each with its own time limit) for its own view: state, slots, failing
nodes, masters without replicas or slots, epochs. RQ on a cluster is called out plainly."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from troubleshooter.checks.base import CheckContext, Outcome, outcome_from
from troubleshooter.checks.server.link import command, own_client, text
from troubleshooter.findings import Finding, finding
from troubleshooter.frozen import frozen
from troubleshooter.parallel import first_line, in_parallel

if TYPE_CHECKING:
    import redis

SLOTS = 16384
_MAX_NODES = 1000
_EVIDENCE = 10


@frozen
class Node:
    """One line of CLUSTER NODES."""

    id: str
    host: str
    port: int
    flags: frozenset[str]
    master_id: str
    slots: tuple[tuple[int, int], ...]

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def failing(self) -> bool:
        return "fail" in self.flags

    @property
    def suspected(self) -> bool:
        return "fail?" in self.flags

    @property
    def slot_count(self) -> int:
        return sum(b - a + 1 for a, b in self.slots)


def parse_nodes(text: str) -> list[Node]:
    """CLUSTER NODES as data; malformed lines are skipped (the reply is untrusted)."""
    nodes = []
    for line in text.splitlines()[:_MAX_NODES]:
        parts = line.split()
        if len(parts) < 8:
            continue
        addr = parts[1].split("@", 1)[0].split(",", 1)[0]
        host, _, port = addr.rpartition(":")
        if not port.isdigit():
            continue
        slots = []
        for item in parts[8:]:
            if item.startswith("["):  # a slot being migrated or imported
                continue
            first, _, last = item.partition("-")
            if first.isdigit() and (not last or last.isdigit()):
                a, b = int(first), int(last or first)
                if 0 <= a <= b < SLOTS:
                    slots.append((a, b))
        nodes.append(Node(parts[0], host.strip("[]"), int(port), frozenset(parts[2].split(",")),
                          parts[3], tuple(slots)))
    return nodes


def info_fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines()[:200]:
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def uncovered(nodes: list[Node]) -> list[tuple[int, int]]:
    """Slot ranges no healthy master serves."""
    served = bytearray(SLOTS)
    for n in nodes:
        if n.is_master and not n.failing:
            for a, b in n.slots:
                served[a:b + 1] = b"\x01" * (b - a + 1)
    gaps: list[tuple[int, int]] = []
    start = None
    for slot in range(SLOTS + 1):
        missing = slot < SLOTS and not served[slot]
        if missing and start is None:
            start = slot
        elif not missing and start is not None:
            gaps.append((start, slot - 1))
            start = None
    return gaps


def _text(value: Any) -> str:
    return text(value)[: 4 * 1024 * 1024]


def _node_client(ctx: CheckContext, node: Node, timeout: float) -> redis.Redis:
    target = replace(ctx.target, host=node.host, port=node.port)
    return own_client(ctx, target, timeout, protocol=2, client_name="")


def _node_view(ctx: CheckContext, node: Node, timeout: float) -> dict[str, str]:
    """The node's own CLUSTER INFO, or {'error': why}."""
    import redis

    client = _node_client(ctx, node, timeout)
    try:
        return info_fields(_text(command(client, "CLUSTER", "INFO")))
    except redis.AuthenticationError as exc:
        return {"auth_error": first_line(exc)}
    except redis.ResponseError as exc:
        if any(word in str(exc) for word in ("NOAUTH", "WRONGPASS", "NOPERM")):
            return {"auth_error": first_line(exc)}
        return {"error": first_line(exc)}
    except (redis.RedisError, OSError) as exc:
        return {"error": first_line(exc)}
    finally:
        client.close()


def run_cluster_status(ctx: CheckContext) -> Outcome:
    import redis

    client = own_client(ctx, ctx.target, ctx.timeout, protocol=2, client_name="")
    try:
        info = info_fields(_text(command(client, "CLUSTER", "INFO")))
        nodes = parse_nodes(_text(command(client, "CLUSTER", "NODES")))
    except redis.ResponseError as exc:
        if "cluster support disabled" in str(exc).lower():
            return Outcome("skipped", f"{ctx.target.address} is not a cluster node")
        raise
    finally:
        client.close()
    views = in_parallel(nodes, lambda n: _node_view(ctx, n, ctx.timeout), ctx.timeout + 0.5)
    by_node = {n.id: v if isinstance(v, dict) else
               {"error": first_line(v) if v else f"no answer within {ctx.timeout:g} s"}
               for n, v in zip(nodes, views, strict=True)}
    findings = _findings(ctx, info, nodes, by_node)
    masters = [n for n in nodes if n.is_master]
    gaps = uncovered(nodes)
    summary = (f"cluster_state:{info.get('cluster_state', '?')}, {len(masters)} masters, "
               f"{len(nodes) - len(masters)} replicas, {SLOTS - _count(gaps)} of {SLOTS} slots "
               "served")
    return outcome_from(
        findings, summary, cluster_state=info.get("cluster_state"),
        slots_served=SLOTS - _count(gaps),
        nodes=[{"id": n.id[:8], "address": n.address, "role": "master" if n.is_master
                else "replica", "flags": sorted(n.flags), "slots": n.slot_count,
                "state": by_node[n.id].get("cluster_state"), "error": by_node[n.id].get("error")}
               for n in nodes[:100]])


def _count(gaps: list[tuple[int, int]]) -> int:
    return sum(b - a + 1 for a, b in gaps)


def _findings(ctx: CheckContext, info: dict[str, str], nodes: list[Node],
              views: dict[str, dict[str, str]]) -> list[Finding]:
    out: list[Finding] = []
    down = [n for n in nodes if views[n.id].get("cluster_state") == "fail"]
    if info.get("cluster_state") == "fail" or down:
        out.append(finding("server.cluster_down",
                           f"the cluster is down: {len(down) or 1} node(s) report "
                           "cluster_state:fail, so they refuse every command (CLUSTERDOWN)",
                           *(f"{n.address}: cluster_state:fail" for n in down[:_EVIDENCE])))
    gaps = uncovered(nodes)
    if gaps:
        shown = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in gaps[:_EVIDENCE])
        more = f" and {len(gaps) - _EVIDENCE} more ranges" if len(gaps) > _EVIDENCE else ""
        out.append(finding("server.cluster_slots_uncovered",
                           f"{_count(gaps)} of {SLOTS} hash slots have no live master: {shown}"
                           f"{more}",
                           f"cluster_slots_assigned:{info.get('cluster_slots_assigned')}"))
    out += _failing(nodes, views)
    refused = [n for n in nodes if "auth_error" in views[n.id]]
    if refused:
        out.append(finding(
            "server.auth_failed",
            f"{len(refused)} cluster node(s) refuse the credentials that {ctx.target.address} "
            "accepts: the app fails on the slots they serve",
            *(f"{n.address}: {views[n.id]['auth_error']}" for n in refused[:_EVIDENCE]),
            remedy="ACL users and requirepass are per node in a cluster: set the same user and "
                   "password on every node (and in each node's config file)"))
    out += _shape(nodes)
    epochs = {views[n.id]["cluster_current_epoch"] for n in nodes
              if "cluster_current_epoch" in views[n.id]}
    if len(epochs) > 1:
        out.append(finding("server.cluster_epoch_disagree",
                           f"nodes report {len(epochs)} different current epochs: "
                           f"{', '.join(sorted(epochs))}",
                           *(f"{n.address}: {views[n.id].get('cluster_current_epoch')}"
                             for n in nodes[:_EVIDENCE])))
    if ctx.param("rq"):
        out.append(finding("rq.cluster_unsupported",
                           f"{ctx.target.address} is a Redis Cluster node: RQ is not "
                           "cluster-aware; its multi-key commands fail across slots (CROSSSLOT)",
                           "cluster_enabled:1"))
    return out


def _failing(nodes: list[Node], views: dict[str, dict[str, str]]) -> list[Finding]:
    failing = [n for n in nodes if n.failing or "error" in views[n.id]]
    suspected = [n for n in nodes if n.suspected and n not in failing]
    out = []
    if failing:
        serious = any(n.is_master and n.slots for n in failing)
        out.append(finding(
            "server.cluster_node_failing",
            f"{len(failing)} cluster node(s) failing or not answering",
            *(f"{n.address} ({'master' if n.is_master else 'replica'}): "
              f"{views[n.id].get('error') or 'flagged fail'}" for n in failing[:_EVIDENCE]),
            severity="error" if serious else "warning"))
    if suspected:
        out.append(finding("server.cluster_node_failing",
                           f"{len(suspected)} node(s) suspected down (fail?)",
                           *(n.address for n in suspected[:_EVIDENCE]), severity="warning"))
    return out


def _shape(nodes: list[Node]) -> list[Finding]:
    out = []
    live_masters = [n for n in nodes if n.is_master and not n.failing]
    served_by = {n.master_id for n in nodes if not n.is_master and not n.failing}
    lonely = [n for n in live_masters if n.slots and n.id not in served_by]
    if lonely:
        out.append(finding("server.cluster_no_replica",
                           f"{len(lonely)} master(s) have no live replica",
                           *(f"{n.address}: {n.slot_count} slots" for n in lonely[:_EVIDENCE])))
    empty = [n for n in live_masters if not n.slots and not {"handshake", "noaddr"} & n.flags]
    if empty:
        out.append(finding("server.cluster_empty_master",
                           f"{len(empty)} master(s) serve no slots",
                           *(n.address for n in empty[:_EVIDENCE])))
    return out
