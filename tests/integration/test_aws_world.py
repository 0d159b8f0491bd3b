"""The emulated account holds a VPC laid out like a real cluster's."""

from __future__ import annotations

from typing import Any

from k8s_aws_sandbox.state import SandboxState

CLUSTER_TAG = "kubernetes.io/cluster/itest"


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_subnets_span_zones_with_cluster_and_role_tags(sandbox: SandboxState, ec2: Any) -> None:
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [sandbox.world.vpc_id]}]
    )["Subnets"]
    public = [s for s in subnets if "kubernetes.io/role/elb" in tags(s)]
    private = [s for s in subnets if "kubernetes.io/role/internal-elb" in tags(s)]
    assert len({s["AvailabilityZone"] for s in public}) >= 2
    assert len({s["AvailabilityZone"] for s in private}) >= 2
    assert {tags(s)[CLUSTER_TAG] for s in subnets} == {"owned", "shared"}


def test_public_subnets_route_to_the_internet_gateway_and_private_ones_do_not(
    sandbox: SandboxState, ec2: Any
) -> None:
    vpc = [{"Name": "vpc-id", "Values": [sandbox.world.vpc_id]}]
    igws = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [sandbox.world.vpc_id]}]
    )["InternetGateways"]
    assert len(igws) == 1
    igw = igws[0]["InternetGatewayId"]
    routes_to_igw = set()
    for table in ec2.describe_route_tables(Filters=vpc)["RouteTables"]:
        if any(r.get("GatewayId") == igw for r in table["Routes"]):
            routes_to_igw |= {a["SubnetId"] for a in table["Associations"] if "SubnetId" in a}
    for subnet in ec2.describe_subnets(Filters=vpc)["Subnets"]:
        is_public = "kubernetes.io/role/elb" in tags(subnet)
        assert (subnet["SubnetId"] in routes_to_igw) is is_public


def test_node_security_group_is_owned_by_the_cluster(sandbox: SandboxState, ec2: Any) -> None:
    group = ec2.describe_security_groups(GroupIds=[sandbox.world.node_security_group])
    assert tags(group["SecurityGroups"][0])[CLUSTER_TAG] == "owned"


def test_worker_vms_have_the_profile_cluster_tag_and_private_subnets(
    sandbox: SandboxState, ec2: Any
) -> None:
    reservations = ec2.describe_instances(InstanceIds=sandbox.world.worker_instances)
    instances = [i for r in reservations["Reservations"] for i in r["Instances"]]
    private = {sid for name, sid in sandbox.world.subnets.items() if "-private-" in name}
    assert len(instances) == len(sandbox.world.worker_instances) == 3
    for instance in instances:
        assert instance["IamInstanceProfile"]["Arn"] == sandbox.world.worker_profile
        assert tags(instance)[CLUSTER_TAG] == "owned"
        assert instance["SubnetId"] in private
        assert sandbox.world.node_security_group in [
            g["GroupId"] for g in instance["SecurityGroups"]
        ]
    assert len({i["Placement"]["AvailabilityZone"] for i in instances}) >= 2
