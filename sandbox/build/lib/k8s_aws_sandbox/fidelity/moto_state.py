"""Where the fidelity layer meets moto's internals: backends, read-outs, and five patches.

The fidelity layer runs in the emulator's process and keeps AWS's transitional states in
moto's own objects, so every describe, filter and waiter sees them. Where moto computes a
value instead of storing it (a volume's status, a modification's state, a snapshot's
progress, an ELBv2 load balancer activating itself on the first describe, target health),
a patch lets an attribute set by the fidelity layer win; unset, moto behaves as shipped.
(Target health: `draining`, then the `health` verdicts of nlb_health.py.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from moto.core.utils import utcnow as moto_utcnow
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_block_store import (
    EBSBackend,
    Snapshot,
    Volume,
    VolumeModification,
)
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.elb.models import ELBBackend, FakeBackend, FakeListener, elb_backends
from moto.elbv2.models import (
    ELBv2Backend,
    FakeHealthStatus,
    FakeLoadBalancer,
    FakeTargetGroup,
    elbv2_backends,
)
from moto.iam.models import get_account_id_from

from k8s_aws_sandbox.fidelity.ebs_rules import AttachLimit, InstanceFacts, VolumeFacts
from k8s_aws_sandbox.fidelity.network_rules import RuleCounts
from k8s_aws_sandbox.fidelity.request import AwsRequest

PREFIX = "_k8s_aws_"
_patched = {"done": False}
# Set by the middleware: when the fidelity layer enforces the rules-per-group limit (with a
# configurable value), moto's own fixed 60 must not refuse first.
rule_limit = {"owned": False}


def set_override(obj: Any, name: str, value: Any) -> None:
    obj.__dict__[PREFIX + name] = value


def clear_override(obj: Any, name: str) -> None:
    obj.__dict__.pop(PREFIX + name, None)


def utcnow() -> Any:
    """The emulator's clock, for timestamps it serializes (naive UTC)."""
    return moto_utcnow()


def override(obj: Any, name: str) -> Any:
    return obj.__dict__.get(PREFIX + name)


def _overridable(cls: type[Any], name: str) -> None:
    original = getattr(cls, name)

    def getter(self: Any) -> Any:
        value = self.__dict__.get(PREFIX + name)
        return original.fget(self) if value is None else value

    setattr(cls, name, property(getter, doc=original.__doc__))


def install_patches() -> None:
    """Patch moto's model classes once per process; each patch is inert until used."""
    if _patched["done"]:
        return
    _overridable(Volume, "status")
    _overridable(VolumeModification, "modification_state")
    _overridable(VolumeModification, "progress")
    _overridable(Snapshot, "progress")
    _overridable(FakeLoadBalancer, "availability_zones")  # static addresses: nlb_addresses.py

    activate = FakeLoadBalancer.activate

    def hold_while_provisioning(self: Any) -> None:
        if not override(self, "provisioning"):
            activate(self)

    FakeLoadBalancer.activate = hold_while_provisioning  # type: ignore[method-assign]

    health_for = FakeTargetGroup.health_for

    def draining_health(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        draining = override(self, "draining") or {}
        entry = self.targets.get(target["Id"])
        if target["Id"] in draining and entry is not None:
            return FakeHealthStatus(
                entry["Id"], entry["Port"], self.health_check_port, "draining",
                "Target.DeregistrationInProgress", "Target deregistration is in progress",
            )
        verdict = (override(self, "health") or {}).get(target["Id"])
        if verdict is not None and entry is not None:
            return FakeHealthStatus(entry["Id"], entry["Port"], self.health_check_port, *verdict)
        return health_for(self, target, ec2_backend)

    FakeTargetGroup.health_for = draining_health  # type: ignore[method-assign]
    _modify_network_listeners()

    verify = SecurityGroupBackend._verify_group_will_respect_rule_count_limit

    def rule_count(self: Any, *args: Any, **kwargs: Any) -> None:
        if not rule_limit["owned"]:
            verify(self, *args, **kwargs)

    SecurityGroupBackend._verify_group_will_respect_rule_count_limit = rule_count  # type: ignore[method-assign]

    detach = EBSBackend.detach_volume

    def detach_without_instance(self: Any, volume_id: str, instance_id: str | None,
                                device_path: str | None) -> Any:
        # InstanceId is optional in AWS; moto crashes without it.
        volume = self.volumes.get(volume_id)
        if not instance_id and volume is not None and volume.attachment is not None:
            instance_id = volume.attachment.instance.id
        return detach(self, volume_id, instance_id or "", device_path or "")

    EBSBackend.detach_volume = detach_without_instance  # type: ignore[method-assign]

    def delete_listeners(self: Any, name: str, ports: list[str]) -> Any:
        # moto re-adds every other listener once per port named, so deleting two ports
        # duplicates the rest; AWS removes exactly the listeners on the named ports.
        balancer = self.get_load_balancer(name)
        gone = {int(p) for p in ports}
        balancer.listeners = [x for x in balancer.listeners
                              if int(x.load_balancer_port) not in gone]
        return balancer

    ELBBackend.delete_load_balancer_listeners = delete_listeners  # type: ignore[method-assign]
    _keep_instance_protocols()
    _patched["done"] = True


def _modify_network_listeners() -> None:
    """AWS: ModifyListener takes a Network LB listener's TLS, UDP and TCP_UDP (moto refuses
    all but HTTP, HTTPS and TCP, and keeps a TLS listener's old certificate)."""
    modify = ELBv2Backend.modify_listener

    def modify_any_protocol(self: Any, arn: str, port: str | None = None,
                            protocol: str | None = None, ssl_policy: str | None = None,
                            certificates: list[dict[str, Any]] | None = None,
                            actions: list[dict[str, Any]] | None = None) -> Any:
        if protocol not in ("TLS", "UDP", "TCP_UDP"):
            return modify(self, arn, port, protocol, ssl_policy, certificates, actions)
        listener = modify(self, arn, port, None, ssl_policy, None, actions)
        listener.protocol = protocol
        if protocol == "TLS" and certificates:
            listener.certificate = certificates[0]["CertificateArn"]
            listener.certificates = [c["CertificateArn"] for c in certificates]
        return listener

    ELBv2Backend.modify_listener = modify_any_protocol  # type: ignore[method-assign]


def _keep_instance_protocols() -> None:
    """moto drops a Classic ELB listener's InstanceProtocol (it answers the front protocol);
    AWS keeps and describes it, so TCP in front of SSL backends stays TCP -> SSL. And a
    listener added later gets its backend, so backend-server policies on its port hold."""
    _overridable(FakeListener, "instance_protocol")

    def remember(balancer: Any, ports: list[dict[str, Any]]) -> None:
        wanted = {int(p["LoadBalancerPort"]): p.get("InstanceProtocol") for p in ports}
        for listener in balancer.listeners:
            protocol = wanted.get(int(listener.load_balancer_port))
            if protocol and override(listener, "instance_protocol") is None:
                set_override(listener, "instance_protocol", str(protocol).upper())

    create = ELBBackend.create_load_balancer
    add = ELBBackend.create_load_balancer_listeners

    def create_keeping(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = create(self, *args, **kwargs)
        remember(balancer, kwargs.get("ports") or [])
        return balancer

    def add_keeping(self: Any, name: str, ports: list[dict[str, Any]]) -> Any:
        balancer = add(self, name, ports)
        if balancer is not None:
            remember(balancer, ports)
            # moto makes a backend (which holds backend-server policies) only for the ports
            # of CreateLoadBalancer and silently drops policies set on any other port.
            known = {int(b.instance_port) for b in balancer.backends}
            for port in {int(p["InstancePort"]) for p in ports} - known:
                balancer.backends.append(FakeBackend(instance_port=str(port)))
        return balancer

    ELBBackend.create_load_balancer = create_keeping  # type: ignore[method-assign]
    ELBBackend.create_load_balancer_listeners = add_keeping  # type: ignore[method-assign]


def account_for(request: AwsRequest, environ: Mapping[str, Any]) -> str:
    """The account moto files this request under (its own rules, in its order)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if header:
        return str(header)
    return str(get_account_id_from(request.access_key))


class Backends:
    """moto's backends for one account and region."""

    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region

    @property
    def ec2(self) -> Any:
        return ec2_backends[self.account][self.region]

    @property
    def elb(self) -> Any:
        return elb_backends[self.account][self.region]

    @property
    def elbv2(self) -> Any:
        return elbv2_backends[self.account][self.region]


# --- EBS -----------------------------------------------------------------------------------


def volume_facts(ec2: Any, volume_id: str) -> VolumeFacts | None:
    volume = ec2.volumes.get(volume_id)
    if volume is None:
        return None
    attachment = volume.attachment
    return VolumeFacts(
        id=volume.id,
        zone=volume.zone.name if volume.zone else "",
        state=volume.status,
        attached_to=attachment.instance.id if attachment else None,
        attachment_state=attachment.status if attachment else None,
    )


def instance_facts(ec2: Any, instance_id: str) -> InstanceFacts | None:
    instance = next((i for i in ec2.all_instances() if i.id == instance_id), None)
    if instance is None:
        return None
    return InstanceFacts(
        id=instance.id,
        zone=instance.placement.zone,
        devices=frozenset(instance.block_device_mapping),
        volumes=len(instance.block_device_mapping),
        interfaces=len(instance.nics),
        limit=attach_limit(instance.instance_type),
    )


def attach_limit(instance_type: str) -> AttachLimit | None:
    """EBS attachments the type allows, from the emulator's DescribeInstanceTypes data."""
    ebs = INSTANCE_TYPES.get(instance_type, {}).get("EbsInfo", {})
    maximum = ebs.get("MaximumEbsAttachments")
    if not isinstance(maximum, int):
        return None
    return AttachLimit(maximum=maximum, shared=ebs.get("AttachmentLimitType") != "dedicated")


# --- Security groups and network interfaces --------------------------------------------------


def find_group(ec2: Any, group_id: str, group_name: str) -> Any:
    if group_id:
        return ec2.get_security_group_from_id(group_id)
    if group_name:
        return ec2.get_security_group_by_name_or_id(group_name)
    return None


def _all_groups(ec2: Any) -> Iterator[Any]:
    for groups in list(ec2.groups.values()):
        yield from list(groups.values())


def group_dependents(ec2: Any, group_id: str) -> list[str]:
    """What keeps a security group from being deleted: other groups' rules, ENIs, VMs."""
    found: list[str] = []
    for group in _all_groups(ec2):
        if group.id == group_id:
            continue
        for rule in [*group.ingress_rules, *group.egress_rules]:
            if (rule.source_group or {}).get("GroupId") == group_id:
                found.append(group.id)
                break
    for eni in list(ec2.enis.values()):
        groups = eni.group_set
        if eni.instance is not None and eni.instance.state == "terminated":
            if eni.device_index == 0:
                continue  # AWS deletes a VM's primary interface with the VM
            groups = eni._group_set  # a detached secondary interface keeps only its own
        if any(g.id == group_id for g in groups):
            found.append(eni.id)
    for instance in ec2.all_instances():
        if instance.state != "terminated" and any(
            g.id == group_id for g in instance.security_groups or []
        ):
            found.append(instance.id)
    return found


def rule_counts(group: Any, egress: bool) -> RuleCounts:
    rules = group.egress_rules if egress else group.ingress_rules
    ipv6 = sum(1 for r in rules if r.cidr_ipv6)
    either = sum(1 for r in rules if r.source_group or r.prefix_list_id)
    return RuleCounts(ipv4=len(rules) - ipv6, ipv6=ipv6 + either)


def create_interface(ec2: Any, subnet_id: str, group_ids: list[str], description: str) -> str:
    eni = ec2.create_network_interface(
        subnet=subnet_id, private_ip_address=None, group_ids=group_ids or None,
        description=description,
    )
    set_interface_groups(ec2, eni.id, group_ids)
    eni.requester_managed = True
    eni.requester_id = "amazon-elb"
    eni.status = "in-use"
    return str(eni.id)


def set_interface_groups(ec2: Any, eni_id: str, group_ids: list[str]) -> None:
    eni = ec2.enis.get(eni_id)
    if eni is not None:
        groups = [ec2.get_security_group_from_id(g) for g in group_ids]
        eni._group_set = [g for g in groups if g is not None]


def delete_interface(ec2: Any, eni_id: str) -> None:
    ec2.enis.pop(eni_id, None)


def load_balancer_placements(backends: Backends) -> dict[str, tuple[str, list[str], list[str]]]:
    """Every load balancer as key -> (interface description, subnet ids, security group ids)."""
    found: dict[str, tuple[str, list[str], list[str]]] = {}
    for name, lb in list(backends.elb.load_balancers.items()):
        found[f"elb/{name}"] = (f"ELB {name}", list(lb.subnets), list(lb.security_groups))
    for arn, lb in list(backends.elbv2.load_balancers.items()):
        kind = "net" if lb.type == "network" else "app"
        description = f"ELB {kind}/{lb.name}/{arn.rsplit('/', 1)[-1]}"
        found[arn] = (description, [s.id for s in lb.subnets], list(lb.security_groups or []))
    return found


def served_target_groups(balancer: Any) -> set[str]:
    """The target group ARNs an ELBv2 load balancer's listeners forward to."""
    return {
        str(arn)
        for listener in balancer.listeners.values()
        for action in listener.default_actions
        if (arn := (action.data or {}).get("TargetGroupArn"))
    }


def release_instance_addresses(ec2: Any, instance_id: str) -> list[str]:
    """Free a terminated instance's private IPs, as AWS does when it deletes the primary
    interface with the instance (moto keeps them until the instance object is collected)."""
    instance = next((i for i in ec2.all_instances() if i.id == instance_id), None)
    if instance is None or instance.state != "terminated":
        return []
    released = []
    for nic in instance.nics.values():
        ec2.enis.pop(nic.id, None)
        if nic.subnet is None:
            continue
        for address in nic.private_ip_addresses:
            ip = address["PrivateIpAddress"]
            if nic.subnet._subnet_ips.get(ip) is instance:
                nic.subnet.del_subnet_ip(ip)
                released.append(ip)
    # moto frees these again when it collects the instance: by then they may be another's.
    instance._private_ips.clear()
    return released
