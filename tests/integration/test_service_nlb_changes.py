"""A live NLB Service changed: security groups, tags and the certificate are changed in
place (SetSecurityGroups, AddTags/RemoveTags, ModifyListener: the listener keeps its ARN);
Elastic IPs and private IPs, fixed by AWS at creation, work end to end and a change of them
is a Warning with the NLB kept as it is. A UDP-only port and an `externalTrafficPolicy: Local`
Service get health checks their targets can pass (the emulator fails a check nothing answers).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .conftest import emulator_session, kubectl
from .test_service_clb import CLIENT, PREFIX, events, hostname, lb_name, wait_event
from .test_service_nlb import describe_nlb, nlb_service

ADDED_TAGS_KEY = "k8s-aws/additional-resource-tags"


def annotate(sandbox: SandboxState, name: str, **changes: str) -> None:
    kubectl(sandbox, "annotate", "service", name, "--overwrite",
            *(f"{PREFIX}{k}={v}" for k, v in changes.items()))


def tags_of(elbv2: Any, arn: str) -> dict[str, str]:
    described = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in described}


def test_groups_tags_and_certificate_of_a_live_nlb_change_in_place(
    sandbox: SandboxState, ec2: Any, elbv2: Any, control: FidelityControl
) -> None:
    acm = emulator_session(sandbox).client("acm", endpoint_url=sandbox.emulator_url)
    first, second = (acm.request_certificate(DomainName=d)["CertificateArn"]
                     for d in ("one.example", "two.example"))
    svc = nlb_service(sandbox, "nlb-live", [{"name": "https", "port": 443}],
                      {"ssl-cert": first, "additional-resource-tags": "team=a,cost=1"})
    wait_until(lambda: hostname(sandbox, "nlb-live"), timeout=90, what="a hostname")
    lb = describe_nlb(elbv2, lb_name(svc))
    assert lb is not None
    arn = lb["LoadBalancerArn"]
    [listener] = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": "owner", "Value": "ops"}])  # not ours
    mine = ec2.create_security_group(GroupName="nlb-live-mine", Description="brought along",
                                     VpcId=sandbox.world.vpc_id)["GroupId"]
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    annotate(sandbox, "nlb-live", **{"ssl-cert": second, "additional-resource-tags": "team=b",
                                     "security-groups": mine})

    def changed() -> bool:
        now = describe_nlb(elbv2, lb_name(svc)) or {}
        [x] = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
        return (x["Certificates"][0]["CertificateArn"] == second
                and tags_of(elbv2, arn).get("team") == "b" and mine in now["SecurityGroups"])

    wait_until(changed, timeout=90, what="certificate, tags and groups changed in place")
    [now] = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    assert now["ListenerArn"] == listener["ListenerArn"]  # modified, never re-created
    tags = tags_of(elbv2, arn)
    assert "cost" not in tags and tags["owner"] == "ops" and tags[ADDED_TAGS_KEY] == "team"
    mutating = {c.action for c in control.calls(client=CLIENT) if c.seq > since and c.mutating}
    assert {"ModifyListener", "AddTags", "RemoveTags", "SetSecurityGroups"} <= mutating
    assert not mutating & {"CreateListener", "DeleteListener", "CreateLoadBalancer"}, mutating
    assert not [e for e in events(sandbox, "nlb-live") if e["reason"] == "LoadBalancerKept"]
    kubectl(sandbox, "delete", "service", "nlb-live")
    assert describe_nlb(elbv2, lb_name(svc)) is None
    assert ec2.describe_security_groups(GroupIds=[mine])["SecurityGroups"]  # never ours
    ec2.delete_security_group(GroupId=mine)


def one_per_zone(sandbox: SandboxState, ec2: Any, kind: str) -> list[dict[str, Any]]:
    ids = [sid for name, sid in sandbox.world.subnets.items() if f"-{kind}-" in name]
    subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    by_zone = {s["AvailabilityZone"]: s for s in sorted(subnets, key=lambda s: s["SubnetId"])}
    return sorted(by_zone.values(), key=lambda s: s["SubnetId"])


def zone_addresses(lb: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    return {z["SubnetId"]: z.get("LoadBalancerAddresses", []) for z in lb["AvailabilityZones"]}


def test_an_nlb_with_elastic_ips_end_to_end_and_a_changed_one_is_a_warning(
    sandbox: SandboxState, ec2: Any, elbv2: Any
) -> None:
    subnets = one_per_zone(sandbox, ec2, "public")
    eips = [ec2.allocate_address(Domain="vpc") for _ in subnets]
    allocations = [e["AllocationId"] for e in eips]
    svc = nlb_service(sandbox, "nlb-eips", [{"name": "tcp", "port": 80}], {
        "eip-allocations": ",".join(allocations),
        "subnets": ",".join(s["SubnetId"] for s in subnets)})
    wait_until(lambda: hostname(sandbox, "nlb-eips"), timeout=90, what="a hostname")
    lb = describe_nlb(elbv2, lb_name(svc))
    assert lb is not None
    # paired in subnet id order, each Elastic IP associated with the NLB's interface there
    assert zone_addresses(lb) == {
        s["SubnetId"]: [{"IpAddress": e["PublicIp"], "AllocationId": e["AllocationId"]}]
        for s, e in zip(subnets, eips, strict=True)}
    for eip, subnet in zip(eips, subnets, strict=True):
        address = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
        eni = ec2.describe_network_interfaces(
            NetworkInterfaceIds=[address["NetworkInterfaceId"]])["NetworkInterfaces"][0]
        assert eni["SubnetId"] == subnet["SubnetId"]
        assert eni["Description"].startswith(f"ELB net/{lb_name(svc)}/")
    other = ec2.allocate_address(Domain="vpc")["AllocationId"]
    annotate(sandbox, "nlb-eips", **{"eip-allocations": ",".join([other, *allocations[1:]])})
    warning = wait_event(sandbox, "nlb-eips", "LoadBalancerKept")
    assert "eip-allocations" in warning["message"] and allocations[0] in warning["message"]
    kept = describe_nlb(elbv2, lb_name(svc)) or {}  # not re-created with the new address
    assert kept.get("LoadBalancerArn") == lb["LoadBalancerArn"]
    assert zone_addresses(kept) == zone_addresses(lb)
    kubectl(sandbox, "delete", "service", "nlb-eips")
    assert describe_nlb(elbv2, lb_name(svc)) is None
    for allocation in [*allocations, other]:
        address = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
        assert "AssociationId" not in address  # the NLB let it go; the account keeps it
        ec2.release_address(AllocationId=allocation)


def test_an_internal_nlb_with_private_ips_end_to_end(
    sandbox: SandboxState, ec2: Any, elbv2: Any
) -> None:
    subnets = one_per_zone(sandbox, ec2, "private")
    addresses = [str(ipaddress.ip_network(s["CidrBlock"])[200]) for s in subnets]
    svc = nlb_service(sandbox, "nlb-fixed", [{"name": "tcp", "port": 80}], {
        "internal": "true", "private-ipv4-addresses": ",".join(addresses),
        "subnets": ",".join(s["SubnetId"] for s in subnets)})
    wait_until(lambda: hostname(sandbox, "nlb-fixed"), timeout=90, what="a hostname")
    lb = describe_nlb(elbv2, lb_name(svc))
    assert lb is not None and lb["Scheme"] == "internal"
    assert zone_addresses(lb) == {s["SubnetId"]: [{"PrivateIPv4Address": ip}]
                                  for s, ip in zip(subnets, addresses, strict=True)}
    enis = ec2.describe_network_interfaces(Filters=[
        {"Name": "description", "Values": [f"ELB net/{lb_name(svc)}/*"]}])["NetworkInterfaces"]
    assert sorted(e["PrivateIpAddress"] for e in enis) == sorted(addresses)
    moved = [str(ipaddress.ip_network(s["CidrBlock"])[201]) for s in subnets]
    annotate(sandbox, "nlb-fixed", **{"private-ipv4-addresses": ",".join(moved)})
    warning = wait_event(sandbox, "nlb-fixed", "LoadBalancerKept")
    assert "private-ipv4-addresses" in warning["message"]
    kept = describe_nlb(elbv2, lb_name(svc)) or {}  # not re-created at the new addresses
    assert kept.get("LoadBalancerArn") == lb["LoadBalancerArn"]
    assert zone_addresses(kept) == zone_addresses(lb)
    kubectl(sandbox, "delete", "service", "nlb-fixed")
    assert describe_nlb(elbv2, lb_name(svc)) is None


def health_checks(elbv2: Any, lb: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(g["HealthCheckProtocol"], g["HealthCheckPort"], g.get("HealthCheckPath", ""))
            for g in elbv2.describe_target_groups(
                LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]]


def states(elbv2: Any, lb: dict[str, Any]) -> set[str]:
    return {h["TargetHealth"]["State"]
            for g in elbv2.describe_target_groups(
                LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
            for h in elbv2.describe_target_health(
                TargetGroupArn=g["TargetGroupArn"])["TargetHealthDescriptions"]}


@pytest.mark.once  # the calls of test_service_nlb.py, with other health-check values
def test_udp_only_and_local_policy_nlbs_get_health_checks_their_targets_pass(
    sandbox: SandboxState, elbv2: Any
) -> None:
    # A TCP check on the traffic port of a UDP-only group never passes (nothing answers TCP
    # there): kube-proxy's /healthz does. Under Local, the Service's healthCheckNodePort.
    udp = nlb_service(sandbox, "udp-only", [{"name": "dns", "port": 53, "protocol": "UDP"}])
    local = nlb_service(sandbox, "nlb-local", [{"name": "web", "port": 80}],
                        externalTrafficPolicy="Local")
    check_port = str(local["spec"]["healthCheckNodePort"])
    for name in ("udp-only", "nlb-local"):
        wait_until(lambda: hostname(sandbox, name), timeout=90, what=f"{name}: a hostname")
    udp_lb, local_lb = (describe_nlb(elbv2, lb_name(s)) for s in (udp, local))
    assert udp_lb is not None and local_lb is not None
    assert health_checks(elbv2, udp_lb) == [("HTTP", "10256", "/healthz")]
    assert health_checks(elbv2, local_lb) == [("HTTP", check_port, "/healthz")]
    [group] = elbv2.describe_target_groups(
        LoadBalancerArn=local_lb["LoadBalancerArn"])["TargetGroups"]
    assert (group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"],
            group["UnhealthyThresholdCount"]) == (10, 2, 2)
    for lb in (udp_lb, local_lb):
        wait_until(lambda: states(elbv2, lb) == {"healthy"}, timeout=90,
                   what=f"{lb['LoadBalancerName']}: every target healthy")
    kubectl(sandbox, "delete", "service", "udp-only", "nlb-local")
    assert describe_nlb(elbv2, lb_name(udp)) is None
    assert describe_nlb(elbv2, lb_name(local)) is None
