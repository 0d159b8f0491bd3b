"""`k8s-aws doctor` on a sandbox of its own (it retags subnets and instances): PASS on a healthy
sandbox, FAIL with the fix when public subnets are tagged for another cluster, when a node's
instance loses its cluster tag, when the profile's policy lacks an action, and when the CSI
driver is not registered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from k8s_aws.ops.iam_policy import PolicyRequest, generate
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl, kubectl_json
from .operator_tools import (
    CLUSTER,
    KEY,
    Operator,
    admin_client,
    assert_declared_and_never_denied,
    last_call_seq,
    make_operator,
)

DRIVER = "ebs.csi.aws.com"


@pytest.fixture(scope="module")
def operator(ops_sandbox: SandboxState) -> Operator:
    return make_operator(ops_sandbox)


def _doctor(operator: Operator, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    """On the control VM (IMDS reachable), with the operator's keys; checks by name (the
    worst of each name kept)."""
    result = operator.run("doctor", "--kubeconfig", str(operator.state.kubeconfig), "-o",
                          "json", *args, imds=True)
    assert "Traceback" not in result.stderr, result.stderr
    rank = {"PASS": 0, "WARN": 1, "FAIL": 2}
    checks: dict[str, dict[str, str]] = {}
    for check in json.loads(result.stdout)["checks"]:
        have = checks.get(check["check"])
        if have is None or rank[check["status"]] > rank[have["status"]]:
            checks[check["check"]] = check
    return result.returncode, checks


def _register_csi(state: SandboxState) -> None:
    """What the deployment does: the CSIDriver object, and the node-driver-registrar's
    CSINode entry on every Node."""
    documents: list[dict[str, Any]] = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": DRIVER},
        "spec": {"attachRequired": True, "podInfoOnMount": False},
    }]
    nodes = kubectl_json(state, "get", "nodes")["items"]
    for node in nodes:
        instance = node["spec"].get("providerID", "").rsplit("/", 1)[-1]
        documents.append({
            "apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
            "metadata": {"name": node["metadata"]["name"]},
            "spec": {"drivers": [{"name": DRIVER, "nodeID": instance,
                                  "topologyKeys": ["topology.ebs.csi.aws.com/zone"]}]},
        })
    path = state.root / "csi-objects.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": documents}))
    kubectl(state, "apply", "-f", str(path))


def _assert_csi_driver_fails(code: int, checks: dict[str, dict[str, str]]) -> None:
    assert code == 1
    assert checks["csi-driver"]["status"] == "FAIL"
    assert "no CSIDriver ebs.csi.aws.com" in checks["csi-driver"]["message"]
    assert checks["csi-driver"]["fix"]


def _without_the_csi_driver(operator: Operator, state: SandboxState) -> None:
    """The sandbox registers the CSIDriver (as the deployment does): take it away, see the
    FAIL, and put the same object back."""
    saved = kubectl_json(state, "get", "csidriver", DRIVER)
    kubectl(state, "delete", "csidriver", DRIVER)
    try:
        _assert_csi_driver_fails(*_doctor(operator))
    finally:
        saved["metadata"] = {"name": DRIVER, "labels": saved["metadata"].get("labels", {})}
        path = state.root / "csidriver-restored.json"
        path.write_text(json.dumps(saved))
        kubectl(state, "create", "-f", str(path))


def test_doctor_fails_on_the_csi_driver_until_it_is_registered_then_passes(
    operator: Operator, ops_sandbox: SandboxState
) -> None:
    since = last_call_seq(ops_sandbox)
    code, checks = _doctor(operator)
    if checks.get("csi-driver", {}).get("status") == "PASS":
        _without_the_csi_driver(operator, ops_sandbox)
    else:  # a sandbox that does not register them: create them as a deployment would
        _assert_csi_driver_fails(code, checks)
        _register_csi(ops_sandbox)
    code, checks = _doctor(operator)
    failed = {n: c for n, c in checks.items() if c["status"] == "FAIL"}
    assert failed == {}
    assert code == 0
    for name in ("credentials", "imds", "instance-profile", "region", "cluster-name",
                 "instance-tags", "subnets-internal", "subnets-internet-facing",
                 "controller-policy", "nodes", "csi-driver", "workers"):
        assert checks[name]["status"] == "PASS", checks[name]
    assert f"{CLUSTER}-control" in checks["instance-profile"]["message"]
    assert "--cluster-name" not in checks["cluster-name"]["message"]  # from the VM's tags
    assert not [c for c in operator.calls("doctor", since) if c.mutating or c.error]


def test_doctor_names_the_subnets_tagged_for_another_cluster_and_the_fix(
    operator: Operator, ops_sandbox: SandboxState
) -> None:
    ec2 = admin_client(ops_sandbox, "ec2")
    public = [sid for name, sid in ops_sandbox.world.subnets.items() if "-public-" in name]
    ec2.delete_tags(Resources=public, Tags=[{"Key": KEY}])
    ec2.create_tags(Resources=public, Tags=[{"Key": "kubernetes.io/cluster/other",
                                             "Value": "shared"}])
    try:
        code, checks = _doctor(operator)
    finally:
        ec2.delete_tags(Resources=public, Tags=[{"Key": "kubernetes.io/cluster/other"}])
        ec2.create_tags(Resources=public, Tags=[{"Key": KEY, "Value": "shared"}])
    assert code == 1
    check = checks["subnets-internet-facing"]
    assert check["status"] == "FAIL"
    assert all(subnet in check["message"] for subnet in public)
    assert "tagged for another cluster" in check["message"]
    assert "--public-subnets" in check["fix"]
    assert checks["subnets-internal"]["status"] == "PASS"


def test_doctor_fails_when_a_nodes_instance_loses_its_cluster_tag(
    operator: Operator, ops_sandbox: SandboxState
) -> None:
    ec2 = admin_client(ops_sandbox, "ec2")
    worker = ops_sandbox.world.worker_instances[0]
    ec2.delete_tags(Resources=[worker], Tags=[{"Key": KEY}])
    try:
        code, checks = _doctor(operator)
    finally:
        ec2.create_tags(Resources=[worker], Tags=[{"Key": KEY, "Value": "owned"}])
    assert code == 1
    assert checks["instance-tags"]["status"] == "FAIL"
    assert worker in checks["instance-tags"]["message"]
    assert "deployment's tags" in checks["instance-tags"]["fix"]


def test_doctor_fails_when_the_profiles_policy_lacks_an_action(
    operator: Operator, ops_sandbox: SandboxState
) -> None:
    iam = admin_client(ops_sandbox, "iam")
    name = "doctest-lacking"
    policy = generate(PolicyRequest(CLUSTER, conditions=False))
    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "ec2:CreateVolume"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="partial", PolicyDocument=json.dumps(policy))
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    code, checks = _doctor(operator, "--profile", name)
    assert code == 1
    check = checks["controller-policy"]
    assert check["status"] == "FAIL"
    assert "lacks ec2:CreateVolume" in check["message"]
    assert check["fix"].startswith(f"k8s-aws setup --cluster-name {CLUSTER} --profile {name}")
    _, narrower = _doctor(operator, "--profile", name, "--features", "nodes,lb")
    assert narrower["controller-policy"]["status"] == "PASS"


def test_doctor_text_output_has_one_line_per_check_and_the_fix_under_each_fail(
    operator: Operator,
) -> None:
    result = operator.run("doctor", "--kubeconfig", str(operator.state.kubeconfig),
                          "--profile", "doctest-missing-profile", imds=True)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL controller-policy"))
    assert "doctest-missing-profile" in lines[fail]
    assert lines[fail + 1].strip().startswith("fix: k8s-aws setup")
    assert all(line.split()[0] in ("PASS", "WARN", "FAIL", "fix:") for line in lines)


@pytest.mark.once  # no AWS call, or reads other tests make
@pytest.mark.parametrize(
    ("args", "credentials", "expected"),
    [
        (["--features", "nodes,ingress"], True, "--features ingress unknown"),
        (["--cluster-name", "c" * 107], True, "at most 106"),
        ([], False, "no AWS credentials"),
    ],
    ids=["unknown-feature", "too-long-for-a-tag-key", "no-credentials"],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    operator: Operator, args: list[str], credentials: bool, expected: str
) -> None:
    result = operator.run("doctor", *args, credentials=credentials)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_every_call_doctor_made_is_declared_for_it_and_never_denied(operator: Operator) -> None:
    assert_declared_and_never_denied(operator, "doctor")
