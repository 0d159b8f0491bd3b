"""Provision the emulated AWS account: VPC, subnets, routing, security group, IAM and VMs."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.ops.iam_policy import PolicyRequest, generate
from k8s_aws_sandbox.layout import (
    NODE_NAMING,
    VPC_CIDR,
    bosh_vm_tags,
    subnet_layout,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2.client import EC2Client
    from mypy_boto3_ec2.literals import InstanceTypeType
    from mypy_boto3_iam.client import IAMClient

INSTANCE_TYPE: InstanceTypeType = "m5.large"
EC2_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class World:
    """What was provisioned; saved in the sandbox state so every later step can find it."""

    cluster: str
    region: str
    vpc_id: str = ""
    subnets: dict[str, str] = field(default_factory=dict)  # name -> subnet id
    node_security_group: str = ""
    control_profile: str = ""
    worker_profile: str = ""
    control_instance: str = ""
    worker_instances: list[str] = field(default_factory=list)
    image_id: str = ""
    node_naming: str = NODE_NAMING[0]  # see layout.NODE_NAMING

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        return cls(**data)


def clients(
    endpoint: str, region: str, keys: tuple[str, str] = ("sandbox", "sandbox")
) -> tuple[EC2Client, IAMClient]:
    """Clients for provisioning, with the sandbox's own credentials (no instance profile)."""
    session = boto3.session.Session(
        aws_access_key_id=keys[0], aws_secret_access_key=keys[1], region_name=region
    )
    ec2 = session.client("ec2", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    return ec2, iam


def _tag_spec(resource: str, tags: dict[str, str]) -> list[Any]:
    return [
        {"ResourceType": resource, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    ]


def _profile(iam: IAMClient, name: str, policy: dict[str, Any] | None) -> str:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY))
    if policy is not None:
        iam.put_role_policy(
            RoleName=name, PolicyName="k8s-aws-sandbox", PolicyDocument=json.dumps(policy)
        )
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return arn


def _network(ec2: EC2Client, world: World, zones: list[str]) -> None:
    cluster = world.cluster
    owned = {cluster_tag_key(cluster): "owned"}
    vpc = ec2.create_vpc(
        CidrBlock=VPC_CIDR, TagSpecifications=_tag_spec("vpc", {"Name": cluster})
    )["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    world.vpc_id = vpc
    igw = ec2.create_internet_gateway(
        TagSpecifications=_tag_spec("internet-gateway", {"Name": cluster})
    )["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=_tag_spec("route-table", {"Name": f"{cluster}-public"})
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    private_rt = ec2.create_route_table(
        VpcId=vpc,
        TagSpecifications=_tag_spec("route-table", {"Name": f"{cluster}-private", **owned}),
    )["RouteTable"]["RouteTableId"]
    for layout in subnet_layout(cluster, zones):
        subnet = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=layout.cidr,
            AvailabilityZone=layout.zone,
            TagSpecifications=_tag_spec("subnet", {"Name": layout.name, **layout.tags}),
        )["Subnet"]["SubnetId"]
        ec2.associate_route_table(
            RouteTableId=public_rt if layout.public else private_rt, SubnetId=subnet
        )
        world.subnets[layout.name] = subnet
    world.node_security_group = ec2.create_security_group(
        GroupName=f"{cluster}-node",
        Description=f"Kubernetes nodes of {cluster}",
        VpcId=vpc,
        TagSpecifications=_tag_spec("security-group", {"Name": f"{cluster}-node", **owned}),
    )["GroupId"]


def launch_vms(
    ec2: EC2Client, world: World, instance_group: str, count: int, first_index: int,
    vm_id: str = "",
    instance_type: InstanceTypeType = INSTANCE_TYPE,
) -> list[str]:
    """Launch `count` VMs of an instance group, spread over the private subnets, each with
    a BOSH instance id of its own (or all with `vm_id`, as a director's mistake would)."""
    private = [sid for name, sid in world.subnets.items() if "-private-" in name]
    profile = world.control_profile if instance_group == "control" else world.worker_profile
    ids = []
    for offset in range(count):
        index = first_index + offset
        reservation = ec2.run_instances(
            ImageId=world.image_id,
            InstanceType=instance_type,
            MinCount=1,
            MaxCount=1,
            SubnetId=private[index % len(private)],
            SecurityGroupIds=[world.node_security_group],
            IamInstanceProfile={"Arn": profile},
            MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
            TagSpecifications=_tag_spec("instance", bosh_vm_tags(
                world.cluster, instance_group, index, vm_id or str(uuid.uuid4()),
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )),
        )
        ids.append(reservation["Instances"][0]["InstanceId"])
    return ids


def provision(
    endpoint: str, cluster: str, region: str, nodes: int, node_naming: str = NODE_NAMING[0]
) -> World:
    ec2, iam = clients(endpoint, region)
    world = World(cluster=cluster, region=region, node_naming=node_naming)
    zones = [
        z["ZoneName"]
        for z in ec2.describe_availability_zones()["AvailabilityZones"]
        if z["State"] == "available"
    ][:3]
    _network(ec2, world, zones)
    # The generated policy, without tag conditions: the emulator cannot evaluate them.
    control_policy = generate(PolicyRequest(cluster=cluster, conditions=False))
    world.control_profile = _profile(iam, f"{cluster}-control", control_policy)
    world.worker_profile = _profile(iam, f"{cluster}-worker", None)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    world.image_id = sorted(i["ImageId"] for i in images)[0]
    world.control_instance = launch_vms(ec2, world, "control", 1, 0)[0]
    world.worker_instances = launch_vms(ec2, world, "worker", nodes, 0)
    return world
