"""Security group actions of the load balancers (frontend, backend, our rule on node groups):
each one's applier, effect and operations, registered once.

Appliers tolerate the duplicates a crash between a call and its bookkeeping leaves behind.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from k8s_aws.cloud.clb_wire import permissions_of, tags_of
from k8s_aws.cloud.errors import CloudError, Conflict, NotFound
from k8s_aws.cloud.lb_registry import ActionKind, Applied, Context, register
from k8s_aws.model import lb_actions as act
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.loadbalancer import IngressRule, Observed, ObservedGroup

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import TagSpecificationTypeDef

EC2 = "ec2"


class GroupInUse(Conflict):
    """Our group cannot be deleted yet; `blockers` names foreign groups referencing it."""

    def __init__(self, message: str, blockers: tuple[str, ...]) -> None:
        super().__init__(message, "DeleteSecurityGroup", "DependencyViolation")
        self.blockers = blockers


def _resolved(rules: tuple[IngressRule, ...], applied: Applied) -> frozenset[IngressRule]:
    return frozenset(
        IngressRule(r.protocol, r.from_port, r.to_port, applied.ref(r.source), r.description)
        for r in rules
    )


# -- CreateGroup ------------------------------------------------------------------------
def _create_group_effect(state: Observed, a: act.CreateGroup, applied: Applied) -> Observed:
    group = ObservedGroup(SecurityGroupId(applied.ref(a.ref)), a.name, a.tags)
    if a.ref == act.BACKEND_REF:
        return replace(state, backend_group=group)
    return replace(state, frontend_group=group)


async def _find_group(ctx: Context, name: str) -> tuple[str, dict[str, str]] | None:
    existing = await ctx.run(
        "ec2", "DescribeSecurityGroups",
        lambda: ctx.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [ctx.vpc_id]},
            {"Name": "group-name", "Values": [name]},
        ])["SecurityGroups"],
    )
    if not existing:
        return None
    return str(existing[0]["GroupId"]), dict(tags_of(existing[0].get("Tags", [])))


async def _create_group(ctx: Context, a: act.CreateGroup) -> None:
    tags: list[TagSpecificationTypeDef] = [{"ResourceType": "security-group",
             "Tags": [{"Key": k, "Value": v} for k, v in a.tags]}]
    try:
        created = await ctx.run(
            "ec2", "CreateSecurityGroup",
            lambda: ctx.ec2.create_security_group(
                GroupName=a.name, Description=a.description, VpcId=ctx.vpc_id,
                TagSpecifications=tags,
            ),
        )
        ctx.applied.refs[a.ref] = str(created["GroupId"])
        return
    except CloudError as exc:
        if exc.code != "InvalidGroup.Duplicate":
            raise
    # Created before a crash: take it over only if it carries our tags.
    found = await _find_group(ctx, a.name)
    if found is not None and all(found[1].get(k) == v for k, v in a.tags):
        ctx.applied.refs[a.ref] = found[0]
        return
    raise Conflict(f"security group {a.name} exists in {ctx.vpc_id} without our tags",
                   "CreateSecurityGroup", "InvalidGroup.Duplicate")


register(ActionKind(
    act.CreateGroup, _create_group, _create_group_effect,
    ((EC2, "CreateSecurityGroup"), (EC2, "DescribeSecurityGroups")),
))


# -- AuthorizeIngress / RevokeIngress ----------------------------------------------------
def _ingress_effect(
    state: Observed, group: str, rules: frozenset[IngressRule], add: bool
) -> Observed:
    front = state.frontend_group
    if front is not None and front.id == group:
        new_rules = front.rules | rules if add else front.rules - rules
        return replace(state, frontend_group=replace(front, rules=new_rules))
    admitting = state.node_groups_admitting
    return replace(state, node_groups_admitting=admitting | {group} if add else admitting - {group})


def _authorize_effect(state: Observed, a: act.AuthorizeIngress, applied: Applied) -> Observed:
    return _ingress_effect(state, applied.ref(a.group), _resolved(a.rules, applied), True)


def _revoke_effect(state: Observed, a: act.RevokeIngress, applied: Applied) -> Observed:
    return _ingress_effect(state, applied.ref(a.group), _resolved(a.rules, applied), False)


async def _authorize(ctx: Context, a: act.AuthorizeIngress) -> None:
    rules = tuple(sorted(_resolved(a.rules, ctx.applied)))
    try:
        await ctx.run(
            "ec2", "AuthorizeSecurityGroupIngress",
            lambda: ctx.ec2.authorize_security_group_ingress(
                GroupId=ctx.applied.ref(a.group), IpPermissions=permissions_of(rules)
            ),
        )
    except Conflict as exc:
        if exc.code != "InvalidPermission.Duplicate":
            raise


async def _revoke(ctx: Context, a: act.RevokeIngress) -> None:
    rules = tuple(sorted(_resolved(a.rules, ctx.applied)))
    with contextlib.suppress(NotFound):
        await ctx.run(
            "ec2", "RevokeSecurityGroupIngress",
            lambda: ctx.ec2.revoke_security_group_ingress(
                GroupId=ctx.applied.ref(a.group), IpPermissions=permissions_of(rules)
            ),
        )


register(ActionKind(act.AuthorizeIngress, _authorize, _authorize_effect,
                    ((EC2, "AuthorizeSecurityGroupIngress"),)))
register(ActionKind(act.RevokeIngress, _revoke, _revoke_effect,
                    ((EC2, "RevokeSecurityGroupIngress"),)))


# -- DeleteGroup -------------------------------------------------------------------------
def _delete_group_effect(state: Observed, a: act.DeleteGroup, applied: Applied) -> Observed:
    if state.backend_group is not None and state.backend_group.id == a.group:
        return replace(state, backend_group=None, node_groups_admitting=frozenset())
    if state.frontend_group is not None and state.frontend_group.id == a.group:
        return replace(state, frontend_group=None)
    return state


async def _delete_group(ctx: Context, a: act.DeleteGroup) -> None:
    try:
        await ctx.run("ec2", "DeleteSecurityGroup",
                      lambda: ctx.ec2.delete_security_group(GroupId=a.group))
    except NotFound:
        return
    except Conflict as exc:
        if exc.code != "DependencyViolation":
            raise
        referencing = await ctx.run(
            "ec2", "DescribeSecurityGroups",
            lambda: ctx.ec2.describe_security_groups(
                Filters=[{"Name": "ip-permission.group-id", "Values": [a.group]}]
            )["SecurityGroups"],
        )
        blockers = tuple(sorted(g["GroupId"] for g in referencing if g["GroupId"] != a.group))
        detail = (f"; rules in {', '.join(blockers)} reference it: remove them" if blockers
                  else "; its network interfaces are still in use")
        raise GroupInUse(
            f"security group {a.group} ({a.name}) cannot be deleted yet{detail}", blockers
        ) from None


register(ActionKind(act.DeleteGroup, _delete_group, _delete_group_effect,
                    ((EC2, "DeleteSecurityGroup"), (EC2, "DescribeSecurityGroups"))))
