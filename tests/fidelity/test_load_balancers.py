"""ELBv2: provisioning before active, draining targets, idempotent creates."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import LONG, Aws, World, error_of


@pytest.fixture
def elbv2(aws: Aws) -> Any:
    return aws.client("elbv2")


def create_nlb(elbv2: Any, world: World, name: str = "n1", **extra: Any) -> dict[str, Any]:
    answer = elbv2.create_load_balancer(Name=name, Type="network", Scheme="internal",
                                        Subnets=sorted(world.subnets.values()), **extra)
    return dict(answer["LoadBalancers"][0])


def lb_state(elbv2: Any, arn: str) -> str:
    found = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    return str(found["State"]["Code"])


def test_a_load_balancer_is_provisioning_then_active(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    created = create_nlb(elbv2, world)
    assert created["State"]["Code"] == "provisioning"
    assert lb_state(elbv2, created["LoadBalancerArn"]) == "provisioning"
    assert elbv2.describe_load_balancers()["LoadBalancers"][0]["State"]["Code"] == "provisioning"
    control.advance(LONG)
    assert lb_state(elbv2, created["LoadBalancerArn"]) == "active"


def test_same_settings_give_the_same_load_balancer(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    first = create_nlb(elbv2, world, Tags=[{"Key": "a", "Value": "1"}])
    again = create_nlb(elbv2, world)  # tags are not settings
    assert again["LoadBalancerArn"] == first["LoadBalancerArn"]
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    control.advance(LONG)
    assert create_nlb(elbv2, world)["State"]["Code"] == "active"


def test_same_name_other_settings_is_a_duplicate(elbv2: Any, world: World) -> None:
    create_nlb(elbv2, world)
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_load_balancer(Name="n1", Type="network", Scheme="internet-facing",
                                   Subnets=sorted(world.subnets.values()))
    assert error_of(excinfo) == ("DuplicateLoadBalancerName", 400)
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1


def test_an_nlb_made_without_security_groups_takes_none_later(
    elbv2: Any, world: World
) -> None:
    bare = create_nlb(elbv2, world, "bare")
    group = world.group
    with pytest.raises(elbv2.exceptions.ClientError) as refused:
        elbv2.set_security_groups(LoadBalancerArn=bare["LoadBalancerArn"],
                                  SecurityGroups=[group])
    assert refused.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
    made = create_nlb(elbv2, world, "grouped", SecurityGroups=[group])
    elbv2.set_security_groups(LoadBalancerArn=made["LoadBalancerArn"], SecurityGroups=[group])


def test_a_deleted_listener_detaches_its_target_group(elbv2: Any, world: World) -> None:
    lb = create_nlb(elbv2, world, "detach")["LoadBalancerArn"]
    group = create_group(elbv2, world)
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="TCP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])["Listeners"][0]
    attached = elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]
    assert attached["LoadBalancerArns"] == [lb]
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    detached = elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]
    assert detached["LoadBalancerArns"] == []


def create_group(elbv2: Any, world: World, port: int = 30080) -> str:
    return str(elbv2.create_target_group(
        Name="k8s-default-web-0123456789", Protocol="TCP", Port=port, VpcId=world.vpc,
        TargetType="instance")["TargetGroups"][0]["TargetGroupArn"])


def test_target_groups_and_listeners_are_idempotent(elbv2: Any, world: World) -> None:
    balancer = create_nlb(elbv2, world)["LoadBalancerArn"]
    group = create_group(elbv2, world)
    assert create_group(elbv2, world) == group
    with pytest.raises(ClientError) as excinfo:
        create_group(elbv2, world, port=30081)
    assert error_of(excinfo) == ("DuplicateTargetGroupName", 400)
    listener: dict[str, Any] = {"LoadBalancerArn": balancer, "Protocol": "TCP", "Port": 80,
                                "DefaultActions": [{"Type": "forward",
                                                    "TargetGroupArn": group}]}
    first = elbv2.create_listener(**listener)["Listeners"][0]["ListenerArn"]
    assert elbv2.create_listener(**listener)["Listeners"][0]["ListenerArn"] == first
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(**{**listener, "Protocol": "UDP"})
    assert error_of(excinfo) == ("DuplicateListener", 400)
    assert len(elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]) == 1


def health(elbv2: Any, group: str) -> dict[str, str]:
    found = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return {t["Target"]["Id"]: t["TargetHealth"]["State"] for t in found}


def test_a_deregistered_target_drains(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    group = create_group(elbv2, world)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    control.advance(LONG)  # past the initial health checks (test_nlb_fidelity.py)
    assert health(elbv2, group) == {world.instance: "healthy"}
    elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    assert health(elbv2, group) == {world.instance: "draining"}
    reason = elbv2.describe_target_health(TargetGroupArn=group)[
        "TargetHealthDescriptions"][0]["TargetHealth"]["Reason"]
    assert reason == "Target.DeregistrationInProgress"
    control.advance(LONG)
    assert health(elbv2, group) == {}


def test_registering_a_draining_target_again_keeps_it(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    group = create_group(elbv2, world)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    control.advance(LONG)
    assert health(elbv2, group) == {world.instance: "healthy"}


def test_draining_lasts_at_most_the_deregistration_delay(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    group = create_group(elbv2, world)
    elbv2.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "0"}])
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": world.instance}])
    assert health(elbv2, group) == {}


def test_deleting_several_classic_listeners_removes_exactly_those(
    aws: Aws, world: World
) -> None:
    """moto re-adds the other listeners once per port named; AWS deletes just the ports."""
    elb = aws.client("elb")
    listeners = [{"Protocol": "TCP", "LoadBalancerPort": port, "InstancePort": 30000 + port}
                 for port in (80, 443, 8080)]
    elb.create_load_balancer(LoadBalancerName="c1", Listeners=listeners,
                             Subnets=sorted(world.subnets.values()),
                             SecurityGroups=[world.group])
    elb.delete_load_balancer_listeners(LoadBalancerName="c1", LoadBalancerPorts=[80, 8080])
    left = elb.describe_load_balancers(LoadBalancerNames=["c1"])["LoadBalancerDescriptions"][0]
    assert [d["Listener"]["LoadBalancerPort"] for d in left["ListenerDescriptions"]] == [443]


def test_a_classic_listener_keeps_its_instance_protocol(aws: Aws, world: World) -> None:
    """moto answers the front protocol for InstanceProtocol; AWS keeps TCP -> SSL."""
    elb = aws.client("elb")
    elb.create_load_balancer(
        LoadBalancerName="c2", Subnets=sorted(world.subnets.values()),
        SecurityGroups=[world.group], Listeners=[
            {"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "SSL",
             "InstancePort": 30080}])
    elb.create_load_balancer_listeners(LoadBalancerName="c2", Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": 81, "InstanceProtocol": "HTTP",
         "InstancePort": 30081},
        {"Protocol": "TCP", "LoadBalancerPort": 82, "InstanceProtocol": "SSL",
         "InstancePort": 30082}])
    found = elb.describe_load_balancers(LoadBalancerNames=["c2"])["LoadBalancerDescriptions"][0]
    assert {(d["Listener"]["LoadBalancerPort"], d["Listener"]["Protocol"],
             d["Listener"]["InstanceProtocol"]) for d in found["ListenerDescriptions"]} == {
        (80, "TCP", "SSL"), (81, "HTTP", "HTTP"), (82, "TCP", "SSL")}


def test_backend_policies_hold_on_a_listener_added_later(aws: Aws, world: World) -> None:
    elb = aws.client("elb")
    elb.create_load_balancer(
        LoadBalancerName="c3", Subnets=sorted(world.subnets.values()),
        SecurityGroups=[world.group], Listeners=[
            {"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}])
    elb.create_load_balancer_listeners(LoadBalancerName="c3", Listeners=[
        {"Protocol": "TCP", "LoadBalancerPort": 81, "InstancePort": 30081}])
    elb.create_load_balancer_policy(
        LoadBalancerName="c3", PolicyName="proxy", PolicyTypeName="ProxyProtocolPolicyType",
        PolicyAttributes=[{"AttributeName": "ProxyProtocol", "AttributeValue": "true"}])
    elb.set_load_balancer_policies_for_backend_server(
        LoadBalancerName="c3", InstancePort=30081, PolicyNames=["proxy"])
    found = elb.describe_load_balancers(LoadBalancerNames=["c3"])["LoadBalancerDescriptions"][0]
    assert [(b["InstancePort"], b["PolicyNames"]) for b in found["BackendServerDescriptions"]
            if b.get("PolicyNames")] == [(30081, ["proxy"])]
