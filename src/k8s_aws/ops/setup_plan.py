"""`k8s-aws setup`, planned: (request, what IAM and EC2 hold) -> ordered actions. Pure.

Names: the controllers' managed policy, role and instance profile share one name (the seed's
`kubernetes-cloud-provider`); the worker role and profile hold no policy at all. Everything
created carries the cluster tag `owned` and the identity tag `k8s-aws/managed-by`; a role,
profile or policy of that name without the identity tag is someone else's and is left alone
unless `--adopt`. Subnet tags are only ever added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from k8s_aws.cloud.operations import FEATURES
from k8s_aws.loadbalancer.subnets import ROLE_ELB, ROLE_INTERNAL_ELB
from k8s_aws.model.iam import (
    MANAGED_BY,
    MANAGED_BY_TAG,
    ObservedPolicy,
    ObservedProfile,
    ObservedRole,
    SetupAction,
    SetupObserved,
    Tags,
)
from k8s_aws.ops.bosh import check_profile
from k8s_aws.ops.iam_policy import PolicyInputError, PolicyRequest, generate, tag_key

MAX_POLICY_VERSIONS = 5  # AWS's limit per managed policy
SUBNET_TAG_VALUES = ("shared", "owned")
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}


@dataclass(frozen=True)
class SetupRequest:
    cluster: str
    profile: str
    worker_profile: str
    features: tuple[str, ...] = FEATURES
    adopt: bool = False
    tag_subnets: tuple[str, ...] = ()
    public_subnets: tuple[str, ...] = ()
    subnet_tag_value: str = "shared"
    # Tag conditions in the policy (off only where the emulator must evaluate it).
    conditions: bool = True

    def policy(self) -> dict[str, Any]:
        return generate(PolicyRequest(self.cluster, features=self.features,
                                      conditions=self.conditions))

    def tags(self) -> Tags:
        return ((tag_key(self.cluster), "owned"), (MANAGED_BY_TAG, MANAGED_BY))


@dataclass(frozen=True)
class SetupPlan:
    actions: tuple[SetupAction, ...]
    foreign: tuple[str, ...]  # left alone: "role X ..." lines, each saying --adopt

    @property
    def refused(self) -> bool:
        return bool(self.foreign)


def validate(request: SetupRequest) -> None:
    """Bad input raises PolicyInputError naming the flag; checked before any AWS call."""
    request.policy()  # cluster name, features
    check_profile("--profile", request.profile)
    check_profile("--worker-profile", request.worker_profile)
    if request.profile == request.worker_profile:
        raise PolicyInputError("--worker-profile must differ from --profile: workers get no "
                               "EC2 permissions")
    if request.subnet_tag_value not in SUBNET_TAG_VALUES:
        raise PolicyInputError(f"--subnet-tag-value {request.subnet_tag_value!r} unknown; "
                               f"allowed: {', '.join(SUBNET_TAG_VALUES)}")
    for subnet in (*request.tag_subnets, *request.public_subnets):
        if not subnet.startswith("subnet-"):
            raise PolicyInputError(f"--tag-subnets/--public-subnets {subnet!r} is not a subnet "
                                   "id (subnet-...)")


def canonical(document: dict[str, Any]) -> str:
    """Documents compared as AWS stores them: key order and one-item lists do not matter."""
    def normal(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [normal(v) for v in value]
            return items[0] if len(items) == 1 else sorted(items, key=json.dumps)
        return value
    return json.dumps(normal(document), sort_keys=True)


def _ours(tags: Tags) -> bool:
    return dict(tags).get(MANAGED_BY_TAG) == MANAGED_BY


def _adopt_tags(op: str, target: str, have: Tags, request: SetupRequest) -> list[SetupAction]:
    """The tagging that makes an existing (adopted or ours) resource carry all our tags."""
    present = dict(have)
    missing = tuple((k, v) for k, v in request.tags() if present.get(k) != v)
    return [SetupAction(op, target, "adopted", tags=missing)] if missing else []


def _policy_actions(request: SetupRequest, have: ObservedPolicy | None, arn: str
                    ) -> list[SetupAction]:
    want = request.policy()
    if have is None:
        return [SetupAction("CreatePolicy", request.profile, "the generated least-privilege "
                            "policy", document=want, tags=request.tags())]
    actions = _adopt_tags("TagPolicy", arn, have.tags, request)
    if canonical(have.document) == canonical(want):
        return actions
    old = sorted((v for v in have.versions if not v.default), key=lambda v: v.created)
    for version in old[: max(0, len(have.versions) - (MAX_POLICY_VERSIONS - 1))]:
        actions.append(SetupAction("DeletePolicyVersion", arn, f"prune {version.id} (AWS keeps "
                                   f"at most {MAX_POLICY_VERSIONS})", arg=version.id))
    actions.append(SetupAction("CreatePolicyVersion", arn, "the document changed: new default "
                               "version", document=want))
    return actions


def _role_actions(request: SetupRequest, name: str, have: ObservedRole | None,
                  policy_arn: str) -> list[SetupAction]:
    if have is None:
        actions = [SetupAction("CreateRole", name, "EC2 role (trust: ec2.amazonaws.com)",
                               document=EC2_TRUST, tags=request.tags())]
        attached: tuple[str, ...] = ()
    else:
        actions = _adopt_tags("TagRole", name, have.tags, request)
        if canonical(have.trust) != canonical(EC2_TRUST):
            actions.append(SetupAction("UpdateAssumeRolePolicy", name, "trust ec2.amazonaws.com",
                                       document=EC2_TRUST))
        attached = have.attached
    if policy_arn and policy_arn not in attached:
        actions.append(SetupAction("AttachRolePolicy", name, policy_arn, arg=policy_arn))
    return actions


def _profile_actions(request: SetupRequest, name: str, have: ObservedProfile | None
                     ) -> list[SetupAction]:
    if have is None:
        actions = [SetupAction("CreateInstanceProfile", name, tags=request.tags())]
        roles: tuple[str, ...] = ()
    else:
        actions = _adopt_tags("TagInstanceProfile", name, have.tags, request)
        roles = have.roles
    if name not in roles:
        if roles:  # a profile holds one role: someone else's is not replaced
            return [*actions, SetupAction("Refuse", name, f"holds role {roles[0]}")]
        actions.append(SetupAction("AddRoleToInstanceProfile", name, f"role {name}", arg=name))
    return actions


def _subnet_actions(request: SetupRequest, observed: SetupObserved) -> list[SetupAction]:
    actions = []
    wanted = [(s, ROLE_INTERNAL_ELB) for s in request.tag_subnets]
    wanted += [(s, ROLE_ELB) for s in request.public_subnets]
    for subnet, role in wanted:
        have = dict(observed.subnets.get(subnet, ()))
        # Never removing or overwriting: a value already there stays (owned stays owned).
        want = {tag_key(request.cluster): request.subnet_tag_value, role: "1"}
        missing = tuple((k, v) for k, v in want.items() if k not in have)
        if missing:
            detail = ", ".join(f"{k}={v}" for k, v in missing)
            actions.append(SetupAction("CreateTags", subnet, detail, tags=missing))
    return actions


def _foreign(kind: str, name: str) -> str:
    return (f"{kind} {name} exists and was not made by k8s-aws setup (no {MANAGED_BY_TAG}="
            f"{MANAGED_BY} tag): left alone; rerun with --adopt to take it over")


def plan_setup(request: SetupRequest, observed: SetupObserved) -> SetupPlan:
    """Policy, then roles, then profiles, then subnet tags; refused whole when any name
    belongs to someone else (without --adopt) or a subnet is unknown."""
    missing = [s for s in (*request.tag_subnets, *request.public_subnets)
               if s not in observed.subnets]
    if missing:
        raise PolicyInputError(f"--tag-subnets/--public-subnets: no subnet {', '.join(missing)} "
                               "in this region")
    arn = observed.policy_arn(request.profile)
    foreign: list[str] = []
    items: list[tuple[str, str, Tags]] = []
    if observed.policy is not None:
        items.append(("policy", request.profile, observed.policy.tags))
    for name in (request.profile, request.worker_profile):
        if (role := observed.roles.get(name)) is not None:
            items.append(("role", name, role.tags))
        if (profile := observed.profiles.get(name)) is not None:
            items.append(("instance profile", name, profile.tags))
    if not request.adopt:
        foreign = [_foreign(kind, name) for kind, name, tags in items if not _ours(tags)]
    actions = _policy_actions(request, observed.policy, arn)
    actions += _role_actions(request, request.profile, observed.roles.get(request.profile), arn)
    actions += _role_actions(request, request.worker_profile,
                             observed.roles.get(request.worker_profile), "")
    for name in (request.profile, request.worker_profile):
        actions += _profile_actions(request, name, observed.profiles.get(name))
    foreign += [f"instance profile {a.target} {a.detail}, not {a.target}: left alone"
                for a in actions if a.op == "Refuse"]
    actions = [a for a in actions if a.op != "Refuse"]
    actions += _subnet_actions(request, observed)
    return SetupPlan(tuple(actions), tuple(foreign))
