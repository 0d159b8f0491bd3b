"""The EBS and security group rules, as tables of facts and AWS's answers."""

from __future__ import annotations

import pytest

from k8s_aws_sandbox.fidelity.config import Delays, Limits
from k8s_aws_sandbox.fidelity.ebs_rules import (
    AttachLimit,
    InstanceFacts,
    Modification,
    VolumeFacts,
    attach_refusal,
    detach_refusal,
    modification_refusal,
    snapshot_refusal,
)
from k8s_aws_sandbox.fidelity.network_rules import (
    RuleCounts,
    delete_group_refusal,
    requested_rules,
    rule_limit_refusal,
)

AVAILABLE = VolumeFacts("vol-1", "us-west-2a", "available", None, None)
INSTANCE = InstanceFacts("i-1", "us-west-2a", frozenset({"/dev/sda1"}), volumes=1,
                         interfaces=1, limit=AttachLimit(27, shared=True))


@pytest.mark.parametrize(
    ("volume", "instance", "device", "code"),
    [
        (AVAILABLE, INSTANCE, "/dev/xvdba", None),
        (VolumeFacts("vol-1", "us-west-2a", "creating", None, None), INSTANCE, "/dev/xvdba",
         "IncorrectState"),
        (VolumeFacts("vol-1", "us-west-2a", "in-use", "i-2", "attached"), INSTANCE, "/dev/xvdba",
         "VolumeInUse"),
        (VolumeFacts("vol-1", "us-west-2a", "in-use", "i-1", "detaching"), INSTANCE,
         "/dev/xvdba", "VolumeInUse"),
        (VolumeFacts("vol-1", "us-west-2b", "available", None, None), INSTANCE, "/dev/xvdba",
         "InvalidVolume.ZoneMismatch"),
        (AVAILABLE, INSTANCE, "/dev/sda1", "InvalidParameterValue"),
        (AVAILABLE, InstanceFacts("i-1", "us-west-2a", frozenset(), 27, 1, AttachLimit(27, True)),
         "/dev/xvdba", "AttachmentLimitExceeded"),
        (AVAILABLE, InstanceFacts("i-1", "us-west-2a", frozenset(), 26, 1, None), "/dev/xvdba",
         None),
    ],
)
def test_attach(
    volume: VolumeFacts, instance: InstanceFacts, device: str, code: str | None
) -> None:
    refusal = attach_refusal(volume, instance, device, rules=True, limits=True)
    assert (refusal.code if refusal else None) == code


def test_attach_rules_and_limits_switch_separately() -> None:
    full = InstanceFacts("i-1", "us-west-2b", frozenset(), 27, 1, AttachLimit(27, True))
    assert attach_refusal(AVAILABLE, full, "/dev/x", rules=False, limits=False) is None
    limit_only = attach_refusal(AVAILABLE, full, "/dev/x", rules=False, limits=True)
    assert limit_only is not None and limit_only.code == "AttachmentLimitExceeded"


@pytest.mark.parametrize(
    ("limit", "interfaces", "capacity"),
    [
        (AttachLimit(27, shared=True), 1, 27),  # m5.large: 28 shared, one interface
        (AttachLimit(27, shared=True), 3, 25),  # every extra interface takes a slot
        (AttachLimit(32, shared=False), 5, 32),  # dedicated EBS limit
        (AttachLimit(3, shared=True), 0, 3),
    ],
)
def test_attach_limit_capacity(limit: AttachLimit, interfaces: int, capacity: int) -> None:
    assert limit.capacity(interfaces) == capacity


def test_detach_needs_an_attachment() -> None:
    refusal = detach_refusal(AVAILABLE)
    assert refusal is not None
    assert (refusal.code, refusal.message) == (
        "IncorrectState", "Volume 'vol-1' is in the 'available' state.")
    assert detach_refusal(VolumeFacts("vol-1", "z", "in-use", "i-1", "attached")) is None


LIMITS = Limits(modifications_per_window=1, modification_window=100.0)


@pytest.mark.parametrize(
    ("history", "now", "code"),
    [
        ([], 0.0, None),
        ([Modification(0, 10, 20)], 5.0, "IncorrectModificationState"),
        ([Modification(0, 10, 20)], 15.0, "IncorrectModificationState"),
        ([Modification(0, 10, 20)], 50.0, "VolumeModificationRateExceeded"),
        ([Modification(0, 10, 20)], 100.5, None),
    ],
)
def test_modification_rate(history: list[Modification], now: float, code: str | None) -> None:
    refusal = modification_refusal("vol-1", history, now, LIMITS)
    assert (refusal.code if refusal else None) == code


def test_modification_state_named_in_the_refusal() -> None:
    history = [Modification(0, 10, 20)]
    modifying = modification_refusal("vol-1", history, 5.0, LIMITS)
    optimizing = modification_refusal("vol-1", history, 15.0, LIMITS)
    assert modifying is not None and "MODIFYING" in modifying.message
    assert optimizing is not None and "OPTIMIZING" in optimizing.message


def test_four_per_day() -> None:
    limits = Limits(modifications_per_window=4, modification_window=86400.0)
    history = [Modification(t, t, t) for t in (0.0, 10.0, 20.0)]
    assert modification_refusal("vol-1", history, 30.0, limits) is None
    history.append(Modification(30.0, 30.0, 30.0))
    assert modification_refusal("vol-1", history, 40.0, limits) is not None
    assert modification_refusal("vol-1", history, 86400.5, limits) is None


def test_delays_default_short() -> None:
    assert Delays().volume_modify + Delays().volume_optimize < 1.0


def test_snapshot_state() -> None:
    assert snapshot_refusal("snap-1", "completed") is None
    refusal = snapshot_refusal("snap-1", "pending")
    assert refusal is not None and refusal.code == "IncorrectState"


@pytest.mark.parametrize(
    ("params", "counts"),
    [
        ({"IpPermissions.1.IpRanges.1.CidrIp": "a", "IpPermissions.1.IpRanges.2.CidrIp": "b"},
         RuleCounts(2, 0)),
        ({"IpPermissions.1.Ipv6Ranges.1.CidrIpv6": "a"}, RuleCounts(0, 1)),
        ({"IpPermissions.1.Groups.1.GroupId": "sg-1"}, RuleCounts(1, 1)),
        ({"IpPermissions.1.Groups.1.GroupId": "sg-1",
          "IpPermissions.1.Groups.1.GroupName": "n"}, RuleCounts(1, 1)),
        ({"IpPermissions.1.Groups.1.GroupName": "n"}, RuleCounts(1, 1)),
        ({"IpPermissions.2.PrefixListIds.1.PrefixListId": "pl-1",
          "IpPermissions.1.IpRanges.1.Description": "ignored"}, RuleCounts(1, 1)),
        ({"CidrIp": "10.0.0.0/8", "IpProtocol": "tcp"}, RuleCounts(1, 0)),
        ({"SourceSecurityGroupName": "g"}, RuleCounts(1, 1)),
    ],
)
def test_requested_rules(params: dict[str, str], counts: RuleCounts) -> None:
    assert requested_rules(params) == counts


def test_rule_limit_per_family() -> None:
    assert rule_limit_refusal(RuleCounts(59, 60), RuleCounts(1, 0), 60) is None
    assert rule_limit_refusal(RuleCounts(60, 0), RuleCounts(1, 0), 60) is not None
    assert rule_limit_refusal(RuleCounts(60, 60), RuleCounts(0, 0), 60) is None
    assert rule_limit_refusal(RuleCounts(0, 60), RuleCounts(1, 1), 60) is not None


def test_group_deletion() -> None:
    assert delete_group_refusal("sg-1", "web", False, []) is None
    dependency = delete_group_refusal("sg-1", "web", False, ["eni-1"])
    assert dependency is not None and dependency.code == "DependencyViolation"
    default = delete_group_refusal("sg-1", "default", True, ["eni-1"])
    assert default is not None and default.code == "CannotDelete"
