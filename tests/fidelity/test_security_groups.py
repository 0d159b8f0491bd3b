"""Security groups: DependencyViolation while anything uses them, and the rules quota."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import LONG, ZONES, Aws, World, error_of


def new_group(ec2: Any, world: World, name: str) -> str:
    return str(ec2.create_security_group(GroupName=name, Description=name,
                                         VpcId=world.vpc)["GroupId"])


def delete_error(ec2: Any, group: str) -> tuple[str, int]:
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_security_group(GroupId=group)
    return error_of(excinfo)


def test_a_group_another_group_references_cannot_be_deleted(ec2: Any, world: World) -> None:
    backend, frontend = new_group(ec2, world, "backend"), new_group(ec2, world, "frontend")
    permission = {"IpProtocol": "tcp", "FromPort": 30000, "ToPort": 32767,
                  "UserIdGroupPairs": [{"GroupId": frontend}]}
    ec2.authorize_security_group_ingress(GroupId=backend, IpPermissions=[permission])
    assert delete_error(ec2, frontend) == ("DependencyViolation", 400)
    ec2.revoke_security_group_ingress(GroupId=backend, IpPermissions=[permission])
    ec2.delete_security_group(GroupId=frontend)


def test_a_self_reference_does_not_block_deletion(ec2: Any, world: World) -> None:
    group = new_group(ec2, world, "self")
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}])
    ec2.delete_security_group(GroupId=group)


def test_a_group_an_instance_uses_cannot_be_deleted(ec2: Any, world: World) -> None:
    assert delete_error(ec2, world.group) == ("DependencyViolation", 400)
    ec2.terminate_instances(InstanceIds=[world.instance])
    ec2.delete_security_group(GroupId=world.group)


def test_a_group_on_a_network_interface_cannot_be_deleted(ec2: Any, world: World) -> None:
    group = new_group(ec2, world, "eni")
    interface = ec2.create_network_interface(SubnetId=world.subnets[ZONES[0]], Groups=[group])
    assert delete_error(ec2, group) == ("DependencyViolation", 400)
    ec2.delete_network_interface(
        NetworkInterfaceId=interface["NetworkInterface"]["NetworkInterfaceId"])
    ec2.delete_security_group(GroupId=group)


def test_a_vpc_default_group_cannot_be_deleted(ec2: Any, world: World) -> None:
    default = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [world.vpc]},
        {"Name": "group-name", "Values": ["default"]},
    ])["SecurityGroups"][0]["GroupId"]
    assert delete_error(ec2, default) == ("CannotDelete", 400)


def elb_interfaces(ec2: Any, name: str) -> list[dict[str, Any]]:
    found = ec2.describe_network_interfaces()["NetworkInterfaces"]
    return [i for i in found if i["Description"] == f"ELB {name}"]


def test_a_classic_elb_group_lingers_after_the_elb(
    control: FidelityControl, aws: Aws, ec2: Any, world: World
) -> None:
    elb = aws.client("elb")
    group = new_group(ec2, world, "k8s-elb-a1")
    elb.create_load_balancer(
        LoadBalancerName="a1", Subnets=list(world.subnets.values()), SecurityGroups=[group],
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}],
    )
    interfaces = elb_interfaces(ec2, "a1")
    assert sorted(i["SubnetId"] for i in interfaces) == sorted(world.subnets.values())
    assert all([g["GroupId"] for g in i["Groups"]] == [group] for i in interfaces)
    assert all(i["RequesterManaged"] for i in interfaces)
    assert delete_error(ec2, group) == ("DependencyViolation", 400)
    elb.delete_load_balancer(LoadBalancerName="a1")
    assert delete_error(ec2, group) == ("DependencyViolation", 400)  # interfaces linger
    control.advance(LONG)
    assert elb_interfaces(ec2, "a1") == []
    ec2.delete_security_group(GroupId=group)


def test_elb_interfaces_follow_the_elb_groups(aws: Aws, ec2: Any, world: World) -> None:
    elb = aws.client("elb")
    first, second = new_group(ec2, world, "first"), new_group(ec2, world, "second")
    elb.create_load_balancer(
        LoadBalancerName="a2", Subnets=[world.subnets[ZONES[0]]], SecurityGroups=[first],
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}],
    )
    elb.apply_security_groups_to_load_balancer(LoadBalancerName="a2", SecurityGroups=[second])
    assert [g["GroupId"] for g in elb_interfaces(ec2, "a2")[0]["Groups"]] == [second]
    ec2.delete_security_group(GroupId=first)


def test_nlb_interfaces_linger_too(
    control: FidelityControl, aws: Aws, ec2: Any, world: World
) -> None:
    elbv2 = aws.client("elbv2")
    group = new_group(ec2, world, "nlb")
    arn = elbv2.create_load_balancer(Name="n1", Type="network", SecurityGroups=[group],
                                     Subnets=list(world.subnets.values()))[
        "LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert delete_error(ec2, group) == ("DependencyViolation", 400)
    control.advance(LONG)
    ec2.delete_security_group(GroupId=group)


def test_the_rules_quota_per_group(control: FidelityControl, ec2: Any, world: World) -> None:
    control.patch_config({"limits": {"rules_per_group": 3}})
    group = new_group(ec2, world, "quota")
    ranges = [{"CidrIp": f"10.1.{i}.0/24"} for i in range(3)]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": ranges}])
    with pytest.raises(ClientError) as excinfo:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 81, "ToPort": 81,
             "IpRanges": [{"CidrIp": "10.2.0.0/24"}]}])
    assert error_of(excinfo) == ("RulesPerSecurityGroupLimitExceeded", 400)
    # IPv6 rules have a quota of their own; egress too (one default rule already there)
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/64"}]}])
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "10.3.0.0/24"}, {"CidrIp": "10.4.0.0/24"}]}])
    with pytest.raises(ClientError) as excinfo:  # a group reference counts in both families
        ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
             "UserIdGroupPairs": [{"GroupId": world.group}]}])
    assert error_of(excinfo) == ("RulesPerSecurityGroupLimitExceeded", 400)


def test_a_quota_above_the_emulators_60(control: FidelityControl, ec2: Any, world: World) -> None:
    control.patch_config({"limits": {"rules_per_group": 100}})
    group = new_group(ec2, world, "raised")
    ranges = [{"CidrIp": f"10.{i // 250}.{i % 250}.0/24"} for i in range(80)]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": ranges}])
    rules = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    assert len(rules["IpPermissions"][0]["IpRanges"]) == 80


def test_switched_off_groups_delete_as_the_emulator_does(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"security_group_dependencies": False}})
    ec2.delete_security_group(GroupId=world.group)
