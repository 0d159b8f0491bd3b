"""Every AWS operation k8s-aws can call, declared once.

The IAM policy is generated from this table and tests hold it to the code (a scan of the AWS
boundary) and to the calls the integration suite actually made, so a new call cannot ship
without its permission. Tag-condition support follows AWS's Service Authorization Reference.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# boto3 service name -> IAM action prefix.
IAM_PREFIX = {
    "ec2": "ec2",
    "elb": "elasticloadbalancing",
    "elbv2": "elasticloadbalancing",
    "kms": "kms",
    "sts": "sts",
    "iam": "iam",
}

FEATURES = ("nodes", "lb", "volumes")
# Reads every controller needs before any feature runs (its own instance, zones).
BOOTSTRAP = "bootstrap"
# The operator's tools (`setup`, `doctor`, `gc`): a policy of their own that the controllers
# never hold; `gc --cluster-gone` runs from a workstation, not from a cluster VM.
OPERATOR_TOOLS = ("setup", "doctor", "gc")


class Access(enum.Enum):
    """What an operation does to AWS, which decides how the policy may scope it."""

    READ = "read"
    # Creates a resource; scoped by `aws:RequestTag` (the tags sent with the create).
    CREATE = "create"
    # Changes or deletes a resource only the cluster owns: `aws:ResourceTag/...` = owned.
    CHANGE_OWNED = "change-owned"
    # Changes a resource that may be shared with the cluster (a node security group, a
    # BOSH-made instance): the cluster tag must be present, with any value.
    CHANGE_TAGGED = "change-tagged"
    # Operator set-up by name (IAM roles, profiles, policies; tags on hand-made subnets):
    # nothing carries our tag yet, so the policy scopes it by resource type instead.
    SETUP = "setup"


@dataclass(frozen=True)
class Operation:
    service: str  # boto3 service name
    name: str  # API operation name, as in the call log
    feature: str  # one of FEATURES, or BOOTSTRAP
    access: Access
    request_tag: bool = False  # AWS evaluates aws:RequestTag/${TagKey} for this action
    resource_tag: bool = False  # AWS evaluates aws:ResourceTag/${TagKey} for this action
    # Made by botocore itself (credential refresh), so no call site names it.
    implicit: bool = False

    @property
    def action(self) -> str:
        return f"{IAM_PREFIX[self.service]}:{self.name}"

    @property
    def mutates(self) -> bool:
        return self.access is not Access.READ


def _read(service: str, name: str, feature: str) -> Operation:
    return Operation(service, name, feature, Access.READ)


def _create(service: str, name: str, feature: str) -> Operation:
    return Operation(service, name, feature, Access.CREATE, request_tag=True)


def _owned(service: str, name: str, feature: str) -> Operation:
    return Operation(service, name, feature, Access.CHANGE_OWNED, resource_tag=True)


def _tagged(service: str, name: str, feature: str) -> Operation:
    return Operation(service, name, feature, Access.CHANGE_TAGGED, resource_tag=True)


OPERATIONS: tuple[Operation, ...] = (
    # Bootstrap: the controller's own instance (cluster name, zone) and zone ids.
    _read("ec2", "DescribeInstances", BOOTSTRAP),
    _read("ec2", "DescribeAvailabilityZones", BOOTSTRAP),
    # Only with --role-arn: the source identity assumes the controllers' role.
    Operation("sts", "AssumeRole", BOOTSTRAP, Access.READ, implicit=True),
    # Nodes: initialization and lifecycle read instances only.
    _read("ec2", "DescribeInstances", "nodes"),
    _read("ec2", "DescribeAvailabilityZones", "nodes"),
    # Load balancers (Classic ELB) and their security groups.
    _read("ec2", "DescribeInstances", "lb"),
    _read("ec2", "DescribeSubnets", "lb"),
    _read("ec2", "DescribeRouteTables", "lb"),
    _read("ec2", "DescribeSecurityGroups", "lb"),
    # Deleting a load balancer's groups waits for its network interfaces to go.
    _read("ec2", "DescribeNetworkInterfaces", "lb"),
    _create("ec2", "CreateSecurityGroup", "lb"),
    _owned("ec2", "DeleteSecurityGroup", "lb"),
    # Node groups may be shared: the rule we add is ours, the group need not be.
    _tagged("ec2", "AuthorizeSecurityGroupIngress", "lb"),
    _tagged("ec2", "RevokeSecurityGroupIngress", "lb"),
    _read("elb", "DescribeLoadBalancers", "lb"),
    _read("elb", "DescribeLoadBalancerAttributes", "lb"),
    _read("elb", "DescribeTags", "lb"),
    _create("elb", "CreateLoadBalancer", "lb"),
    Operation("elb", "AddTags", "lb", Access.CHANGE_OWNED, request_tag=True, resource_tag=True),
    _owned("elb", "DeleteLoadBalancer", "lb"),
    _owned("elb", "CreateLoadBalancerListeners", "lb"),
    _owned("elb", "DeleteLoadBalancerListeners", "lb"),
    _owned("elb", "ConfigureHealthCheck", "lb"),
    _owned("elb", "ModifyLoadBalancerAttributes", "lb"),
    _owned("elb", "CreateLoadBalancerPolicy", "lb"),
    _owned("elb", "SetLoadBalancerPoliciesForBackendServer", "lb"),
    _owned("elb", "SetLoadBalancerPoliciesOfListener", "lb"),
    _owned("elb", "ApplySecurityGroupsToLoadBalancer", "lb"),
    _owned("elb", "AttachLoadBalancerToSubnets", "lb"),
    _owned("elb", "DetachLoadBalancerFromSubnets", "lb"),
    _owned("elb", "RegisterInstancesWithLoadBalancer", "lb"),
    _owned("elb", "DeregisterInstancesFromLoadBalancer", "lb"),
    # Network load balancers (ELBv2) and their target groups.
    _read("elbv2", "DescribeLoadBalancers", "lb"),
    _read("elbv2", "DescribeListeners", "lb"),
    _read("elbv2", "DescribeTargetGroups", "lb"),
    _read("elbv2", "DescribeTargetHealth", "lb"),
    _read("elbv2", "DescribeTags", "lb"),
    _read("elbv2", "DescribeTargetGroupAttributes", "lb"),
    _owned("elbv2", "ModifyTargetGroupAttributes", "lb"),
    _read("elbv2", "DescribeLoadBalancerAttributes", "lb"),
    _owned("elbv2", "ModifyLoadBalancerAttributes", "lb"),
    _create("elbv2", "CreateLoadBalancer", "lb"),
    _create("elbv2", "CreateTargetGroup", "lb"),
    # A listener is created on our (tagged) load balancer and gets the same tags.
    _owned("elbv2", "CreateListener", "lb"),
    _owned("elbv2", "DeleteListener", "lb"),
    _owned("elbv2", "ModifyTargetGroup", "lb"),
    _owned("elbv2", "RegisterTargets", "lb"),
    _owned("elbv2", "DeregisterTargets", "lb"),
    _owned("elbv2", "DeleteLoadBalancer", "lb"),
    _owned("elbv2", "DeleteTargetGroup", "lb"),
    # Changes to an existing NLB made in place (nlb_update_actions).
    _owned("elbv2", "SetSecurityGroups", "lb"),
    _owned("elbv2", "SetSubnets", "lb"),
    _owned("elbv2", "ModifyListener", "lb"),
    Operation("elbv2", "AddTags", "lb", Access.CHANGE_OWNED, request_tag=True, resource_tag=True),
    Operation("elbv2", "RemoveTags", "lb", Access.CHANGE_OWNED, resource_tag=True),
    # Volumes (the EBS CSI driver's controller service).
    _read("ec2", "DescribeInstances", "volumes"),
    _read("ec2", "DescribeInstanceTypes", "volumes"),
    _read("ec2", "DescribeVolumes", "volumes"),
    _read("ec2", "DescribeVolumesModifications", "volumes"),
    _read("ec2", "DescribeSnapshots", "volumes"),
    _create("ec2", "CreateVolume", "volumes"),
    _create("ec2", "CreateSnapshot", "volumes"),
    _owned("ec2", "DeleteVolume", "volumes"),
    _owned("ec2", "ModifyVolume", "volumes"),
    _owned("ec2", "DeleteSnapshot", "volumes"),
    # The instance may be BOSH-made and tagged `shared`: attaching needs the tag present only.
    _tagged("ec2", "AttachVolume", "volumes"),
    _tagged("ec2", "DetachVolume", "volumes"),
)


def _op_read(service: str, name: str, tool: str) -> Operation:
    return Operation(service, name, tool, Access.READ)


def _op_setup(service: str, name: str) -> Operation:
    return Operation(service, name, "setup", Access.SETUP)


# The operator's tools; `feature` names the tool. Never part of a controller's policy.
OPERATOR_OPERATIONS: tuple[Operation, ...] = (
    # setup: the managed policy (versions), the EC2 roles, the instance profiles, subnet tags.
    _op_read("sts", "GetCallerIdentity", "setup"),
    _op_read("iam", "GetPolicy", "setup"),
    _op_read("iam", "GetPolicyVersion", "setup"),
    _op_read("iam", "ListPolicyVersions", "setup"),
    _op_read("iam", "GetRole", "setup"),
    _op_read("iam", "ListAttachedRolePolicies", "setup"),
    _op_read("iam", "GetInstanceProfile", "setup"),
    _op_read("ec2", "DescribeSubnets", "setup"),
    _op_setup("iam", "CreatePolicy"),
    _op_setup("iam", "CreatePolicyVersion"),
    _op_setup("iam", "DeletePolicyVersion"),
    _op_setup("iam", "TagPolicy"),
    _op_setup("iam", "CreateRole"),
    _op_setup("iam", "UpdateAssumeRolePolicy"),
    _op_setup("iam", "TagRole"),
    _op_setup("iam", "AttachRolePolicy"),
    _op_setup("iam", "CreateInstanceProfile"),
    _op_setup("iam", "AddRoleToInstanceProfile"),
    _op_setup("iam", "TagInstanceProfile"),
    _op_setup("ec2", "CreateTags"),
    # doctor: reads only.
    _op_read("sts", "GetCallerIdentity", "doctor"),
    _op_read("ec2", "DescribeInstances", "doctor"),
    _op_read("ec2", "DescribeSubnets", "doctor"),
    _op_read("ec2", "DescribeRouteTables", "doctor"),
    _op_read("ec2", "DescribeSecurityGroups", "doctor"),
    _op_read("ec2", "DescribeVolumes", "doctor"),
    _op_read("iam", "GetInstanceProfile", "doctor"),
    _op_read("iam", "ListAttachedRolePolicies", "doctor"),
    _op_read("iam", "ListRolePolicies", "doctor"),
    _op_read("iam", "GetRolePolicy", "doctor"),
    _op_read("iam", "GetPolicy", "doctor"),
    _op_read("iam", "GetPolicyVersion", "doctor"),
    # gc: what the cluster created, found by tags, deleted only when ours.
    _op_read("ec2", "DescribeInstances", "gc"),  # this VM's cluster tag, without the flag
    _op_read("ec2", "DescribeSecurityGroups", "gc"),
    _op_read("ec2", "DescribeVolumes", "gc"),
    _op_read("ec2", "DescribeSnapshots", "gc"),
    _op_read("elb", "DescribeLoadBalancers", "gc"),
    _op_read("elb", "DescribeTags", "gc"),
    _op_read("elbv2", "DescribeLoadBalancers", "gc"),
    _op_read("elbv2", "DescribeTargetGroups", "gc"),
    _op_read("elbv2", "DescribeTags", "gc"),
    _owned("elb", "DeleteLoadBalancer", "gc"),
    _owned("elbv2", "DeleteLoadBalancer", "gc"),
    _owned("elbv2", "DeleteTargetGroup", "gc"),
    _owned("ec2", "DeleteSecurityGroup", "gc"),
    _owned("ec2", "DeleteVolume", "gc"),
    _owned("ec2", "DeleteSnapshot", "gc"),
    _tagged("ec2", "RevokeSecurityGroupIngress", "gc"),
)


def for_features(features: tuple[str, ...] | list[str] | set[str]) -> tuple[Operation, ...]:
    """The operations the given features call, bootstrap reads included."""
    wanted = {*features, BOOTSTRAP}
    return tuple(op for op in OPERATIONS if op.feature in wanted)


def for_tools(tools: tuple[str, ...] = OPERATOR_TOOLS) -> tuple[Operation, ...]:
    """The operations the given operator tools call."""
    return tuple(op for op in OPERATOR_OPERATIONS if op.feature in tools)


def declared() -> set[tuple[str, str]]:
    """(boto3 service, operation) pairs, controllers' and operator tools': the form the call
    logs use."""
    return {(op.service, op.name) for op in (*OPERATIONS, *OPERATOR_OPERATIONS)}
