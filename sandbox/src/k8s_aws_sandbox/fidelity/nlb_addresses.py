"""A Network LB's static addresses as AWS keeps them.

A subnet mapping with an `AllocationId` associates that Elastic IP with the NLB's interface
in the subnet (DescribeAddresses shows the association and the interface), and the NLB's
zones list it under `LoadBalancerAddresses`; a mapping with a `PrivateIPv4Address` gives the
interface that address. An unknown allocation id is refused (AllocationIdNotFound).
Deleting the NLB disassociates its Elastic IPs; they stay allocated to the account. moto
reads neither field of a mapping. Runs after LoadBalancerInterfaces: it needs the interfaces.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2.models import AvailabilityZone

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.request import AwsRequest
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply


def subnet_mappings(request: AwsRequest) -> list[dict[str, str]]:
    mappings, index = [], 1
    while subnet := request.param(f"SubnetMappings.member.{index}.SubnetId"):
        prefix = f"SubnetMappings.member.{index}."
        mappings.append({"SubnetId": subnet,
                         "AllocationId": request.param(prefix + "AllocationId"),
                         "PrivateIPv4Address": request.param(prefix + "PrivateIPv4Address")})
        index += 1
    return mappings


class NlbAddresses(Behaviour):
    def __init__(self) -> None:
        # (account, region, load balancer ARN) -> allocation ids associated with it
        self.associated: dict[tuple[str, str, str], list[str]] = {}

    def reset(self) -> None:
        self.associated.clear()

    def before(self, call: Call) -> Refusal | None:
        request = call.request
        if (request.service != "elbv2" or request.action != "CreateLoadBalancer"
                or not call.on.nlb_addresses):
            return None
        known = {a.allocation_id for a in call.backends.ec2.addresses}
        for mapping in subnet_mappings(request):
            if mapping["AllocationId"] and mapping["AllocationId"] not in known:
                return Refusal("AllocationIdNotFound",
                               f"The allocation ID '{mapping['AllocationId']}' does not exist")
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if request.service != "elbv2" or not reply.ok or not call.on.nlb_addresses:
            return reply
        if request.action == "CreateLoadBalancer":
            self._place(call)
        elif request.action == "SetSubnets":
            balancer = call.backends.elbv2.load_balancers.get(request.param("LoadBalancerArn"))
            zones = moto_state.override(balancer, "availability_zones") if balancer else None
            if zones is not None:  # kept subnets keep their addresses, new ones have none
                placed = {z.subnet_id: z.load_balancer_addresses for z in zones}
                moto_state.set_override(balancer, "availability_zones",
                                        zones_with_addresses(balancer, placed))
        elif request.action == "DeleteLoadBalancer":
            self._release(call, request.param("LoadBalancerArn"))
        return reply

    def _place(self, call: Call) -> None:
        mappings = [m for m in subnet_mappings(call.request)
                    if m["AllocationId"] or m["PrivateIPv4Address"]]
        balancer = next((lb for lb in call.backends.elbv2.load_balancers.values()
                         if lb.name == call.request.param("Name")), None)
        if (not mappings or balancer is None
                or moto_state.override(balancer, "availability_zones") is not None):
            return  # nothing static, or a replay of a create already placed
        ec2 = call.backends.ec2
        description = f"ELB net/{balancer.name}/{balancer.arn.rsplit('/', 1)[-1]}"
        addresses: dict[str, list[dict[str, str]]] = {}
        for mapping in mappings:
            eni = next((e for e in ec2.enis.values() if e.description == description
                        and e.subnet.id == mapping["SubnetId"]), None)
            entry: dict[str, str] = {}
            if mapping["PrivateIPv4Address"]:
                entry["PrivateIPv4Address"] = mapping["PrivateIPv4Address"]
                if eni is not None:
                    _give_private_ip(eni, mapping["PrivateIPv4Address"])
            if mapping["AllocationId"] and eni is not None:
                eip = ec2.associate_address(eni=eni, allocation_id=mapping["AllocationId"])
                entry.update(IpAddress=eip.public_ip, AllocationId=mapping["AllocationId"])
                self.associated.setdefault((*call.scope, balancer.arn), []).append(
                    mapping["AllocationId"])
            addresses[mapping["SubnetId"]] = [entry]
        moto_state.set_override(balancer, "availability_zones",
                                zones_with_addresses(balancer, addresses))

    def _release(self, call: Call, arn: str) -> None:
        ec2 = call.backends.ec2
        for allocation_id in self.associated.pop((*call.scope, arn), []):
            for eip in ec2.addresses:
                if eip.allocation_id == allocation_id and eip.association_id:
                    ec2.disassociate_address(association_id=eip.association_id)


def _give_private_ip(eni: Any, address: str) -> None:
    eni.private_ip_address = address
    eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": address}]


def zones_with_addresses(balancer: Any, placed: dict[str, list[dict[str, str]]]) -> list[Any]:
    """The NLB's zones, each with the static addresses placed in its subnet."""
    zones = []
    for subnet in balancer.subnets:
        zone = AvailabilityZone(subnet)
        zone.load_balancer_addresses = placed.get(subnet.id, [])  # type: ignore[attr-defined]
        zones.append(zone)
    return zones
