"""Classic ELB actions: each one's applier (its AWS calls), effect on the snapshot (pure) and
operations, registered once in `cloud.lb_registry`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from k8s_aws.cloud.clb_wire import listener_arg
from k8s_aws.cloud.errors import Conflict
from k8s_aws.cloud.lb_registry import ActionKind, Applied, Context, register
from k8s_aws.model import lb_actions as act
from k8s_aws.model.ids import LoadBalancerName
from k8s_aws.model.loadbalancer import Attributes, HealthCheck, Observed, ObservedLoadBalancer
from k8s_aws.support.shared_sets import shared

if TYPE_CHECKING:
    from mypy_boto3_elb.type_defs import (
        HealthCheckTypeDef,
        LoadBalancerAttributesTypeDef,
        PolicyAttributeTypeDef,
        TagTypeDef,
    )

ELB = "elb"
A = TypeVar("A", bound=act.Action)
UNSET_HEALTH_CHECK = HealthCheck("", 0, 0, 0, 0)  # until ConfigureHealthCheck sets it


def _on_lb(
    change: Callable[[ObservedLoadBalancer, A], ObservedLoadBalancer],
) -> Callable[[Observed, A, Applied], Observed]:
    """An effect that changes the snapshot's load balancer (none there: nothing changes)."""

    def effect(state: Observed, a: A, applied: Applied) -> Observed:
        lb = state.load_balancer
        return state if lb is None else replace(state, load_balancer=change(lb, a))

    return effect


def _set_policy(
    current: tuple[tuple[int, tuple[str, ...]], ...], port: int, names: tuple[str, ...]
) -> tuple[tuple[int, tuple[str, ...]], ...]:
    table = dict(current)
    if names:
        table[port] = names
    else:
        table.pop(port, None)
    return tuple(sorted(table.items()))


def _tags_arg(tags: tuple[tuple[str, str], ...]) -> list[TagTypeDef]:
    return [{"Key": k, "Value": v} for k, v in tags]


# -- CreateLoadBalancer / DeleteLoadBalancer ---------------------------------------------
def _created(state: Observed, a: act.CreateLoadBalancer, applied: Applied) -> Observed:
    return replace(state, load_balancer=ObservedLoadBalancer(
        name=LoadBalancerName(a.name), dns_name=applied.dns_name, internal=a.internal,
        subnets=a.subnets,
        security_groups=tuple(applied.ref(g) for g in a.groups),
        listeners=frozenset(a.listeners), health_check=UNSET_HEALTH_CHECK,
        attributes=Attributes(), tags=a.tags, instances=frozenset(),
    ))


async def _create_lb(ctx: Context, a: act.CreateLoadBalancer) -> None:
    created = await ctx.run(
        "elb", "CreateLoadBalancer",
        lambda: ctx.elb.create_load_balancer(
            LoadBalancerName=a.name, Listeners=[listener_arg(x) for x in a.listeners],
            Subnets=list(a.subnets), SecurityGroups=[ctx.applied.ref(g) for g in a.groups],
            Scheme="internal" if a.internal else "internet-facing", Tags=_tags_arg(a.tags),
        ),
    )
    ctx.applied.dns_name = str(created.get("DNSName", ""))


async def _delete_lb(ctx: Context, a: act.DeleteLoadBalancer) -> None:
    await ctx.run("elb", "DeleteLoadBalancer",
                  lambda: ctx.elb.delete_load_balancer(LoadBalancerName=a.name))


register(ActionKind(act.CreateLoadBalancer, _create_lb, _created, ((ELB, "CreateLoadBalancer"),)))
register(ActionKind(
    act.DeleteLoadBalancer, _delete_lb,
    lambda state, a, applied: replace(state, load_balancer=None),
    ((ELB, "DeleteLoadBalancer"),),
))


# -- Subnets, groups, listeners ----------------------------------------------------------
async def _set_subnets(ctx: Context, a: act.SetSubnets) -> None:
    if a.attach:
        await ctx.run("elb", "AttachLoadBalancerToSubnets",
                      lambda: ctx.elb.attach_load_balancer_to_subnets(
                          LoadBalancerName=a.name, Subnets=list(a.attach)))
    if a.detach:
        await ctx.run("elb", "DetachLoadBalancerFromSubnets",
                      lambda: ctx.elb.detach_load_balancer_from_subnets(
                          LoadBalancerName=a.name, Subnets=list(a.detach)))


register(ActionKind(
    act.SetSubnets, _set_subnets,
    _on_lb(lambda lb, a: replace(lb, subnets=tuple(sorted(
        (set(lb.subnets) | set(a.attach)) - set(a.detach))))),
    ((ELB, "AttachLoadBalancerToSubnets"), (ELB, "DetachLoadBalancerFromSubnets")),
))


async def _set_groups(ctx: Context, a: act.SetGroups) -> None:
    await ctx.run("elb", "ApplySecurityGroupsToLoadBalancer",
                  lambda: ctx.elb.apply_security_groups_to_load_balancer(
                      LoadBalancerName=a.name,
                      SecurityGroups=[ctx.applied.ref(g) for g in a.groups]))


def _groups_set(state: Observed, a: act.SetGroups, applied: Applied) -> Observed:
    lb = state.load_balancer
    if lb is None:
        return state
    groups = tuple(applied.ref(g) for g in a.groups)
    return replace(state, load_balancer=replace(lb, security_groups=groups))


register(ActionKind(act.SetGroups, _set_groups, _groups_set,
                    ((ELB, "ApplySecurityGroupsToLoadBalancer"),)))


async def _delete_listeners(ctx: Context, a: act.DeleteListeners) -> None:
    await ctx.run("elb", "DeleteLoadBalancerListeners",
                  lambda: ctx.elb.delete_load_balancer_listeners(
                      LoadBalancerName=a.name, LoadBalancerPorts=list(a.ports)))


async def _create_listeners(ctx: Context, a: act.CreateListeners) -> None:
    await ctx.run("elb", "CreateLoadBalancerListeners",
                  lambda: ctx.elb.create_load_balancer_listeners(
                      LoadBalancerName=a.name,
                      Listeners=[listener_arg(x) for x in a.listeners]))


register(ActionKind(
    act.DeleteListeners, _delete_listeners,
    _on_lb(lambda lb, a: replace(lb, listeners=frozenset(
        x for x in lb.listeners if x.lb_port not in a.ports))),
    ((ELB, "DeleteLoadBalancerListeners"),),
))
register(ActionKind(
    act.CreateListeners, _create_listeners,
    _on_lb(lambda lb, a: replace(lb, listeners=lb.listeners | frozenset(a.listeners))),
    ((ELB, "CreateLoadBalancerListeners"),),
))


# -- Health check, attributes ------------------------------------------------------------
async def _configure_health_check(ctx: Context, a: act.ConfigureHealthCheck) -> None:
    h = a.health_check
    check: HealthCheckTypeDef = {"Target": h.target, "Interval": h.interval, "Timeout": h.timeout,
             "HealthyThreshold": h.healthy_threshold, "UnhealthyThreshold": h.unhealthy_threshold}
    await ctx.run("elb", "ConfigureHealthCheck",
                  lambda: ctx.elb.configure_health_check(LoadBalancerName=a.name,
                                                         HealthCheck=check))


register(ActionKind(
    act.ConfigureHealthCheck, _configure_health_check,
    _on_lb(lambda lb, a: replace(lb, health_check=a.health_check)),
    ((ELB, "ConfigureHealthCheck"),),
))


def _attributes_arg(t: Attributes) -> LoadBalancerAttributesTypeDef:
    logs: dict[str, Any] = {"Enabled": t.access_log_enabled}
    if t.access_log_enabled:
        logs.update(S3BucketName=t.access_log_bucket, EmitInterval=t.access_log_interval,
                    S3BucketPrefix=t.access_log_prefix)
    return cast("LoadBalancerAttributesTypeDef", {
        "CrossZoneLoadBalancing": {"Enabled": t.cross_zone},
        "ConnectionDraining": {"Enabled": t.draining_enabled, "Timeout": t.draining_timeout},
        "ConnectionSettings": {"IdleTimeout": t.idle_timeout},
        "AccessLog": logs,
    })


async def _modify_attributes(ctx: Context, a: act.ModifyAttributes) -> None:
    await ctx.run("elb", "ModifyLoadBalancerAttributes",
                  lambda: ctx.elb.modify_load_balancer_attributes(
                      LoadBalancerName=a.name,
                      LoadBalancerAttributes=_attributes_arg(a.attributes)))


register(ActionKind(
    act.ModifyAttributes, _modify_attributes,
    _on_lb(lambda lb, a: replace(lb, attributes=a.attributes)),
    ((ELB, "ModifyLoadBalancerAttributes"),),
))


# -- Policies ----------------------------------------------------------------------------
async def _create_policy(ctx: Context, a: act.CreatePolicy) -> None:
    attributes: list[PolicyAttributeTypeDef] = [
        {"AttributeName": k, "AttributeValue": v} for k, v in a.attributes]
    try:
        await ctx.run("elb", "CreateLoadBalancerPolicy",
                      lambda: ctx.elb.create_load_balancer_policy(
                          LoadBalancerName=a.name, PolicyName=a.policy, PolicyTypeName=a.type,
                          PolicyAttributes=attributes))
    except Conflict as exc:
        if exc.code != "DuplicatePolicyName":
            raise


async def _set_backend_policies(ctx: Context, a: act.SetBackendPolicies) -> None:
    await ctx.run("elb", "SetLoadBalancerPoliciesForBackendServer",
                  lambda: ctx.elb.set_load_balancer_policies_for_backend_server(
                      LoadBalancerName=a.name, InstancePort=a.instance_port,
                      PolicyNames=list(a.policies)))


async def _set_listener_policies(ctx: Context, a: act.SetListenerPolicies) -> None:
    await ctx.run("elb", "SetLoadBalancerPoliciesOfListener",
                  lambda: ctx.elb.set_load_balancer_policies_of_listener(
                      LoadBalancerName=a.name, LoadBalancerPort=a.lb_port,
                      PolicyNames=list(a.policies)))


register(ActionKind(
    act.CreatePolicy, _create_policy,
    _on_lb(lambda lb, a: replace(lb, policies=lb.policies | {a.policy})),
    ((ELB, "CreateLoadBalancerPolicy"),),
))
register(ActionKind(
    act.SetBackendPolicies, _set_backend_policies,
    _on_lb(lambda lb, a: replace(lb, backend_policies=_set_policy(
        lb.backend_policies, a.instance_port, a.policies))),
    ((ELB, "SetLoadBalancerPoliciesForBackendServer"),),
))
register(ActionKind(
    act.SetListenerPolicies, _set_listener_policies,
    _on_lb(lambda lb, a: replace(lb, listener_policies=_set_policy(
        lb.listener_policies, a.lb_port, a.policies))),
    ((ELB, "SetLoadBalancerPoliciesOfListener"),),
))


# -- Tags, instances ---------------------------------------------------------------------
async def _add_tags(ctx: Context, a: act.AddTags) -> None:
    await ctx.run("elb", "AddTags",
                  lambda: ctx.elb.add_tags(LoadBalancerNames=[a.name], Tags=_tags_arg(a.tags)))


async def _register(ctx: Context, a: act.RegisterInstances) -> None:
    await ctx.run("elb", "RegisterInstancesWithLoadBalancer",
                  lambda: ctx.elb.register_instances_with_load_balancer(
                      LoadBalancerName=a.name, Instances=[{"InstanceId": i} for i in a.instances]))


async def _deregister(ctx: Context, a: act.DeregisterInstances) -> None:
    await ctx.run("elb", "DeregisterInstancesFromLoadBalancer",
                  lambda: ctx.elb.deregister_instances_from_load_balancer(
                      LoadBalancerName=a.name, Instances=[{"InstanceId": i} for i in a.instances]))


register(ActionKind(
    act.AddTags, _add_tags,
    _on_lb(lambda lb, a: replace(
        lb, tags=tuple(sorted({**dict(lb.tags), **dict(a.tags)}.items())))),
    ((ELB, "AddTags"),),
))
register(ActionKind(
    act.RegisterInstances, _register,
    _on_lb(lambda lb, a: replace(lb, instances=shared(lb.instances | frozenset(a.instances)))),
    ((ELB, "RegisterInstancesWithLoadBalancer"),),
))
register(ActionKind(
    act.DeregisterInstances, _deregister,
    _on_lb(lambda lb, a: replace(lb, instances=shared(lb.instances - frozenset(a.instances)))),
    ((ELB, "DeregisterInstancesFromLoadBalancer"),),
))
