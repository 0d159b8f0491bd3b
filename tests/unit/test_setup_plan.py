"""`k8s-aws setup` planned without AWS: creation order, idempotence, version pruning within
AWS's limit, foreign names left alone, subnet tags only added."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from k8s_aws.model.iam import (
    MANAGED_BY,
    MANAGED_BY_TAG,
    ObservedPolicy,
    ObservedProfile,
    ObservedRole,
    PolicyVersion,
    SetupAction,
    SetupObserved,
)
from k8s_aws.ops.iam_policy import PolicyInputError
from k8s_aws.ops.setup_plan import (
    EC2_TRUST,
    MAX_POLICY_VERSIONS,
    SetupRequest,
    canonical,
    plan_setup,
    validate,
)

REQUEST = SetupRequest(cluster="c1", profile="ctl", worker_profile="wrk")
ARN = "arn:aws:iam::123456789012:policy/ctl"
OURS = (("kubernetes.io/cluster/c1", "owned"), (MANAGED_BY_TAG, MANAGED_BY))
EMPTY = SetupObserved(account="123456789012", policy=None,
                      roles={"ctl": None, "wrk": None}, profiles={"ctl": None, "wrk": None})


def _applied(request: SetupRequest, actions: tuple[SetupAction, ...]) -> SetupObserved:
    """What AWS holds after the actions: a rerun must plan nothing."""
    observed = EMPTY
    roles: dict[str, ObservedRole | None] = dict(observed.roles)
    profiles: dict[str, ObservedProfile | None] = dict(observed.profiles)
    policy = None
    for a in actions:
        if a.op == "CreatePolicy":
            assert a.document is not None
            policy = ObservedPolicy(ARN, a.tags, a.document, (PolicyVersion("v1", True, "1"),))
        elif a.op == "CreateRole":
            roles[a.target] = ObservedRole(a.target, a.tags, EC2_TRUST, ())
        elif a.op == "AttachRolePolicy":
            role = roles[a.target]
            assert role is not None
            roles[a.target] = replace(role, attached=(*role.attached, a.arg))
        elif a.op == "CreateInstanceProfile":
            profiles[a.target] = ObservedProfile(a.target, a.tags, ())
        elif a.op == "AddRoleToInstanceProfile":
            profile = profiles[a.target]
            assert profile is not None
            profiles[a.target] = replace(profile, roles=(a.arg,))
    return replace(observed, policy=policy, roles=roles, profiles=profiles)


def test_from_an_empty_account_policy_then_roles_then_profiles() -> None:
    plan = plan_setup(REQUEST, EMPTY)
    assert [(a.op, a.target) for a in plan.actions] == [
        ("CreatePolicy", "ctl"),
        ("CreateRole", "ctl"), ("AttachRolePolicy", "ctl"),
        ("CreateRole", "wrk"),
        ("CreateInstanceProfile", "ctl"), ("AddRoleToInstanceProfile", "ctl"),
        ("CreateInstanceProfile", "wrk"), ("AddRoleToInstanceProfile", "wrk"),
    ]
    assert all(a.tags == OURS for a in plan.actions if a.op.startswith("Create"))
    assert plan.actions[2].arg == ARN
    assert plan.actions[1].document == EC2_TRUST
    assert not plan.foreign


def test_the_worker_role_gets_no_policy() -> None:
    plan = plan_setup(REQUEST, EMPTY)
    assert not [a for a in plan.actions if a.op == "AttachRolePolicy" and a.target == "wrk"]


def test_a_rerun_plans_nothing() -> None:
    first = plan_setup(REQUEST, EMPTY)
    assert plan_setup(REQUEST, _applied(REQUEST, first.actions)).actions == ()


def _with_policy(document: dict[str, Any], versions: int) -> SetupObserved:
    listed = tuple(PolicyVersion(f"v{i}", i == versions, f"2026-01-0{i}") for i in
                   range(1, versions + 1))
    done = _applied(REQUEST, plan_setup(REQUEST, EMPTY).actions)
    return replace(done, policy=ObservedPolicy(ARN, OURS, document, listed))


@pytest.mark.parametrize(("versions", "pruned"), [(1, []), (4, []), (5, ["v1"])])
def test_a_changed_document_is_a_new_default_version_pruned_within_five(
    versions: int, pruned: list[str]
) -> None:
    old = {"Version": "2012-10-17", "Statement": []}
    plan = plan_setup(REQUEST, _with_policy(old, versions))
    deletes = [a.arg for a in plan.actions if a.op == "DeletePolicyVersion"]
    assert deletes == pruned
    assert [a.op for a in plan.actions][-1] == "CreatePolicyVersion"
    assert versions - len(deletes) < MAX_POLICY_VERSIONS


def test_the_same_document_written_differently_is_unchanged() -> None:
    document = REQUEST.policy()
    reordered = {"Statement": [{**s, "Action": list(reversed(s["Action"]))}
                               for s in reversed(document["Statement"])],
                 "Version": document["Version"]}
    assert canonical(reordered) == canonical(document)
    assert plan_setup(REQUEST, _with_policy(reordered, 2)).actions == ()


def test_a_foreign_role_is_left_alone_and_nothing_changes() -> None:
    foreign = ObservedRole("ctl", (("team", "infra"),), EC2_TRUST, ())
    observed = replace(EMPTY, roles={"ctl": foreign, "wrk": None})
    plan = plan_setup(REQUEST, observed)
    assert plan.refused
    assert len(plan.foreign) == 1 and "role ctl" in plan.foreign[0]
    assert "--adopt" in plan.foreign[0]


def test_adopt_tags_a_foreign_role_and_fixes_its_trust() -> None:
    foreign = ObservedRole("ctl", (("team", "infra"),), {"Statement": []}, ())
    observed = replace(EMPTY, roles={"ctl": foreign, "wrk": None})
    plan = plan_setup(replace(REQUEST, adopt=True), observed)
    ops = [(a.op, a.target) for a in plan.actions]
    assert ("TagRole", "ctl") in ops and ("UpdateAssumeRolePolicy", "ctl") in ops
    assert ("CreateRole", "ctl") not in ops
    assert not plan.refused


def test_a_profile_holding_another_role_is_never_replaced() -> None:
    other = ObservedProfile("ctl", OURS, ("someone-elses",))
    observed = replace(EMPTY, profiles={"ctl": other, "wrk": None})
    plan = plan_setup(replace(REQUEST, adopt=True), observed)
    assert plan.refused and "someone-elses" in plan.foreign[0]


def test_subnet_tags_are_added_never_removed_or_overwritten() -> None:
    request = replace(REQUEST, tag_subnets=("subnet-a",), public_subnets=("subnet-b",))
    observed = replace(EMPTY, subnets={
        "subnet-a": (("kubernetes.io/cluster/c1", "owned"), ("Name", "a")),
        "subnet-b": (("kubernetes.io/cluster/other", "shared"),),
    })
    tags = {a.target: dict(a.tags) for a in plan_setup(request, observed).actions
            if a.op == "CreateTags"}
    assert tags == {
        "subnet-a": {"kubernetes.io/role/internal-elb": "1"},
        "subnet-b": {"kubernetes.io/cluster/c1": "shared", "kubernetes.io/role/elb": "1"},
    }


def test_an_unknown_subnet_is_bad_input() -> None:
    with pytest.raises(PolicyInputError, match="subnet-zzz"):
        plan_setup(replace(REQUEST, tag_subnets=("subnet-zzz",)), EMPTY)


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        ({"features": ("lb", "ingress")}, "--features"),
        ({"cluster": "c" * 107}, "--cluster-name"),
        ({"cluster": "has space"}, "--cluster-name"),
        ({"profile": "bad/name"}, "--profile"),
        ({"worker_profile": "ctl"}, "--worker-profile"),
        ({"worker_profile": "w" * 129}, "--worker-profile"),
        ({"subnet_tag_value": "mine"}, "--subnet-tag-value"),
        ({"tag_subnets": ("sn-1",)}, "--tag-subnets"),
    ],
)
def test_bad_input_names_the_flag(change: dict[str, Any], flag: str) -> None:
    with pytest.raises(PolicyInputError, match=flag):
        validate(replace(REQUEST, **change))


def test_the_longest_cluster_name_a_tag_key_holds_is_accepted() -> None:
    validate(replace(REQUEST, cluster="c" * 106))
