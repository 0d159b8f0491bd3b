"""`k8s-aws doctor` gathers its facts: AWS through cloud/, the cluster through kube/, and the
Nodes matched to instances by the controllers' own lookup (controllers.node_init)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from k8s_aws.cli.operator_common import resolve_cluster
from k8s_aws.cloud import doctor_reads
from k8s_aws.cloud.errors import CloudError, NotConfigured
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.metadata import read_local_instance
from k8s_aws.cloud.network import NetworkDirectory
from k8s_aws.cloud.runner import Runner
from k8s_aws.cloud.session import AwsClients
from k8s_aws.controllers.node_init import find_instance
from k8s_aws.kube.cluster_reads import SetupObjects, read_setup
from k8s_aws.kube.errors import KubeError
from k8s_aws.kube.nodes import NodeView
from k8s_aws.model.doctor import AwsFacts, ClusterFacts, NodeFacts
from k8s_aws.nodes.initialize import UNINITIALIZED_TAINT
from k8s_aws.nodes.naming import Ambiguous, Found
from k8s_aws.nodes.naming import NotFound as NoMatch
from k8s_aws.ops.doctor_cluster import DRIVER

CONTROL_LABELS = ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane")


@dataclass(frozen=True)
class Gathered:
    aws: AwsFacts
    cluster: ClusterFacts | None
    node_instances: dict[str, str]  # Node -> its one instance


def _local(aws: AwsClients, region: str, cluster_flag: str) -> AwsFacts:
    identity = doctor_reads.caller_identity(aws.client("sts"))
    try:
        imds, imds_error = read_local_instance().instance_id, ""
    except NotConfigured as exc:
        imds, imds_error = "", str(exc)
    profile_identity = ""
    if imds:
        try:
            profile_identity = doctor_reads.profile_identity(
                region, os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get(
                    "AWS_ENDPOINT_URL"))
        except CloudError:
            profile_identity = ""
    # This VM's instance, read once: its cluster tag names the cluster, its profile and
    # groups are checked with the Nodes' instances.
    own = doctor_reads.instances(aws.client("ec2"), [imds]) if imds else {}
    cluster, source = resolve_cluster(aws, cluster_flag, imds, own.get(imds))
    return AwsFacts(region=region, region_source="", cluster=cluster, cluster_source=source,
                    imds=imds, imds_error=imds_error, identity=identity,
                    profile_identity=profile_identity, instances=own)


def _node_facts(view: NodeView, match: object) -> NodeFacts:
    instances: tuple[str, ...] = ()
    tried = ""
    if isinstance(match, Found):
        instances, tried = (match.instance.id,), match.lookup.describe()
    elif isinstance(match, Ambiguous):
        instances, tried = tuple(match.instances), match.lookup.describe()
    elif isinstance(match, NoMatch):
        tried = "; ".join(lookup.describe() for lookup in match.tried)
    tainted = any(t.get("key") == UNINITIALIZED_TAINT for t in view.taints)
    return NodeFacts(view.name, view.provider_id, bool(view.provider_id) and not tainted,
                     any(label in view.labels for label in CONTROL_LABELS), instances, tried)


async def _match_nodes(aws: AwsClients, facts: AwsFacts, objects: SetupObjects
                       ) -> ClusterFacts:
    ec2 = aws.client("ec2")
    with ThreadPoolExecutor(max_workers=4) as executor:
        directory = InstanceDirectory(ec2, executor, cluster=facts.cluster)
        nodes = []
        for raw in objects.nodes:
            view = NodeView.of(raw)
            nodes.append(_node_facts(view, await find_instance(directory, view, facts.region)))
    csi_nodes = frozenset(
        c["metadata"]["name"] for c in objects.csi_nodes
        if any(d.get("name") == DRIVER for d in c.get("spec", {}).get("drivers") or []))
    return ClusterFacts(tuple(nodes), any(d["metadata"]["name"] == DRIVER
                                          for d in objects.csi_drivers), csi_nodes)


async def _subnets(aws: AwsClients, vpcs: set[str]) -> tuple[object, ...]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        directory = NetworkDirectory(aws.client("ec2"), Runner(executor))
        found = []
        for vpc in sorted(vpcs):
            found += await directory.subnets(vpc)
    return tuple(found)


def gather(aws: AwsClients, region: str, cluster_flag: str, kubeconfig: Path | None,
           profile: str) -> Gathered:
    facts = _local(aws, region, cluster_flag)
    cluster: ClusterFacts | None = None
    if kubeconfig is not None:
        try:
            objects = asyncio.run(read_setup(kubeconfig))
            cluster = asyncio.run(_match_nodes(aws, facts, objects))
        except KubeError as exc:
            cluster = ClusterFacts((), False, frozenset(), str(exc))
    node_instances = {n.name: n.instances[0] for n in (cluster.nodes if cluster else ())
                      if len(n.instances) == 1}
    ec2 = aws.client("ec2")
    instances = {**facts.instances, **doctor_reads.instances(
        ec2, [i for i in node_instances.values() if i not in facts.instances])}
    groups = {g for i in instances.values() for g in i.security_groups}
    profiles = {i.profile_arn.rsplit("/", 1)[-1] for i in instances.values() if i.profile_arn}
    profiles |= {profile} if profile else set()
    facts = replace(
        facts, instances=instances, group_tags=doctor_reads.group_tags(ec2, groups),
        subnets=asyncio.run(_subnets(aws, {i.vpc_id for i in instances.values()})),  # type: ignore[arg-type]
        profiles={p: doctor_reads.profile_policies(aws, p) for p in sorted(profiles)},
        bosh_disks=doctor_reads.bosh_disks(ec2, facts.cluster),
    )
    return Gathered(facts, cluster, node_instances)
