"""Classic ELBs at scale: S Services over N kwok nodes, then M more nodes. Time to all
hostnames, to every joining node registered everywhere, AWS calls by operation (from the
controller-manager's call log) and controller RSS. One JSON line.

    .venv/bin/python bench/services.py [--services 100] [--nodes 50] [--join 10]
"""

from __future__ import annotations

import json
from collections import Counter

import boto3
from harness import calls, hostnames, kubectl, rss_mb, sandbox, scale_arguments, wait

from k8s_aws_sandbox.world import launch_vms


def main() -> None:
    args = scale_arguments()
    with sandbox("k8s-aws-bench-lb-", args.nodes) as state:
        items = [{"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": f"svc-{i}", "namespace": "default"},
                  "spec": {"type": "LoadBalancer", "selector": {"app": f"svc-{i}"},
                           "ports": [{"port": 80, "targetPort": 8080}]}}
                 for i in range(args.services)]
        before = len(calls(state))
        kubectl(state, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                            "items": items}))

        to_hostnames = wait(lambda: hostnames(state) >= args.services, 1800, "hostnames")
        create_calls = calls(state)[before:]
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                        region_name=state.region)
        ec2 = session.client("ec2", endpoint_url=state.emulator_url)
        elb = session.client("elb", endpoint_url=state.emulator_url)

        def instances() -> dict[str, int]:
            pages = elb.get_paginator("describe_load_balancers").paginate()
            return {d["LoadBalancerName"]: len(d["Instances"])
                    for p in pages for d in p["LoadBalancerDescriptions"]}

        # Counted, not derived from --nodes: the BOSH shape's control VM is registered too,
        # so `nodes + join` held before any joining node was.
        wanted = {name: count + args.join for name, count in instances().items()}
        before = len(calls(state))
        launch_vms(ec2, state.world, "worker", args.join, 10_000)

        def all_registered() -> bool:
            now = instances()
            return all(now.get(name, 0) >= count for name, count in wanted.items())

        to_registered = wait(all_registered, 1800, "joining nodes registered")
        join_calls = calls(state)[before:]
        print(json.dumps({
            "services": args.services, "nodes": args.nodes, "joined": args.join,
            "to_all_hostnames_s": round(to_hostnames, 1),
            "create_calls": len(create_calls),
            "create_calls_per_service": round(len(create_calls) / args.services, 2),
            "create_calls_by_operation": dict(Counter(c["operation"] for c in create_calls)),
            "join_to_registered_everywhere_s": round(to_registered, 1),
            "join_calls_by_operation": dict(Counter(c["operation"] for c in join_calls)),
            "controller_rss_mb": rss_mb(state),
        }))


if __name__ == "__main__":
    main()
