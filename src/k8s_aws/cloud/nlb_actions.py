"""Network LB actions (ELBv2): each one's applier (its AWS calls), effect on the snapshot
(pure) and operations, registered once in `cloud.lb_registry`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from k8s_aws.cloud.clb_group_actions import GroupInUse
from k8s_aws.cloud.errors import Conflict, Invalid, NotFound
from k8s_aws.cloud.lb_registry import ActionKind, Applied, Context, register
from k8s_aws.cloud.nlb_wire import health_check_args, tags_arg
from k8s_aws.model import nlb_actions as act
from k8s_aws.model.ids import Arn, LoadBalancerName
from k8s_aws.model.loadbalancer import Observed

if TYPE_CHECKING:
    from mypy_boto3_elbv2.literals import ProtocolEnumType
    from mypy_boto3_elbv2.type_defs import TargetDescriptionTypeDef
from k8s_aws.model.nlb import (
    ObservedNetworkLB,
    ObservedNlbListener,
    ObservedTargetGroup,
    TargetHealthCheck,
)

ELBV2 = "elbv2"
TARGET_CHUNK = 100  # AWS accepts at most this many targets per (de)registration


def _listener_ref(port: int) -> str:
    return f"$listener:{port}"


class TargetGroupInUse(GroupInUse):
    """A target group still attached to a load balancer AWS is deleting: retried later."""


# -- target groups ------------------------------------------------------------------------
async def _create_tg(ctx: Context, a: act.CreateTargetGroup) -> None:
    created = await ctx.run(
        ELBV2, "CreateTargetGroup",
        lambda: ctx.elbv2.create_target_group(
            Name=a.name, Protocol=cast("ProtocolEnumType", a.protocol), Port=a.port,
            VpcId=ctx.vpc_id,
            TargetType="instance", Tags=tags_arg(a.tags), **health_check_args(a.health_check),
        )["TargetGroups"][0],
    )
    ctx.applied.refs[act.target_group_ref(a.name)] = str(created["TargetGroupArn"])


def _created_tg(state: Observed, a: act.CreateTargetGroup, applied: Applied) -> Observed:
    group = ObservedTargetGroup(Arn(applied.ref(act.target_group_ref(a.name))), a.name, a.protocol,
                                a.port, a.health_check, a.tags, frozenset())
    kept = tuple(tg for tg in state.target_groups if tg.name != a.name)
    return replace(state, target_groups=(*kept, group))


def _checked(state: Observed, arn: str, check: TargetHealthCheck) -> Observed:
    return replace(state, target_groups=tuple(
        replace(tg, health_check=check) if tg.arn == arn else tg for tg in state.target_groups
    ))


async def _modify_tg(ctx: Context, a: act.ModifyTargetGroupHealthCheck) -> None:
    await ctx.run(ELBV2, "ModifyTargetGroup", lambda: ctx.elbv2.modify_target_group(
        TargetGroupArn=a.target_group, **health_check_args(a.health_check)))


async def _delete_tg(ctx: Context, a: act.DeleteTargetGroup) -> None:
    try:
        await ctx.run(ELBV2, "DeleteTargetGroup",
                      lambda: ctx.elbv2.delete_target_group(TargetGroupArn=a.target_group))
    except NotFound:
        return
    except Conflict as exc:
        if exc.code != "ResourceInUse":
            raise
        raise TargetGroupInUse(
            f"target group {a.name} is still in use by a load balancer being deleted", ()
        ) from None


register(ActionKind(act.CreateTargetGroup, _create_tg, _created_tg,
                    ((ELBV2, "CreateTargetGroup"),)))
register(ActionKind(
    act.ModifyTargetGroupHealthCheck, _modify_tg,
    lambda state, a, applied: _checked(state, a.target_group, a.health_check),
    ((ELBV2, "ModifyTargetGroup"),),
))
async def _modify_tg_attributes(ctx: Context, a: act.ModifyTargetGroupAttributes) -> None:
    await ctx.run(ELBV2, "ModifyTargetGroupAttributes",
                  lambda: ctx.elbv2.modify_target_group_attributes(
                      TargetGroupArn=ctx.applied.ref(a.target_group),
                      Attributes=[{"Key": k, "Value": v} for k, v in a.attributes]))


def _attributes_set(state: Observed, a: act.ModifyTargetGroupAttributes,
                    applied: Applied) -> Observed:
    arn = applied.ref(a.target_group)
    return replace(state, target_groups=tuple(
        replace(tg, attributes=tuple(sorted({**dict(tg.attributes), **dict(a.attributes)}
                                            .items())))
        if tg.arn == arn else tg for tg in state.target_groups
    ))


register(ActionKind(act.ModifyTargetGroupAttributes, _modify_tg_attributes, _attributes_set,
                    ((ELBV2, "ModifyTargetGroupAttributes"),)))
register(ActionKind(
    act.DeleteTargetGroup, _delete_tg,
    lambda state, a, applied: replace(state, target_groups=tuple(
        tg for tg in state.target_groups if tg.arn != a.target_group)),
    ((ELBV2, "DeleteTargetGroup"),),
))


# -- the load balancer --------------------------------------------------------------------
def _placement(a: act.CreateNetworkLoadBalancer) -> dict[str, Any]:
    """Subnets, or subnet mappings when static addresses (EIPs, private IPs) are asked for."""
    if not a.mappings:
        return {"Subnets": list(a.subnets)}
    mappings = []
    for subnet, allocation, address in a.mappings:
        mapping = {"SubnetId": subnet}
        if allocation:
            mapping["AllocationId"] = allocation
        if address:
            mapping["PrivateIPv4Address"] = address
        mappings.append(mapping)
    return {"SubnetMappings": mappings}


async def _create_nlb(ctx: Context, a: act.CreateNetworkLoadBalancer) -> None:
    created = await ctx.run(
        ELBV2, "CreateLoadBalancer",
        lambda: ctx.elbv2.create_load_balancer(
            Name=a.name, **_placement(a), Type="network", IpAddressType="ipv4",
            SecurityGroups=[ctx.applied.ref(g) for g in a.groups],
            Scheme="internal" if a.internal else "internet-facing", Tags=tags_arg(a.tags),
        )["LoadBalancers"][0],
    )
    ctx.applied.refs[act.NLB_REF] = str(created["LoadBalancerArn"])
    ctx.applied.dns_name = str(created.get("DNSName", ""))


def _created_nlb(state: Observed, a: act.CreateNetworkLoadBalancer, applied: Applied) -> Observed:
    return replace(state, network_lb=ObservedNetworkLB(
        arn=Arn(applied.ref(act.NLB_REF)), name=LoadBalancerName(a.name),
        dns_name=applied.dns_name,
        internal=a.internal, subnets=tuple(sorted(a.subnets)),
        security_groups=tuple(applied.ref(g) for g in a.groups), tags=a.tags,
    ))


async def _delete_nlb(ctx: Context, a: act.DeleteNetworkLoadBalancer) -> None:
    with contextlib.suppress(NotFound):
        await ctx.run(ELBV2, "DeleteLoadBalancer",
                      lambda: ctx.elbv2.delete_load_balancer(LoadBalancerArn=a.load_balancer))


async def _modify_nlb_attributes(
    ctx: Context, a: act.ModifyNetworkLoadBalancerAttributes
) -> None:
    await ctx.run(ELBV2, "ModifyLoadBalancerAttributes",
                  lambda: ctx.elbv2.modify_load_balancer_attributes(
                      LoadBalancerArn=ctx.applied.ref(a.load_balancer),
                      Attributes=[{"Key": k, "Value": v} for k, v in a.attributes]))


def _nlb_attributes_set(
    state: Observed, a: act.ModifyNetworkLoadBalancerAttributes, applied: Applied
) -> Observed:
    lb = state.network_lb
    return state if lb is None else replace(state, network_lb=replace(
        lb, attributes=a.attributes))


register(ActionKind(act.ModifyNetworkLoadBalancerAttributes, _modify_nlb_attributes,
                    _nlb_attributes_set, ((ELBV2, "ModifyLoadBalancerAttributes"),)))
register(ActionKind(act.CreateNetworkLoadBalancer, _create_nlb, _created_nlb,
                    ((ELBV2, "CreateLoadBalancer"),)))
register(ActionKind(
    act.DeleteNetworkLoadBalancer, _delete_nlb,
    lambda state, a, applied: replace(state, network_lb=None),
    ((ELBV2, "DeleteLoadBalancer"),),
))


# -- listeners ------------------------------------------------------------------------------
def _tls_args(a: act.CreateNlbListener) -> dict[str, Any]:
    if a.protocol != "TLS":
        return {}
    args: dict[str, Any] = {"Certificates": [{"CertificateArn": a.certificate}],
                            "SslPolicy": a.ssl_policy}
    if a.alpn:
        args["AlpnPolicy"] = [a.alpn]
    return args


async def _create_listener(ctx: Context, a: act.CreateNlbListener) -> None:
    created = await ctx.run(
        ELBV2, "CreateListener",
        lambda: ctx.elbv2.create_listener(
            LoadBalancerArn=ctx.applied.ref(a.load_balancer),
            Protocol=cast("ProtocolEnumType", a.protocol), Port=a.port,
            DefaultActions=[{"Type": "forward",
                             "TargetGroupArn": ctx.applied.ref(a.target_group)}],
            Tags=tags_arg(a.tags), **_tls_args(a),
        )["Listeners"][0],
    )
    ctx.applied.refs[_listener_ref(a.port)] = str(created["ListenerArn"])


Listeners = tuple[ObservedNlbListener, ...]


def _listeners(state: Observed, change: Callable[[Listeners], Listeners]) -> Observed:
    lb = state.network_lb
    if lb is None:
        return state
    listeners = change(lb.listeners)
    return replace(state, network_lb=replace(lb, listeners=tuple(sorted(listeners))))


def _created_listener(state: Observed, a: act.CreateNlbListener, applied: Applied) -> Observed:
    new = ObservedNlbListener(Arn(applied.ref(_listener_ref(a.port))), a.port, a.protocol,
                              applied.ref(a.target_group), a.certificate, a.ssl_policy, a.alpn)
    return _listeners(state, lambda have: (*have, new))


async def _delete_listener(ctx: Context, a: act.DeleteNlbListener) -> None:
    with contextlib.suppress(NotFound):
        await ctx.run(ELBV2, "DeleteListener",
                      lambda: ctx.elbv2.delete_listener(ListenerArn=a.listener))


register(ActionKind(act.CreateNlbListener, _create_listener, _created_listener,
                    ((ELBV2, "CreateListener"),)))
register(ActionKind(
    act.DeleteNlbListener, _delete_listener,
    lambda state, a, applied: _listeners(
        state, lambda have: tuple(x for x in have if x.arn != a.listener)),
    ((ELBV2, "DeleteListener"),),
))


# -- targets --------------------------------------------------------------------------------
def _chunks(instances: tuple[str, ...]) -> list[list[TargetDescriptionTypeDef]]:
    return [[{"Id": i} for i in instances[start : start + TARGET_CHUNK]]
            for start in range(0, len(instances), TARGET_CHUNK)]


async def _register_chunk(ctx: Context, arn: str, chunk: list[TargetDescriptionTypeDef]
                          ) -> None:
    await ctx.run(ELBV2, "RegisterTargets",
                  lambda: ctx.elbv2.register_targets(TargetGroupArn=arn, Targets=chunk))


async def _deregister_chunk(ctx: Context, arn: str, chunk: list[TargetDescriptionTypeDef]
                            ) -> None:
    """AWS refuses the whole call (InvalidTarget) if one instance no longer exists (it
    deregisters terminated instances itself): then each target goes alone, a gone one skipped."""
    try:
        with contextlib.suppress(NotFound):
            await ctx.run(ELBV2, "DeregisterTargets",
                          lambda: ctx.elbv2.deregister_targets(TargetGroupArn=arn, Targets=chunk))
    except Invalid as exc:
        if exc.code != "InvalidTarget":
            raise
        if len(chunk) == 1:
            return
        for target in chunk:
            await _deregister_chunk(ctx, arn, [target])


async def _register(ctx: Context, a: act.RegisterTargets) -> None:
    for chunk in _chunks(a.instances):
        await _register_chunk(ctx, ctx.applied.ref(a.target_group), chunk)


async def _deregister(ctx: Context, a: act.DeregisterTargets) -> None:
    for chunk in _chunks(a.instances):
        await _deregister_chunk(ctx, a.target_group, chunk)


def _targets(state: Observed, arn: str, instances: tuple[str, ...], add: bool) -> Observed:
    return replace(state, target_groups=tuple(
        replace(tg, targets=tg.targets | set(instances) if add else tg.targets - set(instances))
        if tg.arn == arn else tg
        for tg in state.target_groups
    ))


register(ActionKind(
    act.RegisterTargets, _register,
    lambda state, a, applied: _targets(state, applied.ref(a.target_group), a.instances, True),
    ((ELBV2, "RegisterTargets"),),
))
register(ActionKind(
    act.DeregisterTargets, _deregister,
    lambda state, a, applied: _targets(state, a.target_group, a.instances, False),
    ((ELBV2, "DeregisterTargets"),),
))
