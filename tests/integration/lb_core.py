"""The load balancer core (observer, planner, applier, controller) run in this process against
the sandbox's emulator, under a cluster name of its own so no other test's load balancer
shares its backend group. The Kubernetes side is the sandbox's real Nodes; Services are
plain objects handed to the planner, and the controller's writes to them are recorded."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

from k8s_aws.cloud.clb import LoadBalancerApplier
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.lb_observer import LoadBalancerObserver
from k8s_aws.cloud.network import NetworkDirectory
from k8s_aws.cloud.runner import Runner
from k8s_aws.kube.events import ObjectRef
from k8s_aws.loadbalancer.annotations import PREFIX
from k8s_aws.loadbalancer.service_plan import PlannerSettings
from k8s_aws_sandbox.state import SandboxState

from .conftest import emulator_session, kubectl_json


@dataclass
class Core:
    cluster: str
    elb: Any
    ec2: Any
    observer: LoadBalancerObserver
    applier: LoadBalancerApplier
    settings: PlannerSettings
    nodes: dict[str, Any]
    public_subnets: tuple[str, ...]


def build_core(sandbox: SandboxState, executor: ThreadPoolExecutor, app_id: str = "") -> Core:
    """`app_id` names the core's calls in the emulator's call log."""
    cluster = f"core{uuid.uuid4().hex[:8]}"
    session = emulator_session(sandbox)
    config = Config(user_agent_extra=f"app/{app_id}") if app_id else None
    elb = session.client("elb", endpoint_url=sandbox.emulator_url, config=config)
    ec2 = session.client("ec2", endpoint_url=sandbox.emulator_url, config=config)
    elbv2 = session.client("elbv2", endpoint_url=sandbox.emulator_url, config=config)
    run = Runner(executor)
    observer = LoadBalancerObserver(elb, ec2, run, cluster, InstanceDirectory(ec2, executor),
                                    NetworkDirectory(ec2, run))
    nodes = {n["metadata"]["name"]: n for n in kubectl_json(sandbox, "get", "nodes")["items"]
             if n["spec"].get("providerID")}
    public = tuple(sorted(sid for n, sid in sandbox.world.subnets.items() if "-public-" in n))
    return Core(cluster, elb, ec2, observer, LoadBalancerApplier(elb, ec2, run, cluster, elbv2),
                PlannerSettings(cluster), nodes, public)


def service_object(
    core: Core, name: str, annotations: dict[str, str] | None = None,
    ports: list[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """A LoadBalancer Service as the informer would hold it; its subnets are named (the
    sandbox's subnets carry the `itest` cluster tag, not this core's)."""
    values = {"subnets": ",".join(core.public_subnets), **(annotations or {})}
    return {
        "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4()),
                     "resourceVersion": "1",
                     "annotations": {PREFIX + k: v for k, v in values.items()}},
        "spec": {"type": "LoadBalancer",
                 "ports": [{"name": f"p{port}", "protocol": "TCP", "port": port, "nodePort": np}
                           for port, np in (ports or [(80, 30080)])]},
    }


def deleting(raw: dict[str, Any]) -> dict[str, Any]:
    meta = {**raw["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z",
            "finalizers": ["service.kubernetes.io/load-balancer-cleanup"]}
    return {**raw, "metadata": meta}


@dataclass
class RecordingWriter:
    """Stands in for ServiceWriter: the Services here exist only in the planner's input."""

    finalizers: dict[str, list[str]] = field(default_factory=dict)
    hostnames: dict[str, str | None] = field(default_factory=dict)

    async def set_finalizers(self, namespace: str, name: str, version: str,
                             finalizers: list[str]) -> str:
        self.finalizers[f"{namespace}/{name}"] = finalizers
        return version

    async def set_hostname(self, namespace: str, name: str, hostname: str | None) -> str:
        self.hostnames[f"{namespace}/{name}"] = hostname
        return "1"


@dataclass
class RecordingEvents:
    events: list[tuple[str, str, str, str]] = field(default_factory=list)

    async def record(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.events.append((ref.name, type_, reason, message))


def groups_named(core: Core, name: str) -> list[dict[str, Any]]:
    return list(core.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"])


def rules_from(core: Core, group: str, source: str) -> int:
    found = core.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    return sum(1 for p in found["IpPermissions"] for pair in p.get("UserIdGroupPairs", [])
               if pair["GroupId"] == source)
