from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_aws.support.coalescer import Coalescer
from k8s_aws.support.inflight import Busy, InFlight
from k8s_aws.volumes.devices import CANDIDATES, allocate_device, attach_limit
from k8s_aws.volumes.errors import CapacityError, NoDeviceName, ParameterError, TopologyError
from k8s_aws.volumes.parameters import parse_parameters
from k8s_aws.volumes.sizing import GIB, plan_expansion, plan_size, plan_volume
from k8s_aws.volumes.tags import is_ours, volume_tags
from k8s_aws.volumes.topology import LEGACY_ZONE_KEY, ZONE_KEY, choose_zone


@pytest.mark.parametrize(("raw", "key"), [
    ({"type": "gp9"}, "type"),
    ({"type": "gp2", "iops": "100"}, "iops"),
    ({"type": "io1", "iops": "100", "iopsPerGB": "5"}, "iops"),
    ({"type": "st1", "iopsPerGB": "5"}, "iopsPerGB"),
    ({"type": "io1", "throughput": "200"}, "throughput"),
    ({"iops": "many"}, "iops"),
    ({"encrypted": "1"}, "encrypted"),
    ({"encrypted": "false", "kmsKeyId": "k"}, "kmsKeyId"),
    ({"csi.storage.k8s.io/fstype": "ntfs"}, "csi.storage.k8s.io/fstype"),
    ({"csi.storage.k8s.io/fstype": "xfs", "bytesPerInode": "4096"}, "bytesPerInode"),
    ({"blockSize": "0"}, "blockSize"),
    ({"tagSpecification_1": "=x"}, "tagSpecification_1"),
    ({"colour": "blue"}, "colour"),
    # Neither spelling may be silently dropped for the other.
    ({"csi.storage.k8s.io/fstype": "xfs", "fsType": "ext4"}, "fsType"),
    ({"type": "gp3", "Type": "io2"}, "Type"),
])
def test_invalid_parameters_name_their_key(raw: dict[str, str], key: str) -> None:
    with pytest.raises(ParameterError) as refused:
        parse_parameters(raw)
    assert refused.value.key == key


def test_the_same_value_under_both_spellings_is_accepted() -> None:
    params = parse_parameters({"csi.storage.k8s.io/fstype": "xfs", "fsType": "XFS",
                               "type": "io2", "TYPE": "io2", "iops": "100"})
    assert (params.fs_type, params.volume_type) == ("xfs", "io2")


def test_keys_are_case_insensitive_and_kms_implies_encryption() -> None:
    params = parse_parameters({"TYPE": "IO2", "IOPSPERGB": "10", "kmskeyid": "arn:k"})
    assert (params.volume_type, params.iops_per_gb, params.encrypted) == ("io2", 10, True)


@pytest.mark.parametrize(("kind", "required", "limit", "size"), [
    ("gp3", 0, 0, 100), ("gp3", 1, 0, 1), ("gp3", GIB + 1, 0, 2), ("st1", 0, 0, 125),
    ("gp3", 0, 10 * GIB, 10), ("gp2", 5 * GIB, 5 * GIB, 5),
])
def test_sizes_round_up_to_whole_gib(kind: str, required: int, limit: int, size: int) -> None:
    assert plan_size(kind, required, limit) == size


@pytest.mark.parametrize(("kind", "required", "limit"), [
    ("io1", GIB, 0), ("gp3", GIB + 1, GIB + 1), ("standard", 2000 * GIB, 0), ("sc1", GIB, 0),
])
def test_unservable_capacity_is_out_of_range(kind: str, required: int, limit: int) -> None:
    with pytest.raises(CapacityError):
        plan_size(kind, required, limit)


def test_iops_per_gb_is_capped_and_raised_when_allowed() -> None:
    spec = plan_volume(parse_parameters({"type": "io1", "iopsPerGB": "100"}), 10 * GIB, 0)
    assert spec.iops == 500  # 50 per GiB
    auto = parse_parameters({"type": "io1", "iopsPerGB": "1", "allowAutoIOPSPerGBIncrease":
                             "true"})
    assert plan_volume(auto, 4 * GIB, 0).iops == 100
    with pytest.raises(ParameterError):
        plan_volume(parse_parameters({"type": "io1", "iopsPerGB": "1"}), 4 * GIB, 0)


def test_snapshot_size_is_a_floor_and_expansion_only_grows() -> None:
    assert plan_volume(parse_parameters({}), GIB, 0, min_gib=8).size_gib == 8
    assert plan_expansion("gp3", 8, 4 * GIB, 0) is None
    assert plan_expansion("gp3", 8, 9 * GIB, 0) == 9


@settings(deadline=None)  # a pure function: a stalled machine is no failure
@given(st.sets(st.sampled_from(CANDIDATES)))
def test_allocated_device_is_never_in_use(in_use: set[str]) -> None:
    if len(in_use) == len(CANDIDATES):
        with pytest.raises(NoDeviceName):
            allocate_device(in_use)
    else:
        assert allocate_device(in_use) not in in_use


def test_device_names_compare_by_slot() -> None:
    assert allocate_device(["/dev/sdaa", "/dev/xvda"]) == "/dev/xvdab"


@pytest.mark.parametrize(("maximum", "shared", "interfaces", "limit"), [
    (28, True, 1, 27), (28, True, 3, 25), (39, False, 4, 38), (0, True, 1, 0),
])
def test_attach_limit(maximum: int, shared: bool, interfaces: int, limit: int) -> None:
    assert attach_limit(maximum, shared, interfaces) == limit


def test_zone_choice_prefers_preferred_and_reads_both_keys() -> None:
    requisite = [{LEGACY_ZONE_KEY: "z-b"}, {ZONE_KEY: "z-c"}]
    assert choose_zone(requisite, [{ZONE_KEY: "z-c"}], "z-a") == "z-c"
    assert choose_zone(requisite, [], "z-b") == "z-b"
    assert choose_zone([], [], "z-a") == "z-a"
    with pytest.raises(TopologyError):
        choose_zone([{"other": "x"}], [], "z-a")


def test_identity_tags_win_over_tag_specifications() -> None:
    params = parse_parameters({"tagSpecification_1": "CSIVolumeName=evil",
                               "tagSpecification_2": "pvc={{ .PVCName }}",
                               "csi.storage.k8s.io/pvc/name": "data"})
    tags = volume_tags("pv-1", "c1", params)
    assert tags["CSIVolumeName"] == "pv-1" and tags["pvc"] == "data"
    assert tags["kubernetes.io/cluster/c1"] == "owned"
    assert is_ours(tags, "c1") and not is_ours({"kubernetes.io/cluster/c1": "owned"}, "c1")


def test_in_flight_guard_refuses_a_second_holder() -> None:
    guard = InFlight()
    with guard.hold("vol-1"):
        with pytest.raises(Busy), guard.hold("vol-1"):
            pass
        with guard.hold("vol-2"):
            pass
    with guard.hold("vol-1"):
        pass


async def test_coalescer_merges_requests_within_the_window() -> None:
    executed: list[tuple[str, int]] = []

    async def execute(key: str, value: int) -> int:
        executed.append((key, value))
        return value

    coalescer: Coalescer[str, int, int] = Coalescer(max, execute, window=0.05)
    results = await asyncio.gather(coalescer.submit("v", 2), coalescer.submit("v", 5),
                                   coalescer.submit("w", 1))
    assert list(results) == [5, 5, 1]
    assert sorted(executed) == [("v", 5), ("w", 1)]
