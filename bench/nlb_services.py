"""Network LBs at scale: S two-port NLB Services over N kwok nodes; then an unchanged resync
of all of them; then M more nodes join; then every Service is deleted. Seconds per phase,
AWS calls by operation (from the controller-manager's call log) and controller RSS. One JSON
line. Goals (issue 12): a new 2-port NLB in <= 14 calls, 0 for an unchanged one, one
RegisterTargets per target group for joining nodes.

    .venv/bin/python bench/nlb_services.py [--services 100] [--nodes 50] [--join 10] [--ports 2]
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from typing import Any

import boto3
from harness import calls, hostnames, kubectl, rss_mb, sandbox, scale_arguments, wait
from prometheus_client.parser import text_string_to_metric_families

from k8s_aws_sandbox.state import SandboxState
from k8s_aws_sandbox.world import launch_vms

ELB_SERVICES = ("elbv2", "elb", "elasticloadbalancing")


PORTS = [{"name": "a", "port": 80, "targetPort": 8080},
         {"name": "b", "port": 443, "targetPort": 8443}]


def manifest(count: int, ports: int = 2) -> str:
    items = [{"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": f"nlb-{i}", "namespace": "default", "annotations": {
                  "service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}},
              "spec": {"type": "LoadBalancer", "selector": {"app": f"nlb-{i}"},
                       "ports": PORTS[:ports]}}
             for i in range(count)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def reconciles(state: SandboxState) -> float:
    """The service controller's reconciles (every outcome), from the leader's metrics."""
    with urllib.request.urlopen(f"{state.controller_manager_url}/metrics", timeout=10) as r:
        text = r.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "k8s_aws_reconcile_total"
               and sample.labels.get("controller") == "service")


def by_operation(found: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(c["operation"] for c in found).most_common())


def quiet(state: SandboxState, seconds: float = 3.0) -> bool:
    log = calls(state)
    return not log or log[-1].get("ts", 0) < time.time() - seconds


def phase_unchanged(state: SandboxState, count: int) -> dict[str, Any]:
    wait(lambda: quiet(state), 300, "quiet after creation")
    before, done = len(calls(state)), reconciles(state)
    names = [f"nlb-{i}" for i in range(count)]
    kubectl(state, "label", "service", *names, "--overwrite", f"touched={time.time_ns()}")
    seconds = wait(lambda: reconciles(state) >= done + count, 600, "every Service reconciled")
    wait(lambda: quiet(state), 300, "quiet after the resync")
    found = [c for c in calls(state)[before:] if c.get("service") in ELB_SERVICES]
    return {"unchanged_resync_s": round(seconds, 1),
            "unchanged_reconciles": reconciles(state) - done, "unchanged_elb_calls": len(found)}


def phase_join(state: SandboxState, elbv2: Any, ec2: Any, args: Any) -> dict[str, Any]:
    wait(lambda: quiet(state), 300, "quiet before the join")
    groups = [g["TargetGroupArn"] for p in elbv2.get_paginator("describe_target_groups")
              .paginate() for g in p["TargetGroups"]]

    def targets(group: str) -> int:
        return len(elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"])

    # Counted, not derived from --nodes: the BOSH shape's control VM is a target too, so
    # `nodes + join` held before any joining node was registered.
    wanted = {g: targets(g) + args.join for g in groups}
    before = len(calls(state))
    launch_vms(ec2, state.world, "worker", args.join, 10_000)

    def registered() -> bool:
        return all(targets(g) >= wanted[g] for g in groups)

    seconds = wait(registered, 1800, "joining nodes registered in every target group")
    wait(lambda: quiet(state), 300, "quiet after the join")
    found = [c for c in calls(state)[before:] if c.get("service") in ELB_SERVICES]
    return {"join_to_registered_everywhere_s": round(seconds, 1), "target_groups": len(groups),
            "join_elb_calls_by_operation": by_operation(found)}


def main() -> None:
    args = scale_arguments(ports=True)
    with sandbox("k8s-aws-bench-nlb-", args.nodes) as state:
        session = boto3.session.Session(aws_access_key_id=state.access_key,
                                        aws_secret_access_key=state.secret_key,
                                        region_name=state.region)
        ec2 = session.client("ec2", endpoint_url=state.emulator_url)
        elbv2 = session.client("elbv2", endpoint_url=state.emulator_url)
        before = len(calls(state))
        kubectl(state, "apply", "-f", "-", stdin=manifest(args.services, args.ports))

        to_hostnames = wait(lambda: hostnames(state) >= args.services, 1800, "hostnames")
        created = calls(state)[before:]
        result: dict[str, Any] = {
            "services": args.services, "ports": args.ports, "nodes": args.nodes,
            "joined": args.join,
            "to_all_hostnames_s": round(to_hostnames, 1), "create_calls": len(created),
            "create_calls_per_service": round(len(created) / args.services, 2),
            "create_calls_by_operation": by_operation(created),
        }
        result.update(phase_unchanged(state, args.services))
        result.update(phase_join(state, elbv2, ec2, args))
        before = len(calls(state))
        kubectl(state, "delete", "service", *(f"nlb-{i}" for i in range(args.services)),
                "--wait=false")
        result["delete_s"] = round(wait(lambda: hostnames(state) == 0 and not [
            s for s in json.loads(kubectl(state, "get", "services", "-o", "json"))["items"]
            if s["spec"]["type"] == "LoadBalancer"], 1800, "every Service deleted"), 1)
        deleted = calls(state)[before:]
        result.update({"delete_calls": len(deleted), "delete_calls_by_operation":
                       by_operation(deleted), "controller_rss_mb": rss_mb(state)})
        left = elbv2.describe_target_groups()["TargetGroups"]
        result["left_after_delete"] = {
            "nlbs": len(elbv2.describe_load_balancers()["LoadBalancers"]),
            "target_groups": len(left)}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
