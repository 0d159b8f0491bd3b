"""`k8s-aws doctor`'s pure parts: the static policy comparison and the subnet, tag, worker and
CSI verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aws.model.doctor import AwsFacts, ClusterFacts, InstanceFacts, NodeFacts, Status
from k8s_aws.model.network import SubnetRecord
from k8s_aws.ops import doctor_checks
from k8s_aws.ops.doctor_cluster import csi_checks, node_checks
from k8s_aws.ops.iam_policy import PolicyRequest, generate
from k8s_aws.ops.policy_compare import grants_writes, missing_grants

WANTED = generate(PolicyRequest("c1"))
C = "kubernetes.io/cluster/c1"


def _allow(actions: Any, resource: Any = "*", condition: Any = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    ("granted", "missing"),
    [
        ([WANTED], []),
        ([generate(PolicyRequest("c1", conditions=False))], []),
        ([_allow(["ec2:*", "elasticloadbalancing:*", "iam:CreateServiceLinkedRole"])], []),
        ([_allow("*")], []),
        ([_allow("*", "arn:aws:ec2:*:*:volume/*")], "all"),
        ([_allow("*"), {"Statement": [{"Effect": "Deny", "Action": "ec2:CreateVolume",
                                       "Resource": "*"}]}], ["ec2:CreateVolume"]),
        ([_allow(["ec2:*", "elasticloadbalancing:*", "iam:*"],
                 condition={"StringEquals": {f"aws:ResourceTag/{C}": "shared"}})], "all"),
        ([], "all"),
    ],
    ids=["itself", "unconditioned", "wildcards", "star", "narrower-resource", "explicit-deny",
         "different-condition", "nothing"],
)
def test_policy_comparison(granted: list[dict[str, Any]], missing: Any) -> None:
    found = missing_grants(WANTED, granted)
    if missing == "all":
        assert found == sorted({a for s in WANTED["Statement"] for a in s["Action"]})
    else:
        assert found == missing


def test_a_worker_profile_with_reads_only_grants_no_writes() -> None:
    assert grants_writes([generate(PolicyRequest("c1", role="node"))]) == []
    assert grants_writes([_allow("ec2:*")]) == ["ec2:*"]
    assert grants_writes([_allow(["ec2:DescribeInstances", "ec2:AttachVolume"])]) == [
        "ec2:AttachVolume"]


def _facts(subnets: list[SubnetRecord], **kw: Any) -> AwsFacts:
    return AwsFacts("r", "flag", "c1", "flag", "i-1", "", "arn:me", "", subnets=tuple(subnets),
                    **kw)


def _subnet(id_: str, zone: str, public: bool, *tags: tuple[str, str]) -> SubnetRecord:
    return SubnetRecord(id_, zone, "vpc-1", public, tags)


def test_subnets_pass_warn_and_fail_like_the_controllers_discovery() -> None:
    role = ("kubernetes.io/role/elb", "1")
    internal = ("kubernetes.io/role/internal-elb", "1")
    good = [_subnet("subnet-a", "z1", True, (C, "shared"), role),
            _subnet("subnet-b", "z1", False, (C, "owned"), internal)]
    assert [c.status for c in doctor_checks.subnet_checks(_facts(good), {"z1"})] == [
        Status.PASS, Status.PASS]
    untagged = [_subnet("subnet-a", "z1", True), good[1]]
    checks = doctor_checks.subnet_checks(_facts(untagged), {"z1"})
    assert checks[1].status is Status.WARN and "untagged" in checks[1].message
    foreign = [_subnet("subnet-a", "z1", True, ("kubernetes.io/cluster/other", "shared")),
               good[1]]
    public = doctor_checks.subnet_checks(_facts(foreign), {"z1"})[1]
    assert public.status is Status.FAIL and "subnet-a" in public.message
    assert "--public-subnets" in public.fix
    other_zone = doctor_checks.subnet_checks(_facts(good), {"z1", "z2"})
    assert all(c.status is Status.FAIL and "z2" in c.message for c in other_zone)


def _instance(id_: str, tags: tuple[tuple[str, str], ...], groups: tuple[str, ...] = ("sg-1",),
              hop: int = 1) -> InstanceFacts:
    return InstanceFacts(id_, "z1", "vpc-1", tags, groups, "", hop, "required")


def test_instance_tags_and_node_groups() -> None:
    facts = _facts([], instances={"i-1": _instance("i-1", ((C, "owned"),)),
                                  "i-2": _instance("i-2", (), ("sg-1", "sg-2"))},
                   group_tags={"sg-1": ((C, "owned"),), "sg-2": ((C, "shared"),)})
    checks = doctor_checks.instance_tag_checks(facts, {"n1": "i-1", "n2": "i-2"})
    by = {(c.name, c.status) for c in checks}
    assert ("instance-tags", Status.FAIL) in by and ("node-security-group", Status.FAIL) in by
    assert next(c for c in checks if c.name == "instance-tags").message.startswith("instance i-2")


def test_workers_with_two_hops_fail() -> None:
    checks = doctor_checks.worker_checks(_facts([]), [_instance("i-9", (), hop=2)])
    assert checks[0].status is Status.FAIL and "hop limit 2" in checks[0].message


def test_nodes_and_csi() -> None:
    nodes = (NodeFacts("a.k8s", "aws:///z1/i-1", True, False, ("i-1",), "id"),
             NodeFacts("b.k8s", "", False, False, ("i-2", "i-3"), "BOSH director tag id=b"))
    checks = node_checks(ClusterFacts(nodes, True, frozenset({"a.k8s"})))
    assert [c.status for c in checks] == [Status.FAIL]
    assert "i-2, i-3" in checks[0].message
    assert csi_checks(ClusterFacts(nodes, False, frozenset()))[0].status is Status.FAIL
    missing = csi_checks(ClusterFacts(nodes, True, frozenset({"a.k8s"})))[0]
    assert missing.status is Status.FAIL and "b.k8s" in missing.message
    assert csi_checks(ClusterFacts(nodes[:1], True, frozenset({"a.k8s"})))[0].status is (
        Status.PASS)
