"""NLB behaviour as AWS has it: target health from the health check, static addresses,
one load balancer per target group, groups in use while their load balancer goes, and DNS
names in the load balancer's region."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import LONG, REGION, Aws, World, error_of


@pytest.fixture
def elbv2(aws: Aws) -> Any:
    return aws.client("elbv2")


def nlb(elbv2: Any, world: World, name: str, **extra: Any) -> dict[str, Any]:
    if "SubnetMappings" not in extra:
        extra["Subnets"] = sorted(world.subnets.values())
    answer = elbv2.create_load_balancer(Name=name, Type="network", **extra)
    return dict(answer["LoadBalancers"][0])


def target_group(elbv2: Any, world: World, name: str, protocol: str = "TCP",
                 **check: Any) -> dict[str, Any]:
    return dict(elbv2.create_target_group(
        Name=name, Protocol=protocol, Port=30053, VpcId=world.vpc, TargetType="instance",
        **check)["TargetGroups"][0])


def registered(elbv2: Any, world: World, name: str, protocol: str = "TCP") -> dict[str, Any]:
    """A new target group with the world's instance registered in it."""
    made = target_group(elbv2, world, name, protocol=protocol)
    elbv2.register_targets(TargetGroupArn=made["TargetGroupArn"],
                           Targets=[{"Id": world.instance}])
    return made


def states(elbv2: Any, group: str) -> dict[str, tuple[str, str]]:
    found = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return {t["Target"]["Id"]: (t["TargetHealth"]["State"], t["TargetHealth"].get("Reason", ""))
            for t in found}


def test_a_target_is_initial_then_healthy(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    group = registered(elbv2, world, "tcp")["TargetGroupArn"]
    assert states(elbv2, group) == {world.instance: ("initial", "Elb.InitialHealthChecking")}
    control.advance(LONG)
    assert states(elbv2, group) == {world.instance: ("healthy", "")}


def test_a_tcp_check_on_a_udp_only_port_never_passes_and_kube_proxys_does(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    made = registered(elbv2, world, "udp", protocol="UDP")
    assert made["HealthCheckProtocol"] == "TCP"  # AWS checks a UDP group over TCP
    group = made["TargetGroupArn"]
    control.advance(LONG)
    assert states(elbv2, group) == {world.instance: ("unhealthy", "Target.FailedHealthChecks")}
    elbv2.modify_target_group(TargetGroupArn=group, HealthCheckProtocol="HTTP",
                              HealthCheckPort="10256", HealthCheckPath="/healthz")
    control.advance(LONG)
    assert states(elbv2, group) == {world.instance: ("healthy", "")}


def test_a_tcp_udp_group_is_checked_over_tcp_and_passes(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    made = registered(elbv2, world, "both", protocol="TCP_UDP")
    assert made["HealthCheckProtocol"] == "TCP"
    control.advance(LONG)
    assert states(elbv2, made["TargetGroupArn"]) == {world.instance: ("healthy", "")}


@pytest.mark.parametrize("protocol", ["UDP", "TCP_UDP", "TLS"])
def test_a_check_over_a_protocol_aws_cannot_check_is_refused(
    elbv2: Any, world: World, protocol: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        target_group(elbv2, world, "bad", protocol="TCP_UDP", HealthCheckProtocol=protocol)
    assert error_of(excinfo) == ("ValidationError", 400)
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_an_elastic_ip_is_associated_with_the_nlb_and_released_with_it(
    ec2: Any, elbv2: Any, world: World
) -> None:
    zone, subnet = sorted(world.subnets.items())[0]
    eip = ec2.allocate_address(Domain="vpc")
    made = nlb(elbv2, world, "eip", SubnetMappings=[
        {"SubnetId": subnet, "AllocationId": eip["AllocationId"]}])
    zones = elbv2.describe_load_balancers(LoadBalancerArns=[made["LoadBalancerArn"]])[
        "LoadBalancers"][0]["AvailabilityZones"]
    assert zones == [{"ZoneName": zone, "SubnetId": subnet, "LoadBalancerAddresses": [
        {"IpAddress": eip["PublicIp"], "AllocationId": eip["AllocationId"]}]}]
    address = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    eni = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[address["NetworkInterfaceId"]])["NetworkInterfaces"][0]
    assert address.get("AssociationId") and eni["SubnetId"] == subnet
    assert eni["Description"].startswith("ELB net/eip/")
    elbv2.delete_load_balancer(LoadBalancerArn=made["LoadBalancerArn"])
    left = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    assert "AssociationId" not in left  # still allocated to the account, not associated


def test_an_unknown_allocation_id_is_refused(elbv2: Any, world: World) -> None:
    subnet = sorted(world.subnets.values())[0]
    with pytest.raises(ClientError) as excinfo:
        nlb(elbv2, world, "noeip", SubnetMappings=[
            {"SubnetId": subnet, "AllocationId": "eipalloc-0123456789abcdef0"}])
    assert error_of(excinfo)[0] == "AllocationIdNotFound"
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_a_private_ip_is_the_interfaces_address(ec2: Any, elbv2: Any, world: World) -> None:
    subnet = world.subnets[sorted(world.subnets)[0]]
    made = nlb(elbv2, world, "fixed", Scheme="internal", SubnetMappings=[
        {"SubnetId": subnet, "PrivateIPv4Address": "10.0.0.100"}])
    zone = elbv2.describe_load_balancers(LoadBalancerArns=[made["LoadBalancerArn"]])[
        "LoadBalancers"][0]["AvailabilityZones"][0]
    assert zone["LoadBalancerAddresses"] == [{"PrivateIPv4Address": "10.0.0.100"}]
    enis = ec2.describe_network_interfaces(Filters=[
        {"Name": "description", "Values": ["ELB net/fixed/*"]}])["NetworkInterfaces"]
    assert [e["PrivateIpAddress"] for e in enis] == ["10.0.0.100"]


def forward(group: str) -> list[dict[str, str]]:
    return [{"Type": "forward", "TargetGroupArn": group}]


def test_a_target_group_serves_one_load_balancer(elbv2: Any, world: World) -> None:
    first = nlb(elbv2, world, "one", Scheme="internal")["LoadBalancerArn"]
    second = nlb(elbv2, world, "two", Scheme="internal")["LoadBalancerArn"]
    group = target_group(elbv2, world, "shared")["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=first, Protocol="TCP", Port=80,
                          DefaultActions=forward(group))
    with pytest.raises(ClientError) as excinfo:
        elbv2.create_listener(LoadBalancerArn=second, Protocol="TCP", Port=80,
                              DefaultActions=forward(group))
    assert error_of(excinfo) == ("TargetGroupAssociationLimit", 400)
    assert elbv2.describe_listeners(LoadBalancerArn=second)["Listeners"] == []
    elbv2.create_listener(LoadBalancerArn=first, Protocol="TCP", Port=81,
                          DefaultActions=forward(group))  # the same load balancer may


def test_a_target_group_is_in_use_while_its_load_balancer_goes(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    balancer = nlb(elbv2, world, "going", Scheme="internal")["LoadBalancerArn"]
    group = target_group(elbv2, world, "left")["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=balancer, Protocol="TCP", Port=80,
                          DefaultActions=forward(group))
    elbv2.delete_load_balancer(LoadBalancerArn=balancer)
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_target_group(TargetGroupArn=group)
    assert error_of(excinfo) == ("ResourceInUse", 400)
    control.advance(LONG)
    described = elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]
    assert described["LoadBalancerArns"] == []
    elbv2.delete_target_group(TargetGroupArn=group)
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_dns_names_are_formed_in_the_region(aws: Aws, elbv2: Any, world: World) -> None:
    public = nlb(elbv2, world, "named")
    assert public["DNSName"].startswith("named-")
    assert public["DNSName"].endswith(f".elb.{REGION}.amazonaws.com")
    described = elbv2.describe_load_balancers(Names=["named"])["LoadBalancers"][0]
    assert described["DNSName"] == public["DNSName"]
    assert nlb(elbv2, world, "named")["DNSName"] == public["DNSName"]  # idempotent create
    elb = aws.client("elb")
    listeners = [{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}]
    classic = elb.create_load_balancer(LoadBalancerName="c1", Listeners=listeners,
                                       Subnets=sorted(world.subnets.values()),
                                       SecurityGroups=[world.group], Scheme="internal")
    assert classic["DNSName"].startswith("internal-c1-")
    assert classic["DNSName"].endswith(f".{REGION}.elb.amazonaws.com")
    assert elb.describe_load_balancers(LoadBalancerNames=["c1"])[
        "LoadBalancerDescriptions"][0]["DNSName"] == classic["DNSName"]


def test_a_network_listener_is_modified_to_tls_and_back_with_its_alpn_policy(
    aws: Aws, elbv2: Any, world: World
) -> None:
    acm = aws.client("acm")
    cert = acm.request_certificate(DomainName="tls.example")["CertificateArn"]
    balancer = nlb(elbv2, world, "mod", Scheme="internal")["LoadBalancerArn"]
    group = target_group(elbv2, world, "modtg")["TargetGroupArn"]
    arn = elbv2.create_listener(LoadBalancerArn=balancer, Protocol="TCP", Port=443,
                                DefaultActions=forward(group))["Listeners"][0]["ListenerArn"]
    elbv2.modify_listener(ListenerArn=arn, Protocol="TLS", Port=443,
                          Certificates=[{"CertificateArn": cert}],
                          SslPolicy="ELBSecurityPolicy-2016-08", AlpnPolicy=["HTTP2Only"],
                          DefaultActions=forward(group))
    [tls] = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"]
    assert (tls["Protocol"], tls["Certificates"][0]["CertificateArn"], tls["AlpnPolicy"]) == (
        "TLS", cert, ["HTTP2Only"])
    assert tls["SslPolicy"] == "ELBSecurityPolicy-2016-08"
    elbv2.modify_listener(ListenerArn=arn, Protocol="TCP_UDP", Port=443,
                          DefaultActions=forward(target_group(
                              elbv2, world, "both", protocol="TCP_UDP")["TargetGroupArn"]))
    [back] = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"]
    assert back["Protocol"] == "TCP_UDP" and "SslPolicy" not in back


def test_a_listener_without_tls_has_no_security_policy(elbv2: Any, world: World) -> None:
    """AWS gives a TCP or UDP listener none (moto gave every listener one, and a controller
    comparing would modify the listener at every sync)."""
    balancer = nlb(elbv2, world, "plain", Scheme="internal")["LoadBalancerArn"]
    group = target_group(elbv2, world, "plaintg")["TargetGroupArn"]
    created = elbv2.create_listener(LoadBalancerArn=balancer, Protocol="TCP", Port=80,
                                    DefaultActions=forward(group))["Listeners"][0]
    assert "SslPolicy" not in created
    [described] = elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]
    assert described["Protocol"] == "TCP" and "SslPolicy" not in described


def test_switched_off_targets_are_healthy_at_once_as_the_emulator_has_them(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"target_health": False}})
    made = target_group(elbv2, world, "udp-off", protocol="UDP")  # a check that cannot pass
    elbv2.register_targets(TargetGroupArn=made["TargetGroupArn"],
                           Targets=[{"Id": world.instance}])
    assert states(elbv2, made["TargetGroupArn"]) == {world.instance: ("healthy", "")}


def test_switched_off_subnet_mapping_addresses_are_not_read(
    ec2: Any, control: FidelityControl, elbv2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"nlb_addresses": False}})
    subnet = sorted(world.subnets.values())[0]
    made = nlb(elbv2, world, "eip-off", SubnetMappings=[
        {"SubnetId": subnet, "AllocationId": "eipalloc-0123456789abcdef0"}])
    zones = elbv2.describe_load_balancers(LoadBalancerArns=[made["LoadBalancerArn"]])[
        "LoadBalancers"][0]["AvailabilityZones"]
    assert [z.get("LoadBalancerAddresses", []) for z in zones] == [[]]


def test_switched_off_a_target_group_serves_two_load_balancers_and_goes_at_once(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"elbv2_error_codes": False}})
    first = nlb(elbv2, world, "one-off", Scheme="internal")["LoadBalancerArn"]
    second = nlb(elbv2, world, "two-off", Scheme="internal")["LoadBalancerArn"]
    group = target_group(elbv2, world, "shared-off")["TargetGroupArn"]
    for balancer in (first, second):
        elbv2.create_listener(LoadBalancerArn=balancer, Protocol="TCP", Port=80,
                              DefaultActions=forward(group))
    elbv2.delete_load_balancer(LoadBalancerArn=first)
    elbv2.delete_load_balancer(LoadBalancerArn=second)
    elbv2.delete_target_group(TargetGroupArn=group)  # no ResourceInUse while they go
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_switched_off_dns_names_are_the_emulators(
    control: FidelityControl, elbv2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"regional_dns_names": False}})
    assert nlb(elbv2, world, "plain")["DNSName"] == f"plain-1.{REGION}.elb.amazonaws.com"
