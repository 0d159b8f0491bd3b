"""Changes to an existing Network LB (ELBv2) that AWS makes in place: security groups,
subnets, tags, a listener's protocol, target group and TLS settings. Each one's applier,
pure effect and operations, registered once in `cloud.lb_registry`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from k8s_aws.cloud.lb_registry import ActionKind, Applied, Context, register
from k8s_aws.cloud.nlb_wire import tags_arg
from k8s_aws.model import nlb_actions as act
from k8s_aws.model.ids import Arn
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.model.nlb import ObservedNetworkLB, ObservedNlbListener

ELBV2 = "elbv2"


def _changed(state: Observed, change: Callable[[ObservedNetworkLB], ObservedNetworkLB]
             ) -> Observed:
    lb = state.network_lb
    return state if lb is None else replace(state, network_lb=change(lb))


async def _set_groups(ctx: Context, a: act.SetNlbSecurityGroups) -> None:
    await ctx.run(ELBV2, "SetSecurityGroups", lambda: ctx.elbv2.set_security_groups(
        LoadBalancerArn=a.load_balancer, SecurityGroups=[ctx.applied.ref(g) for g in a.groups]))


async def _set_subnets(ctx: Context, a: act.SetNlbSubnets) -> None:
    await ctx.run(ELBV2, "SetSubnets", lambda: ctx.elbv2.set_subnets(
        LoadBalancerArn=a.load_balancer, Subnets=list(a.subnets)))


async def _add_tags(ctx: Context, a: act.AddNlbTags) -> None:
    await ctx.run(ELBV2, "AddTags", lambda: ctx.elbv2.add_tags(
        ResourceArns=[a.load_balancer], Tags=tags_arg(a.tags)))


async def _remove_tags(ctx: Context, a: act.RemoveNlbTags) -> None:
    await ctx.run(ELBV2, "RemoveTags", lambda: ctx.elbv2.remove_tags(
        ResourceArns=[a.load_balancer], TagKeys=list(a.keys)))


def _listener_args(a: act.ModifyNlbListener, ctx: Context) -> dict[str, Any]:
    args: dict[str, Any] = {
        "ListenerArn": a.listener, "Port": a.port, "Protocol": a.protocol,
        "DefaultActions": [{"Type": "forward",
                            "TargetGroupArn": ctx.applied.ref(a.target_group)}],
    }
    if a.protocol == "TLS":
        args["Certificates"] = [{"CertificateArn": a.certificate}]
        args["SslPolicy"] = a.ssl_policy
        args["AlpnPolicy"] = [a.alpn or "None"]  # "None" takes a former policy off
    return args


async def _modify_listener(ctx: Context, a: act.ModifyNlbListener) -> None:
    await ctx.run(ELBV2, "ModifyListener",
                  lambda: ctx.elbv2.modify_listener(**_listener_args(a, ctx)))


def _listener_modified(state: Observed, a: act.ModifyNlbListener, applied: Applied) -> Observed:
    new = ObservedNlbListener(Arn(a.listener), a.port, a.protocol, applied.ref(a.target_group),
                              a.certificate, a.ssl_policy, a.alpn)
    return _changed(state, lambda lb: replace(lb, listeners=tuple(sorted(
        new if x.arn == a.listener else x for x in lb.listeners))))


def _tags_removed(lb: ObservedNetworkLB, keys: tuple[str, ...]) -> ObservedNetworkLB:
    return replace(lb, tags=tuple((k, v) for k, v in lb.tags if k not in keys))


def _tags_added(lb: ObservedNetworkLB, tags: tuple[tuple[str, str], ...]) -> ObservedNetworkLB:
    return replace(lb, tags=tuple(sorted({**dict(lb.tags), **dict(tags)}.items())))


register(ActionKind(
    act.SetNlbSecurityGroups, _set_groups,
    lambda state, a, applied: _changed(state, lambda lb: replace(
        lb, security_groups=tuple(applied.ref(g) for g in a.groups))),
    ((ELBV2, "SetSecurityGroups"),),
))
register(ActionKind(
    act.SetNlbSubnets, _set_subnets,
    lambda state, a, applied: _changed(state, lambda lb: replace(lb, subnets=a.subnets)),
    ((ELBV2, "SetSubnets"),),
))
register(ActionKind(
    act.AddNlbTags, _add_tags,
    lambda state, a, applied: _changed(state, lambda lb: _tags_added(lb, a.tags)),
    ((ELBV2, "AddTags"),),
))
register(ActionKind(
    act.RemoveNlbTags, _remove_tags,
    lambda state, a, applied: _changed(state, lambda lb: _tags_removed(lb, a.keys)),
    ((ELBV2, "RemoveTags"),),
))
register(ActionKind(act.ModifyNlbListener, _modify_listener, _listener_modified,
                    ((ELBV2, "ModifyListener"),)))
