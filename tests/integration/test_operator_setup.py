"""`k8s-aws setup` against the emulator, run as an operator holding only the operator policy:
from an empty account, dry run, idempotent rerun, version pruning, a foreign role left alone,
subnet tags only added, bad input changing nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from k8s_aws.ops.iam_policy import PolicyRequest, generate
from k8s_aws.ops.setup_plan import canonical
from k8s_aws_sandbox.state import SandboxState

from .operator_tools import (
    Operator,
    admin_client,
    assert_declared_and_never_denied,
    last_call_seq,
    make_operator,
)


@pytest.fixture(scope="module")
def operator(sandbox: SandboxState) -> Operator:
    return make_operator(sandbox)


@pytest.fixture(scope="module")
def iam(sandbox: SandboxState) -> Any:
    return admin_client(sandbox, "iam")


def _name() -> str:
    return f"t17-{uuid.uuid4().hex[:8]}"


def _tags(raw: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw.get("Tags", [])}


def _default_document(iam: Any, arn: str) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    return dict(document["Document"])


def _arn(iam: Any, name: str) -> str:
    return f"arn:aws:iam::{iam.get_user()['User']['Arn'].split(':')[4]}:policy/{name}"


def _exists(iam: Any, kind: str, name: str) -> bool:
    try:
        if kind == "role":
            iam.get_role(RoleName=name)
        else:
            iam.get_instance_profile(InstanceProfileName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def test_setup_from_an_empty_account_dry_run_then_apply_then_a_rerun_changes_nothing(
    operator: Operator, iam: Any, sandbox: SandboxState
) -> None:
    name = _name()
    args = ["setup", "--cluster-name", "itest", "--profile", name, "--features", "nodes,lb"]
    since = last_call_seq(sandbox)
    dry = operator.run(*args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would: CreateRole {name}" in dry.stdout and "none made" in dry.stdout
    assert not _exists(iam, "role", name) and not _exists(iam, "profile", name)
    assert not [c for c in operator.calls("setup", since) if c.mutating]

    done = operator.run(*args)
    assert done.returncode == 0, done.stderr
    role = iam.get_role(RoleName=name)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}
    assert _tags(role) == {"kubernetes.io/cluster/itest": "owned",
                           "k8s-aws/managed-by": "k8s-aws-setup"}
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [name]
    wanted = generate(PolicyRequest("itest", features=("nodes", "lb")))
    assert canonical(_default_document(iam, attached[0]["PolicyArn"])) == canonical(wanted)
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]
    assert _tags(profile)["k8s-aws/managed-by"] == "k8s-aws-setup"
    worker = f"{name}-worker"
    worker_profile = iam.get_instance_profile(InstanceProfileName=worker)["InstanceProfile"]
    assert [r["RoleName"] for r in worker_profile["Roles"]] == [worker]
    assert iam.list_attached_role_policies(RoleName=worker)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=worker)["PolicyNames"] == []

    since = last_call_seq(sandbox)
    again = operator.run(*args)
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout
    assert not [c for c in operator.calls("setup", since) if c.mutating]
    assert [c for c in operator.calls("setup", since) if c.error] == []


def test_a_changed_document_is_a_new_version_and_old_ones_are_pruned_within_five(
    operator: Operator, iam: Any
) -> None:
    name = _name()
    base = ["setup", "--cluster-name", "itest", "--profile", name]
    for features in ("nodes", "lb", "volumes", "nodes,lb", "lb,volumes", "nodes,volumes"):
        result = operator.run(*base, "--features", features)
        assert result.returncode == 0, result.stderr
    arn = _arn(iam, name)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5
    assert "v1" not in {v["VersionId"] for v in versions}
    wanted = generate(PolicyRequest("itest", features=("nodes", "volumes")))
    assert canonical(_default_document(iam, arn)) == canonical(wanted)


def test_a_foreign_role_is_left_alone_unless_adopted(operator: Operator, iam: Any) -> None:
    name = _name()
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                    Tags=[{"Key": "team", "Value": "infra"}])
    refused = operator.run("setup", "--cluster-name", "itest", "--profile", name)
    assert refused.returncode == 1
    assert f"role {name} exists and was not made by k8s-aws setup" in refused.stderr
    assert "--adopt" in refused.stderr and "Traceback" not in refused.stderr
    assert _tags(iam.get_role(RoleName=name)["Role"]) == {"team": "infra"}
    assert not _exists(iam, "profile", name) and not _exists(iam, "role", f"{name}-worker")

    adopted = operator.run("setup", "--cluster-name", "itest", "--profile", name, "--adopt")
    assert adopted.returncode == 0, adopted.stderr
    assert f"done: TagRole {name}" in adopted.stdout
    assert _tags(iam.get_role(RoleName=name)["Role"]) == {
        "team": "infra", "kubernetes.io/cluster/itest": "owned",
        "k8s-aws/managed-by": "k8s-aws-setup"}


def test_subnet_tags_are_added_and_none_is_removed(
    operator: Operator, sandbox: SandboxState
) -> None:
    ec2 = admin_client(sandbox, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]  # apart from the cluster's
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24", TagSpecifications=[{
        "ResourceType": "subnet", "Tags": [{"Key": "kubernetes.io/cluster/itest",
                                            "Value": "owned"}, {"Key": "Name", "Value": "p"}]}],
    )["Subnet"]["SubnetId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.2.0/24")["Subnet"]["SubnetId"]
    result = operator.run("setup", "--cluster-name", "itest", "--profile", _name(),
                          "--tag-subnets", private, "--public-subnets", public)
    assert result.returncode == 0, result.stderr
    subnets = {s["SubnetId"]: _tags(s) for s in ec2.describe_subnets(
        SubnetIds=[private, public])["Subnets"]}
    assert subnets[private] == {"kubernetes.io/cluster/itest": "owned", "Name": "p",
                                "kubernetes.io/role/internal-elb": "1"}
    assert subnets[public] == {"kubernetes.io/cluster/itest": "shared",
                               "kubernetes.io/role/elb": "1"}


@pytest.mark.once  # no AWS call, or reads other tests make
@pytest.mark.parametrize(
    ("args", "credentials", "expected"),
    [
        (["--features", "nodes,ingress"], True, "--features ingress unknown"),
        (["--cluster-name", "c" * 107], True, "--cluster-name is 107 characters"),
        (["--cluster-name", "9lives"], True, "--cluster-name '9lives' is invalid"),
        ([], False, "no AWS credentials"),
        (["--tag-subnets", "subnet-0000000000000dead"], True, "no subnet subnet-0000000000000dead"),
    ],
    ids=["unknown-feature", "too-long-for-a-tag-key", "bad-pattern", "no-credentials",
         "unknown-subnet"],
)
def test_bad_input_is_one_line_a_non_zero_exit_and_nothing_changed(
    operator: Operator, iam: Any, sandbox: SandboxState, args: list[str], credentials: bool,
    expected: str,
) -> None:
    name = _name()
    since = last_call_seq(sandbox)
    result = operator.run("setup", "--cluster-name", "itest", "--profile", name, *args,
                          credentials=credentials)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not _exists(iam, "role", name)
    assert not [c for c in operator.calls("setup", since) if c.mutating]


def test_every_call_setup_made_is_declared_for_it_and_never_denied(operator: Operator) -> None:
    assert_declared_and_never_denied(operator, "setup")
