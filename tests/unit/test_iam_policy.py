"""The generated policy: exact actions, tag conditions AWS supports, deterministic output."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from k8s_aws.cli.main import cli
from k8s_aws.cloud import operations
from k8s_aws.cloud.operations import Access
from k8s_aws.ops.iam_policy import PolicyInputError, PolicyRequest, generate, granted_actions

RT = "aws:ResourceTag/${TagKey}"
QT = "aws:RequestTag/${TagKey}"
KEYS = "aws:TagKeys"
# Condition keys AWS evaluates per action (Service Authorization Reference, written out here
# for the actions k8s-aws may be granted; a key absent here must not be used for that action).
AWS_CONDITION_KEYS: dict[str, set[str]] = {
    "ec2:CreateSecurityGroup": {QT, KEYS, RT, "ec2:Vpc"},
    "ec2:DeleteSecurityGroup": {RT, "ec2:Vpc"},
    "ec2:AuthorizeSecurityGroupIngress": {QT, KEYS, RT, "ec2:Vpc"},
    "ec2:RevokeSecurityGroupIngress": {RT, "ec2:Vpc"},
    "ec2:CreateTags": {QT, KEYS, RT, "ec2:CreateAction"},
    "ec2:CreateVolume": {QT, KEYS, RT, "ec2:Encrypted", "ec2:VolumeType"},
    "ec2:DeleteVolume": {RT},
    "ec2:AttachVolume": {RT},
    "ec2:DetachVolume": {RT},
    "ec2:ModifyVolume": {RT},
    "ec2:CreateSnapshot": {QT, KEYS, RT},
    "ec2:DeleteSnapshot": {RT},
    "elasticloadbalancing:CreateLoadBalancer": {QT, KEYS},
    "elasticloadbalancing:AddTags": {QT, KEYS, RT},
    "elasticloadbalancing:CreateTargetGroup": {QT, KEYS},
    "elasticloadbalancing:CreateListener": {QT, KEYS, RT},
    **{
        f"elasticloadbalancing:{name}": {RT}
        for name in (
            "DeleteLoadBalancer", "CreateLoadBalancerListeners", "DeleteLoadBalancerListeners",
            "ConfigureHealthCheck", "ModifyLoadBalancerAttributes", "CreateLoadBalancerPolicy",
            "SetLoadBalancerPoliciesForBackendServer", "SetLoadBalancerPoliciesOfListener",
            "ApplySecurityGroupsToLoadBalancer", "AttachLoadBalancerToSubnets",
            "DetachLoadBalancerFromSubnets", "RegisterInstancesWithLoadBalancer",
            "DeregisterInstancesFromLoadBalancer", "DeleteListener", "ModifyTargetGroup",
            "RegisterTargets", "DeregisterTargets", "DeleteTargetGroup",
            "ModifyTargetGroupAttributes",
        )
    },
    "iam:CreateServiceLinkedRole": {"iam:AWSServiceName"},
    "kms:CreateGrant": {"kms:GrantIsForAWSResource", "kms:CallerAccount", "kms:ViaService"},
}
KMS = "arn:aws:kms:us-east-1:123456789012:key/0f2e6c4a-1b2c-4d5e-8f90-123456789abc"


def _normal(key: str) -> str:
    return re.sub(r"^(aws:(?:Resource|Request)Tag)/.*$", r"\1/${TagKey}", key)


def _conditions(statement: dict[str, Any]) -> set[str]:
    return {_normal(k) for block in statement.get("Condition", {}).values() for k in block}


def _policy(**kw: Any) -> dict[str, Any]:
    return generate(PolicyRequest(cluster="c1", **kw))


@pytest.mark.parametrize("features", [("nodes",), ("lb",), ("nodes", "lb", "volumes")])
def test_every_condition_is_one_aws_supports_for_every_action_it_guards(
    features: tuple[str, ...]
) -> None:
    for statement in _policy(features=features, kms_key=KMS)["Statement"]:
        for action in statement["Action"]:
            assert _conditions(statement) <= AWS_CONDITION_KEYS.get(action, set()), action


def test_declared_tag_support_matches_the_aws_table() -> None:
    for op in operations.OPERATIONS:
        if not op.mutates:
            continue
        keys = AWS_CONDITION_KEYS[op.action]
        assert op.request_tag == (QT in keys) or op.access is not Access.CREATE, op
        assert op.resource_tag == (RT in keys) or op.access is Access.CREATE, op


def test_every_mutation_that_aws_can_scope_is_scoped() -> None:
    policy = _policy(kms_key=KMS)
    for statement in policy["Statement"]:
        if statement["Sid"] in {"ReadsCannotBeScopedByTag", "NoTagConditionSupportedByAws"}:
            continue
        assert statement.get("Condition") or statement["Resource"] == KMS, statement["Sid"]
    unscoped = [s for s in policy["Statement"] if s["Sid"] == "NoTagConditionSupportedByAws"]
    for statement in unscoped:
        for action in statement["Action"]:
            assert not {QT, RT} & AWS_CONDITION_KEYS.get(action, set()), action


def test_actions_are_exactly_the_declared_ones_with_no_wildcard() -> None:
    actions = granted_actions(_policy())
    assert not [a for a in actions if "*" in a]
    declared = {op.action for op in operations.OPERATIONS if op.service != "sts"}
    assert actions - declared == {"ec2:CreateTags", "iam:CreateServiceLinkedRole"}
    assert declared <= actions


def test_creates_require_the_owned_tag_and_changes_require_it_on_the_resource() -> None:
    by_sid = {s["Sid"]: s for s in _policy(features=("lb",))["Statement"]}
    create = by_sid["CreateOnlyWithOwnedClusterTag"]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/kubernetes.io/cluster/c1": "owned"}
    }
    assert "elasticloadbalancing:CreateLoadBalancer" in create["Action"]
    change = by_sid["ChangeOnlyWhatTheClusterOwns"]
    assert change["Condition"] == {
        "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/c1": "owned"}
    }
    assert "ec2:DeleteSecurityGroup" in change["Action"]
    tagging = by_sid["TagOnlyWhileCreating"]
    assert tagging["Action"] == ["ec2:CreateTags"]
    assert tagging["Condition"]["StringEquals"]["ec2:CreateAction"] == ["CreateSecurityGroup"]
    slr = by_sid["ElbServiceLinkedRoleOnFirstLoadBalancer"]
    assert slr["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
    }


def test_nodes_only_is_read_only() -> None:
    statements = _policy(features=("nodes",))["Statement"]
    assert [s["Sid"] for s in statements] == ["ReadsCannotBeScopedByTag"]


def test_node_role_is_read_only_and_small() -> None:
    policy = _policy(role="node")
    assert granted_actions(policy) == {"ec2:DescribeAvailabilityZones", "ec2:DescribeInstances"}


def test_kms_key_only_with_volumes() -> None:
    assert not [a for a in granted_actions(_policy(features=("lb",), kms_key=KMS))
                if a.startswith("kms:")]
    with_volumes = _policy(features=("volumes",), kms_key=KMS)
    grant = next(s for s in with_volumes["Statement"] if s["Action"] == ["kms:CreateGrant"])
    assert grant["Resource"] == KMS
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_emulator_variant_has_no_conditions_and_the_same_actions() -> None:
    plain = _policy(conditions=False)
    assert all("Condition" not in s for s in plain["Statement"])
    assert granted_actions(plain) == granted_actions(_policy())


def test_output_is_deterministic_and_sorted() -> None:
    one = json.dumps(_policy(features=("volumes", "lb", "nodes")))
    two = json.dumps(_policy(features=("nodes", "lb", "volumes")))
    assert one == two
    sids = [s["Sid"] for s in _policy()["Statement"]]
    assert sids == sorted(sids)


@pytest.mark.parametrize(
    ("kw", "flag"),
    [
        ({"cluster": "9bad"}, "--cluster-name"),
        ({"cluster": "c1", "role": "admin"}, "--role"),
        ({"cluster": "c" * 200}, "--cluster-name"),
        ({"cluster": "c1", "features": ("lb", "ingress")}, "--features"),
        ({"cluster": "c1", "kms_key": "alias/foo"}, "--kms-key"),
    ],
)
def test_bad_input_names_the_flag(kw: dict[str, Any], flag: str) -> None:
    with pytest.raises(PolicyInputError, match=flag):
        generate(PolicyRequest(**kw))


def test_cli_prints_the_policy() -> None:
    result = CliRunner().invoke(cli, ["iam-policy", "--cluster-name", "c1", "--features", "lb"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == _policy(features=("lb",))


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--cluster-name", "c1", "--features", "lb,ingress"], "--features"),
        (["--cluster-name", "-x"], "--cluster-name"),
        (["--cluster-name", "c1", "--kms-key", "nope"], "--kms-key"),
        (["--cluster-name", "c1", "--role", "root"], "--role"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], flag: str) -> None:
    result = CliRunner().invoke(cli, ["iam-policy", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in result.output


def test_the_operator_policy_grants_exactly_the_operator_tools_operations() -> None:
    policy = _policy(role="operator")
    assert granted_actions(policy) == {op.action for op in operations.OPERATOR_OPERATIONS}
    assert not [a for a in granted_actions(policy) if "*" in a]


def test_the_operator_policy_is_one_the_controllers_never_hold() -> None:
    controllers = granted_actions(_policy(kms_key=KMS))
    setup_only = {op.action for op in operations.OPERATOR_OPERATIONS
                  if op.access is Access.SETUP}
    # ec2:CreateTags: the controllers hold it only while creating their own resources.
    assert setup_only & controllers == {"ec2:CreateTags"}
    assert not [a for a in controllers if a.startswith("iam:") and a != "iam:CreateServiceLinkedRole"]
    assert "iam:CreateRole" in setup_only and "iam:CreatePolicyVersion" in setup_only


def test_the_operator_deletes_only_what_the_cluster_owns_and_sets_up_by_resource_type() -> None:
    by_sid = {s["Sid"]: s for s in _policy(role="operator")["Statement"]}
    deletes = by_sid["OperatorChangeOnlyWhatTheClusterOwns"]
    assert "ec2:DeleteVolume" in deletes["Action"]
    assert deletes["Condition"] == {
        "StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/c1": "owned"}
    }
    assert by_sid["OperatorSetupSubnetTags"]["Action"] == ["ec2:CreateTags"]
    assert by_sid["OperatorSetupSubnetTags"]["Resource"] == ["arn:aws:ec2:*:*:subnet/*"]
    iam = by_sid["OperatorSetupIamRolesProfilesPolicies"]
    assert all(r.startswith("arn:aws:iam::*:") for r in iam["Resource"])
    for statement in by_sid.values():
        for action in statement["Action"]:
            assert _conditions(statement) <= AWS_CONDITION_KEYS.get(action, set()), action


def test_the_operator_policy_for_the_emulator_is_unscoped_with_the_same_actions() -> None:
    plain = _policy(role="operator", conditions=False)
    assert all("Condition" not in s and s["Resource"] == "*" for s in plain["Statement"])
    assert granted_actions(plain) == granted_actions(_policy(role="operator"))
