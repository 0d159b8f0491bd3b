"""Changes to an existing NLB: security groups, subnets and tags changed in place, a
listener's certificate, policy or ALPN by ModifyListener (no gap), and a Warning for what AWS
cannot change (Elastic IPs, private IPs); each re-plan after the simulated apply is empty."""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import pytest

from k8s_aws.cloud.lb_registry import Applied, Context
from k8s_aws.cloud.nlb_update_actions import _listener_args
from k8s_aws.cloud.nlb_wire import addresses_of, listener_of
from k8s_aws.loadbalancer.nlb_update import ADDED_TAGS_KEY
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.model.nlb_actions import ModifyNlbListener

from .test_lb_service_plan import NETWORK
from .test_nlb_plan import CERT, applied, nlb, plan

SUBNETS = tuple(replace(s, cidr=c) for s, c in zip(
    NETWORK.subnets, ("10.0.1.0/24", "10.0.2.0/24"), strict=True))
WITH_CIDRS = replace(NETWORK, subnets=SUBNETS)


def ops(annotations: dict[str, str], snapshot: Observed) -> list[str]:
    return [a.op for a in plan(nlb(annotations), snapshot).plan.actions]


def kept(annotations: dict[str, str], snapshot: Observed) -> list[str]:
    return [n.message for n in plan(nlb(annotations), snapshot).notes
            if n.reason == "LoadBalancerKept"]


@pytest.mark.parametrize("change", [
    {"ssl-cert": CERT.replace("0a1b2c3d", "9f8e7d6c")},
    {"ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
    {"alpn-policy": "HTTP2Only"},
    {"ssl-ports": "80,443"},  # port 80 becomes TLS: same port, other protocol
])
def test_a_changed_listener_is_modified_in_place(change: dict[str, str]) -> None:
    before = {"ssl-cert": CERT, "ssl-ports": "443"}
    after = applied(nlb(before))
    wanted = {**before, **change}
    assert set(ops(wanted, after)) == {"ModifyNlbListener"}
    assert plan(nlb(wanted), applied(nlb(wanted), after)).plan.actions == ()


def test_an_alpn_policy_taken_off_is_sent_as_none_and_read_back_as_none() -> None:
    modify = ModifyNlbListener("arn:l", 443, "TLS", "arn:tg", CERT, "ELBSecurityPolicy-2016-08")
    args = _listener_args(modify, cast(Context, _context()))
    assert args["AlpnPolicy"] == ["None"] and args["Certificates"] == [{"CertificateArn": CERT}]
    described = listener_of({"ListenerArn": "arn:l", "Port": 443, "Protocol": "TLS",
                             "Certificates": [{"CertificateArn": CERT}],
                             "SslPolicy": "ELBSecurityPolicy-2016-08", "AlpnPolicy": ["None"],
                             "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]})
    assert described.alpn == ""


class _context:
    applied = Applied({}, "")


def test_changed_security_groups_are_set_on_an_nlb_made_with_some() -> None:
    after = applied(nlb())
    planned = plan(nlb({"security-groups": "sg-0a1b2c3d4e5f60718"}), after)
    sets = [a for a in planned.plan.actions if a.op == "SetNlbSecurityGroups"]
    assert [a.groups for a in sets] == [("sg-0a1b2c3d4e5f60718", "sg-back")]  # type: ignore[attr-defined]
    assert kept({"security-groups": "sg-0a1b2c3d4e5f60718"}, after) == []
    mine = applied(nlb({"security-groups": "sg-0a1b2c3d4e5f60718"}), after)
    assert plan(nlb({"security-groups": "sg-0a1b2c3d4e5f60718"}), mine).plan.actions == ()


def test_changed_subnets_are_set_in_place() -> None:
    after = applied(nlb({"subnets": "subnet-a"}))
    assert after.network_lb is not None and after.network_lb.subnets == ("subnet-a",)
    assert ops({"subnets": "subnet-a,subnet-b"}, after) == ["SetNlbSubnets"]
    moved = applied(nlb({"subnets": "subnet-a,subnet-b"}), after)
    assert plan(nlb({"subnets": "subnet-a,subnet-b"}), moved).plan.actions == ()


def test_tags_are_added_changed_and_only_our_own_removed() -> None:
    first = {"additional-resource-tags": "team=web,cost=1"}
    after = applied(nlb(first))
    assert after.network_lb is not None
    assert dict(after.network_lb.tags)[ADDED_TAGS_KEY] == "cost team"
    foreign = replace(after, network_lb=replace(after.network_lb, tags=tuple(sorted(
        (*after.network_lb.tags, ("owner", "someone-else"))))))
    second = {"additional-resource-tags": "team=shop"}
    actions = plan(nlb(second), foreign).plan.actions
    assert [a.op for a in actions] == ["RemoveNlbTags", "AddNlbTags"]
    assert actions[0].keys == ("cost",)  # type: ignore[attr-defined]
    assert dict(actions[1].tags) == {"team": "shop", ADDED_TAGS_KEY: "team"}  # type: ignore[attr-defined]
    done = applied(nlb(second), foreign)
    assert done.network_lb is not None and dict(done.network_lb.tags)["owner"] == "someone-else"
    assert plan(nlb(second), done).plan.actions == ()
    none = plan(nlb(), done).plan.actions
    assert [a.op for a in none] == ["RemoveNlbTags"]
    assert set(none[0].keys) == {"team", ADDED_TAGS_KEY}  # type: ignore[attr-defined]


EIPS = "eipalloc-0a1b2c3d4e5f60718,eipalloc-0a1b2c3d4e5f60719"


def test_changed_elastic_ips_are_a_warning_and_no_change() -> None:
    after = applied(nlb({"eip-allocations": EIPS}))
    assert plan(nlb({"eip-allocations": EIPS}), after).plan.actions == ()
    other = EIPS.replace("718", "7aa")
    assert ops({"eip-allocations": other}, after) == []
    [message] = kept({"eip-allocations": other}, after)
    assert "eip-allocations" in message and "eipalloc-0a1b2c3d4e5f60718" in message
    assert kept({}, after) != []  # taken off the Service: the NLB keeps them, and says so


def test_changed_private_ips_are_a_warning_and_no_change() -> None:
    first = {"private-ipv4-addresses": "10.0.1.5,10.0.2.5", "internal": "true"}
    after = applied(nlb(first), WITH_CIDRS)
    assert plan(nlb(first), after).plan.actions == ()
    second = {**first, "private-ipv4-addresses": "10.0.1.6,10.0.2.5"}
    assert ops(second, after) == []
    [message] = kept(second, after)
    assert "private-ipv4-addresses" in message and "10.0.1.5" in message


def test_a_moved_nlb_with_static_addresses_keeps_its_subnets() -> None:
    one = {"subnets": "subnet-a", "eip-allocations": EIPS.split(",", maxsplit=1)[0]}
    after = applied(nlb(one))
    two = {"subnets": "subnet-a,subnet-b", "eip-allocations": EIPS}
    assert "SetNlbSubnets" not in ops(two, after)
    assert any("keeps its subnets" in m for m in kept(two, after))


def test_static_addresses_are_read_from_the_zones() -> None:
    raw = {"AvailabilityZones": [
        {"SubnetId": "subnet-b", "LoadBalancerAddresses": [
            {"IpAddress": "3.3.3.3", "AllocationId": "eipalloc-2"}]},
        {"SubnetId": "subnet-a", "LoadBalancerAddresses": [{"PrivateIPv4Address": "10.0.1.5"}]},
        {"SubnetId": "subnet-c", "LoadBalancerAddresses": []}]}
    assert addresses_of(raw) == (("subnet-a", "", "10.0.1.5"), ("subnet-b", "eipalloc-2", ""))
