"""The least-privilege IAM policy, generated from the declared operations.

Reads are unscoped (AWS gives Describe* no resource-level scoping); creates must carry the
cluster tag as `owned` (`aws:RequestTag`), changes and deletions need it on the resource
(`aws:ResourceTag`), and actions AWS cannot scope get their own statement saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from k8s_aws.cloud.operations import FEATURES, Access, Operation, for_features, for_tools
from k8s_aws.model.cluster_tag import CLUSTER_TAG_PREFIX, cluster_tag_key

CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9._-]*$")
# AWS tag keys hold at most 128 characters, and the cluster tag spends 22 on its prefix.
MAX_CLUSTER_NAME = 128 - len(CLUSTER_TAG_PREFIX)
KMS_KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
ROLES = ("controller", "node", "operator")
# What the operator's set-up may touch by name (real AWS; the emulator matches only "*").
SETUP_RESOURCES = {
    "iam": ["arn:aws:iam::*:instance-profile/*", "arn:aws:iam::*:policy/*",
            "arn:aws:iam::*:role/*"],
    "ec2": ["arn:aws:ec2:*:*:subnet/*"],
}
ELB_SERVICE = "elasticloadbalancing.amazonaws.com"
KMS_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext")


class PolicyInputError(ValueError):
    """Bad input for a policy; the message names the flag and the allowed values."""


@dataclass(frozen=True)
class PolicyRequest:
    cluster: str
    role: str = "controller"
    features: tuple[str, ...] = FEATURES
    kms_key: str = ""
    # The emulator evaluates conditions it cannot resolve as a denial: drop them there only.
    conditions: bool = True


def validate_cluster_name(cluster: str) -> None:
    """The release's pattern, and short enough for the cluster tag's key."""
    if len(cluster) > MAX_CLUSTER_NAME:
        raise PolicyInputError(
            f"--cluster-name is {len(cluster)} characters: the tag key "
            f"kubernetes.io/cluster/<name> holds at most 128, so at most {MAX_CLUSTER_NAME}"
        )
    if not CLUSTER_NAME_RE.match(cluster):
        raise PolicyInputError(
            f"--cluster-name {cluster!r} is invalid: it must match "
            f"{CLUSTER_NAME_RE.pattern} (the release's cluster.name)"
        )


def validate(request: PolicyRequest) -> None:
    validate_cluster_name(request.cluster)
    if request.role not in ROLES:
        raise PolicyInputError(f"--role {request.role!r} is unknown; allowed: {', '.join(ROLES)}")
    unknown = sorted(set(request.features) - set(FEATURES))
    if unknown or not request.features:
        raise PolicyInputError(
            f"--features {','.join(unknown) or '(empty)'} unknown; allowed: {','.join(FEATURES)}"
        )
    if request.kms_key and not KMS_KEY_ARN_RE.match(request.kms_key):
        raise PolicyInputError(
            f"--kms-key {request.kms_key!r} is not a KMS key ARN "
            "(arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)"
        )


def tag_key(cluster: str) -> str:
    return cluster_tag_key(cluster)


def _statement(
    sid: str, actions: Iterable[str], condition: dict[str, Any] | None = None,
    resource: str | list[str] = "*",
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _scoped(ops: list[Operation], request: PolicyRequest) -> list[dict[str, Any]]:
    key = tag_key(request.cluster)
    owned_on_create = {"StringEquals": {f"aws:RequestTag/{key}": "owned"}}
    owned = {"StringEquals": {f"aws:ResourceTag/{key}": "owned"}}
    tagged = {"Null": {f"aws:ResourceTag/{key}": "false"}}
    groups: dict[str, tuple[list[str], dict[str, Any] | None]] = {
        "CreateOnlyWithOwnedClusterTag": ([], owned_on_create),
        "ChangeOnlyWhatTheClusterOwns": ([], owned),
        "ChangeOnlyClusterTaggedSharedResources": ([], tagged),
        "NoTagConditionSupportedByAws": ([], None),
    }
    for op in ops:
        if op.access is Access.CREATE and op.request_tag:
            groups["CreateOnlyWithOwnedClusterTag"][0].append(op.action)
        elif op.access is Access.CHANGE_OWNED and op.resource_tag:
            groups["ChangeOnlyWhatTheClusterOwns"][0].append(op.action)
        elif op.access is Access.CHANGE_TAGGED and op.resource_tag:
            groups["ChangeOnlyClusterTaggedSharedResources"][0].append(op.action)
        else:
            groups["NoTagConditionSupportedByAws"][0].append(op.action)
    ec2_creates = sorted(
        op.name for op in ops if op.service == "ec2" and op.access is Access.CREATE
    )
    statements = [
        _statement(sid, actions, condition if request.conditions else None)
        for sid, (actions, condition) in groups.items()
        if actions
    ]
    if ec2_creates:
        # EC2 tags a resource at creation through ec2:CreateTags; allow it for those calls only.
        condition = {
            "StringEquals": {"ec2:CreateAction": ec2_creates, f"aws:RequestTag/{key}": "owned"}
        }
        statements.append(_statement(
            "TagOnlyWhileCreating", ["ec2:CreateTags"],
            condition if request.conditions else None,
        ))
    return statements


def _extras(request: PolicyRequest) -> list[dict[str, Any]]:
    statements = []
    if "lb" in request.features:
        # AWS creates ELB's service-linked role on an account's first load balancer.
        condition = {"StringEquals": {"iam:AWSServiceName": ELB_SERVICE}}
        statements.append(_statement(
            "ElbServiceLinkedRoleOnFirstLoadBalancer", ["iam:CreateServiceLinkedRole"],
            condition if request.conditions else None,
        ))
    if "volumes" in request.features and request.kms_key:
        statements.append(_statement(
            "UseTheVolumeKmsKey", KMS_KEY_ACTIONS, resource=request.kms_key
        ))
        grant = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        statements.append(_statement(
            "GrantTheKeyToEc2ForAttachedVolumes", ["kms:CreateGrant"],
            grant if request.conditions else None, resource=request.kms_key,
        ))
    return statements


def policy_operations(request: PolicyRequest) -> list[Operation]:
    """The operations the policy grants: what the features call, less STS (the source
    identity's permission, granted by the target role's trust, not by this policy)."""
    ops = [op for op in for_features(request.features) if op.service != "sts"]
    if request.role == "node":
        ops = [op for op in ops if op.access is Access.READ and op.feature == "bootstrap"]
    return ops


def _operator(request: PolicyRequest) -> dict[str, Any]:
    """`setup`, `doctor` and `gc`: reads, IAM set-up and subnet tags by resource type, and
    gc's deletions scoped like the controllers' (only what the cluster owns)."""
    ops = for_tools()
    reads = [op.action for op in ops if op.access is Access.READ]
    statements = [_statement("OperatorReads", reads)]
    for service, sid in (("iam", "OperatorSetupIamRolesProfilesPolicies"),
                         ("ec2", "OperatorSetupSubnetTags")):
        actions = [op.action for op in ops if op.access is Access.SETUP and op.service == service]
        resource = SETUP_RESOURCES[service] if request.conditions else "*"
        statements.append(_statement(sid, actions, resource=resource))
    gc = [op for op in ops if op.access in (Access.CHANGE_OWNED, Access.CHANGE_TAGGED)]
    statements += [
        {**s, "Sid": "Operator" + str(s["Sid"])} for s in _scoped(gc, request)
    ]
    statements.sort(key=lambda s: str(s["Sid"]))
    return {"Version": "2012-10-17", "Statement": statements}


def generate(request: PolicyRequest) -> dict[str, Any]:
    """The policy document, deterministic (statements and actions sorted)."""
    validate(request)
    if request.role == "operator":
        return _operator(request)
    ops = policy_operations(request)
    reads = [op.action for op in ops if op.access is Access.READ]
    if request.role == "node":
        sid = "OptionalNodeReadsNoProfileAlsoWorks"
        return {"Version": "2012-10-17", "Statement": [_statement(sid, reads)]}
    statements = [_statement("ReadsCannotBeScopedByTag", reads)]
    statements += _scoped([op for op in ops if op.mutates], request)
    statements += _extras(request)
    statements.sort(key=lambda s: str(s["Sid"]))
    return {"Version": "2012-10-17", "Statement": statements}


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}
